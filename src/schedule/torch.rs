//! `torch.optim.lr_scheduler` schedules: step, multi-step, exponential, cosine annealing, cosine
//! with warm restarts (SGDR), linear, and one-cycle with its momentum cycling.

use serde::{Deserialize, Serialize};

use super::Schedule;
use crate::error::{PodiumError, Result};

/// A torch schedule in closed form; `lr(i)` is the rate of the `i`-th optimizer step (torch's
/// protocol: read the rate, `optimizer.step()`, `scheduler.step()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TorchSchedule {
    /// `StepLR`: `base gamma^(i / step_size)`.
    Step {
        /// Base rate.
        base_lr: f64,
        /// Steps between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// `MultiStepLR`: `base gamma^(milestones <= i)`.
    MultiStep {
        /// Base rate.
        base_lr: f64,
        /// Milestones.
        milestones: Vec<usize>,
        /// Decay factor.
        gamma: f64,
    },
    /// `ExponentialLR`: `base gamma^i`.
    Exponential {
        /// Base rate.
        base_lr: f64,
        /// Decay factor.
        gamma: f64,
    },
    /// `CosineAnnealingLR`: `eta_min + (base - eta_min)(1 + cos(pi i / T_max)) / 2`; past `T_max`
    /// it continues periodically back up, as torch's recursive form does.
    CosineAnnealing {
        /// Base rate.
        base_lr: f64,
        /// Half period.
        t_max: usize,
        /// Floor.
        eta_min: f64,
    },
    /// `CosineAnnealingWarmRestarts` stepped once per epoch: `T_cur` restarts at `T_i`, and
    /// `T_i` is multiplied by `t_mult` at each restart.
    CosineWarmRestarts {
        /// Base rate.
        base_lr: f64,
        /// First period.
        t_0: usize,
        /// Period multiplier.
        t_mult: usize,
        /// Floor.
        eta_min: f64,
    },
    /// `LinearLR`: factor from `start_factor` to `end_factor` over `total_iters`, then held.
    Linear {
        /// Base rate.
        base_lr: f64,
        /// First factor.
        start_factor: f64,
        /// Last factor.
        end_factor: f64,
        /// Steps of the ramp.
        total_iters: usize,
    },
    /// `OneCycleLR` (Smith and Topin 2019) with momentum (or Adam's beta1) cycling.
    OneCycle(OneCycle),
}

/// `torch.optim.lr_scheduler.OneCycleLR` with torch's defaults (`pct_start = 0.3`, cosine,
/// `div_factor = 25`, `final_div_factor = 1e4`, two phases, momentum 0.85..0.95).
///
/// The rate starts at `max_lr / div_factor`, rises to `max_lr` by step `pct_start T - 1`, then
/// falls to `initial / final_div_factor` at step `T - 1` (three phases: up, back down to the
/// initial rate by `2 pct_start T - 2`, then to the minimum). Momentum moves the opposite way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneCycle {
    /// Peak rate.
    pub max_lr: f64,
    /// Total steps `T`.
    pub total_steps: usize,
    /// Fraction of the cycle spent rising.
    pub pct_start: f64,
    /// Cosine (true) or linear annealing.
    pub cos: bool,
    /// `initial = max_lr / div_factor`.
    pub div_factor: f64,
    /// `min = initial / final_div_factor`.
    pub final_div_factor: f64,
    /// Three phases instead of two.
    pub three_phase: bool,
    /// Lowest momentum (at the peak rate).
    pub base_momentum: f64,
    /// Highest momentum.
    pub max_momentum: f64,
}

