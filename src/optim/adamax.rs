//! `torch.optim.Adamax` (Kingma and Ba 2015, the infinity-norm variant of Adam):
//! [`AdamaxConfig`] and [`Adamax`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, l2_decay};
use crate::error::Result;

/// Configuration of [`Adamax`], with torch's defaults (`torch.optim.Adamax(params, lr=2e-3,
/// betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`; timm's `adamax`).
#[derive(Config, Debug, PartialEq)]
pub struct AdamaxConfig {
    /// First-moment decay in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Infinity-norm decay in `[0, 1)`. Default 0.999.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Added inside the max, `>= 0`. Default `1e-8`.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// L2 penalty added to the gradient, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl AdamaxConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `eps`,
    /// `weight_decay`) for betas outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<Adamax> {
        Ok(Adamax {
            hp: AdamHparams::new(self.beta1, self.beta2, self.eps, self.weight_decay)?,
        })
    }
}

/// `torch.optim.Adamax`: `m = b1 m + (1 - b1) g`, `u = max(b2 u, |g| + eps)` (eps inside the
/// max), `p -= lr / (1 - b1^t) m / u`. Built by [`AdamaxConfig::init`]; reads beta1 from a
/// [`HyperParams`](super::HyperParams) handle when given one.
#[derive(Clone, Debug, PartialEq)]
pub struct Adamax {
    pub(crate) hp: AdamHparams,
}

super::adam_hyper_params!(Adamax);

/// Moments and step count of [`Adamax`].
#[derive(Clone)]
pub struct AdamaxState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Infinity norm.
    pub u: Tensor<D>,
    /// Steps taken.
    pub t: usize,
}

impl Optimizer for Adamax {
    type State<const D: usize> = AdamaxState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let b1 = self.hp.beta1();
        let g = l2_decay(grad, &tensor, self.hp.weight_decay);
        let g_abs = g.clone().abs() + self.hp.eps;
        let (m, u, t) = match state {
            None => (g * (1.0 - b1), g_abs, 1),
            Some(s) => (
                s.m * b1 + g * (1.0 - b1),
                (s.u * self.hp.beta2).max_pair(g_abs),
                s.t + 1,
            ),
        };
        let step = lr / (1.0 - b1.powi(t as i32));
        (
            tensor - m.clone() / u.clone() * step,
            Some(AdamaxState { m, u, t }),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamaxState {
            m: state.m.to_device(device),
            u: state.u.to_device(device),
            t: state.t,
        }
    }
}

super::record_state!(AdamaxState {
    tensors: [m, u],
    counts: [t],
    floats: []
});
