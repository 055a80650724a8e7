//! podium's own CPU kernels for Burn's flex backend (issue 16), below [`model`](crate::model)
//! and [`loss`](crate::loss) in the import order: it imports nothing from podium above
//! [`util`](crate::util) and [`error`](crate::error).
//!
//! The fast paths are Burn backend extensions (`#[backend_extension(Flex, Autodiff)]` traits,
//! burn's `extension` feature): on flex, with or without autodiff, they run podium's kernels with
//! hand-written backwards (as burn-autodiff writes its batch-norm op); on every other backend
//! (ndarray, CUDA) and in other dtypes the public functions here compose Burn's tensor ops into
//! the same formulas, so callers need no flag.
//!
//! | item | what | follows |
//! |---|---|---|
//! | [`batch_norm::batch_norm`] | batch norm fused with the following identity / ReLU / SiLU: two passes forward (`f64` moments, normalize + activation), two backward, running statistics as Burn updates them | `nn.BatchNorm2d` + activation, timm's `BatchNormAct2d`; Burn's `BatchNorm::forward` |
//! | [`conv::conv2d`], [`conv::conv2d_with`] | 2-D convolution: im2col/col2im + gemm for dense convolutions (with AVX-512 F/BW/BF16: podium's AVX-512 gemm packing im2col straight from the images, no col2im for stride 1), Winograd `F(2x2, 3x3)` for `f32` 3x3 "same" convolutions of 16 to 256 channels ([`conv::set_winograd_conv2d`]), direct kernels for depthwise ones, forward and both gradients; in a `bf16` autocast region the gemms take bfloat16 operands and sum in `f32` (AVX512-BF16's `VDPBF16PS`, runtime detection) | `nn.Conv2d`, `F.conv2d`; Burn's `Conv2d::forward`, `module::conv2d`; oneDNN's `avx512_core_bf16` convolutions under `torch.autocast`; Lavin & Gray (CVPR 2016) |
//! | [`autocast`] | a per-thread mixed-precision region in which [`conv::conv2d`] and [`autocast::linear`] compute in `f16` / `bf16` and return `f32` | `torch.autocast(device_type, dtype=...)` |
//! | [`max_pool::max_pool2d`], `MaxPoolKernels` (with `flex`) | 2-D max pooling: vectorized selects over window rows, a one-byte argmax kept only when tracked, a one-pass backward | `nn.MaxPool2d`; Burn's `MaxPool2d::forward` |
//! | [`axpby()`] | `a x + b y` in one pass (rayon on flex, in place when `x` owns its buffer), the value of Burn's `x * a + y * b` to the bit; the element-wise step of [`optim`](crate::optim)'s SGD and [`average`](crate::average)'s EMA | BLAS `axpby`; torch's `_foreach_mul_` + `_foreach_add_` |
//! | [`channel`](mod@channel), `ChannelKernels` (with `flex`), [`global_avg_pool`], [`scale_channels`] | the squeeze-and-excitation maps: global average pooling and per-channel scaling, one parallel pass forward and backward each (EfficientNet's SE blocks) | timm's `SqueezeExcite`; `x.mean((2, 3), keepdim=True)`, `x * gate` |
//! | [`math`] | vectorized `exp` / `ln` over `f32` slices, with stated max errors | Cephes `expf` / `logf` |
//! | [`normalize`], `NormalizeKernels` (with `flex`), [`l2_normalize`] | row-wise L2 normalization, one pass forward and one backward, its backend extension and `Tensor` entry point (used by the margin heads) | `F.normalize(x, dim=1)` |
//! | [`softmax`](mod@softmax) | row kernels: fused softmax cross-entropy (hard or soft targets, label smoothing) and log-sum-exp, forward and local gradient in one pass | `torch.nn.functional.cross_entropy`, `torch.logsumexp` |
//! | [`softmax`](mod@softmax) (row maps) | `log_softmax` and `softmax` over dim 1, one pass forward keeping `softmax(x)`, one pass backward | `torch.log_softmax(x, 1)`, `torch.softmax(x, 1)` |
//! | `SoftmaxKernels` (with `flex`), [`cross_entropy_hard`], [`cross_entropy_soft`], [`log_sum_exp`], [`log_softmax`], [`softmax()`] | the backend extension and its `Tensor` entry points, used by [`loss`](crate::loss) | Burn's custom-kernel example |
//! | [`sigmoid`](mod@sigmoid) | element-wise BCE with logits, `log sigmoid`, `sigmoid`: one vectorized pass writes the value and its local derivative; the backward is one product | `F.binary_cross_entropy_with_logits`, `F.logsigmoid`, `torch.sigmoid` |
//! | [`asymmetric`](mod@asymmetric) | the element-wise multi-label asymmetric loss and its derivative in one vectorized pass | timm's `AsymmetricLossMultiLabel` |
//! | [`focal`](mod@focal) | the element-wise sigmoid focal loss and its derivative in one vectorized pass | `torchvision.ops.sigmoid_focal_loss` |
//! | `SigmoidKernels` (with `flex`), [`bce_with_logits`], [`bce_with_logits_rows`], [`sigmoid_focal`], [`log_sigmoid`], [`sigmoid()`], [`asymmetric_multilabel`] | the backend extension and its `Tensor` entry points, used by [`loss`](crate::loss) | Burn's custom-kernel example |

