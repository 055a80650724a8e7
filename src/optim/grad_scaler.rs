//! Dynamic loss scaling for `f16` mixed precision: [`GradScaler`], `torch.amp.GradScaler`'s
//! algorithm.
//!
//! `f16` holds magnitudes from about `6e-8` (subnormal) to `65504`; the gradients of a network
//! trained in `f16` are often smaller than its smallest value and would flush to zero. So the
//! loss is multiplied by a large *scale* `S` before the backward pass (every gradient is then
//! `S` times larger), the gradients are divided by `S` again before anything reads them
//! (clipping, the optimizer), and `S` adapts: an update whose gradients hold an inf or NaN (the
//! scaled gradients overflowed `f16`) is skipped and `S` shrinks; after `growth_interval`
//! consecutive good updates `S` grows.
//!
//! | step | podium | torch |
//! |---|---|---|
//! | configuration | [`GradScalerConfig`] `{ init_scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000 }` | `GradScaler(init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000)` |
//! | scale the loss | [`GradScaler::scale_loss`]: `loss * S` | `scaler.scale(loss)` |
//! | unscale, check | [`GradScaler::unscale`]: every gradient `* (1 / S)` (the reciprocal rounded to `f32`); `false` when one element is inf/NaN | `scaler.unscale_(optimizer)` (`found_inf`) |
//! | skip | the caller skips the optimizer step when [`GradScaler::unscale`] says `false` | `scaler.step(optimizer)` |
//! | update | [`GradScaler::update`]: inf/NaN: `S *= backoff_factor`, tracker 0; else tracker + 1, and at `growth_interval`: `S *= growth_factor` (kept only if finite in `f32`), tracker 0 | `scaler.update()` (`_amp_update_scale_`) |
//! | state | [`GradScalerState`] `{ scale, growth_tracker }` (serde) | `scaler.state_dict()` (`scale`, `_growth_tracker`) |
//!
//! The scale is kept as torch keeps it, an `f32` value (held here in an `f64`): with the default
//! factors every scale is a power of two and the unscaled gradients are exact.

use burn::config::Config;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::clip::for_each_grad;
use crate::error::{PodiumError, Result};

/// The settings of a [`GradScaler`], torch's `GradScaler` defaults.
#[derive(Config, Debug, PartialEq)]
pub struct GradScalerConfig {
    /// The first scale `S` (torch's `init_scale`, `2^16`); positive and finite in `f32`.
    #[config(default = 65536.0)]
    pub init_scale: f64,
    /// The factor `S` grows by after `growth_interval` good updates in a row; `> 1`.
    #[config(default = 2.0)]
    pub growth_factor: f64,
    /// The factor `S` shrinks by on an update with inf/NaN gradients; in `(0, 1)`.
    #[config(default = 0.5)]
    pub backoff_factor: f64,
    /// Consecutive updates without inf/NaN gradients before `S` grows; at least 1.
    #[config(default = 2000)]
    pub growth_interval: usize,
}

