//! `torch.optim.NAdam` (Dozat 2016, "Incorporating Nesterov Momentum into Adam"):
//! [`NAdamConfig`] and [`NAdam`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, check_non_negative, l2_decay};
use crate::error::Result;

/// Configuration of [`NAdam`], with torch's defaults (`torch.optim.NAdam(params, lr=2e-3,
/// betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
/// decoupled_weight_decay=False)`; timm's `nadam`).
#[derive(Config, Debug, PartialEq)]
pub struct NAdamConfig {
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
    /// Momentum schedule decay `psi`, `>= 0`. Default `4e-3`.
    #[config(default = 4e-3)]
    pub momentum_decay: f64,
}

impl NAdamConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `eps`,
    /// `weight_decay`, `momentum_decay`) for betas outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<NAdam> {
        let hp = AdamHparams::new(self.beta1, self.beta2, self.eps, self.weight_decay)?;
        check_non_negative("momentum_decay", self.momentum_decay)?;
        Ok(NAdam {
            hp,
            momentum_decay: self.momentum_decay,
        })
    }
}

/// `torch.optim.NAdam`: with the momentum schedule `mu_t = b1 (1 - 0.96^(t psi) / 2)`
/// (`psi = momentum_decay`, 4e-3) and `mu_prod = prod_{i <= t} mu_i`,
/// `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`, `denom = sqrt(v / (1 - b2^t)) + eps`,
/// `p -= lr (1 - mu_t) / (1 - mu_prod) g / denom + lr mu_{t+1} / (1 - mu_prod mu_{t+1}) m / denom`.
/// Built by [`NAdamConfig::init`]; reads beta1 from a [`HyperParams`](super::HyperParams) handle
/// when given one.
#[derive(Clone, Debug, PartialEq)]
pub struct NAdam {
    pub(crate) hp: AdamHparams,
    momentum_decay: f64,
}

super::adam_hyper_params!(NAdam);

/// Moments, step count and momentum product of [`NAdam`].
#[derive(Clone)]
pub struct NAdamState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Second moment.
    pub v: Tensor<D>,
    /// Steps taken.
    pub t: usize,
    /// `prod mu_i`.
    pub mu_product: f64,
}

impl Optimizer for NAdam {
    type State<const D: usize> = NAdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.hp.beta1(), self.hp.beta2);
        let g = l2_decay(grad, &tensor, self.hp.weight_decay);
        let (m, v, t, prod) = match state {
            None => (
                g.clone() * (1.0 - b1),
                g.clone().powf_scalar(2.0) * (1.0 - b2),
                1,
                1.0,
            ),
            Some(s) => (
                s.m * b1 + g.clone() * (1.0 - b1),
                s.v * b2 + g.clone().powf_scalar(2.0) * (1.0 - b2),
                s.t + 1,
                s.mu_product,
            ),
        };
        let mu = |i: usize| b1 * (1.0 - 0.5 * 0.96f64.powf(i as f64 * self.momentum_decay));
        let (mu_t, mu_next) = (mu(t), mu(t + 1));
        let mu_product = prod * mu_t;
        let bc2 = 1.0 - b2.powi(t as i32);
        let denom = (v.clone() / bc2).sqrt() + self.hp.eps;
        let update = g * (lr * (1.0 - mu_t) / (1.0 - mu_product))
            + m.clone() * (lr * mu_next / (1.0 - mu_product * mu_next));
        (
            tensor - update / denom,
            Some(NAdamState {
                m,
                v,
                t,
                mu_product,
            }),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        NAdamState {
            m: state.m.to_device(device),
            v: state.v.to_device(device),
            ..state
        }
    }
}

super::record_state!(NAdamState {
    tensors: [m, v],
    counts: [t],
    floats: [mu_product]
});
