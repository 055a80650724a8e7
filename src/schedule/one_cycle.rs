//! torch's `OneCycleLR` (Smith and Topin 2019) with its momentum cycling: [`OneCycleConfig`] and
//! [`OneCycle`].

use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::Schedule;
use crate::error::{PodiumError, Result};

/// How [`OneCycle`] anneals between two values (torch's `anneal_strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AnnealStrategy {
    /// `end + (start - end) (1 + cos(pi pct)) / 2` (torch's `'cos'`, the default).
    #[default]
    Cos,
    /// `start + (end - start) pct` (torch's `'linear'`).
    Linear,
}

/// Configuration of [`OneCycle`] with torch's defaults
/// (`torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps, pct_start=0.3,
/// anneal_strategy='cos', cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
/// div_factor=25.0, final_div_factor=1e4, three_phase=False)`), without the peak rate and the
/// step count: [`Self::init`] takes them, and the Learner's one-cycle
/// ([`ScheduleConfig::OneCycle`](super::ScheduleConfig::OneCycle)) uses its `lr` and every update
/// of the run.
#[derive(Config, Debug, PartialEq)]
pub struct OneCycleConfig {
    /// Fraction of the cycle spent rising, in `(0, 1)`. Default 0.3.
    #[config(default = 0.3)]
    pub pct_start: f64,
    /// Cosine or linear annealing. Default cosine.
    #[config(default = "AnnealStrategy::Cos")]
    pub anneal_strategy: AnnealStrategy,
    /// The first rate is `max_lr / div_factor`; `> 0`. Default 25.
    #[config(default = 25.0)]
    pub div_factor: f64,
    /// The last rate is `max_lr / div_factor / final_div_factor`; `> 0`. Default `1e4`.
    #[config(default = 1e4)]
    pub final_div_factor: f64,
    /// Three phases (up, back down to the first rate, then to the last) instead of two.
    /// Default false.
    #[config(default = false)]
    pub three_phase: bool,
    /// Cycle the momentum (SGD) or beta1 (Adam family) inversely to the rate. Default true.
    #[config(default = true)]
    pub cycle_momentum: bool,
    /// Lowest momentum (at the peak rate). Default 0.85.
    #[config(default = 0.85)]
    pub base_momentum: f64,
    /// Highest momentum. Default 0.95.
    #[config(default = 0.95)]
    pub max_momentum: f64,
}

impl OneCycleConfig {
    /// Checks the values that do not depend on the run.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`pct_start`, `div_factor`, `final_div_factor`) for `pct_start`
    /// outside `(0, 1)` or non-positive factors.
    pub fn validate(&self) -> Result<()> {
        if !(self.pct_start > 0.0 && self.pct_start < 1.0) {
            return Err(PodiumError::config(
                "pct_start",
                self.pct_start,
                "must be in (0, 1)",
            ));
        }
        for (k, v) in [
            ("div_factor", self.div_factor),
            ("final_div_factor", self.final_div_factor),
        ] {
            if v.is_nan() || v <= 0.0 {
                return Err(PodiumError::config(k, v, "must be > 0"));
            }
        }
        Ok(())
    }

    /// The one-cycle schedule peaking at `max_lr` over `total_steps` steps.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`total_steps`, `max_lr`, or as [`Self::validate`]) for fewer than
    /// 2 steps or a non-positive peak.
    pub fn init(&self, max_lr: f64, total_steps: usize) -> Result<OneCycle> {
        if total_steps < 2 {
            return Err(PodiumError::config(
                "total_steps",
                total_steps,
                "must be at least 2",
            ));
        }
        self.validate()?;
        if max_lr.is_nan() || max_lr <= 0.0 {
            return Err(PodiumError::config("max_lr", max_lr, "must be > 0"));
        }
        Ok(OneCycle {
            config: self.clone(),
            max_lr,
            total_steps,
        })
    }
}

/// `torch.optim.lr_scheduler.OneCycleLR`, built by [`OneCycleConfig::init`]; `lr(i)` is the rate
/// of the `i`-th optimizer step (torch's protocol: read the rate, `optimizer.step()`,
/// `scheduler.step()`).
///
/// The rate starts at `max_lr / div_factor`, rises to `max_lr` by step `pct_start T - 1`, then
/// falls to `initial / final_div_factor` at step `T - 1` (three phases: up, back down to the
/// initial rate by `2 pct_start T - 2`, then to the minimum). Momentum moves the opposite way.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycle {
    config: OneCycleConfig,
    max_lr: f64,
    total_steps: usize,
}

impl OneCycle {
    /// The configuration.
    pub fn config(&self) -> &OneCycleConfig {
        &self.config
    }

    /// The peak rate.
    pub fn max_lr(&self) -> f64 {
        self.max_lr
    }

    /// The number of steps `T`.
    pub fn total_steps(&self) -> usize {
        self.total_steps
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        match self.config.anneal_strategy {
            AnnealStrategy::Cos => {
                end + (start - end) / 2.0 * (1.0 + (std::f64::consts::PI * pct).cos())
            }
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }

    /// `(lr, momentum)` at step `i`.
    pub fn at(&self, i: usize) -> (f64, f64) {
        let c = &self.config;
        let t = self.total_steps as f64;
        let initial = self.max_lr / c.div_factor;
        let min = initial / c.final_div_factor;
        let (hi_m, lo_m) = (c.max_momentum, c.base_momentum);
        // (end step, lr start, lr end, momentum start, momentum end)
        let phases: Vec<(f64, f64, f64, f64, f64)> = if c.three_phase {
            vec![
                (c.pct_start * t - 1.0, initial, self.max_lr, hi_m, lo_m),
                (
                    2.0 * c.pct_start * t - 2.0,
                    self.max_lr,
                    initial,
                    lo_m,
                    hi_m,
                ),
                (t - 1.0, initial, min, hi_m, hi_m),
            ]
        } else {
            vec![
                (c.pct_start * t - 1.0, initial, self.max_lr, hi_m, lo_m),
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

impl Schedule for OneCycle {
    fn lr(&self, i: usize) -> f64 {
        self.at(i).0
    }

    /// The momentum (or Adam's beta1) at step `i`; `None` without `cycle_momentum`.
    fn momentum(&self, i: usize) -> Option<f64> {
        self.config.cycle_momentum.then(|| self.at(i).1)
    }
}
