//! Top-k loss: online hard example mining (Shrivastava et al. 2016) on the per-sample
//! cross-entropy.

use burn::config::Config;
use burn::tensor::{Int, Tensor};

use super::{CrossEntropyLoss, CrossEntropyLossConfig};
use crate::error::{PodiumError, Result};

/// Configuration of [`TopKLoss`].
#[derive(Config, Debug)]
pub struct TopKLossConfig {
    /// Number of hardest samples kept per batch (at most the batch size is used).
    pub k: usize,
    /// Label smoothing of the underlying cross-entropy. Default 0.
    #[config(default = 0.0)]
    pub label_smoothing: f64,
}

impl TopKLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for `k = 0` or smoothing outside `[0, 1)`.
    pub fn init(&self) -> Result<TopKLoss> {
        if self.k == 0 {
            return Err(PodiumError::config("k", 0, "must be at least 1"));
        }
        let ce = CrossEntropyLossConfig::new()
            .with_label_smoothing(self.label_smoothing)
            .init()?;
        Ok(TopKLoss { k: self.k, ce })
    }
}

/// The mean of the `k` largest per-sample cross-entropy values of the batch; the gradient flows
/// only through those samples.
#[derive(Clone, Debug)]
pub struct TopKLoss {
    k: usize,
    ce: CrossEntropyLoss,
}

impl TopKLoss {
    /// The loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()`.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        let per_sample = self.per_sample(logits, targets);
        let [b] = per_sample.dims();
        let k = self.k.min(b);
        let (_, indices) = per_sample.clone().detach().topk_with_indices(k, 0);
        per_sample.select(0, indices).mean()
    }

    /// The per-sample cross-entropy the top k are taken from, `[B]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        self.ce.forward_no_reduction(logits, targets)
    }
}
