//! [`Classification`]: wraps an [`ImageClassifier`] with its training objective so burn-train
//! can train and validate it.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

use std::any::Any;
use std::sync::{Arc, Mutex};

use burn::store::ModuleRecord;

use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};

use super::checkpoint::SaveGate;
use super::devices::DeviceShare;
use super::guard::StepGuard;
use super::precision::{Precision, SharedGradScaler};
use crate::average::ModelEma;
use crate::kernel::autocast::autocast;
use crate::loader::ClassificationBatch;
use crate::loss::{CrossEntropyLossConfig, LossConfig, Objective};
use crate::model::ImageClassifier;
use crate::optim::{ClipGrad, Sam, clip_grad_norm, clip_grad_value};

/// A classifier with its training objective (a [`LossConfig`] built for the training data).
///
/// It implements burn-train's [`TrainStep`] (forward, loss, backward; a batch mixed by the
/// loader trains with [`Objective::forward_mixed`]) and [`InferenceStep`] (forward and plain
/// cross-entropy, so validation losses compare across recipes). A
/// `burn::train::Learner<Classification<M>>` trains it.
#[derive(Module, Debug)]
pub struct Classification<M> {
    /// The network.
    pub model: M,
    #[module(skip)]
    objective: Objective,
    #[module(skip)]
    ema: Option<Arc<dyn EmaHandle>>,
    #[module(skip)]
    clip_grad: Option<ClipGrad>,
    #[module(skip)]
    sam: Option<Sam>,
    #[module(skip)]
    grad_scale: f64,
    #[module(skip)]
    guard: Option<Arc<StepGuard>>,
    #[module(skip)]
    share: Option<Arc<DeviceShare>>,
    #[module(skip)]
    precision: Precision,
    #[module(skip)]
    scaler: Option<Arc<SharedGradScaler>>,
    #[module(skip)]
    save_gate: Option<Arc<SaveGate>>,
}

/// An EMA of the weights shared between the training step (which updates it after each
/// optimizer step), validation (which runs it) and the checkpointer (which saves it); the
/// model type is erased so [`Classification`] can hold it.
pub trait EmaHandle: Send + Sync + std::fmt::Debug {
    /// Folds in the model after an optimizer step ([`ModelEma::step`]).
    ///
    /// # Panics
    /// If `model` is not of the EMA's model type.
    fn step_any(&self, model: &dyn Any);
    /// Logits of the averaged model.
    fn forward(&self, images: Tensor<4>) -> Tensor<2>;
    /// Keeps the record (wrapped as a [`Classification`], like the model checkpoints) of the
    /// averaged weights as the last validation saw them, as epoch `epoch`'s: called when that
    /// epoch's validation is complete, before the next epoch trains (burn-train saves
    /// checkpoints on other threads, later).
    fn keep_validated(&self, epoch: usize);
    /// The record kept for `epoch` ([`Self::keep_validated`]), for that epoch's checkpoint.
    fn validated_record(&self, epoch: usize) -> Option<ModuleRecord>;
}

/// A [`ModelEma`] with the copy of the weights the last validation ran.
#[derive(Debug)]
pub struct EmaCell<M> {
    ema: ModelEma<M>,
    validated: Option<(usize, M)>,
    /// The validated records of the last epochs, by epoch.
    kept: Vec<(usize, ModuleRecord)>,
}

impl<M: ImageClassifier> EmaCell<M> {
    /// Wraps an EMA for sharing.
    pub fn new(ema: ModelEma<M>) -> Mutex<Self> {
        Mutex::new(Self {
            ema,
            validated: None,
            kept: Vec::new(),
        })
    }
}

impl<M: ImageClassifier> EmaHandle for Mutex<EmaCell<M>> {
    fn step_any(&self, model: &dyn Any) {
        let model = model
            .downcast_ref::<M>()
            .expect("EmaHandle::step_any: the EMA's model type");
        self.lock().expect("ema lock").ema.step(model);
    }

    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut cell = self.lock().expect("ema lock");
        let updates = cell.ema.updates();
        if cell.validated.as_ref().is_none_or(|(u, _)| *u != updates) {
            // an independent copy: the checkpoint of this epoch must not follow later updates
            let snapshot = cell.ema.snapshot();
            cell.validated = Some((updates, snapshot));
        }
        cell.validated.as_ref().expect("just set").1.forward(images)
    }

    fn keep_validated(&self, epoch: usize) {
        let mut cell = self.lock().expect("ema lock");
        let Some(record) = cell
            .validated
            .as_ref()
            .map(|(_, m)| Classification::with_cross_entropy(m.clone()).into_record())
        else {
            return;
        };
        cell.kept.retain(|(e, _)| *e + 2 > epoch && *e != epoch);
        cell.kept.push((epoch, record));
    }

    fn validated_record(&self, epoch: usize) -> Option<ModuleRecord> {
        let cell = self.lock().expect("ema lock");
        cell.kept
            .iter()
            .find(|(e, _)| *e == epoch)
            .map(|(_, r)| r.clone())
    }
}

