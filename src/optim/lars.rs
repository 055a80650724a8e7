//! LARS and LARC (You et al. 2017, "Large Batch Training of Convolutional Networks"), as
//! `timm.optim.Lars`: [`LarsConfig`] and [`Lars`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::check_non_negative;
use crate::error::{PodiumError, Result};

/// Configuration of [`Lars`], with timm's defaults (`timm.optim.Lars(params, lr=1.0, momentum=0,
/// dampening=0, weight_decay=0, nesterov=False, trust_coeff=0.001, eps=1e-8, trust_clip=False,
/// always_adapt=False)`; dampening and `always_adapt` are not implemented). timm's names (its
/// factory sets momentum 0.9): `lars`, `larc` (`trust_clip`), `nlars` (`nesterov`), `nlarc`.
#[derive(Config, Debug, PartialEq)]
pub struct LarsConfig {
    /// Momentum, `>= 0` (the buffer starts as the first gradient). Default 0.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Weight decay (L2), `>= 0`; the trust ratio applies only with weight decay. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Trust coefficient, `>= 0`. Default `1e-3`.
    #[config(default = 1e-3)]
    pub trust_coeff: f64,
    /// Denominator term of the trust ratio, `>= 0`. Default `1e-8`.
    #[config(default = 1e-8)]
    pub eps: f64,
    /// LARC: clip the ratio to `min(ratio / lr, 1)`. Default false.
    #[config(default = false)]
    pub trust_clip: bool,
    /// Nesterov momentum (needs momentum > 0). Default false.
    #[config(default = false)]
    pub nesterov: bool,
}

impl LarsConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`momentum`, `weight_decay`, `trust_coeff`, `eps`, `nesterov`) for
    /// negative values, or Nesterov without momentum.
    pub fn init(&self) -> Result<Lars> {
        check_non_negative("momentum", self.momentum)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        check_non_negative("trust_coeff", self.trust_coeff)?;
        check_non_negative("eps", self.eps)?;
        if self.nesterov && self.momentum <= 0.0 {
            return Err(PodiumError::config(
                "nesterov",
                true,
                "requires momentum > 0",
            ));
        }
        Ok(Lars {
            config: self.clone(),
        })
    }
}

/// `timm.optim.Lars`: with weight decay, each tensor's gradient is rescaled by the trust ratio
/// `trust_coeff ||p|| / (||g|| + wd ||p|| + eps)` (1 where a norm is 0; LARC clips it to
/// `min(ratio / lr, 1)`): `g = (g + wd p) ratio`; then torch-SGD momentum (buffer starts as `g`)
/// and `p -= lr d`. Built by [`LarsConfig::init`].
#[derive(Clone, Debug, PartialEq)]
pub struct Lars {
    config: LarsConfig,
}

/// Momentum buffer of [`Lars`].
#[derive(Clone)]
pub struct LarsState<const D: usize> {
    /// `buf`.
    pub buf: Tensor<D>,
}

/// `||t||_2` as a `[1, ..., 1]` tensor of rank `D`.
pub(crate) fn l2_norm<const D: usize>(t: &Tensor<D>) -> Tensor<D> {
    t.clone().powf_scalar(2.0).sum().sqrt().reshape([1; D])
}

/// `ratio` where both norms are positive, 1 elsewhere.
pub(crate) fn guard_ratio<const D: usize>(
    ratio: Tensor<D>,
    a: &Tensor<D>,
    b: &Tensor<D>,
) -> Tensor<D> {
    let one = ratio.ones_like();
    let zero_a = a.clone().lower_equal_elem(0.0);
    let zero_b = b.clone().lower_equal_elem(0.0);
    ratio
        .mask_where(zero_a, one.clone())
        .mask_where(zero_b, one)
}

impl Optimizer for Lars {
    type State<const D: usize> = LarsState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let c = &self.config;
        let g = if c.weight_decay != 0.0 {
            let w_norm = l2_norm(&tensor);
            let g_norm = l2_norm(&grad);
            let ratio = w_norm.clone() * c.trust_coeff
                / (g_norm.clone() + w_norm.clone() * c.weight_decay + c.eps);
            let mut ratio = guard_ratio(ratio, &w_norm, &g_norm);
            if c.trust_clip {
                ratio = (ratio / lr).clamp_max(1.0);
            }
            (grad + tensor.clone() * c.weight_decay) * ratio
        } else {
            grad
        };
        if c.momentum == 0.0 {
            return (tensor - g * lr, None);
        }
        let buf = match state {
            None => g.clone(),
            Some(s) => s.buf * c.momentum + g.clone(),
        };
        let d = if c.nesterov {
            g + buf.clone() * c.momentum
        } else {
            buf.clone()
        };
        (tensor - d * lr, Some(LarsState { buf }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        LarsState {
            buf: state.buf.to_device(device),
        }
    }
}

super::record_state!(LarsState {
    tensors: [buf],
    counts: [],
    floats: []
});
