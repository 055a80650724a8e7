//! [`Normalize`]: per-channel `(x - mean) / std`, the one normalization of podium: a pipeline's
//! `normalize` step and the batcher's normalization are this type.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional as F;
use super::super::{Depth, Image, Transform};
use crate::error::{PodiumError, Result};

/// Per-channel normalization `x = (p / 255 - mean[c]) / std[c]` (values on the `[0, 1]` scale),
/// as torchvision's `ToTensor()` followed by `Normalize(mean, std)`.
///
/// In a pipeline (`{"name": "normalize", "mean": [...], "std": [...]}`) it turns the image into
/// a [`Depth::Normalized`] one (a `u8` image is scaled to `[0, 1]` first), which the batcher
/// then takes as it is; [`Pipeline::normalization`](crate::augment::Pipeline::normalization)
/// tells a trainer which one the training images leave the pipeline with, so validation and
/// inference batches get the same. The batcher
/// ([`ClassificationBatcher`](crate::loader::ClassificationBatcher)) normalizes the images that
/// are not normalized yet with one.
///
/// Mean and std are pixel statistics, used in `f32` arithmetic as torch's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Per-channel mean, on the `[0, 1]` scale (one value serves every channel).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, on the `[0, 1]` scale (one value serves every channel).
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
    /// [`PodiumError::Config`] (keys `normalize.mean/std`, `normalize.std`) if the lengths
    /// differ or are zero, or a std is not positive ([`Transform::validate`]).
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        let normalize = Self { mean, std };
        normalize
            .validate()
            .map_err(|e| e.in_section("normalize"))?;
        Ok(normalize)
    }

    /// Only scales to `[0, 1]` (mean 0, std 1) for `channels` channels.
    pub fn unit(channels: usize) -> Self {
        Self {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// One value per channel for `channels` channels: a single mean and std repeated, else the
    /// statistics as they are.
    pub fn expanded(&self, channels: usize) -> Self {
        let expand = |v: &[f32]| match v {
            [one] => vec![*one; channels],
            many => many.to_vec(),
        };
        Self {
            mean: expand(&self.mean),
            std: expand(&self.std),
        }
    }
}

impl Transform for Normalize {
    fn validate(&self) -> Result<()> {
        let (mean, std) = (&self.mean, &self.std);
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

    fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        let mean = &self.mean;
        if mean.len() != 1 && mean.len() != c {
            return Err(PodiumError::config(
                "mean",
                format!("{mean:?}"),
                format!("{} values for a {c}-channel input", mean.len()),
            ));
        }
        Ok([c, h, w])
    }

    /// `(x - mean[c]) / std[c]` ([`F::normalize`]); the result is [`Depth::Normalized`].
    fn apply(&self, img: Image, _rng: &mut StdRng) -> Image {
        let mut out = F::normalize(&img, &self.mean, &self.std);
        out.depth = Depth::Normalized;
        out
    }
}
