//! Optimizers with torch's and timm's exact update rules, as burn [`Optimizer`]s (build a
//! [`ModuleOptimizer`] with `into()`, usable by burn-train's `Learner` and in a hand-written
//! loop), plus torch's gradient clipping by global norm and by value, and gradient accumulation
//! that reproduces the full-batch gradient.
//!
//! | optimizer | follows |
//! |---|---|
//! | [`TorchSgd`] (momentum, dampening, Nesterov, L2) | `torch.optim.SGD` |
//! | [`RAdam`] | `torch.optim.RAdam` (Liu et al. 2020) |
//! | [`NAdam`] | `torch.optim.NAdam` (Dozat 2016) |
//! | [`Adamax`] | `torch.optim.Adamax` (Kingma and Ba 2015) |
//! | [`AdaBelief`] (and RAdaBelief) | `timm.optim.AdaBelief` (Zhuang et al. 2020) |
//! | [`Lamb`] (LAMB, LAMBC) | `timm.optim.Lamb` (You et al. 2020), global clipping apart |
//! | [`Lars`] (LARS, LARC) | `timm.optim.Lars` (You et al. 2017) |
//! | [`Madgrad`] | `timm.optim.MADGRAD` (Defazio and Jelassi 2021) |
//! | [`NvNovoGrad`] | `timm.optim.NvNovoGrad` (Ginsburg et al. 2019) |
//! | [`Lookahead`] over any of them (Ranger: over RAdam) | `timm.optim.Lookahead` (Zhang et al. 2019) |
//! | [`Sam`] (SAM and ASAM) | davda54/sam (Foret et al. 2021; Kwon et al. 2021) |
//!
//! burn's own Adam and AdamW match torch once built with torch's epsilon (`1e-8`), as
//! [`OptimizerConfig`](crate::learner::OptimizerConfig) does.
//!
//! [`Optimizer`]: burn::optim::Optimizer
//! [`ModuleOptimizer`]: burn::optim::ModuleOptimizer

mod accumulate;
mod adabelief;
mod adam;
mod adamax;
mod clip;
mod lamb;
mod lars;
mod lookahead;
mod madgrad;
mod nadam;
mod novograd;
mod radam;
mod sam;
mod sgd;

pub use accumulate::WeightedGradAccumulator;
pub use adabelief::AdaBelief;
pub use adam::{TorchAdam, TorchAdamState};
pub use adamax::Adamax;
pub use clip::{
    GradNorm, clip_grad_norm, clip_grad_norm_tensors, clip_grad_value, clip_grad_value_tensors,
};
pub use lamb::Lamb;
pub use lars::Lars;
pub use lookahead::{Lookahead, LookaheadState};
pub use madgrad::Madgrad;
pub use nadam::NAdam;
pub use novograd::NvNovoGrad;
pub use radam::RAdam;
pub use sam::Sam;
pub use sgd::TorchSgd;

use burn::tensor::Tensor;

use crate::error::{PodiumError, Result};
use crate::schedule::MomentumCell;

/// Implements burn's `RecordState` (optimizer state in checkpoints) for a state struct of
/// tensors and `u64`-convertible or `f64` scalars (burn's derive only works inside burn-optim).
macro_rules! record_state {
    ($name:ident { tensors: [$($t:ident),*], counts: [$($c:ident),*], floats: [$($f:ident),*] }) => {
        impl<const D: usize> burn::optim::RecordState for $name<D> {
            fn state_flatten(&self, prefix: &str, out: &mut burn::optim::StateSink) {
                $(out.push_tensor(prefix, stringify!($t), self.$t.to_data());)*
                $(out.push_scalar(prefix, stringify!($c), (self.$c as u64).into());)*
                $(out.push_scalar(prefix, stringify!($f), self.$f.into());)*
            }

            fn state_unflatten(
                prefix: &str,
                src: &mut burn::optim::StateSource,
                device: &burn::tensor::Device,
            ) -> Option<Self> {
                Some(Self {
                    $($t: burn::tensor::Tensor::from_data(src.take_tensor(prefix, stringify!($t))?, device),)*
                    $($c: u64::try_from(src.take_scalar(prefix, stringify!($c))?).ok()? as usize,)*
                    $($f: f64::try_from(src.take_scalar(prefix, stringify!($f))?).ok()?,)*
                })
            }
        }
    };
}
pub(crate) use record_state;

