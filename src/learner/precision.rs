//! Mixed-precision training in the Learner ([`LearnerConfig::precision`](super::LearnerConfig::precision),
//! recipe key `train.precision`): torch's `torch.autocast` + `torch.amp.GradScaler` contract,
//! which Burn does not have (tracel-ai/burn issue 5696).
//!
//! | podium | PyTorch | Lightning |
//! |---|---|---|
//! | `precision = "f32"` (default) | no autocast | `precision="32-true"` |
//! | `precision = "f16-mixed"` | `torch.autocast(device_type, dtype=torch.float16)` + `torch.amp.GradScaler()` | `precision="16-mixed"` |
//! | `precision = "bf16-mixed"` | `torch.autocast(device_type, dtype=torch.bfloat16)`, no scaler | `precision="bf16-mixed"` |
//!
//! What runs in which dtype: the parameters (master weights), their gradients and the optimizer
//! state stay `f32`; the forward and backward passes of the convolutions and of the heads'
//! linear layers run in the low dtype ([`crate::kernel::autocast`]); BatchNorm, activations,
//! pooling, softmax, the losses and every reduction run in `f32`. Validation runs under the
//! same autocast (as Lightning's precision plugin does); [`Fitted`](super::Fitted)'s inference
//! afterwards runs in `f32`.
//!
//! With `f16-mixed` each training step backpropagates `loss * S` ([`GradScaler`]); the
//! gradients are unscaled before the non-finite check, clipping and the optimizer (torch's
//! order), and an update whose gradients overflowed is skipped, counted like a
//! [`NanPolicy::Skip`](super::NanPolicy::Skip) step (`metrics.csv`'s `skipped_steps`, whatever
//! the `nan_policy`: an overflow is how the scale finds its level, not a divergence) and `S`
//! halved; `S` doubles after 2,000 good updates. A non-finite *loss* (the forward pass
//! overflowed) is still the `nan_policy`'s. With SAM the first pass's gradients are unscaled
//! before the perturbation; with gradient accumulation every batch of a group is scaled by the
//! same `S`, and the group's summed gradients are unscaled once. The scaler's state is saved
//! beside each epoch's checkpoint (`checkpoint/scaler-N.json`, written before `model-N.bpk`) and
//! restored on resume. `bf16` has `f32`'s exponent range and needs no scaler (as in torch).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::store::ModuleRecord;
use burn::tensor::{DType, Device, FloatDType};
use burn::train::checkpoint::{Checkpointer, CheckpointerError};
use serde::{Deserialize, Serialize};

use super::fitted::checkpoint_dir;
use crate::error::{PodiumError, Result};
use crate::optim::{GradScaler, GradScalerConfig, GradScalerState};
use crate::util::write_atomic;

/// The arithmetic precision of training ([`LearnerConfig::precision`](super::LearnerConfig::precision);
/// see the [module docs](self)). Serialized as `"f32"`, `"f16-mixed"`, `"bf16-mixed"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    /// Everything in `f32` (the default).
    #[default]
    #[serde(rename = "f32")]
    F32,
    /// Convolutions and linear layers in `f16` under autocast, dynamic loss scaling
    /// (Lightning's `"16-mixed"`).
    #[serde(rename = "f16-mixed")]
    F16Mixed,
    /// Convolutions and linear layers in `bf16` under autocast, no loss scaling (Lightning's
    /// `"bf16-mixed"`).
    #[serde(rename = "bf16-mixed")]
    Bf16Mixed,
}

impl Precision {
    /// Every name, as serialized.
    pub const NAMES: [&str; 3] = ["f32", "f16-mixed", "bf16-mixed"];

    /// The name (`"f32"`, `"f16-mixed"`, `"bf16-mixed"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16Mixed => "f16-mixed",
            Self::Bf16Mixed => "bf16-mixed",
        }
    }

    /// The dtype of the autocast region a training step runs in (`None` for `f32`).
    pub fn autocast_dtype(self) -> Option<FloatDType> {
        match self {
            Self::F32 => None,
            Self::F16Mixed => Some(FloatDType::F16),
            Self::Bf16Mixed => Some(FloatDType::BF16),
        }
    }

    /// Whether training needs a [`GradScaler`] (`f16-mixed` only).
    pub fn scales_loss(self) -> bool {
        self == Self::F16Mixed
    }

    /// Checks that `device` computes in the low dtype (Burn's
    /// [`Device::supports_dtype`]: storage and arithmetic).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`precision`, the value) when it does not: bf16 on wgpu (WGSL has
    /// no bf16 type), f16 on a wgpu adapter without `shader-f16`.
    pub fn check_device(self, device: &Device) -> Result<()> {
        let Some(dtype) = self.autocast_dtype() else {
            return Ok(());
        };
        if device.supports_dtype(DType::from(dtype)) {
            return Ok(());
        }
        Err(PodiumError::config(
            "precision",
            self,
            format!(
                "the device {device:?} has no {dtype:?} arithmetic (Burn's \
                 Device::supports_dtype); train in \"f32\" there, or use another precision \
                 or device (README \"Mixed precision\")"
            ),
        ))
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = PodiumError;

    /// Parses a serialized name.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`precision`) for any other string, listing the names.
    fn from_str(s: &str) -> Result<Self> {
        [Self::F32, Self::F16Mixed, Self::Bf16Mixed]
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                PodiumError::config(
                    "precision",
                    format!("{s:?}"),
                    format!("must be one of {}", Self::NAMES.join(", ")),
                )
            })
    }
}

