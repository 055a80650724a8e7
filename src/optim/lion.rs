//! Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): [`LionConfig`],
//! building burn's `Lion`, whose update matches `timm.optim.Lion`.

use burn::config::Config;

use super::{check_betas, check_non_negative};
use crate::error::Result;

/// Configuration of burn's [`Lion`](burn::optim::Lion) with timm's defaults
/// (`timm.optim.Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0)`; timm's `lion`):
/// `p *= 1 - lr wd`; `p -= lr sign(b1 m + (1 - b1) g)`; `m = b2 m + (1 - b2) g`. Values are f64
/// here and passed to burn as f32.
#[derive(Config, Debug, PartialEq)]
pub struct LionConfig {
    /// Interpolation factor of the update direction, in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Momentum decay, in `[0, 1)`. Default 0.99.
    #[config(default = 0.99)]
    pub beta2: f64,
    /// Decoupled weight decay, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl LionConfig {
    /// Checks the values and builds burn's Lion.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `weight_decay`) for
    /// betas outside `[0, 1)` or a negative weight decay.
    pub fn init(&self) -> Result<burn::optim::Lion> {
        check_betas(self.beta1, self.beta2)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        Ok(burn::optim::LionConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_weight_decay(self.weight_decay as f32)
            .build())
    }
}
