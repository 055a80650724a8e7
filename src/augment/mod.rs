//! Augmentations with torchvision's semantics: deterministic operations ([`functional`]),
//! random transforms and the policies that win competitions ([`AugmentConfig`]: RandAugment,
//! TrivialAugmentWide, AugMix, AutoAugment, random erasing, ...), a [`Pipeline`] built from a
//! serializable [`PipelineConfig`], and batch-level tensor versions for pipelines on the device
//! ([`batch`]).
//!
//! Images are planar [`Image`]s that stand for torchvision's `uint8` or float tensors; every
//! deterministic op matches `torchvision.transforms.v2.functional` on the reference cases.
//!
//! | podium | torchvision / timm |
//! |---|---|
//! | `resize`, `resize_shorter` | `v2.functional.resize` |
//! | `center_crop`, `five_crop`, `ten_crop`, `crop` | same names |
//! | `hflip`, `vflip` | `horizontal_flip`, `vertical_flip` |
//! | `pad`, `erase`, `normalize`, `rotate`, `affine`, `gaussian_blur` | same names |
//! | `adjust_brightness/contrast/saturation/hue/sharpness` | same names |
//! | `rgb_to_grayscale`, `posterize`, `solarize`, `autocontrast`, `equalize`, `invert` | same names |
//! | `AugmentConfig::RandomResizedCrop`, `RandomCrop`, `HorizontalFlip`, `VerticalFlip`, `ColorJitter`, `RandomRotation`, `RandomAffine`, `RandomGrayscale`, `GaussianBlur` | `v2.RandomResizedCrop`, ... |
//! | `AugmentConfig::RandomErasing` | `timm.data.RandomErasing` |
//! | `AugmentConfig::Cutout` | DeVries and Taylor's `Cutout` |
//! | [`AutoAugment`], [`TrivialAugmentWide`] | `v2.AutoAugment(IMAGENET)`, `v2.TrivialAugmentWide` |
//! | [`RandAugment`], [`AugMix`] | `timm.data.rand_augment_transform`, `augment_and_mix_transform` |
//! | [`Pipeline`] | `v2.Compose`, timm's `create_transform` |
//! | `resized_crop_interleaved` | `v2.functional.resized_crop` on a decoded picture |
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
mod policy;
mod transform;

pub use compose::{Compose, Pipeline, PipelineConfig, SplitsConfig};
pub use gallery::write_gallery;
pub(crate) use image::Cast;
pub use image::{Depth, Image};
pub use ops::Op;
pub use policy::{AugMix, AutoAugment, RandAugment, TIMM_FILL, TrivialAugmentWide};
pub(crate) use transform::check_p;
pub use transform::{AugmentConfig, EraseMode, resized_crop_params};
