//! What a run leaves behind: [`Fitted`] (the best model, the metric history, the run
//! directory), [`RunInfo`] (`run.json`) and the checkpoint helpers [`load_checkpoint`] and
//! [`average_checkpoints`].

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::history::EpochMetrics;
use super::monitor::Monitor;
use super::step::Classification;
use crate::augment::Normalize;
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::infer::{EvalReport, Predictions, evaluate, predict};
use crate::model::ImageClassifier;

/// What inference needs to know about a run, saved as `run.json` in the run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Class names, by label.
    pub classes: Vec<String>,
    /// Input normalization.
    pub normalize: Normalize,
    /// Input `[channels, height, width]`.
    pub input_shape: [usize; 3],
    /// The epoch whose checkpoint is the best by the monitored metric.
    pub best_epoch: usize,
    /// timm's evaluation `crop_pct` the run validated with ([`LearnerConfig::crop_pct`](super::LearnerConfig::crop_pct));
    /// [`Self::eval_dataset`] decodes out-of-fold and test images the same way. Absent from
    /// older `run.json` files (read as `None`).
    #[serde(default)]
    pub crop_pct: Option<f64>,
    /// Optimizer updates skipped on a NaN or infinite loss or gradient under
    /// [`NanPolicy::Skip`](super::NanPolicy::Skip), over the whole run (per epoch: `metrics.csv`'s
    /// `skipped_steps` column). Absent from older `run.json` files (read as 0).
    #[serde(default)]
    pub skipped_steps: usize,
}

impl RunInfo {
    /// Reads `run.json` from a run directory.
    ///
    /// # Errors
    /// [`PodiumError::Io`] if it cannot be read, [`PodiumError::Format`] if it is not valid.
    pub fn load(run_dir: impl AsRef<Path>) -> Result<Self> {
        let path = run_dir.as_ref().join("run.json");
        let text = std::fs::read_to_string(&path).map_err(|e| PodiumError::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| PodiumError::format(&path, e.to_string()))
    }

    /// `dataset` decoded as the run's validation images were: with the run's [`Self::crop_pct`]
    /// ([`ImageDataset::with_eval_crop`], to the dataset's own target size or else the run's
    /// input size); as it is when the run had none. [`Fitted::predict`] and
    /// [`Fitted::evaluate`] use it; pass its result to [`predict`],
    /// [`predict_tta`](crate::infer::predict_tta) or [`evaluate`], which decode a dataset as it
    /// is configured.
    ///
    /// # Errors
    /// [`PodiumError::Config`] with key `crop_pct` for a value outside `(0, 1]`.
    pub fn eval_dataset(&self, dataset: &ImageDataset) -> Result<ImageDataset> {
        let [_, h, w] = self.input_shape;
        dataset.clone().with_eval_crop(self.crop_pct, [h, w])
    }
}

/// The result of [`Learner::fit`](super::Learner::fit): the best model, the metric history and the run directory.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The model with the weights of the best epoch (by [`LearnerConfig::monitor`](super::LearnerConfig::monitor); the EMA
    /// weights when [`LearnerConfig::ema`](super::LearnerConfig::ema) is set), without autodiff, ready for inference.
    pub model: M,
    /// One row per epoch and split, as in `metrics.csv`.
    pub history: Vec<EpochMetrics>,
    /// Classes, normalization, input shape and best epoch (also in `run.json`).
    pub info: RunInfo,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Whether early stopping ended the run before the last epoch.
    pub stopped_early: bool,
    pub(super) device: Device,
    pub(super) batch_size: usize,
    pub(super) ema: bool,
    pub(super) monitor: Monitor,
}

impl<M: ImageClassifier> Fitted<M> {
    fn valid_rows(&self) -> impl Iterator<Item = &EpochMetrics> {
        self.history.iter().filter(|r| r.split == "valid")
    }

    /// The metric that picked the best epoch ([`LearnerConfig::monitor`](super::LearnerConfig::monitor)).
    pub fn monitor(&self) -> Monitor {
        self.monitor
    }

    /// The best validation accuracy seen, percent.
    pub fn best_valid_accuracy(&self) -> f64 {
        self.valid_rows()
            .map(|r| r.accuracy)
            .fold(f64::NAN, f64::max)
    }

    /// The lowest validation loss seen.
    pub fn best_valid_loss(&self) -> f64 {
        self.valid_rows().map(|r| r.loss).fold(f64::NAN, f64::min)
    }

    /// Number of epochs that ran.
    pub fn epochs_run(&self) -> usize {
        self.valid_rows().count()
    }

    /// The epochs whose checkpoints a run kept by the monitored metric, best first (as many as
    /// [`LearnerConfig::keep_best`](super::LearnerConfig::keep_best)).
    pub fn best_epochs(&self, n: usize) -> Vec<usize> {
        let monitor = self.monitor;
        let mut rows: Vec<&EpochMetrics> = self.valid_rows().collect();
        rows.sort_by(|a, b| monitor.compare(a, b));
        rows.into_iter().take(n).map(|r| r.epoch).collect()
    }

