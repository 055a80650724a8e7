//! [`LearnerConfig`]: one serializable config for a whole training recipe.

use burn::config::Config;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};

use crate::augment::PipelineConfig;
use crate::average::ModelEmaConfig;
use crate::data::{CorruptPolicy, Normalize};
use crate::error::{PodiumError, Result};
use crate::loss::LossConfig;
use crate::mix::MixupConfig;
use crate::optim::{
    AdaBelief, Adamax, Beta1Cell, GradNorm, Lamb, Lars, Lookahead, Madgrad, NAdam, RAdam,
    TorchAdam, TorchSgd, clip_grad_norm_tensors, clip_grad_value_tensors,
};
use crate::sample::SamplerConfig;
use crate::schedule::MomentumCell;
use crate::schedule::{
    OneCycle, PlateauMode, PlateauScheduler, ReduceLrOnPlateau, ScheduleRunner, StepUnit,
    ThresholdMode, TimmSchedule, TorchSchedule, WarmupCosineLr,
};
use burn::module::ParamGroup;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::lr_scheduler::constant::ConstantLr;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use std::sync::Arc;

/// The optimizer, with PyTorch's defaults (not burn's: burn's Adam epsilon is `1e-5` and its
/// momentum dampening `0.1`; torch's are `1e-8` and `0`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerConfig {
    /// `torch.optim.SGD` ([`TorchSgd`]): `g += weight_decay w`; the momentum buffer starts as
    /// `g`, then `buf = momentum buf + g`; `w -= lr (g + momentum buf)` with Nesterov,
    /// `w -= lr buf` without.
    Sgd {
        /// Momentum factor (torch default 0; 0.9 is the usual choice).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty added to the gradient.
        weight_decay: f32,
    },
    /// `torch.optim.Adam` (Kingma and Ba 2015) with L2 weight decay added to the gradient.
    Adam {
        /// First-moment decay (0.9).
        beta1: f32,
        /// Second-moment decay (0.999).
        beta2: f32,
        /// Denominator term (1e-8).
        eps: f32,
        /// L2 penalty (0).
        weight_decay: f32,
    },
    /// `torch.optim.AdamW` (Loshchilov and Hutter 2019): decoupled weight decay
    /// `w -= lr * weight_decay * w`.
    AdamW {
        /// First-moment decay (0.9).
        beta1: f32,
        /// Second-moment decay (0.999).
        beta2: f32,
        /// Denominator term (1e-8).
        eps: f32,
        /// Decoupled weight decay (torch default 0.01).
        weight_decay: f32,
    },
    /// [`RAdam`](crate::optim::RAdam) (torch).
    RAdam {
        /// First-moment decay (0.9).
        beta1: f64,
        /// Second-moment decay (0.999).
        beta2: f64,
        /// Denominator term (1e-8).
        eps: f64,
        /// L2 penalty (0).
        weight_decay: f64,
    },
    /// [`NAdam`](crate::optim::NAdam) (torch).
    NAdam {
        /// First-moment decay (0.9).
        beta1: f64,
        /// Second-moment decay (0.999).
        beta2: f64,
        /// Denominator term (1e-8).
        eps: f64,
        /// L2 penalty (0).
        weight_decay: f64,
        /// Momentum schedule decay (4e-3).
        momentum_decay: f64,
    },
    /// [`Adamax`](crate::optim::Adamax) (torch).
    Adamax {
        /// First-moment decay (0.9).
        beta1: f64,
        /// Infinity-norm decay (0.999).
        beta2: f64,
        /// Added inside the max (1e-8).
        eps: f64,
        /// L2 penalty (0).
        weight_decay: f64,
    },
    /// [`Lamb`](crate::optim::Lamb) (timm; `trust_clip` gives LAMBC). timm also clips the
    /// global gradient norm at 1 first: set [`LearnerConfig::clip_grad`] for that.
    Lamb {
        /// First-moment decay (0.9).
        beta1: f64,
        /// Second-moment decay (0.999).
        beta2: f64,
        /// Denominator term (1e-6).
        eps: f64,
        /// Weight decay (timm default 0.01).
        weight_decay: f64,
        /// Clamp the trust ratio at 1.
        trust_clip: bool,
    },
    /// [`Lars`](crate::optim::Lars) (timm; `trust_clip` gives LARC).
    Lars {
        /// Momentum (0.9).
        momentum: f64,
        /// Weight decay.
        weight_decay: f64,
        /// Trust coefficient (1e-3).
        trust_coeff: f64,
        /// Clip the trust ratio (LARC).
        trust_clip: bool,
    },
    /// [`Madgrad`](crate::optim::Madgrad) (timm).
    Madgrad {
        /// Momentum (0.9).
        momentum: f64,
        /// L2 weight decay.
        weight_decay: f64,
        /// Denominator term (1e-6).
        eps: f64,
    },
    /// burn's Lion (Chen et al. 2023), which matches timm's.
    Lion {
        /// Interpolation factor of the update (0.9).
        beta1: f64,
        /// Momentum decay (0.99).
        beta2: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
    /// Ranger: [`Lookahead`](crate::optim::Lookahead) over [`RAdam`](crate::optim::RAdam)
    /// (timm's `lookahead_radam`: `alpha = 0.5`, `k = 6`).
    Ranger {
        /// First-moment decay (0.9).
        beta1: f64,
        /// Second-moment decay (0.999).
        beta2: f64,
        /// Denominator term (1e-8).
        eps: f64,
        /// L2 weight decay.
        weight_decay: f64,
        /// Slow-weight step.
        alpha: f64,
        /// Sync period.
        k: usize,
    },
    /// [`Lookahead`](crate::optim::Lookahead) (timm's behaviour) over any other optimizer.
    Lookahead {
        /// The fast optimizer.
        base: Box<OptimizerConfig>,
        /// Slow-weight step (timm default 0.5).
        alpha: f64,
        /// Sync period (timm default 6).
        k: usize,
    },
    /// [`AdaBelief`](crate::optim::AdaBelief) (timm; `rectify` gives RAdaBelief).
    AdaBelief {
        /// First-moment decay (0.9).
        beta1: f64,
        /// Belief decay (0.999).
        beta2: f64,
        /// Denominator term (timm default 1e-16).
        eps: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
        /// RAdam's rectification.
        rectify: bool,
    },
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self::adamw()
    }
}

