//! Inference: evaluation of a trained model on a labelled dataset, class probabilities for an
//! unlabelled one, and competition submission files.
//!
//! - [`evaluate`], [`predict`]: one pass over a dataset.
//! - [`predict_tta`] ([`TtaConfig`], [`TtaView`], [`TtaMerge`]): test-time augmentation,
//!   fastai's `Learner.tta` with torchvision's deterministic views (modules `tta` and
//!   `predict_tta`).
//! - [`ensemble`] ([`EnsembleMode`]): several runs or folds merged (module `ensemble`).
//! - [`write_probabilities_csv`], [`write_submission_like`]: the output files (module
//!   `submission`); [`Predictions::write_submission`] for a plain `id,label` file.

mod ensemble;
mod predict_tta;
mod submission;
mod tta;

pub use ensemble::{EnsembleMode, average_ranks, ensemble};
pub use predict_tta::predict_tta;
pub use submission::{write_probabilities_csv, write_submission_like};
pub use tta::{CropPosition, LOG_CLIP, ScaleMode, TtaConfig, TtaMerge, TtaView, merge_views};

use std::path::Path;

use burn::config::Config;
use burn::data::dataloader::DataLoader;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::augment::Normalize;
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::loader::{ClassificationBatcher, ImageLoader};
use crate::model::ImageClassifier;
use crate::util::write_atomic_text;

/// Scores of a model on a labelled dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Number of items scored.
    pub num_samples: usize,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Top-1 accuracy, percent.
    pub accuracy: f64,
    /// Top-5 accuracy, percent (top-`C` when there are fewer than 5 classes).
    pub top5_accuracy: f64,
    /// Recall of each class, percent (`NaN` for a class absent from the dataset).
    pub per_class_recall: Vec<f64>,
}

impl EvalReport {
    /// Balanced accuracy: the mean recall over the classes present, percent.
    pub fn balanced_accuracy(&self) -> f64 {
        let present: Vec<f64> = self
            .per_class_recall
            .iter()
            .copied()
            .filter(|r| !r.is_nan())
            .collect();
        present.iter().sum::<f64>() / present.len().max(1) as f64
    }
}

fn loader(
    dataset: &ImageDataset,
    normalize: &Normalize,
    batch_size: usize,
    device: &Device,
) -> Result<ImageLoader> {
    Ok(ImageLoader::new(
        dataset.clone(),
        ClassificationBatcher::new(normalize.clone()),
        batch_size,
    )?
    .with_device(device))
}

fn loader_error(e: impl std::fmt::Display) -> PodiumError {
    PodiumError::Training(e.to_string())
}

/// Runs `model` over a labelled `dataset` (normalized with `normalize`) and scores it.
///
/// Pass a model without autodiff (`model.valid()`, or the model a
/// [`Fitted`](crate::learner::Fitted) holds) to skip gradient bookkeeping.
///
/// # Errors
/// [`PodiumError::Config`] for a zero batch size, an empty or unlabelled dataset;
/// [`PodiumError::Training`] carrying the decoding error of a bad image.
pub fn evaluate<M: ImageClassifier>(
    model: &M,
    dataset: &ImageDataset,
    normalize: &Normalize,
    batch_size: usize,
    device: &Device,
) -> Result<EvalReport> {
    let n = dataset.len();
    if n == 0 {
        return Err(PodiumError::config(
            "dataset",
            "empty",
            "nothing to evaluate",
        ));
    }
    if let Some(i) = dataset.labels().iter().position(Option::is_none) {
        return Err(PodiumError::config(
            "dataset",
            dataset.name(i),
            "evaluation needs labels; use predict for unlabelled data",
        ));
    }
    let c = dataset.num_classes();
    let k = 5.min(c);
    let (mut loss_sum, mut correct, mut correct_k) = (0f64, 0usize, 0usize);
    let (mut hits, mut totals) = (vec![0usize; c], vec![0usize; c]);
    let loader = loader(dataset, normalize, batch_size, device)?;
    for batch in loader.iter() {
        let batch = batch.map_err(loader_error)?;
        let logits = model.forward(batch.images);
        let targets: Tensor<1, Int> = batch.targets;
        let b = targets.dims()[0];
        let nll = log_softmax(logits.clone(), 1)
            .gather(1, targets.clone().reshape([b, 1]))
            .neg()
            .sum();
        loss_sum += nll.try_into_vec_as::<f64>().map_err(loader_error)?[0];
        let topk: Vec<i64> = logits
            .topk_with_indices(k, 1)
            .1
            .try_into_vec_as::<i64>()
            .map_err(loader_error)?;
        let t: Vec<i64> = targets.try_into_vec_as::<i64>().map_err(loader_error)?;
        for (row, &label) in t.iter().enumerate() {
            let ranked = &topk[row * k..(row + 1) * k];
            totals[label as usize] += 1;
            if ranked[0] == label {
                correct += 1;
                hits[label as usize] += 1;
            }
            if ranked.contains(&label) {
                correct_k += 1;
            }
        }
    }
    Ok(EvalReport {
        num_samples: n,
        loss: loss_sum / n as f64,
        accuracy: 100.0 * correct as f64 / n as f64,
        top5_accuracy: 100.0 * correct_k as f64 / n as f64,
        per_class_recall: hits
            .iter()
            .zip(&totals)
            .map(|(&h, &t)| {
                if t == 0 {
                    f64::NAN
                } else {
                    100.0 * h as f64 / t as f64
                }
            })
            .collect(),
    })
}

