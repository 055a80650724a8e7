//! The plumbing the flex kernels' backend extensions share: contiguous `f32` storage and one-input
//! ops through burn-autodiff with a hand-written backward (the pattern of burn-autodiff's own
//! ops, e.g. its `batch_norm`).

use burn::backend::DispatchDevice;
use burn::backend::Flex;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{Device, Shape, TensorData};

/// Whether `device` is the flex device, with or without autodiff: where the kernels' backend
/// extensions run.
pub(super) fn on_flex(device: Device) -> bool {
    matches!(
        device.without_autodiff().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// `t` with contiguous `f32` storage: itself when it already is, else a contiguous copy.
pub(super) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// A flex tensor of `values` in `shape`.
pub(super) fn flex_f32(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// Runs a one-input kernel through autodiff: `forward(x, tracked)` returns the output and, when
/// `tracked` (the input requires a gradient), the state `backward` needs; untracked, no state is
/// computed or kept.
///
/// # Panics
/// If a tracked `forward` returns no state (a bug in the caller).
pub(super) fn unary<C, B>(
    backward: B,
    x: FloatTensor<Autodiff<Flex, C>>,
    forward: impl FnOnce(FlexTensor, bool) -> (FlexTensor, Option<B::State>),
) -> FloatTensor<Autodiff<Flex, C>>
where
    C: CheckpointStrategy,
    B: Backward<Flex, 1>,
{
    match backward.prepare::<C>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (out, state) = forward(x.into_primitive(), true);
            prep.finish(state.expect("a tracked forward returns its state"), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.into_primitive(), false).0),
    }
}
