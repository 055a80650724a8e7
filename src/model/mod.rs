//! Models: the [`ImageClassifier`] contract every network meets, the networks themselves, and
//! the pooling heads (timm's `avg`, `max`, `avgmax`, `catavgmax`, GeM).

mod efficientnet;
mod finetune;
mod pool;
mod resnet;
mod simple_cnn;
mod summary;
mod weights;

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
