//! The `Tensor` entry points of the fused softmax losses: [`SoftmaxKernels`](super::SoftmaxKernels)
//! on flex in f32 (with or without autodiff), Burn's composed ops on every other backend and
//! dtype, chosen at run time from the tensor's backend (Burn 0.22 carries it in the dispatch
//! tensor) and dtype.

#[cfg(feature = "flex")]
use burn::tensor::DType;
use burn::tensor::{Int, Tensor};

#[cfg(feature = "flex")]
use super::softmax_flex::SoftmaxKernels;
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, DispatchTensorKind};

/// Whether the fused kernels can take this tensor: f32 on flex (with or without autodiff).
#[cfg(feature = "flex")]
fn fused_ok(logits: &Tensor<2>) -> bool {
    if logits.dtype() != DType::F32 {
        return false;
    }
    let kind = logits.clone().into_dispatch().kind;
    match kind {
        DispatchTensorKind::Flex(_) => true,
        DispatchTensorKind::Autodiff(inner) => matches!(*inner, DispatchTensorKind::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Per-sample cross-entropy with label smoothing `eps` of logits `[B, C]` against class indices
/// `[B]`: `l_i = lse_i - (1 - eps) x_{i,y_i} - (eps / C) sum_c x_ic`, torch's
/// `cross_entropy(x, y, label_smoothing=eps, reduction='none')`. Fused (one pass forward, one
/// scaling pass backward) on flex in f32; Burn's ops elsewhere.
///
/// # Panics
/// If `logits` is not `[B, C]` against `[B]` targets, or a target is not in `0..C`.
pub fn cross_entropy_hard(logits: Tensor<2>, targets: Tensor<1, Int>, eps: f32) -> Tensor<1> {
    let [b, c] = logits.dims();
    assert_eq!(
        targets.dims(),
        [b],
        "cross_entropy_hard: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    #[cfg(feature = "flex")]
    if fused_ok(&logits) {
        return Tensor::from_dispatch(Dispatch::softmax_cross_entropy_hard(
            logits.into_dispatch(),
            targets.into_dispatch(),
            eps,
        ));
    }
    let lse = log_sum_exp_reference(logits.clone());
    let x_y = logits.clone().gather(1, targets.reshape([b, 1]));
    let nll = (lse.clone() - x_y).reshape([b]);
    if eps == 0.0 {
        return nll;
    }
    let all = (lse * c as f64 - logits.sum_dim(1)).reshape([b]);
    nll * (1.0 - eps as f64) + all * (eps as f64 / c as f64)
}

/// Per-sample cross-entropy of logits `[B, C]` against dense targets `[B, C]`:
/// `l_i = lse_i sum_c t_ic - sum_c t_ic x_ic` (timm's `SoftTargetCrossEntropy` before the mean).
/// Fused on flex in f32 when the targets carry no gradient; Burn's ops otherwise.
///
/// # Panics
/// If the shapes differ.
pub fn cross_entropy_soft(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let [b, _] = logits.dims();
    assert_eq!(
        logits.dims(),
        targets.dims(),
        "cross_entropy_soft: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    #[cfg(feature = "flex")]
    if fused_ok(&logits) && targets.dtype() == DType::F32 && !targets.is_tracked() {
        return Tensor::from_dispatch(Dispatch::softmax_cross_entropy_soft(
            logits.into_dispatch(),
            targets.into_dispatch(),
        ));
    }
    let lse = log_sum_exp_reference(logits.clone());
    (lse * targets.clone().sum_dim(1) - (logits * targets).sum_dim(1)).reshape([b])
}

/// `log sum_c exp(x_ic)` of `[B, C]`, `[B, 1]` (`torch.logsumexp(x, 1, keepdim=True)`), its
/// gradient `softmax(x)`. Fused on flex in f32; Burn's ops elsewhere.
///
/// # Panics
/// If `logits` is empty along dim 1.
pub fn log_sum_exp(logits: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if fused_ok(&logits) {
        return Tensor::from_dispatch(Dispatch::log_sum_exp(logits.into_dispatch()));
    }
    log_sum_exp_reference(logits)
}

/// `log_softmax(x)` over dim 1 of `[B, C]` (`torch.log_softmax(x, 1)`): `y_ic = x_ic - lse_i`,
/// its backward `dx_ic = g_ic - softmax(x)_ic sum_k g_ik`. Fused on flex in f32 (one vectorized
/// `exp` pass forward, one pass backward); Burn's `log_softmax` elsewhere.
pub fn log_softmax(logits: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if fused_ok(&logits) {
        return Tensor::from_dispatch(Dispatch::fused_log_softmax(logits.into_dispatch()));
    }
    burn::tensor::activation::log_softmax(logits, 1)
}

/// `softmax(x)` over dim 1 of `[B, C]` (`torch.softmax(x, 1)`), its backward
/// `dx_ic = p_ic (g_ic - sum_k g_ik p_ik)`. Fused on flex in f32; Burn's `softmax` elsewhere.
pub fn softmax(logits: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if fused_ok(&logits) {
        return Tensor::from_dispatch(Dispatch::fused_softmax(logits.into_dispatch()));
    }
    burn::tensor::activation::softmax(logits, 1)
}

/// The composed form: `m = max_c x` (detached), `lse = log sum_c exp(x - m) + m`.
fn log_sum_exp_reference(x: Tensor<2>) -> Tensor<2> {
    let m = x.clone().detach().max_dim(1);
    (x - m.clone()).exp().sum_dim(1).log() + m
}
