//! Optimizers with torch's and timm's exact update rules, as burn [`Optimizer`]s (build a
//! [`ModuleOptimizer`] with `into()`, usable by burn-train's `Learner` and in a hand-written
//! loop), plus torch's gradient clipping by global norm and by value, and gradient accumulation
//! that reproduces the full-batch gradient.
//!
//! Each optimizer has its `#[derive(Config)]` configuration with torch's or timm's defaults
//! (hyper-parameters are `f64`) and an `init()` that checks the values (a
//! [`PodiumError::Config`] names the key) and builds it; [`OptimizerConfig`] is one serializable
//! choice among them, with [`OptimizerConfig::from_name`] for timm's names. A [`HyperParams`]
//! handle carries the values a schedule drives during training (one-cycle's momentum / beta1).
//! The config names follow torch: podium's [`AdamConfig`], [`AdamWConfig`], [`SgdConfig`] and
//! [`LionConfig`] are not burn's `burn::optim` types of the same name (those use burn's
//! defaults and `f32`).
//!
//! | config | optimizer | follows | timm name |
//! |---|---|---|---|
//! | [`SgdConfig`] | [`TorchSgd`] (momentum, dampening, Nesterov, L2) | `torch.optim.SGD` | `sgd`, `nesterov`, `momentum` |
//! | [`AdamConfig`], [`AdamWConfig`] | [`TorchAdam`] (or burn's `Adam`/`AdamW` through [`OptimizerConfig`]) | `torch.optim.Adam`, `AdamW` | `adam`, `adamw` |
//! | [`RAdamConfig`] | [`RAdam`] | `torch.optim.RAdam` (Liu et al. 2020) | `radam` |
//! | [`NAdamConfig`] | [`NAdam`] | `torch.optim.NAdam` (Dozat 2016) | `nadam` |
//! | [`AdamaxConfig`] | [`Adamax`] | `torch.optim.Adamax` (Kingma and Ba 2015) | `adamax` |
//! | [`AdaBeliefConfig`] | [`AdaBelief`] (and RAdaBelief) | `timm.optim.AdaBelief` (Zhuang et al. 2020) | `adabelief`, `radabelief` |
//! | [`LambConfig`] | [`Lamb`] (LAMB, LAMBC) | `timm.optim.Lamb` (You et al. 2020), global clipping apart | `lamb`, `lambc` |
//! | [`LarsConfig`] | [`Lars`] (LARS, LARC) | `timm.optim.Lars` (You et al. 2017) | `lars`, `larc`, `nlars`, `nlarc` |
//! | [`MadgradConfig`] | [`Madgrad`] | `timm.optim.MADGRAD` (Defazio and Jelassi 2021) | `madgrad`, `madgradw` |
//! | [`NvNovoGradConfig`] | [`NvNovoGrad`] | `timm.optim.NvNovoGrad` (Ginsburg et al. 2019) | `novograd`, `nvnovograd` |
//! | [`LionConfig`] | burn's `Lion` | `timm.optim.Lion` (Chen et al. 2023) | `lion` |
//! | [`LookaheadConfig`] | [`Lookahead`] over any of them | `timm.optim.Lookahead` (Zhang et al. 2019) | `lookahead_<name>` |
//! | [`RangerConfig`] | [`Lookahead`] over [`RAdam`] | timm's `lookahead_radam` | `ranger` |
//! | [`SamConfig`] | [`Sam`] (SAM and ASAM), a training step | davda54/sam (Foret et al. 2021; Kwon et al. 2021) | |
//! | [`ClipGrad`] | [`clip_grad_norm`], [`clip_grad_value`] | `torch.nn.utils.clip_grad_norm_`, `clip_grad_value_` | |
//! | [`GradScalerConfig`] | [`GradScaler`]: dynamic loss scaling for `f16` mixed precision | `torch.amp.GradScaler` | |
//! | [`no_weight_decay_params`], [`OptimizerConfig::init_with_no_decay`] | no weight decay on biases and normalization weights (`ndim <= 1`) | timm's `param_groups_weight_decay` | |
//!
//! burn's own Adam and AdamW match torch once built with torch's epsilon (`1e-8`), as
//! [`OptimizerConfig`] does.
//!
//! [`Optimizer`]: burn::optim::Optimizer
//! [`ModuleOptimizer`]: burn::optim::ModuleOptimizer
//! [`PodiumError::Config`]: crate::PodiumError::Config

