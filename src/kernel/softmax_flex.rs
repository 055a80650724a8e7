//! The fused softmax losses as a Burn backend extension ([`SoftmaxKernels`]): the flex backend and
//! autodiff over it run podium's kernels ([`super::softmax`](mod@super::softmax)), with the
//! backward written by hand as burn-autodiff writes its own ops; every other backend (ndarray,
//! CUDA, flex in half precision) runs the same formulas composed of Burn's tensor ops. The `Tensor`
//! functions of [`super::softmax_tensor`] choose at run time, from the tensor's backend and dtype,
//! so callers never need a flag.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Flex, backend_extension};
use burn::tensor::DType;

use super::flex_autodiff::{contiguous, flex_f32, unary};
use super::softmax;

/// podium's fused softmax losses on flex (see the module docs of
/// [`super::softmax`](mod@super::softmax) for the formulas). Each returns per-row values: `[B]` for
/// the cross-entropies, `[B, 1]` for the log-sum-exp.
#[backend_extension(Flex, Autodiff)]
pub trait SoftmaxKernels: Backend {
    /// Cross-entropy of logits `[B, C]` against class indices `[B]` with label smoothing `eps`.
    fn softmax_cross_entropy_hard(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self>;

    /// Cross-entropy of logits `[B, C]` against dense targets `[B, C]` (not differentiated).
    fn softmax_cross_entropy_soft(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `log sum_c exp(x_ic)` of logits `[B, C]`, `[B, 1]`.
    fn log_sum_exp(logits: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `log_softmax(x)` over dim 1 of logits `[B, C]`, `[B, C]`.
    fn fused_log_softmax(logits: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `softmax(x)` over dim 1 of logits `[B, C]`, `[B, C]`.
    fn fused_softmax(logits: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// A contiguous `f32` copy-free view of a flex tensor's values, with its `[B, C]` shape.
fn dims2(t: &FlexTensor, op: &str) -> [usize; 2] {
    let shape = t.layout().shape();
    assert_eq!(
        shape.num_dims(),
        2,
        "{op}: logits of shape {shape:?}, expected [B, C]"
    );
    [shape[0], shape[1]]
}

fn int_targets(t: IntTensor<Flex>) -> Vec<i64> {
    let t = if t.layout().is_contiguous() {
        t
    } else {
        t.to_contiguous()
    };
    match t.dtype() {
        DType::I64 => t.as_slice::<i64>().expect("contiguous").to_vec(),
        DType::I32 => t
            .as_slice::<i32>()
            .expect("contiguous")
            .iter()
            .map(|&v| v as i64)
            .collect(),
        other => t.into_data().try_into_vec_as::<i64>().unwrap_or_else(|e| {
            panic!("softmax_cross_entropy: targets of dtype {other:?} are not class indices: {e:?}")
        }),
    }
}

/// The forward on flex: per-row values and, when `with_grad`, the `[B, C]` gradient of each row.
fn hard_forward(
    logits: FlexTensor,
    targets: IntTensor<Flex>,
    eps: f32,
    with_grad: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let x = contiguous(logits);
    let [b, c] = dims2(&x, "softmax_cross_entropy_hard");
    let y = int_targets(targets);
    let mut loss = vec![0.0f32; b];
    let mut grad = with_grad.then(|| vec![0.0f32; b * c]);
    softmax::cross_entropy_hard(
        x.as_slice::<f32>().expect("contiguous"),
        c,
        &y,
        eps,
        &mut loss,
        grad.as_deref_mut(),
    );
    (flex_f32(loss, [b]), grad.map(|g| flex_f32(g, [b, c])))
}

fn soft_forward(
    logits: FlexTensor,
    targets: FlexTensor,
    with_grad: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let x = contiguous(logits);
    let t = contiguous(targets);
    let [b, c] = dims2(&x, "softmax_cross_entropy_soft");
    let mut loss = vec![0.0f32; b];
    let mut grad = with_grad.then(|| vec![0.0f32; b * c]);
    softmax::cross_entropy_soft(
        x.as_slice::<f32>().expect("contiguous"),
        c,
        t.as_slice::<f32>().expect("contiguous"),
        &mut loss,
        grad.as_deref_mut(),
    );
    (flex_f32(loss, [b]), grad.map(|g| flex_f32(g, [b, c])))
}

fn lse_forward(logits: FlexTensor, with_grad: bool) -> (FlexTensor, Option<FlexTensor>) {
    let x = contiguous(logits);
    let [b, c] = dims2(&x, "log_sum_exp");
    let mut lse = vec![0.0f32; b];
    let mut probs = with_grad.then(|| vec![0.0f32; b * c]);
    softmax::log_sum_exp(
        x.as_slice::<f32>().expect("contiguous"),
        c,
        &mut lse,
        probs.as_deref_mut(),
    );
    (flex_f32(lse, [b, 1]), probs.map(|p| flex_f32(p, [b, c])))
}

/// `log_softmax` on flex and, when `with_probs`, `softmax(x)` for the backward.
fn log_softmax_forward(logits: FlexTensor, with_probs: bool) -> (FlexTensor, Option<FlexTensor>) {
    let x = contiguous(logits);
    let [b, c] = dims2(&x, "log_softmax");
    let mut out = vec![0.0f32; b * c];
    let mut probs = with_probs.then(|| vec![0.0f32; b * c]);
    softmax::log_softmax(
        x.as_slice::<f32>().expect("contiguous"),
        c,
        &mut out,
        probs.as_deref_mut(),
    );
    (flex_f32(out, [b, c]), probs.map(|p| flex_f32(p, [b, c])))
}

fn softmax_forward(logits: FlexTensor) -> FlexTensor {
    let x = contiguous(logits);
    let [b, c] = dims2(&x, "softmax");
    let mut p = vec![0.0f32; b * c];
    softmax::softmax(x.as_slice::<f32>().expect("contiguous"), c, &mut p);
    flex_f32(p, [b, c])
}

impl SoftmaxKernels for Flex {
    fn softmax_cross_entropy_hard(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        hard_forward(logits, targets, eps, false).0
    }

    fn softmax_cross_entropy_soft(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        soft_forward(logits, targets, false).0
    }

    fn log_sum_exp(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        lse_forward(logits, false).0
    }

    fn fused_log_softmax(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        log_softmax_forward(logits, false).0
    }

    fn fused_softmax(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        softmax_forward(logits)
    }
}

/// The backward of every kernel here: the forward already holds `d l_i / d x_i` per row, so the
/// gradient is that times the upstream gradient of row `i`, scaled in place.
#[derive(Debug)]
struct RowScaledBackward;

impl Backward<Flex, 1> for RowScaledBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let upstream = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let mut local = ops.state;
            let [_, c] = dims2(&local, "softmax kernel backward");
            softmax::scale_rows(
                local.storage_mut::<f32>(),
                c,
                upstream.as_slice::<f32>().expect("contiguous"),
            );
            grads.register::<Flex>(node.id, local);
        }
    }
}

/// The backward of the row-wise maps: the state is `softmax(x)` (`[B, C]`), overwritten with
/// the gradient by [`softmax::log_softmax_backward`] or [`softmax::softmax_backward`].
#[derive(Debug)]
struct RowMapBackward {
    log: bool,
}

impl Backward<Flex, 1> for RowMapBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let upstream = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let mut probs = ops.state;
            let [_, c] = dims2(&probs, "softmax map backward");
            let g = upstream.as_slice::<f32>().expect("contiguous");
            if self.log {
                softmax::log_softmax_backward(g, c, probs.storage_mut::<f32>());
            } else {
                softmax::softmax_backward(g, c, probs.storage_mut::<f32>());
            }
            grads.register::<Flex>(node.id, probs);
        }
    }
}

impl<C: CheckpointStrategy> SoftmaxKernels for Autodiff<Flex, C> {
    fn softmax_cross_entropy_hard(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        eps: f32,
    ) -> FloatTensor<Self> {
        unary::<C, _>(RowScaledBackward, logits, |x, g| {
            hard_forward(x, targets, eps, g)
        })
    }

    fn softmax_cross_entropy_soft(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let t = targets.into_primitive();
        unary::<C, _>(RowScaledBackward, logits, |x, g| soft_forward(x, t, g))
    }

    fn log_sum_exp(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(RowScaledBackward, logits, lse_forward)
    }

    fn fused_log_softmax(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(RowMapBackward { log: true }, logits, log_softmax_forward)
    }

    fn fused_softmax(logits: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(RowMapBackward { log: false }, logits, |x, tracked| {
            let p = softmax_forward(x);
            // output and state share the values (the backward copies if the output lives)
            let state = tracked.then(|| p.clone());
            (p, state)
        })
    }
}
