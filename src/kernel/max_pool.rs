//! 2-D max pooling (ResNet's stem pool): on the flex backend podium's own kernels through a Burn
//! backend extension ([`MaxPoolKernels`](super::MaxPoolKernels)), forward and a hand-written
//! backward; on every other backend, and for dilated, ceil-mode or other dtype pools, Burn's
//! [`MaxPool2d::forward`].
//!
//! | podium | Burn | PyTorch |
//! |---|---|---|
//! | [`max_pool2d`]`(&pool, x)` | `MaxPool2d::forward(x)` | `nn.MaxPool2d.forward(x)`, `F.max_pool2d` |
//!
//! `y[b, c, oy, ox] = max_{ki < kh, kj < kw} x[b, c, oy * sh - pt + ki, ox * sw - pl + kj]` over
//! the positions inside the input (padding never wins), scanning the window row by row with
//! torch's rule `v > m || isnan(v)`: a NaN in the window is the output, and the gradient goes to
//! the first maximum (the last NaN), `dx[argmax] += dy`.
//!
//! Why it is faster than Burn 0.22's flex op, which tracks the argmax index of every output in
//! scalar code even when no gradient is needed and scatters through `i64` indices: here the
//! forward walks one output row at a time over whole window rows, selecting 16 outputs per
//! AVX-512 masked compare (runtime detection; one at a time elsewhere), keeps a one-byte window
//! position per output only when the input is tracked, and the backward adds each `dy` once,
//! parallel over planes.

use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;

thread_local! {
    /// Fast-path calls made from this thread.
    static FAST_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many max pools podium's kernels have run from the calling thread (counted per thread);
/// tests use it to check that a model's pools reach the kernels.
pub fn fast_max_pool2d_calls() -> u64 {
    FAST_CALLS.with(std::cell::Cell::get)
}

/// `pool.forward(x)` (torch's `nn.MaxPool2d`) through podium's kernels on the flex device for
/// `f32`, no dilation, floor mode, `Valid` or `Explicit` padding and windows of at most 255
/// positions; Burn's op otherwise. The same values and gradients as Burn's op.
///
/// # Panics
/// As `MaxPool2d::forward`: if the window does not fit the padded input.
pub fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let Some(g) = super::max_pool_flex::plan(pool, &x) {
        FAST_CALLS.with(|n| n.set(n.get() + 1));
        return super::max_pool_flex::max_pool2d(x, g);
    }
    pool.forward(x)
}
