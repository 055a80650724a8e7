//! EfficientNet-B0..B3 (Tan and Le 2019) with timm's layout and key names
//! (`timm.create_model("efficientnet_b0")`: PyTorch-style symmetric padding, SiLU,
//! squeeze-excitation, BatchNorm `eps = 1e-5`), so timm's `.safetensors` / `.pth` files load
//! as they are ([`EfficientNet::load_file`]).
//!
//! B0's stages (timm's arch strings): `ds_r1_k3_s1_e1_c16_se0.25`, `ir_r2_k3_s2_e6_c24_se0.25`,
//! `ir_r2_k5_s2_e6_c40_se0.25`, `ir_r3_k3_s2_e6_c80_se0.25`, `ir_r3_k5_s1_e6_c112_se0.25`,
//! `ir_r4_k5_s2_e6_c192_se0.25`, `ir_r1_k3_s1_e6_c320_se0.25`; B1..B3 scale the channels with
//! timm's `round_channels` (multiples of 8, never below 90%) and the repeats with
//! `ceil(r * depth_multiplier)`.

use std::path::Path;

use burn::config::Config;
use burn::module::{Module, ParamGroup};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::{sigmoid, silu};
use burn::tensor::{Device, Tensor};

use super::summary::{ModelSummary, SummaryBuilder, conv_step};
use super::weights::{LoadSpec, load_weights};
use super::{GlobalPool, ImageClassifier, validate_head};
use crate::error::{PodiumError, Result};
use crate::kernel::batch_norm::{Activation, batch_norm};
use crate::kernel::conv::conv2d;
use crate::kernel::{global_avg_pool, scale_channels};

/// Configuration of an [`EfficientNet`]: timm's `create_model("efficientnet_b{variant}",
/// num_classes=..., in_chans=..., global_pool=..., drop_rate=...)`.
#[derive(Config, Debug)]
pub struct EfficientNetConfig {
    /// Variant: 0 to 3 (B0..B3).
    pub variant: usize,
    /// Number of classes (default 1000).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Input channels (default 3; timm's `in_chans`).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Global pooling before the classifier (default `Avg`, timm's `global_pool`).
    #[config(default = "GlobalPool::Avg")]
    pub pool: GlobalPool,
    /// Dropout before the classifier, in `[0, 1)` (timm's `drop_rate`). Default 0.2, the
    /// paper's B0 value (the reference implementation uses 0.2, 0.2, 0.3, 0.3 for B0..B3;
    /// timm's own default is 0).
    #[config(default = 0.2)]
    pub drop_rate: f64,
}

/// timm's `SqueezeExcite`: `x * sigmoid(expand(silu(reduce(mean_hw(x)))))`.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    conv_reduce: Conv2d,
    conv_expand: Conv2d,
}

impl SqueezeExcite {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let s = global_avg_pool(x.clone());
        let gate = sigmoid(conv2d(
            &self.conv_expand,
            silu(conv2d(&self.conv_reduce, s)),
        ));
        scale_channels(x, gate)
    }
}

/// A depthwise-separable block (`conv_dw, bn1, se, conv_pw, bn2`) or, with `conv_pwl`, an
/// inverted residual block (`conv_pw, bn1, conv_dw, bn2, se, conv_pwl, bn3`), as timm names
/// them.
#[derive(Module, Debug)]
pub struct MbBlock {
    conv_pw: Conv2d,
    bn1: BatchNorm,
    conv_dw: Conv2d,
    bn2: BatchNorm,
    se: SqueezeExcite,
    conv_pwl: Option<Conv2d>,
    bn3: Option<BatchNorm>,
    #[module(skip)]
    residual: bool,
}

fn conv(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    groups: usize,
    bias: bool,
    device: &Device,
) -> Conv2d {
    // timm's get_padding: ((stride - 1) + (k - 1)) // 2
    let p = ((stride - 1) + (k - 1)) / 2;
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_groups(groups)
        .with_bias(bias)
        .init(device)
}

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c)
        .with_epsilon(1e-5)
        .with_momentum(0.1)
        .init(device)
}

