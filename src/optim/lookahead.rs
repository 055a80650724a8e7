//! Lookahead (Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back") over any
//! optimizer, with timm's behaviour or the paper's initialisation: [`LookaheadConfig`] and
//! [`Lookahead`].

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

use crate::error::{PodiumError, Result};

/// Configuration of [`Lookahead`], with timm's defaults (`timm.optim.Lookahead(base_optimizer,
/// alpha=0.5, k=6)`; timm's `lookahead_<name>` wraps the named optimizer in it).
#[derive(Config, Debug, PartialEq)]
pub struct LookaheadConfig {
    /// Slow-weight step, in `[0, 1]`. Default 0.5.
    #[config(default = 0.5)]
    pub alpha: f64,
    /// Sync period in steps, at least 1. Default 6.
    #[config(default = 6)]
    pub k: usize,
    /// Start the slow weights at the initial weights, as the paper does (timm creates them at the
    /// first sync as a copy of the fast ones). Default false.
    #[config(default = false)]
    pub paper_init: bool,
}

impl LookaheadConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`alpha`, `k`) for `alpha` outside `[0, 1]` or `k = 0`.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(PodiumError::config(
                "alpha",
                self.alpha,
                "must be in [0, 1]",
            ));
        }
        if self.k == 0 {
            return Err(PodiumError::config("k", 0, "must be at least 1"));
        }
        Ok(())
    }

    /// Checks the values and wraps `base`.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init<O: Optimizer>(&self, base: O) -> Result<Lookahead<O>> {
        self.validate()?;
        Ok(Lookahead {
            base,
            alpha: self.alpha,
            k: self.k,
            paper_init: self.paper_init,
        })
    }
}

/// Lookahead over `base`: every `k`-th step, `slow = slow + alpha (fast - slow)` and
/// `fast = slow`. With timm's behaviour (`paper_init = false`) the slow weights are created at
/// the first sync as a copy of the fast ones (so that sync changes nothing); with the paper's
/// (`true`) they start at the initial weights. Built by [`LookaheadConfig::init`]; Ranger is
/// Lookahead over [`RAdam`](super::RAdam) ([`RangerConfig`](super::RangerConfig)).
#[derive(Clone, Debug)]
pub struct Lookahead<O> {
    base: O,
    alpha: f64,
    k: usize,
    paper_init: bool,
}

/// State of [`Lookahead`]: the base optimizer's state, the slow weights and the step count.
#[derive(Clone)]
pub struct LookaheadState<S, const D: usize> {
    /// The base optimizer's state.
    pub base: Option<S>,
    /// The slow weights.
    pub slow: Option<Tensor<D>>,
    /// Steps taken.
    pub step: usize,
}

impl<S: RecordState + Clone, const D: usize> RecordState for LookaheadState<S, D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        if let Some(base) = &self.base {
            base.state_flatten(&format!("{prefix}.base"), out);
        }
        if let Some(slow) = &self.slow {
            out.push_tensor(prefix, "slow", slow.to_data());
        }
        out.push_scalar(prefix, "step", (self.step as u64).into());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let base_prefix = format!("{prefix}.base");
        let base = if src.has_under(&base_prefix) {
            Some(S::state_unflatten(&base_prefix, src, device)?)
        } else {
            None
        };
        let slow = src
            .take_tensor(prefix, "slow")
            .map(|d| Tensor::from_data(d, device));
        let step = u64::try_from(src.take_scalar(prefix, "step")?).ok()? as usize;
        Some(Self { base, slow, step })
    }
}

impl<O: Optimizer> Optimizer for Lookahead<O> {
    type State<const D: usize> = LookaheadState<O::State<D>, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (base, mut slow, step) = match state {
            Some(s) => (s.base, s.slow, s.step),
            None => (None, None, 0),
        };
        if self.paper_init && slow.is_none() {
            slow = Some(tensor.clone());
        }
        let (mut fast, base) = self.base.step(lr, tensor, grad, base);
        let step = step + 1;
        if step % self.k == 0 {
            let s = slow.unwrap_or_else(|| fast.clone());
            let s = s.clone() + (fast - s) * self.alpha;
            fast = s.clone();
            slow = Some(s);
        }
        (fast, Some(LookaheadState { base, slow, step }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        LookaheadState {
            base: state.base.map(|b| O::to_device(b, device)),
            slow: state.slow.map(|s| s.to_device(device)),
            step: state.step,
        }
    }
}
