//! ResNet-18/34/50/101/152 (He et al. 2016) with torchvision's layout and key names, so
//! torchvision's `.pth` files load as they are (`ResNet::load_file`).
//!
//! torchvision's "v1.5" variant: the stride of a bottleneck block sits on its 3x3 convolution;
//! BatchNorm `eps = 1e-5`, `momentum = 0.1`; the stem is a 7x7/2 convolution and a 3x3/2 max
//! pool. The pooled features ([`ResNet::forward_pooled`]) and the classifier
//! ([`ResNet::forward_head`]) are separate, and the pooling is any [`GlobalPool`].

use std::path::Path;

use burn::config::Config;
use burn::module::{Module, ParamGroup};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::summary::{ModelSummary, SummaryBuilder, conv_step};
use super::weights::{LoadSpec, load_weights};
use super::{GlobalPool, ImageClassifier, validate_head};
use crate::error::{PodiumError, Result};
use crate::kernel::batch_norm::{Activation, batch_norm};
use crate::kernel::conv::conv2d;

/// torchvision's `downsample` is an `nn.Sequential(conv1x1, bn)`; podium names its two parts.
const RESNET_REMAP: &[(&str, &str)] = &[
    (r"\.downsample\.0\.", ".downsample.conv."),
    (r"\.downsample\.1\.", ".downsample.bn."),
];

/// Configuration of a [`ResNet`]: torchvision's `resnet{depth}(num_classes=...)`, timm's
/// `create_model("resnet{depth}", num_classes=..., in_chans=..., global_pool=..., drop_rate=...)`
/// (the architecture of timm's `resnet*.tv_in1k` weights).
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Depth: 18, 34 (basic blocks), 50, 101 or 152 (bottleneck blocks).
    pub depth: usize,
    /// Number of classes (default 1000, ImageNet).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Input channels (default 3; timm's `in_chans`).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Global pooling before the classifier (default `Avg`, torchvision's; timm's
    /// `global_pool`).
    #[config(default = "GlobalPool::Avg")]
    pub pool: GlobalPool,
    /// Dropout before the classifier, in `[0, 1)` (default 0, torchvision's; timm's
    /// `drop_rate`).
    #[config(default = 0.0)]
    pub drop_rate: f64,
}

/// `conv -> bn` of torchvision's `downsample`.
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    bn: BatchNorm,
}

/// A basic block (two 3x3 convolutions) or, with `conv3`, a bottleneck block (1x1, 3x3, 1x1).
#[derive(Module, Debug)]
pub struct Block {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Option<Conv2d>,
    bn3: Option<BatchNorm>,
    downsample: Option<Downsample>,
}

fn conv(cin: usize, cout: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
        .with_bias(false)
        .init(device)
}

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c)
        .with_epsilon(1e-5)
        .with_momentum(0.1)
        .init(device)
}

/// torchvision's `downsample` of a block whose shape changes.
fn downsample(cin: usize, cout: usize, stride: usize, device: &Device) -> Option<Downsample> {
    (stride != 1 || cin != cout).then(|| Downsample {
        conv: conv(cin, cout, 1, stride, device),
        bn: bn(cout, device),
    })
}

impl Block {
    /// torchvision's `BasicBlock` (expansion 1).
    fn basic(cin: usize, planes: usize, stride: usize, device: &Device) -> Self {
        // the shortcut is initialised first, as before: the same seed gives the same weights
        let downsample = downsample(cin, planes, stride, device);
        Self {
            conv1: conv(cin, planes, 3, stride, device),
            bn1: bn(planes, device),
            conv2: conv(planes, planes, 3, 1, device),
            bn2: bn(planes, device),
            conv3: None,
            bn3: None,
            downsample,
        }
    }

    /// torchvision's `Bottleneck` (expansion 4, the stride on the 3x3 convolution).
    fn bottleneck(cin: usize, planes: usize, stride: usize, device: &Device) -> Self {
        let cout = planes * 4;
        let downsample = downsample(cin, cout, stride, device);
        Self {
            conv1: conv(cin, planes, 1, 1, device),
            bn1: bn(planes, device),
            conv2: conv(planes, planes, 3, stride, device),
            bn2: bn(planes, device),
            conv3: Some(conv(planes, cout, 1, 1, device)),
            bn3: Some(bn(cout, device)),
            downsample,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.downsample {
            Some(d) => batch_norm(&d.bn, conv2d(&d.conv, x.clone()), Activation::Identity),
            None => x.clone(),
        };
        let out = batch_norm(&self.bn1, conv2d(&self.conv1, x), Activation::Relu);
        let out = batch_norm(&self.bn2, conv2d(&self.conv2, out), Activation::Identity);
        let out = match (&self.conv3, &self.bn3) {
            (Some(c3), Some(b3)) => batch_norm(b3, conv2d(c3, relu(out)), Activation::Identity),
            _ => out,
        };
        relu(out + identity)
    }
}

/// A ResNet (see the module docs). Build one with [`ResNetConfig::init`].
#[derive(Module, Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    maxpool: MaxPool2d,
    layer1: Vec<Block>,
    layer2: Vec<Block>,
    layer3: Vec<Block>,
    layer4: Vec<Block>,
    dropout: Dropout,
    fc: Linear,
    #[module(skip)]
    pool: GlobalPool,
    #[module(skip)]
    num_features: usize,
}

