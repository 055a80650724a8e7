//! Poly-1 cross-entropy (Leng et al. 2022, "PolyLoss"), as `timm.loss.PolyCrossEntropy`.

use burn::config::Config;
use burn::tensor::{Int, Tensor};

use super::{Reduction, assert_hard_targets, assert_same_shape, validate_unit_interval};
use crate::error::{PodiumError, Result};
use crate::kernel;

/// Configuration of [`Poly1CrossEntropy`].
#[derive(Config, Debug)]
pub struct Poly1CrossEntropyConfig {
    /// The weight `epsilon` of the first polynomial term. Default 1 (the paper's choice).
    #[config(default = 1.0)]
    pub epsilon: f64,
    /// Label smoothing of class-index targets, in `[0, 1)`. Default 0.
    #[config(default = 0.0)]
    pub label_smoothing: f64,
    /// Mean (default) or sum over the batch.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl Poly1CrossEntropyConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a non-finite epsilon or smoothing outside `[0, 1)`.
    pub fn init(&self) -> Result<Poly1CrossEntropy> {
        if !self.epsilon.is_finite() {
            return Err(PodiumError::config(
                "epsilon",
                self.epsilon,
                "must be finite",
            ));
        }
        validate_unit_interval("label_smoothing", self.label_smoothing)?;
        Ok(Poly1CrossEntropy {
            epsilon: self.epsilon as f32,
            label_smoothing: self.label_smoothing as f32,
            reduction: self.reduction,
        })
    }
}

/// `l_i = -sum_c t_ic log p_ic + epsilon (1 - sum_c t_ic p_ic)` with `p = softmax(x)` and `t`
/// the (label-smoothed `onehot (1 - s) + s / C`) one-hot target or a dense target.
#[derive(Clone, Debug)]
pub struct Poly1CrossEntropy {
    epsilon: f32,
    label_smoothing: f32,
    reduction: Reduction,
}

impl Poly1CrossEntropy {
    /// The reduced loss against class indices, `[1]`.
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()`.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        self.reduction
            .reduce(self.forward_no_reduction(logits, targets))
    }

    /// Per-sample losses against class indices, `[B]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        assert_hard_targets("Poly1CrossEntropy", &logits, &targets);
        let [_, c] = logits.dims();
        let s = self.label_smoothing as f64;
        // with t = onehot (1 - s) + s / C: sum_c t_ic p_ic = (1 - s) p_{i,y_i} + s / C, so only p
        // at the target is needed, p_{i,y_i} = exp(-CE_i) of the unsmoothed cross-entropy: fused
        // passes on flex, no gather
        let ce = kernel::cross_entropy_hard(logits.clone(), targets.clone(), self.label_smoothing);
        let nll = if s == 0.0 {
            ce.clone()
        } else {
            kernel::cross_entropy_hard(logits, targets, 0.0)
        };
        let pt = nll.neg().exp() * (1.0 - s) + s / c as f64;
        ce + (pt.neg() + 1.0) * self.epsilon as f64
    }

    /// The reduced loss against dense targets `[B, C]` (e.g. mixup targets), `[1]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape.
    pub fn forward_soft(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        assert_same_shape("Poly1CrossEntropy", &logits, &targets);
        self.reduction.reduce(self.per_sample(logits, targets))
    }

    /// Per-sample losses against dense targets, `[B]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape.
    pub fn forward_soft_no_reduction(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        assert_same_shape("Poly1CrossEntropy", &logits, &targets);
        self.per_sample(logits, targets)
    }

    fn per_sample(&self, logits: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
        let [b, _] = logits.dims();
        // fused row passes on flex in f32
        let logp = kernel::log_softmax(logits.clone());
        let ce = (logp * t.clone()).sum_dim(1).neg();
        let pt = (kernel::softmax(logits) * t).sum_dim(1);
        (ce + (pt.neg() + 1.0) * self.epsilon as f64).reshape([b])
    }
}