pub mod asymmetric;
pub mod autocast;
mod axpby;
pub mod batch_norm;
#[cfg(feature = "flex")]
mod batch_norm_cpu;
#[cfg(feature = "flex")]
mod batch_norm_flex;
pub mod channel;
#[cfg(feature = "flex")]
mod channel_flex;
mod channel_tensor;
pub mod conv;
#[cfg(feature = "flex")]
mod conv_depthwise;
#[cfg(feature = "flex")]
mod conv_flex;
#[cfg(feature = "flex")]
mod conv_gemm;
#[cfg(feature = "flex")]
mod conv_geom;
#[cfg(feature = "flex")]
mod conv_winograd;
#[cfg(feature = "flex")]
mod flex_autodiff;
pub mod focal;
pub mod math;
#[cfg(feature = "flex")]
mod matmul;
pub mod max_pool;
#[cfg(feature = "flex")]
mod max_pool_cpu;
#[cfg(feature = "flex")]
mod max_pool_flex;
pub mod normalize;
#[cfg(feature = "flex")]
mod normalize_flex;
mod normalize_tensor;
pub mod sigmoid;
#[cfg(feature = "flex")]
mod sigmoid_flex;
mod sigmoid_tensor;
pub mod softmax;
#[cfg(feature = "flex")]
mod softmax_flex;
mod softmax_tensor;

pub use axpby::axpby;
#[cfg(feature = "flex")]
pub use channel_flex::ChannelKernels;
pub use channel_tensor::{global_avg_pool, scale_channels};
#[cfg(feature = "flex")]
pub use max_pool_flex::MaxPoolKernels;
#[cfg(feature = "flex")]
pub use normalize_flex::NormalizeKernels;
pub use normalize_tensor::l2_normalize;
#[cfg(feature = "flex")]
pub use sigmoid_flex::SigmoidKernels;
pub use sigmoid_tensor::{
    asymmetric_multilabel, bce_with_logits, bce_with_logits_rows, log_sigmoid, sigmoid,
    sigmoid_focal,
};
#[cfg(feature = "flex")]
pub use softmax_flex::SoftmaxKernels;
pub use softmax_tensor::{
    cross_entropy_hard, cross_entropy_soft, log_softmax, log_sum_exp, softmax,
};

/// Values per rayon task in podium's passes over plain slices; a pass that reads at most this
/// many values runs on the calling thread (a handoff to the pool costs more than the pass).
pub(crate) const GRAIN: usize = 1 << 15;

