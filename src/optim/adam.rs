//! `torch.optim.Adam` and `torch.optim.AdamW`: [`AdamConfig`], [`AdamWConfig`] and
//! [`TorchAdam`], with a beta1 that one-cycle can cycle.
//!
//! These are podium's configs, with torch's defaults; burn's own `burn::optim::AdamConfig` and
//! `AdamWConfig` (epsilon `1e-5`, AdamW decay `1e-4`) are other types.

use burn::config::Config;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, decay};
use crate::error::{PodiumError, Result};

/// Configuration of `torch.optim.Adam` (Kingma and Ba 2015) with L2 weight decay added to the
/// gradient, with torch's defaults (`torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999),
/// eps=1e-8, weight_decay=0, amsgrad=False)`; timm's `adam`).
#[derive(Config, Debug, PartialEq)]
pub struct AdamConfig {
    /// First-moment decay in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Second-moment decay in `[0, 1)`. Default 0.999.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Denominator term, `> 0`. Default `1e-8`.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// L2 penalty added to the gradient, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// AMSGrad (Reddi et al. 2018): the running maximum of the second moment. Default false.
    #[config(default = false)]
    pub amsgrad: bool,
}

/// Configuration of `torch.optim.AdamW` (Loshchilov and Hutter 2019), decoupled weight decay
/// `w -= lr weight_decay w`, with torch's defaults (`torch.optim.AdamW(params, lr=1e-3,
/// betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)`; timm's `adamw` is this
/// with weight decay 0).
#[derive(Config, Debug, PartialEq)]
pub struct AdamWConfig {
    /// First-moment decay in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Second-moment decay in `[0, 1)`. Default 0.999.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Denominator term, `> 0`. Default `1e-8`.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// Decoupled weight decay, `>= 0`. Default 0.01.
    #[config(default = 0.01)]
    pub weight_decay: f64,
    /// AMSGrad (Reddi et al. 2018). Default false.
    #[config(default = false)]
    pub amsgrad: bool,
}

/// The checked hyperparameters of Adam or AdamW: betas in `[0, 1)`, eps `> 0`, weight decay
/// `>= 0`.
fn adam_hparams(beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Result<AdamHparams> {
    if eps.is_nan() || eps <= 0.0 {
        return Err(PodiumError::config("eps", eps, "must be > 0"));
    }
    AdamHparams::new(beta1, beta2, eps, weight_decay)
}

impl AdamConfig {
    /// Checks the values and builds podium's [`TorchAdam`] (L2 weight decay).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`beta1`, `beta2`, `eps`, `weight_decay`) for betas outside
    /// `[0, 1)`, a non-positive eps or a negative weight decay.
    pub fn init(&self) -> Result<TorchAdam> {
        Ok(TorchAdam {
            hp: adam_hparams(self.beta1, self.beta2, self.eps, self.weight_decay)?,
            decoupled: false,
            amsgrad: self.amsgrad,
        })
    }

    /// burn's `Adam` with these values (torch's update once built with torch's eps), for the
    /// optimizer config without a hyper-parameter handle; the values are checked by
    /// [`Self::init`] first.
    pub(crate) fn burn(&self) -> Result<burn::optim::Adam> {
        self.init()?;
        let mut c = burn::optim::AdamConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(self.eps as f32)
            .with_amsgrad(self.amsgrad);
        if self.weight_decay > 0.0 {
            c = c.with_weight_decay(Some(WeightDecayConfig::new(self.weight_decay as f32)));
        }
        Ok(c.build())
    }
}

impl AdamWConfig {
    /// Checks the values and builds podium's [`TorchAdam`] (decoupled weight decay).
    ///
    /// # Errors
    /// As [`AdamConfig::init`].
    pub fn init(&self) -> Result<TorchAdam> {
        Ok(TorchAdam {
            hp: adam_hparams(self.beta1, self.beta2, self.eps, self.weight_decay)?,
            decoupled: true,
            amsgrad: self.amsgrad,
        })
    }

    /// burn's `AdamW` with these values; see [`AdamConfig::burn`].
    pub(crate) fn burn(&self) -> Result<burn::optim::AdamW> {
        self.init()?;
        Ok(burn::optim::AdamWConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(self.eps as f32)
            .with_weight_decay(self.weight_decay as f32)
            .with_amsgrad(self.amsgrad)
            .build())
    }
}

/// `torch.optim.Adam` / `AdamW`: with `g` the gradient (plus `wd p` for Adam's L2 decay; AdamW
/// first scales `p *= 1 - lr wd`), `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2` (AMSGrad
/// keeps `v_max = max(v_max, v)` and uses it), `p -= lr / (1 - b1^t) m / (sqrt(v) /
/// sqrt(1 - b2^t) + eps)`. Built by [`AdamConfig::init`] and [`AdamWConfig::init`].
///
/// burn's `Adam`/`AdamW` compute the same update (with torch's `eps`, as
/// [`OptimizerConfig`](super::OptimizerConfig) sets); this one exists for one-cycle's beta1
/// cycling ([`WithHyperParams`](super::WithHyperParams)): torch's `OneCycleLR` rewrites
/// `betas[0]` each step, and its bias correction then uses the current beta1 (`1 - b1^t`), as
/// here.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchAdam {
    pub(crate) hp: AdamHparams,
    decoupled: bool,
    amsgrad: bool,
}

super::adam_hyper_params!(TorchAdam);

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
