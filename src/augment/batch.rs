//! Batch-level augmentations on `[B, C, H, W]` tensors, on whatever device holds them (for GPU
//! pipelines that decode and resize once, then augment on the device).
//!
//! Each function draws sample `i`'s randomness from `derive_seed(seed, [i])` on the host (a few
//! numbers per sample), then runs tensor ops only, so the result is the same on every backend.
//! Their semantics are those of the per-image transforms ([`Transform`]).

use burn::tensor::{Bool, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Depth, Image, RandomErasing, Transform};
use crate::util::derive_seed;

fn rng(seed: u64, i: usize) -> StdRng {
    StdRng::seed_from_u64(derive_seed(seed, &[i as u64]))
}

/// Sample `i` takes `flipped`'s values where `draw(i)` holds (exact copies, no blending).
fn select_samples(images: Tensor<4>, flipped: Tensor<4>, p: f64, seed: u64) -> Tensor<4> {
    let dims = images.dims();
    let draws: Vec<bool> = (0..dims[0])
        .map(|i| rng(seed, i).random::<f32>() < p as f32)
        .collect();
    let mask =
        Tensor::<4, Bool>::from_data(TensorData::new(draws, [dims[0], 1, 1, 1]), &images.device())
            .expand(dims);
    images.mask_where(mask, flipped)
}

/// `(x - mean[c]) / std[c]` (torchvision `Normalize` on a batch).
///
/// # Panics
/// If `mean` and `std` do not both have `C` values.
pub fn normalize(images: Tensor<4>, mean: &[f32], std: &[f32]) -> Tensor<4> {
    let [_, c, _, _] = images.dims();
    assert!(
        mean.len() == c && std.len() == c,
        "batch::normalize: images have {c} channels, mean has {} and std {} values",
        mean.len(),
        std.len()
    );
    let device = images.device();
    let m = Tensor::<4>::from_data(TensorData::new(mean.to_vec(), [1, c, 1, 1]), &device);
    let s = Tensor::<4>::from_data(TensorData::new(std.to_vec(), [1, c, 1, 1]), &device);
    (images - m) / s
}

/// Flips each sample left to right with probability `p`.
pub fn random_hflip(images: Tensor<4>, p: f64, seed: u64) -> Tensor<4> {
    let flipped = images.clone().flip([3]);
    select_samples(images, flipped, p, seed)
}

/// Flips each sample top to bottom with probability `p`.
pub fn random_vflip(images: Tensor<4>, p: f64, seed: u64) -> Tensor<4> {
    let flipped = images.clone().flip([2]);
    select_samples(images, flipped, p, seed)
}

/// Zero-pads each side by `padding` and takes a random `size` crop per sample (torchvision
/// `RandomCrop(size, padding)` on a batch).
///
/// # Panics
/// If the padded images are smaller than `size`.
pub fn random_crop(images: Tensor<4>, [h, w]: [usize; 2], padding: usize, seed: u64) -> Tensor<4> {
    let [b, _, ih, iw] = images.dims();
    let padded = if padding > 0 {
        images.pad(
            (padding, padding, padding, padding),
            burn::tensor::ops::PadMode::Constant(0.0),
        )
    } else {
        images
    };
    let (ph, pw) = (ih + 2 * padding, iw + 2 * padding);
    assert!(
        h <= ph && w <= pw,
        "batch::random_crop: crop {h}x{w} is larger than the padded {ph}x{pw} images"
    );
    let crops: Vec<Tensor<4>> = (0..b)
        .map(|i| {
            let mut r = rng(seed, i);
            let top = r.random_range(0..=ph - h);
            let left = r.random_range(0..=pw - w);
            padded
                .clone()
                .slice([i..i + 1, 0..padded.dims()[1], top..top + h, left..left + w])
        })
        .collect();
    Tensor::cat(crops, 0)
}

/// Random erasing on a batch with the semantics of [`RandomErasing`] (timm's
/// `RandomErasing` on normalized images): boxes and noise are drawn per sample on the host,
/// the blend runs on the device.
///
/// # Panics
/// If `config` does not validate ([`Transform::validate`]).
pub fn random_erasing(images: Tensor<4>, config: &RandomErasing, seed: u64) -> Tensor<4> {
    assert!(
        config.validate().is_ok(),
        "batch::random_erasing: needs a valid random_erasing config, got {config:?}"
    );
    let [b, c, h, w] = images.dims();
    let n = c * h * w;
    let mut keep = vec![1f32; b * n];
    let mut fill = vec![0f32; b * n];
    for i in 0..b {
        // Erasing a NaN canvas marks the erased pixels with their fill values.
        let canvas = Image::new(vec![f32::NAN; n], [c, h, w], Depth::Normalized);
        let erased = config.apply(canvas, &mut rng(seed, i));
        for (k, v) in erased.data.iter().enumerate() {
            if !v.is_nan() {
                keep[i * n + k] = 0.0;
                fill[i * n + k] = *v;
            }
        }
    }
    let device = images.device();
    let keep = Tensor::<4>::from_data(TensorData::new(keep, [b, c, h, w]), &device);
    let fill = Tensor::<4>::from_data(TensorData::new(fill, [b, c, h, w]), &device);
    images * keep + fill
}