impl OptimizerConfig {
    /// AdamW with torch's defaults: betas `(0.9, 0.999)`, eps `1e-8`, weight decay `0.01`.
    pub fn adamw() -> Self {
        Self::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }

    /// Adam with torch's defaults: betas `(0.9, 0.999)`, eps `1e-8`, no weight decay.
    pub fn adam() -> Self {
        Self::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// SGD with momentum 0.9, Nesterov off, no weight decay.
    pub fn sgd() -> Self {
        Self::Sgd {
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Checks the hyperparameters.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key (`optimizer.beta1` ...) for a beta outside `[0, 1)`,
    /// a non-positive eps, a negative weight decay or momentum.
    pub fn validate(&self) -> Result<()> {
        self.init().map(|_| ())
    }

    /// Builds the burn optimizer.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self) -> Result<ModuleOptimizer> {
        self.build_with(Plain, None)
    }

    /// Builds the optimizer with its momentum read from `cell` (one-cycle's momentum curve), as
    /// torch's `OneCycleLR` rewrites SGD's `momentum` or Adam's `betas[0]` every step: SGD with
    /// momentum reads it, Adam and AdamW are built as podium's [`TorchAdam`] reading it as
    /// beta1; other optimizers ignore the cell (see [`Self::cycles_momentum`]).
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn init_with_momentum(&self, cell: MomentumCell) -> Result<ModuleOptimizer> {
        self.build_with(Plain, Some(cell))
    }

    /// Whether the optimizer takes a cycled momentum ([`Self::init_with_momentum`]): SGD with
    /// momentum, and the Adam family (Adam and AdamW as podium's [`TorchAdam`], RAdam, NAdam,
    /// Adamax, AdaBelief, LAMB: beta1 cycled), alone or inside a Lookahead. LARS, NvNovoGrad
    /// and MADGRAD keep their momentum.
    pub fn cycles_momentum(&self) -> bool {
        match self {
            Self::Sgd { momentum, .. } => *momentum > 0.0,
            Self::Adam { .. }
            | Self::AdamW { .. }
            | Self::RAdam { .. }
            | Self::NAdam { .. }
            | Self::Adamax { .. }
            | Self::AdaBelief { .. }
            | Self::Lamb { .. } => true,
            Self::Lookahead { base, .. } => base.cycles_momentum(),
            _ => false,
        }
    }

    /// Builds the typed optimizer and hands it to `sink` (plain, or wrapped in a Lookahead);
    /// `cell` carries one-cycle's momentum / beta1 curve to the optimizers that take it.
    fn build_with<S: OptimizerSink>(
        &self,
        sink: S,
        cell: Option<MomentumCell>,
    ) -> Result<ModuleOptimizer> {
        let check = |key: &str, v: f64, ok: bool, rule: &str| {
            if ok {
                Ok(())
            } else {
                Err(PodiumError::config(key, v, rule))
            }
        };
        let section = |e: PodiumError| e.in_section("optimizer");
        Ok(match *self {
            Self::Sgd {
                momentum,
                nesterov,
                weight_decay,
            } => {
                check(
                    "momentum",
                    momentum,
                    (0.0..1.0).contains(&momentum),
                    "must be in [0, 1)",
                )
                .map_err(section)?;
                let sgd =
                    TorchSgd::new(momentum, 0.0, weight_decay as f64, nesterov).map_err(section)?;
                sink.take(match cell {
                    Some(cell) => sgd.with_momentum_cell(cell),
                    None => sgd,
                })?
            }
            Self::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
            }
            | Self::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                crate::optim::check_betas(beta1 as f64, beta2 as f64).map_err(section)?;
                check("eps", eps as f64, eps > 0.0, "must be > 0").map_err(section)?;
                check(
                    "weight_decay",
                    weight_decay as f64,
                    weight_decay >= 0.0,
                    "must be >= 0",
                )
                .map_err(section)?;
                let adam = matches!(self, Self::Adam { .. });
                if let Some(cell) = cell {
                    // one-cycle's beta1 curve: podium's torch Adam/AdamW reads it each step
                    let (b1, b2, e, wd) =
                        (beta1 as f64, beta2 as f64, eps as f64, weight_decay as f64);
                    let opt = if adam {
                        TorchAdam::adam(b1, b2, e, wd, false)
                    } else {
                        TorchAdam::adamw(b1, b2, e, wd, false)
                    }
                    .map_err(section)?;
                    return sink.take(opt.with_beta1_cell(cell));
                }
                if adam {
                    let mut c = AdamConfig::new()
                        .with_beta_1(beta1)
                        .with_beta_2(beta2)
                        .with_epsilon(eps);
                    if weight_decay > 0.0 {
                        c = c.with_weight_decay(Some(WeightDecayConfig::new(weight_decay)));
                    }
                    sink.take(c.build())?
                } else {
                    sink.take(
                        AdamWConfig::new()
                            .with_beta_1(beta1)
                            .with_beta_2(beta2)
                            .with_epsilon(eps)
                            .with_weight_decay(weight_decay)
                            .build(),
                    )?
                }
            }
            Self::RAdam {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => sink.take(cycled(
                RAdam::new(beta1, beta2, eps, weight_decay).map_err(section)?,
                &cell,
            ))?,
            Self::NAdam {
                beta1,
                beta2,
                eps,
                weight_decay,
                momentum_decay,
            } => sink.take(cycled(
                NAdam::new(beta1, beta2, eps, weight_decay, momentum_decay).map_err(section)?,
                &cell,
            ))?,
            Self::Adamax {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => sink.take(cycled(
                Adamax::new(beta1, beta2, eps, weight_decay).map_err(section)?,
                &cell,
            ))?,
            Self::AdaBelief {
                beta1,
                beta2,
                eps,
                weight_decay,
                rectify,
            } => sink.take(cycled(
                AdaBelief::new(beta1, beta2, eps, weight_decay, true, rectify, true)
                    .map_err(section)?,
                &cell,
            ))?,
            Self::Lamb {
                beta1,
                beta2,
                eps,
                weight_decay,
                trust_clip,
            } => sink.take(cycled(
                Lamb::new(beta1, beta2, eps, weight_decay, trust_clip, true).map_err(section)?,
                &cell,
            ))?,
            Self::Lars {
                momentum,
                weight_decay,
                trust_coeff,
                trust_clip,
            } => sink.take(
                Lars::new(momentum, weight_decay, trust_coeff, 1e-8, trust_clip, false)
                    .map_err(section)?,
            )?,
            Self::Madgrad {
                momentum,
                weight_decay,
                eps,
            } => sink.take(Madgrad::new(momentum, weight_decay, eps, false).map_err(section)?)?,
            Self::Lion {
                beta1,
                beta2,
                weight_decay,
            } => {
                crate::optim::check_betas(beta1, beta2).map_err(section)?;
                check(
                    "weight_decay",
                    weight_decay,
                    weight_decay >= 0.0,
                    "must be >= 0",
                )
                .map_err(section)?;
                sink.take(
                    burn::optim::LionConfig::new()
                        .with_beta_1(beta1 as f32)
                        .with_beta_2(beta2 as f32)
                        .with_weight_decay(weight_decay as f32)
                        .build(),
                )?
            }
            Self::Ranger {
                beta1,
                beta2,
                eps,
                weight_decay,
                alpha,
                k,
            } => sink.take(
                Lookahead::new(
                    RAdam::new(beta1, beta2, eps, weight_decay).map_err(section)?,
                    alpha,
                    k,
                )
                .map_err(section)?,
            )?,
            Self::Lookahead { ref base, alpha, k } => {
                base.build_with(LookaheadSink { alpha, k }, cell)?
            }
        })
    }
}

/// Receives a typed optimizer built from an [`OptimizerConfig`].
trait OptimizerSink {
    fn take<O: burn::optim::Optimizer>(self, optimizer: O) -> Result<ModuleOptimizer>;
}

struct Plain;

impl OptimizerSink for Plain {
    fn take<O: burn::optim::Optimizer>(self, optimizer: O) -> Result<ModuleOptimizer> {
        Ok(optimizer.into())
    }
}

struct LookaheadSink {
    alpha: f64,
    k: usize,
}

impl OptimizerSink for LookaheadSink {
    fn take<O: burn::optim::Optimizer>(self, optimizer: O) -> Result<ModuleOptimizer> {
        Ok(Lookahead::new(optimizer, self.alpha, self.k)
            .map_err(|e| e.in_section("optimizer"))?
            .into())
    }
}

/// Sharpness-aware minimization settings (davda54/sam's names).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamConfig {
    /// Neighbourhood size (0.05 for SAM, about 2 for ASAM).
    pub rho: f64,
    /// ASAM's parameter-scaled perturbation.
    pub adaptive: bool,
}

impl SamConfig {
    /// Builds the [`Sam`](crate::optim::Sam) step.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`sam.rho`) for a negative or non-finite rho.
    pub fn init(&self) -> Result<crate::optim::Sam> {
        crate::optim::Sam::new(self.rho, self.adaptive)
    }
}

/// Gradient clipping before each optimizer step, with torch's semantics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClipGrad {
    /// `clip_grad_norm_`: one global norm over all gradients.
    Norm {
        /// The largest norm allowed.
        max_norm: f64,
        /// The norm.
        norm: GradNorm,
    },
    /// `clip_grad_value_`.
    Value {
        /// Each gradient value is clamped to `[-clip, clip]`.
        clip: f64,
    },
}

