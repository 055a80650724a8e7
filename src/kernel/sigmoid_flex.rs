//! The fused logistic kernels as a Burn backend extension ([`SigmoidKernels`]): flex and autodiff
//! over it run [`super::sigmoid`](mod@super::sigmoid), whose forward also writes the local
//! derivative, so the hand-written backward is one element-wise product with the upstream gradient;
//! every other backend and dtype composes Burn's ops ([`super::sigmoid_tensor`] chooses at run
//! time).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};
use burn::tensor::Shape;

use super::asymmetric::{self, AslParams};
use super::flex_autodiff::{contiguous, flex_f32, unary};
use super::focal;
use super::sigmoid;
use super::softmax::scale_rows;

/// podium's fused logistic kernels on flex (formulas in [`super::sigmoid`](mod@super::sigmoid));
/// element-wise, any shape.
#[backend_extension(Flex, Autodiff)]
pub trait SigmoidKernels: Backend {
    /// `max(x, 0) - x t + log1p(exp(-|x|))` of logits and targets of one shape (the targets are
    /// not differentiated).
    fn fused_bce_with_logits(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Per-row sums `[B]` of the element-wise BCE of logits and targets `[B, C]` (the targets are
    /// not differentiated).
    fn fused_bce_with_logits_rows(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The element-wise sigmoid focal loss of logits against targets of one shape (the targets
    /// are not differentiated), formulas in [`super::focal`]; a negative `alpha` disables the
    /// weighting (torchvision's `alpha = -1`).
    fn fused_sigmoid_focal(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        gamma: f32,
        alpha: f32,
    ) -> FloatTensor<Self>;

    /// `log sigmoid(x)`.
    fn fused_log_sigmoid(logits: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `sigmoid(x)`.
    fn fused_sigmoid(logits: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The element-wise multi-label asymmetric loss of logits against targets of one shape (the
    /// targets are not differentiated), formulas in [`super::asymmetric`].
    fn fused_asymmetric_multilabel(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        gamma_pos: f32,
        gamma_neg: f32,
        clip: f32,
        eps: f32,
    ) -> FloatTensor<Self>;
}

/// The value and, when `with_local`, the local derivative of an element-wise kernel.
fn elementwise(
    x: FlexTensor,
    with_local: bool,
    kernel: impl FnOnce(&[f32], &mut [f32], Option<&mut [f32]>),
) -> (FlexTensor, Option<FlexTensor>) {
    let x = contiguous(x);
    let shape = x.layout().shape().clone();
    let n = shape.num_elements();
    let mut out = vec![0.0f32; n];
    let mut local = with_local.then(|| vec![0.0f32; n]);
    kernel(
        x.as_slice::<f32>().expect("contiguous"),
        &mut out,
        local.as_deref_mut(),
    );
    (
        flex_f32(out, shape.clone()),
        local.map(|d| flex_f32(d, shape)),
    )
}

/// [`elementwise`] for a kernel of logits and targets of one shape: `kernel(x, t, value, local)`.
///
/// # Panics
/// If the shapes differ, naming `op` and both shapes.
fn against_targets(
    op: &str,
    logits: FlexTensor,
    targets: FlexTensor,
    with_local: bool,
    kernel: impl FnOnce(&[f32], &[f32], &mut [f32], Option<&mut [f32]>),
) -> (FlexTensor, Option<FlexTensor>) {
    let t = contiguous(targets);
    assert_eq!(
        logits.layout().shape(),
        t.layout().shape(),
        "{op}: logits {:?} against targets {:?}",
        logits.layout().shape(),
        t.layout().shape()
    );
    elementwise(logits, with_local, |x, l, g| {
        kernel(x, t.as_slice::<f32>().expect("contiguous"), l, g)
    })
}

fn bce_forward(
    logits: FlexTensor,
    targets: FlexTensor,
    with_local: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    against_targets(
        "fused_bce_with_logits",
        logits,
        targets,
        with_local,
        sigmoid::bce_with_logits,
    )
}

fn bce_rows_forward(
    logits: FlexTensor,
    targets: FlexTensor,
    with_grad: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let x = contiguous(logits);
    let t = contiguous(targets);
    let shape = x.layout().shape().clone();
    assert!(
        shape.num_dims() == 2 && &shape == t.layout().shape(),
        "fused_bce_with_logits_rows: logits {:?} against targets {:?}, expected [B, C] both",
        shape,
        t.layout().shape()
    );
    let [b, c] = [shape[0], shape[1]];
    let mut sums = vec![0.0f32; b];
    let mut grad = with_grad.then(|| vec![0.0f32; b * c]);
    sigmoid::bce_with_logits_row_sums(
        x.as_slice::<f32>().expect("contiguous"),
        t.as_slice::<f32>().expect("contiguous"),
        c,
        &mut sums,
        grad.as_deref_mut(),
    );
    (
        flex_f32(sums, Shape::new([b])),
        grad.map(|g| flex_f32(g, shape)),
    )
}

fn focal_forward(
    logits: FlexTensor,
    targets: FlexTensor,
    gamma: f32,
    alpha: f32,
    with_local: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let alpha = (alpha >= 0.0).then_some(alpha);
    against_targets(
        "fused_sigmoid_focal",
        logits,
        targets,
        with_local,
        |x, t, l, g| focal::sigmoid_focal(x, t, gamma, alpha, l, g),
    )
}

fn asl_forward(
    logits: FlexTensor,
    targets: FlexTensor,
    params: AslParams,
    with_local: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    against_targets(
        "fused_asymmetric_multilabel",
        logits,
        targets,
        with_local,
        |x, t, l, g| asymmetric::asymmetric_multilabel(x, t, params, l, g),
    )
}

fn log_sigmoid_forward(x: FlexTensor, with_local: bool) -> (FlexTensor, Option<FlexTensor>) {
    elementwise(x, with_local, sigmoid::log_sigmoid)
}

fn sigmoid_forward(x: FlexTensor, with_local: bool) -> (FlexTensor, Option<FlexTensor>) {
    elementwise(x, with_local, sigmoid::sigmoid)
}

impl SigmoidKernels for Flex {
    fn fused_bce_with_logits(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        bce_forward(logits, targets, false).0
    }

    fn fused_bce_with_logits_rows(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        bce_rows_forward(logits, targets, false).0
    }

    fn fused_sigmoid_focal(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        gamma: f32,
        alpha: f32,
    ) -> FloatTensor<Self> {
        focal_forward(logits, targets, gamma, alpha, false).0
    }

    fn fused_log_sigmoid(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        log_sigmoid_forward(logits, false).0
    }

    fn fused_sigmoid(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        sigmoid_forward(logits, false).0
    }

    fn fused_asymmetric_multilabel(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        gamma_pos: f32,
        gamma_neg: f32,
        clip: f32,
        eps: f32,
    ) -> FloatTensor<Self> {
        let params = AslParams {
            gamma_pos,
            gamma_neg,
            clip,
            eps,
        };
        asl_forward(logits, targets, params, false).0
    }
}

/// The backward of every kernel here: the state is the local derivative, multiplied in place by
/// the upstream gradient.
#[derive(Debug)]
struct LocalDerivativeBackward;

impl Backward<Flex, 1> for LocalDerivativeBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let upstream = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let mut local = ops.state;
            sigmoid::mul_in_place(
                local.storage_mut::<f32>(),
                upstream.as_slice::<f32>().expect("contiguous"),
            );
            grads.register::<Flex>(node.id, local);
        }
    }
}

/// The backward of the per-row sums: the state is the `[B, C]` local gradient, each row scaled by
/// the upstream gradient of its sum.
#[derive(Debug)]
struct RowSumBackward;

impl Backward<Flex, 1> for RowSumBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let upstream = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let mut local = ops.state;
            let c = local.layout().shape()[1];
            scale_rows(
                local.storage_mut::<f32>(),
                c,
                upstream.as_slice::<f32>().expect("contiguous"),
            );
            grads.register::<Flex>(node.id, local);
        }
    }
}

impl<C: CheckpointStrategy> SigmoidKernels for Autodiff<Flex, C> {
    fn fused_bce_with_logits(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let t = targets.into_primitive();
        unary::<C, _>(LocalDerivativeBackward, logits, |x, g| bce_forward(x, t, g))
    }

    fn fused_bce_with_logits_rows(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let t = targets.into_primitive();
        unary::<C, _>(RowSumBackward, logits, |x, g| bce_rows_forward(x, t, g))
    }

    fn fused_sigmoid_focal(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        gamma: f32,
        alpha: f32,
    ) -> FloatTensor<Self> {
        let t = targets.into_primitive();
        unary::<C, _>(LocalDerivativeBackward, logits, |x, g| {
            focal_forward(x, t, gamma, alpha, g)
        })
    }

    fn fused_log_sigmoid(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(LocalDerivativeBackward, logits, log_sigmoid_forward)
    }

    fn fused_sigmoid(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(LocalDerivativeBackward, logits, sigmoid_forward)
    }

    fn fused_asymmetric_multilabel(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        gamma_pos: f32,
        gamma_neg: f32,
        clip: f32,
        eps: f32,
    ) -> FloatTensor<Self> {
        let params = AslParams {
            gamma_pos,
            gamma_neg,
            clip,
            eps,
        };
        let t = targets.into_primitive();
        unary::<C, _>(LocalDerivativeBackward, logits, |x, g| {
            asl_forward(x, t, params, g)
        })
    }
}
