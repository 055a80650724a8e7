//! Learned and random augmentation policies: AutoAugment (ImageNet policy, torchvision),
//! RandAugment (timm, configured by strings such as `rand-m9-n2-mstd0.5`), TrivialAugmentWide
//! (torchvision) and AugMix (timm).

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::functional::Interpolation;
use super::ops::Op;
use super::{Cast, Image};
use crate::error::{PodiumError, Result};

/// Uniform draw in `[lo, hi]` (returns `lo` when the range is empty).
pub(crate) fn uniform(rng: &mut StdRng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

fn negate(rng: &mut StdRng, v: f32) -> f32 {
    if rng.random::<bool>() { -v } else { v }
}

fn linspace(lo: f32, hi: f32, n: usize, i: usize) -> f32 {
    if n <= 1 {
        lo
    } else {
        lo + (hi - lo) * i as f32 / (n - 1) as f32
    }
}

/// AutoAugment's ImageNet policy (Cubuk et al. 2019), as torchvision's `AutoAugment`: one of
/// 25 sub-policies is drawn, and each of its two ops runs with its probability at a magnitude
/// bin of 10, negated half of the time for signed ops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoAugment {
    /// Interpolation of the geometric ops (torchvision's default: nearest).
    pub interpolation: Interpolation,
    /// Fill of the geometric ops as fractions of the range; `None` is zero padding.
    pub fill: Option<Vec<f32>>,
}

const IMAGENET_POLICY: [[(&str, f32, usize); 2]; 25] = [
    [("Posterize", 0.4, 8), ("Rotate", 0.6, 9)],
    [("Solarize", 0.6, 5), ("AutoContrast", 0.6, 0)],
    [("Equalize", 0.8, 0), ("Equalize", 0.6, 0)],
    [("Posterize", 0.6, 7), ("Posterize", 0.6, 6)],
    [("Equalize", 0.4, 0), ("Solarize", 0.2, 4)],
    [("Equalize", 0.4, 0), ("Rotate", 0.8, 8)],
    [("Solarize", 0.6, 3), ("Equalize", 0.6, 0)],
    [("Posterize", 0.8, 5), ("Equalize", 1.0, 0)],
    [("Rotate", 0.2, 3), ("Solarize", 0.6, 8)],
    [("Equalize", 0.6, 0), ("Posterize", 0.4, 6)],
    [("Rotate", 0.8, 8), ("Color", 0.4, 0)],
    [("Rotate", 0.4, 9), ("Equalize", 0.6, 0)],
    [("Equalize", 0.0, 0), ("Equalize", 0.8, 0)],
    [("Invert", 0.6, 0), ("Equalize", 1.0, 0)],
    [("Color", 0.6, 4), ("Contrast", 1.0, 8)],
    [("Rotate", 0.8, 8), ("Color", 1.0, 2)],
    [("Color", 0.8, 8), ("Solarize", 0.8, 7)],
    [("Sharpness", 0.4, 7), ("Invert", 0.6, 0)],
    [("ShearX", 0.6, 5), ("Equalize", 1.0, 0)],
    [("Color", 0.4, 0), ("Equalize", 0.6, 0)],
    [("Equalize", 0.4, 0), ("Solarize", 0.2, 4)],
    [("Solarize", 0.6, 5), ("AutoContrast", 0.6, 0)],
    [("Invert", 0.6, 0), ("Equalize", 1.0, 0)],
    [("Color", 0.6, 4), ("Contrast", 1.0, 8)],
    [("Equalize", 0.8, 0), ("Equalize", 0.6, 0)],
];

