//! Cross-entropy with class indices, label smoothing and class weights
//! (`torch.nn.functional.cross_entropy`).

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};

use super::{
    Reduction, assert_class_count, assert_hard_targets, to_f32, validate_unit_interval,
    validate_weights,
};
use crate::error::Result;
use crate::kernel;

/// Configuration of [`CrossEntropyLoss`].
#[derive(Config, Debug)]
pub struct CrossEntropyLossConfig {
    /// Label smoothing `eps` in `[0, 1)` (Szegedy et al. 2016; torch's `label_smoothing`).
    /// Default 0.
    #[config(default = 0.0)]
    pub label_smoothing: f64,
    /// Per-class weights `w` (torch's `weight`); `None` weighs every class 1.
    pub weight: Option<Vec<f64>>,
    /// Mean (default) or sum.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl CrossEntropyLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for smoothing outside `[0, 1)` or
    /// an empty or negative weight vector.
    pub fn init(&self) -> Result<CrossEntropyLoss> {
        validate_unit_interval("label_smoothing", self.label_smoothing)?;
        if let Some(w) = &self.weight {
            validate_weights("weight", w)?;
        }
        Ok(CrossEntropyLoss {
            label_smoothing: self.label_smoothing as f32,
            weight: self.weight.as_deref().map(to_f32),
            reduction: self.reduction,
        })
    }
}

/// timm's `LabelSmoothingCrossEntropy(smoothing)`:
/// `mean_i[(1 - eps) (-log p_{i,y}) + eps * mean_c(-log p_{ic})]`, the same value as torch's
/// `cross_entropy(label_smoothing=eps)`; `init()` builds that [`CrossEntropyLoss`].
#[derive(Config, Debug)]
pub struct LabelSmoothingCrossEntropyConfig {
    /// Smoothing `eps` in `[0, 1)`. timm's default 0.1.
    #[config(default = 0.1)]
    pub smoothing: f64,
}

impl LabelSmoothingCrossEntropyConfig {
    /// Builds the equivalent [`CrossEntropyLoss`].
    ///
    /// # Errors
    /// As [`CrossEntropyLossConfig::init`].
    pub fn init(&self) -> Result<CrossEntropyLoss> {
        CrossEntropyLossConfig::new()
            .with_label_smoothing(self.smoothing)
            .init()
    }
}

/// Cross-entropy of logits `[B, C]` against class indices `[B]`.
///
/// The smoothing and the weights are held in the logits' precision (f32).
///
/// With `p = softmax(x)`, smoothing `eps` and class weights `w` (1 without):
/// `l_i = (1 - eps) w_{y_i} (-log p_{i,y_i}) + (eps / C) sum_c w_c (-log p_{i,c})`.
/// `Mean` divides `sum_i l_i` by `sum_i w_{y_i}` (by `B` without weights), as torch does.
#[derive(Clone, Debug)]
pub struct CrossEntropyLoss {
    label_smoothing: f32,
    weight: Option<Vec<f32>>,
    reduction: Reduction,
}

impl CrossEntropyLoss {
    /// Whether class weights are set.
    pub fn is_weighted(&self) -> bool {
        self.weight.is_some()
    }

    /// The reduced loss, `[1]`.
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()`, or the weights do not have `C`
    /// entries.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        let per_sample = self.forward_no_reduction(logits.clone(), targets.clone());
        match (self.reduction, &self.weight) {
            (Reduction::Sum, _) => per_sample.sum(),
            (Reduction::Mean, None) => per_sample.mean(),
            (Reduction::Mean, Some(w)) => {
                let w =
                    Tensor::<1>::from_data(TensorData::new(w.clone(), [w.len()]), &logits.device());
                per_sample.sum() / w.select(0, targets).sum()
            }
        }
    }

    /// Per-sample losses `l_i`, `[B]` (torch's `reduction='none'`).
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        assert_hard_targets("CrossEntropyLoss", &logits, &targets);
        let [b, c] = logits.dims();
        if self.weight.is_none() {
            // one fused pass on flex (forward and local gradient), Burn's ops elsewhere
            return kernel::cross_entropy_hard(logits, targets, self.label_smoothing);
        }
        let device = logits.device();
        // -log p_ic = lse_i - x_ic, from one (fused, vectorized) exp pass
        let lse = kernel::log_sum_exp(logits.clone());
        let x_y = logits.clone().gather(1, targets.clone().reshape([b, 1]));
        let nll = (lse.clone() - x_y).reshape([b]);
        let weight = self.weight.as_ref().map(|w| {
            assert_class_count("CrossEntropyLoss", "weight", w.len(), [b, c]);
            Tensor::<1>::from_data(TensorData::new(w.clone(), [c]), &device)
        });
        let nll = match &weight {
            Some(w) => nll * w.clone().select(0, targets.clone()),
            None => nll,
        };
        if self.label_smoothing == 0.0 {
            return nll;
        }
        let eps = self.label_smoothing as f64;
        // sum_c w_c (-log p_ic) = lse_i sum_c w_c - sum_c w_c x_ic
        let all = match &weight {
            Some(w) => {
                let w_sum: f64 = self
                    .weight
                    .as_ref()
                    .map_or(0.0, |v| v.iter().map(|&x| x as f64).sum());
                lse * w_sum - (logits * w.clone().reshape([1, c])).sum_dim(1)
            }
            None => lse * c as f64 - logits.sum_dim(1),
        }
        .reshape([b]);
        nll * (1.0 - eps) + all * (eps / c as f64)
    }
}
