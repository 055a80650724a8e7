//! scikit-learn's `classification_report`, the confusion matrix, the most-confused pairs and
//! fastai's top losses, from predicted probabilities.

use serde::{Deserialize, Serialize};

use crate::metrics::{ConfusionMatrix, LOG_LOSS_EPS, Metric, argmax_rows, check_shapes};

/// Precision, recall, F1 and support of one class (a row of scikit-learn's
/// `classification_report`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The class name.
    pub name: String,
    /// `TP / (TP + FP)`, 0 when nothing is predicted as the class (`zero_division=0`).
    pub precision: f64,
    /// `TP / (TP + FN)`, 0 for a class without samples.
    pub recall: f64,
    /// `2 TP / (2 TP + FP + FN)`, 0 when the class is neither present nor predicted.
    pub f1: f64,
    /// Samples of the class (`TP + FN`).
    pub support: u64,
}

/// An average row of the report (`macro avg` or `weighted avg`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AverageMetrics {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1.
    pub f1: f64,
    /// Total support (the number of samples).
    pub support: u64,
}

/// A pair of classes the model mixes up: `count` samples of `actual` predicted as `predicted`
/// (an off-diagonal cell of the confusion matrix, fastai's `most_confused`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusedPair {
    /// The true class name.
    pub actual: String,
    /// The predicted class name.
    pub predicted: String,
    /// Samples of `actual` predicted as `predicted`.
    pub count: u64,
}

/// The value of one competition metric on the report's predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// The metric.
    pub metric: Metric,
    /// Its value ([`Metric::compute`]: accuracies in percent), `None` where it is undefined for
    /// the data (AUC with a class absent from the labels).
    pub value: Option<f64>,
}

/// The evaluation of `[N, C]` class probabilities against the true labels.
///
/// Follows scikit-learn's `classification_report(y, p.argmax(1), labels=range(C),
/// target_names=classes, zero_division=0, output_dict=True)`: every class gets a row (also a
/// class absent from both labels and predictions, whose scores are 0), `accuracy` is a fraction,
/// `macro avg` is the unweighted mean over all `C` classes and `weighted avg` the mean weighted
/// by support. The macro F1 therefore equals [`crate::metrics::macro_f1`] whenever every class
/// occurs in the labels or the predictions (that function, like `f1_score` without `labels`,
/// skips classes that occur nowhere).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// One row per class, in class-index order.
    pub per_class: Vec<ClassMetrics>,
    /// Fraction of correct arg-max predictions (`accuracy_score`).
    pub accuracy: f64,
    /// Unweighted mean over the classes.
    pub macro_avg: AverageMetrics,
    /// Mean over the classes weighted by their support.
    pub weighted_avg: AverageMetrics,
    /// `confusion[t][p]`: samples of class `t` predicted as `p` (`confusion_matrix`).
    pub confusion: Vec<Vec<u64>>,
    /// Every non-zero off-diagonal cell, largest count first (ties: true class, then predicted
    /// class, in index order).
    pub most_confused: Vec<ConfusedPair>,
    /// The competition metric the report is read for ([`Self::with_metric`]; accuracy by
    /// default).
    pub metric: Metric,
    /// Every [`Metric`] on these predictions, in [`Metric::ALL`]'s order.
    pub metrics: Vec<MetricValue>,
}

