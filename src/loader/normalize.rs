//! Estimating a [`Normalize`] from a dataset's pixels.

use rayon::prelude::*;

use crate::augment::Normalize;
use crate::data::{ImageDataset, ImageItem};
use crate::error::{PodiumError, Result};

impl Normalize {
    /// Estimates per-channel mean and std (population std, on the `[0, 1]` scale) from at most
    /// `max_items` evenly spaced items of a dataset, decoding in parallel.
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
        let c = items[0].image.channels;
        let (mut sum, mut sq, mut count) = (vec![0f64; c], vec![0f64; c], 0f64);
        for it in &items {
            for px in it.image.pixels.chunks_exact(it.image.channels) {
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
