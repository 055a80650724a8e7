//! ROC AUC: binary (Mann-Whitney) and one-vs-rest macro over classes.

use super::check_shapes;
use crate::error::{PodiumError, Result};

/// The area under the ROC curve of `scores` for the binary targets `positive`, computed as the
/// Mann-Whitney statistic `(R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`, where `R_pos` is
/// the sum of the positives' ranks among all scores with tied scores given their mean rank.
/// This equals the trapezoidal area that scikit-learn's `roc_auc_score` integrates (a tie
/// between a positive and a negative counts one half). `None` when one of the two classes is
/// absent (the area is undefined).
///
/// # Panics
/// If `scores` and `positive` differ in length.
pub fn binary_roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(
        scores.len(),
        positive.len(),
        "binary_roc_auc: {} scores but {} targets",
        scores.len(),
        positive.len()
    );
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // ranks i+1 ..= j+1 share their mean
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        let tied_pos = order[i..=j].iter().filter(|&&k| positive[k]).count();
        rank_sum_pos += mean_rank * tied_pos as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// ROC AUC of `probs` (`[N, C]` row by row) against `labels`: with two classes the binary AUC
/// of class 1's probability (`roc_auc_score(y, p[:, 1])`); with more, the unweighted mean over
/// classes of each class's one-vs-rest AUC (`roc_auc_score(y, p, multi_class="ovr",
/// average="macro")`).
///
/// # Errors
/// [`PodiumError::Config`] (`metric`) when a class has no sample in `labels` (or, with two
/// classes, only one class is present): its AUC is undefined, as scikit-learn refuses it.
///
/// # Panics
/// As [`super::Metric::compute`].
pub fn roc_auc_ovr(probs: &[f32], labels: &[usize], num_classes: usize) -> Result<f64> {
    check_shapes(probs, labels, num_classes);
    let undefined = |c: usize| {
        PodiumError::config(
            "metric",
            "auc",
            format!("ROC AUC is undefined: class {c} has no sample or every sample is of it"),
        )
    };
    let column = |c: usize| -> Vec<f64> {
        probs
            .chunks(num_classes)
            .map(|row| f64::from(row[c]))
            .collect()
    };
    let one_vs_rest = |c: usize| {
        let positive: Vec<bool> = labels.iter().map(|&l| l == c).collect();
        binary_roc_auc(&column(c), &positive).ok_or_else(|| undefined(c))
    };
    if num_classes == 2 {
        return one_vs_rest(1);
    }
    let mut sum = 0.0;
    for c in 0..num_classes {
        sum += one_vs_rest(c)?;
    }
    Ok(sum / num_classes as f64)
}
