//! The `Tensor` entry points of the fused logistic kernels:
//! [`SigmoidKernels`](super::SigmoidKernels) on flex in f32 (with or without autodiff), Burn's composed ops on every other backend and
//! dtype, chosen at run time from the tensor's backend and dtype.

#[cfg(feature = "flex")]
use burn::tensor::DType;
use burn::tensor::Tensor;

use super::asymmetric::AslParams;
use burn::tensor::activation::relu;

#[cfg(feature = "flex")]
use super::sigmoid_flex::SigmoidKernels;
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, DispatchTensorKind};

/// Whether the fused kernels can take this tensor: f32 on flex (with or without autodiff).
#[cfg(feature = "flex")]
fn fused_ok<const D: usize>(x: &Tensor<D>) -> bool {
    if x.dtype() != DType::F32 {
        return false;
    }
    match x.clone().into_dispatch().kind {
        DispatchTensorKind::Flex(_) => true,
        DispatchTensorKind::Autodiff(inner) => matches!(*inner, DispatchTensorKind::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// `log(1 + exp(-|x|)) + max(-x, 0) = -log sigmoid(x)` composed of Burn's ops (`|x|` as
/// `relu(x) + relu(-x)`, whose backward burn-flex runs cheaply).
fn neg_log_sigmoid_reference<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let neg_part = relu(x.clone().neg());
    ((neg_part.clone() + relu(x)).neg().exp() + 1.0).log() + neg_part
}

/// Element-wise binary cross-entropy with logits `x` against targets `t` of the same shape:
/// `max(x, 0) - x t + log1p(exp(-|x|))`, the gradient `sigmoid(x) - t`
/// (`F.binary_cross_entropy_with_logits(x, t, reduction='none')`). Fused (one pass forward, one
/// product backward) on flex in f32 when the targets carry no gradient; Burn's ops otherwise.
///
/// # Panics
/// If the shapes differ.
pub fn bce_with_logits<const D: usize>(logits: Tensor<D>, targets: Tensor<D>) -> Tensor<D> {
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "bce_with_logits: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    #[cfg(feature = "flex")]
    if fused_ok(&logits) && targets.dtype() == DType::F32 && !targets.is_tracked() {
        return Tensor::from_dispatch(Dispatch::fused_bce_with_logits(
            logits.into_dispatch(),
            targets.into_dispatch(),
        ));
    }
    (targets.neg() + 1.0) * logits.clone() + neg_log_sigmoid_reference(logits)
}

/// Per-row sums of the element-wise BCE with logits of `[B, C]` against targets `[B, C]`, `[B]`:
/// `sum_c max(x, 0) - x t + log1p(exp(-|x|))`, the gradient `sigmoid(x) - t` scaled by the
/// row's upstream gradient. Fused (one pass forward, one backward, no `[B, C]` loss tensor) on
/// flex in f32 when the targets carry no gradient; [`bce_with_logits`] summed otherwise.
///
/// # Panics
/// If the shapes differ.
pub fn bce_with_logits_rows(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let [b, _] = logits.dims();
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "bce_with_logits_rows: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    #[cfg(feature = "flex")]
    if fused_ok(&logits) && targets.dtype() == DType::F32 && !targets.is_tracked() {
        return Tensor::from_dispatch(Dispatch::fused_bce_with_logits_rows(
            logits.into_dispatch(),
            targets.into_dispatch(),
        ));
    }
    bce_with_logits(logits, targets).sum_dim(1).reshape([b])
}

/// The element-wise sigmoid focal loss (`torchvision.ops.sigmoid_focal_loss(x, t, alpha, gamma,
/// reduction='none')`) of logits against targets of one shape: `alpha_t (1 - p_t)^gamma BCE`,
/// formulas and derivative in [`super::focal`]; `alpha = None` disables the weighting. Fused
/// (one pass forward, one product backward) on flex in f32 when the targets carry no gradient;
/// composed of Burn's ops (around [`bce_with_logits`] and [`sigmoid()`]) otherwise.
///
/// # Panics
/// If the shapes differ, or `alpha` is negative.
pub fn sigmoid_focal<const D: usize>(
    logits: Tensor<D>,
    targets: Tensor<D>,
    gamma: f32,
    alpha: Option<f32>,
) -> Tensor<D> {
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "sigmoid_focal: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    assert!(
        alpha.is_none_or(|a| a >= 0.0),
        "sigmoid_focal: alpha {alpha:?} is negative"
    );
    #[cfg(feature = "flex")]
    if fused_ok(&logits) && targets.dtype() == DType::F32 && !targets.is_tracked() {
        return Tensor::from_dispatch(Dispatch::fused_sigmoid_focal(
            logits.into_dispatch(),
            targets.into_dispatch(),
            gamma,
            alpha.unwrap_or(-1.0),
        ));
    }
    let bce = bce_with_logits(logits.clone(), targets.clone());
    let loss = if gamma == 0.0 {
        bce
    } else {
        // 1 - p_t = p (1 - 2 t) + t
        let q = sigmoid(logits) * (targets.clone() * -2.0 + 1.0) + targets.clone();
        bce * q.powf_scalar(gamma)
    };
    match alpha {
        Some(a) => {
            let a = a as f64;
            loss * (targets * (2.0 * a - 1.0) + (1.0 - a))
        }
        None => loss,
    }
}

/// The element-wise multi-label asymmetric loss (timm's `AsymmetricLossMultiLabel` before its
/// sum) of logits against targets of one shape, formulas and derivative in
/// [`super::asymmetric`]. Fused (one pass forward, one product backward) on flex in f32 when the
/// targets carry no gradient; composed of Burn's ops (around [`log_sigmoid`] and [`sigmoid()`])
/// otherwise.
///
/// # Panics
/// If the shapes differ.
pub fn asymmetric_multilabel<const D: usize>(
    logits: Tensor<D>,
    targets: Tensor<D>,
    params: AslParams,
) -> Tensor<D> {
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "asymmetric_multilabel: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    #[cfg(feature = "flex")]
    if fused_ok(&logits) && targets.dtype() == DType::F32 && !targets.is_tracked() {
        return Tensor::from_dispatch(Dispatch::fused_asymmetric_multilabel(
            logits.into_dispatch(),
            targets.into_dispatch(),
            params.gamma_pos,
            params.gamma_neg,
            params.clip,
            params.eps,
        ));
    }
    let c = params;
    let log_p = log_sigmoid(logits.clone());
    let p = sigmoid(logits);
    let mut p_neg = p.clone().neg() + 1.0;
    if c.clip > 0.0 {
        p_neg = (p_neg + c.clip as f64).clamp_max(1.0);
    }
    let anti = targets.clone().neg() + 1.0;
    // log(max(p, eps)) = max(log sigmoid(x), log eps)
    let log_eps = (c.eps as f64).ln();
    let loss = targets.clone() * log_p.clamp_min(log_eps)
        + anti.clone() * p_neg.clone().clamp_min(c.eps as f64).log();
    let loss = if c.gamma_neg > 0.0 || c.gamma_pos > 0.0 {
        let p_t = p * targets.clone() + p_neg * anti.clone();
        let gamma = targets * c.gamma_pos as f64 + anti * c.gamma_neg as f64;
        loss * (p_t.neg() + 1.0).powf(gamma)
    } else {
        loss
    };
    loss.neg()
}

/// Element-wise `log sigmoid(x) = -(max(-x, 0) + log1p(exp(-|x|)))` (`F.logsigmoid`), the
/// gradient `1 - sigmoid(x)`. Fused on flex in f32; Burn's ops elsewhere.
pub fn log_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if fused_ok(&x) {
        return Tensor::from_dispatch(Dispatch::fused_log_sigmoid(x.into_dispatch()));
    }
    neg_log_sigmoid_reference(x).neg()
}

/// Element-wise `sigmoid(x)` (`torch.sigmoid`), the gradient `sigmoid(x) (1 - sigmoid(x))`.
/// Fused on flex in f32; Burn's `sigmoid` elsewhere.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if fused_ok(&x) {
        return Tensor::from_dispatch(Dispatch::fused_sigmoid(x.into_dispatch()));
    }
    burn::tensor::activation::sigmoid(x)
}
