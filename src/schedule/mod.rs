//! Learning-rate schedules with the semantics of timm and torch, the reduce-on-plateau state
//! machines, fastai's LR-finder numbers, and an adapter that runs any [`Schedule`] as a
//! burn-train [`LrScheduler`], stepping per update or
//! per epoch.

mod lr_find;
mod plateau;
mod timm;
mod torch;
mod warmup_cosine;

pub use lr_find::{
    SmoothedLoss, Suggested, Suggestion, lr_find_schedule, lr_find_schedule_inclusive, suggest,
};
pub use plateau::{PlateauMode, PlateauScheduler, ReduceLrOnPlateau, ThresholdMode, TimmPlateau};
pub use timm::{TimmKind, TimmSchedule};
pub use torch::{OneCycle, TorchSchedule};
pub use warmup_cosine::WarmupCosineLr;

use std::sync::Arc;

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

/// A learning rate as a function of a step count (an epoch or an update).
pub trait Schedule: Send + Sync + std::fmt::Debug {
    /// The rate at step `t` (from 0).
    fn lr(&self, t: usize) -> f64;

    /// The momentum (or Adam's beta1) at step `t` for schedules that cycle it (one-cycle);
    /// `None` (the default) for the others.
    fn momentum(&self, _t: usize) -> Option<f64> {
        None
    }
}

/// A momentum value shared between a schedule that cycles it and the optimizer that uses it
/// (one-cycle's momentum curve, Smith and Topin 2019): the [`ScheduleRunner`] writes the value
/// of each step, an optimizer built with the cell (podium's
/// [`TorchSgd::with_momentum_cell`](crate::optim::TorchSgd::with_momentum_cell)) reads it.
#[derive(Clone, Debug)]
pub struct MomentumCell(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl PartialEq for MomentumCell {
    /// Two handles are equal when they share the cell.
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for MomentumCell {
    fn default() -> Self {
        Self(std::sync::Arc::new(std::sync::atomic::AtomicU64::new(
            f64::NAN.to_bits(),
        )))
    }
}

impl MomentumCell {
    /// An empty cell (the optimizer uses its own momentum until a value is set).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the momentum for the coming optimizer steps.
    pub fn set(&self, momentum: f64) {
        self.0
            .store(momentum.to_bits(), std::sync::atomic::Ordering::Relaxed);
    }

    /// The momentum last set, `None` before the first.
    pub fn get(&self) -> Option<f64> {
        let v = f64::from_bits(self.0.load(std::sync::atomic::Ordering::Relaxed));
        (!v.is_nan()).then_some(v)
    }
}

/// What one step of a [`Schedule`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepUnit {
    /// Every optimizer update.
    Update,
    /// Every epoch of `updates_per_epoch` updates (the rate holds within an epoch, as timm's
    /// `t_in_epochs=True`).
    Epoch {
        /// Updates per epoch.
        updates_per_epoch: usize,
    },
}

/// Runs a [`Schedule`] as a burn-train [`LrScheduler`]: the `k`-th call to `step` (from 0)
/// returns `schedule.lr(k)` per update, or `schedule.lr(k / updates_per_epoch)` per epoch.
#[derive(Clone, Debug)]
pub struct ScheduleRunner {
    schedule: Arc<dyn Schedule>,
    unit: StepUnit,
    step: usize,
    momentum: Option<MomentumCell>,
}

impl ScheduleRunner {
    /// Runs `schedule` stepping by `unit`.
    pub fn new(schedule: Arc<dyn Schedule>, unit: StepUnit) -> Self {
        Self {
            schedule,
            unit,
            step: 0,
            momentum: None,
        }
    }

    /// Publishes the schedule's momentum of each step (one-cycle's curve) to `cell`, for the
    /// optimizer that reads it.
    pub fn with_momentum(mut self, cell: MomentumCell) -> Self {
        self.momentum = Some(cell);
        self
    }
}

impl LrScheduler for ScheduleRunner {
    fn step(&mut self) -> LearningRate {
        let t = match self.unit {
            StepUnit::Update => self.step,
            StepUnit::Epoch { updates_per_epoch } => self.step / updates_per_epoch.max(1),
        };
        self.step += 1;
        if let (Some(cell), Some(m)) = (&self.momentum, self.schedule.momentum(t)) {
            cell.set(m);
        }
        self.schedule.lr(t)
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("step", self.step as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(step) = record.scalar::<u64>("step") {
            self.step = step as usize;
        }
    }
}
