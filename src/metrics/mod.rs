//! Competition metrics on predicted class probabilities, with scikit-learn's definitions: what
//! picks the best checkpoint, drives early stopping and is reported per fold.
//!
//! Every function takes `probs`, the `[N, C]` probabilities flattened row by row, and `labels`,
//! the `N` true class indices (hard predictions are each row's arg-max, the first of equals, as
//! `numpy.argmax`).
//!
//! | podium | scikit-learn | Kaggle name |
//! |---|---|---|
//! | [`Metric::Accuracy`], [`accuracy`] | `accuracy_score(y, p.argmax(1))` | categorization accuracy |
//! | [`Metric::BalancedAccuracy`], [`balanced_accuracy`] | `balanced_accuracy_score` | mean recall |
//! | [`Metric::MacroF1`], [`macro_f1`] | `f1_score(average="macro", zero_division=0)` | macro F1 |
//! | [`Metric::Auc`], [`roc_auc_ovr`] | `roc_auc_score(y, p[:, 1])` (2 classes), `roc_auc_score(y, p, multi_class="ovr", average="macro")` | AUC |
//! | [`Metric::Qwk`], [`quadratic_weighted_kappa`] | `cohen_kappa_score(y, p.argmax(1), weights="quadratic")` | quadratic weighted kappa |
//! | [`Metric::LogLoss`], [`log_loss`] | `log_loss(y, p, labels=range(C))` with Kaggle's clipping to `[1e-15, 1 - 1e-15]` | multi-class log loss |

mod auc;
mod confusion;
mod kappa;
mod log_loss;

pub use auc::{binary_roc_auc, roc_auc_ovr};
pub use confusion::{ConfusionMatrix, accuracy, balanced_accuracy, macro_f1};
pub use kappa::quadratic_weighted_kappa;
pub use log_loss::{LOG_LOSS_EPS, log_loss};

use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};

/// A competition metric by name (see the module docs for the formulas).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Top-1 accuracy, percent.
    #[default]
    Accuracy,
    /// Mean per-class recall, percent.
    BalancedAccuracy,
    /// Unweighted mean of the per-class F1 scores.
    MacroF1,
    /// One-vs-rest macro ROC AUC (binary AUC of class 1 for two classes).
    Auc,
    /// Quadratic weighted Cohen's kappa (ordinal labels).
    Qwk,
    /// Mean negative log-likelihood of the true class, probabilities clipped.
    LogLoss,
}

impl Metric {
    /// Every metric, in the order of the module docs.
    pub const ALL: [Metric; 6] = [
        Metric::Accuracy,
        Metric::BalancedAccuracy,
        Metric::MacroF1,
        Metric::Auc,
        Metric::Qwk,
        Metric::LogLoss,
    ];

    /// The metric's name in recipes: `accuracy`, `balanced_accuracy`, `macro_f1`, `auc`, `qwk`,
    /// `log_loss`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::MacroF1 => "macro_f1",
            Metric::Auc => "auc",
            Metric::Qwk => "qwk",
            Metric::LogLoss => "log_loss",
        }
    }

    /// The metric named `name` (as [`Self::name`] spells it).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`metric`) naming the value and the valid names.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
                PodiumError::config(
                    "metric",
                    name,
                    format!("unknown metric; expected one of {}", names.join(", ")),
                )
            })
    }

    /// Whether a higher value is better (all but the log loss).
    pub fn higher_is_better(self) -> bool {
        self != Metric::LogLoss
    }

    /// The metric of `probs` (`[N, C]` row by row) against `labels`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`metric`) when the metric is undefined for the data: AUC with a
    /// class absent from `labels`.
    ///
    /// # Panics
    /// If `probs.len() != labels.len() * num_classes`, `labels` is empty, or a label is not below
    /// `num_classes`.
    pub fn compute(self, probs: &[f32], labels: &[usize], num_classes: usize) -> Result<f64> {
        Ok(match self {
            Metric::Accuracy => accuracy(probs, labels, num_classes),
            Metric::BalancedAccuracy => balanced_accuracy(probs, labels, num_classes),
            Metric::MacroF1 => macro_f1(probs, labels, num_classes),
            Metric::Auc => roc_auc_ovr(probs, labels, num_classes)?,
            Metric::Qwk => quadratic_weighted_kappa(probs, labels, num_classes),
            Metric::LogLoss => log_loss(probs, labels, num_classes),
        })
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks the shapes shared by every metric; returns the number of samples.
///
/// # Panics
/// As [`Metric::compute`].
pub(crate) fn check_shapes(probs: &[f32], labels: &[usize], num_classes: usize) -> usize {
    let n = labels.len();
    assert!(n > 0, "metric: no samples (labels is empty)");
    assert!(num_classes > 0, "metric: num_classes must be at least 1");
    assert_eq!(
        probs.len(),
        n * num_classes,
        "metric: probs has {} values, labels {} samples of {} classes ([N, C] = [{}, {}] expected)",
        probs.len(),
        n,
        num_classes,
        n,
        num_classes
    );
    if let Some(&bad) = labels.iter().find(|&&l| l >= num_classes) {
        panic!("metric: label {bad} is not below num_classes = {num_classes}");
    }
    n
}

/// Each row's arg-max (the first of equal maxima, as `numpy.argmax`).
pub fn argmax_rows(probs: &[f32], num_classes: usize) -> Vec<usize> {
    probs
        .chunks(num_classes)
        .map(|row| {
            let mut best = 0;
            for (i, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}