impl<M: ImageClassifier> Classification<M> {
    /// Wraps `model` with a training objective.
    pub fn new(model: M, objective: Objective) -> Self {
        Self {
            model,
            objective,
            ema: None,
            clip_grad: None,
            sam: None,
            grad_scale: 1.0,
            guard: None,
            share: None,
            precision: Precision::F32,
            scaler: None,
            save_gate: None,
        }
    }

    /// Scales each step's gradients by `1 / accumulation` (the reported loss is not scaled),
    /// so that burn-train's gradient accumulation, which sums the gradients of `accumulation`
    /// batches before one optimizer update, applies their mean: torch's
    /// `(loss / accumulation_steps).backward()`, timm's `--grad-accum-steps`.
    ///
    /// # Panics
    /// If `accumulation` is 0.
    pub fn with_grad_accumulation(mut self, accumulation: usize) -> Self {
        assert!(accumulation > 0, "gradient accumulation over 0 batches");
        self.grad_scale = 1.0 / accumulation as f64;
        self
    }

    /// Trains with sharpness-aware minimization: each step takes the gradient at the weights
    /// perturbed by [`Sam::perturb`] (a second forward and backward pass on the same batch), and
    /// the optimizer applies it to the unperturbed weights. The reported training loss is the
    /// first pass's. BatchNorm statistics are updated by both passes (davda54/sam's default).
    pub fn with_sam(mut self, sam: Option<Sam>) -> Self {
        self.sam = sam;
        self
    }

    /// Clips the gradients (torch's global norm or value) before every optimizer step.
    ///
    /// # Panics
    /// At the first optimizer step, if the clip value is invalid (check it with
    /// [`ClipGrad::validate`], as [`LearnerConfig::validate`](super::LearnerConfig::validate)
    /// does).
    pub fn with_clip_grad(mut self, clip_grad: Option<ClipGrad>) -> Self {
        self.clip_grad = clip_grad;
        self
    }

    /// Keeps an exponential moving average of the weights: updated after every optimizer step
    /// ([`ModelEma::step`]) and used by validation instead of the live weights.
    pub fn with_ema(mut self, ema: Arc<dyn EmaHandle>) -> Self {
        self.ema = Some(ema);
        self
    }

    /// Trains (and validates) in `precision` ([`super::precision`]): the forward passes run in
    /// its autocast region and, for `f16-mixed`, the loss is scaled by `scaler` (a fresh
    /// default [`GradScaler`](crate::optim::GradScaler) when `None`), the gradients unscaled
    /// before the checks, clipping and the optimizer, and overflowing updates skipped.
    pub fn with_precision(
        mut self,
        precision: Precision,
        scaler: Option<Arc<SharedGradScaler>>,
    ) -> Self {
        self.precision = precision;
        self.scaler = precision.scales_loss().then(|| {
            scaler.unwrap_or_else(|| {
                SharedGradScaler::new(
                    crate::optim::GradScalerConfig::new()
                        .init()
                        .expect("the default scaler config is valid"),
                )
            })
        });
        self
    }

    /// The loss scaler of an `f16-mixed` step, if any.
    pub fn grad_scaler(&self) -> Option<&Arc<SharedGradScaler>> {
        self.scaler.as_ref()
    }

    /// Waits on `gate` before each optimizer step: the optimizer checkpoint of the epoch before
    /// is written first ([`SaveGate`]).
    pub(crate) fn with_save_gate(mut self, gate: Arc<SaveGate>) -> Self {
        self.save_gate = Some(gate);
        self
    }

    /// Reports every step to `guard` (non-finite losses and gradients, stop requests).
    pub(crate) fn with_guard(mut self, guard: Arc<StepGuard>) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Trains one device's piece of each batch ([`LearnerConfig::devices`](super::LearnerConfig::devices)):
    /// its loss is also scaled by the piece's share of the batch, since burn-train sums the
    /// devices' gradients.
    pub(crate) fn with_device_share(mut self, share: Option<Arc<DeviceShare>>) -> Self {
        self.share = share;
        self
    }

    /// The EMA, if any.
    pub fn ema(&self) -> Option<&Arc<dyn EmaHandle>> {
        self.ema.as_ref()
    }

    /// Wraps `model` with plain cross-entropy.
    pub fn with_cross_entropy(model: M) -> Self {
        let objective = LossConfig::default()
            .init(&[], 0.0)
            .expect("plain cross-entropy needs no class counts");
        Self::new(model, objective)
    }

