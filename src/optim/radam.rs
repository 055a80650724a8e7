//! `torch.optim.RAdam` (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and
//! Beyond"): [`RAdamConfig`] and [`RAdam`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, l2_decay};
use crate::error::Result;

/// Configuration of [`RAdam`], with torch's defaults (`torch.optim.RAdam(params, lr=1e-3,
/// betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False)`; timm's `radam`).
#[derive(Config, Debug, PartialEq)]
pub struct RAdamConfig {
    /// First-moment decay in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Second-moment decay in `[0, 1)`. Default 0.999.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Denominator term, `>= 0`. Default `1e-8`.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// L2 penalty added to the gradient, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl RAdamConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `eps`,
    /// `weight_decay`) for betas outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<RAdam> {
        Ok(RAdam {
            hp: AdamHparams::new(self.beta1, self.beta2, self.eps, self.weight_decay)?,
        })
    }
}

/// `torch.optim.RAdam` (L2 weight decay, `decoupled_weight_decay=False`):
/// `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`, `rho_inf = 2 / (1 - b2) - 1`,
/// `rho_t = rho_inf - 2 t b2^t / (1 - b2^t)`. When `rho_t > 5`:
/// `p -= lr m_hat r sqrt(1 - b2^t) / (sqrt(v) + eps)` with the rectification
/// `r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))`;
/// otherwise the un-adapted `p -= lr m_hat` (`m_hat = m / (1 - b1^t)`). Built by
/// [`RAdamConfig::init`]; reads beta1 from a [`HyperParams`](super::HyperParams) handle when
/// given one ([`WithHyperParams`](super::WithHyperParams)).
#[derive(Clone, Debug, PartialEq)]
pub struct RAdam {
    pub(crate) hp: AdamHparams,
}

super::adam_hyper_params!(RAdam);

/// Moments and step count of [`RAdam`].
#[derive(Clone)]
pub struct RAdamState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Second moment.
    pub v: Tensor<D>,
    /// Steps taken.
    pub t: usize,
}

impl Optimizer for RAdam {
    type State<const D: usize> = RAdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.hp.beta1(), self.hp.beta2);
        let g = l2_decay(grad, &tensor, self.hp.weight_decay);
        let (m, v, t) = match state {
            None => (
                g.clone() * (1.0 - b1),
                g.clone().powf_scalar(2.0) * (1.0 - b2),
                1,
            ),
            Some(s) => (
                s.m * b1 + g.clone() * (1.0 - b1),
                s.v * b2 + g.clone().powf_scalar(2.0) * (1.0 - b2),
                s.t + 1,
            ),
        };
        let tf = t as i32;
        let bc1 = 1.0 - b1.powi(tf);
        let bc2 = 1.0 - b2.powi(tf);
        let m_hat = m.clone() / bc1;
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t as f64 * b2.powi(tf) / bc2;
        let update = if rho_t > 5.0 {
            let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt();
            let adaptive = (v.clone().sqrt() + self.hp.eps).recip() * bc2.sqrt();
            m_hat * adaptive * rect
        } else {
            m_hat
        };
        (tensor - update * lr, Some(RAdamState { m, v, t }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RAdamState {
            m: state.m.to_device(device),
            v: state.v.to_device(device),
            t: state.t,
        }
    }
}

super::record_state!(RAdamState {
    tensors: [m, v],
    counts: [t],
    floats: []
});