impl ResNetConfig {
    /// Blocks per stage and whether they are bottlenecks, for a depth.
    fn layout(&self) -> Result<([usize; 4], bool)> {
        Ok(match self.depth {
            18 => ([2, 2, 2, 2], false),
            34 => ([3, 4, 6, 3], false),
            50 => ([3, 4, 6, 3], true),
            101 => ([3, 4, 23, 3], true),
            152 => ([3, 8, 36, 3], true),
            d => {
                return Err(PodiumError::config(
                    "depth",
                    d,
                    "ResNet depth must be 18, 34, 50, 101 or 152",
                ));
            }
        })
    }

    /// Checks the depth, the sizes, the dropout and the pooling.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key: an unknown depth, zero classes or input
    /// channels, a dropout outside `[0, 1)`, a GeM exponent that is not `> 0`.
    pub fn validate(&self) -> Result<()> {
        self.layout()?;
        validate_head(
            self.num_classes,
            self.in_channels,
            self.drop_rate,
            &self.pool,
        )
    }

    /// Checks the values ([`Self::validate`]) and builds the network, with torchvision's
    /// initialisation scheme left to burn's defaults.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self, device: &Device) -> Result<ResNet> {
        self.validate()?;
        let (blocks, bottleneck) = self.layout()?;
        let expansion = if bottleneck { 4 } else { 1 };
        let mut cin = 64;
        let mut stage = |planes: usize, n: usize, stride: usize| {
            (0..n)
                .map(|i| {
                    let stride = if i == 0 { stride } else { 1 };
                    let b = if bottleneck {
                        Block::bottleneck(cin, planes, stride, device)
                    } else {
                        Block::basic(cin, planes, stride, device)
                    };
                    cin = planes * expansion;
                    b
                })
                .collect::<Vec<_>>()
        };
        let layer1 = stage(64, blocks[0], 1);
        let layer2 = stage(128, blocks[1], 2);
        let layer3 = stage(256, blocks[2], 2);
        let layer4 = stage(512, blocks[3], 2);
        let num_features = 512 * expansion;
        Ok(ResNet {
            conv1: conv(self.in_channels, 64, 7, 2, device),
            bn1: bn(64, device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1,
            layer2,
            layer3,
            layer4,
            dropout: DropoutConfig::new(self.drop_rate).init(),
            fc: self.pool.classifier(num_features, self.num_classes, device),
            pool: self.pool,
            num_features,
        })
    }
}

