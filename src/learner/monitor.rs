//! [`Monitor`]: the validation metric that picks the best epoch, drives early stopping
//! ([`EarlyStoppingConfig`]) and the plateau schedule.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::history::EpochMetrics;
use crate::schedule::PlateauMode;

/// The validation metric that selects the best checkpoint and drives early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Monitor {
    /// Lowest validation loss (the default, as burn-train's checkpointing).
    #[default]
    ValidLoss,
    /// Highest validation accuracy.
    ValidAccuracy,
}

impl Monitor {
    /// Whether a lower value is better (a loss).
    pub fn lower_is_better(self) -> bool {
        matches!(self, Monitor::ValidLoss)
    }

    /// The monitored value of a validation row of the history.
    pub fn value(self, row: &EpochMetrics) -> f64 {
        match self {
            Monitor::ValidLoss => row.loss,
            Monitor::ValidAccuracy => row.accuracy,
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

/// Early stopping on the [`Monitor`] metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlyStoppingConfig {
    /// Epochs without improvement before training stops.
    pub patience: usize,
}
