//! From decoded 8-bit images to normalized `[B, C, H, W]` float tensors and label tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ImageDataset, ImageItem};
use crate::augment::{Depth, Image};
use crate::error::{PodiumError, Result};
use crate::loss::MixTargets;

/// Per-channel normalization `x = (p / 255 - mean[c]) / std[c]`, as torchvision's
/// `ToTensor()` followed by `Normalize(mean, std)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Per-channel mean, on the `[0, 1]` scale.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, on the `[0, 1]` scale.
    pub std: Vec<f32>,
}

impl Normalize {
    /// The ImageNet statistics timm and torchvision use for pretrained models:
    /// mean `(0.485, 0.456, 0.406)`, std `(0.229, 0.224, 0.225)`.
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// Explicit statistics.
    ///
    /// # Errors
    /// [`PodiumError::Config`] if the lengths differ, are zero, or a std is not positive.
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(PodiumError::config(
                "normalize",
                format!("mean {mean:?}, std {std:?}"),
                "mean and std need one value per channel",
            ));
        }
        if let Some(s) = std.iter().find(|s| s.is_nan() || **s <= 0.0) {
            return Err(PodiumError::config("normalize.std", s, "must be positive"));
        }
        Ok(Self { mean, std })
    }

    /// Only scales to `[0, 1]` (mean 0, std 1) for `channels` channels.
    pub fn unit(channels: usize) -> Self {
        Self {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// Estimates per-channel mean and std from (at most `max_items` evenly spaced) items of a
    /// dataset, decoding in parallel.
    ///
    /// # Errors
    /// The decoding error of the first item that fails; [`PodiumError::Dataset`] if the dataset
    /// is empty.
    pub fn estimate(dataset: &ImageDataset, max_items: usize) -> Result<Self> {
        let n = dataset.len();
        if n == 0 || max_items == 0 {
            return Err(PodiumError::Dataset {
                path: dataset.origin().to_path_buf(),
                reason: "cannot estimate normalization from no items".into(),
            });
        }
        let take = n.min(max_items);
        let items: Vec<ImageItem> = (0..take)
            .into_par_iter()
            .map(|k| dataset.decode(k * n / take))
            .collect::<Result<_>>()?;
        let c = items[0].channels;
        let (mut sum, mut sq, mut count) = (vec![0f64; c], vec![0f64; c], 0f64);
        for it in &items {
            for px in it.pixels.chunks_exact(it.channels) {
                for (ch, &v) in px.iter().enumerate().take(c) {
                    let v = v as f64 / 255.0;
                    sum[ch] += v;
                    sq[ch] += v * v;
                }
                count += 1.0;
            }
        }
        let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
        let std: Vec<f32> = sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| ((q / count - (s / count).powi(2)).max(1e-12).sqrt()) as f32)
            .collect();
        Ok(Self { mean, std })
    }
}

/// A batch for classification: images `[B, C, H, W]`, class indices `[B]` (0 for unlabelled
/// items), each item's index in its dataset, and, when the loader mixes batches, the mixed
/// targets.
#[derive(Clone, Debug)]
pub struct ClassificationBatch {
    /// Normalized images, `[B, C, H, W]` (mixed when `mix` is set).
    pub images: Tensor<4>,
    /// Class indices, `[B]` (each sample's own label when mixed).
    pub targets: Tensor<1, Int>,
    /// Position of each item in its dataset.
    pub indices: Vec<usize>,
    /// Soft targets, partner labels and lam of a mixed batch ([`crate::mix`]).
    pub mix: Option<MixTargets>,
}

/// burn [`Batcher`] that stacks [`ImageItem`]s into a [`ClassificationBatch`] on a device.
#[derive(Clone, Debug)]
pub struct ClassificationBatcher {
    normalize: Normalize,
}

impl ClassificationBatcher {
    /// A batcher with the given normalization.
    pub fn new(normalize: Normalize) -> Self {
        Self { normalize }
    }

    /// The normalization applied.
    pub fn normalize(&self) -> &Normalize {
        &self.normalize
    }

