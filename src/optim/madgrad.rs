//! MADGRAD (Defazio and Jelassi 2021, "Adaptivity without Compromise"), as `timm.optim.MADGRAD`:
//! [`MadgradConfig`] and [`Madgrad`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{check_non_negative, check_unit_interval, decay};
use crate::error::Result;

/// Configuration of [`Madgrad`], with timm's defaults (`timm.optim.MADGRAD(params, lr=1e-2,
/// momentum=0.9, weight_decay=0, eps=1e-6, decoupled_decay=False)`). timm's names: `madgrad`,
/// `madgradw` (`decoupled_decay`).
#[derive(Config, Debug, PartialEq)]
pub struct MadgradConfig {
    /// Momentum in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub momentum: f64,
    /// Weight decay, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Denominator term (also added to the rate), `>= 0`. Default `1e-6`.
    #[config(default = 1e-6)]
    pub eps: f64,
    /// Decoupled decay `p *= 1 - lr wd` instead of L2 on the gradient. Default false.
    #[config(default = false)]
    pub decoupled_decay: bool,
}

impl MadgradConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`momentum`, `weight_decay`, `eps`) for
    /// momentum outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<Madgrad> {
        check_unit_interval("momentum", self.momentum)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        check_non_negative("eps", self.eps)?;
        Ok(Madgrad {
            config: self.clone(),
        })
    }
}

/// `timm.optim.MADGRAD` (dense): with `lr' = lr + eps` and `lambda_k = lr' sqrt(k)`,
/// `S += lambda_k g^2`, `s += lambda_k g`, `z = x0 - s / (S^(1/3) + eps)`; with momentum `mu`,
/// `p = mu p + (1 - mu) z` (`x0` the initial weights), without it `p = z` (`x0` recovered from
/// the current state). Weight decay is L2 on the gradient, or decoupled `p *= 1 - lr wd`. Built
/// by [`MadgradConfig::init`].
#[derive(Clone, Debug, PartialEq)]
pub struct Madgrad {
    config: MadgradConfig,
}

/// Dual-averaging state of [`Madgrad`].
#[derive(Clone)]
pub struct MadgradState<const D: usize> {
    /// `S`, the weighted sum of squared gradients.
    pub grad_sum_sq: Tensor<D>,
    /// `s`, the weighted sum of gradients.
    pub s: Tensor<D>,
    /// The initial weights (with momentum).
    pub x0: Tensor<D>,
    /// Steps taken.
    pub t: usize,
}

impl Optimizer for Madgrad {
    type State<const D: usize> = MadgradState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let c = &self.config;
        let eps = c.eps;
        let state = state.unwrap_or_else(|| MadgradState {
            grad_sum_sq: tensor.zeros_like(),
            s: tensor.zeros_like(),
            x0: tensor.clone(),
            t: 0,
        });
        let t = state.t + 1;
        let lamb = (lr + eps) * (t as f64).sqrt();
        let (p, g) = decay(tensor, grad, lr, c.weight_decay, c.decoupled_decay);
        let x0 = if c.momentum == 0.0 {
            let rms = state.grad_sum_sq.clone().powf_scalar(1.0 / 3.0) + eps;
            p.clone() + state.s.clone() / rms
        } else {
            state.x0
        };
        let grad_sum_sq = state.grad_sum_sq + g.clone().powf_scalar(2.0) * lamb;
        let rms = grad_sum_sq.clone().powf_scalar(1.0 / 3.0) + eps;
        let s = state.s + g * lamb;
        let z = x0.clone() - s.clone() / rms;
        let p = if c.momentum == 0.0 {
            z
        } else {
            let ck = 1.0 - c.momentum;
            p * (1.0 - ck) + z * ck
        };
        (
            p,
            Some(MadgradState {
                grad_sum_sq,
                s,
                x0,
                t,
            }),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        MadgradState {
            grad_sum_sq: state.grad_sum_sq.to_device(device),
            s: state.s.to_device(device),
            x0: state.x0.to_device(device),
            t: state.t,
        }
    }
}

super::record_state!(MadgradState {
    tensors: [grad_sum_sq, s, x0],
    counts: [t],
    floats: []
});
