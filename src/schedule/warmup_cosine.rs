//! Linear warm-up followed by cosine annealing: [`WarmupCosineConfig`] and [`WarmupCosineLr`].

use burn::config::Config;
use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use crate::error::{PodiumError, Result};

/// Configuration of [`WarmupCosineLr`], in epochs, without the base rate (the Learner's `lr`):
/// timm's `cosine` with `warmup_prefix=True`, warm-up from 0 and one cycle over the whole run.
#[derive(Config, Debug, PartialEq)]
pub struct WarmupCosineConfig {
    /// Warm-up length in epochs (converted to updates; at most the whole run). Default 0.
    #[config(default = 0)]
    pub warmup_epochs: usize,
    /// The floor of the annealing, in `[0, base_lr]`. Default 0.
    #[config(default = 0.0)]
    pub min_lr: f64,
}

impl WarmupCosineConfig {
    /// Checks the values that do not depend on the run.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`min_lr`) for a negative floor.
    pub fn validate(&self) -> Result<()> {
        if self.min_lr.is_nan() || self.min_lr < 0.0 {
            return Err(PodiumError::config("min_lr", self.min_lr, "must be >= 0"));
        }
        Ok(())
    }

    /// The schedule from `base_lr` over `epochs` epochs of `updates_per_epoch` updates, the
    /// first `warmup_epochs` of them (at most all) warming up.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`lr`, `min_lr`, `total_updates`) if `base_lr` is not positive,
    /// `min_lr` is not in `[0, base_lr]`, or there are no updates.
    pub fn init(
        &self,
        base_lr: f64,
        epochs: usize,
        updates_per_epoch: usize,
    ) -> Result<WarmupCosineLr> {
        let total = epochs * updates_per_epoch;
        WarmupCosineLr::new(
            base_lr,
            self.min_lr,
            (self.warmup_epochs * updates_per_epoch).min(total),
            total,
        )
    }
}

/// Linear warm-up then cosine annealing to `min_lr` (SGDR without restarts, Loshchilov and
/// Hutter 2017; timm's `CosineLRScheduler` with `warmup_prefix=True` and warm-up from 0).
///
/// At update `t` (counted from 0) of `total` updates with `warmup` warm-up updates:
/// - `t < warmup`: `lr = base_lr * (t + 1) / warmup`
/// - otherwise: `lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * (t - warmup) / (total - warmup))) / 2`
///
/// Past `total`, the rate stays at `min_lr`. Built by [`WarmupCosineConfig::init`].
#[derive(Clone, Debug, PartialEq)]
pub struct WarmupCosineLr {
    base_lr: f64,
    min_lr: f64,
    warmup: usize,
    total: usize,
    step: usize,
}

impl WarmupCosineLr {
    /// A schedule of `total` updates, the first `warmup` of them warming up.
    ///
    /// # Errors
    /// [`PodiumError::Config`] if `base_lr` is not positive, `min_lr` is not in `[0, base_lr]`,
    /// `total` is 0 or `warmup > total`.
    fn new(base_lr: f64, min_lr: f64, warmup: usize, total: usize) -> Result<Self> {
        if base_lr.is_nan() || base_lr <= 0.0 {
            return Err(PodiumError::config("lr", base_lr, "must be positive"));
        }
        if !(0.0..=base_lr).contains(&min_lr) {
            return Err(PodiumError::config("min_lr", min_lr, "must be in [0, lr]"));
        }
        if total == 0 {
            return Err(PodiumError::config(
                "total_updates",
                0,
                "must be at least 1",
            ));
        }
        if warmup > total {
            return Err(PodiumError::config(
                "warmup_updates",
                warmup,
                format!("must not exceed the {total} total updates"),
            ));
        }
        Ok(Self {
            base_lr,
            min_lr,
            warmup,
            total,
            step: 0,
        })
    }

    /// The rate at update `t` (without stepping).
    pub fn lr_at(&self, t: usize) -> f64 {
        if t < self.warmup {
            return self.base_lr * (t + 1) as f64 / self.warmup as f64;
        }
        let span = (self.total - self.warmup).max(1) as f64;
        let progress = ((t - self.warmup) as f64 / span).min(1.0);
        self.min_lr
            + (self.base_lr - self.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
    }
}

impl LrScheduler for WarmupCosineLr {
    fn step(&mut self) -> LearningRate {
        let lr = self.lr_at(self.step);
        self.step += 1;
        lr
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_anneals_to_the_floor() {
        let mut s = WarmupCosineLr::new(1.0, 0.1, 2, 6).unwrap();
        let lrs: Vec<f64> = (0..7).map(|_| s.step()).collect();
        assert_eq!(&lrs[..3], &[0.5, 1.0, 1.0]);
        // halfway through the 4 annealing updates: the mean of base and floor
        assert!((lrs[4] - 0.55).abs() < 1e-12);
        assert!((lrs[6] - 0.1).abs() < 1e-12);
        let mut resumed = WarmupCosineLr::new(1.0, 0.1, 2, 6).unwrap();
        resumed.load_record(s.to_record());
        assert_eq!(resumed.step, 7);
    }

    #[test]
    fn the_config_counts_epochs_in_updates() {
        let from_config = WarmupCosineConfig::new()
            .with_warmup_epochs(1)
            .with_min_lr(0.1)
            .init(1.0, 3, 2)
            .unwrap();
        assert_eq!(from_config, WarmupCosineLr::new(1.0, 0.1, 2, 6).unwrap());
        // a warm-up longer than the run is clamped to it
        let long = WarmupCosineConfig::new()
            .with_warmup_epochs(9)
            .init(1.0, 3, 2);
        assert_eq!(long.unwrap(), WarmupCosineLr::new(1.0, 0.0, 6, 6).unwrap());
        assert!(
            WarmupCosineConfig::new()
                .with_min_lr(-1.0)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert!(WarmupCosineLr::new(0.0, 0.0, 0, 1).is_err());
        assert!(WarmupCosineLr::new(1.0, 2.0, 0, 1).is_err());
        assert!(WarmupCosineLr::new(1.0, 0.0, 3, 2).is_err());
        assert!(WarmupCosineLr::new(1.0, 0.0, 0, 0).is_err());
    }
}