fn se(channels: usize, rd: usize, device: &Device) -> SqueezeExcite {
    SqueezeExcite {
        conv_reduce: conv(channels, rd, 1, 1, 1, true, device),
        conv_expand: conv(rd, channels, 1, 1, 1, true, device),
    }
}

/// timm's `make_divisible(v, 8)`: the nearest multiple of 8, at least 8, never below 90% of `v`.
fn make_divisible(v: f64) -> usize {
    let mut n = (((v + 4.0) as usize) / 8 * 8).max(8);
    if (n as f64) < 0.9 * v {
        n += 8;
    }
    n
}

impl MbBlock {
    fn depthwise_separable(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        let rd = (cin as f64 * 0.25).round_ties_even() as usize;
        Self {
            conv_dw: conv(cin, cin, k, stride, cin, false, device),
            bn1: bn(cin, device),
            se: se(cin, rd, device),
            conv_pw: conv(cin, cout, 1, 1, 1, false, device),
            bn2: bn(cout, device),
            conv_pwl: None,
            bn3: None,
            residual: stride == 1 && cin == cout,
        }
    }

    fn inverted_residual(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        exp: usize,
        device: &Device,
    ) -> Self {
        let mid = make_divisible((cin * exp) as f64);
        let rd = (mid as f64 * 0.25 / exp as f64).round_ties_even() as usize;
        Self {
            conv_pw: conv(cin, mid, 1, 1, 1, false, device),
            bn1: bn(mid, device),
            conv_dw: conv(mid, mid, k, stride, mid, false, device),
            bn2: bn(mid, device),
            se: se(mid, rd, device),
            conv_pwl: Some(conv(mid, cout, 1, 1, 1, false, device)),
            bn3: Some(bn(cout, device)),
            residual: stride == 1 && cin == cout,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = match (&self.conv_pwl, &self.bn3) {
            (Some(pwl), Some(bn3)) => {
                let h = batch_norm(
                    &self.bn1,
                    conv2d(&self.conv_pw, x.clone()),
                    Activation::Silu,
                );
                let h = batch_norm(&self.bn2, conv2d(&self.conv_dw, h), Activation::Silu);
                batch_norm(bn3, conv2d(pwl, self.se.forward(h)), Activation::Identity)
            }
            _ => {
                let h = batch_norm(
                    &self.bn1,
                    conv2d(&self.conv_dw, x.clone()),
                    Activation::Silu,
                );
                batch_norm(
                    &self.bn2,
                    conv2d(&self.conv_pw, self.se.forward(h)),
                    Activation::Identity,
                )
            }
        };
        if self.residual { out + x } else { out }
    }
}

/// An EfficientNet (see the module docs). Build one with [`EfficientNetConfig::init`].
#[derive(Module, Debug)]
pub struct EfficientNet {
    conv_stem: Conv2d,
    bn1: BatchNorm,
    blocks: Vec<Vec<MbBlock>>,
    conv_head: Conv2d,
    bn2: BatchNorm,
    dropout: Dropout,
    classifier: Linear,
    #[module(skip)]
    pool: GlobalPool,
    #[module(skip)]
    num_features: usize,
}

/// B0's stages: (inverted residual?, repeats, kernel, stride, expansion, channels).
const B0_STAGES: [(bool, usize, usize, usize, usize, usize); 7] = [
    (false, 1, 3, 1, 1, 16),
    (true, 2, 3, 2, 6, 24),
    (true, 2, 5, 2, 6, 40),
    (true, 3, 3, 2, 6, 80),
    (true, 3, 5, 1, 6, 112),
    (true, 4, 5, 2, 6, 192),
    (true, 1, 3, 1, 6, 320),
];

impl EfficientNetConfig {
    /// The width and depth multipliers of the variant.
    fn multipliers(&self) -> Result<(f64, f64)> {
        Ok(match self.variant {
            0 => (1.0, 1.0),
            1 => (1.0, 1.1),
            2 => (1.1, 1.2),
            3 => (1.2, 1.4),
            v => {
                return Err(PodiumError::config(
                    "variant",
                    v,
                    "EfficientNet variants are 0 to 3 (B0..B3)",
                ));
            }
        })
    }

