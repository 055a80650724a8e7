//! [`ScheduleConfig`]: one serializable choice among the schedules, built for a run by
//! [`ScheduleConfig::init`] from a [`ScheduleContext`].

use std::sync::Arc;

use burn::module::ParamGroup;
use burn::optim::LearningRate;
use burn::optim::lr_scheduler::constant::ConstantLr;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use serde::{Deserialize, Serialize};

use super::{
    OneCycleConfig, PlateauConfig, PlateauDriver, PlateauMode, ScheduleRunner, StepUnit,
    TimmScheduleConfig, TorchScheduleConfig, WarmupCosineConfig,
};
use crate::error::{PodiumError, Result};
use crate::optim::HyperParams;

/// The learning-rate schedule of a training run, stepped once per optimizer update. No variant
/// holds a base rate or a step count: they come from the run ([`ScheduleContext`]).
///
/// Serialized externally tagged, the variant name holding the config's fields: `"Constant"`,
/// `{"Cosine": {"warmup_epochs": 1, "min_lr": 0.0}}`,
/// `{"Torch": {"CosineWarmRestarts": {"t_0": 10, "t_mult": 2, "eta_min": 0.0}}}`,
/// `{"OneCycle": {"pct_start": 0.3, ...}}`.
///
/// | variant | steps per | follows |
/// |---|---|---|
/// | `Constant` | | burn's `ConstantLr` |
/// | `Cosine` | update | timm's `cosine` with `warmup_prefix=True`, one cycle over the run ([`WarmupCosineConfig`]) |
/// | `Timm` | epoch | timm's cosine, poly, tanh, step and multi-step schedulers ([`TimmScheduleConfig`]) |
/// | `Torch` | epoch | torch's `StepLR`, `MultiStepLR`, `ExponentialLR`, `CosineAnnealingLR`, `CosineAnnealingWarmRestarts`, `LinearLR` ([`TorchScheduleConfig`]) |
/// | `OneCycle` | update | torch's `OneCycleLR` over every update of the run, with momentum cycling ([`OneCycleConfig`]) |
/// | `Plateau` | epoch | torch's `ReduceLROnPlateau` / timm's `PlateauLRScheduler` on a validation metric ([`PlateauConfig`]) |
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScheduleConfig {
    /// The base learning rate throughout.
    Constant,
    /// Linear warm-up then cosine annealing (Loshchilov and Hutter 2017, without restarts; timm's
    /// `cosine` with `warmup_prefix=True`). At update `t` (from 0) of `T`, with `W` warm-up
    /// updates: `lr = base (t + 1) / W` for `t < W`, else
    /// `lr = min_lr + (base - min_lr) (1 + cos(pi (t - W) / (T - W))) / 2`.
    Cosine(WarmupCosineConfig),
    /// A timm schedule stepped per epoch (timm's `t_in_epochs=True`) from the run's peak rate.
    Timm(TimmScheduleConfig),
    /// A torch schedule stepped per epoch (torch recipes call `scheduler.step()` after each
    /// epoch) from the run's peak rate.
    Torch(TorchScheduleConfig),
    /// torch's `OneCycleLR` over all updates of the run, peaking at the run's rate. With
    /// `cycle_momentum`, the momentum curve reaches the optimizers that take it
    /// ([`OptimizerConfig::cycles_momentum`](crate::optim::OptimizerConfig::cycles_momentum))
    /// through the context's [`HyperParams`] handle.
    OneCycle(OneCycleConfig),
    /// Reduce-on-plateau on a validation metric: the rate starts at the run's rate and is
    /// multiplied by `factor` after `patience` epochs without improvement; its
    /// [`PlateauDriver`] ([`ScheduleConfig::plateau`]) is fed the metric.
    Plateau(PlateauConfig),
}

impl Default for ScheduleConfig {
    /// Cosine annealing over the run, without warm-up.
    fn default() -> Self {
        Self::Cosine(WarmupCosineConfig::new())
    }
}

/// What a [`ScheduleConfig`] needs from the run: the peak rate, the epochs and the optimizer
/// updates per epoch; optionally discriminative learning rates for parameter groups, the
/// [`HyperParams`] handle the optimizer reads (one-cycle writes its momentum there), and the
/// [`PlateauDriver`] of a plateau schedule.
#[derive(Clone, Debug)]
pub struct ScheduleContext<'a> {
    /// The peak (base) learning rate.
    pub lr: f64,
    /// Epochs of the run.
    pub epochs: usize,
    /// Optimizer updates per epoch.
    pub updates_per_epoch: usize,
    /// Parameter groups with their own peak rate (fastai's discriminative rates), in order.
    pub groups: &'a [(String, ParamGroup)],
    /// The peak rate of each group.
    pub group_lrs: Vec<f64>,
    /// The handle one-cycle writes its momentum / beta1 into.
    pub hyper: Option<HyperParams>,
    /// The driver of a [`ScheduleConfig::Plateau`].
    pub plateau: Option<PlateauDriver>,
}

impl ScheduleContext<'static> {
    /// A run of `epochs` epochs of `updates_per_epoch` updates peaking at `lr`, without groups,
    /// handle or plateau driver.
    pub fn new(lr: f64, epochs: usize, updates_per_epoch: usize) -> Self {
        Self {
            lr,
            epochs,
            updates_per_epoch,
            groups: &[],
            group_lrs: Vec::new(),
            hyper: None,
            plateau: None,
        }
    }
}

