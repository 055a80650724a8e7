//! AdaBelief (Zhuang et al. 2020, "AdaBelief Optimizer: Adapting Stepsizes by the Belief in
//! Observed Gradients"), as `timm.optim.AdaBelief` (single-tensor path): [`AdaBeliefConfig`] and
//! [`AdaBelief`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use super::{AdamHparams, decay};
use crate::error::Result;

/// Configuration of [`AdaBelief`], with timm's defaults (`timm.optim.AdaBelief(params, lr=1e-3,
/// betas=(0.9, 0.999), eps=1e-16, weight_decay=0, amsgrad=False, decoupled_decay=True,
/// fixed_decay=False, rectify=True, degenerated_to_sgd=True)`; AMSGrad and fixed decay are not
/// implemented). timm's names: `adabelief` is this with `rectify = false`, `radabelief` with
/// `rectify = true`.
#[derive(Config, Debug, PartialEq)]
pub struct AdaBeliefConfig {
    /// First-moment decay in `[0, 1)`. Default 0.9.
    #[config(default = 0.9)]
    pub beta1: f64,
    /// Belief (second-moment) decay in `[0, 1)`. Default 0.999.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// Denominator term, also added to the belief each step, `>= 0`. Default `1e-16`.
    #[config(default = 1e-16)]
    pub eps: f64,
    /// Weight decay, `>= 0`. Default 0.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Decoupled decay `p *= 1 - lr wd` (true) or L2 on the gradient. Default true.
    #[config(default = true)]
    pub decoupled_decay: bool,
    /// RAdam's rectification (RAdaBelief). Default true (timm's class default).
    #[config(default = true)]
    pub rectify: bool,
    /// With rectification, an SGD-with-momentum step while the variance is intractable
    /// (`N_sma < 5`); no step otherwise. Default true.
    #[config(default = true)]
    pub degenerated_to_sgd: bool,
}

impl AdaBeliefConfig {
    /// Checks the values and builds the optimizer.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) (`beta1`, `beta2`, `eps`,
    /// `weight_decay`) for betas outside `[0, 1)` or negative values.
    pub fn init(&self) -> Result<AdaBelief> {
        Ok(AdaBelief {
            hp: AdamHparams::new(self.beta1, self.beta2, self.eps, self.weight_decay)?,
            decoupled_decay: self.decoupled_decay,
            rectify: self.rectify,
            degenerated_to_sgd: self.degenerated_to_sgd,
        })
    }
}

/// `timm.optim.AdaBelief`: decoupled decay `p *= 1 - lr wd` (or L2 on the gradient);
/// `m = b1 m + (1 - b1) g`, `s = b2 s + (1 - b2)(g - m)^2 + eps` (eps added to the state, as
/// timm does in place). Without rectification
/// `p -= lr / (1 - b1^t) m / (sqrt(s) / sqrt(1 - b2^t) + eps)`; with it (RAdaBelief), RAdam's
/// rectified step `p -= lr step_size m / (sqrt(s) + eps)` when `N_sma >= 5`, else (with
/// `degenerated_to_sgd`) `p -= lr m / (1 - b1^t)`. Built by [`AdaBeliefConfig::init`]; reads
/// beta1 from a [`HyperParams`](super::HyperParams) handle when given one.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaBelief {
    pub(crate) hp: AdamHparams,
    decoupled_decay: bool,
    rectify: bool,
    degenerated_to_sgd: bool,
}

super::adam_hyper_params!(AdaBelief);

/// Moments and step count of [`AdaBelief`].
#[derive(Clone)]
pub struct AdaBeliefState<const D: usize> {
    /// First moment.
    pub m: Tensor<D>,
    /// The belief (variance of the gradient around `m`).
    pub s: Tensor<D>,
    /// Steps taken.
    pub t: usize,
}

impl Optimizer for AdaBelief {
    type State<const D: usize> = AdaBeliefState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.hp.beta1(), self.hp.beta2);
        let (p, g) = decay(tensor, grad, lr, self.hp.weight_decay, self.decoupled_decay);
        let (m_prev, s_prev, t) = match state {
            None => (g.zeros_like(), g.zeros_like(), 1),
            Some(st) => (st.m, st.s, st.t + 1),
        };
        // timm: exp_avg.lerp_(grad, 1 - beta1)
        let m = m_prev.clone() + (g.clone() - m_prev) * (1.0 - b1);
        let r = g - m.clone();
        let s = s_prev * b2 + r.clone() * r * (1.0 - b2) + self.hp.eps;
        let tf = t as i32;
        let (bc1, bc2) = (1.0 - b1.powi(tf), 1.0 - b2.powi(tf));
        let p = if !self.rectify {
            let denom = s.clone().sqrt() / bc2.sqrt() + self.hp.eps;
            p - m.clone() / denom * (lr / bc1)
        } else {
            let beta2_t = b2.powi(tf);
            let sma_max = 2.0 / (1.0 - b2) - 1.0;
            let sma = sma_max - 2.0 * t as f64 * beta2_t / (1.0 - beta2_t);
            if sma >= 5.0 {
                let step = ((1.0 - beta2_t) * (sma - 4.0) / (sma_max - 4.0) * (sma - 2.0) / sma
                    * sma_max
                    / (sma_max - 2.0))
                    .sqrt()
                    / bc1;
                p - m.clone() / (s.clone().sqrt() + self.hp.eps) * (step * lr)
            } else if self.degenerated_to_sgd {
                p - m.clone() * (lr / bc1)
            } else {
                p
            }
        };
        (p, Some(AdaBeliefState { m, s, t }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdaBeliefState {
            m: state.m.to_device(device),
            s: state.s.to_device(device),
            t: state.t,
        }
    }
}

super::record_state!(AdaBeliefState {
    tensors: [m, s],
    counts: [t],
    floats: []
});
