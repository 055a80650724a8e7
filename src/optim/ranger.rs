//! Ranger (Wright 2019): [`Lookahead`] over [`RAdam`], as timm's `lookahead_radam`.

use burn::config::Config;

use super::{Lookahead, LookaheadConfig, RAdam, RAdamConfig};
use crate::error::Result;

/// Configuration of Ranger, [`Lookahead`] over [`RAdam`], with timm's defaults for both
/// (`timm.optim.create_optimizer_v2(params, 'lookahead_radam')`: torch's RAdam defaults,
/// `alpha = 0.5`, `k = 6`). In a recipe:
/// `{"Ranger": {"radam": {"beta1": 0.9, ...}, "lookahead": {"alpha": 0.5, "k": 6, ...}}}`.
///
/// Unlike the same pair written as `OptimizerConfig::Lookahead` over RAdam, Ranger keeps its
/// beta1 under one-cycle ([`OptimizerConfig::cycles_momentum`](super::OptimizerConfig::cycles_momentum)).
#[derive(Config, Debug, PartialEq)]
pub struct RangerConfig {
    /// The fast optimizer. Default torch's RAdam.
    #[config(default = "RAdamConfig::new()")]
    pub radam: RAdamConfig,
    /// The slow weights. Default timm's (`alpha = 0.5`, `k = 6`).
    #[config(default = "LookaheadConfig::new()")]
    pub lookahead: LookaheadConfig,
}

impl RangerConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) with the key under `radam.` or
    /// `lookahead.` (`radam.beta1`, `lookahead.k`, ...).
    pub fn init(&self) -> Result<Lookahead<RAdam>> {
        let radam = self.radam.init().map_err(|e| e.in_section("radam"))?;
        self.lookahead
            .init(radam)
            .map_err(|e| e.in_section("lookahead"))
    }
}
