//! The names most programs need: `use burn_podium::prelude::*;`.

pub use crate::augment::{Image, Normalize, Pipeline, PipelineConfig, Transform, TransformConfig};
pub use crate::codec::{Bitmap, ColorMode, DecodeOptions};
pub use crate::data::{
    CorruptPolicy, ImageDataset, ImageItem, ImbalanceProfile, OofStore, digits, read_cifar10,
    read_cifar100, read_idx_dataset,
};
pub use crate::device::{default_device, device_from_name};
pub use crate::error::{PodiumError, Result};
pub use crate::infer::{
    EnsembleMode, EvalReport, Predictions, SubmissionConfig, TtaConfig, ensemble, evaluate,
    predict, predict_tta, write_probabilities_csv, write_submission_like,
};
pub use crate::learner::{
    Classification, CvConfig, CvResult, EarlyStoppingConfig, EpochMetrics, FineTuneConfig, Fitted,
    Learner, LearnerConfig, Monitor, ProgressMode, fresh_run_dir, load_checkpoint,
};
pub use crate::loader::{ClassificationBatch, ClassificationBatcher, ImageLoader};
pub use crate::loss::LossConfig;
pub use crate::metrics::Metric;
pub use crate::mix::{MixMode, MixupConfig};
pub use crate::model::{
    AnyModel, EfficientNet, EfficientNetConfig, GlobalPool, ImageClassifier, ModelConfig, ResNet,
    ResNetConfig, SimpleCnn, SimpleCnnConfig,
};
pub use crate::optim::OptimizerConfig;
pub use crate::report::{ClassificationReport, ReportInputs, write_report};
pub use crate::sample::SamplerConfig;
pub use crate::schedule::ScheduleConfig;
pub use burn::tensor::Device;