impl<'a> ScheduleContext<'a> {
    /// Discriminative learning rates: the parameters of `groups[i]` follow the schedule at peak
    /// rate `lrs[i]`, everything else (and the reported rate) at `lr`.
    pub fn with_groups<'b>(
        self,
        groups: &'b [(String, ParamGroup)],
        lrs: Vec<f64>,
    ) -> ScheduleContext<'b> {
        ScheduleContext {
            lr: self.lr,
            epochs: self.epochs,
            updates_per_epoch: self.updates_per_epoch,
            groups,
            group_lrs: lrs,
            hyper: self.hyper,
            plateau: self.plateau,
        }
    }

    /// The handle a one-cycle schedule writes its momentum into (other schedules ignore it).
    pub fn with_hyper_params(mut self, hyper: Option<HyperParams>) -> Self {
        self.hyper = hyper;
        self
    }

    /// The driver of a plateau schedule ([`ScheduleConfig::plateau`]).
    pub fn with_plateau(mut self, plateau: Option<PlateauDriver>) -> Self {
        self.plateau = plateau;
        self
    }
}

impl ScheduleConfig {
    /// Checks the values that do not depend on the run.
    ///
    /// # Errors
    /// The schedule config's own [`PodiumError::Config`] (`t_initial`, `pct_start`, `factor`,
    /// ...).
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Constant => Ok(()),
            Self::Cosine(c) => c.validate(),
            Self::Timm(c) => c.validate(),
            Self::Torch(c) => c.validate(),
            Self::OneCycle(c) => c.validate(),
            Self::Plateau(c) => c.validate(),
        }
    }

    /// Whether the schedule cycles the optimizer's momentum (one-cycle with `cycle_momentum`):
    /// then give the same [`HyperParams`] handle to the optimizer and to [`Self::init`].
    pub fn cycles_momentum(&self) -> bool {
        matches!(self, Self::OneCycle(c) if c.cycle_momentum)
    }

    /// The driver of a [`ScheduleConfig::Plateau`] starting at `lr`, for a metric where `mode`
    /// says what is better (`None` for other schedules). Feed it the metric after each epoch and
    /// pass it to [`Self::init`] in the [`ScheduleContext`].
    ///
    /// # Errors
    /// [`PodiumError::Config`] for invalid plateau values.
    pub fn plateau(&self, lr: f64, mode: PlateauMode) -> Result<Option<PlateauDriver>> {
        match self {
            Self::Plateau(c) => Ok(Some(PlateauDriver::new(c.init(lr, mode)?))),
            _ => Ok(None),
        }
    }

    /// Builds the burn-train scheduler for the run described by `ctx`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for invalid schedule values; when the groups and their rates
    /// differ in length (`lr_min`); for a plateau schedule without its driver in `ctx`
    /// (`schedule`) or with groups (`lr_min`: its state follows one metric).
    pub fn init(&self, ctx: &ScheduleContext) -> Result<ModuleLrScheduler> {
        if ctx.groups.len() != ctx.group_lrs.len() {
            return Err(PodiumError::config(
                "lr_min",
                format!("{} rates", ctx.group_lrs.len()),
                format!("the model has {} layer groups", ctx.groups.len()),
            ));
        }
        if matches!(self, Self::Plateau(_)) && !ctx.groups.is_empty() {
            return Err(PodiumError::config(
                "lr_min",
                "Plateau",
                "discriminative learning rates need a fixed schedule",
            ));
        }
        let mut scheduler = ModuleLrScheduler::new(self.one(ctx.lr, ctx, ctx.hyper.clone())?);
        for ((_, group), &lr) in ctx.groups.iter().zip(&ctx.group_lrs) {
            scheduler = scheduler.with_group(group.clone(), self.one(lr, ctx, None)?);
        }
        Ok(scheduler)
    }

    /// The schedule of one group, peaking at `lr`; `hyper` receives one-cycle's momentum.
    fn one(&self, lr: f64, ctx: &ScheduleContext, hyper: Option<HyperParams>) -> Result<BoxedLr> {
        let per_epoch = StepUnit::Epoch {
            updates_per_epoch: ctx.updates_per_epoch,
        };
        let runner = |schedule: Arc<dyn super::Schedule>, unit| {
            let runner = ScheduleRunner::new(schedule, unit);
            match &hyper {
                Some(h) => runner.with_hyper_params(h.clone()),
                None => runner,
            }
        };
        Ok(BoxedLr(match self {
            Self::Constant => Box::new(ConstantLr::new(lr)),
            Self::Cosine(c) => Box::new(c.init(lr, ctx.epochs, ctx.updates_per_epoch)?),
            Self::Timm(c) => Box::new(runner(Arc::new(c.init(lr)?), per_epoch)),
            Self::Torch(c) => Box::new(runner(Arc::new(c.init(lr)?), per_epoch)),
            Self::OneCycle(c) => Box::new(runner(
                Arc::new(c.init(lr, ctx.epochs * ctx.updates_per_epoch)?),
                StepUnit::Update,
            )),
            Self::Plateau(_) => Box::new(ctx.plateau.clone().ok_or_else(|| {
                PodiumError::config(
                    "schedule",
                    "Plateau",
                    "a plateau schedule follows a validation metric: pass its driver \
                     (ScheduleConfig::plateau) in the ScheduleContext",
                )
            })?),
        }))
    }
}

/// A boxed burn scheduler that is itself an [`LrScheduler`] (burn's `DynLrScheduler` is not).
#[derive(Clone)]
struct BoxedLr(Box<dyn LrScheduler>);

impl LrScheduler for BoxedLr {
    fn step(&mut self) -> LearningRate {
        self.0.step()
    }

    fn to_record(&self) -> LrSchedulerRecord {
        self.0.to_record()
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        self.0.load_record(record)
    }
}
