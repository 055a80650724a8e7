//! [`LossConfig`]: the training objective of a [`Learner`](crate::learner::Learner), one
//! serializable choice among the single-label losses, and how it combines with batch mixing.

use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use super::{
    AsymmetricLossSingleLabel, AsymmetricLossSingleLabelConfig, ClassBalancedLoss,
    ClassBalancedLossConfig, ClassBalancedLossType, CrossEntropyLoss, CrossEntropyLossConfig,
    Poly1CrossEntropy, Poly1CrossEntropyConfig, SoftTargetCrossEntropy, SoftmaxFocalLoss,
    SoftmaxFocalLossConfig, TopKLoss, TopKLossConfig, validate_unit_interval,
};
use crate::error::{PodiumError, Result};
use crate::mix::MixTargets;

/// A single-label training loss, by name and hyper-parameters (timm's vocabulary).
///
/// Label smoothing is not one of them: a run sets it once and [`Self::init`] takes it (the
/// [`Learner`](crate::learner::Learner) hands it to the loss, or to the mixer when batches are
/// mixed). The losses that smooth their targets are cross-entropy, Poly-1, the single-label
/// asymmetric loss (timm's `eps`) and top-k; the others refuse a non-zero value.
///
/// | variant | builds | torch / timm |
/// |---|---|---|
/// | `CrossEntropy` | [`CrossEntropyLossConfig`] | `nn.CrossEntropyLoss(weight, label_smoothing)` |
/// | `Focal` | [`SoftmaxFocalLossConfig`] | softmax focal loss, per-class alpha |
/// | `Poly1` | [`Poly1CrossEntropyConfig`] | `timm.loss.PolyCrossEntropy` |
/// | `ClassBalanced` | [`ClassBalancedLossConfig`] | Cui et al. 2019, from the class counts |
/// | `AsymmetricSingleLabel` | [`AsymmetricLossSingleLabelConfig`] | `timm.loss.AsymmetricLossSingleLabel` |
/// | `TopK` | [`TopKLossConfig`] | online hard example mining |
///
/// Unknown keys are refused when a recipe is read (a 0.1 recipe's `label_smoothing` inside the
/// loss is an error, not a silently dropped value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LossConfig {
    /// [`CrossEntropyLoss`](super::CrossEntropyLoss).
    CrossEntropy {
        /// Per-class weights (torch's `weight`), one per class of the data.
        weight: Option<Vec<f64>>,
    },
    /// [`SoftmaxFocalLoss`](super::SoftmaxFocalLoss).
    Focal {
        /// Focusing parameter `gamma >= 0`.
        gamma: f64,
        /// Per-class alpha, one per class of the data.
        alpha: Option<Vec<f64>>,
    },
    /// [`Poly1CrossEntropy`](super::Poly1CrossEntropy).
    Poly1 {
        /// Weight of the polynomial term.
        epsilon: f64,
    },
    /// [`ClassBalancedLoss`](super::ClassBalancedLoss) from the training set's class counts.
    ClassBalanced {
        /// `beta` in `[0, 1)`.
        beta: f64,
        /// Focusing parameter (focal type).
        gamma: f64,
        /// The weighted loss.
        loss_type: ClassBalancedLossType,
    },
    /// [`AsymmetricLossSingleLabel`](super::AsymmetricLossSingleLabel); its smoothing (timm's
    /// `eps`) is the run's label smoothing.
    AsymmetricSingleLabel {
        /// Exponent of the target class.
        gamma_pos: f64,
        /// Exponent of the other classes.
        gamma_neg: f64,
    },
    /// [`TopKLoss`](super::TopKLoss) (online hard example mining); does not combine with mixing.
    TopK {
        /// Samples kept per batch.
        k: usize,
    },
}

impl Default for LossConfig {
    /// Plain cross-entropy, no class weights.
    fn default() -> Self {
        Self::CrossEntropy { weight: None }
    }
}

