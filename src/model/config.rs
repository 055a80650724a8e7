//! [`ModelConfig`]: one serializable choice among podium's networks, and the factory by timm's
//! names ([`ModelConfig::from_name`], timm's `create_model`).

use burn::config::Config;
use burn::tensor::Device;

use super::{AnyModel, EfficientNetConfig, GlobalPool, ResNetConfig, SimpleCnnConfig};
use crate::error::{PodiumError, Result};

/// A network's configuration: one of podium's model configs, serialized with its variant name
/// (`{"ResNet": {"depth": 18, "num_classes": 10, ...}}`), built with [`Self::init`] into an
/// [`AnyModel`] that the [`Learner`](crate::learner::Learner) trains like any
/// [`ImageClassifier`](super::ImageClassifier).
///
/// [`Self::from_name`] builds it from timm's model names (see the [module docs](super) for the
/// mapping to timm and torchvision); the `with_*` setters change what timm's `create_model`
/// keyword arguments change.
#[derive(Config, Debug)]
pub enum ModelConfig {
    /// The small VGG-style CNN ([`SimpleCnnConfig`]).
    SimpleCnn(SimpleCnnConfig),
    /// A torchvision ResNet ([`ResNetConfig`]).
    ResNet(ResNetConfig),
    /// A timm EfficientNet ([`EfficientNetConfig`]).
    EfficientNet(EfficientNetConfig),
}

impl ModelConfig {
    /// The names [`Self::from_name`] knows, timm's spelling.
    pub const NAMES: &'static [&'static str] = &[
        "simple_cnn",
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "efficientnet_b0",
        "efficientnet_b1",
        "efficientnet_b2",
        "efficientnet_b3",
    ];

    /// The configuration of the model timm (or podium, for `simple_cnn`) calls `name`, with
    /// `num_classes` outputs and every other setting at its default: 3 input channels, average
    /// pooling, and the architecture's dropout (see the [module docs](super)).
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming `name` for a name not in [`Self::NAMES`] (the message
    /// lists them).
    pub fn from_name(name: &str, num_classes: usize) -> Result<Self> {
        let resnet = |depth| Self::ResNet(ResNetConfig::new(depth).with_num_classes(num_classes));
        let efficientnet =
            |v| Self::EfficientNet(EfficientNetConfig::new(v).with_num_classes(num_classes));
        Ok(match name {
            "simple_cnn" => Self::SimpleCnn(SimpleCnnConfig::new(num_classes)),
            "resnet18" => resnet(18),
            "resnet34" => resnet(34),
            "resnet50" => resnet(50),
            "resnet101" => resnet(101),
            "resnet152" => resnet(152),
            "efficientnet_b0" => efficientnet(0),
            "efficientnet_b1" => efficientnet(1),
            "efficientnet_b2" => efficientnet(2),
            "efficientnet_b3" => efficientnet(3),
            other => {
                return Err(PodiumError::config(
                    "name",
                    format!("{other:?}"),
                    format!("unknown model; valid names: {}", Self::NAMES.join(", ")),
                ));
            }
        })
    }

    /// The model's name as [`Self::from_name`] takes it (`resnet50`, `efficientnet_b2`, ...).
    pub fn name(&self) -> String {
        match self {
            Self::SimpleCnn(_) => "simple_cnn".into(),
            Self::ResNet(c) => format!("resnet{}", c.depth),
            Self::EfficientNet(c) => format!("efficientnet_b{}", c.variant),
        }
    }

    /// Number of classes (output logits).
    pub fn num_classes(&self) -> usize {
        match self {
            Self::SimpleCnn(c) => c.num_classes,
            Self::ResNet(c) => c.num_classes,
            Self::EfficientNet(c) => c.num_classes,
        }
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        match self {
            Self::SimpleCnn(c) => c.in_channels,
            Self::ResNet(c) => c.in_channels,
            Self::EfficientNet(c) => c.in_channels,
        }
    }

    /// With `num_classes` outputs (timm's `num_classes`).
    pub fn with_num_classes(mut self, num_classes: usize) -> Self {
        match &mut self {
            Self::SimpleCnn(c) => c.num_classes = num_classes,
            Self::ResNet(c) => c.num_classes = num_classes,
            Self::EfficientNet(c) => c.num_classes = num_classes,
        }
        self
    }

    /// With `in_channels` input channels (timm's `in_chans`: 1 for grayscale).
    pub fn with_in_channels(mut self, in_channels: usize) -> Self {
        match &mut self {
            Self::SimpleCnn(c) => c.in_channels = in_channels,
            Self::ResNet(c) => c.in_channels = in_channels,
            Self::EfficientNet(c) => c.in_channels = in_channels,
        }
        self
    }

    /// With `pool` before the classifier (timm's `global_pool`).
    pub fn with_pool(mut self, pool: GlobalPool) -> Self {
        match &mut self {
            Self::SimpleCnn(c) => c.pool = pool,
            Self::ResNet(c) => c.pool = pool,
            Self::EfficientNet(c) => c.pool = pool,
        }
        self
    }

    /// With dropout `drop_rate` before the classifier (timm's `drop_rate`).
    pub fn with_drop_rate(mut self, drop_rate: f64) -> Self {
        match &mut self {
            Self::SimpleCnn(c) => c.drop_rate = drop_rate,
            Self::ResNet(c) => c.drop_rate = drop_rate,
            Self::EfficientNet(c) => c.drop_rate = drop_rate,
        }
        self
    }

    /// Checks the values without building the network.
    ///
    /// # Errors
    /// The model config's [`PodiumError::Config`] (`depth`, `variant`, `num_classes`,
    /// `in_channels`, `drop_rate`, `pool.p`, `width`).
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::SimpleCnn(c) => c.validate(),
            Self::ResNet(c) => c.validate(),
            Self::EfficientNet(c) => c.validate(),
        }
    }

    /// Checks the values and builds the network on `device` (weights drawn from the device's
    /// RNG: seed it first for a reproducible initialisation).
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self, device: &Device) -> Result<AnyModel> {
        Ok(match self {
            Self::SimpleCnn(c) => AnyModel::SimpleCnn(c.init(device)?),
            Self::ResNet(c) => AnyModel::ResNet(c.init(device)?),
            Self::EfficientNet(c) => AnyModel::EfficientNet(c.init(device)?),
        })
    }
}

impl From<SimpleCnnConfig> for ModelConfig {
    fn from(config: SimpleCnnConfig) -> Self {
        Self::SimpleCnn(config)
    }
}

impl From<ResNetConfig> for ModelConfig {
    fn from(config: ResNetConfig) -> Self {
        Self::ResNet(config)
    }
}

impl From<EfficientNetConfig> for ModelConfig {
    fn from(config: EfficientNetConfig) -> Self {
        Self::EfficientNet(config)
    }
}
