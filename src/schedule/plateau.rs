//! Reduce-on-plateau, fed by a validation metric: torch's `ReduceLROnPlateau` and timm's
//! `PlateauLRScheduler` (the torch scheduler behind a warm-up) from one [`PlateauConfig`], and
//! the [`PlateauDriver`] that feeds it the monitored metric and applies its rate.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use burn::config::Config;
use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};

/// Whether a lower or a higher metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How `threshold` measures an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ThresholdMode {
    /// Relative: `a < best (1 - threshold)` (min) or `a > best (1 + threshold)` (max).
    #[default]
    Rel,
    /// Absolute: `a < best - threshold` (min) or `a > best + threshold` (max).
    Abs,
}

/// Configuration of reduce-on-plateau: torch's `ReduceLROnPlateau` knobs with torch's defaults
/// (`ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4,
/// threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)`) and timm's warm-up
/// (`PlateauLRScheduler(optimizer, decay_rate=0.1, patience_t=10, threshold=1e-4, cooldown_t=0,
/// warmup_t=0, warmup_lr_init=0, lr_min=0, mode='max')`: timm's `decay_rate`, `patience_t`,
/// `cooldown_t`, `lr_min` are `factor`, `patience`, `cooldown`, `min_lr` here). Without warm-up it
/// is torch's scheduler step for step. The mode (lower or higher is better) and the starting rate
/// are given to [`Self::init`]: the Learner takes them from its monitored metric and its `lr`.
#[derive(Config, Debug, PartialEq)]
pub struct PlateauConfig {
    /// Reduction factor, in `(0, 1)`. Default 0.1.
    #[config(default = 0.1)]
    pub factor: f64,
    /// Epochs without improvement tolerated. Default 10.
    #[config(default = 10)]
    pub patience: usize,
    /// Improvement threshold, `>= 0`. Default `1e-4`.
    #[config(default = 1e-4)]
    pub threshold: f64,
    /// Relative or absolute threshold. Default relative.
    #[config(default = "ThresholdMode::Rel")]
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction. Default 0.
    #[config(default = 0)]
    pub cooldown: usize,
    /// Floor of the rate, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub min_lr: f64,
    /// timm's linear warm-up length in epochs (the metric is ignored then). Default 0.
    #[config(default = 0)]
    pub warmup_epochs: usize,
    /// timm's warm-up start rate. Default 0.
    #[config(default = 0.0)]
    pub warmup_lr_init: f64,
}

impl PlateauConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`factor`, `threshold`, `min_lr`, `warmup_lr_init`) for a factor
    /// outside `(0, 1)` or a negative threshold, floor or warm-up start.
    pub fn validate(&self) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(PodiumError::config(
                "factor",
                self.factor,
                "must be in (0, 1)",
            ));
        }
        for (key, v) in [
            ("threshold", self.threshold),
            ("min_lr", self.min_lr),
            ("warmup_lr_init", self.warmup_lr_init),
        ] {
            if v.is_nan() || v < 0.0 {
                return Err(PodiumError::config(key, v, "must be >= 0"));
            }
        }
        Ok(())
    }

    /// The state machine starting at `lr`, for a metric where `mode` says what is better.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self, lr: f64, mode: PlateauMode) -> Result<TimmPlateau> {
        self.validate()?;
        let inner = ReduceLrOnPlateau {
            lr,
            best: match mode {
                PlateauMode::Min => f64::INFINITY,
                PlateauMode::Max => f64::NEG_INFINITY,
            },
            num_bad_epochs: 0,
            cooldown_counter: 0,
            mode,
            threshold_mode: self.threshold_mode,
            factor: self.factor,
            patience: self.patience,
            threshold: self.threshold,
            cooldown: self.cooldown,
            min_lr: self.min_lr,
            eps: 1e-8,
        };
        let mut plateau = TimmPlateau {
            base_lr: lr,
            warmup_t: self.warmup_epochs,
            warmup_lr_init: self.warmup_lr_init,
            inner,
        };
        if plateau.warmup_t > 0 {
            plateau.inner.lr = plateau.warmup_lr_init;
        }
        Ok(plateau)
    }
}

/// The state of `torch.optim.lr_scheduler.ReduceLROnPlateau` (eps `1e-8`), inside a
/// [`TimmPlateau`].
///
/// After each metric: an improvement sets `best` and clears the bad-epoch count, otherwise the
/// count grows; during a cooldown the count is held at 0. When the count exceeds `patience`, the
/// rate becomes `max(lr factor, min_lr)` (if that changes it by more than `eps`), the cooldown
/// starts and the count clears.
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLrOnPlateau {
    /// Current rate.
    pub lr: f64,
    /// Best metric so far.
    pub best: f64,
    /// Epochs without improvement.
    pub num_bad_epochs: usize,
    /// Epochs of cooldown left.
    pub cooldown_counter: usize,
    mode: PlateauMode,
    threshold_mode: ThresholdMode,
    factor: f64,
    patience: usize,
    threshold: f64,
    cooldown: usize,
    min_lr: f64,
    eps: f64,
}