impl ClipGrad {
    /// Checks the value.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`clip_grad.max_norm` or `clip_grad.clip_value`).
    pub fn validate(&self) -> Result<()> {
        let r = match *self {
            ClipGrad::Norm { max_norm, norm } => {
                clip_grad_norm_tensors(Vec::new(), max_norm, norm).map(|_| ())
            }
            ClipGrad::Value { clip } => clip_grad_value_tensors(Vec::new(), clip).map(|_| ()),
        };
        r.map_err(|e| e.in_section("clip_grad"))
    }
}

/// The learning-rate schedule, stepped once per optimizer update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScheduleConfig {
    /// The base learning rate throughout.
    Constant,
    /// Linear warm-up then cosine annealing (Loshchilov and Hutter 2017, without restarts; timm's
    /// `cosine` with `warmup_prefix=True`). At update `t` (from 0) of `T`, with `W` warm-up
    /// updates: `lr = base * (t + 1) / W` for `t < W`, else
    /// `lr = min_lr + (base - min_lr) * (1 + cos(pi * (t - W) / (T - W))) / 2`.
    Cosine {
        /// Warm-up length in epochs (converted to updates).
        warmup_epochs: usize,
        /// The floor of the annealing.
        min_lr: f64,
    },
    /// A timm schedule stepped per epoch (timm's `t_in_epochs=True`), peaking at the config's
    /// `lr`; `schedule.base_lr` is replaced by it. See [`TimmSchedule`].
    Timm(TimmSchedule),
    /// torch's `ReduceLROnPlateau` on the monitored validation metric ([`Monitor`]): the rate
    /// starts at the config's `lr` and is multiplied by `factor` after `patience` epochs
    /// without improvement.
    Plateau {
        /// Reduction factor (torch default 0.1).
        factor: f64,
        /// Epochs without improvement tolerated (torch default 10).
        patience: usize,
        /// Improvement threshold (torch default 1e-4, relative).
        threshold: f64,
        /// Relative or absolute threshold.
        threshold_mode: ThresholdMode,
        /// Epochs to wait after a reduction (torch default 0).
        cooldown: usize,
        /// Floor of the rate.
        min_lr: f64,
    },
    /// torch's `OneCycleLR` over all updates of the run, peaking at the config's `lr`
    /// (`max_lr` and `total_steps` are replaced). The Learner applies the rate, and the
    /// momentum curve too when the optimizer takes it (SGD with momentum,
    /// [`OptimizerConfig::cycles_momentum`]); Adam-family optimizers keep a fixed beta1.
    OneCycle(OneCycle),
}

