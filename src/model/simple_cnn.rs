//! A small VGG-style CNN for small images (digits, MNIST, CIFAR): the quickstart's model.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};

use super::{GlobalPool, ImageClassifier};

/// Configuration of [`SimpleCnn`].
///
/// Layout: `[conv3x3-BN-ReLU] x2 (width)`, 2x2 max-pool, `[conv3x3-BN-ReLU] x2 (2 * width)`,
/// global pooling ([`GlobalPool`], average by default), dropout, linear classifier. It works at any input size of at least
/// 2x2 pixels.
#[derive(Config, Debug)]
pub struct SimpleCnnConfig {
    /// Number of classes (output logits).
    pub num_classes: usize,
    /// Input channels (1 for grayscale, 3 for RGB).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Channels of the first stage (the second has twice as many).
    #[config(default = 32)]
    pub width: usize,
    /// Dropout probability before the classifier.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Global pooling before the classifier (timm's names; `CatAvgMax` doubles the features).
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
        self.act.forward(self.bn.forward(self.conv.forward(x)))
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
    /// Builds the network on `device` (weights drawn from the device's RNG: seed it first for a
    /// reproducible initialisation).
    pub fn init(&self, device: &Device) -> SimpleCnn {
        let (w, w2) = (self.width, 2 * self.width);
        SimpleCnn {
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
            dropout: DropoutConfig::new(self.dropout).init(),
            head: self.pool.classifier(w2, self.num_classes, device),
        }
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
        x = self.pool.forward(x);
        for block in &self.stage2 {
            x = block.forward(x);
        }
        self.global_pool.forward(x)
    }
}

impl ImageClassifier for SimpleCnn {
    /// # Panics
    /// If the input's channel count differs from `in_channels` (burn's convolution check).
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.forward_features(images);
        self.head.forward(self.dropout.forward(features))
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
