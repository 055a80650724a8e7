//! Quadratic weighted Cohen's kappa, the metric of ordinal-label competitions.

use super::{ConfusionMatrix, argmax_rows, check_shapes};

/// Cohen's kappa with quadratic weights of the arg-max predictions against `labels`
/// (scikit-learn's `cohen_kappa_score(y, p.argmax(1), weights="quadratic")`):
/// `kappa = 1 - sum_ij w_ij O_ij / sum_ij w_ij E_ij` with `O` the confusion matrix, `E` the
/// outer product of its row and column sums divided by `N`, and `w_ij = (i - j)^2` over the
/// sorted classes that occur in `labels` or in the predictions (scikit-learn's default
/// `labels=None`; classes that occur nowhere do not widen the distances). 1 when both raters
/// agree on a single class (no disagreement is possible).
///
/// # Panics
/// As [`super::Metric::compute`].
pub fn quadratic_weighted_kappa(probs: &[f32], labels: &[usize], num_classes: usize) -> f64 {
    let n = check_shapes(probs, labels, num_classes);
    let preds = argmax_rows(probs, num_classes);
    let full = ConfusionMatrix::new(labels, &preds, num_classes);
    let seen: Vec<usize> = (0..num_classes)
        .filter(|&c| full.support(c) > 0 || full.predicted(c) > 0)
        .collect();
    let k = seen.len();
    let counts = full.counts();
    let rows: Vec<f64> = seen.iter().map(|&c| full.support(c) as f64).collect();
    let cols: Vec<f64> = seen.iter().map(|&c| full.predicted(c) as f64).collect();
    let (mut observed, mut expected) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let w = (i as f64 - j as f64).powi(2);
            observed += w * counts[seen[i]][seen[j]] as f64;
            expected += w * rows[i] * cols[j] / n as f64;
        }
    }
    if expected == 0.0 {
        1.0
    } else {
        1.0 - observed / expected
    }
}
