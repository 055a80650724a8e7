//! NovoGrad (Ginsburg et al. 2019), as `timm.optim.NvNovoGrad`: [`NvNovoGradConfig`] and
//! [`NvNovoGrad`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{check_betas, check_non_negative};
use crate::error::Result;

/// Configuration of [`NvNovoGrad`], with timm's defaults (`timm.optim.NvNovoGrad(params, lr=1e-3,
/// betas=(0.95, 0.98), eps=1e-8, weight_decay=0, grad_averaging=False, amsgrad=False)`; AMSGrad
/// is not implemented). timm's names: `novograd`, `nvnovograd`.
#[derive(Config, Debug, PartialEq)]
pub struct NvNovoGradConfig {
    /// First-moment decay in `[0, 1)`. Default 0.95.
    #[config(default = 0.95)]
    pub beta1: f64,
    /// Decay of the per-tensor second moment in `[0, 1)`. Default 0.98.
    #[config(default = 0.98)]
    pub beta2: f64,
    /// Denominator term, `>= 0`. Default `1e-8`.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// Weight decay added to the normalized gradient, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Weight the update by `1 - beta1`. Default false.
    #[config(default = false)]
    pub grad_averaging: bool,
}

impl NvNovoGradConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `eps`,
    /// `weight_decay`) for betas outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<NvNovoGrad> {
        check_betas(self.beta1, self.beta2)?;
        check_non_negative("eps", self.eps)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        Ok(NvNovoGrad {
            config: self.clone(),
        })
    }
}

/// `timm.optim.NvNovoGrad`: a per-tensor scalar second moment `v = ||g||^2` at the first step,
/// then `v = b2 v + (1 - b2) ||g||^2`; `u = g / (sqrt(v) + eps) + wd p` (times `1 - b1` with
/// grad averaging); `m = b1 m + u`; `p -= lr m`. Built by [`NvNovoGradConfig::init`].
#[derive(Clone, Debug, PartialEq)]
pub struct NvNovoGrad {
    config: NvNovoGradConfig,
}

/// Moments of [`NvNovoGrad`].
#[derive(Clone)]
pub struct NvNovoGradState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Scalar second moment, `[1, ..., 1]`.
    pub v: Tensor<D>,
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
        let c = &self.config;
        let norm = grad.clone().powf_scalar(2.0).sum().reshape([1; D]);
        let (m_prev, v) = match state {
            None => (None, norm),
            Some(s) => (Some(s.m), s.v * c.beta2 + norm * (1.0 - c.beta2)),
        };
        let mut u = grad / (v.clone().sqrt() + c.eps);
        if c.weight_decay != 0.0 {
            u = u + tensor.clone() * c.weight_decay;
        }
        if c.grad_averaging {
            u = u * (1.0 - c.beta1);
        }
        let m = match m_prev {
            Some(m) => m * c.beta1 + u,
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