impl OneCycle {
    /// torch's defaults for `max_lr` over `total_steps`.
    pub fn new(max_lr: f64, total_steps: usize) -> Self {
        Self {
            max_lr,
            total_steps,
            pct_start: 0.3,
            cos: true,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
            base_momentum: 0.85,
            max_momentum: 0.95,
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for no steps, `pct_start` outside `(0, 1)`, or non-positive
    /// factors.
    pub fn validate(&self) -> Result<()> {
        if self.total_steps < 2 {
            return Err(PodiumError::config(
                "total_steps",
                self.total_steps,
                "must be at least 2",
            ));
        }
        if !(self.pct_start > 0.0 && self.pct_start < 1.0) {
            return Err(PodiumError::config(
                "pct_start",
                self.pct_start,
                "must be in (0, 1)",
            ));
        }
        for (k, v) in [
            ("max_lr", self.max_lr),
            ("div_factor", self.div_factor),
            ("final_div_factor", self.final_div_factor),
        ] {
            if v.is_nan() || v <= 0.0 {
                return Err(PodiumError::config(k, v, "must be > 0"));
            }
        }
        Ok(())
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        if self.cos {
            end + (start - end) / 2.0 * (1.0 + (std::f64::consts::PI * pct).cos())
        } else {
            (end - start) * pct + start
        }
    }

    /// `(lr, momentum)` at step `i`.
    pub fn at(&self, i: usize) -> (f64, f64) {
        let t = self.total_steps as f64;
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let (hi_m, lo_m) = (self.max_momentum, self.base_momentum);
        // (end step, lr start, lr end, momentum start, momentum end)
        let phases: Vec<(f64, f64, f64, f64, f64)> = if self.three_phase {
            vec![
                (self.pct_start * t - 1.0, initial, self.max_lr, hi_m, lo_m),
                (
                    2.0 * self.pct_start * t - 2.0,
                    self.max_lr,
                    initial,
                    lo_m,
                    hi_m,
                ),
                (t - 1.0, initial, min, hi_m, hi_m),
            ]
        } else {
            vec![
                (self.pct_start * t - 1.0, initial, self.max_lr, hi_m, lo_m),
                (t - 1.0, self.max_lr, min, lo_m, hi_m),
            ]
        };
        let step = i as f64;
        let mut start = 0.0;
        let last = phases.len() - 1;
        for (k, &(end, l0, l1, m0, m1)) in phases.iter().enumerate() {
            if step <= end || k == last {
                let pct = (step - start) / (end - start);
                return (self.anneal(l0, l1, pct), self.anneal(m0, m1, pct));
            }
            start = end;
        }
        unreachable!("the last phase always matches")
    }
}

impl Schedule for TorchSchedule {
    /// The momentum (or Adam beta1) at step `i` for one-cycle; `None` for the other schedules.
    fn momentum(&self, i: usize) -> Option<f64> {
        match self {
            TorchSchedule::OneCycle(c) => Some(c.at(i).1),
            _ => None,
        }
    }

    fn lr(&self, i: usize) -> f64 {
        match self {
            TorchSchedule::Step {
                base_lr,
                step_size,
                gamma,
            } => base_lr * gamma.powi((i / step_size.max(&1)) as i32),
            TorchSchedule::MultiStep {
                base_lr,
                milestones,
                gamma,
            } => base_lr * gamma.powi(milestones.iter().filter(|&&m| m <= i).count() as i32),
            TorchSchedule::Exponential { base_lr, gamma } => base_lr * gamma.powi(i as i32),
            TorchSchedule::CosineAnnealing {
                base_lr,
                t_max,
                eta_min,
            } => {
                eta_min
                    + (base_lr - eta_min)
                        * (1.0 + (std::f64::consts::PI * i as f64 / *t_max as f64).cos())
                        / 2.0
            }
            TorchSchedule::CosineWarmRestarts {
                base_lr,
                t_0,
                t_mult,
                eta_min,
            } => {
                let (mut t_cur, mut t_i) = (i, (*t_0).max(1));
                while t_cur >= t_i {
                    t_cur -= t_i;
                    t_i *= (*t_mult).max(1);
                }
                eta_min
                    + (base_lr - eta_min)
                        * (1.0 + (std::f64::consts::PI * t_cur as f64 / t_i as f64).cos())
                        / 2.0
            }
            TorchSchedule::Linear {
                base_lr,
                start_factor,
                end_factor,
                total_iters,
            } => {
                let p = if *total_iters == 0 {
                    1.0
                } else {
                    i.min(*total_iters) as f64 / *total_iters as f64
                };
                base_lr * (start_factor + (end_factor - start_factor) * p)
            }
            TorchSchedule::OneCycle(c) => c.at(i).0,
        }
    }
}
