//! Binary cross-entropy with logits for multi-label targets
//! (`torch.nn.functional.binary_cross_entropy_with_logits`).

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};

use super::{
    Reduction, assert_class_count, assert_same_shape, neg_log_sigmoid, to_f32, validate_weights,
};
use crate::error::Result;

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
/// (`log(1 + z)` rather than `log1p(z)`: for `z = e^{-|x|} <= 1` the difference is below the
/// loss's f32 resolution, and burn-flex's `log` is several times faster).
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
        self.reduction
            .reduce(self.forward_no_reduction(logits, targets))
    }

    /// Element-wise losses, `[B, C]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        assert_same_shape("BceWithLogitsLoss", &logits, &targets);
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
        let [_, c] = logits.dims();
        let device = logits.device();
        let dims = logits.dims();
        let row = |w: &Vec<f32>, what: &str| {
            assert_class_count("BceWithLogitsLoss", what, w.len(), dims);
            Tensor::<2>::from_data(TensorData::new(w.clone(), [1, c]), &device)
        };
        let loss = match &self.pos_weight {
            Some(pw) => {
                let log_weight = (row(pw, "pos_weight") - 1.0) * targets.clone() + 1.0;
                (targets.neg() + 1.0) * logits + log_weight * neg_log_sig
            }
            None => (targets.neg() + 1.0) * logits + neg_log_sig,
        };
        match &self.weight {
            Some(w) => loss * row(w, "weight"),
            None => loss,
        }
    }
}
