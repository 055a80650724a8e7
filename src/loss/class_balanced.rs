//! Class-balanced loss (Cui et al. 2019, "Class-Balanced Loss Based on Effective Number of
//! Samples").

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::{SigmoidFocalLossConfig, assert_hard_targets, one_hot, validate_non_negative};
use crate::error::Result;
use crate::kernel;

/// Effective-number class weights, computed in f64:
/// `w_c = (1 - beta) / (1 - beta^{n_c})`, rescaled so that `sum_c w_c = C`
/// (timm's `compute_class_weights(method='effective_num')`; the `w_norm` of
/// [`crate::sample::effective_number`]).
///
/// # Errors
/// [`PodiumError::Config`](crate::PodiumError::Config) for an empty count list, a zero count, or
/// `beta` outside `[0, 1)`.
pub fn effective_number_weights(counts: &[usize], beta: f64) -> Result<Vec<f64>> {
    let e = crate::sample::effective_number(counts, beta)
        .map_err(|e| e.map_key(|key| key.replace("class_counts", "samples_per_class")))?;
    Ok(e.w_norm)
}

/// The loss a [`ClassBalancedLoss`] weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClassBalancedLossType {
    /// Mean over `B * C` of `s_i * BCEWithLogits(x_ic, onehot_ic)`.
    Sigmoid,
    /// Mean over `B * C` of `s_i * BCE(softmax(x)_ic, onehot_ic)`, logs clamped at -100 as torch's
    /// `binary_cross_entropy`.
    Softmax,
    /// `sum_ic s_i (1 - p_t)^gamma BCEWithLogits(x_ic, onehot_ic) / sum_ic onehot_ic`.
    Focal,
}

/// Configuration of [`ClassBalancedLoss`].
#[derive(Config, Debug)]
pub struct ClassBalancedLossConfig {
    /// Training samples of each class `n_c`.
    pub samples_per_class: Vec<usize>,
    /// `beta` in `[0, 1)`. Default 0.9999 (the paper's ImageNet-LT choice).
    #[config(default = 0.9999)]
    pub beta: f64,
    /// Focusing parameter of the `Focal` type. Default 2.
    #[config(default = 2.0)]
    pub gamma: f64,
    /// The weighted loss. Default `Focal`.
    #[config(default = "ClassBalancedLossType::Focal")]
    pub loss_type: ClassBalancedLossType,
}

impl ClassBalancedLossConfig {
    /// Computes the weights (in f64) and builds the loss.
    ///
    /// # Errors
    /// Those of [`effective_number_weights`], and a negative gamma.
    pub fn init(&self) -> Result<ClassBalancedLoss> {
        validate_non_negative("gamma", self.gamma)?;
        Ok(ClassBalancedLoss {
            weights: effective_number_weights(&self.samples_per_class, self.beta)?,
            gamma: self.gamma as f32,
            loss_type: self.loss_type,
        })
    }
}

/// Class-balanced loss for logits `[B, C]` and class indices `[B]`: each sample's loss is
/// weighted by `s_i = w_{y_i}` from [`effective_number_weights`]. On flex in f32 the sigmoid type
/// sums each row's BCE in one fused pass ([`kernel::bce_with_logits_rows`]), the focal type runs
/// the fused [`kernel::sigmoid_focal`], the softmax type the fused [`kernel::softmax()`] and
/// [`kernel::log_softmax`]; Burn's ops elsewhere.
#[derive(Clone, Debug)]
pub struct ClassBalancedLoss {
    weights: Vec<f64>,
    gamma: f32,
    loss_type: ClassBalancedLossType,
}

impl ClassBalancedLoss {
    /// The class weights `w`, `sum = C`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The loss, `[1]`: the mean over `B * C` of the weighted terms (sigmoid, softmax), or their
    /// sum over the number of positives `B` (focal); equal to the mean of
    /// [`Self::forward_per_sample`].
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()` and `C` the number of classes
    /// configured.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        self.forward_per_sample(logits, targets).mean()
    }

    /// Each sample's share of the loss, `[B]`: its row of weighted terms summed, divided by `C`
    /// for the sigmoid and softmax types.
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        assert_hard_targets("ClassBalancedLoss", &logits, &targets);
        let [b, c] = logits.dims();
        assert_eq!(
            c,
            self.weights.len(),
            "ClassBalancedLoss: logits {:?} for {} configured classes",
            logits.dims(),
            self.weights.len()
        );
        let device = logits.device();
        let w: Vec<f32> = self.weights.iter().map(|&w| w as f32).collect();
        let s = Tensor::<1>::from_data(TensorData::new(w, [c]), &device)
            .select(0, targets.clone())
            .reshape([b, 1]);
        let t = one_hot(targets, c);
        let (terms, divisor) = match self.loss_type {
            ClassBalancedLossType::Sigmoid => {
                // sum_c s_i BCE_ic = s_i sum_c BCE_ic: per-row sums in one fused pass
                let rows = kernel::bce_with_logits_rows(logits, t).reshape([b, 1]);
                return (rows * s / c as f64).reshape([b]);
            }
            ClassBalancedLossType::Softmax => {
                // fused row passes on flex in f32
                let p = kernel::softmax(logits.clone());
                let log_p = kernel::log_softmax(logits).clamp_min(-100.0);
                let log_1mp = (p.neg() + 1.0).log().clamp_min(-100.0);
                (
                    (t.clone() * log_p + (t.neg() + 1.0) * log_1mp).neg(),
                    c as f64,
                )
            }
            ClassBalancedLossType::Focal => (
                SigmoidFocalLossConfig::new()
                    .with_alpha(None)
                    .with_gamma(self.gamma.into())
                    .init()
                    .expect("gamma checked at init")
                    .forward_no_reduction(logits, t),
                1.0,
            ),
        };
        ((terms * s).sum_dim(1) / divisor).reshape([b])
    }
}
