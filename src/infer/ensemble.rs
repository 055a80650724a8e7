//! Ensembles: the predictions of several runs (or of every fold of a k-fold run) on the same
//! items, merged into one.
//!
//! | podium | practice it follows |
//! |---|---|
//! | [`EnsembleMode::Mean`] | soft voting, scikit-learn `VotingClassifier(voting="soft", weights)` |
//! | [`EnsembleMode::GeometricMean`] | the normalised weighted geometric mean of the probabilities |
//! | [`EnsembleMode::RankAverage`] | Kaggle's rank averaging: `scipy.stats.rankdata(p) / len(p)` per model and class, weighted mean |

use serde::{Deserialize, Serialize};

use super::Predictions;
use super::tta::{LOG_CLIP, normalized_exp};
use crate::error::{PodiumError, Result};

/// How [`ensemble`] merges its members, with weights `w_m` (all 1 by default) and
/// `W = sum_m w_m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum EnsembleMode {
    /// `sum_m w_m p_m / W`, per item and class: probabilities.
    #[default]
    Mean,
    /// `exp(sum_m w_m ln p_m / W)` renormalised over the classes of each item (probabilities
    /// clipped at [`LOG_CLIP`](super::LOG_CLIP) before the logarithm): probabilities.
    GeometricMean,
    /// For each member and class, the rank of each item's probability among the `N` items
    /// (1 for the smallest, ties sharing their mean rank, as `scipy.stats.rankdata` with
    /// `method="average"`), divided by `N`; then the weighted mean over the members:
    /// `sum_m w_m rank_m(i, c) / (N W)`, in `(0, 1]`.
    ///
    /// The result is a score per class, **not** a probability: rows do not sum to 1 and
    /// scores of different classes are not comparable in scale. It suits metrics that only
    /// rank items per class (ROC AUC), as on Kaggle; the top-1 class of a row is not
    /// meaningful for accuracy.
    RankAverage,
}

impl EnsembleMode {
    /// The mode named `name`: `mean`, `geometric` (or `geometric_mean`), `rank` (or
    /// `rank_average`).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`ensemble`) naming the value and the valid names.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "mean" => Ok(Self::Mean),
            "geometric" | "geometric_mean" => Ok(Self::GeometricMean),
            "rank" | "rank_average" => Ok(Self::RankAverage),
            other => Err(PodiumError::config(
                "ensemble",
                other,
                "expected mean, geometric or rank",
            )),
        }
    }
}

/// Merges the predictions of several members (runs, folds) on the same items.
///
/// # Errors
/// [`PodiumError::Config`]: key `members` for no member, for a member whose item names,
/// classes or order differ from the first member's (naming the member and the first
/// differing id or class), or whose probability rows do not match its names and classes; key
/// `weights` for weights whose count is not the member count, or a weight that is not a
/// positive finite number.
pub fn ensemble(
    members: &[Predictions],
    weights: Option<&[f64]>,
    mode: EnsembleMode,
) -> Result<Predictions> {
    let first = members
        .first()
        .ok_or_else(|| PodiumError::config("members", 0, "an ensemble needs a member"))?;
    for (m, p) in members.iter().enumerate() {
        check_member(m, p, first)?;
    }
    let weights: Vec<f64> = match weights {
        None => vec![1.0; members.len()],
        Some(w) if w.len() != members.len() => {
            return Err(PodiumError::config(
                "weights",
                format!("{w:?}"),
                format!("{} weights for {} members", w.len(), members.len()),
            ));
        }
        Some(w) => {
            if let Some(bad) = w.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
                return Err(PodiumError::config(
                    "weights",
                    bad,
                    "each weight must be a positive finite number",
                ));
            }
            w.to_vec()
        }
    };
    let total: f64 = weights.iter().sum();
    let (n, c) = (first.names.len(), first.classes.len());
    let probabilities = match mode {
        EnsembleMode::Mean => (0..n)
            .map(|i| {
                (0..c)
                    .map(|k| {
                        let s: f64 = members
                            .iter()
                            .zip(&weights)
                            .map(|(p, w)| w * p.probabilities[i][k] as f64)
                            .sum();
                        (s / total) as f32
                    })
                    .collect()
            })
            .collect(),
        EnsembleMode::GeometricMean => (0..n)
            .map(|i| {
                let logs: Vec<f64> = (0..c)
                    .map(|k| {
                        members
                            .iter()
                            .zip(&weights)
                            .map(|(p, w)| w * (p.probabilities[i][k] as f64).max(LOG_CLIP).ln())
                            .sum::<f64>()
                            / total
                    })
                    .collect();
                normalized_exp(&logs)
            })
            .collect(),
        EnsembleMode::RankAverage => {
            let mut scores = vec![vec![0f64; c]; n];
            for (p, w) in members.iter().zip(&weights) {
                for k in 0..c {
                    let column: Vec<f32> = p.probabilities.iter().map(|r| r[k]).collect();
                    for (i, r) in average_ranks(&column).into_iter().enumerate() {
                        scores[i][k] += w * r / n as f64;
                    }
                }
            }
            scores
                .into_iter()
                .map(|row| row.into_iter().map(|s| (s / total) as f32).collect())
                .collect()
        }
    };
    Ok(Predictions {
        names: first.names.clone(),
        classes: first.classes.clone(),
        probabilities,
    })
}

fn check_member(m: usize, p: &Predictions, first: &Predictions) -> Result<()> {
    let member = format!("member {m}");
    if p.classes != first.classes {
        return Err(PodiumError::config(
            "members",
            &member,
            format!(
                "classes {:?} differ from member 0's {:?}",
                p.classes, first.classes
            ),
        ));
    }
    if p.names.len() != first.names.len() {
        return Err(PodiumError::config(
            "members",
            &member,
            format!(
                "{} items, member 0 has {}",
                p.names.len(),
                first.names.len()
            ),
        ));
    }
    if let Some((a, b)) = p.names.iter().zip(&first.names).find(|(a, b)| a != b) {
        return Err(PodiumError::config(
            "members",
            &member,
            format!(
                "item `{a}` where member 0 has `{b}` (members need the same ids in the same order)"
            ),
        ));
    }
    let c = p.classes.len();
    if p.probabilities.len() != p.names.len() || p.probabilities.iter().any(|r| r.len() != c) {
        return Err(PodiumError::config(
            "members",
            &member,
            format!(
                "probability rows do not match its {} items and {c} classes",
                p.names.len()
            ),
        ));
    }
    Ok(())
}

/// The 1-based ranks of `values`, ties sharing their mean rank (`scipy.stats.rankdata`,
/// `method="average"`). NaN ranks above every number, as in a total order.
pub fn average_ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0f64; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // positions start..end hold ranks start+1..=end; their mean is (start + 1 + end) / 2
        let mean = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = mean;
        }
        start = end;
    }
    ranks
}