impl ReduceLrOnPlateau {
    fn is_better(&self, a: f64) -> bool {
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < self.best * (1.0 - self.threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => a < self.best - self.threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => a > self.best * (1.0 + self.threshold),
            (PlateauMode::Max, ThresholdMode::Abs) => a > self.best + self.threshold,
        }
    }

    /// Feeds one epoch's metric; returns the rate for the next epoch.
    pub fn step(&mut self, metric: f64) -> f64 {
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let new = (self.lr * self.factor).max(self.min_lr);
            if self.lr - new > self.eps {
                self.lr = new;
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
        self.lr
    }
}

/// timm's `PlateauLRScheduler`: a linear warm-up over `warmup_epochs` epochs (the metric is
/// ignored then), then [`ReduceLrOnPlateau`]; without warm-up, torch's `ReduceLROnPlateau`.
/// Built by [`PlateauConfig::init`]. Protocol as timm's `train.py`: [`Self::lr`] is the rate of
/// the coming epoch; after epoch `e` (from 0), call [`Self::step`] with `e + 1` and its metric.
#[derive(Clone, Debug, PartialEq)]
pub struct TimmPlateau {
    base_lr: f64,
    warmup_t: usize,
    warmup_lr_init: f64,
    inner: ReduceLrOnPlateau,
}

impl TimmPlateau {
    /// The rate in use.
    pub fn lr(&self) -> f64 {
        self.inner.lr
    }

    /// torch's state (best metric, bad epochs, cooldown).
    pub fn state(&self) -> &ReduceLrOnPlateau {
        &self.inner
    }

    /// After an epoch: `epoch` is the number of epochs done; returns the next rate.
    pub fn step(&mut self, epoch: usize, metric: f64) -> f64 {
        if epoch <= self.warmup_t && self.warmup_t > 0 {
            self.inner.lr = self.warmup_lr_init
                + epoch as f64 * (self.base_lr - self.warmup_lr_init) / self.warmup_t as f64;
            self.inner.lr
        } else {
            self.inner.step(metric)
        }
    }
}

/// Drives a reduce-on-plateau schedule from the monitored validation metric, and is the
/// burn-train learning-rate scheduler that applies its rate: every update uses the current
/// rate, and [`Self::observe`] feeds the metric after each epoch (the Learner calls it with its
/// monitored metric; in a custom loop, call it after validating). Clones share the state.
#[derive(Clone, Debug)]
pub struct PlateauDriver {
    state: Arc<Mutex<TimmPlateau>>,
}

impl PlateauDriver {
    /// Drives `plateau` (from [`PlateauConfig::init`]).
    pub fn new(plateau: TimmPlateau) -> Self {
        Self {
            state: Arc::new(Mutex::new(plateau)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TimmPlateau> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Feeds the metric `value` of epoch `epoch` (from 1: the number of epochs done, which
    /// timm's warm-up follows); returns the rate of the next epoch.
    pub fn observe(&self, epoch: usize, value: f64) -> f64 {
        self.lock().step(epoch, value)
    }

    /// The current rate.
    pub fn lr(&self) -> f64 {
        self.lock().lr()
    }
}

impl LrScheduler for PlateauDriver {
    fn step(&mut self) -> LearningRate {
        self.lr()
    }

    fn to_record(&self) -> LrSchedulerRecord {
        let s = self.lock();
        let s = &s.inner;
        LrSchedulerRecord::new()
            .with_scalar("lr", s.lr)
            .with_scalar("best", s.best)
            .with_scalar("num_bad_epochs", s.num_bad_epochs as u64)
            .with_scalar("cooldown_counter", s.cooldown_counter as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        let mut s = self.lock();
        let s = &mut s.inner;
        if let Some(lr) = record.scalar::<f64>("lr") {
            s.lr = lr;
        }
        if let Some(best) = record.scalar::<f64>("best") {
            s.best = best;
        }
        if let Some(n) = record.scalar::<u64>("num_bad_epochs") {
            s.num_bad_epochs = n as usize;
        }
        if let Some(n) = record.scalar::<u64>("cooldown_counter") {
            s.cooldown_counter = n as usize;
        }
    }
}
