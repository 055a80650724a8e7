//! Reduce-on-plateau, fed by a validation metric: torch's `ReduceLROnPlateau` and timm's
//! `PlateauLRScheduler` (the torch scheduler behind a warm-up).

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

/// `torch.optim.lr_scheduler.ReduceLROnPlateau` (torch's defaults: factor 0.1, patience 10,
/// threshold 1e-4 relative, no cooldown, no floor, eps 1e-8).
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
    /// torch's defaults from `lr`.
    pub fn new(lr: f64, mode: PlateauMode) -> Self {
        Self {
            lr,
            best: match mode {
                PlateauMode::Min => f64::INFINITY,
                PlateauMode::Max => f64::NEG_INFINITY,
            },
            num_bad_epochs: 0,
            cooldown_counter: 0,
            mode,
            threshold_mode: ThresholdMode::Rel,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }

    /// Sets factor, patience, threshold (and its mode), cooldown and floor.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a factor outside `(0, 1)` or a negative threshold or floor.
    pub fn with(
        mut self,
        factor: f64,
        patience: usize,
        threshold: f64,
        threshold_mode: ThresholdMode,
        cooldown: usize,
        min_lr: f64,
    ) -> Result<Self> {
        if !(factor > 0.0 && factor < 1.0) {
            return Err(PodiumError::config("factor", factor, "must be in (0, 1)"));
        }
        if threshold.is_nan() || threshold < 0.0 {
            return Err(PodiumError::config("threshold", threshold, "must be >= 0"));
        }
        if min_lr.is_nan() || min_lr < 0.0 {
            return Err(PodiumError::config("min_lr", min_lr, "must be >= 0"));
        }
        self.factor = factor;
        self.patience = patience;
        self.threshold = threshold;
        self.threshold_mode = threshold_mode;
        self.cooldown = cooldown;
        self.min_lr = min_lr;
        Ok(self)
    }

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

/// timm's `PlateauLRScheduler`: a linear warm-up over `warmup_t` epochs (the metric is ignored
/// then), then [`ReduceLrOnPlateau`]. Protocol as timm's `train.py`: [`Self::lr`] is the rate of
/// the coming epoch; after epoch `e`, call [`Self::step`] with `e + 1` and its metric.
#[derive(Clone, Debug, PartialEq)]
pub struct TimmPlateau {
    base_lr: f64,
    warmup_t: usize,
    warmup_lr_init: f64,
    inner: ReduceLrOnPlateau,
}

impl TimmPlateau {
    /// Wraps a configured [`ReduceLrOnPlateau`] (built from `base_lr`) with a warm-up.
    pub fn new(inner: ReduceLrOnPlateau, warmup_t: usize, warmup_lr_init: f64) -> Self {
        let base_lr = inner.lr;
        let mut s = Self {
            base_lr,
            warmup_t,
            warmup_lr_init,
            inner,
        };
        if warmup_t > 0 {
            s.inner.lr = warmup_lr_init;
        }
        s
    }

    /// The rate in use.
    pub fn lr(&self) -> f64 {
        self.inner.lr
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

/// [`ReduceLrOnPlateau`] as a burn-train learning-rate scheduler: every update uses the current
/// rate, and [`PlateauScheduler::observe`] feeds it the validation metric after each epoch (the
/// [`Learner`](crate::learner::Learner) does this with its monitored metric). Clones share the
/// state.
#[derive(Clone, Debug)]
pub struct PlateauScheduler {
    state: std::sync::Arc<std::sync::Mutex<ReduceLrOnPlateau>>,
}

impl PlateauScheduler {
    /// Wraps a configured plateau state machine.
    pub fn new(plateau: ReduceLrOnPlateau) -> Self {
        Self {
            state: std::sync::Arc::new(std::sync::Mutex::new(plateau)),
        }
    }

    /// Feeds one epoch's metric; returns the rate for the next epoch.
    pub fn observe(&self, metric: f64) -> f64 {
        self.state.lock().expect("plateau lock").step(metric)
    }

    /// The current rate.
    pub fn lr(&self) -> f64 {
        self.state.lock().expect("plateau lock").lr
    }
}

impl burn::optim::lr_scheduler::LrScheduler for PlateauScheduler {
    fn step(&mut self) -> burn::optim::LearningRate {
        self.lr()
    }

    fn to_record(&self) -> burn::optim::lr_scheduler::LrSchedulerRecord {
        let s = self.state.lock().expect("plateau lock");
        burn::optim::lr_scheduler::LrSchedulerRecord::new()
            .with_scalar("lr", s.lr)
            .with_scalar("best", s.best)
            .with_scalar("num_bad_epochs", s.num_bad_epochs as u64)
            .with_scalar("cooldown_counter", s.cooldown_counter as u64)
    }

    fn load_record(&mut self, record: burn::optim::lr_scheduler::LrSchedulerRecord) {
        let mut s = self.state.lock().expect("plateau lock");
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
