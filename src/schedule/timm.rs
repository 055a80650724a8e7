//! timm's schedulers (`timm.scheduler`): cosine (SGDR with cycles), poly, tanh, step and
//! multi-step, each with timm's linear warm-up.

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

/// A timm schedule: the cycle shape, timm's cycle controls and its warm-up. Defaults are timm's
/// (`cycle_mul = 1`, `cycle_decay = 1`, `cycle_limit = 1`, `k_decay = 1`, no warm-up).
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimmSchedule {
    /// The shape.
    pub kind: TimmKind,
    /// The optimizer's base learning rate.
    pub base_lr: f64,
    /// Cycle length (cosine, poly, tanh).
    pub t_initial: usize,
    /// The floor.
    pub lr_min: f64,
    /// Cycle length multiplier.
    pub cycle_mul: f64,
    /// Peak decay per cycle.
    pub cycle_decay: f64,
    /// Number of cycles before the rate stays at `lr_min`.
    pub cycle_limit: usize,
    /// The `k` of `t_curr^k / t_i^k` (cosine, poly).
    pub k_decay: f64,
    /// Warm-up length.
    pub warmup_t: usize,
    /// Warm-up start.
    pub warmup_lr_init: f64,
    /// Whether the schedule starts after the warm-up.
    pub warmup_prefix: bool,
}

impl TimmSchedule {
    /// A schedule of `kind` with timm's defaults, cycles of `t_initial`.
    pub fn new(kind: TimmKind, base_lr: f64, t_initial: usize) -> Self {
        Self {
            kind,
            base_lr,
            t_initial,
            lr_min: 0.0,
            cycle_mul: 1.0,
            cycle_decay: 1.0,
            cycle_limit: 1,
            k_decay: 1.0,
            warmup_t: 0,
            warmup_lr_init: 0.0,
            warmup_prefix: false,
        }
    }

    /// Sets the linear warm-up.
    pub fn with_warmup(
        mut self,
        warmup_t: usize,
        warmup_lr_init: f64,
        warmup_prefix: bool,
    ) -> Self {
        self.warmup_t = warmup_t;
        self.warmup_lr_init = warmup_lr_init;
        self.warmup_prefix = warmup_prefix;
        self
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a non-positive base rate, a zero cycle length for a cyclic
    /// kind, a non-positive `cycle_mul`, or a zero `decay_t`.
    pub fn validate(&self) -> Result<()> {
        if self.base_lr.is_nan() || self.base_lr <= 0.0 {
            return Err(PodiumError::config("base_lr", self.base_lr, "must be > 0"));
        }
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

    /// `(cycle index, t_i, t_curr)` of step `t`.
    fn cycle(&self, t: f64) -> (f64, f64, f64) {
        let t0 = self.t_initial as f64;
        if self.cycle_mul != 1.0 {
            let m = self.cycle_mul;
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
        match &self.kind {
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
                if i >= self.cycle_limit as f64 {
                    return self.lr_min;
                }
                let lr_max = self.base_lr * self.cycle_decay.powf(i);
                let k = self.k_decay;
                let (lo, span) = (self.lr_min, lr_max - self.lr_min);
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
        if t < self.warmup_t {
            let target = match self.kind {
                TimmKind::Tanh { .. } if !self.warmup_prefix => self.scheduled(self.warmup_t),
                _ => self.base_lr,
            };
            return self.warmup_lr_init
                + t as f64 * (target - self.warmup_lr_init) / self.warmup_t as f64;
        }
        let t = if self.warmup_prefix {
            t - self.warmup_t
        } else {
            t
        };
        self.scheduled(t)
    }
}