/// torchvision's magnitude table (`_augmentation_space`) for a policy with `bins` bins on an
/// `h x w` image: op name and bin to (op with its argument, signed?).
fn torchvision_op(
    name: &str,
    bin: usize,
    bins: usize,
    [h, w]: [usize; 2],
    wide: bool,
) -> (Op, bool) {
    let m = |hi: f32| linspace(0.0, hi, bins, bin);
    match (name, wide) {
        ("Identity", _) => (Op::Identity, false),
        ("ShearX", false) => (Op::ShearX(m(0.3)), true),
        ("ShearY", false) => (Op::ShearY(m(0.3)), true),
        ("ShearX", true) => (Op::ShearX(m(0.99)), true),
        ("ShearY", true) => (Op::ShearY(m(0.99)), true),
        ("TranslateX", false) => (Op::TranslateX(m(150.0 / 331.0 * w as f32)), true),
        ("TranslateY", false) => (Op::TranslateY(m(150.0 / 331.0 * h as f32)), true),
        ("TranslateX", true) => (Op::TranslateX(m(32.0)), true),
        ("TranslateY", true) => (Op::TranslateY(m(32.0)), true),
        ("Rotate", false) => (Op::Rotate(m(30.0)), true),
        ("Rotate", true) => (Op::Rotate(m(135.0)), true),
        ("Brightness", _) => (Op::Brightness(m(if wide { 0.99 } else { 0.9 })), true),
        ("Color", _) => (Op::Color(m(if wide { 0.99 } else { 0.9 })), true),
        ("Contrast", _) => (Op::Contrast(m(if wide { 0.99 } else { 0.9 })), true),
        ("Sharpness", _) => (Op::Sharpness(m(if wide { 0.99 } else { 0.9 })), true),
        ("Posterize", _) => {
            let per = (bins as f32 - 1.0) / if wide { 6.0 } else { 4.0 };
            (
                Op::Posterize(8 - (bin as f32 / per).round_ties_even() as u32),
                false,
            )
        }
        ("Solarize", _) => (Op::Solarize(linspace(1.0, 0.0, bins, bin)), false),
        ("AutoContrast", _) => (Op::AutoContrast, false),
        ("Equalize", _) => (Op::Equalize, false),
        ("Invert", _) => (Op::Invert, false),
        (other, _) => unreachable!("no torchvision op {other}"),
    }
}

/// Turns torchvision's (op, magnitude) into the op applied: factors become `1 + m`, translations
/// are truncated to whole pixels, and `negative` flips the sign of a signed magnitude.
fn torchvision_apply(op: Op, negative: bool) -> Op {
    let s = |v: f32| if negative { -v } else { v };
    match op {
        Op::ShearX(v) => Op::ShearX(s(v)),
        Op::ShearY(v) => Op::ShearY(s(v)),
        Op::TranslateX(v) => Op::TranslateX(s(v).trunc()),
        Op::TranslateY(v) => Op::TranslateY(s(v).trunc()),
        Op::Rotate(v) => Op::Rotate(s(v)),
        Op::Brightness(v) => Op::Brightness(1.0 + s(v)),
        Op::Color(v) => Op::Color(1.0 + s(v)),
        Op::Contrast(v) => Op::Contrast(1.0 + s(v)),
        Op::Sharpness(v) => Op::Sharpness(1.0 + s(v)),
        other => other,
    }
}

impl Default for AutoAugment {
    fn default() -> Self {
        Self {
            interpolation: Interpolation::Nearest,
            fill: None,
        }
    }
}

impl AutoAugment {
    /// Applies one randomly drawn sub-policy.
    pub fn apply(&self, img: &Image, rng: &mut StdRng) -> Image {
        let policy = IMAGENET_POLICY[rng.random_range(0..IMAGENET_POLICY.len())];
        let mut out = img.clone();
        for (name, p, bin) in policy {
            let (negative, prob) = (rng.random::<bool>(), rng.random::<f32>());
            if prob <= p {
                let (op, signed) = torchvision_op(name, bin, 10, [out.height, out.width], false);
                let op = torchvision_apply(op, signed && negative);
                out = op.apply(&out, self.interpolation, self.fill.as_deref());
            }
        }
        out
    }
}

/// TrivialAugmentWide (Müller and Hutter 2021), as torchvision's `TrivialAugmentWide`: one op
/// drawn uniformly from 14, at a magnitude bin drawn uniformly from 31, negated half of the time
/// for signed ops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrivialAugmentWide {
    /// Interpolation of the geometric ops (torchvision's default: nearest).
    pub interpolation: Interpolation,
    /// Fill of the geometric ops as fractions of the range; `None` is zero padding.
    pub fill: Option<Vec<f32>>,
}

impl Default for TrivialAugmentWide {
    fn default() -> Self {
        Self {
            interpolation: Interpolation::Nearest,
            fill: None,
        }
    }
}

