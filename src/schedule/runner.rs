//! [`ScheduleRunner`]: any [`Schedule`] as a burn-train [`LrScheduler`], stepping per update or
//! per epoch.

use std::sync::Arc;

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use super::Schedule;
use crate::optim::HyperParams;

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
    hyper: Option<HyperParams>,
}

impl ScheduleRunner {
    /// Runs `schedule` stepping by `unit`.
    pub fn new(schedule: Arc<dyn Schedule>, unit: StepUnit) -> Self {
        Self {
            schedule,
            unit,
            step: 0,
            hyper: None,
        }
    }

    /// Writes the schedule's momentum of each step (one-cycle's curve) to `hyper`, for the
    /// optimizer built with the same handle
    /// ([`OptimizerConfig::init`](crate::optim::OptimizerConfig::init)).
    pub fn with_hyper_params(mut self, hyper: HyperParams) -> Self {
        self.hyper = Some(hyper);
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
        if let (Some(hyper), Some(m)) = (&self.hyper, self.schedule.momentum(t)) {
            hyper.set_momentum(m);
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
