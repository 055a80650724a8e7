//! Additive-margin softmax heads: ArcFace (Deng et al. 2019), CosFace (Wang et al. 2018,
//! "CosFace") and AM-Softmax (Wang et al. 2018, "Additive Margin Softmax").

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::{
    CrossEntropyLoss, CrossEntropyLossConfig, assert_hard_targets, validate_non_negative,
    validate_positive,
};
use crate::error::{PodiumError, Result};
use crate::kernel;

/// The margin a [`MarginHead`] applies to the target class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarginKind {
    /// Additive angular margin: `phi = cos(theta + m)` (insightface's form; with `easy_margin`
    /// off, `phi = cos - m sin(m)` where `cos <= cos(pi - m)`).
    ArcFace {
        /// insightface's `easy_margin`: apply the margin only where `cos > 0`.
        easy_margin: bool,
    },
    /// Large margin cosine: `phi = cos - m`.
    CosFace,
    /// Additive margin softmax: `phi = cos - m` (the same form, usually with `s = 30`).
    AmSoftmax,
}

/// Configuration of a [`MarginHead`].
#[derive(Config, Debug)]
pub struct MarginHeadConfig {
    /// Embedding size `D`.
    pub in_features: usize,
    /// Number of classes `C`.
    pub num_classes: usize,
    /// The margin kind.
    pub kind: MarginKind,
    /// Scale `s` of the logits.
    pub s: f64,
    /// Margin `m` (radians for ArcFace).
    pub m: f64,
}

impl MarginHeadConfig {
    /// ArcFace with insightface's defaults `s = 64`, `m = 0.5`, `easy_margin = false`.
    pub fn arcface(in_features: usize, num_classes: usize) -> Self {
        Self::new(
            in_features,
            num_classes,
            MarginKind::ArcFace { easy_margin: false },
            64.0,
            0.5,
        )
    }

    /// CosFace with the paper's `s = 64`, `m = 0.35`.
    pub fn cosface(in_features: usize, num_classes: usize) -> Self {
        Self::new(in_features, num_classes, MarginKind::CosFace, 64.0, 0.35)
    }

    /// AM-Softmax with the paper's `s = 30`, `m = 0.35`.
    pub fn am_softmax(in_features: usize, num_classes: usize) -> Self {
        Self::new(in_features, num_classes, MarginKind::AmSoftmax, 30.0, 0.35)
    }

    /// Checks the sizes, the scale and the margin.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for zero sizes, a non-positive scale or a negative margin.
    pub fn validate(&self) -> Result<()> {
        if self.in_features == 0 || self.num_classes == 0 {
            return Err(PodiumError::config(
                "in_features/num_classes",
                format!("{}/{}", self.in_features, self.num_classes),
                "must be at least 1",
            ));
        }
        validate_positive("s", self.s)?;
        validate_non_negative("m", self.m)
    }

    /// Builds the head with Xavier-uniform class weights `[C, D]` on `device`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for zero sizes, a non-positive scale or a negative margin.
    pub fn init(&self, device: &Device) -> Result<MarginHead> {
        self.validate()?;
        let weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
            [self.num_classes, self.in_features],
            Some(self.in_features),
            Some(self.num_classes),
            device,
        );
        Ok(MarginHead {
            weight,
            s: self.s as f32,
            m: self.m as f32,
            kind: self.kind,
        })
    }

    /// Builds the head around given class weights `[C, D]` (e.g. loaded from a checkpoint).
    ///
    /// # Errors
    /// As [`Self::init`], and when the weight's shape is not `[num_classes, in_features]`.
    pub fn init_with_weight(&self, weight: Tensor<2>) -> Result<MarginHead> {
        self.validate()?;
        if weight.dims() != [self.num_classes, self.in_features] {
            return Err(PodiumError::config(
                "weight",
                format!("{:?}", weight.dims()),
                format!("expected [{}, {}]", self.num_classes, self.in_features),
            ));
        }
        Ok(MarginHead {
            weight: Param::from_tensor(weight),
            s: self.s as f32,
            m: self.m as f32,
            kind: self.kind,
        })
    }
}