    /// Converts items to the flat `[B, C, H, W]` float buffer and targets (no device involved).
    ///
    /// # Panics
    /// If items differ in shape, or their channel count differs from the normalization's.
    pub fn to_buffers(&self, items: &[ImageItem]) -> (Vec<f32>, [usize; 4], Vec<i64>) {
        let b = items.len();
        let [h, w, c] = items.first().map_or([0, 0, 0], ImageItem::shape);
        assert_eq!(
            c,
            self.normalize.mean.len(),
            "ClassificationBatcher: images have {c} channels, normalization has {}",
            self.normalize.mean.len()
        );
        let plane = h * w;
        let mut out = vec![0f32; b * c * plane];
        let scale: Vec<f32> = self
            .normalize
            .std
            .iter()
            .map(|s| 1.0 / (255.0 * s))
            .collect();
        let shift: Vec<f32> = self
            .normalize
            .mean
            .iter()
            .zip(&self.normalize.std)
            .map(|(m, s)| m / s)
            .collect();
        out.par_chunks_mut(c * plane)
            .zip(items.par_iter())
            .for_each(|(dst, it)| {
                assert_eq!(
                    it.shape(),
                    [h, w, c],
                    "ClassificationBatcher: item {} is {:?}, the batch's first item is {:?}",
                    it.index,
                    it.shape(),
                    [h, w, c]
                );
                for (p, px) in it.pixels.chunks_exact(c).enumerate() {
                    for ch in 0..c {
                        dst[ch * plane + p] = px[ch] as f32 * scale[ch] - shift[ch];
                    }
                }
            });
        let targets = items
            .iter()
            .map(|it| it.label.unwrap_or(0) as i64)
            .collect();
        (out, [b, c, h, w], targets)
    }
}

impl ClassificationBatcher {
    /// Batches augmented images (see [`crate::augment`]): `views[i]` holds item `i`'s views
    /// (one, or AugMix's clean and augmented views). Images are laid out view-major, `[V * B,
    /// C, H, W]`, with the `B` targets once. `u8` and float images are scaled to `[0, 1]` and
    /// normalized; images a pipeline already normalized are taken as they are.
    ///
    /// # Panics
    /// If images differ in shape or view count, or their channel count differs from the
    /// normalization's.
    pub fn batch_views(
        &self,
        views: &[Vec<Image>],
        labels: &[usize],
        indices: Vec<usize>,
        device: &Device,
    ) -> ClassificationBatch {
        let b = views.len();
        let v = views.first().map_or(1, Vec::len);
        let [c, h, w] = views
            .first()
            .and_then(|vs| vs.first())
            .map_or([0, 0, 0], Image::shape);
        let n = c * h * w;
        let mut out = vec![0f32; v * b * n];
        let mean = &self.normalize.mean;
        let std = &self.normalize.std;
        out.par_chunks_mut(n).enumerate().for_each(|(slot, dst)| {
            let (view, item) = (slot / b, slot % b);
            assert_eq!(
                views[item].len(),
                v,
                "ClassificationBatcher: item {item} has {} views, the first has {v}",
                views[item].len()
            );
            let img = &views[item][view];
            assert_eq!(
                img.shape(),
                [c, h, w],
                "ClassificationBatcher: image {item} (view {view}) is {:?}, the first is {:?}",
                img.shape(),
                [c, h, w]
            );
            if img.depth == Depth::Normalized {
                dst.copy_from_slice(&img.data);
                return;
            }
            assert_eq!(
                c,
                mean.len(),
                "ClassificationBatcher: images have {c} channels, normalization has {}",
                mean.len()
            );
            let scale = 1.0 / img.depth.bound();
            for (ch, (d, s)) in dst
                .chunks_exact_mut(h * w)
                .zip(img.data.chunks_exact(h * w))
                .enumerate()
            {
                let (k, off) = (scale / std[ch], mean[ch] / std[ch]);
                for (o, x) in d.iter_mut().zip(s) {
                    *o = x * k - off;
                }
            }
        });
        let targets: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        ClassificationBatch {
            images: Tensor::from_data(TensorData::new(out, [v * b, c, h, w]), device),
            targets: Tensor::from_data(TensorData::new(targets, [b]), device),
            indices,
            mix: None,
        }
    }
}

impl Batcher<ImageItem, ClassificationBatch> for ClassificationBatcher {
    /// # Panics
    /// As [`ClassificationBatcher::to_buffers`].
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ClassificationBatch {
        let (data, shape, targets) = self.to_buffers(&items);
        let b = shape[0];
        ClassificationBatch {
            images: Tensor::from_data(TensorData::new(data, shape), device),
            targets: Tensor::from_data(TensorData::new(targets, [b]), device),
            indices: items.iter().map(|it| it.index).collect(),
            mix: None,
        }
    }
}