impl ScheduleConfig {
    /// The plateau scheduler of a [`ScheduleConfig::Plateau`] (`None` for other schedules).
    ///
    /// # Errors
    /// [`PodiumError::Config`] for invalid plateau values.
    pub fn plateau(&self, lr: f64, monitor: Monitor) -> Result<Option<PlateauScheduler>> {
        let ScheduleConfig::Plateau {
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
        } = *self
        else {
            return Ok(None);
        };
        let mode = match monitor {
            Monitor::ValidLoss => PlateauMode::Min,
            Monitor::ValidAccuracy => PlateauMode::Max,
        };
        let state = ReduceLrOnPlateau::new(lr, mode).with(
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
        )?;
        Ok(Some(PlateauScheduler::new(state)))
    }

    /// Builds the burn-train scheduler for a run of `epochs` epochs of `updates_per_epoch`
    /// updates, peaking at `lr`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for invalid schedule values.
    pub fn build(
        &self,
        lr: f64,
        epochs: usize,
        updates_per_epoch: usize,
    ) -> Result<ModuleLrScheduler> {
        Ok(ModuleLrScheduler::new(self.build_one(
            lr,
            epochs,
            updates_per_epoch,
            None,
        )?))
    }

    /// [`Self::build`] for a one-cycle schedule that also publishes its momentum curve to
    /// `cell` (other schedules ignore it).
    ///
    /// # Errors
    /// As [`Self::build`].
    pub fn build_with_momentum(
        &self,
        lr: f64,
        epochs: usize,
        updates_per_epoch: usize,
        cell: MomentumCell,
    ) -> Result<ModuleLrScheduler> {
        Ok(ModuleLrScheduler::new(self.build_one(
            lr,
            epochs,
            updates_per_epoch,
            Some(cell),
        )?))
    }

