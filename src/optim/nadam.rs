//! `torch.optim.NAdam` (Dozat 2016, "Incorporating Nesterov Momentum into Adam").

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, check_non_negative, l2_decay};
use crate::error::Result;

/// `torch.optim.NAdam`: with the momentum schedule `mu_t = b1 (1 - 0.96^(t psi) / 2)`
/// (`psi = momentum_decay`, 4e-3) and `mu_prod = prod_{i <= t} mu_i`,
/// `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`, `denom = sqrt(v / (1 - b2^t)) + eps`,
/// `p -= lr (1 - mu_t) / (1 - mu_prod) g / denom + lr mu_{t+1} / (1 - mu_prod mu_{t+1}) m / denom`.
#[derive(Clone, Debug, PartialEq)]
pub struct NAdam {
    pub(crate) hp: AdamHparams,
    momentum_decay: f64,
}

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

impl NAdam {
    /// NAdam with torch's defaults: betas `(0.9, 0.999)`, eps `1e-8`, no weight decay,
    /// momentum decay `4e-3`.
    pub fn torch_default() -> Self {
        Self {
            hp: AdamHparams::TORCH_DEFAULT,
            momentum_decay: 4e-3,
        }
    }

    /// NAdam with the given hyperparameters (L2 weight decay).
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for betas outside `[0, 1)` or negative
    /// values.
    pub fn new(
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
        momentum_decay: f64,
    ) -> Result<Self> {
        let hp = AdamHparams::new(beta1, beta2, eps, weight_decay)?;
        check_non_negative("momentum_decay", momentum_decay)?;
        Ok(Self { hp, momentum_decay })
    }
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
