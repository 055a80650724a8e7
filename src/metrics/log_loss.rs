//! Multi-class log loss with Kaggle's clipping.

use super::check_shapes;

/// The clipping of [`log_loss`]: probabilities are kept in `[1e-15, 1 - 1e-15]` (Kaggle's
/// multi-class log loss, and scikit-learn's `eps` before 1.5).
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// Mean negative log-likelihood of the true class:
/// `-(1/N) sum_i ln(q_i,y_i)` with `q_i = clip(p_i, eps, 1 - eps) / sum_c clip(p_i,c, eps, 1 - eps)`
/// (each row clipped, then rescaled to sum to 1, as Kaggle scores a submission and as
/// scikit-learn's `log_loss(y, p, labels=range(C))` does), `eps` = [`LOG_LOSS_EPS`].
///
/// # Panics
/// As [`super::Metric::compute`].
pub fn log_loss(probs: &[f32], labels: &[usize], num_classes: usize) -> f64 {
    let n = check_shapes(probs, labels, num_classes);
    let clip = |p: f32| f64::from(p).clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
    let total: f64 = probs
        .chunks(num_classes)
        .zip(labels)
        .map(|(row, &y)| {
            let sum: f64 = row.iter().map(|&p| clip(p)).sum();
            -(clip(row[y]) / sum).ln()
        })
        .sum();
    total / n as f64
}
