//! What a training step watches besides the loss: a loss or gradient that is NaN or infinite
//! ([`NanPolicy`]) and a stop request ([`StopSignal`](super::StopSignal)), both turned into a
//! clean stop of burn-train's loop through its [`Interrupter`].
//!
//! | podium | PyTorch / Lightning |
//! |---|---|
//! | [`NanPolicy::Stop`] (default) | Lightning's `detect_anomaly` / `terminate_on_nan`: stop at the first non-finite loss |
//! | [`NanPolicy::Skip`] | `torch.amp.GradScaler.step`: `optimizer.step()` skipped when a gradient has an inf/NaN |

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::train::Interrupter;
use serde::{Deserialize, Serialize};

use super::stop::StopSignal;

/// What the [`Learner`](super::Learner) does when a training step's loss, or one of its
/// gradients, is NaN or infinite ([`LearnerConfig::nan_policy`](super::LearnerConfig::nan_policy);
/// recipe key `train.nan_policy`).
///
/// Both check the step's loss (the mean over the batch, before the backward pass) and every
/// gradient element (before clipping and the optimizer step), once per optimizer update: one
/// extra pass over the gradients and two scalar reads per step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NanPolicy {
    /// Stop training at the first non-finite loss or gradient, before its optimizer update, with
    /// [`PodiumError::NonFinite`](crate::PodiumError::NonFinite) naming the epoch and the step.
    /// The epoch is not checkpointed: the last complete epoch's checkpoints and the best ones
    /// stay as they were, and `resume` continues from them. The default.
    #[default]
    Stop,
    /// Skip the optimizer update of such a step (parameters, optimizer state and EMA unchanged),
    /// as `torch.amp.GradScaler` skips `optimizer.step()` on an inf/NaN gradient, and count it:
    /// `metrics.csv`'s `skipped_steps` column (per epoch, training rows) and
    /// [`RunInfo::skipped_steps`](super::RunInfo::skipped_steps) (`run.json`, the whole run).
    /// The learning-rate schedule still advances, and buffers the forward pass updates
    /// (BatchNorm running statistics) are not rolled back, as with `GradScaler`. With
    /// gradient accumulation, one such batch skips the update of its whole group. The epoch's
    /// mean training loss in `metrics.csv` includes the skipped batch's value (so it is NaN or
    /// infinite: the `skipped_steps` column says why); validation is unaffected.
    Skip,
}

/// Where the first non-finite value of a failed run was seen.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NonFiniteStep {
    pub(crate) epoch: usize,
    pub(crate) step: usize,
    pub(crate) what: &'static str,
    pub(crate) value: String,
}

#[derive(Debug, Default)]
struct State {
    /// The epoch (from 1) and the training step within it of the last training step.
    epoch: usize,
    step: usize,
    /// A validation step ran since the last training step: the next one starts an epoch.
    validating: bool,
    /// The first non-finite value of the optimizer update being accumulated.
    poisoned: Option<NonFiniteStep>,
    /// Optimizer updates skipped, by epoch.
    skipped: BTreeMap<usize, usize>,
    failure: Option<NonFiniteStep>,
    interrupted: Option<String>,
}

/// The per-run watcher shared by the [`Classification`](super::Classification) steps (which
/// report to it) and [`train`](super::train()) (which reads it after the run).
pub(crate) struct StepGuard {
    policy: NanPolicy,
    interrupter: Interrupter,
    stop: Option<StopSignal>,
    state: Mutex<State>,
}

