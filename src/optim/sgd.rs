//! `torch.optim.SGD`: [`SgdConfig`] and [`TorchSgd`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{HyperParams, WithHyperParams, check_non_negative, check_unit_interval, l2_decay};
use crate::error::{PodiumError, Result};
use crate::kernel::axpby;

/// Configuration of [`TorchSgd`], with torch's defaults
/// (`torch.optim.SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)`).
/// timm's names `sgd` / `nesterov` (momentum 0.9, Nesterov) and `momentum` (momentum 0.9) are
/// [`OptimizerConfig::from_name`](super::OptimizerConfig::from_name).
#[derive(Config, Debug, PartialEq)]
pub struct SgdConfig {
    /// Momentum factor `mu` in `[0, 1)` (0: plain SGD; 0.9 is the usual choice). Default 0.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Dampening of the gradient in the momentum buffer, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub dampening: f64,
    /// L2 penalty added to the gradient, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Nesterov momentum (needs momentum > 0 and no dampening). Default false.
    #[config(default = false)]
    pub nesterov: bool,
}

impl SgdConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`momentum`, `dampening`, `weight_decay`, `nesterov`) for momentum
    /// outside `[0, 1)`, negative values, or Nesterov without momentum or with dampening (torch's
    /// rule).
    pub fn init(&self) -> Result<TorchSgd> {
        check_unit_interval("momentum", self.momentum)?;
        check_non_negative("dampening", self.dampening)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(PodiumError::config(
                "nesterov",
                true,
                "requires momentum > 0 and zero dampening",
            ));
        }
        Ok(TorchSgd {
            config: self.clone(),
            hyper: None,
        })
    }
}

/// `torch.optim.SGD`: `g = grad + weight_decay p`; with momentum `mu`, the buffer starts as
/// `g` and then `buf = mu buf + (1 - dampening) g`; the step uses `d = g + mu buf` (Nesterov) or
/// `d = buf`; `p -= lr d`, each line one [`axpby`] pass (rayon on flex). Built by
/// [`SgdConfig::init`].
///
/// With a [`HyperParams`] handle ([`WithHyperParams`]) the momentum is read from it once a
/// schedule has set it (one-cycle's curve, as torch's `OneCycleLR` rewrites `momentum` each
/// step); the configured momentum applies until then and must be positive for the momentum
/// buffer to exist.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchSgd {
    config: SgdConfig,
    hyper: Option<HyperParams>,
}

impl WithHyperParams for TorchSgd {
    fn with_hyper_params(mut self, hyper: HyperParams) -> Self {
        self.hyper = Some(hyper);
        self
    }
}

/// The momentum buffer of [`TorchSgd`].
#[derive(Clone)]
pub struct TorchSgdState<const D: usize> {
    /// `buf`.
    pub buf: Tensor<D>,
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
        let c = &self.config;
        let g = l2_decay(grad, &tensor, c.weight_decay);
        if c.momentum == 0.0 {
            return (axpby(1.0, tensor, -lr, g), None);
        }
        let momentum = self
            .hyper
            .as_ref()
            .and_then(HyperParams::momentum)
            .unwrap_or(c.momentum);
        let buf = match state {
            None => g.clone(),
            Some(s) => axpby(momentum, s.buf, 1.0 - c.dampening, g.clone()),
        };
        let d = if c.nesterov {
            axpby(1.0, g, momentum, buf.clone())
        } else {
            buf.clone()
        };
        (axpby(1.0, tensor, -lr, d), Some(TorchSgdState { buf }))
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
