//! [`ScoreMetric`]: a competition metric ([`crate::metrics::Metric`]) as a burn-train metric,
//! computed once per epoch over the whole validation split.
//!
//! Rank and ratio metrics (AUC, F1, kappa) are not means of per-batch values, so the metric keeps
//! every validation probability row and label of the epoch and computes the value at the epoch's
//! end (burn-train's `NumericEntry::Final`, as its own AUC-PR metric does). That value is the
//! `score` column of `metrics.csv`, and what [`Monitor::Metric`](super::Monitor::Metric) picks
//! the best checkpoint, stops early and drives the plateau schedule with.

use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, TensorReadError};
use burn::train::ClassificationOutput;
use burn::train::metric::{
    Adaptor, Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes,
    NumericEntry, SerializedEntry,
};

use super::history::SCORE;
use crate::metrics::Metric as CompetitionMetric;

/// The input of [`ScoreMetric`]: a batch's logits and labels.
pub struct ScoreInput {
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
}

impl Adaptor<ScoreInput> for ClassificationOutput {
    fn adapt(&self) -> ScoreInput {
        ScoreInput {
            logits: self.output.clone(),
            targets: self.targets.clone(),
        }
    }
}

/// A competition metric over a whole epoch (see the module docs). The value of an epoch whose
/// metric is undefined (AUC with a class absent from the validation labels) is `NaN`, which
/// never counts as an improvement.
#[derive(Clone)]
pub struct ScoreMetric {
    metric: CompetitionMetric,
    name: MetricName,
    probs: Vec<f32>,
    labels: Vec<usize>,
    num_classes: usize,
    last: f64,
}

impl ScoreMetric {
    /// Accumulates the epoch's predictions and computes `metric` at its end.
    pub fn new(metric: CompetitionMetric) -> Self {
        Self {
            metric,
            name: MetricName::new(SCORE.to_string()),
            probs: Vec::new(),
            labels: Vec::new(),
            num_classes: 0,
            last: f64::NAN,
        }
    }

    fn value_of_epoch(&self) -> f64 {
        if self.labels.is_empty() {
            return f64::NAN;
        }
        self.metric
            .compute(&self.probs, &self.labels, self.num_classes)
            .unwrap_or(f64::NAN)
    }
}

impl Metric for ScoreMetric {
    type Input = ScoreInput;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn description(&self) -> Option<String> {
        Some(format!("competition metric: {}", self.metric))
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: self.metric.higher_is_better(),
        }
        .into()
    }

    fn update(
        &mut self,
        input: &ScoreInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let [_, classes] = input.logits.dims();
        self.num_classes = classes;
        let probs = softmax(input.logits.clone(), 1).try_into_vec_as::<f32>()?;
        self.probs
            .extend(probs.into_iter().map(|p| if p.is_nan() { 0.0 } else { p }));
        let targets = input.targets.clone().try_into_vec_as::<i64>()?;
        self.labels.extend(targets.into_iter().map(|t| {
            usize::try_from(t)
                .unwrap_or(0)
                .min(classes.saturating_sub(1))
        }));
        Ok(SerializedEntry::not_available(None))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        self.last = self.value_of_epoch();
        Ok(SerializedEntry::new(
            format!("{} {:.4}", self.metric, self.last),
            NumericEntry::Final(self.last).serialize(),
        ))
    }

    fn clear(&mut self) {
        self.probs.clear();
        self.labels.clear();
    }
}

impl Numeric for ScoreMetric {
    fn value(&self) -> Option<NumericEntry> {
        None
    }

    fn running_value(&self) -> Option<NumericEntry> {
        None
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.last)
    }
}