impl std::fmt::Debug for StepGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepGuard")
            .field("policy", &self.policy)
            .field("stop", &self.stop)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl StepGuard {
    /// A guard for a run whose first epoch is `first_epoch`; `skipped` holds the counts of the
    /// epochs before it (a resumed run).
    pub(crate) fn new(
        policy: NanPolicy,
        interrupter: Interrupter,
        stop: Option<StopSignal>,
        first_epoch: usize,
        skipped: BTreeMap<usize, usize>,
    ) -> Arc<Self> {
        Arc::new(Self {
            policy,
            interrupter,
            stop,
            state: Mutex::new(State {
                epoch: first_epoch.saturating_sub(1),
                validating: true,
                skipped,
                ..State::default()
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the run through the interrupter when a stop was requested.
    fn poll_stop(&self) {
        let Some(stop) = &self.stop else { return };
        let Some(reason) = stop.reason() else { return };
        let mut state = self.state();
        if state.interrupted.is_none() {
            log::warn!("training interrupted ({reason}): the epoch under way is abandoned");
            self.interrupter
                .stop(Some(&format!("interrupted ({reason})")));
            state.interrupted = Some(reason);
        }
    }

    /// A training step ran with this (batch-mean) loss; `round` is the epoch's batch it trained
    /// a piece of on several devices (the step number then), `None` on one device.
    pub(crate) fn on_train_step(&self, loss: &Tensor<1>, round: Option<usize>) {
        self.poll_stop();
        let value = scalar(loss);
        let mut state = self.state();
        if std::mem::take(&mut state.validating) {
            state.epoch += 1;
            state.step = 0;
        }
        state.step = round.unwrap_or(state.step + 1);
        if !value.is_finite() && state.poisoned.is_none() {
            state.poisoned = Some(NonFiniteStep {
                epoch: state.epoch,
                step: state.step,
                what: "loss",
                value: format!("{value}"),
            });
        }
    }

    /// A validation step ran.
    pub(crate) fn on_valid_step(&self) {
        self.poll_stop();
        self.state().validating = true;
    }

    /// Whether the optimizer update with `grads` may be applied: not when the loss of one of its
    /// batches or one of `grads` is NaN or infinite (then the update is skipped and counted, or
    /// the run stopped, by the policy).
    pub(crate) fn allow_update<M: Module>(&self, module: &M, grads: &GradientsParams) -> bool {
        let mut state = self.state();
        if state.poisoned.is_none() && !grads_finite(module, grads) {
            state.poisoned = Some(NonFiniteStep {
                epoch: state.epoch,
                step: state.step,
                what: "gradient",
                value: "NaN or infinite".into(),
            });
        }
        let Some(bad) = state.poisoned.take() else {
            return true;
        };
        self.reject(&mut state, bad);
        false
    }

    /// An optimizer update the `f16` loss scaler skipped on overflowing gradients
    /// ([`super::precision`]): counted as skipped whatever the policy, as `GradScaler` skips it;
    /// unless a loss of its batches was non-finite, which the policy handles.
    pub(crate) fn skip_overflow(&self) {
        let mut state = self.state();
        match state.poisoned.take() {
            Some(bad) => self.reject(&mut state, bad),
            None => {
                let epoch = state.epoch;
                *state.skipped.entry(epoch).or_default() += 1;
            }
        }
    }

    /// Skips and counts, or stops the run at, the update poisoned by `bad`, by the policy.
    fn reject(&self, state: &mut State, bad: NonFiniteStep) {
        match self.policy {
            NanPolicy::Skip => {
                log::warn!(
                    "epoch {}, step {}: the {} is {}; optimizer update skipped (nan_policy = skip)",
                    bad.epoch,
                    bad.step,
                    bad.what,
                    bad.value
                );
                *state.skipped.entry(bad.epoch).or_default() += 1;
            }
            NanPolicy::Stop => {
                if state.failure.is_none() {
                    self.interrupter.stop(Some(&format!(
                        "the {} is {} at epoch {}, step {}",
                        bad.what, bad.value, bad.epoch, bad.step
                    )));
                    state.failure = Some(bad);
                }
            }
        }
    }

    /// Optimizer updates skipped in `epoch`.
    pub(crate) fn skipped_in(&self, epoch: usize) -> usize {
        self.state().skipped.get(&epoch).copied().unwrap_or(0)
    }

    /// Optimizer updates skipped over the run (resumed epochs included).
    pub(crate) fn skipped_total(&self) -> usize {
        self.state().skipped.values().sum()
    }

    /// The skipped updates by epoch.
    pub(crate) fn skipped(&self) -> BTreeMap<usize, usize> {
        self.state().skipped.clone()
    }

    /// The step that stopped the run under [`NanPolicy::Stop`].
    pub(crate) fn failure(&self) -> Option<NonFiniteStep> {
        self.state().failure.clone()
    }

    /// The stop request that ended the run, if one did.
    pub(crate) fn interrupted(&self) -> Option<String> {
        self.state().interrupted.clone()
    }
}

fn scalar(t: &Tensor<1>) -> f64 {
    t.clone()
        .try_into_vec_as::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f64::NAN)
}

/// Whether every element of every gradient of `module`'s parameters is finite: the sum over all
/// gradients of `0 * g` is 0, or NaN when one element is NaN or infinite (one device read).
fn grads_finite<M: Module>(module: &M, grads: &GradientsParams) -> bool {
    struct Probe<'a> {
        grads: &'a GradientsParams,
        sum: Option<Tensor<1>>,
    }
    impl ModuleVisitor for Probe<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let zero = (g * 0.0).sum();
                self.sum = Some(match self.sum.take() {
                    Some(s) => s + zero,
                    None => zero,
                });
            }
        }
    }
    let mut probe = Probe { grads, sum: None };
    module.visit(&mut probe);
    probe.sum.is_none_or(|s| scalar(&s).is_finite())
}