const TRIVIAL_OPS: [&str; 14] = [
    "Identity",
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
    "Posterize",
    "Solarize",
    "AutoContrast",
    "Equalize",
];

impl TrivialAugmentWide {
    /// Applies one random op.
    pub fn apply(&self, img: &Image, rng: &mut StdRng) -> Image {
        let name = TRIVIAL_OPS[rng.random_range(0..TRIVIAL_OPS.len())];
        let bin = rng.random_range(0..31);
        let (op, signed) = torchvision_op(name, bin, 31, [img.height, img.width], true);
        let op = torchvision_apply(op, signed && rng.random::<bool>());
        op.apply(img, self.interpolation, self.fill.as_deref())
    }
}

/// timm's default fill for geometric ops, the ImageNet mean `(124, 116, 104) / 255`.
pub const TIMM_FILL: [f32; 3] = [124.0 / 255.0, 116.0 / 255.0, 104.0 / 255.0];

/// The ops of timm's `_RAND_TRANSFORMS` / `_RAND_INCREASING_TRANSFORMS` / `_AUGMIX_TRANSFORMS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimmOp {
    AutoContrast,
    Equalize,
    Invert,
    Rotate,
    Posterize,
    PosterizeIncreasing,
    Solarize,
    SolarizeIncreasing,
    SolarizeAdd,
    Color,
    ColorIncreasing,
    Contrast,
    ContrastIncreasing,
    Brightness,
    BrightnessIncreasing,
    Sharpness,
    SharpnessIncreasing,
    ShearX,
    ShearY,
    TranslateXRel,
    TranslateYRel,
}

const RAND_OPS: [TimmOp; 15] = [
    TimmOp::AutoContrast,
    TimmOp::Equalize,
    TimmOp::Invert,
    TimmOp::Rotate,
    TimmOp::Posterize,
    TimmOp::Solarize,
    TimmOp::SolarizeAdd,
    TimmOp::Color,
    TimmOp::Contrast,
    TimmOp::Brightness,
    TimmOp::Sharpness,
    TimmOp::ShearX,
    TimmOp::ShearY,
    TimmOp::TranslateXRel,
    TimmOp::TranslateYRel,
];

const RAND_INCREASING_OPS: [TimmOp; 15] = [
    TimmOp::AutoContrast,
    TimmOp::Equalize,
    TimmOp::Invert,
    TimmOp::Rotate,
    TimmOp::PosterizeIncreasing,
    TimmOp::SolarizeIncreasing,
    TimmOp::SolarizeAdd,
    TimmOp::ColorIncreasing,
    TimmOp::ContrastIncreasing,
    TimmOp::BrightnessIncreasing,
    TimmOp::SharpnessIncreasing,
    TimmOp::ShearX,
    TimmOp::ShearY,
    TimmOp::TranslateXRel,
    TimmOp::TranslateYRel,
];

const AUGMIX_OPS: [TimmOp; 13] = [
    TimmOp::AutoContrast,
    TimmOp::ColorIncreasing,
    TimmOp::ContrastIncreasing,
    TimmOp::BrightnessIncreasing,
    TimmOp::SharpnessIncreasing,
    TimmOp::Equalize,
    TimmOp::Rotate,
    TimmOp::PosterizeIncreasing,
    TimmOp::SolarizeIncreasing,
    TimmOp::ShearX,
    TimmOp::ShearY,
    TimmOp::TranslateXRel,
    TimmOp::TranslateYRel,
];

/// timm's `_LEVEL_DENOM`: magnitudes run from 0 to 10.
const LEVEL_DENOM: f32 = 10.0;