    /// The schedule with discriminative learning rates: the parameters of `groups[i]` follow
    /// the schedule at peak rate `lrs[i]`, everything else (and the reported rate) at `lr`.
    /// With a `cell`, a one-cycle schedule also publishes its momentum curve there (the same
    /// for every group).
    ///
    /// # Errors
    /// As [`Self::build`]; [`PodiumError::Config`] when `groups` and `lrs` differ in length or
    /// the schedule is `Plateau` (its state follows one metric, not groups).
    pub fn build_grouped(
        &self,
        lr: f64,
        epochs: usize,
        updates_per_epoch: usize,
        groups: &[(String, ParamGroup)],
        lrs: &[f64],
        cell: Option<MomentumCell>,
    ) -> Result<ModuleLrScheduler> {
        if groups.len() != lrs.len() {
            return Err(PodiumError::config(
                "lr_min",
                format!("{} rates", lrs.len()),
                format!("the model has {} layer groups", groups.len()),
            ));
        }
        if matches!(self, ScheduleConfig::Plateau { .. }) {
            return Err(PodiumError::config(
                "schedule",
                "Plateau",
                "discriminative learning rates (lr_min) need a fixed schedule",
            ));
        }
        let mut scheduler =
            ModuleLrScheduler::new(self.build_one(lr, epochs, updates_per_epoch, cell)?);
        for ((_, group), &group_lr) in groups.iter().zip(lrs) {
            scheduler = scheduler.with_group(
                group.clone(),
                self.build_one(group_lr, epochs, updates_per_epoch, None)?,
            );
        }
        Ok(scheduler)
    }

