//! timm's augmentation policies: RandAugment (configured by strings such as
//! `rand-m9-n2-mstd0.5`) and AugMix, with timm's op lists and level-to-argument functions.
//!
//! Magnitudes, probabilities and alphas are `f64` hyper-parameters; the draws use them rounded
//! to `f32`, as podium always has (so a seeded run gives the same images).

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::super::functional::Interpolation;
use super::super::ops::Op;
use super::super::{Cast, Image, Transform};
use super::uniform;
use crate::augment::transform::validate_p;
use crate::error::{PodiumError, Result};

fn negate(rng: &mut StdRng, v: f32) -> f32 {
    if rng.random::<bool>() { -v } else { v }
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
    pub magnitude: f64,
    /// Ops per image (timm `n`, default 2).
    pub num_ops: usize,
    /// Std of the Gaussian noise on the magnitude (timm `mstd`, default 0).
    pub magnitude_std: f64,
    /// Upper clip of the magnitude (timm `mmax`, default 10).
    pub magnitude_max: f64,
    /// Probability of each op (timm `p`, default 0.5).
    pub p: f64,
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
            magnitude_max: LEVEL_DENOM as f64,
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
        out.validate()?;
        Ok(out)
    }
}

impl Transform for RandAugment {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a negative magnitude or std, or `p` outside `[0, 1]`.
    fn validate(&self) -> Result<()> {
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
        validate_p("p", self.p)
    }

    /// Applies `num_ops` random ops.
    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let ops: &[TimmOp] = if self.increasing {
            &RAND_INCREASING_OPS
        } else {
            &RAND_OPS
        };
        let p = self.p as f32;
        let (m, std, max) = (
            self.magnitude as f32,
            self.magnitude_std as f32,
            self.magnitude_max as f32,
        );
        let mut out = img;
        for _ in 0..self.num_ops {
            let op = ops[rng.random_range(0..ops.len())];
            if p < 1.0 && rng.random::<f32>() > p {
                continue;
            }
            let m = timm_magnitude(m, std, max, rng);
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
/// For the Jensen-Shannon consistency loss, put it in a [`SplitsConfig`](crate::augment::SplitsConfig)
/// so each image comes with its clean view and augmented views.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugMix {
    /// Magnitude of the ops, 0 to 10 (timm `m`, default 3).
    pub severity: f64,
    /// Number of chains (timm `w`, default 3).
    pub width: usize,
    /// Ops per chain; 0 or negative draws 1..=3 per chain (timm `d`, default -1).
    pub depth: i32,
    /// Dirichlet and Beta concentration (timm `a`, default 1).
    pub alpha: f64,
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
        out.validate()?;
        Ok(out)
    }
}

impl Transform for AugMix {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for `width` 0, a non-positive `alpha` or a negative severity.
    fn validate(&self) -> Result<()> {
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
    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        // the Gamma and Beta draws take alpha at f32 precision, as podium always has
        let alpha = self.alpha as f32 as f64;
        let severity = self.severity as f32;
        let gammas: Vec<f64> = (0..self.width)
            .map(|_| rand_distr::Gamma::new(alpha, 1.0).map_or(1.0, |g| g.sample(rng)))
            .collect();
        let total: f64 = gammas.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let m = Beta::new(alpha, alpha).map_or(0.5, |b| b.sample(rng)) as f32;
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
                    severity.clamp(0.0, LEVEL_DENOM),
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
