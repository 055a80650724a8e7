//! Augmentations with torchvision's semantics: deterministic operations ([`functional`]),
//! random transforms and the policies that win competitions (one struct per transform, each a
//! [`Transform`]; [`TransformConfig`] names any of them: RandAugment, TrivialAugmentWide,
//! AugMix, AutoAugment, random erasing, ...), a [`Pipeline`] built from a serializable
//! [`PipelineConfig`], and batch-level tensor versions for pipelines on the device ([`batch`]).
//!
//! Images are planar [`Image`]s that stand for torchvision's `uint8` or float tensors; every
//! deterministic op matches `torchvision.transforms.v2.functional` on the reference cases.
//! Decoded files come in as [`Bitmap`](crate::codec::Bitmap)s ([`Image::from_bitmap`]);
//! `augment` reads files through [`crate::codec`] only, never through [`crate::data`].
//!
//! | podium | torchvision / timm |
//! |---|---|
//! | `resize`, `resize_shorter` | `v2.functional.resize` |
//! | `center_crop`, `five_crop`, `ten_crop`, `crop` | same names |
//! | `hflip`, `vflip` | `horizontal_flip`, `vertical_flip` |
//! | `pad`, `erase`, `normalize`, `rotate`, `affine`, `gaussian_blur` | same names |
//! | `adjust_brightness/contrast/saturation/hue/sharpness` | same names |
//! | `rgb_to_grayscale`, `posterize`, `solarize`, `autocontrast`, `equalize`, `invert` | same names |
//! | [`Resize`], [`CenterCrop`], [`RandomResizedCrop`], [`RandomCrop`], [`ColorJitter`], [`RandomRotation`], [`RandomAffine`], [`RandomGrayscale`], [`GaussianBlur`], [`Normalize`] | `v2.Resize`, `v2.CenterCrop`, `v2.RandomResizedCrop`, ... (same names) |
//! | [`HorizontalFlip`], [`VerticalFlip`] | `v2.RandomHorizontalFlip`, `v2.RandomVerticalFlip` |
//! | [`RandomErasing`] | `timm.data.RandomErasing` |
//! | [`Cutout`] | DeVries and Taylor's `Cutout` |
//! | [`AutoAugment`], [`TrivialAugmentWide`] | `v2.AutoAugment(IMAGENET)`, `v2.TrivialAugmentWide` |
//! | [`RandAugment`], [`AugMix`], [`TransformConfig::from_timm`] | `timm.data.rand_augment_transform`, `augment_and_mix_transform` |
//! | [`Pipeline`] | `v2.Compose`, timm's `create_transform` |
//! | `resized_crop_interleaved` | `v2.functional.resized_crop` on a decoded picture |
//!
//! In a JSON recipe each transform is `{"name": "<snake_case name>", ...its fields}`, e.g.
//! `{"name": "random_resized_crop", "size": [224, 224]}`; fields left out take the defaults
//! documented on each struct.
//!
//! Speed without changing a value: [`Pipeline::apply_encoded`] draws a leading
//! `random_resized_crop` from the picture's size before decoding, decodes a PNG only down to the
//! crop's last row and reads just the crop's window into planar floats; the hot kernels (hue,
//! resize) are written to vectorize and compiled for AVX2 as well, picked at run time. Every
//! fast path is tested against the plain one (BENCHMARKS.md has the throughput).

pub mod batch;
mod compose;
pub mod functional;
mod gallery;
mod image;
mod ops;
mod transform;
mod transforms;

pub use compose::{Compose, Pipeline, PipelineConfig, SplitsConfig};
pub use gallery::write_gallery;
pub(crate) use image::Cast;
pub use image::{Depth, Image};
pub use ops::Op;
pub use transform::{Transform, TransformConfig};
pub use transforms::{
    AugMix, AutoAugment, CenterCrop, ColorJitter, Cutout, EraseMode, GaussianBlur, HorizontalFlip,
    Normalize, RandAugment, RandomAffine, RandomCrop, RandomErasing, RandomGrayscale,
    RandomResizedCrop, RandomRotation, Resize, TIMM_FILL, TrivialAugmentWide, VerticalFlip,
    resized_crop_params,
};