    fn build_one(
        &self,
        lr: f64,
        epochs: usize,
        updates_per_epoch: usize,
        cell: Option<MomentumCell>,
    ) -> Result<BoxedLr> {
        let total = epochs * updates_per_epoch;
        Ok(BoxedLr(match self {
            ScheduleConfig::Constant => Box::new(ConstantLr::new(lr)),
            ScheduleConfig::Cosine {
                warmup_epochs,
                min_lr,
            } => Box::new(WarmupCosineLr::new(
                lr,
                *min_lr,
                (warmup_epochs * updates_per_epoch).min(total),
                total,
            )?),
            ScheduleConfig::Timm(t) => {
                let mut t = t.clone();
                t.base_lr = lr;
                t.validate()?;
                Box::new(ScheduleRunner::new(
                    Arc::new(t),
                    StepUnit::Epoch { updates_per_epoch },
                ))
            }
            ScheduleConfig::Plateau { .. } => Box::new(
                self.plateau(lr, Monitor::ValidLoss)?
                    .expect("a plateau schedule"),
            ),
            ScheduleConfig::OneCycle(c) => {
                let mut c = c.clone();
                c.max_lr = lr;
                c.total_steps = total;
                c.validate()?;
                let runner =
                    ScheduleRunner::new(Arc::new(TorchSchedule::OneCycle(c)), StepUnit::Update);
                Box::new(match cell {
                    Some(cell) => runner.with_momentum(cell),
                    None => runner,
                })
            }
        }))
    }
}

/// `optimizer` reading beta1 from `cell` when there is one.
fn cycled<O: Beta1Cell>(optimizer: O, cell: &Option<MomentumCell>) -> O {
    match cell {
        Some(c) => optimizer.with_beta1_cell(c.clone()),
        None => optimizer,
    }
}

/// A boxed burn scheduler that is itself an [`LrScheduler`] (burn's `DynLrScheduler` is not).
#[derive(Clone)]
struct BoxedLr(Box<dyn LrScheduler>);

impl LrScheduler for BoxedLr {
    fn step(&mut self) -> burn::optim::LearningRate {
        self.0.step()
    }

    fn to_record(&self) -> burn::optim::lr_scheduler::LrSchedulerRecord {
        self.0.to_record()
    }

