//! [`AugmentConfig`]: every transform as one serializable value, checked when built.
//!
//! The names and defaults follow torchvision's `transforms.v2` classes (and timm's for
//! `RandomErasing`, RandAugment and AugMix); each variant's doc names its equivalent.
//! Probabilities are `p`, sizes `[height, width]`, fills fractions of the value range (so one
//! config serves `u8` and float images).

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::functional::{self as F, Interpolation, PaddingMode};
use super::policy::{AugMix, AutoAugment, RandAugment, TrivialAugmentWide, uniform};
use super::{Depth, Image};
use crate::error::{PodiumError, Result};

/// Checks a probability.
pub(crate) fn check_p(key: &str, p: f32) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(PodiumError::config(
            key,
            p,
            "must be a probability in [0, 1]",
        ))
    }
}

fn check_range(key: &str, [lo, hi]: [f32; 2], min: f32) -> Result<()> {
    if !(lo >= min && hi >= lo && hi.is_finite()) {
        return Err(PodiumError::config(
            key,
            format!("[{lo}, {hi}]"),
            format!("must be a range [min, max] with {min} <= min <= max"),
        ));
    }
    Ok(())
}

fn check_size(key: &str, [h, w]: [usize; 2]) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(PodiumError::config(
            key,
            format!("[{h}, {w}]"),
            "must be positive",
        ));
    }
    Ok(())
}

/// What timm's [`AugmentConfig::RandomErasing`] writes into the erased box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EraseMode {
    /// Zeros (the mean colour when erasing runs after normalization, as in timm).
    #[default]
    Const,
    /// One normal draw per channel.
    Rand,
    /// One normal draw per pixel and channel.
    Pixel,
}

fn default_p() -> f32 {
    0.5
}
fn one() -> f32 {
    1.0
}
fn rrc_scale() -> [f32; 2] {
    [0.08, 1.0]
}
fn rrc_ratio() -> [f32; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}
fn yes() -> bool {
    true
}
fn nearest() -> Interpolation {
    Interpolation::Nearest
}
fn zero_fill() -> Vec<f32> {
    vec![0.0]
}
fn blur_sigma() -> [f32; 2] {
    [0.1, 2.0]
}
fn erase_min_area() -> f32 {
    0.02
}
fn erase_max_area() -> f32 {
    1.0 / 3.0
}
fn erase_min_aspect() -> f32 {
    0.3
}
fn one_count() -> usize {
    1
}
fn cutout_length() -> usize {
    16
}

