//! The [`Transform`] trait and [`TransformConfig`]: every transform as one serializable value.
//!
//! Each transform is its own config struct (`HorizontalFlip`, `RandomResizedCrop`, ...,
//! grouped by family in `transforms/`) implementing [`Transform`]: [`validate`]
//! (its parameters), [`output_shape`] (what it makes of an input shape) and [`apply`] (with
//! randomness from a generator). [`TransformConfig`] is the enum of those structs, serialized
//! with a `name` tag (`{"name": "random_resized_crop", "size": [224, 224]}`), and dispatches to
//! them in one place.
//!
//! The names and defaults follow torchvision's `transforms.v2` classes (and timm's for
//! `RandomErasing`, RandAugment and AugMix); each struct's doc names its equivalent.
//! Probabilities are `p`, sizes `[height, width]`, fills fractions of the value range (so one
//! config serves `u8` and float images). Hyper-parameters are `f64`; the random draws and the
//! pixel arithmetic run in `f32` as torchvision's do, on the parameters rounded to `f32`.
//!
//! [`validate`]: Transform::validate
//! [`output_shape`]: Transform::output_shape
//! [`apply`]: Transform::apply

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::Image;
use super::transforms::{
    AugMix, AutoAugment, CenterCrop, ColorJitter, Cutout, GaussianBlur, HorizontalFlip, Normalize,
    RandAugment, RandomAffine, RandomCrop, RandomErasing, RandomGrayscale, RandomResizedCrop,
    RandomRotation, Resize, TrivialAugmentWide, VerticalFlip,
};
use crate::error::{PodiumError, Result};

/// One transform of a pipeline: checked parameters, the shape it gives, and its application.
///
/// Keys in errors are the transform's own field names (`p`, `scale`, ...); a
/// [`Compose`](super::Compose) prefixes them with the transform's position and name
/// (`transforms[2].random_resized_crop.scale`).
pub trait Transform {
    /// Checks every parameter.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key and value: a probability outside `[0, 1]`, a
    /// range with min above max, a zero size, an even blur kernel, a hue above 0.5, ...
    fn validate(&self) -> Result<()>;

    /// The shape this transform gives an input of `shape` (`[c, h, w]`); by default the same.
    ///
    /// # Errors
    /// [`PodiumError::Config`] when the input does not fit: a `random_crop` larger than the
    /// padded image without `pad_if_needed`, a reflect padding or blur kernel larger than the
    /// image, a `normalize` with another channel count, ...
    fn output_shape(&self, shape: [usize; 3]) -> Result<[usize; 3]> {
        Ok(shape)
    }

    /// Applies the transform with randomness from `rng`. A validated transform never panics
    /// here.
    fn apply(&self, img: Image, rng: &mut StdRng) -> Image;
}

/// Declares [`TransformConfig`] over the transform structs, its single dispatch and a `From`
/// for each struct: the list of transforms is written once.
macro_rules! transform_configs {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One transform of a pipeline (see the module docs), serialized with a `name` tag, e.g.
        /// `{"name": "random_resized_crop", "size": [224, 224]}`.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "name", rename_all = "snake_case")]
        pub enum TransformConfig {
            $($(#[$doc])* $name($name),)*
        }

        impl TransformConfig {
            /// The transform inside.
            pub fn transform(&self) -> &dyn Transform {
                match self {
                    $(Self::$name(t) => t,)*
                }
            }
        }

        $(impl From<$name> for TransformConfig {
            fn from(t: $name) -> Self {
                Self::$name(t)
            }
        })*
    };
}

transform_configs! {
    /// [`Resize`]: torchvision's `Resize`.
    Resize,
    /// [`CenterCrop`]: torchvision's `CenterCrop`.
    CenterCrop,
    /// [`RandomResizedCrop`]: torchvision's `RandomResizedCrop`.
    RandomResizedCrop,
    /// [`RandomCrop`]: torchvision's `RandomCrop`.
    RandomCrop,
    /// [`HorizontalFlip`]: torchvision's `RandomHorizontalFlip`.
    HorizontalFlip,
    /// [`VerticalFlip`]: torchvision's `RandomVerticalFlip`.
    VerticalFlip,
    /// [`ColorJitter`]: torchvision's `ColorJitter`.
    ColorJitter,
    /// [`RandomRotation`]: torchvision's `RandomRotation`.
    RandomRotation,
    /// [`RandomAffine`]: torchvision's `RandomAffine`.
    RandomAffine,
    /// [`RandomGrayscale`]: torchvision's `RandomGrayscale`.
    RandomGrayscale,
    /// [`GaussianBlur`]: torchvision's `GaussianBlur`, with a probability.
    GaussianBlur,
    /// [`RandomErasing`]: timm's `RandomErasing`.
    RandomErasing,
    /// [`Cutout`]: DeVries and Taylor's Cutout.
    Cutout,
    /// [`Normalize`]: torchvision's `Normalize`.
    Normalize,
    /// [`AutoAugment`]: torchvision's `AutoAugment(AutoAugmentPolicy.IMAGENET)`.
    AutoAugment,
    /// [`RandAugment`]: timm's RandAugment; also written as a timm string, see
    /// [`TransformConfig::from_timm`].
    RandAugment,
    /// [`TrivialAugmentWide`]: torchvision's `TrivialAugmentWide`.
    TrivialAugmentWide,
    /// [`AugMix`]: timm's AugMix.
    AugMix,
}

impl TransformConfig {
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

    /// The transform's name as it is serialized (`random_resized_crop`, ...).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .unwrap_or_default()
    }
}

impl Transform for TransformConfig {
    fn validate(&self) -> Result<()> {
        self.transform().validate()
    }

    fn output_shape(&self, shape: [usize; 3]) -> Result<[usize; 3]> {
        self.transform().output_shape(shape)
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        self.transform().apply(img, rng)
    }
}

/// Checks a probability.
pub(crate) fn validate_p(key: &str, p: f64) -> Result<()> {
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

/// Checks a range `[lo, hi]` with `min <= lo <= hi`, `hi` finite.
pub(crate) fn validate_range(key: &str, [lo, hi]: [f64; 2], min: f64) -> Result<()> {
    if !(lo >= min && hi >= lo && hi.is_finite()) {
        return Err(PodiumError::config(
            key,
            format!("[{lo}, {hi}]"),
            format!("must be a range [min, max] with {min} <= min <= max"),
        ));
    }
    Ok(())
}

/// Checks a `[height, width]` size.
pub(crate) fn validate_size(key: &str, [h, w]: [usize; 2]) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(PodiumError::config(
            key,
            format!("[{h}, {w}]"),
            "must be positive",
        ));
    }
    Ok(())
}

/// Checks a fill: one value or one per channel, finite.
pub(crate) fn validate_fill(fill: &[f32]) -> Result<()> {
    if fill.is_empty() || fill.iter().any(|v| !v.is_finite()) {
        return Err(PodiumError::config(
            "fill",
            format!("{fill:?}"),
            "give 1 or one value per channel, finite",
        ));
    }
    Ok(())
}
