//! Automatic mixed precision for the compute-bound layers: a per-thread autocast region, as
//! `torch.autocast(device_type, dtype=...)` opens one, inside which podium's convolution
//! ([`conv2d`](super::conv::conv2d), [`conv2d_with`](super::conv::conv2d_with)) and
//! [`linear`] compute in a low precision (`f16` or `bf16`) and hand back `f32`.
//!
//! The contract is torch's autocast one for the ops podium's models use:
//!
//! | op | inside [`autocast`]`(Some(F16 / BF16), ..)` | torch.autocast |
//! |---|---|---|
//! | convolution ([`conv2d`](super::conv::conv2d)) | input, weight, bias cast to the low dtype; computed there; output cast back to `f32`. On flex with `BF16`: podium's kernels round the dense gemms' operands to bfloat16 and sum in `f32` (AVX512-BF16 where the CPU has it), output and gradients rounded to `bf16` once, depthwise in `f32` | `conv2d` on the lower-precision list |
//! | [`linear`] (a model's head) | the same, through Burn's `linear` (a matmul) | `linear` / `matmul` on the lower-precision list |
//! | everything else (BatchNorm, activations, pooling, softmax, losses, reductions) | `f32`, as the tensors arrive in `f32` | `batch_norm`, `softmax`, losses, `sum` run in (or are promoted to) `f32` |
//!
//! The parameters stay `f32` (the *master weights*): the cast is a differentiable op (Burn's
//! autodiff casts the gradient back to the dtype of the cast's input), so the backward pass of a
//! convolution or a matmul runs in the low precision too, and every parameter's gradient arrives
//! in `f32`, where the optimizer and its state live (torch's
//! `torch.autocast` + `GradScaler` + an `f32` optimizer).
//!
//! Only `f32` inputs are cast (an `f64` or already-`f16` tensor passes through unchanged), and
//! outside a region (the default) nothing is cast. A region belongs to the thread that opened
//! it, like torch's autocast state: a model's forward pass runs on the caller's thread, so
//! [`autocast`]`(dtype, || model.forward(x))` covers it.
//!
//! On the flex device a `BF16` region needs no cast at all for the convolutions: their gemms
//! (forward, input and weight gradients) take the `f32` tensors, round the packed operands to
//! bfloat16 and accumulate in `f32` with AVX512-BF16's `VDPBF16PS` (runtime detection; other
//! CPUs round and use the `f32` gemm), as oneDNN's `avx512_core_bf16` convolutions under
//! `torch.autocast("cpu", torch.bfloat16)` do, so the mixed-precision step is faster than the
//! `f32` one rather than slower (BENCHMARKS.md "CPU training against PyTorch").
//!
//! Whether a device can compute in a dtype is Burn's
//! [`Device::supports_dtype`](burn::tensor::Device::supports_dtype); flex computes `f16` natively
//! (its gemm) and `bf16` by widening each product's inputs to `f32` (the result is rounded to
//! `bf16`), as GPUs' tensor cores accumulate in `f32`.

use std::cell::Cell;

use burn::nn::Linear;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, FloatDType, Tensor};

thread_local! {
    static AUTOCAST: Cell<Option<FloatDType>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's autocast dtype set to `dtype` (`None`: no autocast, every op in
/// its input's dtype), then restores the previous setting, also when `f` panics:
/// `with torch.autocast(device_type, dtype=dtype, enabled=dtype is not None): f()`.
///
/// # Panics
/// If `dtype` is `Some` of a dtype other than `F16` or `BF16` (autocast lowers precision).
pub fn autocast<R>(dtype: Option<FloatDType>, f: impl FnOnce() -> R) -> R {
    assert!(
        matches!(dtype, None | Some(FloatDType::F16 | FloatDType::BF16)),
        "autocast lowers to F16 or BF16, not {dtype:?}"
    );
    struct Restore(Option<FloatDType>);
    impl Drop for Restore {
        fn drop(&mut self) {
            AUTOCAST.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(AUTOCAST.with(|a| a.replace(dtype)));
    f()
}

/// The autocast dtype of this thread's innermost [`autocast`] region, `None` outside one
/// (`torch.get_autocast_dtype` when `torch.is_autocast_enabled()`).
pub fn autocast_dtype() -> Option<FloatDType> {
    AUTOCAST.with(Cell::get)
}

/// The dtype an autocast op computes in for an input of `input` dtype: the region's dtype for an
/// `f32` input inside a region, else `None` (compute as is).
pub(crate) fn lowered(input: DType) -> Option<FloatDType> {
    autocast_dtype().filter(|_| input == DType::F32)
}

/// `x @ weight + bias` of `linear` (Burn's `Linear::forward`, torch's `nn.Linear`), in the
/// autocast dtype inside an [`autocast`] region (input, weight and bias cast down, the result
/// cast back to `f32`); outside one, exactly `linear.forward(x)`.
///
/// # Panics
/// As `Linear::forward`: if the last axis of `x` is not the layer's `d_input`.
pub fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let Some(low) = lowered(x.dtype()) else {
        return linear.forward(x);
    };
    let weight = linear.weight.val();
    let [d_input, d_output] = weight.dims();
    let dims = x.dims();
    assert_eq!(
        dims[D - 1],
        d_input,
        "linear: input {dims:?} does not end in the layer's d_input {d_input} (weight [{d_input}, {d_output}])"
    );
    burn::tensor::module::linear(
        x.cast(low),
        weight.cast(low),
        linear.bias.as_ref().map(|b| b.val().cast(low)),
    )
    .cast(FloatDType::F32)
}

/// Burn's `conv2d` computed in `low`: input, weight and bias cast down, the result cast back to
/// `f32` (what [`conv2d_with`](super::conv::conv2d_with) runs when [`lowered`] says so).
pub(crate) fn conv2d_in(
    low: FloatDType,
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    burn::tensor::module::conv2d(
        x.cast(low),
        weight.cast(low),
        bias.map(|b| b.cast(low)),
        options,
    )
    .cast(FloatDType::F32)
}
