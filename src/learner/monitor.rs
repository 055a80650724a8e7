//! [`Monitor`]: the validation metric that picks the best epoch, drives early stopping
//! ([`EarlyStoppingConfig`]) and the plateau schedule.
//!
//! | podium | Lightning | timm `train.py` |
//! |---|---|---|
//! | [`Monitor::ValidLoss`] | `ModelCheckpoint(monitor="val_loss", mode="min")` | `--eval-metric loss` |
//! | [`Monitor::ValidAccuracy`] | `monitor="val_acc", mode="max"` | `--eval-metric top1` |
//! | [`Monitor::Metric`] (AUC, F1, kappa, ... over the whole validation split) | a `torchmetrics` metric logged `on_epoch=True` | - |
//! | [`EarlyStoppingConfig`] `{ patience, min_delta }` | `EarlyStopping(patience, min_delta)` | `--patience-epochs` |

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::history::{EpochMetrics, SharedHistory};
use crate::metrics::Metric;
use crate::schedule::PlateauMode;

/// The validation metric that selects the best checkpoint and drives early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Monitor {
    /// Lowest validation loss (the default, as burn-train's checkpointing).
    #[default]
    ValidLoss,
    /// Highest validation accuracy.
    ValidAccuracy,
    /// A competition metric computed over the whole validation split at each epoch's end (the
    /// `score` column of `metrics.csv`); higher is better except for the log loss.
    Metric(Metric),
}

impl Monitor {
    /// Whether a lower value is better (a loss).
    pub fn lower_is_better(self) -> bool {
        match self {
            Monitor::ValidLoss => true,
            Monitor::ValidAccuracy => false,
            Monitor::Metric(m) => !m.higher_is_better(),
        }
    }

    /// The monitored value of a validation row of the history.
    pub fn value(self, row: &EpochMetrics) -> f64 {
        match self {
            Monitor::ValidLoss => row.loss,
            Monitor::ValidAccuracy => row.accuracy,
            Monitor::Metric(_) => row.score,
        }
    }

    /// The competition metric the Learner must compute each epoch, if any.
    pub fn metric(self) -> Option<Metric> {
        match self {
            Monitor::Metric(m) => Some(m),
            _ => None,
        }
    }

    /// Whether `candidate` beats `best` by more than `min_delta` (Lightning's `EarlyStopping`
    /// rule: `candidate < best - min_delta` for a loss, `candidate > best + min_delta`
    /// otherwise; any number beats NaN, NaN beats nothing).
    pub fn improves_by(self, candidate: f64, best: f64, min_delta: f64) -> bool {
        if candidate.is_nan() {
            false
        } else if best.is_nan() {
            true
        } else if self.lower_is_better() {
            candidate < best - min_delta
        } else {
            candidate > best + min_delta
        }
    }

    /// Orders two validation rows best first (for sorting).
    pub fn compare(self, a: &EpochMetrics, b: &EpochMetrics) -> Ordering {
        let (a, b) = (self.value(a), self.value(b));
        if self.lower_is_better() {
            a.total_cmp(&b)
        } else {
            b.total_cmp(&a)
        }
    }

    /// Whether `candidate` is strictly better than `best` (any number is better than NaN).
    pub fn improves(self, candidate: f64, best: f64) -> bool {
        if best.is_nan() {
            !candidate.is_nan()
        } else if self.lower_is_better() {
            candidate < best
        } else {
            candidate > best
        }
    }

    /// The plateau scheduler's mode for this metric (`min` for a loss, `max` otherwise).
    pub fn plateau_mode(self) -> PlateauMode {
        if self.lower_is_better() {
            PlateauMode::Min
        } else {
            PlateauMode::Max
        }
    }
}

/// Early stopping on the [`Monitor`] metric (Lightning's `EarlyStopping(patience, min_delta)`):
/// training stops after `patience` epochs in a row without an improvement by more than
/// `min_delta` over the best value so far ([`Monitor::improves_by`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingConfig {
    /// Epochs without improvement before training stops.
    pub patience: usize,
    /// The smallest change that counts as an improvement (in the metric's unit; default 0).
    #[serde(default)]
    pub min_delta: f64,
}

impl EarlyStoppingConfig {
    /// Stops after `patience` epochs without improvement, any improvement counting.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            min_delta: 0.0,
        }
    }

    /// Sets [`Self::min_delta`].
    pub fn with_min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Whether a run whose validation rows (in epoch order) are `rows` should stop now: the
    /// last `patience` rows brought no improvement by more than `min_delta` on the best value
    /// before them.
    pub fn should_stop<'a>(
        &self,
        monitor: Monitor,
        rows: impl IntoIterator<Item = &'a EpochMetrics>,
    ) -> bool {
        let mut best = f64::NAN;
        let mut since = 0;
        for row in rows {
            let v = monitor.value(row);
            if monitor.improves_by(v, best, self.min_delta) {
                best = v;
                since = 0;
            } else {
                since += 1;
            }
        }
        since >= self.patience
    }
}

/// burn-train's early-stopping hook over podium's history (so a resumed run counts the epochs
/// before the interruption too).
#[derive(Clone)]
pub(crate) struct HistoryEarlyStopping {
    pub(crate) config: EarlyStoppingConfig,
    pub(crate) monitor: Monitor,
    pub(crate) history: SharedHistory,
}

impl burn::train::EarlyStoppingStrategy for HistoryEarlyStopping {
    fn should_stop(
        &mut self,
        epoch: usize,
        store: &burn::train::metric::store::EventStoreClient,
    ) -> bool {
        super::checkpoint::sync_history(store, epoch);
        let history = self.history.lock().expect("history lock");
        self.config
            .should_stop(self.monitor, history.iter().filter(|r| r.split == "valid"))
    }
}
