//! Classification losses that give the numbers PyTorch, torchvision and timm give, gradients
//! included, numerically stable for logits of +/-30 (log-sum-exp and log-sigmoid forms).
//!
//! Each loss follows burn-nn's style: a `#[derive(Config)]` struct with documented defaults and an
//! `init()` that checks the values (a [`PodiumError::Config`] names the
//! key) and builds the loss; `forward` reduces as configured, `forward_no_reduction` keeps one
//! value per sample (or per element). Shapes are checked at the API boundary: a mismatch panics
//! with a message naming both shapes, as burn does.
//!
//! | loss | follows |
//! |---|---|
//! | [`CrossEntropyLoss`] (label smoothing, class weights) | `torch.nn.functional.cross_entropy` |
//! | [`SoftTargetCrossEntropy`] | `timm.loss.SoftTargetCrossEntropy` |
//! | [`LabelSmoothingCrossEntropyConfig`] | `timm.loss.LabelSmoothingCrossEntropy` |
//! | [`BceWithLogitsLoss`] | `torch.nn.functional.binary_cross_entropy_with_logits` |
//! | [`SigmoidFocalLoss`] | `torchvision.ops.sigmoid_focal_loss` (Lin et al. 2017) |
//! | [`SoftmaxFocalLoss`] | softmax focal loss with per-class alpha |
//! | [`ClassBalancedLoss`], [`effective_number_weights`] | Cui et al. 2019 |
//! | [`TopKLoss`] | online hard example mining |
//! | [`Poly1CrossEntropy`] | Leng et al. 2022, `timm.loss.PolyCrossEntropy` |
//! | [`AsymmetricLossMultiLabel`], [`AsymmetricLossSingleLabel`] | Ridnik et al. 2021, timm |
//! | [`JsdCrossEntropy`] | AugMix (Hendrycks et al. 2020), `timm.loss.JsdCrossEntropy` |
//! | [`KnowledgeDistillationLoss`] | Hinton et al. 2015 |
//! | [`MarginHead`] (ArcFace, CosFace, AM-Softmax) | Deng et al. 2019; Wang et al. 2018 (x2) |
//! | [`lovasz_hinge`], [`lovasz_softmax`] | Berman et al. 2018, `lovasz_losses.py` |
//! | [`SoftFBetaLoss`] | differentiable F-beta for multi-label |

mod asymmetric;
mod bce;
mod class_balanced;
mod cross_entropy;
mod distillation;
mod focal;
mod jsd;
mod lovasz;
mod margin;
mod objective;
mod poly;
mod soft_f_beta;
mod soft_target;
mod topk;

pub use asymmetric::{
    AslReduction, AsymmetricLossMultiLabel, AsymmetricLossMultiLabelConfig,
    AsymmetricLossSingleLabel, AsymmetricLossSingleLabelConfig,
};
pub use bce::{BceWithLogitsLoss, BceWithLogitsLossConfig};
pub use class_balanced::{
    ClassBalancedLoss, ClassBalancedLossConfig, ClassBalancedLossType, effective_number_weights,
};
pub use cross_entropy::{
    CrossEntropyLoss, CrossEntropyLossConfig, LabelSmoothingCrossEntropyConfig,
};
pub use distillation::{
    DistillationOutput, KnowledgeDistillationLoss, KnowledgeDistillationLossConfig,
};
pub use focal::{
    SigmoidFocalLoss, SigmoidFocalLossConfig, SoftmaxFocalLoss, SoftmaxFocalLossConfig,
};
pub use jsd::{JsdCrossEntropy, JsdCrossEntropyConfig};
pub use lovasz::{lovasz_grad, lovasz_hinge, lovasz_softmax};
pub use margin::{MarginHead, MarginHeadConfig, MarginKind};
pub use objective::{LossConfig, Objective};
pub use poly::{Poly1CrossEntropy, Poly1CrossEntropyConfig};
pub use soft_f_beta::{SoftFBetaLoss, SoftFBetaLossConfig};
pub use soft_target::SoftTargetCrossEntropy;
pub use topk::{TopKLoss, TopKLossConfig};