/// timm's level-to-argument functions (`LEVEL_TO_ARG`) with `translate_pct = 0.45`.
fn timm_level(op: TimmOp, level: f32, [h, w]: [usize; 2], rng: &mut StdRng) -> Op {
    let l = level / LEVEL_DENOM;
    let enhance = |rng: &mut StdRng| (1.0 + negate(rng, l * 0.9)).max(0.1);
    match op {
        TimmOp::AutoContrast => Op::AutoContrast,
        TimmOp::Equalize => Op::Equalize,
        TimmOp::Invert => Op::Invert,
        TimmOp::Rotate => Op::Rotate(negate(rng, l * 30.0)),
        TimmOp::Posterize => Op::Posterize((l * 4.0) as u32),
        TimmOp::PosterizeIncreasing => Op::Posterize(4 - (l * 4.0) as u32),
        TimmOp::Solarize => Op::Solarize(((l * 256.0) as u32).min(256) as f32 / 255.0),
        TimmOp::SolarizeIncreasing => Op::Solarize((256 - (l * 256.0) as u32) as f32 / 255.0),
        TimmOp::SolarizeAdd => Op::SolarizeAdd {
            add: (l * 110.0).trunc() / 255.0,
            threshold: 128.0 / 255.0,
        },
        TimmOp::Color => Op::Color(l * 1.8 + 0.1),
        TimmOp::Contrast => Op::Contrast(l * 1.8 + 0.1),
        TimmOp::Brightness => Op::Brightness(l * 1.8 + 0.1),
        TimmOp::Sharpness => Op::Sharpness(l * 1.8 + 0.1),
        TimmOp::ColorIncreasing => Op::Color(enhance(rng)),
        TimmOp::ContrastIncreasing => Op::Contrast(enhance(rng)),
        TimmOp::BrightnessIncreasing => Op::Brightness(enhance(rng)),
        TimmOp::SharpnessIncreasing => Op::Sharpness(enhance(rng)),
        TimmOp::ShearX => Op::ShearX(negate(rng, l * 0.3)),
        TimmOp::ShearY => Op::ShearY(negate(rng, l * 0.3)),
        TimmOp::TranslateXRel => Op::TranslateX(negate(rng, l * 0.45) * w as f32),
        TimmOp::TranslateYRel => Op::TranslateY(negate(rng, l * 0.45) * h as f32),
    }
}

/// RandAugment (Cubuk et al. 2020) with timm's semantics (`rand_augment_transform`): `num_ops`
/// ops drawn with replacement from timm's list, each applied with probability `p` at magnitude
/// `magnitude` (0..10), perturbed by a Gaussian of std `magnitude_std` (`inf`: uniform in
/// `[0, magnitude]`) and clipped to `[0, magnitude_max]`.
///
/// Built from timm's config strings with [`RandAugment::from_timm`]:
/// `rand-m9-n2-mstd0.5-inc1` is magnitude 9, 2 ops, std 0.5, the "increasing" op list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandAugment {
    /// Magnitude, 0 to 10 (timm `m`, default 10).
    pub magnitude: f32,
    /// Ops per image (timm `n`, default 2).
    pub num_ops: usize,
    /// Std of the Gaussian noise on the magnitude (timm `mstd`, default 0).
    pub magnitude_std: f32,
    /// Upper clip of the magnitude (timm `mmax`, default 10).
    pub magnitude_max: f32,
    /// Probability of each op (timm `p`, default 0.5).
    pub p: f32,
    /// Use timm's `_RAND_INCREASING_TRANSFORMS` (timm `inc1`).
    pub increasing: bool,
    /// Interpolation of the geometric ops (timm draws bilinear or bicubic; podium bilinear).
    pub interpolation: Interpolation,
    /// Fill of the geometric ops as fractions of the range (timm: the ImageNet mean).
    pub fill: Option<Vec<f32>>,
}

impl Default for RandAugment {
    fn default() -> Self {
        Self {
            magnitude: 10.0,
            num_ops: 2,
            magnitude_std: 0.0,
            magnitude_max: LEVEL_DENOM,
            p: 0.5,
            increasing: false,
            interpolation: Interpolation::Bilinear,
            fill: Some(TIMM_FILL.to_vec()),
        }
    }
}

/// Splits a timm config string (`rand-m9-n2`, `augmix-m3-w3`) into `(key, value)` parts, as
/// timm's `re.split(r'(\d.*)', part)`: the key is the part up to its first digit.
fn timm_parts<'a>(text: &'a str, head: &str, key: &str) -> Result<Vec<(&'a str, &'a str)>> {
    let mut parts = text.split('-');
    if parts.next() != Some(head) {
        return Err(PodiumError::config(
            key,
            text,
            format!("must start with `{head}`"),
        ));
    }
    parts
        .map(|part| {
            let split = part.find(|c: char| c.is_ascii_digit()).ok_or_else(|| {
                PodiumError::config(key, text, format!("part `{part}` has no value"))
            })?;
            Ok(part.split_at(split))
        })
        .collect()
}