    fn load_record(&mut self, record: burn::optim::lr_scheduler::LrSchedulerRecord) {
        self.0.load_record(record)
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self::Cosine {
            warmup_epochs: 0,
            min_lr: 0.0,
        }
    }
}

/// The validation metric that selects the best checkpoint and drives early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Monitor {
    /// Lowest validation loss (the default, as burn-train's checkpointing).
    #[default]
    ValidLoss,
    /// Highest validation accuracy.
    ValidAccuracy,
}

/// How training progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ProgressMode {
    /// burn-train's terminal dashboard when stdout is a terminal and `CI` is unset, plain lines
    /// otherwise.
    #[default]
    Auto,
    /// Always burn-train's terminal dashboard.
    Dashboard,
    /// One line per epoch and split (for logs, pipes and CI).
    Plain,
    /// Nothing printed (the metrics CSV is still written).
    Quiet,
}

/// Early stopping on the [`Monitor`] metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlyStoppingConfig {
    /// Epochs without improvement before training stops.
    pub patience: usize,
}

/// Everything a classification run needs besides the model and the data, as one serializable
/// config (`LearnerConfig::save` / `LearnerConfig::load` write and read JSON).
#[derive(Config, Debug)]
pub struct LearnerConfig {
    /// Number of epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Batch size for training and validation.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Base (peak) learning rate.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Discriminative learning rates (fastai's `slice(lr_min, lr)`): the model's first layer
    /// group ([`ImageClassifier::layer_groups`](crate::model::ImageClassifier::layer_groups))
    /// peaks at `lr_min`, the head at `lr`, the groups between in geometric progression
    /// ([`even_mults`](crate::model::even_mults)). `None` trains every parameter at `lr`.
    pub lr_min: Option<f64>,
    /// The optimizer (default AdamW with torch's defaults).
    #[config(default = "OptimizerConfig::adamw()")]
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule (default cosine, no warm-up).
    #[config(default = "ScheduleConfig::Cosine { warmup_epochs: 0, min_lr: 0.0 }")]
    pub schedule: ScheduleConfig,
    /// The training loss (default plain cross-entropy). Validation always reports plain
    /// cross-entropy.
    #[config(default = "LossConfig::default()")]
    pub loss: LossConfig,
    /// Batch mixing (mixup / CutMix, timm's `Mixup`); `None` trains on plain batches. Its
    /// `num_classes` must match the data; with mixing, label smoothing belongs to the mixer
    /// (`mixup.label_smoothing`, timm's recipe), the batch size must be even, and the last
    /// smaller batch of each epoch is dropped.
    pub mixup: Option<MixupConfig>,
    /// Training augmentation ([`crate::augment`]): a pipeline applied to each decoded training
    /// image with a per-sample seed derived from the run seed; validation images are not
    /// augmented. `None` trains on the images as decoded. AugMix splits are for custom loops
    /// with [`JsdCrossEntropy`](crate::loss::JsdCrossEntropy) and are rejected here.
    pub augment: Option<PipelineConfig>,
    /// Sharpness-aware minimization (SAM, or ASAM with `adaptive`): two forward/backward passes
    /// per step ([`Sam`](crate::optim::Sam)); `None` trains plainly.
    pub sam: Option<SamConfig>,
    /// Gradient clipping before each optimizer step (torch's global norm or value); `None`
    /// leaves the gradients as they are.
    pub clip_grad: Option<ClipGrad>,
    /// An exponential moving average of the weights (timm's ModelEmaV2/V3), updated after every
    /// optimizer step; validation, the best-checkpoint choice and the returned model then use the
    /// averaged weights, and each checkpoint gets an `ema-N.bpk` beside it.
    pub ema: Option<ModelEmaConfig>,
    /// The training sampler (default: every item once per epoch, shuffled); class-aware and
    /// progressively balanced samplers fight class imbalance ([`crate::sample`]).
    #[config(default = "SamplerConfig::Shuffle")]
    pub sampler: SamplerConfig,
    /// The run seed: model initialisation (through [`Learner::new`](super::Learner::new)),
    /// shuffling and dropout derive from it, so a CPU run with the same seed gives the same
    /// metrics.
    #[config(default = 42)]
    pub seed: u64,
    /// Early stopping; `None` trains every epoch.
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Number of best checkpoints kept (by the monitored metric), besides the last one; more
    /// than one lets [`Fitted::average_best`](super::Fitted::average_best) average them.
    #[config(default = 1)]
    pub keep_best: usize,
    /// The metric that selects the best checkpoint (and early stopping's metric).
    #[config(default = "Monitor::ValidLoss")]
    pub monitor: Monitor,
    /// The run directory: checkpoints, `metrics.csv`, `config.json`, burn-train's logs.
    #[config(default = "String::from(\"runs/podium\")")]
    pub run_dir: String,
    /// Decoding threads (0: rayon's global pool).
    #[config(default = 0)]
    pub num_workers: usize,
    /// Drop the last, smaller training batch of each epoch.
    #[config(default = true)]
    pub drop_last: bool,
    /// Input normalization; `None` estimates per-channel mean and std from the training data.
    pub normalize: Option<Normalize>,
    /// What to do with image files that do not decode (checked before training starts).
    #[config(default = "CorruptPolicy::Fail")]
    pub corrupt_images: CorruptPolicy,
    /// How progress is shown.
    #[config(default = "ProgressMode::Auto")]
    pub progress: ProgressMode,
}

