//! From decoded 8-bit images (or augmented [`Image`]s) to normalized `[B, C, H, W]` float
//! tensors and label tensors: the one place where batches are normalized.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::augment::{Depth, Image, Normalize};
use crate::data::ImageItem;
use crate::mix::MixTargets;

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
    /// The targets of a mixed batch (soft targets, partner labels, lam; [`crate::mix`]).
    pub mix: Option<MixTargets>,
}

/// burn [`Batcher`] that stacks [`ImageItem`]s into a [`ClassificationBatch`] on a device,
/// normalizing with its [`Normalize`] (`x = (p / 255 - mean[c]) / std[c]`, computed as
/// `p * (1 / (255 std[c])) - mean[c] / std[c]`).
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
        let [c, h, w] = items.first().map_or([0, 0, 0], ImageItem::shape);
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
                    [c, h, w],
                    "ClassificationBatcher: item {} is {:?}, the batch's first item is {:?}",
                    it.index,
                    it.shape(),
                    [c, h, w]
                );
                for (p, px) in it.image.pixels.chunks_exact(c).enumerate() {
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
    /// Batches augmented images ([`crate::augment`]): `views[i]` holds item `i`'s views
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
