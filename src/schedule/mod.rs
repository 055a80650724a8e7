//! Learning-rate schedules with the semantics of timm and torch, the reduce-on-plateau state
//! machines and their driver, fastai's LR-finder numbers, and an adapter that runs any
//! [`Schedule`] as a burn-train [`LrScheduler`](burn::optim::lr_scheduler::LrScheduler),
//! stepping per update or per epoch.
//!
//! Each schedule has a configuration without the base rate and the step count, which a run
//! supplies: [`ScheduleConfig`] (one serializable choice among them) builds the burn-train
//! scheduler of a run from a [`ScheduleContext`] (peak rate, epochs, updates per epoch,
//! discriminative groups, the optimizer's [`HyperParams`](crate::optim::HyperParams) handle, the
//! [`PlateauDriver`]); each config's own `init` builds the standalone schedule from explicit
//! values (`OneCycleConfig::init(max_lr, total_steps)`), as the reference tests use them.
//!
//! | config | schedule | follows |
//! |---|---|---|
//! | [`WarmupCosineConfig`] | [`WarmupCosineLr`] | timm's `cosine`, `warmup_prefix=True`, one cycle |
//! | [`TimmScheduleConfig`] ([`TimmKind`]) | [`TimmSchedule`] | timm's `CosineLRScheduler` (SGDR cycles), `PolyLRScheduler`, `TanhLRScheduler`, `StepLRScheduler`, `MultiStepLRScheduler` |
//! | [`TorchScheduleConfig`] | [`TorchSchedule`] | torch's `StepLR`, `MultiStepLR`, `ExponentialLR`, `CosineAnnealingLR`, `CosineAnnealingWarmRestarts` (SGDR), `LinearLR` |
//! | [`OneCycleConfig`] | [`OneCycle`] (rate and momentum / beta1) | torch's `OneCycleLR` (Smith and Topin 2019) |
//! | [`PlateauConfig`] | [`TimmPlateau`] over [`ReduceLrOnPlateau`], run by a [`PlateauDriver`] | torch's `ReduceLROnPlateau`, timm's `PlateauLRScheduler` |
//! | | [`lr_find_schedule`], [`SmoothedLoss`], [`suggest`] | fastai's `lr_find` |

mod config;
mod lr_find;
mod one_cycle;
mod plateau;
mod runner;
mod timm;
mod torch;
mod warmup_cosine;

pub use config::{ScheduleConfig, ScheduleContext};
pub use lr_find::{
    SmoothedLoss, Suggested, Suggestion, lr_find_schedule, lr_find_schedule_inclusive, suggest,
};
pub use one_cycle::{AnnealStrategy, OneCycle, OneCycleConfig};
pub use plateau::{
    PlateauConfig, PlateauDriver, PlateauMode, ReduceLrOnPlateau, ThresholdMode, TimmPlateau,
};
pub use runner::{ScheduleRunner, StepUnit};
pub use timm::{TimmKind, TimmSchedule, TimmScheduleConfig};
pub use torch::{TorchSchedule, TorchScheduleConfig};
pub use warmup_cosine::{WarmupCosineConfig, WarmupCosineLr};

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
