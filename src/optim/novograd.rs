//! NovoGrad (Ginsburg et al. 2019), as `timm.optim.NvNovoGrad`.

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{check_betas, check_non_negative};
use crate::error::Result;

/// `timm.optim.NvNovoGrad`: a per-tensor scalar second moment `v = ||g||^2` at the first step,
/// then `v = b2 v + (1 - b2) ||g||^2`; `u = g / (sqrt(v) + eps) + wd p` (times `1 - b1` with
/// grad averaging); `m = b1 m + u`; `p -= lr m`.
#[derive(Clone, Debug, PartialEq)]
pub struct NvNovoGrad {
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    grad_averaging: bool,
}

/// Moments of [`NvNovoGrad`].
#[derive(Clone)]
pub struct NvNovoGradState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Scalar second moment, `[1, ..., 1]`.
    pub v: Tensor<D>,
}

impl NvNovoGrad {
    /// NvNovoGrad (timm's defaults: betas `(0.95, 0.98)`, eps `1e-8`).
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for betas outside `[0, 1)` or negative
    /// values.
    pub fn new(
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        grad_averaging: bool,
    ) -> Result<Self> {
        check_betas(beta1, beta2)?;
        check_non_negative("eps", eps)?;
        check_non_negative("weight_decay", weight_decay)?;
        Ok(Self {
            beta1,
            beta2,
            eps,
            weight_decay,
            grad_averaging,
        })
    }
}

impl Optimizer for NvNovoGrad {
    type State<const D: usize> = NvNovoGradState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let norm = grad.clone().powf_scalar(2.0).sum().reshape([1; D]);
        let (m_prev, v) = match state {
            None => (None, norm),
            Some(s) => (Some(s.m), s.v * self.beta2 + norm * (1.0 - self.beta2)),
        };
        let mut u = grad / (v.clone().sqrt() + self.eps);
        if self.weight_decay != 0.0 {
            u = u + tensor.clone() * self.weight_decay;
        }
        if self.grad_averaging {
            u = u * (1.0 - self.beta1);
        }
        let m = match m_prev {
            Some(m) => m * self.beta1 + u,
            None => u,
        };
        (tensor - m.clone() * lr, Some(NvNovoGradState { m, v }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        NvNovoGradState {
            m: state.m.to_device(device),
            v: state.v.to_device(device),
        }
    }
}

super::record_state!(NvNovoGradState {
    tensors: [m, v],
    counts: [],
    floats: []
});