/// Runs `f(i, block)` over `out` in blocks of `block` elements (block `i` starts at
/// `i * block`): with rayon when the pass reads more than [`GRAIN`] values (`work`), else in
/// order on the calling thread.
pub(crate) fn for_blocks<T: Send>(
    out: &mut [T],
    block: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    use rayon::prelude::*;
    let block = block.max(1);
    if work <= GRAIN {
        out.chunks_mut(block).enumerate().for_each(|(i, b)| f(i, b));
    } else {
        out.par_chunks_mut(block)
            .enumerate()
            .for_each(|(i, b)| f(i, b));
    }
}

/// Items per share of [`sum_over_shares`]: `n` split into `min(n, threads)` near-equal shares.
#[cfg(feature = "flex")]
pub(crate) fn share_len(n: usize) -> usize {
    n.div_ceil(n.min(rayon::current_num_threads()).max(1))
        .max(1)
}

/// `Σ_s f([lo_s, hi_s), acc_s)` over contiguous shares of `0..n`, one per rayon thread (at
/// most `n`): each share accumulates into its own zeroed vector of `len` values in parallel, and
/// the shares are summed in share order (rayon over blocks of the result), so the result does
/// not depend on scheduling. The convolutions' weight gradients (a share of the batch each).
#[cfg(feature = "flex")]
pub(crate) fn sum_over_shares(
    n: usize,
    len: usize,
    f: impl Fn([usize; 2], &mut [f32]) + Sync + Send,
) -> Vec<f32> {
    use rayon::prelude::*;
    let per = share_len(n);
    let partials: Vec<Vec<f32>> = (0..n.div_ceil(per).max(1))
        .into_par_iter()
        .map(|s| {
            let mut acc = vec![0.0f32; len];
            f([(s * per).min(n), ((s + 1) * per).min(n)], &mut acc);
            acc
        })
        .collect();
    let mut iter = partials.into_iter();
    let mut sum = iter.next().unwrap_or_default();
    let rest: Vec<Vec<f32>> = iter.collect();
    for_blocks(&mut sum, GRAIN, len, |i, block| {
        for part in &rest {
            for (a, b) in block.iter_mut().zip(&part[i * GRAIN..]) {
                *a += b;
            }
        }
    });
    sum
}

/// A value in `[-2, 2)` from a 64-bit mix of `(seed, i)`: the kernels' unit tests' inputs.
#[cfg(all(test, feature = "flex"))]
pub(crate) fn test_value(seed: u64, i: usize) -> f32 {
    let mut z = (seed << 32 | i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z ^= z >> 29;
    z = z.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    ((z >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
}

/// A raw pointer that may cross rayon's thread boundary; each task writes a disjoint region.
#[cfg(feature = "flex")]
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: only used to write disjoint regions of one live allocation from rayon tasks.
#[cfg(feature = "flex")]
unsafe impl Send for SendPtr {}
// SAFETY: as above.
#[cfg(feature = "flex")]
unsafe impl Sync for SendPtr {}

#[cfg(feature = "flex")]
impl SendPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// A vector of `n` values written by `fill`, without the zeroing pass that `vec![0.0; n]` makes
/// on the calling thread: the kernels' outputs, which their (parallel) loops overwrite in full.
/// `fill` must write every element and read none before writing it; if it panics the vector is
/// dropped empty.
#[cfg(feature = "flex")]
pub(crate) fn written_vec(n: usize, fill: impl FnOnce(&mut [f32])) -> Vec<f32> {
    let mut v = Vec::<f32>::with_capacity(n);
    // SAFETY: the allocation holds `n` f32s; every bit pattern is a valid f32 and `fill` writes
    // each element before anything reads it (its contract above).
    fill(unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr(), n) });
    // SAFETY: `fill` initialised all `n` elements.
    unsafe { v.set_len(n) };
    v
}
