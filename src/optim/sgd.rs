//! `torch.optim.SGD`.

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{check_non_negative, l2_decay};
use crate::error::{PodiumError, Result};
use crate::schedule::MomentumCell;

/// `torch.optim.SGD`: `g = grad + weight_decay p`; with momentum `mu`, the buffer starts as
/// `g` and then `buf = mu buf + (1 - dampening) g`; the step uses `d = g + mu buf` (Nesterov) or
/// `d = buf`; `p -= lr d`. torch's defaults: no momentum, dampening 0, no weight decay.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchSgd {
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    cycle: Option<MomentumCell>,
}

/// The momentum buffer of [`TorchSgd`].
#[derive(Clone)]
pub struct TorchSgdState<const D: usize> {
    /// `buf`.
    pub buf: Tensor<D>,
}

impl TorchSgd {
    /// SGD with torch's semantics.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for negative values, or Nesterov without momentum or with
    /// dampening (torch's rule).
    pub fn new(momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool) -> Result<Self> {
        check_non_negative("momentum", momentum)?;
        check_non_negative("dampening", dampening)?;
        check_non_negative("weight_decay", weight_decay)?;
        if nesterov && (momentum <= 0.0 || dampening != 0.0) {
            return Err(PodiumError::config(
                "nesterov",
                true,
                "requires momentum > 0 and zero dampening",
            ));
        }
        Ok(Self {
            momentum,
            dampening,
            weight_decay,
            nesterov,
            cycle: None,
        })
    }

    /// Takes its momentum from `cell` once a value is set there (one-cycle's momentum curve,
    /// written by a [`ScheduleRunner`](crate::schedule::ScheduleRunner)), as torch's
    /// `OneCycleLR` rewrites the optimizer's `momentum` each step. The configured momentum
    /// applies until then; it must be positive for the momentum buffer to exist.
    pub fn with_momentum_cell(mut self, cell: MomentumCell) -> Self {
        self.cycle = Some(cell);
        self
    }
}

impl Optimizer for TorchSgd {
    type State<const D: usize> = TorchSgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let g = l2_decay(grad, &tensor, self.weight_decay);
        if self.momentum == 0.0 {
            return (tensor - g * lr, None);
        }
        let momentum = self
            .cycle
            .as_ref()
            .and_then(MomentumCell::get)
            .unwrap_or(self.momentum);
        let buf = match state {
            None => g.clone(),
            Some(s) => s.buf * momentum + g.clone() * (1.0 - self.dampening),
        };
        let d = if self.nesterov {
            g + buf.clone() * momentum
        } else {
            buf.clone()
        };
        (tensor - d * lr, Some(TorchSgdState { buf }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        TorchSgdState {
            buf: state.buf.to_device(device),
        }
    }
}

super::record_state!(TorchSgdState {
    tensors: [buf],
    counts: [],
    floats: []
});