    /// The uniform average (SWA-style, BatchNorm statistics averaged too) of the `n` best
    /// epochs' weights (the EMA weights when the run kept an EMA), as competition solutions
    /// average their best checkpoints.
    ///
    /// # Errors
    /// [`PodiumError::Checkpoint`] when a checkpoint is missing (set
    /// [`LearnerConfig::keep_best`](super::LearnerConfig::keep_best) to at least `n`) or does not load.
    pub fn average_best(&self, n: usize, fresh: M) -> Result<M> {
        let paths: Vec<PathBuf> = self
            .best_epochs(n)
            .into_iter()
            .map(|e| checkpoint_file(&self.run_dir, self.ema, e))
            .collect();
        average_checkpoints(fresh, &paths)
    }

    /// The best checkpoint's file: `checkpoint/model-{best_epoch}.bpk`, or `ema-{best_epoch}.bpk`
    /// when the run kept an EMA (whose weights validation used).
    pub fn best_checkpoint(&self) -> PathBuf {
        checkpoint_file(&self.run_dir, self.ema, self.info.best_epoch)
    }

    /// Scores the best model on a labelled dataset with the run's normalization and evaluation
    /// crop ([`RunInfo::eval_dataset`]).
    ///
    /// # Errors
    /// As [`evaluate`].
    pub fn evaluate(&self, dataset: &ImageDataset) -> Result<EvalReport> {
        evaluate(
            &self.model,
            &self.info.eval_dataset(dataset)?,
            &self.info.normalize,
            self.batch_size,
            &self.device,
        )
    }

    /// Class probabilities of the best model for every item of `dataset`, decoded with the
    /// run's evaluation crop ([`RunInfo::eval_dataset`]).
    ///
    /// # Errors
    /// As [`predict`].
    pub fn predict(&self, dataset: &ImageDataset) -> Result<Predictions> {
        predict(
            &self.model,
            &self.info.eval_dataset(dataset)?,
            &self.info.classes,
            &self.info.normalize,
            self.batch_size,
            &self.device,
        )
    }
}

/// Loads a checkpoint written by a run (`checkpoint/model-N.bpk`) into `model`, which must have
/// the same architecture. A model saved through [`Classification`] (as the Learner does) loads
/// into the bare network: the `model.` prefix of its parameter paths is handled.
///
/// # Errors
/// [`PodiumError::Checkpoint`] naming the file if it cannot be read or does not fit the model.
pub fn load_checkpoint<M: ImageClassifier>(model: M, path: impl AsRef<Path>) -> Result<M> {
    let path = path.as_ref();
    let err = |reason: String| PodiumError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    // read whole: a lazily file-backed record would fail once the file is gone
    let bytes = super::checkpoint::read_resident(path).map_err(|e| err(e.to_string()))?;
    let record = ModuleRecord::from_bytes(bytes).map_err(|e| err(e.to_string()))?;
    let wrapped = Classification::with_cross_entropy(model);
    let wrapped = wrapped
        .try_load_record(record)
        .map_err(|e| err(e.to_string()))?;
    Ok(wrapped.model)
}

/// The uniform average of the weights in `paths` (checkpoints written by a run, all of
/// `model`'s architecture), BatchNorm statistics averaged too (torch's `AveragedModel` with
/// `use_buffers=True`).
///
/// # Errors
/// [`PodiumError::Checkpoint`] naming a file that is missing or does not fit the model;
/// [`PodiumError::Config`] for an empty list.
pub fn average_checkpoints<M: ImageClassifier>(model: M, paths: &[PathBuf]) -> Result<M> {
    let Some(first) = paths.first() else {
        return Err(PodiumError::config(
            "paths",
            "[]",
            "no checkpoint to average",
        ));
    };
    let base = load_checkpoint(model.clone(), first)?;
    let mut avg = crate::average::AveragedModelConfig::new()
        .with_use_buffers(true)
        .init(&base)?;
    for p in paths {
        if !p.exists() {
            return Err(PodiumError::Checkpoint {
                path: p.clone(),
                reason: "not found (keep more checkpoints with LearnerConfig::keep_best)".into(),
            });
        }
        avg.update(&load_checkpoint(model.clone(), p)?);
    }
    Ok(avg.into_model())
}

pub(super) fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

/// The checkpoint file of `epoch` in a run directory: `checkpoint/model-{epoch}.bpk`, or, with
/// `ema`, `checkpoint/ema-{epoch}.bpk` (the averaged weights that epoch's validation used).
pub fn checkpoint_file(run_dir: &Path, ema: bool, epoch: usize) -> PathBuf {
    let prefix = if ema { "ema" } else { "model" };
    checkpoint_dir(run_dir).join(format!("{prefix}-{epoch}.bpk"))
}
