//! Jensen-Shannon divergence consistency loss of AugMix (Hendrycks et al. 2020), as
//! `timm.loss.JsdCrossEntropy`.

use burn::config::Config;
use burn::tensor::{Int, Tensor};

use super::{
    CrossEntropyLoss, CrossEntropyLossConfig, validate_non_negative, validate_unit_interval,
};
use crate::error::{PodiumError, Result};
use crate::kernel;

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
/// held in the logits' precision (f32). The splits' `log p_k` and `p_k` come from one fused
/// [`kernel::log_softmax`] and one [`kernel::softmax()`] over all `S * b` rows (flex, f32; Burn's
/// ops elsewhere), seen as `[S, b, C]`; the cross-entropy is the fused one.
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
        // rows are independent: every split's log p_k and p_k in one pass each, as [S, b, C]
        let logp = kernel::log_softmax(logits.clone()).reshape([s, b, c]);
        let p = kernel::softmax(logits).reshape([s, b, c]);
        let log_m = p.clone().mean_dim(0).clamp(1e-7, 1.0).log();
        // mean_k (sum p_k (log p_k - log M)) / b
        let kl = (p * (logp - log_m)).sum() / (s * b) as f64;
        ce + kl * self.alpha as f64
    }
}
