//! Row-wise L2 normalization as a Burn backend extension ([`NormalizeKernels`]): flex and autodiff
//! over it run [`super::normalize`] with the backward written by hand (one pass); every other
//! backend and dtype composes Burn's ops ([`super::normalize_tensor`] chooses at run time).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, backend_extension};
use burn::tensor::TensorData;

use super::flex_autodiff::{contiguous, unary};
use super::normalize;

/// podium's fused row-wise L2 normalization on flex (formulas in [`super::normalize`]).
#[backend_extension(Flex, Autodiff)]
pub trait NormalizeKernels: Backend {
    /// `x_i / max(||x_i||, 1e-12)` for each row of `[N, D]`.
    fn fused_l2_normalize(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The normalized rows and the per-row `1 / max(||x_i||, eps)` (negated where clamped).
fn forward(x: FlexTensor) -> (FlexTensor, Vec<f32>) {
    let x = contiguous(x);
    let shape = x.layout().shape().clone();
    assert_eq!(
        shape.num_dims(),
        2,
        "l2_normalize: input of shape {shape:?}, expected [N, D]"
    );
    let [n, d] = [shape[0], shape[1]];
    let mut y = vec![0.0f32; n * d];
    let mut inv = vec![0.0f32; n];
    normalize::l2_normalize_rows(
        x.as_slice::<f32>().expect("contiguous"),
        d,
        &mut y,
        &mut inv,
    );
    (FlexTensor::from_data(TensorData::new(y, [n, d])), inv)
}

impl NormalizeKernels for Flex {
    fn fused_l2_normalize(x: FloatTensor<Self>) -> FloatTensor<Self> {
        forward(x).0
    }
}

/// The backward: the state is the output and the per-row scales.
#[derive(Debug)]
struct NormalizeBackward;

impl Backward<Flex, 1> for NormalizeBackward {
    type State = (FlexTensor, Vec<f32>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let upstream = contiguous(grads.consume::<Flex>(&ops.node));
        if let Some(node) = parent {
            let (y, inv) = ops.state;
            let shape = y.layout().shape().clone();
            let d = shape[1];
            let mut dx = vec![0.0f32; shape.num_elements()];
            normalize::l2_normalize_rows_backward(
                upstream.as_slice::<f32>().expect("contiguous"),
                y.as_slice::<f32>().expect("contiguous"),
                &inv,
                d,
                &mut dx,
            );
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, shape)));
        }
    }
}

impl<C: CheckpointStrategy> NormalizeKernels for Autodiff<Flex, C> {
    fn fused_l2_normalize(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary::<C, _>(NormalizeBackward, x, |x, tracked| {
            let (y, inv) = forward(x);
            let state = tracked.then(|| (y.clone(), inv));
            (y, state)
        })
    }
}
