//! Binary cross-entropy with logits for multi-label targets
//! (`torch.nn.functional.binary_cross_entropy_with_logits`).

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};

use super::{
    Reduction, assert_class_count, assert_same_shape, neg_log_sigmoid, to_f32, validate_weights,
};
use crate::error::Result;
use crate::kernel;

/// Configuration of [`BceWithLogitsLoss`].
#[derive(Config, Debug)]
pub struct BceWithLogitsLossConfig {
    /// Weight of the positive term per class (torch's `pos_weight`), `None` for 1.
    pub pos_weight: Option<Vec<f64>>,
    /// Weight of each class's loss (torch's `weight`, broadcast over rows), `None` for 1.
    pub weight: Option<Vec<f64>>,
    /// Mean over all `B * C` elements (default) or sum.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl BceWithLogitsLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for an empty or negative weight vector.
    pub fn init(&self) -> Result<BceWithLogitsLoss> {
        if let Some(w) = &self.pos_weight {
            validate_weights("pos_weight", w)?;
        }
        if let Some(w) = &self.weight {
            validate_weights("weight", w)?;
        }
        Ok(BceWithLogitsLoss {
            pos_weight: self.pos_weight.as_deref().map(to_f32),
            weight: self.weight.as_deref().map(to_f32),
            reduction: self.reduction,
        })
    }
}

/// `l = -w_c [pw_c t log s(x) + (1 - t) log(1 - s(x))]` for logits and targets `[B, C]`,
/// computed in the stable form `(1 - t) x + (1 + (pw_c - 1) t) (log(1 + e^{-|x|}) + max(-x, 0))`
/// Unweighted, [`Self::forward`] sums per row in one fused pass ([`kernel::bce_with_logits_rows`]).
/// Without `pos_weight` the element-wise loss is one fused pass on flex in f32
/// ([`kernel::bce_with_logits`]: value and gradient `sigmoid(x) - t` together), times `w_c`;
/// with it, the composed form above around the fused [`kernel::log_sigmoid`]. Burn's ops on other
/// backends and dtypes.
#[derive(Clone, Debug)]
pub struct BceWithLogitsLoss {
    pos_weight: Option<Vec<f32>>,
    weight: Option<Vec<f32>>,
    reduction: Reduction,
}

impl BceWithLogitsLoss {
    /// The reduced loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape or a weight vector does not have `C` entries.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        if self.pos_weight.is_none() && self.weight.is_none() {
            // per-row sums in one fused pass (no [B, C] loss tensor) on flex in f32
            assert_same_shape("BceWithLogitsLoss", &logits, &targets);
            let [b, c] = logits.dims();
            let rows = kernel::bce_with_logits_rows(logits, targets).sum();
            return match self.reduction {
                Reduction::Mean => rows / (b * c) as f64,
                Reduction::Sum => rows,
            };
        }
        self.reduction
            .reduce(self.forward_no_reduction(logits, targets))
    }

    /// Element-wise losses, `[B, C]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        assert_same_shape("BceWithLogitsLoss", &logits, &targets);
        if self.pos_weight.is_none() {
            // one fused pass (value and gradient) on flex in f32
            let loss = kernel::bce_with_logits(logits.clone(), targets);
            return self.weighted(loss, &logits);
        }
        let nls = neg_log_sigmoid(logits.clone());
        self.with_neg_log_sigmoid(logits, targets, nls)
    }

    /// The element-wise loss from `-log sigmoid(x)` computed beforehand (the focal losses share
    /// it with their sigmoid).
    pub(crate) fn with_neg_log_sigmoid(
        &self,
        logits: Tensor<2>,
        targets: Tensor<2>,
        neg_log_sig: Tensor<2>,
    ) -> Tensor<2> {
        let loss = match &self.pos_weight {
            Some(pw) => {
                let log_weight =
                    (self.row(pw, "pos_weight", &logits) - 1.0) * targets.clone() + 1.0;
                (targets.neg() + 1.0) * logits.clone() + log_weight * neg_log_sig
            }
            None => (targets.neg() + 1.0) * logits.clone() + neg_log_sig,
        };
        self.weighted(loss, &logits)
    }

    /// A per-class vector as a `[1, C]` row on the logits' device.
    fn row(&self, w: &[f32], what: &str, logits: &Tensor<2>) -> Tensor<2> {
        let [_, c] = logits.dims();
        assert_class_count("BceWithLogitsLoss", what, w.len(), logits.dims());
        Tensor::<2>::from_data(TensorData::new(w.to_vec(), [1, c]), &logits.device())
    }

    /// The loss times the class weights, when configured.
    fn weighted(&self, loss: Tensor<2>, logits: &Tensor<2>) -> Tensor<2> {
        match &self.weight {
            Some(w) => loss * self.row(w, "weight", logits),
            None => loss,
        }
    }
}