impl LossConfig {
    /// The variant's name, as serialized (`CrossEntropy`, `Focal`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::CrossEntropy { .. } => "CrossEntropy",
            Self::Focal { .. } => "Focal",
            Self::Poly1 { .. } => "Poly1",
            Self::ClassBalanced { .. } => "ClassBalanced",
            Self::AsymmetricSingleLabel { .. } => "AsymmetricSingleLabel",
            Self::TopK { .. } => "TopK",
        }
    }

    /// Whether the loss smooths its targets, i.e. takes a non-zero `label_smoothing` in
    /// [`Self::init`] (cross-entropy, Poly-1, single-label asymmetric, top-k).
    pub fn supports_label_smoothing(&self) -> bool {
        !matches!(self, Self::Focal { .. } | Self::ClassBalanced { .. })
    }

    /// Whether the loss combines with batch mixing (every loss but top-k).
    pub fn supports_mixing(&self) -> bool {
        !matches!(self, Self::TopK { .. })
    }

    /// Whether a mixed batch trains on the mixer's soft targets (timm's recipe: unweighted
    /// cross-entropy as [`SoftTargetCrossEntropy`](super::SoftTargetCrossEntropy), Poly-1); the
    /// other losses mix their per-sample values the fastai way
    /// ([`Objective::forward_mixed`]).
    pub fn mixes_soft_targets(&self) -> bool {
        matches!(
            self,
            Self::CrossEntropy { weight: None } | Self::Poly1 { .. }
        )
    }

    /// Checks that the loss takes `label_smoothing` (in `[0, 1)`, and none for the losses
    /// without smoothing), without building it.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`label_smoothing`) as [`Self::init`].
    pub fn validate_smoothing(&self, label_smoothing: f64) -> Result<()> {
        validate_unit_interval("label_smoothing", label_smoothing)?;
        if label_smoothing != 0.0 && !self.supports_label_smoothing() {
            return Err(PodiumError::config(
                "label_smoothing",
                label_smoothing,
                format!(
                    "the {} loss has no label smoothing (CrossEntropy, Poly1, \
                     AsymmetricSingleLabel and TopK have)",
                    self.name()
                ),
            ));
        }
        Ok(())
    }

    /// Checks the hyper-parameters without data (the class count is taken from a weight or
    /// alpha vector when there is one).
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn validate(&self) -> Result<()> {
        let n = match self {
            Self::CrossEntropy { weight: Some(w) } => w.len(),
            Self::Focal { alpha: Some(a), .. } => a.len(),
            _ => 2,
        };
        self.init(&vec![1; n], 0.0).map(|_| ())
    }

    /// Checks the values and builds the objective for a training set with `class_counts`, with
    /// the run's `label_smoothing` (`eps` in `[0, 1)`; 0 for none).
    ///
    /// # Errors
    /// [`PodiumError::Config`]: the loss's own (keys prefixed with `loss.`), a weight or alpha
    /// vector whose length is not the class count, and `label_smoothing` outside `[0, 1)` or
    /// non-zero for a loss without smoothing.
    pub fn init(&self, class_counts: &[usize], label_smoothing: f64) -> Result<Objective> {
        self.validate_smoothing(label_smoothing)?;
        let per_class = |key: &str, len: usize| {
            if len == class_counts.len() {
                Ok(())
            } else {
                Err(PodiumError::config(
                    format!("loss.{key}"),
                    format!("{len} values"),
                    format!("the data has {} classes", class_counts.len()),
                ))
            }
        };
        let prefix = |e: PodiumError| e.in_section("loss");
        let kind = match self.clone() {
            Self::CrossEntropy { weight } => {
                if let Some(w) = &weight {
                    per_class("weight", w.len())?;
                }
                Kind::CrossEntropy(
                    CrossEntropyLossConfig::new()
                        .with_label_smoothing(label_smoothing)
                        .with_weight(weight)
                        .init()
                        .map_err(prefix)?,
                )
            }
            Self::Focal { gamma, alpha } => {
                if let Some(a) = &alpha {
                    per_class("alpha", a.len())?;
                }
                Kind::Focal(
                    SoftmaxFocalLossConfig::new()
                        .with_gamma(gamma)
                        .with_alpha(alpha)
                        .init()
                        .map_err(prefix)?,
                )
            }
            Self::Poly1 { epsilon } => Kind::Poly1(
                Poly1CrossEntropyConfig::new()
                    .with_epsilon(epsilon)
                    .with_label_smoothing(label_smoothing)
                    .init()
                    .map_err(prefix)?,
            ),
            Self::ClassBalanced {
                beta,
                gamma,
                loss_type,
            } => Kind::ClassBalanced(
                ClassBalancedLossConfig::new(class_counts.to_vec())
                    .with_beta(beta)
                    .with_gamma(gamma)
                    .with_loss_type(loss_type)
                    .init()
                    .map_err(prefix)?,
            ),
            Self::AsymmetricSingleLabel {
                gamma_pos,
                gamma_neg,
            } => Kind::Asymmetric(
                AsymmetricLossSingleLabelConfig::new()
                    .with_gamma_pos(gamma_pos)
                    .with_gamma_neg(gamma_neg)
                    .with_eps(label_smoothing)
                    .init()
                    .map_err(prefix)?,
            ),
            Self::TopK { k } => Kind::TopK(
                TopKLossConfig::new(k)
                    .with_label_smoothing(label_smoothing)
                    .init()
                    .map_err(prefix)?,
            ),
        };
        Ok(Objective { kind })
    }
}