/// The layout of a submission file ([`Predictions::write_submission`]): Kaggle's usual
/// `id,label` CSV by default.
#[derive(Config, Debug)]
pub struct SubmissionConfig {
    /// Header of the id column. Default `id`.
    #[config(default = "String::from(\"id\")")]
    pub id_column: String,
    /// Header of the label column. Default `label`.
    #[config(default = "String::from(\"label\")")]
    pub label_column: String,
    /// Write each item's name without its extension (`img_001.jpg` as `img_001`). Default true.
    #[config(default = true)]
    pub strip_extension: bool,
}

impl SubmissionConfig {
    /// Checks the column headers.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming `id_column` or `label_column` for an empty header or one
    /// with a comma, a quote or a line break (it would break the CSV).
    pub fn validate(&self) -> Result<()> {
        for (key, header) in [
            ("id_column", &self.id_column),
            ("label_column", &self.label_column),
        ] {
            if header.is_empty() || header.contains([',', '"', '\n', '\r']) {
                return Err(PodiumError::config(
                    key,
                    format!("{header:?}"),
                    "must be a non-empty CSV header without commas, quotes or line breaks",
                ));
            }
        }
        Ok(())
    }
}

/// Class probabilities for every item of a dataset, with the item names for a submission.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// Item names ([`ImageDataset::name`]: file names for image folders).
    pub names: Vec<String>,
    /// Class names, indexed like the probability columns.
    pub classes: Vec<String>,
    /// Softmax probabilities, one row per item.
    pub probabilities: Vec<Vec<f32>>,
}

impl Predictions {
    /// The most probable class index of each item.
    pub fn top1(&self) -> Vec<usize> {
        self.probabilities
            .iter()
            .map(|p| {
                p.iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                        if v > best.1 { (i, v) } else { best }
                    })
                    .0
            })
            .collect()
    }

    /// Writes a submission CSV with header `id_column,label_column` and one row per item: its
    /// name (without extension with `strip_extension`) and its most probable class name. The
    /// file is written to a temporary file, then renamed.
    ///
    /// # Errors
    /// [`PodiumError::Config`] as [`SubmissionConfig::validate`]; [`PodiumError::Io`] naming
    /// the file.
    pub fn write_submission(
        &self,
        path: impl AsRef<Path>,
        config: &SubmissionConfig,
    ) -> Result<()> {
        config.validate()?;
        let SubmissionConfig {
            id_column,
            label_column,
            strip_extension,
        } = config;
        write_atomic_text(path.as_ref(), |f| {
            writeln!(f, "{id_column},{label_column}")?;
            for (name, label) in self.names.iter().zip(self.top1()) {
                let id = if *strip_extension {
                    submission::stem(name)
                } else {
                    name
                };
                let class = self
                    .classes
                    .get(label)
                    .cloned()
                    .unwrap_or(label.to_string());
                writeln!(f, "{id},{class}")?;
            }
            Ok(())
        })
    }
}

/// The softmax of `[B, C]` logits over the classes, one row per item.
///
/// # Errors
/// [`PodiumError::Training`] if the device cannot return the values.
pub(crate) fn probability_rows(logits: Tensor<2>) -> Result<Vec<Vec<f32>>> {
    let [_, c] = logits.dims();
    let p = softmax(logits, 1)
        .try_into_vec_as::<f32>()
        .map_err(loader_error)?;
    Ok(p.chunks(c).map(<[f32]>::to_vec).collect())
}

/// Softmax probabilities of `model` for every item of `dataset` (labels, if any, are ignored).
///
/// Items are decoded as the dataset is configured; for a trained run's evaluation crop (timm's
/// `crop_pct`) pass [`RunInfo::eval_dataset`](crate::learner::RunInfo::eval_dataset) of it (as
/// [`Fitted::predict`](crate::learner::Fitted::predict) does).
///
/// # Errors
/// [`PodiumError::Config`] for a zero batch size; [`PodiumError::Training`] carrying the decoding
/// error of a bad image.
pub fn predict<M: ImageClassifier>(
    model: &M,
    dataset: &ImageDataset,
    classes: &[String],
    normalize: &Normalize,
    batch_size: usize,
    device: &Device,
) -> Result<Predictions> {
    let n = dataset.len();
    let mut probabilities = Vec::with_capacity(n);
    for batch in loader(dataset, normalize, batch_size, device)?.iter() {
        let batch = batch.map_err(loader_error)?;
        probabilities.extend(probability_rows(model.forward(batch.images))?);
    }
    Ok(Predictions {
        names: (0..n).map(|i| dataset.name(i)).collect(),
        classes: classes.to_vec(),
        probabilities,
    })
}
