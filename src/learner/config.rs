//! [`LearnerConfig`]: one serializable config for a whole training recipe.

use burn::config::Config;

use super::guard::NanPolicy;
use super::monitor::{EarlyStoppingConfig, Monitor};
use super::precision::Precision;
use super::renderer::ProgressMode;
use crate::augment::{Normalize, PipelineConfig};
use crate::average::ModelEmaConfig;
use crate::data::CorruptPolicy;
use crate::error::{PodiumError, Result};
use crate::loss::LossConfig;
use crate::mix::MixupConfig;
use crate::optim::{ClipGrad, OptimizerConfig, SamConfig};
use crate::sample::SamplerConfig;
use crate::schedule::ScheduleConfig;

/// Everything a classification run needs besides the model and the data, as one serializable
/// config (`LearnerConfig::save` / `LearnerConfig::load` write and read JSON).
#[derive(Config, Debug)]
pub struct LearnerConfig {
    /// Number of epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Gradient accumulation: one optimizer update every `grad_accumulation` training batches,
    /// with the mean of their gradients (torch's `(loss / steps).backward()`, timm's
    /// `--grad-accum-steps`): an effective batch of `batch_size * grad_accumulation`. The
    /// schedule counts optimizer updates; the last group of an epoch may be smaller. Default 1.
    #[config(default = 1)]
    pub grad_accumulation: usize,
    /// Batch size for training and validation.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Base (peak) learning rate.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Discriminative learning rates (fastai's `slice(lr_min, lr)`): the model's first layer
    /// group ([`ImageClassifier::layer_groups`](crate::model::ImageClassifier::layer_groups))
    /// peaks at `lr_min`, the head at `lr`, the groups between in geometric progression
    /// ([`even_mults`](crate::model::even_mults)). `None` trains every parameter at `lr`.
    pub lr_min: Option<f64>,
    /// The optimizer (default AdamW with torch's defaults).
    #[config(default = "OptimizerConfig::default()")]
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule (default cosine, no warm-up), peaking at `lr` over the run.
    #[config(default = "ScheduleConfig::default()")]
    pub schedule: ScheduleConfig,
    /// The training loss (default plain cross-entropy). Validation always reports plain
    /// cross-entropy.
    #[config(default = "LossConfig::default()")]
    pub loss: LossConfig,
    /// Label smoothing `eps` in `[0, 1)`, set once for the run (torch's `label_smoothing`,
    /// timm's `--smoothing`; default 0): the target is `(1 - eps) onehot + eps / C`. The
    /// Learner routes it: without mixing to the loss; with mixing to the mixer's soft targets
    /// (timm's `Mixup(label_smoothing=...)`) when the loss trains on them (unweighted
    /// cross-entropy, Poly-1), else to the loss, which then mixes its two smoothed terms the
    /// fastai way. Focal and class-balanced losses take none.
    #[config(default = 0.0)]
    pub label_smoothing: f64,
    /// Batch mixing (mixup / CutMix, timm's `Mixup`) over the data's classes; `None` trains on
    /// plain batches. With mixing, the batch size must be even, and the last smaller batch of
    /// each epoch is dropped.
    pub mixup: Option<MixupConfig>,
    /// Training augmentation ([`crate::augment`]): a pipeline applied to each decoded training
    /// image with a per-sample seed derived from the run seed; validation images are not
    /// augmented. `None` trains on the images as decoded. AugMix splits are for custom loops
    /// with [`JsdCrossEntropy`](crate::loss::JsdCrossEntropy) and are rejected here.
    pub augment: Option<PipelineConfig>,
    /// Sharpness-aware minimization (SAM, or ASAM with `adaptive`): two forward/backward passes
    /// per step ([`Sam`](crate::optim::Sam)); `None` trains plainly.
    pub sam: Option<SamConfig>,
    /// Gradient clipping before each optimizer step (torch's global norm or value); `None`
    /// leaves the gradients as they are.
    pub clip_grad: Option<ClipGrad>,
    /// An exponential moving average of the weights (timm's ModelEmaV2/V3), updated after every
    /// optimizer step; validation, the best-checkpoint choice and the returned model then use the
    /// averaged weights, and each checkpoint gets an `ema-N.bpk` beside it.
    pub ema: Option<ModelEmaConfig>,
    /// The training sampler (default: every item once per epoch, shuffled); class-aware and
    /// progressively balanced samplers fight class imbalance ([`crate::sample`]).
    #[config(default = "SamplerConfig::Shuffle")]
    pub sampler: SamplerConfig,
    /// The run seed: model initialisation (through [`Learner::new`](super::Learner::new)),
    /// shuffling and dropout derive from it, so a CPU run with the same seed gives the same
    /// metrics.
    #[config(default = 42)]
    pub seed: u64,
    /// Early stopping; `None` trains every epoch.
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Number of best checkpoints kept (by the monitored metric), besides the last one; more
    /// than one lets [`Fitted::average_best`](super::Fitted::average_best) average them.
    #[config(default = 1)]
    pub keep_best: usize,
    /// The metric that selects the best checkpoint (and early stopping's metric).
    #[config(default = "Monitor::ValidLoss")]
    pub monitor: Monitor,
    /// The run directory: checkpoints, `metrics.csv`, `config.json`, burn-train's logs.
    #[config(default = "String::from(\"runs/podium\")")]
    pub run_dir: String,
    /// Continue the run in [`Self::run_dir`] from its last complete epoch (Lightning's
    /// `ckpt_path="last"`, timm's `--resume`; see [`crate::learner`]'s resume section) instead
    /// of starting one; a directory without a run starts from the beginning. Off, a directory
    /// that holds a run is an error, never overwritten. Not part of the run's identity: it,
    /// `epochs`, `progress`, `num_workers`, `nan_policy`, `devices` and `run_dir` (a moved run) may change between the
    /// interrupted run and its resumption; every other key must be the same.
    #[config(default = false)]
    pub resume: bool,
    /// Decoding threads (0: rayon's global pool).
    #[config(default = 0)]
    pub num_workers: usize,
    /// Drop the last, smaller training batch of each epoch.
    #[config(default = true)]
    pub drop_last: bool,
    /// Input normalization; `None` takes the training pipeline's `normalize`
    /// ([`PipelineConfig::normalization`]) when it has one, else estimates per-channel mean and
    /// std from the training data. Validation, `run.json` and inference use it; a value that
    /// differs from the pipeline's `normalize` is an error.
    pub normalize: Option<Normalize>,
    /// What to do with image files that do not decode: checked before training starts, and
    /// applied by the loaders to files that break mid-run
    /// ([`ImageLoader::corrupt_images`](crate::loader::ImageLoader::corrupt_images)).
    #[config(default = "CorruptPolicy::Fail")]
    pub corrupt_images: CorruptPolicy,
    /// How progress is shown.
    #[config(default = "ProgressMode::Auto")]
    pub progress: ProgressMode,
    /// timm's evaluation `crop_pct` in `(0, 1]` for validation images (and, through
    /// [`RunInfo`](super::RunInfo) `run.json`, for out-of-fold and test images: [`Fitted::predict`](super::Fitted::predict),
    /// [`RunInfo::eval_dataset`](super::RunInfo::eval_dataset)): each is resized to cover
    /// `floor(size / crop_pct)` and centre-cropped to `size`, its own target size
    /// ([`DecodeOptions::size`](crate::codec::DecodeOptions::size)) or else the model's input size
    /// (`transforms_imagenet_eval`: `Resize(floor(img_size / crop_pct))` + `CenterCrop(img_size)`),
    /// so pretrained weights see what they were evaluated on. Training images are not affected.
    /// `None` (the default here, to keep data already at its size as it is) decodes validation
    /// images as their dataset says; timm's and the recipe's default is 0.875.
    pub crop_pct: Option<f64>,
    /// Whether biases and normalization weights (every parameter with `ndim <= 1`) take the
    /// optimizer's weight decay. `false` (the default) exempts them, as timm's
    /// `param_groups_weight_decay` does (`create_optimizer_v2(..., filter_bias_and_bn=True)`):
    /// they are optimized with `weight_decay = 0`
    /// ([`OptimizerConfig::init_with_no_decay`]); `true` decays every parameter, as
    /// `torch.optim` given `model.parameters()` does.
    #[config(default = false)]
    pub weight_decay_norm_bias: bool,
    /// What a training step whose loss or gradient is NaN or infinite does: stop the run there
    /// (the default, [`PodiumError::NonFinite`] naming the epoch and the step; the last complete
    /// epoch's checkpoints are kept) or skip its optimizer update and count it (as
    /// `torch.amp.GradScaler` does). See [`NanPolicy`]. May change on resume.
    #[config(default = "NanPolicy::Stop")]
    pub nan_policy: NanPolicy,
    /// Data-parallel training on several devices, by [`device_from_name`](crate::device::device_from_name)
    /// names (`["cuda:0", "cuda:1"]`, `["flex", "flex"]`); empty (the default) or one name trains
    /// on the device given to [`Learner::new`](super::Learner::new) / [`train`](super::train()).
    /// [`Self::batch_size`] stays the global batch, cut into one piece per device, and the
    /// update is the single-device one (the gradient's mean over the batch); BatchNorm
    /// statistics are per device. CUDA devices with the `cuda` feature train with DDP (NCCL),
    /// others with burn-train's `MultiDevice`. SAM, and under DDP EMA, `nan_policy = skip` and
    /// skipped corrupt images, are refused (README "Several devices").
    /// May change on resume.
    #[config(default = "Vec::new()")]
    pub devices: Vec<String>,
    /// The training precision: `"f32"` (the default), `"f16-mixed"` or `"bf16-mixed"`
    /// (convolutions and linear layers in `f16` / `bf16`, everything else and the weights in
    /// `f32`; `f16` with dynamic loss scaling): `torch.autocast` + `torch.amp.GradScaler`,
    /// Lightning's `precision="16-mixed"` / `"bf16-mixed"`. See [`Precision`] and
    /// [`super::precision`]; the device must compute in the dtype
    /// ([`Precision::check_device`]).
    #[config(default = "Precision::F32")]
    pub precision: Precision,
}