impl GradScalerConfig {
    /// Checks the values (torch's `GradScaler` asserts the same).
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key at fault.
    pub fn validate(&self) -> Result<()> {
        if !(self.init_scale > 0.0 && (self.init_scale as f32).is_finite()) {
            return Err(PodiumError::config(
                "init_scale",
                self.init_scale,
                "must be positive and finite in f32",
            ));
        }
        if !(self.growth_factor > 1.0 && self.growth_factor.is_finite()) {
            return Err(PodiumError::config(
                "growth_factor",
                self.growth_factor,
                "must be a finite number > 1",
            ));
        }
        if !(self.backoff_factor > 0.0 && self.backoff_factor < 1.0) {
            return Err(PodiumError::config(
                "backoff_factor",
                self.backoff_factor,
                "must be in (0, 1)",
            ));
        }
        if self.growth_interval == 0 {
            return Err(PodiumError::config(
                "growth_interval",
                0,
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// A scaler at `init_scale`.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self) -> Result<GradScaler> {
        self.validate()?;
        Ok(GradScaler {
            config: self.clone(),
            state: GradScalerState {
                scale: f64::from(self.init_scale as f32),
                growth_tracker: 0,
            },
        })
    }
}

/// What a [`GradScaler`] carries from one update to the next (torch's `state_dict()`), saved
/// in the Learner's checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradScalerState {
    /// The current scale `S`.
    pub scale: f64,
    /// Consecutive updates without inf/NaN gradients since `S` last changed.
    pub growth_tracker: usize,
}

/// torch's dynamic loss scaler (see the [module docs](self)); build it with
/// [`GradScalerConfig::init`].
#[derive(Clone, Debug, PartialEq)]
pub struct GradScaler {
    config: GradScalerConfig,
    state: GradScalerState,
}

impl GradScaler {
    /// The current scale `S`.
    pub fn scale(&self) -> f64 {
        self.state.scale
    }

    /// The settings.
    pub fn config(&self) -> &GradScalerConfig {
        &self.config
    }

    /// The state to save.
    pub fn state(&self) -> GradScalerState {
        self.state
    }

    /// Restores a saved state (torch's `load_state_dict`).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`scale`, `growth_tracker`) for a scale that is not positive and
    /// finite, or a tracker at or beyond `growth_interval`.
    pub fn load_state(&mut self, state: GradScalerState) -> Result<()> {
        if !(state.scale > 0.0 && (state.scale as f32).is_finite()) {
            return Err(PodiumError::config(
                "scale",
                state.scale,
                "must be positive and finite in f32",
            ));
        }
        if state.growth_tracker >= self.config.growth_interval {
            return Err(PodiumError::config(
                "growth_tracker",
                state.growth_tracker,
                format!(
                    "must be below growth_interval ({})",
                    self.config.growth_interval
                ),
            ));
        }
        self.state = state;
        Ok(())
    }

    /// `loss * S` (`scaler.scale(loss)`): backpropagate this instead of the loss.
    pub fn scale_loss<const D: usize>(&self, loss: Tensor<D>) -> Tensor<D> {
        loss * self.state.scale
    }

    /// Divides every gradient of `module`'s parameters in `grads` by `S` (a multiplication by
    /// `1 / S` rounded to `f32`, as torch's `unscale_`), and says whether every element is finite
    /// afterwards (one device read). When it says `false` the optimizer step must be skipped;
    /// either way call [`Self::update`] with its answer after the step.
    pub fn unscale<M: Module>(&self, module: &M, grads: &mut GradientsParams) -> bool {
        let inv = f64::from((1.0 / self.state.scale) as f32);
        let mut probe: Option<Tensor<1>> = None;
        for_each_grad(module, grads, &mut |_, g| {
            let g = g * inv;
            let zero = (g.clone() * 0.0).sum();
            probe = Some(match probe.take() {
                Some(p) => {
                    let device = p.device();
                    p + zero.to_device(&device)
                }
                None => zero,
            });
            g
        });
        probe.is_none_or(|p| {
            p.try_into_vec_as::<f64>()
                .ok()
                .and_then(|v| v.first().copied())
                .is_some_and(f64::is_finite)
        })
    }

    /// torch's `update()` after an optimizer step whose gradients were `finite` (the answer of
    /// [`Self::unscale`]): on inf/NaN `S *= backoff_factor` and the tracker restarts; else the
    /// tracker counts the update and, reaching `growth_interval`, restarts with
    /// `S *= growth_factor` (unless that overflows `f32`). Returns the new scale.
    pub fn update(&mut self, finite: bool) -> f64 {
        let s = &mut self.state;
        if !finite {
            s.scale = f64::from((s.scale * self.config.backoff_factor) as f32);
            s.growth_tracker = 0;
        } else {
            s.growth_tracker += 1;
            if s.growth_tracker == self.config.growth_interval {
                let grown = (s.scale * self.config.growth_factor) as f32;
                if grown.is_finite() {
                    s.scale = f64::from(grown);
                }
                s.growth_tracker = 0;
            }
        }
        s.scale
    }
}
