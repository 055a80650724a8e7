//! `torch.optim.SGD`.

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{check_non_negative, l2_decay};
use crate::error::{PodiumError, Result};

/// `torch.optim.SGD`: `g = grad + weight_decay p`; with momentum `mu`, the buffer starts as
/// `g` and then `buf = mu buf + (1 - dampening) g`; the step uses `d = g + mu buf` (Nesterov) or
/// `d = buf`; `p -= lr d`. torch's defaults: no momentum, dampening 0, no weight decay.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchSgd {
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
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
        })
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
        let buf = match state {
            None => g.clone(),
            Some(s) => s.buf * self.momentum + g.clone() * (1.0 - self.dampening),
        };
        let d = if self.nesterov {
            g + buf.clone() * self.momentum
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