/// One transform of a pipeline (see the module docs). Serialized with a `name` tag, e.g.
/// `{"name": "random_resized_crop", "size": [224, 224]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum AugmentConfig {
    /// `Resize(size, interpolation, antialias)`: `size` is `[h, w]`, or `[s]` for the shorter
    /// side.
    Resize {
        /// `[height, width]` or `[shorter side]`.
        size: Vec<usize>,
        /// Interpolation (default bilinear).
        #[serde(default)]
        interpolation: Interpolation,
        /// Antialias when shrinking (default true, torchvision's default).
        #[serde(default = "yes")]
        antialias: bool,
    },
    /// `CenterCrop(size)`, zero-padded when larger than the image.
    CenterCrop {
        /// `[height, width]`.
        size: [usize; 2],
    },
    /// `RandomResizedCrop(size, scale, ratio, interpolation, antialias)`: a crop of a random
    /// area fraction in `scale` and aspect ratio in `ratio` (log-uniform), resized to `size`;
    /// after 10 failed draws, the largest centred crop within `ratio`.
    RandomResizedCrop {
        /// Output `[height, width]`.
        size: [usize; 2],
        /// Area fraction range (default `[0.08, 1]`).
        #[serde(default = "rrc_scale")]
        scale: [f32; 2],
        /// Aspect-ratio range `w / h` (default `[3/4, 4/3]`).
        #[serde(default = "rrc_ratio")]
        ratio: [f32; 2],
        /// Interpolation (default bilinear).
        #[serde(default)]
        interpolation: Interpolation,
        /// Antialias when shrinking (default true).
        #[serde(default = "yes")]
        antialias: bool,
    },
    /// `RandomCrop(size, padding, pad_if_needed, fill, padding_mode)`.
    RandomCrop {
        /// Output `[height, width]`.
        size: [usize; 2],
        /// Padding `[left, top, right, bottom]` applied first (default none).
        #[serde(default)]
        padding: [usize; 4],
        /// Pad to `size` when the (padded) image is smaller (default false: an error when the
        /// pipeline is built for a smaller input).
        #[serde(default)]
        pad_if_needed: bool,
        /// Constant fill, fractions of the range (default 0).
        #[serde(default = "zero_fill")]
        fill: Vec<f32>,
        /// Padding mode (default constant).
        #[serde(default)]
        padding_mode: PaddingMode,
    },
    /// `RandomHorizontalFlip(p)`.
    HorizontalFlip {
        /// Probability (default 0.5).
        #[serde(default = "default_p")]
        p: f32,
    },
    /// `RandomVerticalFlip(p)`.
    VerticalFlip {
        /// Probability (default 0.5).
        #[serde(default = "default_p")]
        p: f32,
    },
    /// `ColorJitter(brightness, contrast, saturation, hue)`: factors drawn uniformly from
    /// `[max(0, 1 - v), 1 + v]` (hue from `[-hue, hue]`), applied in a random order.
    ColorJitter {
        /// Brightness jitter (default 0, off).
        #[serde(default)]
        brightness: f32,
        /// Contrast jitter (default 0).
        #[serde(default)]
        contrast: f32,
        /// Saturation jitter (default 0).
        #[serde(default)]
        saturation: f32,
        /// Hue jitter, at most 0.5 (default 0).
        #[serde(default)]
        hue: f32,
        /// Probability of jittering at all (default 1; timm's `color_jitter_prob`).
        #[serde(default = "one")]
        p: f32,
    },
    /// `RandomRotation(degrees, interpolation, expand, fill)`: angle uniform in `degrees`.
    RandomRotation {
        /// Angle range in degrees, e.g. `[-30, 30]`.
        degrees: [f32; 2],
        /// Interpolation (default nearest, torchvision's).
        #[serde(default = "nearest")]
        interpolation: Interpolation,
        /// Grow the canvas to hold the whole rotated image (default false).
        #[serde(default)]
        expand: bool,
        /// Fill, fractions of the range (default 0; torchvision's masked fill rule).
        #[serde(default = "zero_fill")]
        fill: Vec<f32>,
    },
    /// `RandomAffine(degrees, translate, scale, shear, interpolation, fill)`.
    RandomAffine {
        /// Rotation range in degrees.
        degrees: [f32; 2],
        /// Largest translation as fractions `[x, y]` of the width and height (default none).
        #[serde(default)]
        translate: Option<[f32; 2]>,
        /// Scale range (default none: 1).
        #[serde(default)]
        scale: Option<[f32; 2]>,
        /// Shear ranges in degrees: `[x_min, x_max]` or `[x_min, x_max, y_min, y_max]`.
        #[serde(default)]
        shear: Option<Vec<f32>>,
        /// Interpolation (default nearest).
        #[serde(default = "nearest")]
        interpolation: Interpolation,
        /// Fill, fractions of the range (default 0).
        #[serde(default = "zero_fill")]
        fill: Vec<f32>,
    },
    /// `RandomGrayscale(p)`: grayscale with the input's channel count.
    RandomGrayscale {
        /// Probability (default 0.1, torchvision's).
        p: f32,
    },
    /// `GaussianBlur(kernel_size, sigma)` applied with probability `p`; sigma uniform in
    /// `sigma`, the same along x and y.
    GaussianBlur {
        /// Kernel `[x, y]`, odd sizes.
        kernel_size: [usize; 2],
        /// Sigma range (default `[0.1, 2]`).
        #[serde(default = "blur_sigma")]
        sigma: [f32; 2],
        /// Probability (default 1, as torchvision's class; timm uses 0.1 to 0.5).
        #[serde(default = "one")]
        p: f32,
    },
    /// timm's `RandomErasing(probability, min_area, max_area, min_aspect, max_aspect, mode,
    /// min_count, max_count)`: with probability `p`, `count` boxes each covering a random
    /// `[min_area, max_area] / count` of the image with log-uniform aspect ratio (10 tries
    /// each), filled per `mode`. Put it after `normalize`, as timm does, so `const` erases to
    /// the mean colour and the noise is on the normalized scale.
    RandomErasing {
        /// Probability (default 0.5).
        #[serde(default = "default_p")]
        p: f32,
        /// Smallest area fraction (default 0.02).
        #[serde(default = "erase_min_area")]
        min_area: f32,
        /// Largest area fraction (default 1/3).
        #[serde(default = "erase_max_area")]
        max_area: f32,
        /// Smallest aspect ratio (default 0.3).
        #[serde(default = "erase_min_aspect")]
        min_aspect: f32,
        /// Largest aspect ratio (default `1 / min_aspect`).
        #[serde(default)]
        max_aspect: Option<f32>,
        /// Fill mode (default const).
        #[serde(default)]
        mode: EraseMode,
        /// Fewest boxes (default 1).
        #[serde(default = "one_count")]
        min_count: usize,
        /// Most boxes (default `min_count`).
        #[serde(default)]
        max_count: Option<usize>,
    },
    /// Cutout (DeVries and Taylor 2017): `n_holes` squares of side `length` centred anywhere
    /// (clipped at the border), filled with `fill`, with probability `p`.
    Cutout {
        /// Number of squares (default 1).
        #[serde(default = "one_count")]
        n_holes: usize,
        /// Side in pixels (default 16).
        #[serde(default = "cutout_length")]
        length: usize,
        /// Fill, fractions of the range (default 0).
        #[serde(default = "zero_fill")]
        fill: Vec<f32>,
        /// Probability (default 1).
        #[serde(default = "one")]
        p: f32,
    },
    /// `Normalize(mean, std)` (a `u8` image is scaled to `[0, 1]` first). Optional: the batcher
    /// normalizes images that are not normalized yet.
    Normalize {
        /// Per-channel mean.
        mean: Vec<f32>,
        /// Per-channel std.
        std: Vec<f32>,
    },
    /// torchvision `AutoAugment(AutoAugmentPolicy.IMAGENET)`.
    AutoAugment(AutoAugment),
    /// timm RandAugment; also written as a timm string, see [`AugmentConfig::from_timm`].
    RandAugment(RandAugment),
    /// torchvision `TrivialAugmentWide`.
    TrivialAugmentWide(TrivialAugmentWide),
    /// timm AugMix.
    AugMix(AugMix),
}

