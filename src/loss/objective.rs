//! [`LossConfig`]: the training objective of a [`Learner`](crate::learner::Learner), one
//! serializable choice among the single-label losses, and how it combines with batch mixing.

use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use super::{
    AsymmetricLossSingleLabel, AsymmetricLossSingleLabelConfig, ClassBalancedLoss,
    ClassBalancedLossConfig, ClassBalancedLossType, CrossEntropyLoss, CrossEntropyLossConfig,
    Poly1CrossEntropy, Poly1CrossEntropyConfig, SoftTargetCrossEntropy, SoftmaxFocalLoss,
    SoftmaxFocalLossConfig, TopKLoss, TopKLossConfig,
};
use crate::error::{PodiumError, Result};
use crate::mix::MixTargets;

/// A single-label training loss, by name and hyperparameters (timm's vocabulary).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LossConfig {
    /// [`CrossEntropyLoss`](super::CrossEntropyLoss).
    CrossEntropy {
        /// Label smoothing in `[0, 1)`.
        label_smoothing: f32,
        /// Per-class weights.
        weight: Option<Vec<f32>>,
    },
    /// [`SoftmaxFocalLoss`](super::SoftmaxFocalLoss).
    Focal {
        /// Focusing parameter.
        gamma: f32,
        /// Per-class alpha.
        alpha: Option<Vec<f32>>,
    },
    /// [`Poly1CrossEntropy`](super::Poly1CrossEntropy).
    Poly1 {
        /// Weight of the polynomial term.
        epsilon: f32,
        /// Label smoothing in `[0, 1)`.
        label_smoothing: f32,
    },
    /// [`ClassBalancedLoss`](super::ClassBalancedLoss) from the training set's class counts.
    ClassBalanced {
        /// `beta` in `[0, 1)`.
        beta: f64,
        /// Focusing parameter (focal type).
        gamma: f32,
        /// The weighted loss.
        loss_type: ClassBalancedLossType,
    },
    /// [`AsymmetricLossSingleLabel`](super::AsymmetricLossSingleLabel).
    AsymmetricSingleLabel {
        /// Exponent of the target class.
        gamma_pos: f32,
        /// Exponent of the other classes.
        gamma_neg: f32,
        /// Label smoothing.
        eps: f32,
    },
    /// [`TopKLoss`](super::TopKLoss) (online hard example mining); does not combine with mixing.
    TopK {
        /// Samples kept per batch.
        k: usize,
    },
}

impl Default for LossConfig {
    fn default() -> Self {
        Self::cross_entropy(0.0)
    }
}

impl LossConfig {
    /// Cross-entropy with label smoothing `eps`.
    pub fn cross_entropy(label_smoothing: f32) -> Self {
        Self::CrossEntropy {
            label_smoothing,
            weight: None,
        }
    }

    /// Label smoothing the loss applies itself (0 for losses without it).
    pub fn label_smoothing(&self) -> f32 {
        match self {
            Self::CrossEntropy {
                label_smoothing, ..
            }
            | Self::Poly1 {
                label_smoothing, ..
            } => *label_smoothing,
            _ => 0.0,
        }
    }

    /// Checks the hyperparameters without data (the class count is taken from a weight or alpha
    /// vector when there is one).
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn validate(&self) -> Result<()> {
        let n = match self {
            Self::CrossEntropy {
                weight: Some(w), ..
            } => w.len(),
            Self::Focal { alpha: Some(a), .. } => a.len(),
            _ => 2,
        };
        self.init(&vec![1; n]).map(|_| ())
    }

    /// Checks the values and builds the objective for a training set with `class_counts`.
    ///
    /// # Errors
    /// The loss's own [`PodiumError::Config`] (keys prefixed with `loss.`).
    pub fn init(&self, class_counts: &[usize]) -> Result<Objective> {
        let prefix = |e: PodiumError| e.in_section("loss");
        let kind = match self.clone() {
            Self::CrossEntropy {
                label_smoothing,
                weight,
            } => {
                if let Some(w) = &weight
                    && w.len() != class_counts.len()
                {
                    return Err(PodiumError::config(
                        "loss.weight",
                        format!("{} values", w.len()),
                        format!("the data has {} classes", class_counts.len()),
                    ));
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
                if let Some(a) = &alpha
                    && a.len() != class_counts.len()
                {
                    return Err(PodiumError::config(
                        "loss.alpha",
                        format!("{} values", a.len()),
                        format!("the data has {} classes", class_counts.len()),
                    ));
                }
                Kind::Focal(
                    SoftmaxFocalLossConfig::new()
                        .with_gamma(gamma)
                        .with_alpha(alpha)
                        .init()
                        .map_err(prefix)?,
                )
            }
            Self::Poly1 {
                epsilon,
                label_smoothing,
            } => Kind::Poly1(
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
                eps,
            } => Kind::Asymmetric(
                AsymmetricLossSingleLabelConfig::new()
                    .with_gamma_pos(gamma_pos)
                    .with_gamma_neg(gamma_neg)
                    .with_eps(eps)
                    .init()
                    .map_err(prefix)?,
            ),
            Self::TopK { k } => Kind::TopK(TopKLossConfig::new(k).init().map_err(prefix)?),
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
