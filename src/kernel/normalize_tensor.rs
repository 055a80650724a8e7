//! The `Tensor` entry point of the fused row-wise L2 normalization:
//! [`NormalizeKernels`](super::NormalizeKernels) on flex in f32 (with or without autodiff),
//! Burn's composed ops on every other backend and dtype, chosen at run time.

#[cfg(feature = "flex")]
use burn::tensor::DType;
use burn::tensor::Tensor;

#[cfg(feature = "flex")]
use super::normalize_flex::NormalizeKernels;
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, DispatchTensorKind};

/// `x_i / max(||x_i||_2, 1e-12)` for each row of `[N, D]`
/// (`torch.nn.functional.normalize(x, dim=1)`). Fused on flex in f32 (one pass forward, one
/// backward: `(g - y (g . y)) / ||x||`); Burn's ops elsewhere (squares by multiplication).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if x.dtype() == DType::F32 {
        let fused = match x.clone().into_dispatch().kind {
            DispatchTensorKind::Flex(_) => true,
            DispatchTensorKind::Autodiff(inner) => matches!(*inner, DispatchTensorKind::Flex(_)),
            #[allow(unreachable_patterns)]
            _ => false,
        };
        if fused {
            return Tensor::from_dispatch(Dispatch::fused_l2_normalize(x.into_dispatch()));
        }
    }
    let norm = (x.clone() * x.clone())
        .sum_dim(1)
        .sqrt()
        .clamp_min(f64::from(super::normalize::EPS));
    x / norm
}
