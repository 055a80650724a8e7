//! torchvision's augmentation policies: AutoAugment (the ImageNet policy) and
//! TrivialAugmentWide, with torchvision's magnitude tables.

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional::Interpolation;
use super::super::ops::Op;
use super::super::{Image, Transform};
use crate::augment::transform::validate_fill;
use crate::error::Result;

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

impl Transform for AutoAugment {
    fn validate(&self) -> Result<()> {
        self.fill.as_deref().map_or(Ok(()), validate_fill)
    }

    /// Applies one randomly drawn sub-policy.
    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let policy = IMAGENET_POLICY[rng.random_range(0..IMAGENET_POLICY.len())];
        let mut out = img;
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

impl Transform for TrivialAugmentWide {
    fn validate(&self) -> Result<()> {
        self.fill.as_deref().map_or(Ok(()), validate_fill)
    }

    /// Applies one random op.
    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let name = TRIVIAL_OPS[rng.random_range(0..TRIVIAL_OPS.len())];
        let bin = rng.random_range(0..31);
        let (op, signed) = torchvision_op(name, bin, 31, [img.height, img.width], true);
        let op = torchvision_apply(op, signed && rng.random::<bool>());
        op.apply(&img, self.interpolation, self.fill.as_deref())
    }
}