impl LearnerConfig {
    /// The label smoothing the loss applies ([`Self::label_smoothing`]'s routing): all of it
    /// without mixing or with a loss that mixes the fastai way, none when the mixed soft targets
    /// carry it.
    pub fn smoothing_for_loss(&self) -> f64 {
        if self.mixup.is_some() && self.loss.mixes_soft_targets() {
            0.0
        } else {
            self.label_smoothing
        }
    }

    /// The label smoothing folded into the mixer's soft targets (0 without mixing).
    pub fn smoothing_for_mixer(&self) -> f64 {
        if self.mixup.is_some() {
            self.label_smoothing
        } else {
            0.0
        }
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key and the value at fault.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(PodiumError::config("epochs", 0, "must be at least 1"));
        }
        if self.grad_accumulation == 0 {
            return Err(PodiumError::config(
                "grad_accumulation",
                0,
                "must be at least 1",
            ));
        }
        if self.batch_size == 0 {
            return Err(PodiumError::config("batch_size", 0, "must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(PodiumError::config(
                "lr",
                self.lr,
                "must be a positive number",
            ));
        }
        self.loss.validate()?;
        if let Some(lo) = self.lr_min
            && !(lo > 0.0 && lo <= self.lr)
        {
            return Err(PodiumError::config(
                "lr_min",
                lo,
                format!("must be positive and at most lr ({})", self.lr),
            ));
        }
        if let Some(aug) = &self.augment {
            let pipeline = aug.init().map_err(|e| e.in_section("augment"))?;
            if pipeline.views() > 1 {
                return Err(PodiumError::config(
                    "augment.splits",
                    pipeline.views(),
                    "the Learner trains on one view per image; use AugMix splits with \
                     ImageLoader::augment and JsdCrossEntropy in a custom loop",
                ));
            }
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(PodiumError::config(
                "label_smoothing",
                self.label_smoothing,
                "must be in [0, 1)",
            ));
        }
        self.loss.validate_smoothing(self.smoothing_for_loss())?;
        if let Some(mix) = &self.mixup {
            if !self.batch_size.is_multiple_of(2) {
                return Err(PodiumError::config(
                    "batch_size",
                    self.batch_size,
                    "batch mixing needs an even batch size",
                ));
            }
            if matches!(self.loss, LossConfig::TopK { .. }) {
                return Err(PodiumError::config(
                    "loss",
                    "TopK",
                    "the top-k loss does not combine with batch mixing",
                ));
            }
            mix.validate().map_err(|e| e.in_section("mixup"))?;
        }
        if let ScheduleConfig::Cosine(c) = &self.schedule
            && !(0.0..=self.lr).contains(&c.min_lr)
        {
            return Err(PodiumError::config(
                "schedule.min_lr",
                c.min_lr,
                format!("must be in [0, lr = {}]", self.lr),
            ));
        }
        self.schedule
            .validate()
            .map_err(|e| e.in_section("schedule"))?;
        if let Some(es) = self.early_stopping {
            if es.patience == 0 {
                return Err(PodiumError::config(
                    "early_stopping.patience",
                    0,
                    "must be at least 1",
                ));
            }
            if !(es.min_delta >= 0.0 && es.min_delta.is_finite()) {
                return Err(PodiumError::config(
                    "early_stopping.min_delta",
                    es.min_delta,
                    "must be a finite number >= 0",
                ));
            }
        }
        if self.run_dir.trim().is_empty() {
            return Err(PodiumError::config(
                "run_dir",
                "\"\"",
                "must name a directory",
            ));
        }
        if let Some(n) = &self.normalize {
            Normalize::new(n.mean.clone(), n.std.clone())?;
            if let Some(piped) = self
                .augment
                .as_ref()
                .and_then(PipelineConfig::normalization)
                && piped != *n
            {
                return Err(PodiumError::config(
                    "normalize",
                    format!("mean {:?}, std {:?}", n.mean, n.std),
                    format!(
                        "differs from the training pipeline's normalize (mean {:?}, std {:?}), \
                         which training batches leave the pipeline with; validation and \
                         inference must use the same (leave normalize unset)",
                        piped.mean, piped.std
                    ),
                ));
            }
        }
        if let Some(clip) = &self.clip_grad {
            clip.validate().map_err(|e| e.in_section("clip_grad"))?;
        }
        if let Some(sam) = &self.sam {
            sam.init().map_err(|e| e.in_section("sam"))?;
        }
        self.optimizer.validate()?;
        super::devices::validate(self)?;
        if let Some(p) = self.crop_pct
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(PodiumError::config("crop_pct", p, "must be in (0, 1]"));
        }
        Ok(())
    }
}
