//! Cross-entropy against soft (dense) targets, `timm.loss.SoftTargetCrossEntropy`.

use burn::tensor::Tensor;

use super::assert_same_shape;
use crate::kernel;

/// `mean_i sum_c -t_{ic} log softmax(x)_{ic}` for logits and targets `[B, C]`: the loss for
/// mixup/cutmix targets ([`crate::mix`]) and distillation targets.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftTargetCrossEntropy;

impl SoftTargetCrossEntropy {
    /// The mean over the batch, `[1]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        self.forward_no_reduction(logits, targets).mean()
    }

    /// Per-sample values `sum_c -t_{ic} log p_{ic}`, `[B]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        assert_same_shape("SoftTargetCrossEntropy", &logits, &targets);
        // sum_c -t_ic log p_ic = lse_i sum_c t_ic - sum_c t_ic x_ic: one fused pass on flex
        kernel::cross_entropy_soft(logits, targets)
    }
}
