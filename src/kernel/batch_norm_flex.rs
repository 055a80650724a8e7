//! The flex side of [`super::batch_norm`]: the backend extension trait [`BatchNormKernels`] with
//! its `Flex` implementation (forward) and its `Autodiff<Flex>` implementation (forward plus a
//! backward written by hand, as `burn-autodiff`'s own `batch_norm_train` op is, with the two-pass
//! kernels of [`super::batch_norm_cpu`]).
//!
//! | piece | Burn mechanism |
//! |---|---|
//! | [`BatchNormKernels`] | `#[backend_extension(Flex, Autodiff)]` (Burn's `extension` feature) |
//! | `impl BatchNormKernels for Flex` | forward on `FlexTensor` slices |
//! | `impl BatchNormKernels for Autodiff<Flex, C>` | `Backward<Flex, 3>` + `OpsKind::{Tracked, UnTracked}`, the input checkpointed |

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::TensorData;
use burn_flex::FlexTensor;

use super::batch_norm::Activation as Act;
use super::batch_norm_cpu::{self as cpu, Affine};
use super::flex_autodiff::contiguous;

/// podium's fused batch norm + activation as a Burn backend extension, implemented for `Flex`
/// and `Autodiff<Flex, C>`; [`super::batch_norm::batch_norm`] calls it only for `f32` tensors on
/// the flex device.
#[backend_extension(Flex, Autodiff)]
pub trait BatchNormKernels: Backend {
    /// Training mode: `act(batch_norm(x))` with the batch's statistics; returns the output and
    /// the per-channel mean and biased variance (`[C]`, not tracked).
    fn podium_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        act: Act,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Evaluation mode: `act(batch_norm(x))` with the given (running) `mean` and `var`.
    fn podium_batch_norm_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        epsilon: f64,
        act: Act,
    ) -> FloatTensor<Self>;
}

/// A contiguous flex tensor (copied only if it is a strided view).
fn values(t: FlexTensor) -> Vec<f32> {
    contiguous(t)
        .as_slice::<f32>()
        .expect("podium batch_norm: f32 flex tensor")
        .to_vec()
}

fn f64s(t: FlexTensor) -> Vec<f64> {
    values(t).into_iter().map(f64::from).collect()
}

/// `(C, S)` of `[B, C, ...]`.
///
/// # Panics
/// If the tensor has rank below 2, naming its shape.
fn geometry(x: &FlexTensor) -> (usize, usize) {
    let shape = x.shape();
    assert!(
        shape.num_dims() >= 2,
        "podium batch_norm: input of shape {shape:?}, expected [B, C, ...]"
    );
    let c = shape[1];
    (c, shape.num_elements() / (shape[0] * c).max(1))
}

/// A batch's per-channel mean and biased variance.
type Moments = (Vec<f64>, Vec<f64>);

/// The forward of both modes: the output and the per-channel constants (for the backward).
fn forward(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    stats: Option<(FlexTensor, FlexTensor)>,
    epsilon: f64,
    act: Act,
) -> (FlexTensor, Affine, Option<Moments>) {
    let x = contiguous(x);
    let (_, s) = geometry(&x);
    let shape = x.shape().clone();
    let xs = x.as_slice::<f32>().expect("contiguous");
    let (mean, var, batch) = match stats {
        Some((m, v)) => (f64s(m), f64s(v), false),
        None => {
            let (m, v) = cpu::moments(xs, shape[1], s);
            (m, v, true)
        }
    };
    let affine = Affine::new(&mean, &var, &values(gamma), &values(beta), epsilon);
    // `normalize` writes every element.
    let y = super::written_vec(xs.len(), |y| cpu::normalize(xs, s, &affine, act, y));
    let y = FlexTensor::from_data(TensorData::new(y, shape));
    (y, affine, batch.then_some((mean, var)))
}