    /// Checks the variant, the sizes, the dropout and the pooling.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key: a variant other than 0..=3, zero classes or
    /// input channels, a dropout outside `[0, 1)`, a GeM exponent that is not `> 0`.
    pub fn validate(&self) -> Result<()> {
        self.multipliers()?;
        validate_head(
            self.num_classes,
            self.in_channels,
            self.drop_rate,
            &self.pool,
        )
    }

    /// Checks the values ([`Self::validate`]) and builds the network.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init(&self, device: &Device) -> Result<EfficientNet> {
        self.validate()?;
        let (width, depth) = self.multipliers()?;
        let ch = |c: usize| make_divisible(c as f64 * width);
        let stem = ch(32);
        let mut cin = stem;
        let blocks = B0_STAGES
            .iter()
            .map(|&(ir, repeats, k, stride, exp, c)| {
                let cout = ch(c);
                let n = (repeats as f64 * depth).ceil() as usize;
                (0..n)
                    .map(|i| {
                        let s = if i == 0 { stride } else { 1 };
                        let block = if ir {
                            MbBlock::inverted_residual(cin, cout, k, s, exp, device)
                        } else {
                            MbBlock::depthwise_separable(cin, cout, k, s, device)
                        };
                        cin = cout;
                        block
                    })
                    .collect()
            })
            .collect();
        let num_features = ch(1280);
        Ok(EfficientNet {
            conv_stem: conv(self.in_channels, stem, 3, 2, 1, false, device),
            bn1: bn(stem, device),
            blocks,
            conv_head: conv(cin, num_features, 1, 1, 1, false, device),
            bn2: bn(num_features, device),
            dropout: DropoutConfig::new(self.drop_rate).init(),
            classifier: self.pool.classifier(num_features, self.num_classes, device),
            pool: self.pool,
            num_features,
        })
    }
}

impl EfficientNet {
    /// The feature map after the head convolution, `[B, num_features, H / 32, W / 32]`.
    ///
    /// # Panics
    /// If the input's channel count differs from the model's (burn's convolution check).
    pub fn forward_features(&self, images: Tensor<4>) -> Tensor<4> {
        let mut x = batch_norm(&self.bn1, conv2d(&self.conv_stem, images), Activation::Silu);
        for block in self.blocks.iter().flatten() {
            x = block.forward(x);
        }
        batch_norm(&self.bn2, conv2d(&self.conv_head, x), Activation::Silu)
    }

    /// The pooled features, the classifier's input (timm's `pre_logits`): `[B, F]`.
    pub fn forward_pooled(&self, images: Tensor<4>) -> Tensor<2> {
        self.pool.forward(self.forward_features(images))
    }

    /// The classifier on pooled features: dropout, then the linear layer.
    pub fn forward_head(&self, pooled: Tensor<2>) -> Tensor<2> {
        crate::kernel::autocast::linear(&self.classifier, self.dropout.forward(pooled))
    }

    /// Channels of the feature map (1280 for B0 and B1, 1408 for B2, 1536 for B3).
    pub fn num_features(&self) -> usize {
        self.num_features
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
        self.classifier = pool.classifier(self.num_features, num_classes, device);
        self
    }