    /// The training objective.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// Logits and the training loss of a batch (mixed or not).
    pub fn forward_train(&self, batch: ClassificationBatch) -> ClassificationOutput {
        let logits = self.model.forward(batch.images);
        let loss = match &batch.mix {
            Some(mix) => self
                .objective
                .forward_mixed(logits.clone(), batch.targets.clone(), mix),
            None => self
                .objective
                .forward(logits.clone(), batch.targets.clone()),
        };
        ClassificationOutput::new(loss, logits, batch.targets)
    }

    /// Logits and the plain mean cross-entropy of a batch (with the EMA weights when an EMA is
    /// kept).
    pub fn forward_eval(&self, batch: ClassificationBatch) -> ClassificationOutput {
        let logits = match &self.ema {
            Some(ema) => ema.forward(batch.images),
            None => self.model.forward(batch.images),
        };
        let loss = plain_cross_entropy(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

fn plain_cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init()
        .expect("default config")
        .forward(logits, targets)
}

impl<M: ImageClassifier> TrainStep for Classification<M> {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> TrainOutput<ClassificationOutput> {
        // several devices: this device's piece of the batch, weighted by its share
        let (share, rows) = (self.share.as_deref(), batch.indices.len());
        let scale = self.grad_scale * share.map_or(1.0, |s| s.weight(rows));
        let round = share.map(DeviceShare::round);
        // a device's piece counts by its rows in the epoch's loss (burn-train's LossMetric
        // counts a loss tensor's length), as the batches of one device do when all are full
        let reported = |mut item: ClassificationOutput| {
            if share.is_some() {
                item.loss = item.loss.detach().repeat_dim(0, rows);
            }
            item
        };
        // mixed precision: the autocast dtype, and f16's loss scale
        let low = self.precision.autocast_dtype();
        let loss_scale = self.scaler.as_ref().map_or(1.0, |s| s.scale());
        let by = |factor: f64, loss: Tensor<1>| {
            if factor == 1.0 { loss } else { loss * factor }
        };
        let scaled = |loss: Tensor<1>| by(scale * loss_scale, loss);
        match self.sam {
            None => {
                let item = autocast(low, || self.forward_train(batch));
                if let Some(guard) = &self.guard {
                    guard.on_train_step(&item.loss, round);
                }
                let grads = scaled(item.loss.clone()).backward();
                TrainOutput::new(self, grads, reported(item))
            }
            Some(sam) => {
                let first = autocast(low, || self.forward_train(batch.clone()));
                if let Some(guard) = &self.guard {
                    guard.on_train_step(&first.loss, round);
                }
                let backward = by(loss_scale, first.loss.clone()).backward();
                let mut grads = GradientsParams::from_grads(backward, self);
                if let Some(scaler) = &self.scaler {
                    // inf/NaN here make the second pass's gradients non-finite: skipped too
                    scaler.unscale(self, &mut grads);
                }
                let perturbed = sam.perturb(self, &grads);
                let second = autocast(low, || perturbed.forward_train(batch));
                // keyed by the same parameter ids: the optimizer applies them to `self`
                TrainOutput::new(&perturbed, scaled(second.loss).backward(), reported(first))
            }
        }
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr_module: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        let mut grads = grads;
        // unscaled before the checks and clipping (torch's order); an overflow skips the update
        if let Some(scaler) = &self.scaler
            && !scaler.unscale_and_update(&self, &mut grads)
        {
            if let Some(guard) = &self.guard {
                guard.skip_overflow();
            }
            return self;
        }
        // checked before clipping, which would spread a NaN to every gradient
        if let Some(guard) = &self.guard
            && !guard.allow_update(&self, &grads)
        {
            return self;
        }
        match self.clip_grad {
            Some(ClipGrad::Norm { max_norm, norm }) => {
                clip_grad_norm(&self, &mut grads, max_norm, norm).expect("validated clip_grad");
            }
            Some(ClipGrad::Value { clip }) => {
                clip_grad_value(&self, &mut grads, clip).expect("validated clip_grad");
            }
            None => {}
        }
        if let Some(gate) = &self.save_gate {
            gate.wait();
        }
        let updated = optim.step(lr_module, self, grads);
        if let Some(ema) = &updated.ema {
            ema.step_any(&updated.model);
        }
        updated
    }
}

impl<M: ImageClassifier> InferenceStep for Classification<M> {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> ClassificationOutput {
        if let Some(guard) = &self.guard {
            guard.on_valid_step();
        }
        autocast(self.precision.autocast_dtype(), || self.forward_eval(batch))
    }
}
