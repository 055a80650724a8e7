//! [`AnyModel`]: any of podium's networks behind one type, what
//! [`ModelConfig::init`](super::ModelConfig::init) builds.

use std::path::Path;

use burn::module::{Module, ParamGroup};
use burn::nn::BatchNorm;
use burn::tensor::Tensor;

use super::{BatchNormLayers, EfficientNet, ImageClassifier, ModelSummary, ResNet, SimpleCnn};
use crate::error::Result;

/// One of podium's networks, chosen at run time (from a recipe, with
/// [`ModelConfig::from_name`](super::ModelConfig::from_name)): a burn [`Module`] that dispatches [`ImageClassifier`],
/// [`BatchNormLayers`], summaries and weight loading to the network it holds, so the
/// [`Learner`](crate::learner::Learner), [`infer`](crate::infer) and
/// [`update_bn`](crate::average::update_bn) take it like the network itself.
///
/// burn's enum modules name their parameters after the variant (`ResNet.layer1.0.conv1.weight`
/// in burn's own checkpoints); PyTorch files load through [`Self::load_file`] with the
/// network's own keys (`layer1.0.conv1.weight`).
// The variants differ by a few hundred bytes of layer handles (the tensors live on the device);
// a model is moved a handful of times per run, and burn's enum modules take no boxes.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum AnyModel {
    /// A [`SimpleCnn`].
    SimpleCnn(SimpleCnn),
    /// A [`ResNet`].
    ResNet(ResNet),
    /// An [`EfficientNet`].
    EfficientNet(EfficientNet),
}

impl AnyModel {
    /// A torchinfo-style summary of the network for inputs of `input_shape` (`[B, C, H, W]`).
    pub fn summary(&self, input_shape: [usize; 4]) -> ModelSummary {
        match self {
            Self::SimpleCnn(m) => m.summary(input_shape),
            Self::ResNet(m) => m.summary(input_shape),
            Self::EfficientNet(m) => m.summary(input_shape),
        }
    }

    /// Loads a PyTorch state dict (torchvision's for ResNets, timm's for EfficientNets; see
    /// each network's `load_file`).
    ///
    /// # Errors
    /// As [`load_weights`](super::load_weights): the file cannot be read, or a key is missing,
    /// unexpected or of another shape (named, with both shapes).
    pub fn load_file(self, path: impl AsRef<Path>) -> Result<Self> {
        Ok(match self {
            Self::SimpleCnn(m) => Self::SimpleCnn(m.load_file(path)?),
            Self::ResNet(m) => Self::ResNet(m.load_file(path)?),
            Self::EfficientNet(m) => Self::EfficientNet(m.load_file(path)?),
        })
    }

    /// Loads everything but the classifier, which keeps its fresh initialisation (pretrained
    /// weights under a head for another number of classes).
    ///
    /// # Errors
    /// As [`Self::load_file`], except that the classifier's keys and shapes are not checked.
    pub fn load_backbone(self, path: impl AsRef<Path>) -> Result<Self> {
        Ok(match self {
            Self::SimpleCnn(m) => Self::SimpleCnn(m.load_backbone(path)?),
            Self::ResNet(m) => Self::ResNet(m.load_backbone(path)?),
            Self::EfficientNet(m) => Self::EfficientNet(m.load_backbone(path)?),
        })
    }
}

impl ImageClassifier for AnyModel {
    /// # Panics
    /// If the input's channel count differs from the network's (burn's convolution check).
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::SimpleCnn(m) => m.forward(images),
            Self::ResNet(m) => m.forward(images),
            Self::EfficientNet(m) => m.forward(images),
        }
    }

    /// The network's layer groups.
    fn layer_groups(&self) -> Vec<(String, ParamGroup)> {
        match self {
            Self::SimpleCnn(m) => m.layer_groups(),
            Self::ResNet(m) => m.layer_groups(),
            Self::EfficientNet(m) => m.layer_groups(),
        }
    }
}

impl BatchNormLayers for AnyModel {
    fn map_batch_norms(self, f: &mut dyn FnMut(BatchNorm) -> BatchNorm) -> Self {
        match self {
            Self::SimpleCnn(m) => Self::SimpleCnn(m.map_batch_norms(f)),
            Self::ResNet(m) => Self::ResNet(m.map_batch_norms(f)),
            Self::EfficientNet(m) => Self::EfficientNet(m.map_batch_norms(f)),
        }
    }
}

impl From<SimpleCnn> for AnyModel {
    fn from(model: SimpleCnn) -> Self {
        Self::SimpleCnn(model)
    }
}

impl From<ResNet> for AnyModel {
    fn from(model: ResNet) -> Self {
        Self::ResNet(model)
    }
}

impl From<EfficientNet> for AnyModel {
    fn from(model: EfficientNet) -> Self {
        Self::EfficientNet(model)
    }
}