fn parse_num<T: std::str::FromStr>(key: &str, text: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| PodiumError::config(key, text, format!("`{v}` is not a number")))
}

impl RandAugment {
    /// Parses timm's RandAugment string: `rand` then `-`-separated `m` (magnitude), `n` (ops),
    /// `mstd` (magnitude std), `mmax` (max magnitude), `p` (op probability), `inc` (1: the
    /// increasing list). Example: `rand-m9-n2-mstd0.5`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (key `rand_augment`) naming the string when it does not start
    /// with `rand`, has an unknown key or a value out of range.
    pub fn from_timm(text: &str) -> Result<Self> {
        const KEY: &str = "rand_augment";
        let mut out = Self::default();
        for (k, v) in timm_parts(text, "rand", KEY)? {
            match k {
                "m" => out.magnitude = parse_num(KEY, text, v)?,
                "n" => out.num_ops = parse_num(KEY, text, v)?,
                "mstd" => out.magnitude_std = parse_num(KEY, text, v)?,
                "mmax" => out.magnitude_max = parse_num(KEY, text, v)?,
                "p" => out.p = parse_num(KEY, text, v)?,
                "inc" => out.increasing = parse_num::<u32>(KEY, text, v)? != 0,
                other => {
                    return Err(PodiumError::config(
                        KEY,
                        text,
                        format!("unknown part `{other}` (expected m, n, mstd, mmax, p or inc)"),
                    ));
                }
            }
        }
        out.check()?;
        Ok(out)
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a negative magnitude or std, or `p` outside `[0, 1]`.
    pub fn check(&self) -> Result<()> {
        if self.magnitude.is_nan() || self.magnitude < 0.0 {
            return Err(PodiumError::config(
                "magnitude",
                self.magnitude,
                "must be >= 0",
            ));
        }
        if self.magnitude_std.is_nan() || self.magnitude_std < 0.0 {
            return Err(PodiumError::config(
                "magnitude_std",
                self.magnitude_std,
                "must be >= 0",
            ));
        }
        super::check_p("p", self.p)
    }

    /// Applies `num_ops` random ops.
    pub fn apply(&self, img: &Image, rng: &mut StdRng) -> Image {
        let ops: &[TimmOp] = if self.increasing {
            &RAND_INCREASING_OPS
        } else {
            &RAND_OPS
        };
        let mut out = img.clone();
        for _ in 0..self.num_ops {
            let op = ops[rng.random_range(0..ops.len())];
            if self.p < 1.0 && rng.random::<f32>() > self.p {
                continue;
            }
            let m = timm_magnitude(self.magnitude, self.magnitude_std, self.magnitude_max, rng);
            let op = timm_level(op, m, [out.height, out.width], rng);
            out = op.apply(&out, self.interpolation, self.fill.as_deref());
        }
        out
    }
}

/// timm's `AugmentOp` magnitude: Gaussian noise (or uniform for `inf`), clipped to `[0, max]`.
fn timm_magnitude(m: f32, std: f32, max: f32, rng: &mut StdRng) -> f32 {
    let m = if std == f32::INFINITY {
        uniform(rng, 0.0, m)
    } else if std > 0.0 {
        Normal::new(m, std).map_or(m, |n| n.sample(rng))
    } else {
        m
    };
    m.clamp(0.0, max)
}

/// AugMix (Hendrycks et al. 2020) with timm's semantics (`AugMixAugment`, `blended=False`):
/// `width` chains of `depth` ops (random 1..=3 when `depth` is not positive) from timm's AugMix
/// list at magnitude `severity`, mixed with Dirichlet(`alpha`) weights, then blended with the
/// original by `m ~ Beta(alpha, alpha)`: `y = (1 - m) x + m * mix`.
///
/// For the Jensen-Shannon consistency loss, put it in a [`SplitsConfig`](super::SplitsConfig)
/// so each image comes with its clean view and augmented views.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugMix {
    /// Magnitude of the ops, 0 to 10 (timm `m`, default 3).
    pub severity: f32,
    /// Number of chains (timm `w`, default 3).
    pub width: usize,
    /// Ops per chain; 0 or negative draws 1..=3 per chain (timm `d`, default -1).
    pub depth: i32,
    /// Dirichlet and Beta concentration (timm `a`, default 1).
    pub alpha: f32,
    /// Interpolation of the geometric ops.
    pub interpolation: Interpolation,
    /// Fill of the geometric ops as fractions of the range (timm: the ImageNet mean).
    pub fill: Option<Vec<f32>>,
}

