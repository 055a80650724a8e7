//! Asymmetric losses (Ridnik et al. 2021, "Asymmetric Loss For Multi-Label Classification"), as
//! timm's `AsymmetricLossMultiLabel` and `AsymmetricLossSingleLabel`.

use burn::config::Config;
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use super::{
    Reduction, assert_hard_targets, assert_same_shape, pow_scalar, validate_non_negative,
    validate_unit_interval,
};
use crate::error::{PodiumError, Result};
use crate::kernel;
use crate::kernel::asymmetric::AslParams;

/// Reductions of the multi-label asymmetric loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AslReduction {
    /// Sum divided by the batch size (timm's default).
    #[default]
    BatchMean,
    /// Sum over all elements.
    Sum,
    /// Mean over all `B * C` elements.
    Mean,
}

/// Configuration of [`AsymmetricLossMultiLabel`], with timm's defaults.
#[derive(Config, Debug)]
pub struct AsymmetricLossMultiLabelConfig {
    /// Focusing exponent of negatives. Default 4.
    #[config(default = 4.0)]
    pub gamma_neg: f64,
    /// Focusing exponent of positives. Default 1.
    #[config(default = 1.0)]
    pub gamma_pos: f64,
    /// Probability margin shifted off negatives (0 disables). Default 0.05.
    #[config(default = 0.05)]
    pub clip: f64,
    /// Floor of the probabilities inside the logs. Default 1e-8.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// Reduction. Default `BatchMean`.
    #[config(default = "AslReduction::BatchMean")]
    pub reduction: AslReduction,
}

impl AsymmetricLossMultiLabelConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for negative gammas, clip outside `[0, 1)` or a non-positive eps.
    pub fn init(&self) -> Result<AsymmetricLossMultiLabel> {
        validate_non_negative("gamma_neg", self.gamma_neg)?;
        validate_non_negative("gamma_pos", self.gamma_pos)?;
        validate_unit_interval("clip", self.clip)?;
        if self.eps.is_nan() || self.eps <= 0.0 {
            return Err(PodiumError::config("eps", self.eps, "must be > 0"));
        }
        Ok(AsymmetricLossMultiLabel {
            gamma_neg: self.gamma_neg as f32,
            gamma_pos: self.gamma_pos as f32,
            clip: self.clip as f32,
            eps: self.eps as f32,
            reduction: self.reduction,
        })
    }
}

/// Multi-label asymmetric loss for logits and binary targets `[B, C]`:
/// `p = sigmoid(x)`, `p_neg = min(1 - p + clip, 1)`,
/// `L = t log(max(p, eps)) + (1 - t) log(max(p_neg, eps))`, weighted by
/// `(1 - p_t)^(gamma_pos t + gamma_neg (1 - t))` with `p_t = p t + p_neg (1 - t)`; `loss = -L`.
/// The hyper-parameters are held in the logits' precision (f32). One fused pass (value and
/// derivative) on flex in f32 ([`kernel::asymmetric_multilabel`]); Burn's ops elsewhere.
#[derive(Clone, Debug)]
pub struct AsymmetricLossMultiLabel {
    gamma_neg: f32,
    gamma_pos: f32,
    clip: f32,
    eps: f32,
    reduction: AslReduction,
}

impl AsymmetricLossMultiLabel {
    /// The reduced loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` and `targets` differ in shape.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        let [b, _] = logits.dims();
        let loss = self.forward_no_reduction(logits, targets);
        match self.reduction {
            AslReduction::BatchMean => loss.sum() / b as f64,
            AslReduction::Sum => loss.sum(),
            AslReduction::Mean => loss.mean(),
        }
    }

    /// Element-wise losses, `[B, C]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        assert_same_shape("AsymmetricLossMultiLabel", &logits, &targets);
        let params = AslParams {
            gamma_pos: self.gamma_pos,
            gamma_neg: self.gamma_neg,
            clip: self.clip,
            eps: self.eps,
        };
        kernel::asymmetric_multilabel(logits, targets, params)
    }
}

/// Configuration of [`AsymmetricLossSingleLabel`], with timm's defaults.
#[derive(Config, Debug)]
pub struct AsymmetricLossSingleLabelConfig {
    /// Focusing exponent of the target class. Default 1.
    #[config(default = 1.0)]
    pub gamma_pos: f64,
    /// Focusing exponent of the other classes. Default 4.
    #[config(default = 4.0)]
    pub gamma_neg: f64,
    /// Label smoothing of the targets, in `[0, 1)` (timm's `eps`). Default 0.1.
    #[config(default = 0.1)]
    pub eps: f64,
    /// Mean (default) or sum over the batch.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl AsymmetricLossSingleLabelConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for negative gammas or eps outside `[0, 1)`.
    pub fn init(&self) -> Result<AsymmetricLossSingleLabel> {
        validate_non_negative("gamma_pos", self.gamma_pos)?;
        validate_non_negative("gamma_neg", self.gamma_neg)?;
        validate_unit_interval("eps", self.eps)?;
        Ok(AsymmetricLossSingleLabel {
            gamma_pos: self.gamma_pos as f32,
            gamma_neg: self.gamma_neg as f32,
            eps: self.eps as f32,
            reduction: self.reduction,
        })
    }
}

/// Single-label asymmetric loss for logits `[B, C]` and class indices `[B]`:
/// `logp = log_softmax(x)`; `w_ic = (1 - p_ic)^gamma_pos` at the target and `p_ic^gamma_neg`
/// elsewhere; targets smoothed to `onehot (1 - eps) + eps / C`; `l_i = -sum_c t_ic w_ic logp_ic`.
/// The hyper-parameters are held in the logits' precision (f32).
///
/// Computed as `-(eps / C) sum_c p_ic^gamma_neg logp_ic` over every class with the target's term
/// swapped for `(1 - eps + eps / C) (1 - p_iy)^gamma_pos logp_iy` (the same sum), `logp` and `p`
/// from the fused [`kernel::log_softmax`] and [`kernel::softmax()`] on flex in f32 (Burn's ops
/// elsewhere).
#[derive(Clone, Debug)]
pub struct AsymmetricLossSingleLabel {
    gamma_pos: f32,
    gamma_neg: f32,
    eps: f32,
    reduction: Reduction,
}

impl AsymmetricLossSingleLabel {
    /// The reduced loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()`.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        self.reduction
            .reduce(self.forward_no_reduction(logits, targets))
    }

    /// Per-sample losses, `[B]`.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        assert_hard_targets("AsymmetricLossSingleLabel", &logits, &targets);
        let [b, c] = logits.dims();
        let cfg = self;
        let logp = kernel::log_softmax(logits.clone());
        let p = kernel::softmax(logits);
        let y = targets.reshape([b, 1]);
        let logp_y = logp.clone().gather(1, y.clone());
        let p_y = p.clone().gather(1, y);
        // timm's base 1 - p t - (1 - p)(1 - t) is 1 - p at the target and p elsewhere; with a
        // one-hot t the exponent splits into the two scalar powers. Every class first with the
        // non-target weight, then the target's term swapped in ([B, 1] work)
        let eps = cfg.eps as f64;
        let off = eps / c as f64;
        let on = 1.0 - eps + off;
        let all = (pow_scalar(p, cfg.gamma_neg) * logp).sum_dim(1);
        let target = pow_scalar(p_y.clone().neg() + 1.0, cfg.gamma_pos) * logp_y.clone() * on
            - pow_scalar(p_y, cfg.gamma_neg) * logp_y * off;
        (all * off + target).neg().reshape([b])
    }
}
