//! The names most programs need: `use burn_podium::prelude::*;`.

pub use crate::augment::{AugmentConfig, Image, Pipeline, PipelineConfig};
pub use crate::data::{
    ClassificationBatch, ClassificationBatcher, ColorMode, CorruptPolicy, DecodeOptions,
    ImageDataset, ImageItem, ImageLoader, ImbalanceProfile, Normalize, OofStore, digits,
    read_cifar10, read_cifar100, read_idx_dataset,
};
pub use crate::device::{default_device, device_from_name};
pub use crate::error::{PodiumError, Result};
pub use crate::infer::{EvalReport, Predictions, SubmissionConfig, evaluate, predict};
pub use crate::learner::{
    Classification, EarlyStoppingConfig, EpochMetrics, FineTuneConfig, Fitted, Learner,
    LearnerConfig, Monitor, OptimizerConfig, ProgressMode, ScheduleConfig, load_checkpoint,
};
pub use crate::loss::LossConfig;
pub use crate::mix::{MixMode, MixupConfig};
pub use crate::model::{
    AnyModel, EfficientNet, EfficientNetConfig, GlobalPool, ImageClassifier, ModelConfig, ResNet,
    ResNetConfig, SimpleCnn, SimpleCnnConfig,
};
pub use crate::sample::SamplerConfig;
pub use burn::tensor::Device;
