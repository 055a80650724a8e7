//! Models: the [`ImageClassifier`] contract every network meets, the networks themselves, the
//! pooling heads (timm's `avg`, `max`, `avgmax`, `catavgmax`, GeM) and the factory by name
//! ([`ModelConfig::from_name`], timm's `create_model`).
//!
//! | podium | timm | torchvision |
//! |---|---|---|
//! | `ModelConfig::from_name("simple_cnn", n)` ([`SimpleCnnConfig`]) | - | - |
//! | `ModelConfig::from_name("resnet18", n)` ([`ResNetConfig`] depth 18) | `timm.create_model("resnet18", num_classes=n)` | `torchvision.models.resnet18(num_classes=n)` |
//! | `"resnet34"`, `"resnet50"`, `"resnet101"`, `"resnet152"` | `"resnet34"` .. `"resnet152"` (the same layout and keys) | `resnet34` .. `resnet152` |
//! | `ModelConfig::from_name("efficientnet_b0", n)` ([`EfficientNetConfig`] variant 0) | `timm.create_model("efficientnet_b0", num_classes=n)` | - |
//! | `"efficientnet_b1"` .. `"efficientnet_b3"` | `"efficientnet_b1"` .. `"efficientnet_b3"` | - |
//!
//! The settings timm's `create_model` takes map to the configs' fields: `in_chans` to
//! `in_channels` (default 3), `global_pool` to `pool` ([`GlobalPool`], default `Avg`),
//! `drop_rate` to `drop_rate` (dropout before the classifier; default 0 for ResNet, 0.2 for
//! EfficientNet and the simple CNN). Pretrained weights load from the PyTorch files
//! ([`AnyModel::load_file`], [`AnyModel::load_backbone`]).

mod any;
mod config;
mod efficientnet;
mod finetune;
mod pool;
mod resnet;
mod simple_cnn;
mod summary;
mod weights;

pub use any::AnyModel;
pub use config::ModelConfig;
pub use efficientnet::{EfficientNet, EfficientNetConfig, MbBlock, SqueezeExcite};
pub use finetune::{even_mults, freeze_backbone, freeze_groups, unfreeze};
pub use pool::{
    GlobalPool, adaptive_avgmax_pool2d, adaptive_catavgmax_pool2d, adaptive_max_pool2d, gem,
};
pub use resnet::{Block, Downsample, ResNet, ResNetConfig};
pub use simple_cnn::{SimpleCnn, SimpleCnnConfig};
pub use summary::{ModelSummary, SummaryRow};
pub use weights::{LoadSpec, load_weights};

use burn::module::{Module, ModuleDisplay, ParamGroup};
use burn::nn::BatchNorm;
use burn::tensor::Tensor;

use crate::error::{PodiumError, Result};

/// A network that maps a batch of images `[B, C, H, W]` to class logits `[B, num_classes]`.
///
/// Any burn [`Module`] that implements it can be trained by the
/// [`Learner`](crate::learner::Learner) and used by [`infer`](crate::infer).
pub trait ImageClassifier: Module + ModuleDisplay + core::fmt::Display + 'static {
    /// Class logits (before softmax), `[B, num_classes]`.
    fn forward(&self, images: Tensor<4>) -> Tensor<2>;

    /// fastai's layer groups, from the input to the classifier: named parameter groups for
    /// freezing stages ([`freeze_groups`]) and discriminative learning rates
    /// ([`LearnerConfig::lr_min`](crate::learner::LearnerConfig::lr_min)). The last group is the
    /// head. Empty (the default) for models without a stage structure.
    fn layer_groups(&self) -> Vec<(String, ParamGroup)> {
        Vec::new()
    }
}

/// Models whose BatchNorm layers podium can reach one by one (in forward order), for what
/// generic module mappers cannot do: change a BatchNorm's momentum or reset its statistics
/// (SWA's [`update_bn`](crate::average::update_bn)).
pub trait BatchNormLayers: Module {
    /// Passes every BatchNorm layer through `f`, in forward order.
    fn map_batch_norms(self, f: &mut dyn FnMut(BatchNorm) -> BatchNorm) -> Self;
}

/// The checks every model config shares: at least one class and one input channel, a dropout
/// in `[0, 1)` and a valid pooling (keys `num_classes`, `in_channels`, `drop_rate`, `pool.p`).
pub(crate) fn validate_head(
    num_classes: usize,
    in_channels: usize,
    drop_rate: f64,
    pool: &GlobalPool,
) -> Result<()> {
    if num_classes == 0 {
        return Err(PodiumError::config("num_classes", 0, "must be at least 1"));
    }
    if in_channels == 0 {
        return Err(PodiumError::config("in_channels", 0, "must be at least 1"));
    }
    if !(0.0..1.0).contains(&drop_rate) {
        return Err(PodiumError::config(
            "drop_rate",
            drop_rate,
            "must be in [0, 1)",
        ));
    }
    pool.validate()
}