impl AugmentConfig {
    /// A transform from timm's policy strings: `rand-m9-n2-mstd0.5` (RandAugment),
    /// `augmix-m3-w3` (AugMix), `trivial` / `trivialaugment` (TrivialAugmentWide) and
    /// `autoaug` / `original` / `v0` style AutoAugment names (the ImageNet policy).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (key `auto_augment`) for an unknown string, or the policy's own
    /// error for a malformed one.
    pub fn from_timm(text: &str) -> Result<Self> {
        let head = text.split('-').next().unwrap_or_default();
        match head {
            "rand" => Ok(Self::RandAugment(RandAugment::from_timm(text)?)),
            "augmix" => Ok(Self::AugMix(AugMix::from_timm(text)?)),
            "trivial" | "trivialaugment" | "ta_wide" => {
                Ok(Self::TrivialAugmentWide(TrivialAugmentWide::default()))
            }
            "autoaug" | "original" | "v0" | "imagenet" => {
                Ok(Self::AutoAugment(AutoAugment::default()))
            }
            _ => Err(PodiumError::config(
                "auto_augment",
                text,
                "expected a timm string starting with rand, augmix, trivial or autoaug",
            )),
        }
    }

    /// The variant's name as it is serialized (`random_resized_crop`, ...).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .unwrap_or_default()
    }

    /// Checks every parameter.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key and value: a probability outside `[0, 1]`, a
    /// range with min above max, a zero size, an even blur kernel, a hue above 0.5, ...
    pub fn check(&self) -> Result<()> {
        use AugmentConfig as A;
        match self {
            A::Resize { size, .. } => match size.as_slice() {
                [s] if *s > 0 => Ok(()),
                [h, w] => check_size("size", [*h, *w]),
                _ => Err(PodiumError::config(
                    "size",
                    format!("{size:?}"),
                    "must be [height, width] or [shorter side], positive",
                )),
            },
            A::CenterCrop { size } => check_size("size", *size),
            A::RandomResizedCrop {
                size, scale, ratio, ..
            } => {
                check_size("size", *size)?;
                check_range("scale", *scale, f32::MIN_POSITIVE)?;
                check_range("ratio", *ratio, f32::MIN_POSITIVE)
            }
            A::RandomCrop { size, fill, .. } => {
                check_size("size", *size)?;
                check_fill(fill)
            }
            A::HorizontalFlip { p } | A::VerticalFlip { p } | A::RandomGrayscale { p } => {
                check_p("p", *p)
            }
            A::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => {
                for (k, v) in [
                    ("brightness", brightness),
                    ("contrast", contrast),
                    ("saturation", saturation),
                ] {
                    if !(*v >= 0.0 && v.is_finite()) {
                        return Err(PodiumError::config(k, v, "must be >= 0"));
                    }
                }
                if !(0.0..=0.5).contains(hue) {
                    return Err(PodiumError::config("hue", hue, "must be in [0, 0.5]"));
                }
                check_p("p", *p)
            }
            A::RandomRotation { degrees, fill, .. } => {
                check_range("degrees", *degrees, f32::NEG_INFINITY)?;
                check_fill(fill)
            }
            A::RandomAffine {
                degrees,
                translate,
                scale,
                shear,
                fill,
                ..
            } => {
                check_range("degrees", *degrees, f32::NEG_INFINITY)?;
                if let Some([tx, ty]) = translate
                    && !((0.0..=1.0).contains(tx) && (0.0..=1.0).contains(ty))
                {
                    return Err(PodiumError::config(
                        "translate",
                        format!("[{tx}, {ty}]"),
                        "fractions must be in [0, 1]",
                    ));
                }
                if let Some(s) = scale {
                    check_range("scale", *s, f32::MIN_POSITIVE)?;
                }
                if let Some(sh) = shear {
                    match sh.as_slice() {
                        [a, b] => check_range("shear", [*a, *b], f32::NEG_INFINITY)?,
                        [a, b, c, d] => {
                            check_range("shear", [*a, *b], f32::NEG_INFINITY)?;
                            check_range("shear", [*c, *d], f32::NEG_INFINITY)?;
                        }
                        _ => {
                            return Err(PodiumError::config(
                                "shear",
                                format!("{sh:?}"),
                                "give 2 or 4 values",
                            ));
                        }
                    }
                }
                check_fill(fill)
            }
            A::GaussianBlur {
                kernel_size,
                sigma,
                p,
            } => {
                if kernel_size.iter().any(|k| k % 2 == 0) {
                    return Err(PodiumError::config(
                        "kernel_size",
                        format!("{kernel_size:?}"),
                        "sizes must be odd and positive",
                    ));
                }
                check_range("sigma", *sigma, f32::MIN_POSITIVE)?;
                check_p("p", *p)
            }
            A::RandomErasing {
                p,
                min_area,
                max_area,
                min_aspect,
                max_aspect,
                min_count,
                max_count,
                ..
            } => {
                check_p("p", *p)?;
                check_range("min_area..max_area", [*min_area, *max_area], 0.0)?;
                if *max_area > 1.0 {
                    return Err(PodiumError::config(
                        "max_area",
                        max_area,
                        "must be at most 1",
                    ));
                }
                let hi = max_aspect.unwrap_or(1.0 / min_aspect);
                check_range(
                    "min_aspect..max_aspect",
                    [*min_aspect, hi],
                    f32::MIN_POSITIVE,
                )?;
                if *min_count == 0 || max_count.is_some_and(|m| m < *min_count) {
                    return Err(PodiumError::config(
                        "min_count..max_count",
                        format!("{min_count}..{max_count:?}"),
                        "need 1 <= min_count <= max_count",
                    ));
                }
                Ok(())
            }
            A::Cutout {
                n_holes,
                length,
                fill,
                p,
            } => {
                if *n_holes == 0 || *length == 0 {
                    return Err(PodiumError::config(
                        "n_holes/length",
                        format!("{n_holes}/{length}"),
                        "must be positive",
                    ));
                }
                check_fill(fill)?;
                check_p("p", *p)
            }
            A::Normalize { mean, std } => {
                if mean.is_empty() || mean.len() != std.len() {
                    return Err(PodiumError::config(
                        "mean/std",
                        format!("{mean:?}/{std:?}"),
                        "need the same non-zero number of values",
                    ));
                }
                if std.iter().any(|s| s.is_nan() || *s <= 0.0) {
                    return Err(PodiumError::config(
                        "std",
                        format!("{std:?}"),
                        "must be positive",
                    ));
                }
                Ok(())
            }
            A::AutoAugment(a) => a.fill.as_deref().map_or(Ok(()), check_fill),
            A::TrivialAugmentWide(a) => a.fill.as_deref().map_or(Ok(()), check_fill),
            A::RandAugment(r) => r.check(),
            A::AugMix(a) => a.check(),
        }
    }

    /// The shape this transform gives an input of `shape` (`[c, h, w]`).
    ///
    /// # Errors
    /// [`PodiumError::Config`] when the input does not fit: a `random_crop` larger than the
    /// padded image without `pad_if_needed`, a reflect padding or blur kernel larger than the
    /// image, a `normalize` with another channel count.
    pub fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        use AugmentConfig as A;
        Ok(match self {
            A::Resize { size, .. } => match size.as_slice() {
                [s] => {
                    let [nh, nw] = F::shorter_side_size([h, w], *s);
                    [c, nh, nw]
                }
                _ => [c, size[0], size[1]],
            },
            A::CenterCrop { size } | A::RandomResizedCrop { size, .. } => [c, size[0], size[1]],
            A::RandomCrop {
                size,
                padding,
                pad_if_needed,
                padding_mode,
                ..
            } => {
                let (ph, pw) = (h + padding[1] + padding[3], w + padding[0] + padding[2]);
                if *padding_mode == PaddingMode::Reflect
                    && (padding[0].max(padding[2]) >= w || padding[1].max(padding[3]) >= h)
                {
                    return Err(PodiumError::config(
                        "padding",
                        format!("{padding:?}"),
                        format!("reflect padding must be smaller than the {h}x{w} input"),
                    ));
                }
                if !pad_if_needed && (size[0] > ph || size[1] > pw) {
                    return Err(PodiumError::config(
                        "size",
                        format!("{size:?}"),
                        format!(
                            "random_crop is larger than the {ph}x{pw} (padded) input; set pad_if_needed or padding"
                        ),
                    ));
                }
                [c, size[0], size[1]]
            }
            A::RandomRotation {
                degrees,
                expand: true,
                ..
            } => {
                // The largest canvas over the angle range bounds every output; report the input
                // size only when the range is a single angle.
                let probe = Image::zeros([1, h, w], Depth::F32);
                if degrees[0] == degrees[1] {
                    let out =
                        F::rotate(&probe, degrees[0], Interpolation::Nearest, true, None, None);
                    [c, out.height, out.width]
                } else {
                    return Err(PodiumError::config(
                        "expand",
                        true,
                        "a random angle range with expand gives images of varying size, which cannot be batched",
                    ));
                }
            }
            A::GaussianBlur { kernel_size, .. } => {
                if kernel_size[0] / 2 >= w || kernel_size[1] / 2 >= h {
                    return Err(PodiumError::config(
                        "kernel_size",
                        format!("{kernel_size:?}"),
                        format!("half the kernel must be smaller than the {h}x{w} input"),
                    ));
                }
                [c, h, w]
            }
            A::Normalize { mean, .. } => {
                if mean.len() != 1 && mean.len() != c {
                    return Err(PodiumError::config(
                        "mean",
                        format!("{mean:?}"),
                        format!("{} values for a {c}-channel input", mean.len()),
                    ));
                }
                [c, h, w]
            }
            A::ColorJitter {
                saturation, hue, ..
            } if c != 3 && c != 1 && (*saturation > 0.0 || *hue > 0.0) => {
                return Err(PodiumError::config(
                    "saturation/hue",
                    format!("{saturation}/{hue}"),
                    format!("need 1 or 3 channels, the input has {c}"),
                ));
            }
            _ => [c, h, w],
        })
    }

    /// Applies the transform with randomness from `rng`.
    ///
    /// Checked configs never panic here; an image smaller than a `random_crop` (when the
    /// pipeline was built for another size) is zero-padded.
    pub fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        use AugmentConfig as A;
        let bound = img.depth.bound();
        let scaled = |fill: &[f32]| fill.iter().map(|v| v * bound).collect::<Vec<f32>>();
        match self {
            A::Resize {
                size,
                interpolation,
                antialias,
            } => match size.as_slice() {
                [s] => F::resize_shorter(&img, *s, *interpolation, *antialias),
                _ => F::resize(&img, [size[0], size[1]], *interpolation, *antialias),
            },
            A::CenterCrop { size } => F::center_crop(&img, *size),
            A::RandomResizedCrop {
                size,
                scale,
                ratio,
                interpolation,
                antialias,
            } => {
                let [top, left, h, w] =
                    resized_crop_params(img.height, img.width, *scale, *ratio, rng);
                let cropped = F::crop(&img, top as isize, left as isize, h, w);
                F::resize(&cropped, *size, *interpolation, *antialias)
            }
            A::RandomCrop {
                size,
                padding,
                pad_if_needed,
                fill,
                padding_mode,
            } => {
                let fill = scaled(fill);
                let mut img = if padding.iter().any(|&p| p > 0) {
                    F::pad(&img, *padding, *padding_mode, &fill)
                } else {
                    img
                };
                if *pad_if_needed && (img.height < size[0] || img.width < size[1]) {
                    let (dh, dw) = (
                        size[0].saturating_sub(img.height),
                        size[1].saturating_sub(img.width),
                    );
                    let mode = if *padding_mode == PaddingMode::Reflect {
                        PaddingMode::Constant
                    } else {
                        *padding_mode
                    };
                    img = F::pad(&img, [dw, dh, dw, dh], mode, &fill);
                }
                let top = rng.random_range(0..=img.height.saturating_sub(size[0]));
                let left = rng.random_range(0..=img.width.saturating_sub(size[1]));
                F::crop(&img, top as isize, left as isize, size[0], size[1])
            }
            A::HorizontalFlip { p } => {
                if rng.random::<f32>() < *p {
                    F::hflip(&img)
                } else {
                    img
                }
            }
            A::VerticalFlip { p } => {
                if rng.random::<f32>() < *p {
                    F::vflip(&img)
                } else {
                    img
                }
            }
            A::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
                p,
            } => {
                if rng.random::<f32>() >= *p {
                    return img;
                }
                let mut order = [0usize, 1, 2, 3];
                order.shuffle(rng);
                let factor = |v: f32, rng: &mut StdRng| uniform(rng, (1.0 - v).max(0.0), 1.0 + v);
                let b = factor(*brightness, rng);
                let c = factor(*contrast, rng);
                let s = factor(*saturation, rng);
                let h = uniform(rng, -hue, *hue);
                let mut img = img;
                for k in order {
                    img = match k {
                        0 if *brightness > 0.0 => F::adjust_brightness_owned(img, b),
                        1 if *contrast > 0.0 => F::adjust_contrast_owned(img, c),
                        2 if *saturation > 0.0 => F::adjust_saturation_owned(img, s),
                        3 if *hue > 0.0 => F::adjust_hue_owned(img, h),
                        _ => img,
                    };
                }
                img
            }
            A::RandomRotation {
                degrees,
                interpolation,
                expand,
                fill,
            } => {
                let angle = uniform(rng, degrees[0], degrees[1]);
                F::rotate(
                    &img,
                    angle,
                    *interpolation,
                    *expand,
                    None,
                    Some(&scaled(fill)),
                )
            }
            A::RandomAffine {
                degrees,
                translate,
                scale,
                shear,
                interpolation,
                fill,
            } => {
                let angle = uniform(rng, degrees[0], degrees[1]);
                let t = translate.map_or([0.0, 0.0], |[tx, ty]| {
                    let (mx, my) = (tx * img.width as f32, ty * img.height as f32);
                    [uniform(rng, -mx, mx).round(), uniform(rng, -my, my).round()]
                });
                let s = scale.map_or(1.0, |[lo, hi]| uniform(rng, lo, hi));
                let sh = match shear.as_deref() {
                    Some([a, b]) => [uniform(rng, *a, *b), 0.0],
                    Some([a, b, c, d]) => [uniform(rng, *a, *b), uniform(rng, *c, *d)],
                    _ => [0.0, 0.0],
                };
                F::affine(
                    &img,
                    angle,
                    t,
                    s,
                    sh,
                    *interpolation,
                    Some(&scaled(fill)),
                    None,
                )
            }
            A::RandomGrayscale { p } => {
                if rng.random::<f32>() < *p && img.channels == 3 {
                    F::rgb_to_grayscale(&img, 3)
                } else {
                    img
                }
            }
            A::GaussianBlur {
                kernel_size,
                sigma,
                p,
            } => {
                if rng.random::<f32>() >= *p {
                    return img;
                }
                let s = uniform(rng, sigma[0], sigma[1]);
                F::gaussian_blur(&img, *kernel_size, [s, s])
            }
            A::RandomErasing {
                p,
                min_area,
                max_area,
                min_aspect,
                max_aspect,
                mode,
                min_count,
                max_count,
            } => {
                if rng.random::<f32>() > *p {
                    return img;
                }
                let max_count = max_count.unwrap_or(*min_count);
                let count = if max_count == *min_count {
                    *min_count
                } else {
                    rng.random_range(*min_count..=max_count)
                };
                let log_aspect = [min_aspect.ln(), max_aspect.unwrap_or(1.0 / min_aspect).ln()];
                let (ih, iw) = (img.height, img.width);
                let area = (ih * iw) as f32;
                let mut img = img;
                for _ in 0..count {
                    for _ in 0..10 {
                        let target = uniform(rng, *min_area, *max_area) * area / count as f32;
                        let aspect = uniform(rng, log_aspect[0], log_aspect[1]).exp();
                        let h = (target * aspect).sqrt().round() as usize;
                        let w = (target / aspect).sqrt().round() as usize;
                        if w < iw && h < ih {
                            let top = rng.random_range(0..=ih - h);
                            let left = rng.random_range(0..=iw - w);
                            let n = match mode {
                                EraseMode::Const => 1,
                                EraseMode::Rand => img.channels,
                                EraseMode::Pixel => img.channels * h * w,
                            };
                            let values: Vec<f32> = match mode {
                                EraseMode::Const => vec![0.0],
                                _ => (0..n).map(|_| StandardNormal.sample(rng)).collect(),
                            };
                            img = F::erase(&img, top, left, h, w, &values);
                            break;
                        }
                    }
                }
                img
            }
            A::Cutout {
                n_holes,
                length,
                fill,
                p,
            } => {
                if rng.random::<f32>() >= *p {
                    return img;
                }
                let fill = scaled(fill);
                let mut img = img;
                for _ in 0..*n_holes {
                    let (cy, cx) = (
                        rng.random_range(0..img.height),
                        rng.random_range(0..img.width),
                    );
                    let half = length / 2;
                    let (y0, x0) = (cy.saturating_sub(half), cx.saturating_sub(half));
                    let (y1, x1) = ((cy + half).min(img.height), (cx + half).min(img.width));
                    if y1 > y0 && x1 > x0 {
                        img = F::erase(&img, y0, x0, y1 - y0, x1 - x0, &fill);
                    }
                }
                img
            }
            A::Normalize { mean, std } => {
                let mut out = F::normalize(&img, mean, std);
                out.depth = Depth::Normalized;
                out
            }
            A::AutoAugment(a) => a.apply(&img, rng),
            A::RandAugment(r) => r.apply(&img, rng),
            A::TrivialAugmentWide(t) => t.apply(&img, rng),
            A::AugMix(a) => a.apply(&img, rng),
        }
    }
}

