//! podium's batch norm fused with the activation that follows it: on the flex backend a Burn
//! backend extension (`#[backend_extension(Flex, Autodiff)]`) with two passes forward and two
//! backward; on every other backend and dtype, Burn's [`BatchNorm`] followed by Burn's
//! activation.
//!
//! | podium | Burn | PyTorch |
//! |---|---|---|
//! | [`batch_norm`]`(&bn, x, Activation::Identity)` | `bn.forward(x)` | `nn.BatchNorm2d` |
//! | [`batch_norm`]`(&bn, x, Activation::Relu)` | `relu(bn.forward(x))` | `F.relu(bn(x))` (timm's `BatchNormAct2d`) |
//! | [`batch_norm`]`(&bn, x, Activation::Silu)` | `silu(bn.forward(x))` | `F.silu(bn(x))` (timm's `BatchNormAct2d`) |
//! | [`set_fast_batch_norm`]`(false)` | (Burn's ops everywhere) | — |
//!
//! Training mode (an autodiff device and `bn.training` enabled, Burn's rule): the per-channel
//! mean and biased variance come from one pass of `f64` sums of `x` and `x^2`; a second pass
//! writes `act((x - mean) * gamma / sqrt(var + eps) + beta)`; the running statistics are
//! updated as Burn 0.22.1's `BatchNorm` does, `running = (1 - momentum) running + momentum
//! batch`, with the batch's biased variance (torch folds in the unbiased one, a relative
//! difference of `1 / (B H W - 1)`; podium follows Burn so records stay as they were).
//! Evaluation mode normalizes with the running statistics in one pass. The backward (written
//! by hand, as burn-autodiff writes its `batch_norm_train`) takes two passes: per channel
//! `sum g` and `sum g (x - mean)` with `g = dy * act'(z)`, then
//! `dx = gamma inv_std (g - mean(g) - xhat mean(g xhat))` (evaluation: `dx = gamma inv_std g`),
//! `dgamma = sum g xhat`, `dbeta = sum g`. Burn 0.22.1's flex backend runs the default
//! decomposition of `batch_norm_train` (about ten tensor ops forward and as many backward) and
//! a separate activation.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::nn::BatchNorm;
use burn::tensor::Tensor;
use burn::tensor::activation::{relu, silu};

static FAST_BATCH_NORM: AtomicBool = AtomicBool::new(true);
thread_local! {
    /// Fast-path calls made from this thread (the dispatch runs on the caller's thread).
    static FAST_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The activation fused after the batch norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// None: `y = z`.
    #[default]
    Identity,
    /// `y = max(z, 0)`; the gradient passes where `z > 0` (Burn's `relu` backward).
    Relu,
    /// `y = z sigmoid(z)`, `dy/dz = s (1 + z (1 - s))` with `s = sigmoid(z)` (`nn.SiLU`).
    Silu,
}

impl Activation {
    /// The activation through Burn's ops: `x`, `relu(x)` or `silu(x)`.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Identity => x,
            Self::Relu => relu(x),
            Self::Silu => silu(x),
        }
    }
}

/// How many batch norms podium's fused kernels have run from the calling thread (calls of
/// [`batch_norm`] that took the fast path), counted per thread so that other threads' calls do not add to it;
/// tests and benchmarks use it to check that a
/// model's batch norms reach the kernels.
pub fn fast_batch_norm_calls() -> u64 {
    FAST_CALLS.with(std::cell::Cell::get)
}

/// Turns podium's fused batch-norm kernels on or off for the whole process (on by default).
/// Off, [`batch_norm`] runs Burn's `BatchNorm::forward` and activation; benchmarks use this to
/// compare the two in one build.
pub fn set_fast_batch_norm(enabled: bool) {
    FAST_BATCH_NORM.store(enabled, Ordering::Relaxed);
}

/// Whether podium's fused batch-norm kernels are on (see [`set_fast_batch_norm`]).
pub fn fast_batch_norm_enabled() -> bool {
    FAST_BATCH_NORM.load(Ordering::Relaxed)
}

/// `act.apply(bn.forward(x))`, fused on the flex device in `f32`: the same values (within `f32`
/// rounding), the same gradients of `x`, `gamma` and `beta`, and the same running-statistics
/// update as Burn's `BatchNorm::forward`, so records and weight files are unchanged. Training
/// mode is Burn's rule: `x` on an autodiff device and `bn.training` enabled.
///
/// # Panics
/// As `BatchNorm::forward`: if `x` has rank below 2 or its second axis is not `bn`'s number of
/// features.
pub fn batch_norm<const D: usize>(bn: &BatchNorm, x: Tensor<D>, act: Activation) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if fast_batch_norm_enabled() && fast::applies(bn, &x) {
        FAST_CALLS.with(|n| n.set(n.get() + 1));
        return fast::batch_norm(bn, x, act);
    }
    act.apply(bn.forward(x))
}

#[cfg(feature = "flex")]
mod fast {
    use burn::backend::Dispatch;
    use burn::nn::BatchNorm;
    use burn::tensor::{DType, Tensor};

    use super::super::batch_norm_flex::BatchNormKernels;
    use super::super::flex_autodiff::on_flex;
    use super::Activation;

    /// `f32` input and parameters on the flex device, `[B, C, ...]` with `C` the layer's
    /// features and at least one value.
    pub(super) fn applies<const D: usize>(bn: &BatchNorm, x: &Tensor<D>) -> bool {
        let gamma = bn.gamma.val();
        let dims = x.dims();
        D >= 2
            && dims[1] == gamma.dims()[0]
            && dims.iter().all(|&d| d > 0)
            && x.dtype() == DType::F32
            && gamma.dtype() == DType::F32
            && bn.beta.val().dtype() == DType::F32
            && on_flex(x.device())
            && on_flex(gamma.device())
    }

    pub(super) fn batch_norm<const D: usize>(
        bn: &BatchNorm,
        x: Tensor<D>,
        act: Activation,
    ) -> Tensor<D> {
        let device = x.device();
        let (gamma, beta) = (bn.gamma.val(), bn.beta.val());
        if !(device.is_autodiff() && bn.training.is_enabled()) {
            let mean = bn.running_mean.value().to_device(&device);
            let var = bn.running_var.value().to_device(&device);
            return Tensor::from_dispatch(<Dispatch as BatchNormKernels>::podium_batch_norm_eval(
                x.into_dispatch(),
                gamma.into_dispatch(),
                beta.into_dispatch(),
                mean.into_dispatch(),
                var.into_dispatch(),
                bn.epsilon,
                act,
            ));
        }
        let (y, mean, var) = <Dispatch as BatchNormKernels>::podium_batch_norm_train(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            bn.epsilon,
            act,
        );
        let (mean, var) = (
            Tensor::<1>::from_dispatch(mean),
            Tensor::<1>::from_dispatch(var),
        );
        // Burn 0.22.1's `BatchNorm::forward_train`, term for term.
        let running_mean = bn.running_mean.value_sync().to_device(&device);
        let running_var = bn.running_var.value_sync().to_device(&device);
        let running_mean = running_mean
            .mul_scalar(1.0 - bn.momentum)
            .add(mean.detach().mul_scalar(bn.momentum));
        let running_var = running_var
            .mul_scalar(1.0 - bn.momentum)
            .add(var.detach().mul_scalar(bn.momentum));
        bn.running_mean.update(running_mean.detach());
        bn.running_var.update(running_var.detach());
        Tensor::from_dispatch(y)
    }
}
