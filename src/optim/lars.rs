//! LARS and LARC (You et al. 2017, "Large Batch Training of Convolutional Networks"), as
//! `timm.optim.Lars`.

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::check_non_negative;
use crate::error::Result;

/// `timm.optim.Lars`: with weight decay, each tensor's gradient is rescaled by the trust ratio
/// `trust_coeff ||p|| / (||g|| + wd ||p|| + eps)` (1 where a norm is 0; LARC clips it to
/// `min(ratio / lr, 1)`): `g = (g + wd p) ratio`; then torch-SGD momentum (buffer starts as `g`)
/// and `p -= lr d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lars {
    momentum: f64,
    weight_decay: f64,
    trust_coeff: f64,
    eps: f64,
    trust_clip: bool,
    nesterov: bool,
}

/// Momentum buffer of [`Lars`].
#[derive(Clone)]
pub struct LarsState<const D: usize> {
    /// `buf`.
    pub buf: Tensor<D>,
}

impl Lars {
    /// LARS (`trust_clip = false`) or LARC (`true`); timm's defaults are momentum 0.9,
    /// trust coefficient 1e-3, eps 1e-8.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for negative values.
    pub fn new(
        momentum: f64,
        weight_decay: f64,
        trust_coeff: f64,
        eps: f64,
        trust_clip: bool,
        nesterov: bool,
    ) -> Result<Self> {
        check_non_negative("momentum", momentum)?;
        check_non_negative("weight_decay", weight_decay)?;
        check_non_negative("trust_coeff", trust_coeff)?;
        check_non_negative("eps", eps)?;
        Ok(Self {
            momentum,
            weight_decay,
            trust_coeff,
            eps,
            trust_clip,
            nesterov,
        })
    }
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
        let g = if self.weight_decay != 0.0 {
            let w_norm = l2_norm(&tensor);
            let g_norm = l2_norm(&grad);
            let ratio = w_norm.clone() * self.trust_coeff
                / (g_norm.clone() + w_norm.clone() * self.weight_decay + self.eps);
            let mut ratio = guard_ratio(ratio, &w_norm, &g_norm);
            if self.trust_clip {
                ratio = (ratio / lr).clamp_max(1.0);
            }
            (grad + tensor.clone() * self.weight_decay) * ratio
        } else {
            grad
        };
        if self.momentum == 0.0 {
            return (tensor - g * lr, None);
        }
        let buf = match state {
            None => g.clone(),
            Some(s) => s.buf * self.momentum + g.clone(),
        };
        let d = if self.nesterov {
            g + buf.clone() * self.momentum
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