    /// A torchinfo-style summary for inputs of `input_shape` (`[B, C, H, W]`): stem, each
    /// block, head, pooling and classifier, with output shapes, parameters (trainable or
    /// frozen) and multiply-adds.
    pub fn summary(&self, input_shape: [usize; 4]) -> ModelSummary {
        let mut s = SummaryBuilder::new(input_shape);
        s.conv("conv_stem", &self.conv_stem);
        s.batch_norm("bn1", &self.bn1);
        for (stage, blocks) in self.blocks.iter().enumerate() {
            for (i, block) in blocks.iter().enumerate() {
                let mut shape = s.shape;
                let mut macs = 0;
                let convs = match &block.conv_pwl {
                    Some(pwl) => vec![&block.conv_pw, &block.conv_dw, pwl],
                    None => vec![&block.conv_dw, &block.conv_pw],
                };
                for (k, conv) in convs.into_iter().enumerate() {
                    let (out, m) = conv_step(conv, shape, s.batch);
                    macs += m;
                    // the squeeze-excitation runs on the depthwise output, at 1x1
                    let after_dw = (block.conv_pwl.is_some() && k == 1)
                        || (block.conv_pwl.is_none() && k == 0);
                    if after_dw {
                        let pooled = [out[0], 1, 1];
                        let (rd, m1) = conv_step(&block.se.conv_reduce, pooled, s.batch);
                        macs += m1 + conv_step(&block.se.conv_expand, rd, s.batch).1;
                    }
                    shape = out;
                }
                s.shape = shape;
                s.row(
                    &format!("blocks.{stage}.{i}"),
                    "MbBlock",
                    block,
                    &shape,
                    macs,
                );
            }
        }
        s.conv("conv_head", &self.conv_head);
        s.batch_norm("bn2", &self.bn2);
        let features = self.num_features * self.pool.feature_multiplier();
        s.head(
            "pool",
            &self.dropout,
            "classifier",
            &self.classifier,
            features,
        );
        s.finish(
            &format!("EfficientNet ({} features)", self.num_features),
            input_shape,
        )
    }

    /// Loads a timm state dict (`.safetensors`, or `.pth` from `torch.save`), e.g. timm's
    /// `efficientnet_b0.ra_in1k` `model.safetensors`.
    ///
    /// # Errors
    /// As [`load_weights`]: the file cannot be read, or a key is missing, unexpected or of
    /// another shape (named, with both shapes).
    pub fn load_file(self, path: impl AsRef<Path>) -> Result<Self> {
        load_weights(self, path.as_ref(), &LoadSpec::default())
    }

    /// Loads everything but the classifier (`classifier.*`), which keeps its fresh
    /// initialisation.
    ///
    /// # Errors
    /// As [`Self::load_file`], except that the classifier's keys and shapes are not checked.
    pub fn load_backbone(self, path: impl AsRef<Path>) -> Result<Self> {
        let spec = LoadSpec {
            remap: &[],
            exclude: Some(r"^classifier\."),
        };
        load_weights(self, path.as_ref(), &spec)
    }
}

impl ImageClassifier for EfficientNet {
    /// # Panics
    /// If the input's channel count differs from the model's (burn's convolution check).
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_head(self.forward_pooled(images))
    }

    /// `stem` (conv_stem, bn1), `blocks.0` .. `blocks.6`, `head` (conv_head, bn2, classifier).
    fn layer_groups(&self) -> Vec<(String, ParamGroup)> {
        let stem = ParamGroup::ids_from_module(self.conv_stem.clone())
            .fuse(&ParamGroup::ids_from_module(self.bn1.clone()));
        let mut groups = vec![("stem".to_string(), stem)];
        for (i, stage) in self.blocks.iter().enumerate() {
            groups.push((
                format!("blocks.{i}"),
                ParamGroup::ids_from_module(stage.clone()),
            ));
        }
        let head = ParamGroup::ids_from_module(self.conv_head.clone())
            .fuse(&ParamGroup::ids_from_module(self.bn2.clone()))
            .fuse(&ParamGroup::ids_from_module(self.classifier.clone()));
        groups.push(("head".into(), head));
        groups
    }
}

impl super::BatchNormLayers for EfficientNet {
    fn map_batch_norms(mut self, f: &mut dyn FnMut(BatchNorm) -> BatchNorm) -> Self {
        self.bn1 = f(self.bn1);
        self.blocks = std::mem::take(&mut self.blocks)
            .into_iter()
            .map(|stage| {
                stage
                    .into_iter()
                    .map(|mut b| {
                        b.bn1 = f(b.bn1);
                        b.bn2 = f(b.bn2);
                        b.bn3 = b.bn3.map(&mut *f);
                        b
                    })
                    .collect()
            })
            .collect();
        self.bn2 = f(self.bn2);
        self
    }
}