use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};
use crate::kernel;

/// How per-sample (or per-element) losses are reduced to one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Reduction {
    /// The mean (torch's default; weighted losses divide by the weight sum where torch does).
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl Reduction {
    /// Reduces any tensor to a `[1]` tensor.
    pub fn reduce<const D: usize>(self, values: Tensor<D>) -> Tensor<1> {
        match self {
            Reduction::Mean => values.mean(),
            Reduction::Sum => values.sum(),
        }
    }
}

/// `x^gamma` for a scalar exponent; small integer exponents (the usual focusing parameters 1, 2,
/// 4) use exact repeated multiplication, which burn-flex runs far faster than `powf`.
pub(crate) fn pow_scalar<const D: usize>(x: Tensor<D>, gamma: f32) -> Tensor<D> {
    if gamma == 0.0 {
        return x.ones_like();
    }
    if gamma.fract() == 0.0 && (1.0..=8.0).contains(&gamma) {
        let n = gamma as u32;
        let mut result: Option<Tensor<D>> = None;
        let mut base = x;
        let mut e = n;
        loop {
            if e & 1 == 1 {
                result = Some(match result {
                    Some(r) => r * base.clone(),
                    None => base.clone(),
                });
            }
            e >>= 1;
            if e == 0 {
                break;
            }
            base = base.clone() * base;
        }
        return result.expect("gamma >= 1");
    }
    x.powf_scalar(gamma)
}

/// `-log sigmoid(x) = log1p(exp(-|x|)) + max(-x, 0)`, fused on flex in f32
/// ([`kernel::log_sigmoid`]).
pub(crate) fn neg_log_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    kernel::log_sigmoid(x).neg()
}

/// One-hot float encoding of class indices `[B]` as `[B, C]`.
pub(crate) fn one_hot(targets: Tensor<1, Int>, num_classes: usize) -> Tensor<2> {
    targets.one_hot::<2>(num_classes).float()
}

/// Panics unless `logits` is `[B, C]` and `targets` is `[B]`.
pub(crate) fn assert_hard_targets(op: &str, logits: &Tensor<2>, targets: &Tensor<1, Int>) {
    let [b, _] = logits.dims();
    let [t] = targets.dims();
    assert_eq!(
        b,
        t,
        "{op}: logits {:?} against targets {:?}: batch sizes differ",
        logits.dims(),
        targets.dims()
    );
}

/// Panics unless `logits` and `targets` have the same shape.
pub(crate) fn assert_same_shape<const D: usize>(op: &str, logits: &Tensor<D>, targets: &Tensor<D>) {
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "{op}: logits {:?} against targets {:?}: shapes differ",
        logits.dims(),
        targets.dims()
    );
}

/// Panics unless a per-class vector has `C` entries.
pub(crate) fn assert_class_count(op: &str, what: &str, len: usize, logits_dims: [usize; 2]) {
    let [_, c] = logits_dims;
    assert_eq!(
        len, c,
        "{op}: {what} has {len} entries for logits {logits_dims:?} with {c} classes"
    );
}

pub(crate) fn validate_unit_interval(key: &str, v: f64) -> Result<()> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(PodiumError::config(key, v, "must be in [0, 1)"))
    }
}

pub(crate) fn validate_non_negative(key: &str, v: f64) -> Result<()> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(PodiumError::config(key, v, "must be a finite number >= 0"))
    }
}

pub(crate) fn validate_positive(key: &str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(PodiumError::config(key, v, "must be a finite number > 0"))
    }
}

pub(crate) fn validate_weights(key: &str, w: &[f64]) -> Result<()> {
    if w.is_empty() {
        return Err(PodiumError::config(key, "[]", "needs one value per class"));
    }
    let range = 0.0..=f64::from(f32::MAX);
    if let Some(v) = w.iter().find(|v| !range.contains(*v)) {
        return Err(PodiumError::config(
            key,
            v,
            "weights must be finite (in f32) and >= 0",
        ));
    }
    Ok(())
}

/// A per-class vector of the config (f64, as every hyper-parameter) in the tensors' precision.
pub(crate) fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}
