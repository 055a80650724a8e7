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
//! Layers, fastai style: [`Learner::fit`] is the high level; under it, [`Classification`] (the
//! burn-train [`TrainStep`](burn::train::TrainStep) / [`InferenceStep`](burn::train::InferenceStep)
//! of any [`ImageClassifier`]), [`AtomicFileCheckpointer`], the optimizer and schedule configs,
//! and the data pieces can each be used alone in a custom burn-train setup or a hand-written loop.
//!
//! A run directory holds `config.json` (the [`LearnerConfig`]), `run.json` (classes,
//! normalization, input size: what inference needs), `metrics.csv` (one row per epoch and split)
//! and `checkpoint/` (burnpack files of the best and the last epoch, written atomically).

mod checkpoint;
mod config;
mod fine_tune;
mod history;
mod lr_find;
mod renderer;
mod step;

pub use checkpoint::{AtomicFileCheckpointer, EmaCheckpointer, TopKCheckpoints};
pub use config::{
    ClipGrad, EarlyStoppingConfig, LearnerConfig, Monitor, OptimizerConfig, ProgressMode,
    SamConfig, ScheduleConfig,
};
pub use fine_tune::FineTuneConfig;
pub use history::{EpochMetrics, METRICS_CSV_HEADER};
pub use lr_find::{LrFinderConfig, LrFinderResult};
pub use renderer::QuietRenderer;
pub use step::{Classification, EmaCell, EmaHandle};

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use burn::train::checkpoint::{ComposedCheckpointingStrategy, KeepLastNCheckpoints};
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{
    AccuracyMetric, LearningRateMetric, LossMetric, Metric, TopKAccuracyMetric,
};
use burn::train::renderer::MetricsRenderer;
use burn::train::{MetricEarlyStoppingStrategy, StoppingCondition, SupervisedTraining};
use serde::{Deserialize, Serialize};

use crate::data::{ClassificationBatcher, ImageDataset, ImageLoader, Normalize};
use crate::error::{PodiumError, Result};
use crate::infer::{EvalReport, Predictions, evaluate, predict};
use crate::model::{ImageClassifier, even_mults};
use crate::schedule::MomentumCell;
use crate::util::derive_seed;
use history::HistoryLogger;

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
}

/// The result of [`Learner::fit`]: the best model, the metric history and the run directory.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The model with the weights of the best epoch (by [`LearnerConfig::monitor`]; the EMA
    /// weights when [`LearnerConfig::ema`] is set), without autodiff, ready for inference.
    pub model: M,
    /// One row per epoch and split, as in `metrics.csv`.
    pub history: Vec<EpochMetrics>,
    /// Classes, normalization, input shape and best epoch (also in `run.json`).
    pub info: RunInfo,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Whether early stopping ended the run before the last epoch.
    pub stopped_early: bool,
    device: Device,
    batch_size: usize,
    ema: bool,
    monitor_is_loss: bool,
}