impl Default for AugMix {
    fn default() -> Self {
        Self {
            severity: 3.0,
            width: 3,
            depth: -1,
            alpha: 1.0,
            interpolation: Interpolation::Bilinear,
            fill: Some(TIMM_FILL.to_vec()),
        }
    }
}

impl AugMix {
    /// Parses timm's AugMix string: `augmix` then `m` (severity), `w` (width), `d` (depth),
    /// `a` (alpha). Example: `augmix-m3-w3-d-1`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (key `augmix`) naming the string for a bad prefix, an unknown
    /// key or a value out of range.
    pub fn from_timm(text: &str) -> Result<Self> {
        const KEY: &str = "augmix";
        let mut out = Self::default();
        for (k, v) in timm_parts(text, "augmix", KEY)? {
            match k {
                "m" => out.severity = parse_num(KEY, text, v)?,
                "w" => out.width = parse_num(KEY, text, v)?,
                "d" => out.depth = parse_num(KEY, text, v)?,
                "a" => out.alpha = parse_num(KEY, text, v)?,
                "mstd" | "b" => {}
                other => {
                    return Err(PodiumError::config(
                        KEY,
                        text,
                        format!("unknown part `{other}` (expected m, w, d or a)"),
                    ));
                }
            }
        }
        out.check()?;
        Ok(out)
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for `width` 0, a non-positive `alpha` or a negative severity.
    pub fn check(&self) -> Result<()> {
        if self.width == 0 {
            return Err(PodiumError::config("width", 0, "must be at least 1"));
        }
        if self.alpha.is_nan() || self.alpha <= 0.0 {
            return Err(PodiumError::config("alpha", self.alpha, "must be > 0"));
        }
        if self.severity.is_nan() || self.severity < 0.0 {
            return Err(PodiumError::config(
                "severity",
                self.severity,
                "must be >= 0",
            ));
        }
        Ok(())
    }

    /// Applies AugMix.
    pub fn apply(&self, img: &Image, rng: &mut StdRng) -> Image {
        let gammas: Vec<f64> = (0..self.width)
            .map(|_| rand_distr::Gamma::new(self.alpha as f64, 1.0).map_or(1.0, |g| g.sample(rng)))
            .collect();
        let total: f64 = gammas.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let m =
            Beta::new(self.alpha as f64, self.alpha as f64).map_or(0.5, |b| b.sample(rng)) as f32;
        let mut mixed = vec![0f32; img.data.len()];
        for g in gammas {
            let wgt = (g / total) as f32;
            let depth = if self.depth > 0 {
                self.depth as usize
            } else {
                rng.random_range(1..=3)
            };
            let mut aug = img.clone();
            for _ in 0..depth {
                let op = AUGMIX_OPS[rng.random_range(0..AUGMIX_OPS.len())];
                let op = timm_level(
                    op,
                    self.severity.clamp(0.0, LEVEL_DENOM),
                    [aug.height, aug.width],
                    rng,
                );
                aug = op.apply(&aug, self.interpolation, self.fill.as_deref());
            }
            for (acc, v) in mixed.iter_mut().zip(&aug.data) {
                *acc += wgt * v;
            }
        }
        let bound = img.depth.bound();
        // timm clips and truncates the mix to uint8, then PIL blends (truncating again).
        let mixed: Vec<f32> = mixed
            .iter()
            .map(|&v| img.cast(v.clamp(0.0, bound), Cast::Trunc))
            .collect();
        let data = img
            .data
            .iter()
            .zip(&mixed)
            .map(|(&x, &y)| img.cast(x + m * (y - x), Cast::Trunc))
            .collect();
        Image::new(data, img.shape(), img.depth)
    }
}