pub(crate) fn check_betas(beta1: f64, beta2: f64) -> Result<()> {
    for (k, b) in [("beta1", beta1), ("beta2", beta2)] {
        if !(0.0..1.0).contains(&b) {
            return Err(PodiumError::config(k, b, "must be in [0, 1)"));
        }
    }
    Ok(())
}

pub(crate) fn check_non_negative(key: &str, v: f64) -> Result<()> {
    if v.is_nan() || v < 0.0 {
        return Err(PodiumError::config(key, v, "must be >= 0"));
    }
    Ok(())
}

/// Coupled (L2) weight decay as torch applies it before the update: `g + weight_decay * p`,
/// skipped when `weight_decay` is zero.
pub(crate) fn l2_decay<const D: usize>(
    grad: Tensor<D>,
    tensor: &Tensor<D>,
    weight_decay: f64,
) -> Tensor<D> {
    if weight_decay != 0.0 {
        grad + tensor.clone() * weight_decay
    } else {
        grad
    }
}

/// Weight decay before an update, decoupled or coupled: with `decoupled`, the weights shrink
/// (`p * (1 - lr * weight_decay)`, Loshchilov and Hutter's AdamW) and the gradient is kept;
/// otherwise the weights are kept and the gradient takes the L2 term ([`l2_decay`]). Nothing
/// changes when `weight_decay` is zero. Returns `(weights, gradient)`.
pub(crate) fn decay<const D: usize>(
    tensor: Tensor<D>,
    grad: Tensor<D>,
    lr: f64,
    weight_decay: f64,
    decoupled: bool,
) -> (Tensor<D>, Tensor<D>) {
    if weight_decay == 0.0 {
        (tensor, grad)
    } else if decoupled {
        (tensor * (1.0 - lr * weight_decay), grad)
    } else {
        let grad = l2_decay(grad, &tensor, weight_decay);
        (tensor, grad)
    }
}

/// The hyperparameters every Adam-family optimizer shares: betas, eps and L2 weight decay,
/// and an optional cell that one-cycle writes beta1 into.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AdamHparams {
    pub(crate) beta1: f64,
    pub(crate) beta2: f64,
    pub(crate) eps: f64,
    pub(crate) weight_decay: f64,
    pub(crate) cycle: Option<MomentumCell>,
}

impl AdamHparams {
    /// torch's defaults: betas `(0.9, 0.999)`, eps `1e-8`, no weight decay.
    pub(crate) const TORCH_DEFAULT: Self = Self {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        cycle: None,
    };

    /// Checked hyperparameters: betas in `[0, 1)`, eps and weight decay `>= 0`.
    pub(crate) fn new(beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Result<Self> {
        check_betas(beta1, beta2)?;
        check_non_negative("eps", eps)?;
        check_non_negative("weight_decay", weight_decay)?;
        Ok(Self {
            beta1,
            beta2,
            eps,
            weight_decay,
            cycle: None,
        })
    }

    /// beta1 for this step: the cell's value once one-cycle has set it, else the configured one.
    pub(crate) fn beta1(&self) -> f64 {
        self.cycle
            .as_ref()
            .and_then(MomentumCell::get)
            .unwrap_or(self.beta1)
    }
}

/// Adam-family optimizers whose beta1 one-cycle can cycle (torch's `OneCycleLR` rewrites
/// `betas[0]` every step when the optimizer has betas).
pub trait Beta1Cell: Sized {
    /// Takes beta1 from `cell` once a value is set there (written by a
    /// [`ScheduleRunner`](crate::schedule::ScheduleRunner)); the configured beta1 until then.
    fn with_beta1_cell(self, cell: MomentumCell) -> Self;
}

macro_rules! beta1_cell {
    ($($t:ty),*) => {$(
        impl Beta1Cell for $t {
            fn with_beta1_cell(mut self, cell: MomentumCell) -> Self {
                self.hp.cycle = Some(cell);
                self
            }
        }
    )*};
}

beta1_cell!(TorchAdam, RAdam, NAdam, AdaBelief, Lamb, Adamax);
