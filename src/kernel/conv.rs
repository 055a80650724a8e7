//! podium's 2-D convolution: on the flex backend a Burn backend extension
//! (`#[backend_extension(Flex, Autodiff)]`) with its own forward and a hand-written backward
//! (im2col/col2im + `gemm` for `groups == 1`, direct kernels for depthwise); on every other
//! backend, and for grouped convolutions that are neither, Burn's own
//! [`conv2d`](burn::tensor::module::conv2d).
//!
//! | podium | Burn | PyTorch |
//! |---|---|---|
//! | [`conv2d`]`(&conv, x)` | `Conv2d::forward(x)` | `nn.Conv2d.forward(x)` |
//! | [`conv2d_with`]`(x, w, b, options)` | `burn::tensor::module::conv2d` | `F.conv2d(x, w, b, stride, padding, dilation, groups)` |
//! | [`set_fast_conv2d`]`(false)` | (Burn's kernels everywhere) | — |
//! | [`set_winograd_conv2d`]`(false)` | — | (oneDNN's direct convolutions, its default) |
//!
//! The fast path takes `f32` tensors on the flex device (with or without autodiff) and any
//! stride, padding (also asymmetric, as `PaddingConfig2d::Same` gives) and dilation, for
//! `groups == 1` and for depthwise convolutions (`groups == C_in == C_out`). Why it is faster
//! than Burn 0.22's flex kernels: Burn computes the weight gradient as a convolution whose kernel
//! is the whole output map and loops one convolution per group for grouped weight gradients;
//! here the weight gradient is one `[C_out, P] x [P, K]` gemm per image accumulated per thread,
//! and the forward works on NCHW directly (no per-call NHWC copy or weight re-layout). The 3x3
//! convolutions with stride 1 and padding 1 between 16 and 256 channels (ResNet's, the
//! SimpleCnn's) run Winograd's `F(2x2, 3x3)` in `f32`, forward and input gradient, and its
//! transpose `F(3x3, 2x2)` for the weight gradient: 2.25x fewer multiplications (Lavin & Gray,
//! CVPR 2016; [`set_winograd_conv2d`]).

use std::sync::atomic::{AtomicBool, Ordering};

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
#[cfg(feature = "flex")]
use burn::tensor::FloatDType;
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

static FAST_CONV2D: AtomicBool = AtomicBool::new(true);
thread_local! {
    /// Fast-path calls made from this thread (the dispatch runs on the caller's thread).
    static FAST_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many convolutions podium's own kernels have run from the calling thread (forward calls of
/// [`conv2d`] / [`conv2d_with`] that took the fast path), counted per thread so that other threads' calls do not add to it;
/// tests and benchmarks use it to check
/// that a model's convolutions reach the kernels.
pub fn fast_conv2d_calls() -> u64 {
    FAST_CALLS.with(std::cell::Cell::get)
}

/// Turns podium's fast convolution kernels on or off for the whole process (on by default).
/// Off, [`conv2d`] and [`conv2d_with`] call Burn's kernels; benchmarks use this to compare the
/// two in one build.
pub fn set_fast_conv2d(enabled: bool) {
    FAST_CONV2D.store(enabled, Ordering::Relaxed);
}

/// Turns the Winograd `F(2x2, 3x3)` path of the fast kernels on or off for the whole process
/// (on by default). It computes the `f32` forward and both gradients of dense 3x3 convolutions
/// with stride 1, dilation 1 and padding 1 and 16 to 256 channels in and out (maps whose 2x2
/// tiles add at most 15% of outputs, batches of at least one image per rayon thread) as 16
/// matrix products over 2x2 output tiles, `y = Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A` (Lavin & Gray,
/// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): 16 multiplications per tile
/// and channel pair where the direct convolution makes 36; the weight gradient is the same
/// algorithm transposed, `F(3x3, 2x2)`. Its results differ from the direct
/// convolution's in the last bits (within podium's `1e-4` relative test tolerance against Burn's
/// convolution); off, those convolutions take the direct im2col + gemm path. Without the `flex`
/// feature this does nothing.
pub fn set_winograd_conv2d(enabled: bool) {
    #[cfg(feature = "flex")]
    super::conv_winograd::set_enabled(enabled);
    #[cfg(not(feature = "flex"))]
    let _ = enabled;
}

/// Whether podium's fast convolution kernels are on (see [`set_fast_conv2d`]).
pub fn fast_conv2d_enabled() -> bool {
    FAST_CONV2D.load(Ordering::Relaxed)
}

/// The `((top, bottom), (left, right))` padding Burn's `Conv2d::forward` uses for an input of
/// `height x width` (Burn's `calculate_padding_2d_pairs`: TensorFlow's `SAME` rule for
/// `PaddingConfig2d::Same`).
pub fn conv2d_padding(conv: &Conv2d, height: usize, width: usize) -> [(usize, usize); 2] {
    let same = |k: usize, s: usize, n: usize| {
        let out = n.div_ceil(s);
        let total = if out > 0 {
            ((out - 1) * s + k).saturating_sub(n)
        } else {
            0
        };
        (total / 2, total - total / 2)
    };
    match conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [
            same(conv.kernel_size[0], conv.stride[0], height),
            same(conv.kernel_size[1], conv.stride[1], width),
        ],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    }
}

