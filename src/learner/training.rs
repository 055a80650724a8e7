//! [`train`]: the burn-train wiring of a run.
//!
//! Given the pieces [`prepare`](super::prepare()) and [`optimization`](super::optimization())
//! built, it sets up burn-train's [`SupervisedTraining`]: the [`Classification`] step (loss,
//! clipping, SAM, EMA), the metrics (loss, accuracy, top-5, learning rate), `metrics.csv` and the
//! plain or dashboard progress, the checkpoints (last and best-k, written atomically, EMA
//! weights beside them), early stopping on the [`Monitor`](super::Monitor) metric and the
//! plateau schedule fed by it; then it trains.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::tensor::Device;
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, TopKAccuracyMetric};
use burn::train::renderer::MetricsRenderer;
use burn::train::{Interrupter, SupervisedTraining};

use super::checkpoint::{AtomicFileCheckpointer, EmaCheckpointer, RunCheckpoints, SaveGate};
use super::config::LearnerConfig;
use super::devices::DevicePlan;
use super::fitted::{checkpoint_dir, checkpoint_file, load_checkpoint};
use super::guard::StepGuard;
use super::history::{EpochMetrics, HistoryLogger, SharedHistory, WriteFailure};
use super::monitor::HistoryEarlyStopping;
use super::optimization::Optimization;
use super::precision::{ScalerCheckpointer, run_grad_scaler};
use super::renderer::ProgressMode;
use super::renderer::QuietRenderer;
use super::resume::resume_point;
use super::rng::RngStream;
use super::score::ScoreMetric;
use super::step::{Classification, EmaCell, EmaHandle};
use super::stop::StopSignal;
use crate::error::{PodiumError, Result};
use crate::loader::ImageLoader;
use crate::loss::Objective;
use crate::model::ImageClassifier;
use crate::util::{derive_seed, write_atomic};

/// What [`train`] returns: the model after the last epoch and the metric history.
#[derive(Debug)]
pub struct Trained<M> {
    /// The model after the last epoch that ran (the raw weights, not the EMA), without autodiff.
    pub model: M,
    /// One row per epoch and split, as in `metrics.csv`.
    pub history: Vec<EpochMetrics>,
    /// Whether the run kept an EMA of the weights (its checkpoints are `ema-N.bpk`).
    pub ema: bool,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Optimizer updates skipped on a non-finite loss or gradient under
    /// [`NanPolicy::Skip`](super::NanPolicy::Skip), over the whole run (the epochs before a
    /// resumption included).
    pub skipped_steps: usize,
}

/// Trains `model` with burn-train for [`LearnerConfig::epochs`] epochs (see the module docs),
/// writing `config.json`, `metrics.csv` and the checkpoints to [`LearnerConfig::run_dir`].
///
/// `objective` is the training loss, `train`/`valid` the loaders (from
/// [`prepare`](super::prepare())), `optimization` the optimizer and schedule.
///
/// A step whose loss or gradient is NaN or infinite is handled by
/// [`LearnerConfig::nan_policy`]: the run stops there, or the step's update is skipped and
/// counted ([`Trained::skipped_steps`], `metrics.csv`'s `skipped_steps` column).
///
/// # Errors
/// [`PodiumError::Io`] if the run directory cannot be written; [`PodiumError::Config`] for an
/// invalid EMA decay; [`PodiumError::Training`] if training stopped on an error;
/// [`PodiumError::NonFinite`] (the epoch, the step, the last complete epoch) for a non-finite
/// loss or gradient under [`NanPolicy::Stop`](super::NanPolicy::Stop).
pub fn train<M: ImageClassifier>(
    config: &LearnerConfig,
    model: M,
    objective: Objective,
    loaders: (ImageLoader, ImageLoader),
    optimization: Optimization,
    device: &Device,
) -> Result<Trained<M>> {
    train_until(
        config,
        model,
        objective,
        loaders,
        optimization,
        device,
        None,
    )
}

