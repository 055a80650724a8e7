//! `torch.optim.Adam` and `torch.optim.AdamW`, with a beta1 that one-cycle can cycle.

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, decay};
use crate::error::Result;

/// `torch.optim.Adam` / `AdamW`: with `g` the gradient (plus `wd p` for Adam's L2 decay; AdamW
/// first scales `p *= 1 - lr wd`), `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2` (AMSGrad
/// keeps `v_max = max(v_max, v)` and uses it), `p -= lr / (1 - b1^t) m / (sqrt(v) /
/// sqrt(1 - b2^t) + eps)`.
///
/// burn's `Adam`/`AdamW` compute the same update (with torch's `eps`, as
/// [`OptimizerConfig`](crate::learner::OptimizerConfig) sets); this one exists for one-cycle's
/// beta1 cycling ([`Beta1Cell::with_beta1_cell`](super::Beta1Cell)): torch's `OneCycleLR` rewrites `betas[0]` each step,
/// and its bias correction then uses the current beta1 (`1 - b1^t`), as here.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchAdam {
    pub(crate) hp: AdamHparams,
    decoupled: bool,
    amsgrad: bool,
}

/// Moments and step count of [`TorchAdam`].
#[derive(Clone)]
pub struct TorchAdamState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Second moment.
    pub v: Tensor<D>,
    /// Running maximum of the second moment (AMSGrad; the second moment itself otherwise).
    pub v_max: Tensor<D>,
    /// Steps taken.
    pub t: usize,
}

impl TorchAdam {
    /// `torch.optim.Adam(betas=(beta1, beta2), eps, weight_decay, amsgrad)`: L2 weight decay.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for betas outside `[0, 1)` or negative
    /// eps or weight decay.
    pub fn adam(
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        amsgrad: bool,
    ) -> Result<Self> {
        Ok(Self {
            hp: AdamHparams::new(beta1, beta2, eps, weight_decay)?,
            decoupled: false,
            amsgrad,
        })
    }

    /// `torch.optim.AdamW(betas=(beta1, beta2), eps, weight_decay, amsgrad)`: decoupled decay.
    ///
    /// # Errors
    /// As [`Self::adam`].
    pub fn adamw(
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        amsgrad: bool,
    ) -> Result<Self> {
        Ok(Self {
            decoupled: true,
            ..Self::adam(beta1, beta2, eps, weight_decay, amsgrad)?
        })
    }
}

impl Optimizer for TorchAdam {
    type State<const D: usize> = TorchAdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let b1 = self.hp.beta1();
        let b2 = self.hp.beta2;
        let (tensor, g) = decay(tensor, grad, lr, self.hp.weight_decay, self.decoupled);
        let (m, v, v_max, t) = match state {
            None => {
                let v = g.clone().powf_scalar(2.0) * (1.0 - b2);
                (g.clone() * (1.0 - b1), v.clone(), v, 1)
            }
            Some(s) => {
                let v = s.v * b2 + g.clone().powf_scalar(2.0) * (1.0 - b2);
                let v_max = if self.amsgrad {
                    s.v_max.max_pair(v.clone())
                } else {
                    v.clone()
                };
                (s.m * b1 + g * (1.0 - b1), v, v_max, s.t + 1)
            }
        };
        let tf = t as i32;
        let step_size = lr / (1.0 - b1.powi(tf));
        let bc2_sqrt = (1.0 - b2.powi(tf)).sqrt();
        let denom = v_max.clone().sqrt() / bc2_sqrt + self.hp.eps;
        let update = m.clone() / denom * step_size;
        (tensor - update, Some(TorchAdamState { m, v, v_max, t }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        TorchAdamState {
            m: state.m.to_device(device),
            v: state.v.to_device(device),
            v_max: state.v_max.to_device(device),
            t: state.t,
        }
    }
}

super::record_state!(TorchAdamState {
    tensors: [m, v, v_max],
    counts: [t],
    floats: []
});
