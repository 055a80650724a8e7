//! Exponential moving averages of weights: timm's `ModelEmaV2` and `ModelEmaV3`, and the
//! TensorFlow-style warm-up.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;

use super::state::{State, rewrite};
use crate::error::{PodiumError, Result};

/// Configuration of a [`ModelEma`]: which EMA (timm's class) and its decay schedule, with
/// timm's defaults. [`Self::init`] starts the average at a model's weights.
#[derive(Config, Copy, Debug, PartialEq)]
pub enum ModelEmaConfig {
    /// timm `ModelEmaV2`: `ema = decay ema + (1 - decay) x` with a fixed decay.
    V2 {
        /// The decay (timm default 0.9999).
        decay: f64,
    },
    /// timm `ModelEmaV3`: `ema = lerp(ema, x, 1 - decay_t)`. Given the update count `t`
    /// (1, 2, ...), `s = max(0, t - update_after_step - 1)`; `s = 0` copies the model; with
    /// warm-up `decay_t = max(min(1 - (1 + s / warmup_gamma)^(-warmup_power), decay), min_decay)`,
    /// else `decay`. Without a count, `decay_t = decay` for every update.
    V3 {
        /// The target decay (timm default 0.9999).
        decay: f64,
        /// Use the power-law warm-up (crowsonkb's).
        use_warmup: bool,
        /// Warm-up gamma (timm default 1).
        warmup_gamma: f64,
        /// Warm-up power (timm default 2/3; 3/4 for shorter runs).
        warmup_power: f64,
        /// The floor of the warm-up decay (timm default 0).
        min_decay: f64,
        /// Updates to skip before averaging starts (timm default 0).
        update_after_step: usize,
    },
    /// TensorFlow's `ExponentialMovingAverage(num_updates)` convention:
    /// `decay_t = min(decay, (1 + t) / (10 + t))`, with the same lerp as V3.
    TfStyle {
        /// The target decay.
        decay: f64,
    },
}

impl ModelEmaConfig {
    /// timm `ModelEmaV3` with its defaults and the given decay.
    pub fn v3(decay: f64) -> Self {
        Self::V3 {
            decay,
            use_warmup: false,
            warmup_gamma: 1.0,
            warmup_power: 2.0 / 3.0,
            min_decay: 0.0,
            update_after_step: 0,
        }
    }

    fn decay(&self) -> f64 {
        match *self {
            Self::V2 { decay } | Self::V3 { decay, .. } | Self::TfStyle { decay } => decay,
        }
    }

    /// The decay of update `step` (1, 2, ...; `None` when the caller passes no count).
    pub fn decay_at(&self, step: Option<usize>) -> f64 {
        match (*self, step) {
            (Self::V2 { decay }, _) => decay,
            (Self::V3 { decay, .. }, None) => decay,
            (
                Self::V3 {
                    decay,
                    use_warmup,
                    warmup_gamma,
                    warmup_power,
                    min_decay,
                    update_after_step,
                },
                Some(t),
            ) => {
                let s = t.saturating_sub(update_after_step + 1);
                if s == 0 {
                    0.0
                } else if use_warmup {
                    (1.0 - (1.0 + s as f64 / warmup_gamma).powf(-warmup_power))
                        .min(decay)
                        .max(min_decay)
                } else {
                    decay
                }
            }
            (Self::TfStyle { decay }, t) => {
                let t = t.unwrap_or(1) as f64;
                decay.min((1.0 + t) / (10.0 + t))
            }
        }
    }

    /// Checks the decay and the warm-up values.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming `ema.decay` for a decay outside `[0, 1]`, `ema.warmup_gamma`
    /// for a warm-up gamma that is not `> 0`, `ema.min_decay` for a floor outside `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        let d = self.decay();
        if !(0.0..=1.0).contains(&d) {
            return Err(PodiumError::config("ema.decay", d, "must be in [0, 1]"));
        }
        if let Self::V3 {
            warmup_gamma,
            min_decay,
            ..
        } = *self
        {
            if warmup_gamma.is_nan() || warmup_gamma <= 0.0 {
                return Err(PodiumError::config(
                    "ema.warmup_gamma",
                    warmup_gamma,
                    "must be > 0",
                ));
            }
            if !(0.0..=1.0).contains(&min_decay) {
                return Err(PodiumError::config(
                    "ema.min_decay",
                    min_decay,
                    "must be in [0, 1]",
                ));
            }
        }
        Ok(())
    }
}

/// `torch.lerp(a, b, w)`: `a + w (b - a)` for `w < 0.5`, `b - (b - a)(1 - w)` otherwise.
fn lerp(a: Tensor<1>, b: Tensor<1>, w: f64) -> Tensor<1> {
    if w < 0.5 {
        a.clone() + (b - a) * w
    } else {
        b.clone() - (b - a) * (1.0 - w)
    }
}

/// An exponential moving average of a model's weights (see [`ModelEmaConfig`], which builds it).
#[derive(Debug)]
pub struct ModelEma<M> {
    ema: M,
    decay: ModelEmaConfig,
    last_decay: Option<f64>,
    updates: usize,
}

impl ModelEmaConfig {
    /// Checks the values and starts the average at `model`'s current weights (an independent
    /// copy without autodiff, BatchNorm statistics included).
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init<M: Module>(&self, model: &M) -> Result<ModelEma<M>> {
        self.validate()?;
        Ok(ModelEma {
            ema: model.valid(),
            decay: *self,
            last_decay: None,
            updates: 0,
        })
    }
}

impl<M: Module> ModelEma<M> {
    /// Folds the model's current weights in. `step` is the update count (1, 2, ..., what timm's
    /// `train.py` passes); `None` uses the fixed decay. Returns the decay used.
    pub fn update(&mut self, model: &M, step: Option<usize>) -> f64 {
        let d = self.decay.decay_at(step);
        let state = State::of(model);
        let v2 = matches!(self.decay, ModelEmaConfig::V2 { .. });
        let ema = self.ema.clone();
        self.ema = rewrite(ema, &state, &|avg, x, _buffer| {
            if v2 {
                crate::kernel::axpby(d, avg, 1.0 - d, x)
            } else {
                lerp(avg, x, 1.0 - d)
            }
        });
        self.last_decay = Some(d);
        d
    }

    /// Counts an optimizer update and folds the model in with that count (what timm's
    /// `train.py` does after each optimizer step). Returns the decay used.
    pub fn step(&mut self, model: &M) -> f64 {
        self.updates += 1;
        self.update(model, Some(self.updates))
    }

    /// Sets the update count (a resumed run: the averaged weights come from a checkpoint taken
    /// after `updates` optimizer steps, and the decay warm-up continues from there).
    pub fn with_updates(mut self, updates: usize) -> Self {
        self.updates = updates;
        self
    }

    /// Number of [`Self::step`] calls.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// An independent copy of the averaged model (its BatchNorm statistics no longer follow
    /// later updates), for checkpoints.
    pub fn snapshot(&self) -> M {
        self.ema.valid()
    }

    /// The averaged model (no autodiff), for validation, inference or saving.
    pub fn model(&self) -> &M {
        &self.ema
    }

    /// Takes the averaged model.
    pub fn into_model(self) -> M {
        self.ema
    }

    /// The decay of the last update.
    pub fn last_decay(&self) -> Option<f64> {
        self.last_decay
    }
}
