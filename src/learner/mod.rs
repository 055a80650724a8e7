//! The Learner: a classification training run on burn-train, in a few lines.
//!
//! ```no_run
//! use burn_podium::prelude::*;
//! # fn main() -> burn_podium::Result<()> {
//! let device = default_device();
//! let learner = Learner::new(LearnerConfig::new().with_epochs(5), &device);
//! let (train, valid) = digits()?.split_stratified(0.2, 0)?;
//! let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
//! let fitted = learner.fit(model, train, valid)?;
//! # Ok(()) }
//! ```
//!
//! Layers, fastai style: [`Learner::fit`] is the high level, four mid-level steps in a row, each
//! usable alone in a custom loop (the LR finder, `fine_tune` and the k-fold workflow are built
//! from them):
//!
//! | step | what it does |
//! |---|---|
//! | [`prepare`] | the one place where config meets data: checks, loaders (augmentation, mixing, sampler), objective, normalization, input shape, updates per epoch |
//! | [`optimization`] | optimizer and schedule for a model: discriminative rates, one-cycle momentum, plateau |
//! | [`train()`] | the burn-train wiring: [`Classification`] step, metrics, `metrics.csv`, checkpoints, early stopping |
//! | [`finish`] | best epoch by the [`Monitor`], its weights reloaded, `run.json`, [`Fitted`] |
//!
//! ```no_run
//! use burn_podium::learner::{DataInfo, Prepared, finish, optimization, prepare, train};
//! use burn_podium::prelude::*;
//! # fn main() -> burn_podium::Result<()> {
//! let device = default_device();
//! let config = LearnerConfig::new().with_epochs(5).with_label_smoothing(0.1);
//! let (train_set, valid_set) = digits()?.split_stratified(0.2, 0)?;
//! let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
//! let prepared = prepare(&config, train_set, Some(valid_set))?;
//! let optim = optimization(&config, &model, prepared.updates_per_epoch)?;
//! let data = DataInfo::from(&prepared);
//! let Prepared { train: loader, valid, objective, .. } = prepared;
//! let valid = valid.expect("validation data was given");
//! let trained = train(&config, model, objective, (loader, valid), optim, &device)?;
//! let fitted = finish(&config, trained, data, &device)?;
//! println!("best epoch {}", fitted.info.best_epoch);
//! # Ok(()) }
//! ```
//!
//! Under them, [`Classification`] (the burn-train [`TrainStep`](burn::train::TrainStep) /
//! [`InferenceStep`](burn::train::InferenceStep) of any
//! [`ImageClassifier`](crate::model::ImageClassifier)), [`AtomicFileCheckpointer`] and the named
//! random streams ([`RngStream`]).
//!
//! A run directory holds `config.json` (the [`LearnerConfig`]), `run.json` (classes,
//! normalization, input size: what inference needs), `metrics.csv` (one row per epoch and split;
//! its `score` column is the competition metric of [`Monitor::Metric`], computed over the whole
//! validation split by [`ScoreMetric`]) and `checkpoint/` (burnpack files of the
//! [`LearnerConfig::keep_best`] best epochs and the two last, written atomically).
//!
//! ## Resume
//!
//! A directory that holds a run is never overwritten: training into it is
//! [`PodiumError::RunExists`](crate::PodiumError::RunExists) unless
//! [`LearnerConfig::resume`] is on, which continues the run after its last complete epoch
//! (model, optimizer, scheduler and plateau state, EMA, best-k checkpoints, early-stopping count,
//! history; the random streams are functions of the seed and the epoch). A run killed at any
//! point and resumed ends with the `metrics.csv` of the uninterrupted run, every number but the
//! wall times (tested on CPU by cutting a run after an epoch, and by killing `podium train`).
//! [`Learner::fit`] first hands the model the checkpoint's weights and parameter ids
//! ([`resume_model`]), since burn keys optimizer state and parameter groups by id; a custom loop
//! of the mid-level steps calls it before [`optimization`].
//!
//! | podium | Lightning | timm `train.py` |
//! |---|---|---|
//! | `LearnerConfig::resume = true` (`podium train --resume`) | `trainer.fit(ckpt_path="last")` | `--resume last.pth.tar` |
//! | `checkpoint/{model,optim,scheduler,ema}-N.bpk`, `metrics.csv` | `last.ckpt` | `last.pth.tar` |
//! | `EarlyStoppingConfig { patience, min_delta }` | `EarlyStopping(patience, min_delta)` | `--patience-epochs` |
//!
//! ## Faults: a non-finite loss, an interrupt
//!
//! A step whose loss or gradient is NaN or infinite stops the run there by default
//! ([`PodiumError::NonFinite`](crate::PodiumError::NonFinite) names the epoch and the step; the
//! epoch is not checkpointed, so the last complete epoch and the best checkpoints stay), or,
//! with [`NanPolicy::Skip`], has its optimizer update skipped and counted (`metrics.csv`'s
//! `skipped_steps`, [`RunInfo::skipped_steps`]). A [`StopSignal`] given to the Learner
//! ([`Learner::with_stop_signal`]; [`StopSignal::on_terminate`] for Ctrl-C and SIGTERM, which the
//! library never installs by itself) abandons the epoch under way and returns
//! [`PodiumError::Interrupted`](crate::PodiumError::Interrupted); both resume from the last
//! complete epoch.
//!
//! | podium | PyTorch / Lightning |
//! |---|---|
//! | `nan_policy = "stop"` (default) | `Trainer(detect_anomaly=True)`-style stop at the first NaN loss |
//! | `nan_policy = "skip"` | `torch.amp.GradScaler.step` skipping `optimizer.step()` on inf/NaN gradients |
//! | `StopSignal::on_terminate()` + `--resume` | Lightning's SIGTERM handling + `ckpt_path="last"` |

mod checkpoint;
mod config;
mod cross_validation;
mod devices;
mod fine_tune;
mod finish;
mod fit;
mod fitted;
mod guard;
mod history;
mod history_csv;
mod lr_find;
mod monitor;
mod optimization;
pub mod precision;
mod prepare;
mod renderer;
mod resume;
mod rng;
mod score;
mod step;
mod stop;
mod training;

pub use checkpoint::{AtomicFileCheckpointer, EmaCheckpointer};
pub use config::LearnerConfig;
pub(crate) use cross_validation::oof_probabilities;
pub use cross_validation::{CvConfig, CvResult, FoldResult};
pub use fine_tune::FineTuneConfig;
pub use finish::{DataInfo, finish};
pub use fit::Learner;
pub use fitted::{Fitted, RunInfo, average_checkpoints, checkpoint_file, load_checkpoint};
pub use guard::NanPolicy;
pub use history::{EpochMetrics, METRICS_CSV_HEADER};
pub use history_csv::read_metrics_csv;
pub use lr_find::{LrFinderConfig, LrFinderResult};
pub use monitor::{EarlyStoppingConfig, Monitor};
pub use optimization::{Optimization, optimization};
pub use precision::{Precision, SharedGradScaler, read_scaler_state, scaler_file};
pub use prepare::{Prepared, prepare};
pub use renderer::{ProgressMode, QuietRenderer};
pub use resume::{fresh_run_dir, resume_model};
pub use rng::RngStream;
pub use score::{ScoreInput, ScoreMetric};
pub use step::{Classification, EmaCell, EmaHandle};
pub use stop::StopSignal;
pub use training::{Trained, train, train_until};
