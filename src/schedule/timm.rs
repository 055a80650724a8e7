//! timm's schedulers (`timm.scheduler`): cosine (SGDR with cycles), poly, tanh, step and
//! multi-step, each with timm's linear warm-up: [`TimmScheduleConfig`] and [`TimmSchedule`].

use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::Schedule;
use crate::error::{PodiumError, Result};

/// The cycle shape of a [`TimmSchedule`] (timm's `CosineLRScheduler`, `PolyLRScheduler`,
/// `TanhLRScheduler`, `StepLRScheduler`, `MultiStepLRScheduler`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TimmKind {
    /// `lr = lr_min + (lr_max - lr_min) (1 + cos(pi t_curr^k / t_i^k)) / 2` within a cycle.
    Cosine,
    /// `lr = lr_min + (lr_max - lr_min) (1 - t_curr^k / t_i^k)^power`.
    Poly {
        /// The exponent (timm default 0.5).
        power: f64,
    },
    /// `lr = lr_min + (lr_max - lr_min) (1 - tanh(lb (1 - r) + ub r)) / 2`, `r = t_curr / t_i`.
    Tanh {
        /// Lower bound of the tanh argument (timm default -7).
        lb: f64,
        /// Upper bound (timm default 3).
        ub: f64,
    },
    /// `lr = base_lr decay_rate^(t / decay_t)` (integer division).
    Step {
        /// Epochs (or updates) between decays.
        decay_t: usize,
        /// Factor per decay.
        decay_rate: f64,
    },
    /// `lr = base_lr decay_rate^(number of milestones <= t + 1)` (timm decays one step earlier
    /// than torch's `MultiStepLR` with the same milestones).
    MultiStep {
        /// The milestones.
        decay_t: Vec<usize>,
        /// Factor per milestone.
        decay_rate: f64,
    },
}

/// A timm schedule without its base rate: the cycle shape, timm's cycle controls and its
/// warm-up, with timm's defaults (`CosineLRScheduler(optimizer, t_initial, lr_min=0.0,
/// cycle_mul=1.0, cycle_decay=1.0, cycle_limit=1, warmup_t=0, warmup_lr_init=0,
/// warmup_prefix=False, t_in_epochs=True, k_decay=1.0)`, the same for poly, tanh, step and
/// multi-step). [`Self::init`] takes the base rate (the optimizer's `lr`; the Learner's `lr` in
/// [`ScheduleConfig::Timm`](super::ScheduleConfig::Timm), stepped per epoch).
///
/// Warm-up: for `t < warmup_t`, `lr = warmup_lr_init + t (target - warmup_lr_init) / warmup_t`
/// with `target = base_lr` (for tanh without `warmup_prefix`, the schedule's own value at
/// `warmup_t`); after it, with `warmup_prefix` the schedule starts at `t - warmup_t`, without it
/// the warm-up overlaps the schedule's start.
///
/// Cycles (cosine, poly, tanh) of length `t_initial`: with `cycle_mul = 1`, cycle
/// `i = t / t_initial`; otherwise `i = floor(log(1 - t / t_initial (1 - cycle_mul)) / log(cycle_mul))`,
/// `t_i = cycle_mul^i t_initial`. Cycle `i` peaks at `base_lr cycle_decay^i`; from cycle
/// `cycle_limit` on, the rate stays at `lr_min`.
#[derive(Config, Debug, PartialEq)]
pub struct TimmScheduleConfig {
    /// The shape.
    pub kind: TimmKind,
    /// Cycle length, at least 1 for cosine, poly and tanh (unused by step and multi-step).
    /// Default 0.
    #[config(default = 0)]
    pub t_initial: usize,
    /// The floor. Default 0.
    #[config(default = 0.0)]
    pub lr_min: f64,
    /// Cycle length multiplier, `> 0`. Default 1.
    #[config(default = 1.0)]
    pub cycle_mul: f64,
    /// Peak decay per cycle. Default 1.
    #[config(default = 1.0)]
    pub cycle_decay: f64,
    /// Number of cycles before the rate stays at `lr_min`. Default 1.
    #[config(default = 1)]
    pub cycle_limit: usize,
    /// The `k` of `t_curr^k / t_i^k` (cosine, poly). Default 1.
    #[config(default = 1.0)]
    pub k_decay: f64,
    /// Warm-up length. Default 0.
    #[config(default = 0)]
    pub warmup_t: usize,
    /// Warm-up start. Default 0.
    #[config(default = 0.0)]
    pub warmup_lr_init: f64,
    /// Whether the schedule starts after the warm-up. Default false.
    #[config(default = false)]
    pub warmup_prefix: bool,
}