impl ClassificationReport {
    /// The report of `probs` (`[N, C]` row by row, `C = classes.len()`) against `labels`.
    ///
    /// # Panics
    /// If `probs.len() != labels.len() * classes.len()`, `labels` is empty, or a label is not
    /// below `classes.len()` (as [`Metric::compute`]).
    pub fn new(probs: &[f32], labels: &[usize], classes: &[String]) -> Self {
        let c = classes.len();
        check_shapes(probs, labels, c);
        let cm = ConfusionMatrix::new(labels, &argmax_rows(probs, c), c);
        let per_class: Vec<ClassMetrics> = (0..c)
            .map(|k| ClassMetrics {
                name: classes[k].clone(),
                precision: cm.precision(k),
                recall: cm.recall(k),
                f1: cm.f1(k),
                support: cm.support(k),
            })
            .collect();
        let total: u64 = per_class.iter().map(|m| m.support).sum();
        let mean =
            |f: &dyn Fn(&ClassMetrics) -> f64| per_class.iter().map(f).sum::<f64>() / c as f64;
        let weighted = |f: &dyn Fn(&ClassMetrics) -> f64| {
            per_class
                .iter()
                .map(|m| f(m) * m.support as f64)
                .sum::<f64>()
                / total as f64
        };
        let macro_avg = AverageMetrics {
            precision: mean(&|m| m.precision),
            recall: mean(&|m| m.recall),
            f1: mean(&|m| m.f1),
            support: total,
        };
        let weighted_avg = AverageMetrics {
            precision: weighted(&|m| m.precision),
            recall: weighted(&|m| m.recall),
            f1: weighted(&|m| m.f1),
            support: total,
        };
        let confusion = cm.counts().to_vec();
        let mut most_confused: Vec<ConfusedPair> = Vec::new();
        for (t, row) in confusion.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                if t != p && count > 0 {
                    most_confused.push(ConfusedPair {
                        actual: classes[t].clone(),
                        predicted: classes[p].clone(),
                        count,
                    });
                }
            }
        }
        // stable: equal counts keep the row-major order
        most_confused.sort_by_key(|pair| std::cmp::Reverse(pair.count));
        let metrics = Metric::ALL
            .into_iter()
            .map(|metric| MetricValue {
                metric,
                value: metric.compute(probs, labels, c).ok(),
            })
            .collect();
        Self {
            per_class,
            accuracy: cm.accuracy(),
            macro_avg,
            weighted_avg,
            confusion,
            most_confused,
            metric: Metric::Accuracy,
            metrics,
        }
    }

    /// The same report read for the competition metric `metric`.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// The value of `metric` (`None` where it is undefined for the data).
    pub fn metric_value(&self, metric: Metric) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.metric == metric)
            .and_then(|m| m.value)
    }

    /// The `k` most-confused pairs (fewer when fewer cells are off the diagonal).
    pub fn top_confused(&self, k: usize) -> &[ConfusedPair] {
        &self.most_confused[..k.min(self.most_confused.len())]
    }

    /// The class names, in index order.
    pub fn class_names(&self) -> Vec<String> {
        self.per_class.iter().map(|m| m.name.clone()).collect()
    }
}

/// One sample among the highest losses ([`top_losses`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopLoss {
    /// Row of the sample in the probabilities (and item of the dataset).
    pub index: usize,
    /// True class index.
    pub label: usize,
    /// Predicted (arg-max) class index.
    pub predicted: usize,
    /// Probability of the predicted class.
    pub probability: f64,
    /// Probability of the true class.
    pub true_probability: f64,
    /// Cross-entropy of the sample: `-ln(clip(p_y, eps, 1 - eps))`, `eps` =
    /// [`LOG_LOSS_EPS`].
    pub loss: f64,
}

/// fastai's `Interpretation.top_losses`: the `k` samples with the highest per-sample
/// cross-entropy `-ln p_y` (probabilities clipped to `[1e-15, 1 - 1e-15]` as in
/// [`crate::metrics::log_loss`]), highest first; equal losses keep the sample order.
///
/// # Panics
/// As [`Metric::compute`].
pub fn top_losses(probs: &[f32], labels: &[usize], num_classes: usize, k: usize) -> Vec<TopLoss> {
    check_shapes(probs, labels, num_classes);
    let preds = argmax_rows(probs, num_classes);
    let mut all: Vec<TopLoss> = probs
        .chunks(num_classes)
        .zip(labels)
        .zip(preds)
        .enumerate()
        .map(|(index, ((row, &label), predicted))| {
            let p_y = f64::from(row[label]).clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            TopLoss {
                index,
                label,
                predicted,
                probability: f64::from(row[predicted]),
                true_probability: f64::from(row[label]),
                loss: -p_y.ln(),
            }
        })
        .collect();
    all.sort_by(|a, b| b.loss.total_cmp(&a.loss));
    all.truncate(k);
    all
}