mod accumulate;
mod adabelief;
mod adam;
mod adamax;
mod clip;
mod config;
pub mod grad_scaler;
mod hyper;
mod lamb;
mod lars;
mod lion;
mod lookahead;
mod madgrad;
mod nadam;
mod novograd;
mod param_groups;
mod radam;
mod ranger;
mod sam;
mod sgd;

pub use accumulate::WeightedGradAccumulator;
pub use adabelief::{AdaBelief, AdaBeliefConfig, AdaBeliefState};
pub use adam::{AdamConfig, AdamWConfig, TorchAdam, TorchAdamState};
pub use adamax::{Adamax, AdamaxConfig, AdamaxState};
pub use clip::{
    ClipGrad, GradNorm, clip_grad_norm, clip_grad_norm_tensors, clip_grad_value,
    clip_grad_value_tensors,
};
pub use config::OptimizerConfig;
pub use grad_scaler::{GradScaler, GradScalerConfig, GradScalerState};
pub use hyper::{HyperParams, WithHyperParams};
pub use lamb::{Lamb, LambConfig, LambState};
pub use lars::{Lars, LarsConfig, LarsState};
pub use lion::LionConfig;
pub use lookahead::{Lookahead, LookaheadConfig, LookaheadState};
pub use madgrad::{Madgrad, MadgradConfig, MadgradState};
pub use nadam::{NAdam, NAdamConfig, NAdamState};
pub use novograd::{NvNovoGrad, NvNovoGradConfig, NvNovoGradState};
pub use param_groups::no_weight_decay_params;
pub use radam::{RAdam, RAdamConfig, RAdamState};
pub use ranger::RangerConfig;
pub use sam::{Sam, SamConfig};
pub use sgd::{SgdConfig, TorchSgd, TorchSgdState};

use burn::tensor::Tensor;

use crate::error::{PodiumError, Result};

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
    check_unit_interval("beta1", beta1)?;
    check_unit_interval("beta2", beta2)
}

/// `v` in `[0, 1)` (a momentum or a beta), else a [`PodiumError::Config`] naming `key`.
pub(crate) fn check_unit_interval(key: &str, v: f64) -> Result<()> {
    if !(0.0..1.0).contains(&v) {
        return Err(PodiumError::config(key, v, "must be in [0, 1)"));
    }
    Ok(())
}

/// `v >= 0`, else a [`PodiumError::Config`] naming `key`.
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
        crate::kernel::axpby(1.0, grad, weight_decay, tensor.clone())
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

/// The hyperparameters every Adam-family optimizer shares: betas, eps and weight decay, and the
/// optional [`HyperParams`] handle that one-cycle writes beta1 into.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AdamHparams {
    pub(crate) beta1: f64,
    pub(crate) beta2: f64,
    pub(crate) eps: f64,
    pub(crate) weight_decay: f64,
    pub(crate) hyper: Option<HyperParams>,
}

impl AdamHparams {
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
            hyper: None,
        })
    }

    /// beta1 for this step: the handle's momentum once a schedule has set it, else the
    /// configured one.
    pub(crate) fn beta1(&self) -> f64 {
        self.hyper
            .as_ref()
            .and_then(HyperParams::momentum)
            .unwrap_or(self.beta1)
    }
}

/// [`WithHyperParams`] for optimizers whose [`AdamHparams`] sit in a field `hp`: the handle's
/// momentum is their beta1 (torch's `OneCycleLR` rewrites `betas[0]` when the optimizer has
/// betas).
macro_rules! adam_hyper_params {
    ($($t:ty),*) => {$(
        impl $crate::optim::WithHyperParams for $t {
            fn with_hyper_params(mut self, hyper: $crate::optim::HyperParams) -> Self {
                self.hp.hyper = Some(hyper);
                self
            }
        }
    )*};
}
pub(crate) use adam_hyper_params;
