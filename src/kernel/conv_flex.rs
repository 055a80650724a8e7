//! The flex side of [`super::conv`]: the backend extension trait [`ConvKernels`] with its `Flex`
//! implementation (forward) and its `Autodiff<Flex>` implementation (forward plus a backward
//! written by hand, as `burn-autodiff`'s own `conv2d` op is, with the kernels of
//! [`super::conv_gemm`] and [`super::conv_depthwise`]).
//!
//! | piece | Burn mechanism |
//! |---|---|
//! | [`ConvKernels`] | `#[backend_extension(Flex, Autodiff)]` (Burn's `extension` feature) |
//! | `impl ConvKernels for Flex` | forward on `FlexTensor` slices |
//! | `impl ConvKernels for Autodiff<Flex, C>` | `Backward<Flex, N>` + `OpsKind::{Tracked, UnTracked}`, inputs checkpointed |
//! | [`conv2d`] | `Tensor::into_dispatch` / `Tensor::from_dispatch` |

use burn::backend::TensorMetadata;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexTensor;

use super::conv_depthwise as depthwise;
use super::conv_gemm::{self as dense, Geom};
use super::flex_autodiff::{contiguous, on_flex};
use super::matmul::Arith;

/// Which of podium's kernels a convolution takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `groups == 1`: im2col + gemm.
    Dense,
    /// `groups == C_in == C_out`, weight `[C, 1, kh, kw]`: direct kernels.
    Depthwise,
}

/// The geometry and kernel kind of `x` `[B, C_in, H, W]` with `weight`
/// `[C_out, C_in / groups, kh, kw]`, or `None` when podium has no kernel for it (shape mismatch,
/// other group counts, empty output).
fn plan(x: &[usize], w: &[usize], options: &ConvOptions<2>, arith: Arith) -> Option<(Geom, Kind)> {
    let (&[batch, c_in, h, wd], &[c_out, c_in_g, kh, kw]) = (x, w) else {
        return None;
    };
    let kind = if options.groups == 1 && c_in_g == c_in {
        Kind::Dense
    } else if options.groups == c_in && c_in_g == 1 && c_out == c_in {
        Kind::Depthwise
    } else {
        return None;
    };
    let out = |n: usize, k: usize, i: usize| {
        let padded = n + options.padding[i].0 + options.padding[i].1;
        let span = options.dilation[i] * (k - 1) + 1;
        (k > 0 && padded >= span).then(|| (padded - span) / options.stride[i] + 1)
    };
    let (oh, ow) = (out(h, kh, 0)?, out(wd, kw, 1)?);
    let g = Geom {
        batch,
        c_in,
        h,
        w: wd,
        c_out,
        kh,
        kw,
        stride: options.stride,
        pad: [options.padding[0].0, options.padding[1].0],
        dilation: options.dilation,
        oh,
        ow,
        // depthwise kernels are bound by memory, not products: they stay f32
        arith: if kind == Kind::Dense {
            arith
        } else {
            Arith::F32
        },
    };
    (batch * c_in * h * wd > 0 && c_out > 0).then_some((g, kind))
}

/// Whether the fast path applies: `f32` tensors on the flex device (autodiff or not) and a
/// [`Kind`] for the shapes.
pub(crate) fn kind(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: Option<&Tensor<1>>,
    options: &ConvOptions<2>,
) -> Option<Kind> {
    let f32s = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.is_none_or(|b| b.dtype() == DType::F32);
    if !(f32s && on_flex(x.device()) && on_flex(weight.device())) {
        return None;
    }
    let (g, kind) = plan(&x.dims(), &weight.dims(), options, Arith::F32)?;
    bias.is_none_or(|b| b.dims() == [g.c_out]).then_some(kind)
}

/// Runs the extension through Burn's dispatch (`kind` was checked by [`kind`]).
pub(crate) fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
    _kind: Kind,
    arith: Arith,
) -> Tensor<4> {
    let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
    Tensor::from_dispatch(match bias {
        Some(bias) => <Dispatch as ConvKernels>::podium_conv2d_bias(
            x,
            weight,
            bias.into_dispatch(),
            options,
            arith,
        ),
        None => <Dispatch as ConvKernels>::podium_conv2d(x, weight, options, arith),
    })
}

/// podium's convolution kernels as a Burn backend extension: implemented for `Flex` and
/// `Autodiff<Flex, C>`; [`conv2d`] calls it only after [`kind`] accepted the inputs.
///
/// Two methods rather than one with an `Option` bias: in Burn 0.22.1 the generated `Dispatch`
/// glue passes an `Option<FloatTensor<Self>>` argument through unconverted (E0308: expected
/// `Option<FlexTensor>`, found `Option<DispatchTensor>`).
#[backend_extension(Flex, Autodiff)]
pub trait ConvKernels: Backend {
    /// `conv2d(x, weight, None, options)` for `f32` NCHW tensors, `groups == 1` or depthwise,
    /// the dense gemms (forward and both gradients) in `arith`.
    fn podium_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        arith: Arith,
    ) -> FloatTensor<Self>;

    /// `conv2d(x, weight, Some(bias), options)`, as [`ConvKernels::podium_conv2d`].
    fn podium_conv2d_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        arith: Arith,
    ) -> FloatTensor<Self>;
}

