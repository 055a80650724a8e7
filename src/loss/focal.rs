//! Focal losses (Lin et al. 2017, "Focal Loss for Dense Object Detection").

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};

use super::{
    Reduction, assert_class_count, assert_hard_targets, assert_same_shape, pow_scalar, to_f32,
    validate_non_negative, validate_weights,
};
use crate::error::{PodiumError, Result};
use crate::kernel;

/// Configuration of [`SigmoidFocalLoss`], with torchvision's defaults.
#[derive(Config, Debug)]
pub struct SigmoidFocalLossConfig {
    /// Weight of positives `alpha` in `[0, 1]` (negatives get `1 - alpha`); `None` disables the
    /// weighting (torchvision's `alpha = -1`). Default 0.25.
    #[config(default = "Some(0.25)")]
    pub alpha: Option<f64>,
    /// Focusing parameter `gamma >= 0`. Default 2.
    #[config(default = 2.0)]
    pub gamma: f64,
    /// Mean over all `B * C` elements (default) or sum.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl SigmoidFocalLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a negative gamma or alpha outside `[0, 1]`.
    pub fn init(&self) -> Result<SigmoidFocalLoss> {
        validate_non_negative("gamma", self.gamma)?;
        if let Some(a) = self.alpha
            && !(0.0..=1.0).contains(&a)
        {
            return Err(PodiumError::config(
                "alpha",
                a,
                "must be in [0, 1] (or None)",
            ));
        }
        Ok(SigmoidFocalLoss {
            alpha: self.alpha.map(|a| a as f32),
            gamma: self.gamma as f32,
            reduction: self.reduction,
        })
    }
}

/// `torchvision.ops.sigmoid_focal_loss` for logits and binary targets `[B, C]`:
/// `l = alpha_t (1 - p_t)^gamma BCE(x, t)` with `p = sigmoid(x)`,
/// `p_t = p t + (1 - p)(1 - t)`, `alpha_t = alpha t + (1 - alpha)(1 - t)`. One fused pass
/// (value and derivative) on flex in f32 ([`kernel::sigmoid_focal`]); Burn's ops elsewhere.
#[derive(Clone, Debug)]
pub struct SigmoidFocalLoss {
    alpha: Option<f32>,
    gamma: f32,
    reduction: Reduction,
}

impl SigmoidFocalLoss {
    /// The reduced loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        self.reduction
            .reduce(self.forward_no_reduction(logits, targets))
    }

    /// Element-wise losses, `[B, C]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        assert_same_shape("SigmoidFocalLoss", &logits, &targets);
        // one fused pass (value and derivative) on flex in f32
        kernel::sigmoid_focal(logits, targets, self.gamma, self.alpha)
    }
}

/// Configuration of [`SoftmaxFocalLoss`].
#[derive(Config, Debug)]
pub struct SoftmaxFocalLossConfig {
    /// Per-class weights `alpha_c` (`None`: 1 for every class).
    pub alpha: Option<Vec<f64>>,
    /// Focusing parameter `gamma >= 0`. Default 2.
    #[config(default = 2.0)]
    pub gamma: f64,
    /// Mean over the batch (default) or sum.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl SoftmaxFocalLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a negative gamma or an empty or negative alpha vector.
    pub fn init(&self) -> Result<SoftmaxFocalLoss> {
        validate_non_negative("gamma", self.gamma)?;
        if let Some(a) = &self.alpha {
            validate_weights("alpha", a)?;
        }
        Ok(SoftmaxFocalLoss {
            alpha: self.alpha.as_deref().map(to_f32),
            gamma: self.gamma as f32,
            reduction: self.reduction,
        })
    }
}

/// Multi-class focal loss for logits `[B, C]` and class indices `[B]`:
/// `l_i = -alpha_{y_i} (1 - p_{i,y_i})^gamma log p_{i,y_i}` with `p = softmax(x)`; the mean is
/// over the batch (not divided by the alpha sum).
#[derive(Clone, Debug)]
pub struct SoftmaxFocalLoss {
    alpha: Option<Vec<f32>>,
    gamma: f32,
    reduction: Reduction,
}

impl SoftmaxFocalLoss {
    /// The reduced loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()`, or alpha does not have `C` entries.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        self.reduction
            .reduce(self.forward_no_reduction(logits, targets))
    }

    /// Per-sample losses, `[B]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        assert_hard_targets("SoftmaxFocalLoss", &logits, &targets);
        let [_, c] = logits.dims();
        let device = logits.device();
        if let Some(a) = &self.alpha {
            assert_class_count("SoftmaxFocalLoss", "alpha", a.len(), logits.dims());
        }
        // -log p_{i,y_i} is the cross-entropy: one fused pass on flex, no gather
        let nll = kernel::cross_entropy_hard(logits, targets.clone(), 0.0);
        let mut loss = nll.clone();
        if self.gamma != 0.0 {
            loss = loss * pow_scalar(nll.neg().exp().neg() + 1.0, self.gamma);
        }
        match &self.alpha {
            Some(a) => {
                let a = Tensor::<1>::from_data(TensorData::new(a.clone(), [c]), &device);
                loss * a.select(0, targets)
            }
            None => loss,
        }
    }
}
