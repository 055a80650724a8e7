//! The transform structs, one per transform, by family: sizes ([`resize`]), crops ([`crop`]),
//! flips ([`flip`]), colour ([`color`]), rotations and affine maps ([`geometry`]), blur
//! ([`blur`]), erasing ([`erase`]), normalization ([`normalize`]), and the policies of
//! torchvision ([`auto_augment`]: AutoAugment, TrivialAugmentWide) and timm ([`rand_augment`]:
//! RandAugment, AugMix). Each implements [`Transform`](super::Transform).

mod auto_augment;
mod blur;
mod color;
mod crop;
mod erase;
mod flip;
mod geometry;
mod normalize;
mod rand_augment;
mod resize;

pub use auto_augment::{AutoAugment, TrivialAugmentWide};
pub use blur::GaussianBlur;
pub use color::{ColorJitter, RandomGrayscale};
pub use crop::{CenterCrop, RandomCrop, RandomResizedCrop, resized_crop_params};
pub use erase::{Cutout, EraseMode, RandomErasing};
pub use flip::{HorizontalFlip, VerticalFlip};
pub use geometry::{RandomAffine, RandomRotation};
pub use normalize::Normalize;
pub use rand_augment::{AugMix, RandAugment, TIMM_FILL};
pub use resize::Resize;

use rand::RngExt;
use rand::rngs::StdRng;

use super::Image;
use super::functional::Interpolation;

/// Uniform draw in `[lo, hi]` (returns `lo` when the range is empty), in `f32` as torch's.
pub(crate) fn uniform(rng: &mut StdRng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// A fill given as fractions of the range, in the image's values.
fn scaled_fill(fill: &[f32], img: &Image) -> Vec<f32> {
    let bound = img.depth.bound();
    fill.iter().map(|v| v * bound).collect()
}

/// `f64` pairs as the `f32` pairs the draws use.
fn f32_pair([a, b]: [f64; 2]) -> [f32; 2] {
    [a as f32, b as f32]
}

// serde defaults shared by the transforms
fn yes() -> bool {
    true
}
fn half() -> f64 {
    0.5
}
fn one() -> f64 {
    1.0
}
fn zero_fill() -> Vec<f32> {
    vec![0.0]
}
fn nearest() -> Interpolation {
    Interpolation::Nearest
}