impl ResNet {
    /// The feature map after the last stage, `[B, 512 * expansion, H / 32, W / 32]`.
    ///
    /// # Panics
    /// If the input's channel count differs from the model's (burn's convolution check).
    pub fn forward_features(&self, images: Tensor<4>) -> Tensor<4> {
        let x = batch_norm(&self.bn1, conv2d(&self.conv1, images), Activation::Relu);
        let mut x = crate::kernel::max_pool::max_pool2d(&self.maxpool, x);
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            x = block.forward(x);
        }
        x
    }

    /// The pooled features, the classifier's input (timm's `pre_logits`): `[B, F]`.
    pub fn forward_pooled(&self, images: Tensor<4>) -> Tensor<2> {
        self.pool.forward(self.forward_features(images))
    }

    /// The classifier on pooled features: dropout, then the linear layer.
    pub fn forward_head(&self, pooled: Tensor<2>) -> Tensor<2> {
        crate::kernel::autocast::linear(&self.fc, self.dropout.forward(pooled))
    }

    /// Channels of the feature map (512 for ResNet-18/34, 2048 for 50/101/152).
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The global pooling in use.
    pub fn pool(&self) -> GlobalPool {
        self.pool
    }

    /// A new, freshly initialised classifier for `num_classes` classes with `pool` (timm's
    /// `reset_classifier`); the backbone is kept.
    pub fn reset_classifier(
        mut self,
        num_classes: usize,
        pool: GlobalPool,
        device: &Device,
    ) -> Self {
        self.pool = pool;
        self.fc = pool.classifier(self.num_features, num_classes, device);
        self
    }

    /// A torchinfo-style summary for inputs of `input_shape` (`[B, C, H, W]`): stem layers,
    /// each block, pooling and classifier, with output shapes, parameters (trainable or
    /// frozen) and multiply-adds.
    pub fn summary(&self, input_shape: [usize; 4]) -> ModelSummary {
        let mut s = SummaryBuilder::new(input_shape);
        s.conv("conv1", &self.conv1);
        s.batch_norm("bn1", &self.bn1);
        let [c, h, w] = s.shape;
        s.shape = [c, (h + 2 - 3) / 2 + 1, (w + 2 - 3) / 2 + 1];
        let shape = s.shape;
        s.row("maxpool", "MaxPool2d", &self.maxpool, &shape, 0);
        for (stage, blocks) in [&self.layer1, &self.layer2, &self.layer3, &self.layer4]
            .into_iter()
            .enumerate()
        {
            for (i, block) in blocks.iter().enumerate() {
                let input = s.shape;
                let mut macs = 0;
                let mut shape = input;
                for conv in [Some(&block.conv1), Some(&block.conv2), block.conv3.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    let (out, m) = conv_step(conv, shape, s.batch);
                    shape = out;
                    macs += m;
                }
                if let Some(d) = &block.downsample {
                    macs += conv_step(&d.conv, input, s.batch).1;
                }
                s.shape = shape;
                s.row(
                    &format!("layer{}.{i}", stage + 1),
                    "Block",
                    block,
                    &shape,
                    macs,
                );
            }
        }
        let features = self.num_features * self.pool.feature_multiplier();
        s.head("pool", &self.dropout, "fc", &self.fc, features);
        s.finish(
            &format!("ResNet ({} features)", self.num_features),
            input_shape,
        )
    }

    /// Loads a torchvision state dict (`.pth` from `torch.save`, or `.safetensors` with the
    /// same keys), e.g. `resnet50-11ad3fa6.pth`.
    ///
    /// # Errors
    /// As [`load_weights`]: the file cannot be read, or a key is missing, unexpected or of
    /// another shape (named, with both shapes).
    pub fn load_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let spec = LoadSpec {
            remap: RESNET_REMAP,
            exclude: None,
        };
        load_weights(self, path.as_ref(), &spec)
    }

    /// Loads everything but the classifier (`fc.*`), which keeps its fresh initialisation:
    /// pretrained ImageNet weights under a head for another number of classes.
    ///
    /// # Errors
    /// As [`Self::load_file`], except that the classifier's keys and shapes are not checked.
    pub fn load_backbone(self, path: impl AsRef<Path>) -> Result<Self> {
        let spec = LoadSpec {
            remap: RESNET_REMAP,
            exclude: Some(r"^fc\."),
        };
        load_weights(self, path.as_ref(), &spec)
    }
}

impl ImageClassifier for ResNet {
    /// # Panics
    /// If the input's channel count differs from the model's (burn's convolution check).
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_head(self.forward_pooled(images))
    }

    /// `stem` (conv1, bn1), `layer1` .. `layer4`, `head` (fc).
    fn layer_groups(&self) -> Vec<(String, ParamGroup)> {
        let stem = ParamGroup::ids_from_module(self.conv1.clone())
            .fuse(&ParamGroup::ids_from_module(self.bn1.clone()));
        vec![
            ("stem".into(), stem),
            (
                "layer1".into(),
                ParamGroup::ids_from_module(self.layer1.clone()),
            ),
            (
                "layer2".into(),
                ParamGroup::ids_from_module(self.layer2.clone()),
            ),
            (
                "layer3".into(),
                ParamGroup::ids_from_module(self.layer3.clone()),
            ),
            (
                "layer4".into(),
                ParamGroup::ids_from_module(self.layer4.clone()),
            ),
            ("head".into(), ParamGroup::ids_from_module(self.fc.clone())),
        ]
    }
}

impl super::BatchNormLayers for ResNet {
    fn map_batch_norms(mut self, f: &mut dyn FnMut(BatchNorm) -> BatchNorm) -> Self {
        self.bn1 = f(self.bn1);
        let map_block = |mut b: Block, f: &mut dyn FnMut(BatchNorm) -> BatchNorm| {
            b.bn1 = f(b.bn1);
            b.bn2 = f(b.bn2);
            b.bn3 = b.bn3.map(&mut *f);
            b.downsample = b.downsample.map(|mut d| {
                d.bn = f(d.bn);
                d
            });
            b
        };
        for layer in [
            &mut self.layer1,
            &mut self.layer2,
            &mut self.layer3,
            &mut self.layer4,
        ] {
            *layer = std::mem::take(layer)
                .into_iter()
                .map(|b| map_block(b, f))
                .collect();
        }
        self
    }
}
