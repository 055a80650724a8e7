//! The flex side of [`super::max_pool`]: the backend extension trait [`MaxPoolKernels`] with its
//! `Flex` implementation (forward) and its `Autodiff<Flex, C>` implementation (forward keeping
//! the window position of each maximum, and the backward that adds each output's gradient there).

use burn::backend::TensorMetadata;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{DType, Tensor};

use super::flex_autodiff::{contiguous, flex_f32, on_flex, unary};
use super::max_pool_cpu::{self as pool, PoolGeom};

/// The geometry of `pool` over `x` when podium's kernels take it: an `f32` tensor on the flex
/// device (with or without autodiff), no dilation, floor mode, `Valid` or `Explicit` padding
/// smaller than the window on every side (so that every window holds an input position), a
/// window of at most 255 positions and a non-empty output; `None` otherwise (Burn's op runs).
pub(super) fn plan(pool: &MaxPool2d, x: &Tensor<4>) -> Option<PoolGeom> {
    if !on_flex(x.device()) || x.dtype() != DType::F32 || pool.dilation != [1, 1] || pool.ceil_mode
    {
        return None;
    }
    let [batch, channels, h, w] = x.dims();
    let [kh, kw] = pool.kernel_size;
    let [(pt, pb), (pl, pr)] = match pool.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        // TensorFlow's rule depends on Burn's private helper: Burn's op
        _ => return None,
    };
    let fits = kh * kw <= 255
        && kh > 0
        && kw > 0
        && pool.stride.iter().all(|&s| s > 0)
        && pt.max(pb) < kh
        && pl.max(pr) < kw
        && h + pt + pb >= kh
        && w + pl + pr >= kw;
    if !fits || batch * channels * h * w == 0 {
        return None;
    }
    Some(PoolGeom {
        batch,
        channels,
        h,
        w,
        kernel: [kh, kw],
        stride: pool.stride,
        pad: [pt, pl],
        oh: (h + pt + pb - kh) / pool.stride[0] + 1,
        ow: (w + pl + pr - kw) / pool.stride[1] + 1,
    })
}

/// Runs the extension through Burn's dispatch (`g` from [`plan`]).
pub(super) fn max_pool2d(x: Tensor<4>, g: PoolGeom) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as MaxPoolKernels>::podium_max_pool2d(
        x.into_dispatch(),
        g,
    ))
}

/// podium's max-pool kernels as a Burn backend extension: implemented for `Flex` and
/// `Autodiff<Flex, C>`; `max_pool2d` calls it only after `plan` accepted the input.
#[backend_extension(Flex, Autodiff)]
pub trait MaxPoolKernels: Backend {
    /// Max pooling of an `f32` NCHW tensor with the geometry `g`.
    fn podium_max_pool2d(x: FloatTensor<Self>, g: PoolGeom) -> FloatTensor<Self>;
}

/// The flex forward; the window positions of the maxima when `track`.
fn flex_forward(x: FlexTensor, g: &PoolGeom, track: bool) -> (FlexTensor, Vec<u8>) {
    let x = contiguous(x);
    let dims = x.shape().to_vec();
    assert_eq!(
        dims,
        [g.batch, g.channels, g.h, g.w],
        "podium max_pool2d: input {dims:?} does not match its plan {g:?}"
    );
    let xs = x.as_slice::<f32>().expect("contiguous f32");
    let (y, arg) = pool::forward(xs, g, track);
    (flex_f32(y, [g.batch, g.channels, g.oh, g.ow]), arg)
}

impl MaxPoolKernels for Flex {
    fn podium_max_pool2d(x: FlexTensor, g: PoolGeom) -> FlexTensor {
        flex_forward(x, &g, false).0
    }
}

/// The backward of [`MaxPoolKernels::podium_max_pool2d`]; the state is the geometry and the
/// window position of each output's maximum.
#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = (PoolGeom, Vec<u8>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let (g, arg) = ops.state;
            let dx = pool::backward(dy.as_slice::<f32>().expect("contiguous f32"), &arg, &g);
            grads.register::<Flex>(node.id, flex_f32(dx, [g.batch, g.channels, g.h, g.w]));
        }
    }
}

impl<C: CheckpointStrategy> MaxPoolKernels for Autodiff<Flex, C> {
    fn podium_max_pool2d(x: FloatTensor<Self>, g: PoolGeom) -> FloatTensor<Self> {
        unary::<C, _>(MaxPoolBackward, x, |x, tracked| {
            let (y, arg) = flex_forward(x, &g, tracked);
            (y, tracked.then_some((g, arg)))
        })
    }
}
