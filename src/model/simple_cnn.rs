//! A small VGG-style CNN for small images (digits, MNIST, CIFAR): the quickstart's model
//! (`ModelConfig::from_name("simple_cnn", n)`; no torch/timm counterpart).

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};

use super::summary::{ModelSummary, SummaryBuilder, conv_step};
use super::weights::{LoadSpec, load_weights};
use super::{GlobalPool, ImageClassifier, validate_head};
use crate::error::{PodiumError, Result};
use crate::kernel::batch_norm::{Activation, batch_norm};
use crate::kernel::conv::conv2d;

/// Configuration of [`SimpleCnn`].
///
/// Layout: `[conv3x3-BN-ReLU] x2 (width)`, 2x2 max-pool, `[conv3x3-BN-ReLU] x2 (2 * width)`,
/// global pooling ([`GlobalPool`], average by default), dropout, linear classifier. It works at
/// any input size of at least 2x2 pixels.
#[derive(Config, Debug)]
pub struct SimpleCnnConfig {
    /// Number of classes (output logits).
    pub num_classes: usize,
    /// Input channels (1 for grayscale, 3 for RGB). Default 3.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Channels of the first stage (the second has twice as many). Default 32.
    #[config(default = 32)]
    pub width: usize,
    /// Dropout probability before the classifier, in `[0, 1)` (timm's `drop_rate`). Default 0.2.
    #[config(default = 0.2)]
    pub drop_rate: f64,
    /// Global pooling before the classifier (timm's names; `CatAvgMax` doubles the features).
    /// Default `Avg`.
    #[config(default = "GlobalPool::Avg")]
    pub pool: GlobalPool,
}

#[derive(Module, Debug)]
struct ConvBnRelu {
    conv: Conv2d,
    bn: BatchNorm,
    act: Relu,
}

impl ConvBnRelu {
    fn new(cin: usize, cout: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([cin, cout], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(cout).init(device),
            act: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm(&self.bn, conv2d(&self.conv, x), Activation::Relu)
    }
}

/// A small VGG-style CNN (see [`SimpleCnnConfig`]).
#[derive(Module, Debug)]
pub struct SimpleCnn {
    stage1: Vec<ConvBnRelu>,
    pool: MaxPool2d,
    stage2: Vec<ConvBnRelu>,
    #[module(skip)]
    global_pool: GlobalPool,
    dropout: Dropout,
    head: Linear,
}

impl SimpleCnnConfig {
    /// Checks the sizes, the dropout and the pooling.
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) naming the key: zero classes, input
    /// channels or width, a dropout outside `[0, 1)`, a GeM exponent that is not `> 0`.
    pub fn validate(&self) -> Result<()> {
        validate_head(
            self.num_classes,
            self.in_channels,
            self.drop_rate,
            &self.pool,
        )?;
        if self.width == 0 {
            return Err(PodiumError::config("width", 0, "must be at least 1"));
        }
        Ok(())
    }

    /// Checks the values ([`Self::validate`]) and builds the network on `device` (weights drawn
    /// from the device's RNG: seed it first for a reproducible initialisation).
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self, device: &Device) -> Result<SimpleCnn> {
        self.validate()?;
        let (w, w2) = (self.width, 2 * self.width);
        Ok(SimpleCnn {
            stage1: vec![
                ConvBnRelu::new(self.in_channels, w, device),
                ConvBnRelu::new(w, w, device),
            ],
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            stage2: vec![
                ConvBnRelu::new(w, w2, device),
                ConvBnRelu::new(w2, w2, device),
            ],
            global_pool: self.pool,
            dropout: DropoutConfig::new(self.drop_rate).init(),
            head: self.pool.classifier(w2, self.num_classes, device),
        })
    }
}

impl SimpleCnn {
    /// Pooled features `[B, 2 * width]` (`[B, 4 * width]` with `CatAvgMax`) before dropout and
    /// the classifier.
    pub fn forward_features(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for block in &self.stage1 {
            x = block.forward(x);
        }
        x = crate::kernel::max_pool::max_pool2d(&self.pool, x);
        for block in &self.stage2 {
            x = block.forward(x);
        }
        self.global_pool.forward(x)
    }

    /// A torchinfo-style summary for inputs of `input_shape` (`[B, C, H, W]`): each
    /// conv-BN-ReLU block, the max pool, global pooling and classifier, with output shapes,
    /// parameters (trainable or frozen) and multiply-adds.
    pub fn summary(&self, input_shape: [usize; 4]) -> ModelSummary {
        let mut s = SummaryBuilder::new(input_shape);
        let blocks = |s: &mut SummaryBuilder, stage: &str, layers: &[ConvBnRelu]| {
            for (i, block) in layers.iter().enumerate() {
                let (shape, macs) = conv_step(&block.conv, s.shape, s.batch);
                s.shape = shape;
                s.row(&format!("{stage}.{i}"), "ConvBnRelu", block, &shape, macs);
            }
        };
        blocks(&mut s, "stage1", &self.stage1);
        let [c, h, w] = s.shape;
        s.shape = [c, h / 2, w / 2];
        let shape = s.shape;
        s.row("pool", "MaxPool2d", &self.pool, &shape, 0);
        blocks(&mut s, "stage2", &self.stage2);
        let [c, _, _] = s.shape;
        let features = c * self.global_pool.feature_multiplier();
        s.head("global_pool", &self.dropout, "head", &self.head, features);
        s.finish(&format!("SimpleCnn ({c} features)"), input_shape)
    }

    /// Loads a state dict with podium's key names and PyTorch's conventions (`.safetensors`, or
    /// `.pth` from `torch.save`): `stage1.0.conv.weight`, `stage1.0.bn.weight`, ...,
    /// `head.weight`, as a PyTorch replica of the network, or burn-store's
    /// `BurnToPyTorchAdapter`, writes them.
    ///
    /// # Errors
    /// As [`load_weights`]: the file cannot be read, or a key is missing, unexpected or of
    /// another shape (named, with both shapes).
    pub fn load_file(self, path: impl AsRef<Path>) -> Result<Self> {
        load_weights(self, path.as_ref(), &LoadSpec::default())
    }

    /// Loads everything but the classifier (`head.*`), which keeps its fresh initialisation.
    ///
    /// # Errors
    /// As [`Self::load_file`], except that the classifier's keys and shapes are not checked.
    pub fn load_backbone(self, path: impl AsRef<Path>) -> Result<Self> {
        let spec = LoadSpec {
            remap: &[],
            exclude: Some(r"^head\."),
        };
        load_weights(self, path.as_ref(), &spec)
    }
}

impl ImageClassifier for SimpleCnn {
    /// # Panics
    /// If the input's channel count differs from `in_channels` (burn's convolution check).
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.forward_features(images);
        crate::kernel::autocast::linear(&self.head, self.dropout.forward(features))
    }
}

impl super::BatchNormLayers for SimpleCnn {
    fn map_batch_norms(mut self, f: &mut dyn FnMut(BatchNorm) -> BatchNorm) -> Self {
        for stage in [&mut self.stage1, &mut self.stage2] {
            *stage = std::mem::take(stage)
                .into_iter()
                .map(|mut c| {
                    c.bn = f(c.bn);
                    c
                })
                .collect();
        }
        self
    }
}
