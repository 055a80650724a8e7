//! Jensen-Shannon divergence consistency loss of AugMix (Hendrycks et al. 2020), as
//! `timm.loss.JsdCrossEntropy`.

use burn::config::Config;
use burn::tensor::{Int, Tensor};

use super::{
    CrossEntropyLoss, CrossEntropyLossConfig, SoftmaxParts, validate_non_negative,
    validate_unit_interval,
};
use crate::error::{PodiumError, Result};

/// Configuration of [`JsdCrossEntropy`], with timm's defaults.
#[derive(Config, Debug)]
pub struct JsdCrossEntropyConfig {
    /// Number of splits in the batch: the clean images then `num_splits - 1` augmented copies.
    /// Default 3.
    #[config(default = 3)]
    pub num_splits: usize,
    /// Weight of the consistency term. Default 12.
    #[config(default = 12.0)]
    pub alpha: f64,
    /// Label smoothing of the cross-entropy on the clean split. Default 0.1.
    #[config(default = 0.1)]
    pub smoothing: f64,
}

impl JsdCrossEntropyConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for fewer than 2 splits, a negative alpha or smoothing outside
    /// `[0, 1)`.
    pub fn init(&self) -> Result<JsdCrossEntropy> {
        if self.num_splits < 2 {
            return Err(PodiumError::config(
                "num_splits",
                self.num_splits,
                "must be at least 2",
            ));
        }
        validate_non_negative("alpha", self.alpha)?;
        validate_unit_interval("smoothing", self.smoothing)?;
        let ce = CrossEntropyLossConfig::new()
            .with_label_smoothing(self.smoothing)
            .init()?;
        Ok(JsdCrossEntropy {
            num_splits: self.num_splits,
            alpha: self.alpha as f32,
            ce,
        })
    }
}

/// For logits `[S * b, C]` stacked as `[clean; aug_1; ...; aug_{S-1}]` and class indices `[b]`:
/// `loss = CE_eps(x_clean, y) + alpha * mean_k KL(p_k || M)` with `p_k = softmax` of split `k`,
/// `M = clamp(mean_k p_k, 1e-7, 1)` and `KL` averaged over the batch (`batchmean`). Alpha is
/// held in the logits' precision (f32).
#[derive(Clone, Debug)]
pub struct JsdCrossEntropy {
    num_splits: usize,
    alpha: f32,
    ce: CrossEntropyLoss,
}

impl JsdCrossEntropy {
    /// The loss, `[1]`.
    ///
    /// # Panics
    /// If the logits' batch is not `num_splits` times the targets' length.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        let [n, c] = logits.dims();
        let [b] = targets.dims();
        let s = self.num_splits;
        assert_eq!(
            n,
            s * b,
            "JsdCrossEntropy: logits {:?} are not {s} splits of targets {:?}",
            logits.dims(),
            targets.dims()
        );
        let ce = self.ce.forward(logits.clone().slice([0..b, 0..c]), targets);
        // (log p_k, p_k) per split from one exp pass each
        let splits: Vec<(Tensor<2>, Tensor<2>)> = (0..s)
            .map(|k| {
                let x = logits.clone().slice([k * b..(k + 1) * b, 0..c]);
                let parts = SoftmaxParts::new(x.clone());
                (x - parts.lse.clone(), parts.probs())
            })
            .collect();
        let mixture = splits
            .iter()
            .map(|(_, p)| p.clone())
            .reduce(|a, p| a + p)
            .expect("at least 2 splits")
            / s as f64;
        let log_m = mixture.clamp(1e-7, 1.0).log();
        let kl = splits
            .into_iter()
            .map(|(logp, p)| (p * (logp - log_m.clone())).sum() / b as f64)
            .reduce(|a, k| a + k)
            .expect("at least 2 splits")
            / s as f64;
        ce + kl * self.alpha as f64
    }
}