/// A classifier head that holds the class weights `W` `[C, D]` and works on cosines:
/// `cos = normalize(x) normalize(W)^T` (rows, L2, eps `1e-12` as `torch.nn.functional.normalize`;
/// fused on flex in f32, [`kernel::l2_normalize`]).
///
/// At train time ([`Self::forward_train`]) the target column is replaced by the margin logit
/// `phi` and everything is scaled: `logits = s (onehot * phi + (1 - onehot) * cos)`, to be fed to
/// cross-entropy ([`Self::loss`] does both). At inference ([`Self::forward`]) the logits are the
/// plain scaled cosines `s cos`. The scale and the margin are held in the logits' precision (f32).
///
/// The margin touches one entry per row, so it is computed on the gathered target cosines
/// (`[B, 1]`) and added into `s cos` with a scatter (`s (phi - cos)` at the target); the
/// cross-entropy of [`Self::loss`] is podium's fused one ([`crate::kernel::cross_entropy_hard`]).
#[derive(Module, Debug)]
pub struct MarginHead {
    /// Class weights `[C, D]`.
    pub weight: Param<Tensor<2>>,
    s: f32,
    m: f32,
    #[module(skip)]
    kind: MarginKind,
}

impl MarginHead {
    /// Cosine similarities `[B, C]` of embeddings `[B, D]` to the class weights.
    ///
    /// # Panics
    /// If the embedding size differs from the weights' `D`.
    pub fn cosine(&self, x: Tensor<2>) -> Tensor<2> {
        let [_, d] = x.dims();
        let [_, wd] = self.weight.dims();
        assert_eq!(
            d,
            wd,
            "MarginHead: embeddings {:?} against class weights {:?}",
            x.dims(),
            self.weight.dims()
        );
        kernel::l2_normalize(x).matmul(kernel::l2_normalize(self.weight.val()).transpose())
    }

    /// Inference logits `s cos`, `[B, C]`.
    ///
    /// # Panics
    /// As [`Self::cosine`].
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.cosine(x) * self.s as f64
    }

    /// Training logits with the margin on each sample's target class, `[B, C]`.
    ///
    /// # Panics
    /// As [`Self::cosine`], and if the batch differs from the targets' length.
    pub fn forward_train(&self, x: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<2> {
        let cos = self.cosine(x);
        assert_hard_targets("MarginHead", &cos, &targets);
        let [b, _] = cos.dims();
        let m = self.m as f64;
        let s = self.s as f64;
        let y = targets.reshape([b, 1]);
        let all = cos.clone() * s;
        // the margin on the target column only, [B, 1]
        let cos = cos.gather(1, y.clone());
        let phi = match self.kind {
            MarginKind::CosFace | MarginKind::AmSoftmax => cos.clone() - m,
            MarginKind::ArcFace { easy_margin } => {
                let sine = ((cos.clone() * cos.clone()).neg() + 1.0)
                    .clamp(0.0, 1.0)
                    .sqrt();
                let phi = cos.clone() * m.cos() - sine * m.sin();
                if easy_margin {
                    cos.clone().mask_where(cos.clone().greater_elem(0.0), phi)
                } else {
                    let th = (std::f64::consts::PI - m).cos();
                    let mm = (std::f64::consts::PI - m).sin() * m;
                    (cos.clone() - mm).mask_where(cos.clone().greater_elem(th), phi)
                }
            }
        };
        // s cos + s (phi - cos) at the target (a scatter-add: every backend has it)
        all.scatter(1, y, (phi - cos) * s, IndexingUpdateOp::Add)
    }

    /// Mean cross-entropy of the training logits.
    ///
    /// # Panics
    /// As [`Self::forward_train`].
    pub fn loss(&self, x: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        let logits = self.forward_train(x, targets.clone());
        let ce: CrossEntropyLoss = CrossEntropyLossConfig::new()
            .init()
            .expect("default config");
        ce.forward(logits, targets)
    }

    /// The margin kind.
    pub fn kind(&self) -> MarginKind {
        self.kind
    }
}
