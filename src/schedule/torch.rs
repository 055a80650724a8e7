//! `torch.optim.lr_scheduler` schedules in closed form: step, multi-step, exponential, cosine
//! annealing, cosine with warm restarts (SGDR) and linear ([`TorchScheduleConfig`] and
//! [`TorchSchedule`]). One-cycle is [`OneCycle`](super::OneCycle).

use serde::{Deserialize, Serialize};

use super::Schedule;
use crate::error::{PodiumError, Result};

/// A torch schedule without its base rate (the optimizer's `lr`, given to [`Self::init`]; the
/// Learner's `lr` in [`ScheduleConfig::Torch`](super::ScheduleConfig::Torch), stepped per
/// epoch). Steps count from 0; torch's defaults are noted per field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TorchScheduleConfig {
    /// `StepLR(optimizer, step_size, gamma=0.1)`: `base gamma^(i / step_size)`.
    Step {
        /// Steps between decays, at least 1.
        step_size: usize,
        /// Decay factor (torch default 0.1).
        gamma: f64,
    },
    /// `MultiStepLR(optimizer, milestones, gamma=0.1)`: `base gamma^(milestones <= i)`.
    MultiStep {
        /// Milestones.
        milestones: Vec<usize>,
        /// Decay factor (torch default 0.1).
        gamma: f64,
    },
    /// `ExponentialLR(optimizer, gamma)`: `base gamma^i`.
    Exponential {
        /// Decay factor.
        gamma: f64,
    },
    /// `CosineAnnealingLR(optimizer, T_max, eta_min=0)`:
    /// `eta_min + (base - eta_min)(1 + cos(pi i / T_max)) / 2`; past `T_max` it continues
    /// periodically back up, as torch's recursive form does.
    CosineAnnealing {
        /// Half period, at least 1.
        t_max: usize,
        /// Floor (torch default 0).
        eta_min: f64,
    },
    /// `CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0)` (SGDR, Loshchilov and
    /// Hutter 2017) stepped once per epoch: `T_cur` restarts at `T_i`, and `T_i` is multiplied by
    /// `t_mult` at each restart.
    CosineWarmRestarts {
        /// First period, at least 1.
        t_0: usize,
        /// Period multiplier, at least 1 (torch default 1).
        t_mult: usize,
        /// Floor (torch default 0).
        eta_min: f64,
    },
    /// `LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)`: factor from
    /// `start_factor` to `end_factor` over `total_iters`, then held.
    Linear {
        /// First factor, in `(0, 1]`.
        start_factor: f64,
        /// Last factor, in `[0, 1]`.
        end_factor: f64,
        /// Steps of the ramp.
        total_iters: usize,
    },
}

impl TorchScheduleConfig {
    /// Checks the values (torch's rules).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`step_size`, `t_max`, `t_0`, `t_mult`, `start_factor`,
    /// `end_factor`) for a zero period or factors out of range.
    pub fn validate(&self) -> Result<()> {
        let at_least_one = |key: &str, v: usize| {
            if v == 0 {
                Err(PodiumError::config(key, 0, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        match *self {
            Self::Step { step_size, .. } => at_least_one("step_size", step_size),
            Self::CosineAnnealing { t_max, .. } => at_least_one("t_max", t_max),
            Self::CosineWarmRestarts { t_0, t_mult, .. } => {
                at_least_one("t_0", t_0)?;
                at_least_one("t_mult", t_mult)
            }
            Self::Linear {
                start_factor,
                end_factor,
                ..
            } => {
                if !(start_factor > 0.0 && start_factor <= 1.0) {
                    return Err(PodiumError::config(
                        "start_factor",
                        start_factor,
                        "must be in (0, 1]",
                    ));
                }
                if !(0.0..=1.0).contains(&end_factor) {
                    return Err(PodiumError::config(
                        "end_factor",
                        end_factor,
                        "must be in [0, 1]",
                    ));
                }
                Ok(())
            }
            Self::MultiStep { .. } | Self::Exponential { .. } => Ok(()),
        }
    }

    /// The schedule from `base_lr`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`base_lr`, or as [`Self::validate`]) for a non-positive base.
    pub fn init(&self, base_lr: f64) -> Result<TorchSchedule> {
        self.validate()?;
        if base_lr.is_nan() || base_lr <= 0.0 {
            return Err(PodiumError::config("base_lr", base_lr, "must be > 0"));
        }
        Ok(TorchSchedule {
            config: self.clone(),
            base_lr,
        })
    }
}

/// A torch schedule from its base rate, built by [`TorchScheduleConfig::init`]; `lr(i)` is the
/// rate of the `i`-th step (torch's protocol: read the rate, `optimizer.step()`,
/// `scheduler.step()`).
#[derive(Clone, Debug, PartialEq)]
pub struct TorchSchedule {
    config: TorchScheduleConfig,
    base_lr: f64,
}

impl TorchSchedule {
    /// The configuration.
    pub fn config(&self) -> &TorchScheduleConfig {
        &self.config
    }

    /// The base rate.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }
}

impl Schedule for TorchSchedule {
    fn lr(&self, i: usize) -> f64 {
        let base_lr = self.base_lr;
        match &self.config {
            TorchScheduleConfig::Step { step_size, gamma } => {
                base_lr * gamma.powi((i / step_size.max(&1)) as i32)
            }
            TorchScheduleConfig::MultiStep { milestones, gamma } => {
                base_lr * gamma.powi(milestones.iter().filter(|&&m| m <= i).count() as i32)
            }
            TorchScheduleConfig::Exponential { gamma } => base_lr * gamma.powi(i as i32),
            TorchScheduleConfig::CosineAnnealing { t_max, eta_min } => {
                eta_min
                    + (base_lr - eta_min)
                        * (1.0 + (std::f64::consts::PI * i as f64 / *t_max as f64).cos())
                        / 2.0
            }
            TorchScheduleConfig::CosineWarmRestarts {
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
            TorchScheduleConfig::Linear {
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
        }
    }
}
