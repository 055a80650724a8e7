//! A differentiable F-beta loss for multi-label classification (metric-shaped training).

use burn::config::Config;
use burn::tensor::Tensor;

use super::{assert_same_shape, validate_positive};
use crate::error::Result;
use crate::kernel;

/// Configuration of [`SoftFBetaLoss`].
#[derive(Config, Debug)]
pub struct SoftFBetaLossConfig {
    /// `beta > 0` (1 gives F1; 2 weighs recall higher). Default 1.
    #[config(default = 1.0)]
    pub beta: f64,
    /// Added to the denominator. Default 1e-7.
    #[config(default = 1e-7)]
    pub eps: f64,
}

impl SoftFBetaLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for a non-positive beta or eps.
    pub fn init(&self) -> Result<SoftFBetaLoss> {
        validate_positive("beta", self.beta)?;
        validate_positive("eps", self.eps)?;
        Ok(SoftFBetaLoss {
            beta: self.beta as f32,
            eps: self.eps as f32,
        })
    }
}

/// With `p = sigmoid(x)`, per class over the batch `tp = sum p t`, `fp = sum p (1 - t)`,
/// `fn = sum (1 - p) t`, `F_c = (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp + eps)`;
/// `loss = 1 - mean_c F_c`. Beta and eps are held in the logits' precision (f32); `p` is the
/// fused [`kernel::sigmoid()`] on flex in f32.
#[derive(Clone, Debug)]
pub struct SoftFBetaLoss {
    beta: f32,
    eps: f32,
}

impl SoftFBetaLoss {
    /// The loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        self.f_beta_per_class(logits, targets).mean().neg() + 1.0
    }

    /// The soft `F_c` of each class, `[C]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn f_beta_per_class(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        assert_same_shape("SoftFBetaLoss", &logits, &targets);
        let [_, c] = logits.dims();
        let p = kernel::sigmoid(logits);
        // fp = sum p (1 - t) = sum p - tp and fn = sum (1 - p) t = sum t - tp: two [B, C] passes
        // on p instead of six
        let tp = (p.clone() * targets.clone()).sum_dim(0);
        let fp = p.sum_dim(0) - tp.clone();
        let fn_ = targets.sum_dim(0) - tp.clone();
        let b2 = (self.beta as f64).powi(2);
        let num = tp.clone() * (1.0 + b2);
        (num.clone() / (num + fn_ * b2 + fp + self.eps as f64)).reshape([c])
    }
}
