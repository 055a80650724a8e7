//! The operations the augmentation policies draw from (AutoAugment, RandAugment,
//! TrivialAugment, AugMix), each with its final argument already computed from a magnitude.
//!
//! Geometric ops use torchvision's definitions (`_apply_image_transform` of
//! `torchvision.transforms.v2._auto_augment`): shears about the top-left corner with angle
//! `atan(factor)`, translations in pixels, rotations about the centre. Tone ops use the tensor
//! functions of [`functional`](super::functional) (timm's PIL `ImageEnhance` ops differ from
//! them by at most a rounding step).

use super::functional::{self as F, Interpolation};
use super::{Cast, Image};

/// One policy operation with its argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Leaves the image as it is.
    Identity,
    /// Horizontal shear `x' = x + factor * y` about the top-left corner.
    ShearX(f32),
    /// Vertical shear `y' = y + factor * x` about the top-left corner.
    ShearY(f32),
    /// Horizontal translation in pixels.
    TranslateX(f32),
    /// Vertical translation in pixels.
    TranslateY(f32),
    /// Rotation in degrees, counter-clockwise, about the centre.
    Rotate(f32),
    /// [`F::adjust_brightness`] with this factor.
    Brightness(f32),
    /// [`F::adjust_saturation`] with this factor (PIL's "Color").
    Color(f32),
    /// [`F::adjust_contrast`] with this factor.
    Contrast(f32),
    /// [`F::adjust_sharpness`] with this factor.
    Sharpness(f32),
    /// [`F::posterize`] keeping this many bits (8 or more leaves the image as it is).
    Posterize(u32),
    /// [`F::solarize`] with the threshold given as a fraction of the range (1 leaves the image).
    Solarize(f32),
    /// timm's `solarize_add`: below `threshold`, `min(x + add, bound)`; both fractions of the
    /// range.
    SolarizeAdd {
        /// Added value, as a fraction of the range.
        add: f32,
        /// Threshold, as a fraction of the range.
        threshold: f32,
    },
    /// [`F::autocontrast`].
    AutoContrast,
    /// [`F::equalize`].
    Equalize,
    /// [`F::invert`].
    Invert,
}

impl Op {
    /// Applies the op; `fill` (fractions of the range, per channel or one) is the value of the
    /// pixels that geometric ops bring in, `None` for torchvision's plain zero padding.
    pub fn apply(self, img: &Image, interp: Interpolation, fill: Option<&[f32]>) -> Image {
        let bound = img.depth.bound();
        let fill: Option<Vec<f32>> = fill.map(|f| f.iter().map(|v| v * bound).collect());
        let fill = fill.as_deref();
        let shear = |sx: f32, sy: f32| {
            F::affine(
                img,
                0.0,
                [0.0, 0.0],
                1.0,
                [sx, sy],
                interp,
                fill,
                Some([0.0, 0.0]),
            )
        };
        let translate =
            |tx: f32, ty: f32| F::affine(img, 0.0, [tx, ty], 1.0, [0.0, 0.0], interp, fill, None);
        match self {
            Op::Identity => img.clone(),
            Op::ShearX(f) => shear(f.atan().to_degrees(), 0.0),
            Op::ShearY(f) => shear(0.0, f.atan().to_degrees()),
            Op::TranslateX(px) => translate(px, 0.0),
            Op::TranslateY(px) => translate(0.0, px),
            Op::Rotate(deg) => F::rotate(img, deg, interp, false, None, fill),
            Op::Brightness(f) => F::adjust_brightness(img, f.max(0.0)),
            Op::Color(f) => F::adjust_saturation(img, f.max(0.0)),
            Op::Contrast(f) => F::adjust_contrast(img, f.max(0.0)),
            Op::Sharpness(f) => F::adjust_sharpness(img, f.max(0.0)),
            Op::Posterize(bits) if bits >= 8 => img.clone(),
            Op::Posterize(bits) => F::posterize(img, bits),
            Op::Solarize(t) => F::solarize(img, t * bound),
            Op::SolarizeAdd { add, threshold } => {
                let (add, threshold) = (add * bound, threshold * bound);
                img.map(Cast::Round, |v| {
                    if v < threshold {
                        (v + add).min(bound)
                    } else {
                        v
                    }
                })
            }
            Op::AutoContrast => F::autocontrast(img),
            Op::Equalize => F::equalize(img),
            Op::Invert => F::invert(img),
        }
    }
}