impl<M: ImageClassifier> Fitted<M> {
    fn valid_rows(&self) -> impl Iterator<Item = &EpochMetrics> {
        self.history.iter().filter(|r| r.split == "valid")
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
    /// [`LearnerConfig::keep_best`]).
    pub fn best_epochs(&self, n: usize) -> Vec<usize> {
        let monitor_is_loss = self.monitor_is_loss;
        let mut rows: Vec<&EpochMetrics> = self.valid_rows().collect();
        rows.sort_by(|a, b| {
            if monitor_is_loss {
                a.loss.total_cmp(&b.loss)
            } else {
                b.accuracy.total_cmp(&a.accuracy)
            }
        });
        rows.into_iter().take(n).map(|r| r.epoch).collect()
    }

    /// The uniform average (SWA-style, BatchNorm statistics averaged too) of the `n` best
    /// epochs' weights (the EMA weights when the run kept an EMA), as competition solutions
    /// average their best checkpoints.
    ///
    /// # Errors
    /// [`PodiumError::Checkpoint`] when a checkpoint is missing (set
    /// [`LearnerConfig::keep_best`] to at least `n`) or does not load.
    pub fn average_best(&self, n: usize, fresh: M) -> Result<M> {
        let prefix = if self.ema { "ema" } else { "model" };
        let paths: Vec<PathBuf> = self
            .best_epochs(n)
            .into_iter()
            .map(|e| checkpoint_dir(&self.run_dir).join(format!("{prefix}-{e}.bpk")))
            .collect();
        average_checkpoints(fresh, &paths)
    }

    /// The best checkpoint's file: `checkpoint/model-{best_epoch}.bpk`, or `ema-{best_epoch}.bpk`
    /// when the run kept an EMA (whose weights validation used).
    pub fn best_checkpoint(&self) -> PathBuf {
        let prefix = if self.ema { "ema" } else { "model" };
        checkpoint_dir(&self.run_dir).join(format!("{prefix}-{}.bpk", self.info.best_epoch))
    }

    /// Scores the best model on a labelled dataset with the run's normalization.
    ///
    /// # Errors
    /// As [`evaluate`].
    pub fn evaluate(&self, dataset: &ImageDataset) -> Result<EvalReport> {
        evaluate(
            &self.model,
            dataset,
            &self.info.normalize,
            self.batch_size,
            &self.device,
        )
    }

    /// Class probabilities of the best model for every item of `dataset`.
    ///
    /// # Errors
    /// As [`predict`].
    pub fn predict(&self, dataset: &ImageDataset) -> Result<Predictions> {
        predict(
            &self.model,
            dataset,
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
    let record = ModuleRecord::load(path).map_err(|e| err(e.to_string()))?;
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

fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| PodiumError::io(path, e))
}

/// Trains image classifiers with a [`LearnerConfig`] on one device (see the module docs).
#[derive(Debug)]
pub struct Learner {
    config: LearnerConfig,
    device: Device,
}

impl Learner {
    /// A learner for `config` on `device`. It seeds the device's RNG with `config.seed`, so a
    /// model initialised after this call starts from the same weights on every run.
    pub fn new(config: LearnerConfig, device: &Device) -> Self {
        device.seed(config.seed);
        Self {
            config,
            device: device.clone(),
        }
    }

    /// The config.
    pub fn config(&self) -> &LearnerConfig {
        &self.config
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trains `model` on `train`, validating on `valid` after each epoch, and returns the best
    /// epoch's model (by [`LearnerConfig::monitor`]) with the metric history.
    ///
    /// Before training it checks the config, that both datasets are labelled with the same
    /// classes, and that every image decodes ([`LearnerConfig::corrupt_images`]).
    ///
    /// # Errors
    /// [`PodiumError::Config`] for an invalid config or mismatched datasets; the decoding error of
    /// a corrupt image under [`CorruptPolicy::Fail`](crate::data::CorruptPolicy::Fail);
    /// [`PodiumError::Io`] if the run directory cannot be written; [`PodiumError::Training`] if
    /// training stopped on an error.
    pub fn fit<M: ImageClassifier>(
        &self,
        model: M,
        train: ImageDataset,
        valid: ImageDataset,
    ) -> Result<Fitted<M>> {
        let cfg = &self.config;
        cfg.validate()?;
        check_datasets(&train, &valid)?;
        // A training pipeline whose output size does not depend on the input (a leading
        // random_resized_crop or resize) takes photos of any size.
        let pipeline = cfg
            .augment
            .as_ref()
            .map(|aug| aug.init().map_err(|e| e.in_section("augment")))
            .transpose()?;
        let fixed_size_augment = pipeline.as_ref().is_some_and(|pipeline| {
            let c = train.decode_options().color.channels();
            let probe = |h, w| pipeline.output_shape([c, h, w]).ok();
            probe(1031, 1237).is_some() && probe(1031, 1237) == probe(1543, 1117)
        });
        let (train, _) = if fixed_size_augment {
            train.verify_decoding(cfg.corrupt_images)?
        } else {
            train.verify(cfg.corrupt_images)?
        };
        let (valid, _) = valid.verify(cfg.corrupt_images)?;
        let num_classes = train.num_classes();
        let classes = train.classes().to_vec();
        // Label smoothing is set once for the run (issue 12); until LearnerConfig carries it and
        // routes it to the loss or to the mixer, the loss trains without.
        let label_smoothing = 0.0;
        let objective = cfg.loss.init(&train.class_counts(), label_smoothing)?;
        if let Some(mix) = &cfg.mixup
            && mix.num_classes != num_classes
        {
            return Err(PodiumError::config(
                "mixup.num_classes",
                mix.num_classes,
                format!("the data has {num_classes} classes"),
            ));
        }

        let normalize = match &cfg.normalize {
            Some(n) => n.clone(),
            None => Normalize::estimate(&train, 4096)?,
        };
        let first = train.decode(0)?;
        if first.channels != normalize.mean.len() {
            return Err(PodiumError::config(
                "normalize",
                format!("{} channels", normalize.mean.len()),
                format!("the images have {} channels", first.channels),
            ));
        }

        let run_dir = PathBuf::from(&cfg.run_dir);
        std::fs::create_dir_all(checkpoint_dir(&run_dir))
            .map_err(|e| PodiumError::io(&run_dir, e))?;
        write_atomic(&run_dir.join("config.json"), cfg.to_string().as_bytes())?;
        let csv = run_dir.join("metrics.csv");
        if csv.exists() {
            std::fs::remove_file(&csv).map_err(|e| PodiumError::io(&csv, e))?;
        }

        let batcher = ClassificationBatcher::new(normalize.clone());
        let drop_last = (cfg.drop_last || cfg.mixup.is_some()) && train.len() >= cfg.batch_size;
        let mut train_loader = ImageLoader::new(train, batcher.clone(), cfg.batch_size)?
            .shuffle(derive_seed(cfg.seed, &[1]))
            .drop_last(drop_last)
            .num_workers(cfg.num_workers)?;
        if let Some(pipeline) = pipeline {
            pipeline
                .output_shape([first.channels, first.height, first.width])
                .map_err(|e| e.in_section("augment"))?;
            train_loader = train_loader
                .augment(pipeline, derive_seed(cfg.seed, &[5]))
                .map_err(|e| e.in_section("augment"))?;
        }
        if let Some(mix) = &cfg.mixup {
            train_loader = train_loader.mixing(mix.clone(), derive_seed(cfg.seed, &[3]))?;
        }
        let train_labels: Vec<usize> = train_loader
            .dataset()
            .labels()
            .into_iter()
            .map(|l| l.unwrap_or(0))
            .collect();
        if let Some(sampler) = cfg.sampler.build(
            &train_labels,
            num_classes,
            cfg.epochs,
            derive_seed(cfg.seed, &[4]),
        )? {
            train_loader = train_loader.sampler(sampler);
        }
        let valid_loader =
            ImageLoader::new(valid, batcher, cfg.batch_size)?.num_workers(cfg.num_workers)?;

        let updates_per_epoch = train_loader.num_batches();
        let plateau = cfg.schedule.plateau(cfg.lr, cfg.monitor)?;
        // one-cycle's momentum curve reaches SGD through a shared cell (torch's OneCycleLR)
        let cycle_momentum = (matches!(cfg.schedule, ScheduleConfig::OneCycle(_))
            && cfg.optimizer.cycles_momentum())
        .then(MomentumCell::new);
        let scheduler = match (&plateau, cfg.lr_min) {
            (Some(_), Some(lo)) => {
                return Err(PodiumError::config(
                    "lr_min",
                    lo,
                    "discriminative learning rates need a fixed schedule, not Plateau",
                ));
            }
            (Some(p), None) => p.clone().into(),
            (None, None) if cycle_momentum.is_some() => cfg.schedule.build_with_momentum(
                cfg.lr,
                cfg.epochs,
                updates_per_epoch,
                cycle_momentum.clone().expect("a cell"),
            )?,
            (None, None) => cfg.schedule.build(cfg.lr, cfg.epochs, updates_per_epoch)?,
            (None, Some(lo)) => {
                let groups = model.layer_groups();
                if groups.is_empty() {
                    return Err(PodiumError::config(
                        "lr_min",
                        lo,
                        "the model has no layer groups (ImageClassifier::layer_groups)",
                    ));
                }
                let lrs = even_mults(lo, cfg.lr, groups.len());
                cfg.schedule.build_grouped(
                    cfg.lr,
                    cfg.epochs,
                    updates_per_epoch,
                    &groups,
                    &lrs,
                    cycle_momentum.clone(),
                )?
            }
        };
        let ema: Option<Arc<dyn EmaHandle>> = match cfg.ema {
            Some(decay) => Some(Arc::new(EmaCell::new(decay.init(&model)?))),
            None => None,
        };
        let sam = cfg.sam.map(|s| s.init()).transpose()?;
        let mut wrapped = Classification::new(model, objective)
            .with_clip_grad(cfg.clip_grad)
            .with_sam(sam);
        if let Some(ema) = &ema {
            wrapped = wrapped.with_ema(ema.clone());
        }
        let learner = burn::train::Learner::new(
            // `train()` puts the parameters on autodiff, wherever the model was built.
            wrapped.train(),
            match &cycle_momentum {
                Some(cell) => cfg.optimizer.init_with_momentum(cell.clone())?,
                None => cfg.optimizer.init()?,
            },
            scheduler,
        );

        let history = Arc::new(Mutex::new(Vec::new()));
        let interactive = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
        let dashboard = match cfg.progress {
            ProgressMode::Auto => interactive,
            ProgressMode::Dashboard => true,
            ProgressMode::Plain | ProgressMode::Quiet => false,
        };
        let print_lines = !dashboard && cfg.progress != ProgressMode::Quiet;
        let logger = HistoryLogger::new(csv, history.clone(), cfg.epochs, print_lines)
            .with_top5_fallback(num_classes <= 5)
            .with_plateau(plateau, cfg.monitor);

        let (direction, monitor_is_loss) = match cfg.monitor {
            Monitor::ValidLoss => (Direction::Lowest, true),
            Monitor::ValidAccuracy => (Direction::Highest, false),
        };
        let metric_name = if monitor_is_loss {
            LossMetric::new().name()
        } else {
            AccuracyMetric::new().name()
        };
        let checkpointing = ComposedCheckpointingStrategy::builder()
            .add(KeepLastNCheckpoints::new(1))
            .add(TopKCheckpoints::new(
                cfg.keep_best,
                &metric_name,
                monitor_is_loss,
            ))
            .build();
        let ckpt = checkpoint_dir(&run_dir);
        let checkpointer = |name: &str| {
            AtomicFileCheckpointer::new(&ckpt, name).map_err(|e| PodiumError::io(&ckpt, e))
        };
        let io = |e| PodiumError::io(&ckpt, e);

        let mut training =
            SupervisedTraining::new(&run_dir, Arc::new(train_loader), Arc::new(valid_loader))
                .num_epochs(cfg.epochs)
                .with_metric_logger(InMemoryMetricLogger::new())
                .with_metric_logger(logger)
                .metrics((LossMetric::new(), AccuracyMetric::new()))
                .metric_train_numeric(LearningRateMetric::new())
                .with_custom_checkpointers(
                    checkpointer("model")?,
                    checkpointer("optim")?,
                    checkpointer("scheduler")?,
                )
                .with_checkpointing_strategy(checkpointing)
                .with_application_logger(None);
        training = match &ema {
            Some(ema) => training.with_custom_checkpointers(
                EmaCheckpointer::new(&ckpt, ema.clone()).map_err(io)?,
                checkpointer("optim")?,
                checkpointer("scheduler")?,
            ),
            None => training.with_custom_checkpointers(
                checkpointer("model")?,
                checkpointer("optim")?,
                checkpointer("scheduler")?,
            ),
        };
        if num_classes > 5 {
            training = training.metrics((TopKAccuracyMetric::new(5),));
        }
        if !dashboard {
            training = training.renderer(Box::new(QuietRenderer) as Box<dyn MetricsRenderer>);
        }
        if let Some(es) = cfg.early_stopping {
            let condition = StoppingCondition::NoImprovementSince {
                n_epochs: es.patience,
            };
            training = if monitor_is_loss {
                training.early_stopping(early_stopping(&LossMetric::new(), direction, condition))
            } else {
                training.early_stopping(early_stopping(
                    &AccuracyMetric::new(),
                    direction,
                    condition,
                ))
            };
        }

        // Dropout and any other random op during training draw from this stream.
        self.device.seed(derive_seed(cfg.seed, &[2]));
        let result = training.launch(learner);
        if let Some(error) = result.error {
            return Err(PodiumError::Training(error.to_string()));
        }
        let history = history.lock().expect("history lock").clone();
        let valid_rows: Vec<&EpochMetrics> =
            history.iter().filter(|r| r.split == "valid").collect();
        let best = valid_rows
            .iter()
            .fold(None::<&EpochMetrics>, |best, r| match best {
                Some(b)
                    if (monitor_is_loss && r.loss >= b.loss)
                        || (!monitor_is_loss && r.accuracy <= b.accuracy) =>
                {
                    Some(b)
                }
                _ => Some(r),
            });
        let best_epoch = best.map_or(0, |r| r.epoch);
        let last_epoch = valid_rows.last().map_or(0, |r| r.epoch);
        let model = result.model.model;
        let prefix = if ema.is_some() { "ema" } else { "model" };
        let best_path = ckpt.join(format!("{prefix}-{best_epoch}.bpk"));
        let model = if (best_epoch != last_epoch || ema.is_some()) && best_path.exists() {
            load_checkpoint(model, &best_path)?
        } else {
            model
        };
        let info = RunInfo {
            classes,
            normalize,
            input_shape: [first.channels, first.height, first.width],
            best_epoch,
        };
        write_atomic(
            &run_dir.join("run.json"),
            serde_json::to_string_pretty(&info)
                .map_err(|e| PodiumError::format(&run_dir, e.to_string()))?
                .as_bytes(),
        )?;
        Ok(Fitted {
            model,
            stopped_early: last_epoch < cfg.epochs,
            history,
            info,
            run_dir,
            device: self.device.clone(),
            batch_size: cfg.batch_size,
            ema: ema.is_some(),
            monitor_is_loss,
        })
    }
}

fn early_stopping<Me: Metric>(
    metric: &Me,
    direction: Direction,
    condition: StoppingCondition,
) -> MetricEarlyStoppingStrategy {
    MetricEarlyStoppingStrategy::new(metric, Aggregate::Mean, direction, Split::Valid, condition)
}

fn check_datasets(train: &ImageDataset, valid: &ImageDataset) -> Result<()> {
    for (key, ds) in [("train", train), ("valid", valid)] {
        if ds.is_empty() {
            return Err(PodiumError::config(key, "0 items", "the dataset is empty"));
        }
        if let Some(i) = ds.labels().iter().position(Option::is_none) {
            return Err(PodiumError::config(
                key,
                ds.name(i),
                "training needs every item labelled",
            ));
        }
    }
    if train.classes() != valid.classes() {
        return Err(PodiumError::config(
            "valid.classes",
            format!("{:?}", valid.classes()),
            format!("differ from the training classes {:?}", train.classes()),
        ));
    }
    if train.num_classes() < 2 {
        return Err(PodiumError::config(
            "train.classes",
            train.num_classes(),
            "classification needs at least 2 classes",
        ));
    }
    Ok(())
}
