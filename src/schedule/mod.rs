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
}

impl ScheduleRunner {
    /// Runs `schedule` stepping by `unit`.
    pub fn new(schedule: Arc<dyn Schedule>, unit: StepUnit) -> Self {
        Self {
            schedule,
            unit,
            step: 0,
        }
    }
}

impl LrScheduler for ScheduleRunner {
    fn step(&mut self) -> LearningRate {
        let t = match self.unit {
            StepUnit::Update => self.step,
            StepUnit::Epoch { updates_per_epoch } => self.step / updates_per_epoch.max(1),
        };
        self.step += 1;
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
