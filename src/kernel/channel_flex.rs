//! The per-channel maps of [`super::channel`] as a Burn backend extension ([`ChannelKernels`]):
//! flex and autodiff over it run the slice kernels with the backward written by hand; every
//! other backend and dtype composes Burn's ops ([`super::channel_tensor`]'s entry points choose
//! at run time).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};

use super::channel;
use super::flex_autodiff::{contiguous, flex_f32, unary};

/// podium's per-channel maps on flex (formulas in [`super::channel`]).
#[backend_extension(Flex, Autodiff)]
pub trait ChannelKernels: Backend {
    /// `[B, C, H, W]` to the plane means `[B, C, 1, 1]`.
    fn podium_global_avg_pool(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `x [B, C, H, W] · s [B, C, 1, 1]`.
    fn podium_scale_channels(x: FloatTensor<Self>, s: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `[B, C, H, W]` of a flex tensor (the entry points checked the rank).
fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

fn data(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

fn pool(x: FlexTensor) -> FlexTensor {
    let x = contiguous(x);
    let [b, c, h, w] = dims4(&x);
    let mut out = vec![0.0f32; b * c];
    channel::plane_means(data(&x), h * w, &mut out);
    flex_f32(out, [b, c, 1, 1])
}

fn scale(x: FlexTensor, s: FlexTensor) -> FlexTensor {
    let (x, s) = (contiguous(x), contiguous(s));
    let [b, c, h, w] = dims4(&x);
    let y = super::written_vec(x.layout().shape().num_elements(), |y| {
        channel::scale_planes(data(&x), data(&s), h * w, y)
    });
    flex_f32(y, [b, c, h, w])
}

impl ChannelKernels for Flex {
    fn podium_global_avg_pool(x: FloatTensor<Self>) -> FloatTensor<Self> {
        pool(x)
    }

    fn podium_scale_channels(x: FloatTensor<Self>, s: FloatTensor<Self>) -> FloatTensor<Self> {
        scale(x, s)
    }
}

/// The pool's backward: the state is the input's `[B, C, H, W]`.
#[derive(Debug)]
struct PoolBackward;

impl Backward<Flex, 1> for PoolBackward {
    type State = [usize; 4];

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let [b, c, h, w] = ops.state;
            let dx = super::written_vec(b * c * h * w, |dx| {
                channel::plane_means_backward(data(&g), h * w, dx)
            });
            grads.register::<Flex>(node.id, flex_f32(dx, [b, c, h, w]));
        }
    }
}

/// The scaling's backward: the state is both inputs.
#[derive(Debug)]
struct ScaleBackward;

impl Backward<Flex, 2> for ScaleBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_s] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, s) = ops.state;
        let [b, c, h, w] = dims4(&x);
        if let Some(node) = node_x {
            let dx = super::written_vec(b * c * h * w, |dx| {
                channel::scale_planes(data(&g), data(&s), h * w, dx)
            });
            grads.register::<Flex>(node.id, flex_f32(dx, [b, c, h, w]));
        }
        if let Some(node) = node_s {
            let mut ds = vec![0.0f32; b * c];
            channel::scale_planes_backward(data(&g), data(&x), h * w, &mut ds);
            grads.register::<Flex>(node.id, flex_f32(ds, [b, c, 1, 1]));
        }
    }
}

impl<C: CheckpointStrategy> ChannelKernels for Autodiff<Flex, C> {
    fn podium_global_avg_pool(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(PoolBackward, x, |x, tracked| {
            let dims = dims4(&x);
            (pool(x), tracked.then_some(dims))
        })
    }

    fn podium_scale_channels(x: FloatTensor<Self>, s: FloatTensor<Self>) -> FloatTensor<Self> {
        match ScaleBackward
            .prepare::<C>([x.node(), s.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, s) = (
                    contiguous(x.into_primitive()),
                    contiguous(s.into_primitive()),
                );
                let y = scale(x.clone(), s.clone());
                prep.finish((x, s), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(scale(x.into_primitive(), s.into_primitive())),
        }
    }
}