#[derive(Debug)]
struct ScalerState {
    scaler: GradScaler,
    /// The state at the end of the last epochs' training, by epoch, for their checkpoints.
    kept: Vec<(usize, GradScalerState)>,
}

/// A [`GradScaler`] shared by a run's training steps (which scale, unscale and update it) and
/// its checkpointer (which saves its state per epoch).
#[derive(Debug)]
pub struct SharedGradScaler {
    state: Mutex<ScalerState>,
}

impl SharedGradScaler {
    /// Shares `scaler`.
    pub fn new(scaler: GradScaler) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(ScalerState {
                scaler,
                kept: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScalerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current scale `S`.
    pub fn scale(&self) -> f64 {
        self.lock().scaler.scale()
    }

    /// The current state.
    pub fn state(&self) -> GradScalerState {
        self.lock().scaler.state()
    }

    /// [`GradScaler::unscale`] alone (SAM's first pass): the scale is not updated.
    pub fn unscale<M: Module>(&self, module: &M, grads: &mut GradientsParams) -> bool {
        self.lock().scaler.unscale(module, grads)
    }

    /// [`GradScaler::unscale`], then [`GradScaler::update`] with its answer: whether the
    /// optimizer update may be applied.
    pub fn unscale_and_update<M: Module>(&self, module: &M, grads: &mut GradientsParams) -> bool {
        let mut state = self.lock();
        let finite = state.scaler.unscale(module, grads);
        let before = state.scaler.scale();
        let after = state.scaler.update(finite);
        if !finite {
            log::info!(
                "f16 gradients overflowed at loss scale {before}: optimizer update skipped, \
                 scale now {after}"
            );
        }
        finite
    }

    /// Keeps the current state as the one of `epoch`'s checkpoint (called when the epoch's
    /// training is over; checkpoints are saved later, on other threads).
    pub(crate) fn keep_epoch(&self, epoch: usize) {
        let mut state = self.lock();
        let now = state.scaler.state();
        state.kept.retain(|(e, _)| *e + 2 > epoch && *e != epoch);
        state.kept.push((epoch, now));
    }

    fn kept(&self, epoch: usize) -> Option<GradScalerState> {
        self.lock()
            .kept
            .iter()
            .find(|(e, _)| *e == epoch)
            .map(|(_, s)| *s)
    }
}

/// The file of a run's loss-scaler state after `epoch`: `checkpoint/scaler-{epoch}.json`
/// (`f16-mixed` runs only).
pub fn scaler_file(run_dir: &Path, epoch: usize) -> PathBuf {
    checkpoint_dir(run_dir).join(format!("scaler-{epoch}.json"))
}

/// Reads a [`GradScalerState`] file.
///
/// # Errors
/// [`PodiumError::Io`] if it cannot be read, [`PodiumError::Format`] if it is not a state.
pub fn read_scaler_state(path: &Path) -> Result<GradScalerState> {
    let text = std::fs::read_to_string(path).map_err(|e| PodiumError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| PodiumError::format(path, e.to_string()))
}

/// The scaler of a run in `precision`: `None` unless it scales the loss; a fresh one at the
/// start, the state saved with epoch `resume_epoch` when resuming.
pub(crate) fn run_grad_scaler(
    precision: Precision,
    run_dir: &Path,
    resume_epoch: usize,
) -> Result<Option<Arc<SharedGradScaler>>> {
    if !precision.scales_loss() {
        return Ok(None);
    }
    let mut scaler = GradScalerConfig::new().init()?;
    if resume_epoch > 0 {
        let path = scaler_file(run_dir, resume_epoch);
        let state = read_scaler_state(&path)?;
        scaler
            .load_state(state)
            .map_err(|e| PodiumError::format(&path, e.to_string()))?;
    }
    Ok(Some(SharedGradScaler::new(scaler)))
}

/// A model checkpointer that also writes the loss scaler's state of each saved epoch
/// ([`scaler_file`], before the model file, so a model checkpoint never lacks it) and deletes it
/// with the model file.
pub(crate) struct ScalerCheckpointer<C> {
    inner: C,
    run_dir: PathBuf,
    scaler: Option<Arc<SharedGradScaler>>,
}

impl<C> ScalerCheckpointer<C> {
    /// `inner` plus the state files of `scaler` (none without one).
    pub(crate) fn new(inner: C, run_dir: &Path, scaler: Option<Arc<SharedGradScaler>>) -> Self {
        Self {
            inner,
            run_dir: run_dir.to_path_buf(),
            scaler,
        }
    }
}

impl<C: Checkpointer<ModuleRecord>> Checkpointer<ModuleRecord> for ScalerCheckpointer<C> {
    fn save(&self, epoch: usize, record: ModuleRecord) -> Result<(), CheckpointerError> {
        if let Some(scaler) = &self.scaler {
            let state = scaler.kept(epoch).unwrap_or_else(|| scaler.state());
            let json = serde_json::to_string(&state).expect("a scaler state serializes");
            write_atomic(&scaler_file(&self.run_dir, epoch), json.as_bytes())
                .map_err(|e| CheckpointerError::Unknown(e.to_string()))?;
        }
        self.inner.save(epoch, record)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        self.inner.delete(epoch)?;
        let path = scaler_file(&self.run_dir, epoch);
        if path.exists() {
            std::fs::remove_file(path).map_err(CheckpointerError::IOError)?;
        }
        Ok(())
    }

    fn restore(&self, epoch: usize) -> Result<ModuleRecord, CheckpointerError> {
        self.inner.restore(epoch)
    }
}
