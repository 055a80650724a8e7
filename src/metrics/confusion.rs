//! The confusion matrix and the metrics read from it: accuracy, balanced accuracy, macro F1.

use super::{argmax_rows, check_shapes};

/// Counts `[true class][predicted class]` (scikit-learn's `confusion_matrix` with
/// `labels=range(C)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// The matrix of hard predictions `preds` against `labels`, over `num_classes` classes.
    ///
    /// # Panics
    /// If the two differ in length or a class is not below `num_classes`.
    pub fn new(labels: &[usize], preds: &[usize], num_classes: usize) -> Self {
        assert_eq!(
            labels.len(),
            preds.len(),
            "ConfusionMatrix: {} labels but {} predictions",
            labels.len(),
            preds.len()
        );
        let mut counts = vec![vec![0u64; num_classes]; num_classes];
        for (&t, &p) in labels.iter().zip(preds) {
            assert!(
                t < num_classes && p < num_classes,
                "ConfusionMatrix: class {t} or {p} is not below num_classes = {num_classes}"
            );
            counts[t][p] += 1;
        }
        Self { counts }
    }

    /// The matrix of the arg-max predictions of `probs` (`[N, C]` row by row).
    ///
    /// # Panics
    /// As [`super::Metric::compute`].
    pub fn from_probs(probs: &[f32], labels: &[usize], num_classes: usize) -> Self {
        check_shapes(probs, labels, num_classes);
        Self::new(labels, &argmax_rows(probs, num_classes), num_classes)
    }

    /// `counts[t][p]`: samples of class `t` predicted as `p`.
    pub fn counts(&self) -> &[Vec<u64>] {
        &self.counts
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Samples of class `c` (row sum).
    pub fn support(&self, c: usize) -> u64 {
        self.counts[c].iter().sum()
    }

    /// Samples predicted as `c` (column sum).
    pub fn predicted(&self, c: usize) -> u64 {
        self.counts.iter().map(|row| row[c]).sum()
    }

    /// Precision of class `c`: `TP / (TP + FP)`, 0 when nothing is predicted as `c`
    /// (scikit-learn's `zero_division=0`).
    pub fn precision(&self, c: usize) -> f64 {
        ratio(self.counts[c][c], self.predicted(c))
    }

    /// Recall of class `c`: `TP / (TP + FN)`, 0 for a class without samples.
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.counts[c][c], self.support(c))
    }

    /// F1 of class `c`: `2 TP / (2 TP + FP + FN)` (the harmonic mean of precision and recall),
    /// 0 when the class is neither present nor predicted.
    pub fn f1(&self, c: usize) -> f64 {
        let tp = self.counts[c][c];
        ratio(2 * tp, self.support(c) + self.predicted(c))
    }

    /// The fraction of samples on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let total: u64 = (0..self.num_classes()).map(|c| self.support(c)).sum();
        let hit: u64 = (0..self.num_classes()).map(|c| self.counts[c][c]).sum();
        ratio(hit, total)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Top-1 accuracy in percent: `100 * mean(argmax(p_i) == y_i)`.
///
/// # Panics
/// As [`super::Metric::compute`].
pub fn accuracy(probs: &[f32], labels: &[usize], num_classes: usize) -> f64 {
    100.0 * ConfusionMatrix::from_probs(probs, labels, num_classes).accuracy()
}

/// Balanced accuracy in percent: the mean recall over the classes present in `labels`
/// (scikit-learn's `balanced_accuracy_score`, Brodersen et al. 2010).
///
/// # Panics
/// As [`super::Metric::compute`].
pub fn balanced_accuracy(probs: &[f32], labels: &[usize], num_classes: usize) -> f64 {
    let cm = ConfusionMatrix::from_probs(probs, labels, num_classes);
    let present: Vec<usize> = (0..num_classes).filter(|&c| cm.support(c) > 0).collect();
    100.0 * present.iter().map(|&c| cm.recall(c)).sum::<f64>() / present.len() as f64
}

/// Macro F1: the unweighted mean of the per-class F1 over the classes present in `labels` or
/// in the predictions (scikit-learn's `f1_score(average="macro", zero_division=0)` without a
/// `labels` argument).
///
/// # Panics
/// As [`super::Metric::compute`].
pub fn macro_f1(probs: &[f32], labels: &[usize], num_classes: usize) -> f64 {
    let cm = ConfusionMatrix::from_probs(probs, labels, num_classes);
    let seen: Vec<usize> = (0..num_classes)
        .filter(|&c| cm.support(c) > 0 || cm.predicted(c) > 0)
        .collect();
    seen.iter().map(|&c| cm.f1(c)).sum::<f64>() / seen.len() as f64
}
