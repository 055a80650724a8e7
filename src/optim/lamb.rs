//! LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning"), as `timm.optim.Lamb`:
//! [`LambConfig`] and [`Lamb`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::AdamHparams;
use super::lars::{guard_ratio, l2_norm};
use crate::error::Result;

/// Configuration of [`Lamb`], with timm's defaults (`timm.optim.Lamb(params, lr=1e-3,
/// bias_correction=True, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, grad_averaging=True,
/// max_grad_norm=1.0, trust_clip=False, always_adapt=False)`; always bias-corrected; the global
/// gradient clipping is [`ClipGrad`](super::ClipGrad)'s). timm's names: `lamb` (weight decay 0
/// from its factory), `lambc` (`trust_clip`).
#[derive(Config, Debug, PartialEq)]
pub struct LambConfig {
    /// First-moment decay in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Second-moment decay in `[0, 1)`. Default 0.999.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Denominator term, `>= 0`. Default `1e-6`.
    #[config(default = 1e-6)]
    pub eps: f64,
    /// Weight decay added to the update (and turning the trust ratio on), `>= 0`. Default 0.01.
    #[config(default = 0.01)]
    pub weight_decay: f64,
    /// Weight the gradient by `1 - beta1` in the first moment. Default true.
    #[config(default = true)]
    pub grad_averaging: bool,
    /// Clamp the trust ratio at 1 (LAMBC). Default false.
    #[config(default = false)]
    pub trust_clip: bool,
}

impl LambConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `eps`,
    /// `weight_decay`) for betas outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<Lamb> {
        Ok(Lamb {
            hp: AdamHparams::new(self.beta1, self.beta2, self.eps, self.weight_decay)?,
            trust_clip: self.trust_clip,
            grad_averaging: self.grad_averaging,
        })
    }
}

/// `timm.optim.Lamb`'s per-tensor update: Adam moments (`m` weighted by `1 - b1` with grad
/// averaging), `u = (m / bc1) / (sqrt(v / bc2) + eps) + wd p`, and with weight decay the trust
/// ratio `||p|| / ||u||` (1 where a norm is 0; LAMBC clamps it at 1): `p -= lr ratio u`. Built by
/// [`LambConfig::init`]; reads beta1 from a [`HyperParams`](super::HyperParams) handle when given
/// one.
///
/// timm's Lamb first clips the global gradient norm to `max_grad_norm` (1 by default) across all
/// parameters, which a per-tensor optimizer cannot see: clip with
/// [`ClipGrad::Norm`](super::ClipGrad::Norm) at `max_norm = 1` (the Learner's `clip_grad`), or
/// [`clip_grad_norm`](super::clip_grad_norm) in a custom loop, to reproduce it. burn's own LAMB
/// does not clip globally either.
#[derive(Clone, Debug, PartialEq)]
pub struct Lamb {
    pub(crate) hp: AdamHparams,
    trust_clip: bool,
    grad_averaging: bool,
}

super::adam_hyper_params!(Lamb);

/// Moments and step count of [`Lamb`].
#[derive(Clone)]
pub struct LambState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// Second moment.
    pub v: Tensor<D>,
    /// Steps taken.
    pub t: usize,
}

impl Optimizer for Lamb {
    type State<const D: usize> = LambState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.hp.beta1(), self.hp.beta2);
        let b3 = if self.grad_averaging { 1.0 - b1 } else { 1.0 };
        let (m, v, t) = match state {
            None => (
                grad.clone() * b3,
                grad.clone().powf_scalar(2.0) * (1.0 - b2),
                1,
            ),
            Some(s) => (
                s.m * b1 + grad.clone() * b3,
                s.v * b2 + grad.powf_scalar(2.0) * (1.0 - b2),
                s.t + 1,
            ),
        };
        let tf = t as i32;
        let (bc1, bc2) = (1.0 - b1.powi(tf), 1.0 - b2.powi(tf));
        let denom = v.clone().sqrt() / bc2.sqrt() + self.hp.eps;
        let mut update = m.clone() / bc1 / denom;
        if self.hp.weight_decay != 0.0 {
            update = update + tensor.clone() * self.hp.weight_decay;
            let w_norm = l2_norm(&tensor);
            let u_norm = l2_norm(&update);
            let mut ratio = guard_ratio(w_norm.clone() / u_norm.clone(), &w_norm, &u_norm);
            if self.trust_clip {
                ratio = ratio.clamp_max(1.0);
            }
            update = update * ratio;
        }
        (tensor - update * lr, Some(LambState { m, v, t }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        LambState {
            m: state.m.to_device(device),
            v: state.v.to_device(device),
            t: state.t,
        }
    }
}

super::record_state!(LambState {
    tensors: [m, v],
    counts: [t],
    floats: []
});