/// `conv.forward(x)` through podium's kernels where they apply: the same result (within `f32`
/// rounding) and the same parameters, so records and weight files are unchanged.
///
/// # Panics
/// As `Conv2d::forward`: if `x` is not `[B, C_in, H, W]` with `C_in` the module's input
/// channels, or the kernel does not fit the padded input.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let options = ConvOptions::new_with_padding(
        conv.stride,
        conv2d_padding(conv, h, w),
        conv.dilation,
        conv.groups,
    );
    conv2d_with(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// `burn::tensor::module::conv2d(x, weight, bias, options)` (PyTorch's `F.conv2d`) through
/// podium's kernels on the flex device for `f32`, `groups == 1` or depthwise; Burn's op
/// otherwise. Inside an [`autocast`](super::autocast::autocast) region an `f32` input is
/// convolved in the region's dtype and the result is `f32`: on flex with `BF16`, podium's
/// kernels round the operands of the dense gemms (forward and both gradients) to bfloat16 and sum
/// their products in `f32` (AVX512-BF16's `VDPBF16PS` where the CPU has it), rounding the output
/// and the gradients to `bf16` once (depthwise convolutions, bound by memory, stay `f32`);
/// elsewhere, and with `F16`, Burn's op runs in the region's dtype and the result is cast back to
/// `f32`.
/// `x` is `[B, C_in, H, W]`, `weight` `[C_out, C_in / groups, kh, kw]`, `bias`
/// `[C_out]`; the result is `[B, C_out, OH, OW]` with
/// `OH = (H + pad_top + pad_bottom - dilation * (kh - 1) - 1) / stride + 1`.
///
/// # Panics
/// As Burn's `conv2d` (which checks the shapes whenever the fast path does not take them).
pub fn conv2d_with(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let low = super::autocast::lowered(x.dtype());
    #[cfg(feature = "flex")]
    if fast_conv2d_enabled()
        && matches!(low, None | Some(FloatDType::BF16))
        && let Some(kind) = super::conv_flex::kind(&x, &weight, bias.as_ref(), &options)
    {
        use super::matmul::Arith;
        FAST_CALLS.with(|n| n.set(n.get() + 1));
        let arith = if low.is_some() {
            Arith::Bf16
        } else {
            Arith::F32
        };
        return super::conv_flex::conv2d(x, weight, bias, options, kind, arith);
    }
    if let Some(low) = low {
        return super::autocast::conv2d_in(low, x, weight, bias, options);
    }
    burn::tensor::module::conv2d(x, weight, bias, options)
}