fn channel_tensor(v: &[f64]) -> FlexTensor {
    let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    let c = v.len();
    FlexTensor::from_data(TensorData::new(v, [c]))
}

impl BatchNormKernels for Flex {
    fn podium_batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        act: Act,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (y, _, stats) = forward(x, gamma, beta, None, epsilon, act);
        let (mean, var) = stats.expect("batch statistics");
        (y, channel_tensor(&mean), channel_tensor(&var))
    }

    fn podium_batch_norm_eval(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        var: FlexTensor,
        epsilon: f64,
        act: Act,
    ) -> FlexTensor {
        forward(x, gamma, beta, Some((mean, var)), epsilon, act).0
    }
}

/// The backward of both modes. The state is the checkpointed input, the per-channel
/// constants, the activation and whether the statistics came from the batch.
#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    type State = (NodeId, Affine, Act, bool);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        let (x_id, affine, act, train) = ops.state;
        let x = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(x_id));
        let (c, s) = geometry(&x);
        let shape = x.shape().clone();
        let xs = x.as_slice::<f32>().expect("contiguous");
        let dys = dy.as_slice::<f32>().expect("contiguous");
        // `backward_sums` writes every element of `g`.
        let mut sums = Vec::new();
        let mut g = super::written_vec(xs.len(), |g| {
            sums = cpu::backward_sums(xs, dys, s, &affine, act, g);
        });
        if let Some(node) = node_gamma {
            let dgamma: Vec<f64> = sums
                .iter()
                .zip(&affine.inv_std)
                .map(|(&(_, sgx), &inv)| sgx * inv as f64)
                .collect();
            grads.register::<Flex>(node.id, channel_tensor(&dgamma));
        }
        if let Some(node) = node_beta {
            let dbeta: Vec<f64> = sums.iter().map(|&(sg, _)| sg).collect();
            grads.register::<Flex>(node.id, channel_tensor(&dbeta));
        }
        if let Some(node) = node_x {
            let coef = cpu::dx_coefficients(&affine, &sums, xs.len() / c, train);
            cpu::backward_dx(xs, s, &affine, &coef, &mut g);
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(g, shape)));
        }
    }
}

/// The autodiff forward of both modes: records [`BatchNormBackward`] when any of `x`, `gamma`,
/// `beta` is tracked; the statistics are returned untracked.
fn autodiff_forward<C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<Flex, C>>,
    gamma: FloatTensor<Autodiff<Flex, C>>,
    beta: FloatTensor<Autodiff<Flex, C>>,
    stats: Option<(FlexTensor, FlexTensor)>,
    epsilon: f64,
    act: Act,
) -> (FloatTensor<Autodiff<Flex, C>>, Option<Moments>) {
    let train = stats.is_none();
    match BatchNormBackward
        .prepare::<C>([x.node(), gamma.node(), beta.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_id = prep.checkpoint(&x);
            let (y, affine, batch) = forward(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                stats,
                epsilon,
                act,
            );
            (prep.finish((x_id, affine, act, train), y), batch)
        }
        OpsKind::UnTracked(prep) => {
            let (y, _, batch) = forward(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                stats,
                epsilon,
                act,
            );
            (prep.finish(y), batch)
        }
    }
}

impl<C: CheckpointStrategy> BatchNormKernels for Autodiff<Flex, C> {
    fn podium_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        act: Act,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (y, stats) = autodiff_forward::<C>(x, gamma, beta, None, epsilon, act);
        let (mean, var) = stats.expect("batch statistics");
        (
            y,
            <Self as AutodiffBackend>::from_inner(channel_tensor(&mean)),
            <Self as AutodiffBackend>::from_inner(channel_tensor(&var)),
        )
    }

    fn podium_batch_norm_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        epsilon: f64,
        act: Act,
    ) -> FloatTensor<Self> {
        let stats = Some((mean.into_primitive(), var.into_primitive()));
        autodiff_forward::<C>(x, gamma, beta, stats, epsilon, act).0
    }
}