impl TimmScheduleConfig {
    /// Checks the values that do not depend on the base rate.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`t_initial`, `decay_t`, `cycle_mul`) for a zero cycle length for a
    /// cyclic kind, a zero `decay_t`, or a non-positive `cycle_mul`.
    pub fn validate(&self) -> Result<()> {
        match &self.kind {
            TimmKind::Step { decay_t: 0, .. } => {
                return Err(PodiumError::config("decay_t", 0, "must be at least 1"));
            }
            TimmKind::Cosine | TimmKind::Poly { .. } | TimmKind::Tanh { .. }
                if self.t_initial == 0 =>
            {
                return Err(PodiumError::config("t_initial", 0, "must be at least 1"));
            }
            _ => {}
        }
        if self.cycle_mul.is_nan() || self.cycle_mul <= 0.0 {
            return Err(PodiumError::config(
                "cycle_mul",
                self.cycle_mul,
                "must be > 0",
            ));
        }
        Ok(())
    }

    /// The schedule from `base_lr`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`base_lr`, or as [`Self::validate`]) for a non-positive base rate.
    pub fn init(&self, base_lr: f64) -> Result<TimmSchedule> {
        if base_lr.is_nan() || base_lr <= 0.0 {
            return Err(PodiumError::config("base_lr", base_lr, "must be > 0"));
        }
        self.validate()?;
        Ok(TimmSchedule {
            config: self.clone(),
            base_lr,
        })
    }
}

/// A timm schedule from its base rate, built by [`TimmScheduleConfig::init`]; `lr(t)` is the
/// rate of step (epoch) `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimmSchedule {
    config: TimmScheduleConfig,
    base_lr: f64,
}

impl TimmSchedule {
    /// The configuration.
    pub fn config(&self) -> &TimmScheduleConfig {
        &self.config
    }

    /// The base rate.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }

    /// `(cycle index, t_i, t_curr)` of step `t`.
    fn cycle(&self, t: f64) -> (f64, f64, f64) {
        let t0 = self.config.t_initial as f64;
        if self.config.cycle_mul != 1.0 {
            let m = self.config.cycle_mul;
            let i = ((1.0 - t / t0 * (1.0 - m)).ln() / m.ln()).floor();
            let t_i = m.powf(i) * t0;
            let t_curr = t - (1.0 - m.powf(i)) / (1.0 - m) * t0;
            (i, t_i, t_curr)
        } else {
            let i = (t / t0).floor();
            (i, t0, t - t0 * i)
        }
    }

    /// The schedule without warm-up at `t`.
    fn scheduled(&self, t: usize) -> f64 {
        let tf = t as f64;
        match &self.config.kind {
            TimmKind::Step {
                decay_t,
                decay_rate,
            } => self.base_lr * decay_rate.powi((t / decay_t) as i32),
            TimmKind::MultiStep {
                decay_t,
                decay_rate,
            } => {
                let passed = decay_t.iter().filter(|&&m| m <= t + 1).count();
                self.base_lr * decay_rate.powi(passed as i32)
            }
            kind => {
                let (i, t_i, t_curr) = self.cycle(tf);
                if i >= self.config.cycle_limit as f64 {
                    return self.config.lr_min;
                }
                let lr_max = self.base_lr * self.config.cycle_decay.powf(i);
                let k = self.config.k_decay;
                let (lo, span) = (self.config.lr_min, lr_max - self.config.lr_min);
                match kind {
                    TimmKind::Cosine => {
                        lo + 0.5
                            * span
                            * (1.0 + (std::f64::consts::PI * t_curr.powf(k) / t_i.powf(k)).cos())
                    }
                    TimmKind::Poly { power } => {
                        lo + span * (1.0 - t_curr.powf(k) / t_i.powf(k)).powf(*power)
                    }
                    TimmKind::Tanh { lb, ub } => {
                        let tr = t_curr / t_i;
                        lo + 0.5 * span * (1.0 - (lb * (1.0 - tr) + ub * tr).tanh())
                    }
                    _ => unreachable!("step kinds handled above"),
                }
            }
        }
    }
}

impl Schedule for TimmSchedule {
    fn lr(&self, t: usize) -> f64 {
        if t < self.config.warmup_t {
            let target = match self.config.kind {
                TimmKind::Tanh { .. } if !self.config.warmup_prefix => {
                    self.scheduled(self.config.warmup_t)
                }
                _ => self.base_lr,
            };
            return self.config.warmup_lr_init
                + t as f64 * (target - self.config.warmup_lr_init) / self.config.warmup_t as f64;
        }
        let t = if self.config.warmup_prefix {
            t - self.config.warmup_t
        } else {
            t
        };
        self.scheduled(t)
    }
}