impl LearnerConfig {
    /// Checks every value.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key and the value at fault.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(PodiumError::config("epochs", 0, "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(PodiumError::config("batch_size", 0, "must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(PodiumError::config(
                "lr",
                self.lr,
                "must be a positive number",
            ));
        }
        self.loss.validate()?;
        if let Some(lo) = self.lr_min
            && !(lo > 0.0 && lo <= self.lr)
        {
            return Err(PodiumError::config(
                "lr_min",
                lo,
                format!("must be positive and at most lr ({})", self.lr),
            ));
        }
        if let Some(aug) = &self.augment {
            let pipeline = aug.init().map_err(|e| e.in_section("augment"))?;
            if pipeline.views() > 1 {
                return Err(PodiumError::config(
                    "augment.splits",
                    pipeline.views(),
                    "the Learner trains on one view per image; use AugMix splits with \
                     ImageLoader::augment and JsdCrossEntropy in a custom loop",
                ));
            }
        }
        if let Some(mix) = &self.mixup {
            if !self.batch_size.is_multiple_of(2) {
                return Err(PodiumError::config(
                    "batch_size",
                    self.batch_size,
                    "batch mixing needs an even batch size",
                ));
            }
            if matches!(self.loss, LossConfig::TopK { .. }) {
                return Err(PodiumError::config(
                    "loss",
                    "TopK",
                    "the top-k loss does not combine with batch mixing",
                ));
            }
            mix.init(0).map_err(|e| e.in_section("mixup"))?;
        }
        if let ScheduleConfig::Cosine { min_lr, .. } = self.schedule
            && !(0.0..=self.lr).contains(&min_lr)
        {
            return Err(PodiumError::config(
                "schedule.min_lr",
                min_lr,
                format!("must be in [0, lr = {}]", self.lr),
            ));
        }
        // The real update count is known once the data is; two per epoch is the least a
        // one-cycle needs, so a short run is not refused here.
        self.schedule
            .build(self.lr, self.epochs, 2)
            .map_err(|e| e.in_section("schedule"))?;
        if let Some(es) = self.early_stopping
            && es.patience == 0
        {
            return Err(PodiumError::config(
                "early_stopping.patience",
                0,
                "must be at least 1",
            ));
        }
        if self.run_dir.trim().is_empty() {
            return Err(PodiumError::config(
                "run_dir",
                "\"\"",
                "must name a directory",
            ));
        }
        if let Some(n) = &self.normalize {
            Normalize::new(n.mean.clone(), n.std.clone())?;
        }
        if let Some(clip) = &self.clip_grad {
            clip.validate()?;
        }
        if let Some(sam) = &self.sam {
            sam.init()?;
        }
        self.optimizer.validate()
    }
}