/// The contiguous `f32` data of a flex tensor (copied only if it is a strided view).
fn data(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("podium conv2d: a contiguous f32 flex tensor")
}

fn tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The plan of a flex convolution whose shapes [`kind`] accepted.
///
/// # Panics
/// If the shapes have no plan (a caller that skipped [`kind`]), naming both shapes.
fn plan_of(x: &FlexTensor, w: &FlexTensor, options: &ConvOptions<2>, arith: Arith) -> (Geom, Kind) {
    let (xs, ws): (Vec<usize>, Vec<usize>) = (x.shape().to_vec(), w.shape().to_vec());
    plan(&xs, &ws, options, arith).unwrap_or_else(|| {
        panic!("podium conv2d: no kernel for x {xs:?}, weight {ws:?}, options {options:?}")
    })
}

/// The flex forward with an optional bias.
fn flex_forward(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvOptions<2>,
    arith: Arith,
) -> FlexTensor {
    let (g, kind) = plan_of(&x, &weight, &options, arith);
    let (x, weight) = (contiguous(x), contiguous(weight));
    let bias = bias.map(contiguous);
    let b = bias.as_ref().map(data);
    let y = match kind {
        Kind::Dense => dense::forward(data(&x), data(&weight), b, &g),
        Kind::Depthwise => depthwise::forward(data(&x), data(&weight), b, &g),
    };
    tensor(y, [g.batch, g.c_out, g.oh, g.ow])
}

impl ConvKernels for Flex {
    fn podium_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        options: ConvOptions<2>,
        arith: Arith,
    ) -> FlexTensor {
        flex_forward(x, weight, None, options, arith)
    }

    fn podium_conv2d_bias(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
        arith: Arith,
    ) -> FlexTensor {
        flex_forward(x, weight, Some(bias), options, arith)
    }
}

/// The backward of [`ConvKernels::podium_conv2d`]; `N = 3` with a bias, 2 without. The state
/// is the checkpointed input and weight, the options and the arithmetic.
#[derive(Debug)]
struct ConvBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for ConvBackward<N> {
    type State = (NodeId, NodeId, ConvOptions<2>, Arith);

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        let (x_id, w_id, options, arith) = ops.state;
        let x = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(x_id));
        let w = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(w_id));
        let (g, kind) = plan_of(&x, &w, &options, arith);
        let [node_x, node_w] = [&ops.parents[0], &ops.parents[1]];
        if let Some(node) = node_x {
            let dx = match kind {
                Kind::Dense => dense::backward_x(data(&w), data(&dy), &g),
                Kind::Depthwise => depthwise::backward_x(data(&w), data(&dy), &g),
            };
            grads.register::<Flex>(node.id, tensor(dx, [g.batch, g.c_in, g.h, g.w]));
        }
        if let Some(node) = node_w {
            let dw = match kind {
                Kind::Dense => dense::backward_weight(data(&x), data(&dy), &g),
                Kind::Depthwise => depthwise::backward_weight(data(&x), data(&dy), &g),
            };
            grads.register::<Flex>(
                node.id,
                tensor(dw, w.shape().to_vec().try_into().expect("4-d")),
            );
        }
        if let Some(Some(node)) = ops.parents.get(2) {
            let db = dense::backward_bias(data(&dy), &g);
            let db = FlexTensor::from_data(TensorData::new(db, [g.c_out]));
            grads.register::<Flex>(node.id, db);
        }
    }
}

impl<C: CheckpointStrategy> ConvKernels for Autodiff<Flex, C> {
    fn podium_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        arith: Arith,
    ) -> FloatTensor<Self> {
        autodiff_forward::<C>(x, weight, None, options, arith)
    }

    fn podium_conv2d_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        arith: Arith,
    ) -> FloatTensor<Self> {
        autodiff_forward::<C>(x, weight, Some(bias), options, arith)
    }
}

/// The autodiff forward: records [`ConvBackward`] when any input is tracked.
fn autodiff_forward<C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<Flex, C>>,
    weight: FloatTensor<Autodiff<Flex, C>>,
    bias: Option<FloatTensor<Autodiff<Flex, C>>>,
    options: ConvOptions<2>,
    arith: Arith,
) -> FloatTensor<Autodiff<Flex, C>> {
    match bias {
        Some(bias) => match ConvBackward::<3>
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                    arith,
                );
                let out = flex_forward(
                    x.into_primitive(),
                    weight.into_primitive(),
                    Some(bias.into_primitive()),
                    options,
                    arith,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_forward(
                x.into_primitive(),
                weight.into_primitive(),
                Some(bias.into_primitive()),
                options,
                arith,
            )),
        },
        None => match ConvBackward::<2>
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    options.clone(),
                    arith,
                );
                let out = flex_forward(
                    x.into_primitive(),
                    weight.into_primitive(),
                    None,
                    options,
                    arith,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_forward(
                x.into_primitive(),
                weight.into_primitive(),
                None,
                options,
                arith,
            )),
        },
    }
}