/// [`train`] that also stops cleanly when `stop` is set (Ctrl-C / SIGTERM after
/// [`StopSignal::on_terminate`], or [`StopSignal::stop`]): see [`StopSignal`].
///
/// # Errors
/// As [`train`]; [`PodiumError::Interrupted`] (the run directory, what stopped it, the last
/// complete epoch) when `stop` was set before or during the run.
pub fn train_until<M: ImageClassifier>(
    config: &LearnerConfig,
    model: M,
    objective: Objective,
    loaders: (ImageLoader, ImageLoader),
    optimization: Optimization,
    device: &Device,
    stop: Option<&StopSignal>,
) -> Result<Trained<M>> {
    let cfg = config;
    let (train_loader, valid_loader) = loaders;
    let num_classes = train_loader.dataset().num_classes();
    let run_dir = PathBuf::from(&cfg.run_dir);
    let resume = resume_point(&run_dir, cfg, cfg.ema.is_some())?;
    cfg.precision.check_device(device)?;
    let scaler = run_grad_scaler(cfg.precision, &run_dir, resume.epoch)?;
    std::fs::create_dir_all(checkpoint_dir(&run_dir)).map_err(|e| PodiumError::io(&run_dir, e))?;
    write_atomic(&run_dir.join("config.json"), cfg.to_string().as_bytes())?;
    if let Some(reason) = stop.and_then(StopSignal::reason) {
        return Err(PodiumError::Interrupted {
            run_dir,
            reason,
            last_complete_epoch: resume.epoch,
        });
    }
    let csv = run_dir.join("metrics.csv");
    if resume.epoch == 0 && csv.exists() {
        std::fs::remove_file(&csv).map_err(|e| PodiumError::io(&csv, e))?;
    }
    let updates_per_epoch = train_loader
        .num_batches()
        .div_ceil(cfg.grad_accumulation.max(1));

    let ema: Option<Arc<dyn EmaHandle>> = match cfg.ema {
        Some(decay) if resume.epoch > 0 => {
            let path = checkpoint_file(&run_dir, true, resume.epoch);
            let averaged = load_checkpoint(model.clone(), &path)?;
            let ema = decay
                .init(&averaged)?
                .with_updates(resume.epoch * updates_per_epoch);
            Some(Arc::new(EmaCell::new(ema)))
        }
        Some(decay) => Some(Arc::new(EmaCell::new(decay.init(&model)?))),
        None => None,
    };
    let sam = cfg.sam.map(|s| s.init()).transpose()?;
    let interrupter = Interrupter::new();
    let watch = interrupter.clone();
    let guard = StepGuard::new(
        cfg.nan_policy,
        interrupter.clone(),
        stop.cloned(),
        resume.epoch + 1,
        resume.skipped.clone(),
    );
    // the optimizer checkpoint of an epoch is written before the next update (SaveGate)
    let save_gate = Arc::new(SaveGate::default());
    let mut wrapped = Classification::new(model, objective)
        .with_clip_grad(cfg.clip_grad)
        .with_sam(sam)
        .with_grad_accumulation(cfg.grad_accumulation)
        .with_guard(guard.clone())
        .with_save_gate(save_gate.clone())
        .with_precision(cfg.precision, scaler.clone());
    let plan = DevicePlan::for_run(cfg, &train_loader)?;
    wrapped = wrapped.with_device_share(plan.as_ref().map(DevicePlan::share));
    if let Some(ema) = &ema {
        wrapped = wrapped.with_ema(ema.clone());
    }
    let Optimization {
        optimizer,
        scheduler,
        plateau,
    } = optimization;
    // `train()` puts the parameters on autodiff, wherever the model was built.
    let learner = burn::train::Learner::new(wrapped.train(), optimizer, scheduler);

    let history: SharedHistory = Arc::new(Mutex::new(resume.history.clone()));
    let interactive = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
    let dashboard = match cfg.progress {
        ProgressMode::Auto => interactive,
        ProgressMode::Dashboard => true,
        ProgressMode::Plain | ProgressMode::Quiet => false,
    };
    let print_lines = !dashboard && cfg.progress != ProgressMode::Quiet;
    let write_failure: WriteFailure = Arc::default();
    let mut logger = HistoryLogger::new(csv, history.clone(), cfg.epochs, print_lines)
        .with_top5_fallback(num_classes <= 5)
        .stop_on_write_failure(write_failure.clone(), interrupter.clone())
        .with_skipped_steps(guard.clone());
    if let Some(plateau) = plateau {
        // The plateau schedule follows the monitored validation metric, epoch by epoch.
        let monitor = cfg.monitor;
        logger = logger.on_valid_epoch(Box::new(move |row| {
            plateau.observe(row.epoch, monitor.value(row));
        }));
    }
    // Dropout and every other random op of epoch `e` (from 1) draw from
    // `derive_seed(device stream, [e])`, so a resumed run draws what the uninterrupted one did.
    let device_stream = RngStream::Device.seed(cfg.seed);
    let seeded: Vec<Device> = match &plan {
        Some(plan) => plan.devices().to_vec(),
        None => vec![device.clone()],
    };
    for device in &seeded {
        device.seed(derive_seed(device_stream, &[resume.epoch as u64 + 1]));
    }
    logger = logger.on_valid_epoch(Box::new(move |row| {
        for device in &seeded {
            device.seed(derive_seed(device_stream, &[row.epoch as u64 + 1]));
        }
    }));
    if let Some(ema) = &ema {
        // the averaged weights this epoch validated, for its checkpoint (saved later, elsewhere)
        let ema = ema.clone();
        logger = logger.on_valid_epoch(Box::new(move |row| ema.keep_validated(row.epoch)));
    }
    if let Some(scaler) = &scaler {
        // the scale the epoch's training ended with, for its checkpoint (saved later, elsewhere)
        let scaler = scaler.clone();
        logger = logger.on_valid_epoch(Box::new(move |row| scaler.keep_epoch(row.epoch)));
    }
    train_loader.set_epoch(resume.epoch as u64);
    let checkpointing = RunCheckpoints::new(
        cfg.keep_best,
        cfg.monitor,
        history.clone(),
        resume.on_disk.clone(),
        save_gate.clone(),
    );
    let ckpt = checkpoint_dir(&run_dir);
    let checkpointer = |name: &str| {
        AtomicFileCheckpointer::new(&ckpt, name).map_err(|e| PodiumError::io(&ckpt, e))
    };
    let optim_files = checkpointer("optim")?.with_gate(save_gate.clone());

    let train_loader = DevicePlan::wrap(plan.as_ref(), train_loader);
    let mut training =
        SupervisedTraining::new(&run_dir, Arc::new(train_loader), Arc::new(valid_loader))
            .num_epochs(cfg.epochs)
            .with_interrupter(interrupter)
            .with_metric_logger(InMemoryMetricLogger::new())
            .with_metric_logger(logger)
            .metrics((LossMetric::new(), AccuracyMetric::new()))
            .metric_train_numeric(LearningRateMetric::new())
            .with_checkpointing_strategy(checkpointing)
            .with_application_logger(None);
    if let Some(metric) = cfg.monitor.metric() {
        training = training.metric_valid_numeric(ScoreMetric::new(metric));
    }
    if cfg.grad_accumulation > 1 {
        training = training.grads_accumulation(cfg.grad_accumulation);
    }
    if resume.epoch > 0 {
        training = training.checkpoint(resume.epoch);
    }
    training = match &ema {
        Some(ema) => training.with_custom_checkpointers(
            ScalerCheckpointer::new(
                EmaCheckpointer::new(&ckpt, ema.clone()).map_err(|e| PodiumError::io(&ckpt, e))?,
                &run_dir,
                scaler.clone(),
            ),
            optim_files,
            checkpointer("scheduler")?,
        ),
        None => training.with_custom_checkpointers(
            ScalerCheckpointer::new(checkpointer("model")?, &run_dir, scaler.clone()),
            optim_files,
            checkpointer("scheduler")?,
        ),
    };
    if num_classes > 5 {
        training = training.metrics((TopKAccuracyMetric::new(5),));
    }
    if let Some(plan) = &plan {
        training = training.with_training_strategy(plan.strategy().into());
    }
    if !dashboard {
        training = training.renderer(Box::new(QuietRenderer) as Box<dyn MetricsRenderer>);
    }
    let mut epochs = cfg.epochs;
    if let Some(es) = cfg.early_stopping {
        // A run that had stopped early stays stopped when resumed.
        let valid = resume.history.iter().filter(|r| r.split == "valid");
        if resume.epoch > 0 && es.should_stop(cfg.monitor, valid) {
            epochs = resume.epoch;
        }
        training = training.early_stopping(HistoryEarlyStopping {
            config: es,
            monitor: cfg.monitor,
            history: history.clone(),
        });
    }
    let training = training.num_epochs(epochs.max(resume.epoch));

    let result = training.launch(learner);
    // launch returns once the checkpoints of the last saved epoch are written
    if let Some(error) = write_failure.lock().expect("failure lock").take() {
        return Err(error);
    }
    if let Some(error) = result.error {
        return Err(PodiumError::Training(error.to_string()));
    }
    let last_complete =
        || resume_point(&run_dir, &cfg.clone().with_resume(true), ema.is_some()).map(|p| p.epoch);
    if let Some(bad) = guard.failure() {
        return Err(PodiumError::NonFinite {
            last_complete_epoch: last_complete()?,
            run_dir,
            epoch: bad.epoch,
            step: bad.step,
            what: bad.what.into(),
            value: bad.value,
        });
    }
    // a stop podium did not ask for: the dashboard's quit (its Ctrl-C in raw mode)
    let reason = guard.interrupted().or_else(|| {
        watch.interruption().map(|i| {
            i.reason
                .unwrap_or_else(|| "stopped from the dashboard".into())
        })
    });
    if let Some(reason) = reason {
        return Err(PodiumError::Interrupted {
            last_complete_epoch: last_complete()?,
            run_dir,
            reason,
        });
    }
    let skipped_steps = guard.skipped_total();
    if skipped_steps > 0 && print_lines {
        println!(
            "{skipped_steps} optimizer updates skipped on a non-finite loss or gradient \
             (nan_policy = skip, or an f16 loss-scale overflow; per epoch in metrics.csv's \
             skipped_steps column)"
        );
    }
    let history = history.lock().expect("history lock").clone();
    Ok(Trained {
        model: result.model.model,
        history,
        ema: ema.is_some(),
        run_dir,
        skipped_steps,
    })
}