#[derive(Clone, Debug)]
enum Kind {
    CrossEntropy(CrossEntropyLoss),
    Focal(SoftmaxFocalLoss),
    Poly1(Poly1CrossEntropy),
    ClassBalanced(ClassBalancedLoss),
    Asymmetric(AsymmetricLossSingleLabel),
    TopK(TopKLoss),
}

/// A built [`LossConfig`]: the reduced training loss for plain and for mixed batches.
#[derive(Clone, Debug)]
pub struct Objective {
    kind: Kind,
}

impl Objective {
    /// Whether the loss combines with batch mixing.
    pub fn supports_mixing(&self) -> bool {
        !matches!(self.kind, Kind::TopK(_))
    }

    /// The loss on a plain batch, `[1]`, with each loss's own reduction semantics.
    ///
    /// # Panics
    /// If `logits` is not `[B, C]` with `B = targets.len()`.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        match &self.kind {
            Kind::CrossEntropy(l) => l.forward(logits, targets),
            Kind::Focal(l) => l.forward(logits, targets),
            Kind::Poly1(l) => l.forward(logits, targets),
            Kind::ClassBalanced(l) => l.forward(logits, targets),
            Kind::Asymmetric(l) => l.forward(logits, targets),
            Kind::TopK(l) => l.forward(logits, targets),
        }
    }

    /// The loss on a mixed batch, `[1]`: unweighted cross-entropy trains on the soft targets
    /// with [`SoftTargetCrossEntropy`] (timm's recipe), Poly-1 on the soft targets too; the other
    /// losses use fastai's form `mean_i(lam_i l(x_i, y_a,i) + (1 - lam_i) l(x_i, y_b,i))`
    /// ([`MixTargets::mix_losses`]) on their per-sample values (class-balanced: the per-sample
    /// sum of its weighted terms).
    ///
    /// # Panics
    /// If the loss does not combine with mixing ([`Self::supports_mixing`]), or shapes differ.
    pub fn forward_mixed(
        &self,
        logits: Tensor<2>,
        targets_a: Tensor<1, Int>,
        mix: &MixTargets,
    ) -> Tensor<1> {
        let device = logits.device();
        let targets_b = || mix.targets_b(&device);
        match &self.kind {
            Kind::CrossEntropy(l) if !l.is_weighted() => {
                SoftTargetCrossEntropy.forward(logits, mix.soft_targets.clone())
            }
            Kind::CrossEntropy(l) => mix.mix_losses(
                l.forward_no_reduction(logits.clone(), targets_a),
                l.forward_no_reduction(logits, targets_b()),
            ),
            Kind::Poly1(l) => l.forward_soft(logits, mix.soft_targets.clone()),
            Kind::Focal(l) => mix.mix_losses(
                l.forward_no_reduction(logits.clone(), targets_a),
                l.forward_no_reduction(logits, targets_b()),
            ),
            Kind::Asymmetric(l) => mix.mix_losses(
                l.forward_no_reduction(logits.clone(), targets_a),
                l.forward_no_reduction(logits, targets_b()),
            ),
            Kind::ClassBalanced(l) => mix.mix_losses(
                l.forward_per_sample(logits.clone(), targets_a),
                l.forward_per_sample(logits, targets_b()),
            ),
            Kind::TopK(_) => panic!("the top-k loss does not combine with batch mixing"),
        }
    }
}