fn check_fill(fill: &[f32]) -> Result<()> {
    if fill.is_empty() || fill.iter().any(|v| !v.is_finite()) {
        return Err(PodiumError::config(
            "fill",
            format!("{fill:?}"),
            "give 1 or one value per channel, finite",
        ));
    }
    Ok(())
}

/// torchvision's `RandomResizedCrop.get_params`: `[top, left, height, width]`.
pub fn resized_crop_params(
    height: usize,
    width: usize,
    scale: [f32; 2],
    ratio: [f32; 2],
    rng: &mut StdRng,
) -> [usize; 4] {
    let area = (height * width) as f32;
    let log_ratio = [ratio[0].ln(), ratio[1].ln()];
    for _ in 0..10 {
        let target = area * uniform(rng, scale[0], scale[1]);
        let aspect = uniform(rng, log_ratio[0], log_ratio[1]).exp();
        let w = (target * aspect).sqrt().round() as usize;
        let h = (target / aspect).sqrt().round() as usize;
        if 0 < w && w <= width && 0 < h && h <= height {
            let top = rng.random_range(0..=height - h);
            let left = rng.random_range(0..=width - w);
            return [top, left, h, w];
        }
    }
    let in_ratio = width as f32 / height as f32;
    let (h, w) = if in_ratio < ratio[0] {
        ((width as f32 / ratio[0]).round() as usize, width)
    } else if in_ratio > ratio[1] {
        (height, (height as f32 * ratio[1]).round() as usize)
    } else {
        (height, width)
    };
    [(height - h) / 2, (width - w) / 2, h, w]
}
