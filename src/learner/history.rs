//! Per-epoch metrics: an in-memory history and `metrics.csv` in the run directory, fed by
//! burn-train's event store as a [`MetricLogger`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use serde::{Deserialize, Serialize};

use super::guard::StepGuard;
use crate::util::write_atomic_text;

/// burn-train's metric names, as registered by the [`Learner`](super::Learner).
pub(crate) const LOSS: &str = "Loss";
pub(crate) const ACCURACY: &str = "Accuracy";
pub(crate) const TOP5: &str = "Top-K Accuracy @ TopK(5)";
pub(crate) const LR: &str = "Learning Rate";
/// The competition metric's burn-train name ([`super::score::ScoreMetric`]).
pub(crate) const SCORE: &str = "Score";

/// The history shared by the [`HistoryLogger`] (which writes it) and the checkpointing and
/// early-stopping strategies (which read it).
pub(crate) type SharedHistory = Arc<Mutex<Vec<EpochMetrics>>>;

/// The metrics of one split of one epoch (a row of `metrics.csv`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch, from 1.
    pub epoch: usize,
    /// `train` or `valid`.
    pub split: String,
    /// Mean loss over the epoch's batches.
    pub loss: f64,
    /// Top-1 accuracy, percent.
    pub accuracy: f64,
    /// Top-5 accuracy, percent (100 when there are 5 classes or fewer).
    pub top5_accuracy: f64,
    /// Mean learning rate over the epoch's updates (burn-train's learning-rate metric).
    pub lr: f64,
    /// Wall time of the split (from the end of the previous split to the end of this one),
    /// seconds.
    pub seconds: f64,
    /// The competition metric ([`Monitor::Metric`](super::Monitor::Metric)) over the split's
    /// whole epoch, validation only; `NaN` when none is monitored (an empty CSV field).
    pub score: f64,
}

/// The CSV header of `metrics.csv`. The last column, `skipped_steps`, is not an
/// [`EpochMetrics`] field: on training rows, the optimizer updates of the epoch skipped on a
/// non-finite loss or gradient ([`NanPolicy::Skip`](super::NanPolicy::Skip)); empty on
/// validation rows.
pub const METRICS_CSV_HEADER: &str =
    "epoch,split,loss,accuracy,top5_accuracy,lr,seconds,score,skipped_steps";

/// The header of podium 0.2.0's `metrics.csv` (no `score`), still read.
pub(crate) const METRICS_CSV_HEADER_V1: &str = "epoch,split,loss,accuracy,top5_accuracy,lr,seconds";

/// The header of `metrics.csv` before `skipped_steps`, still read.
pub(crate) const METRICS_CSV_HEADER_V2: &str =
    "epoch,split,loss,accuracy,top5_accuracy,lr,seconds,score";

impl EpochMetrics {
    fn csv_row(&self, skipped: &BTreeMap<usize, usize>) -> String {
        let skipped = if self.split == "train" {
            skipped.get(&self.epoch).copied().unwrap_or(0).to_string()
        } else {
            String::new()
        };
        let score = if self.score.is_nan() {
            String::new()
        } else {
            format!("{:.6}", self.score)
        };
        format!(
            "{},{},{:.6},{:.4},{:.4},{:.6e},{:.3},{score},{skipped}",
            self.epoch,
            self.split,
            self.loss,
            self.accuracy,
            self.top5_accuracy,
            self.lr,
            self.seconds
        )
    }
}

#[derive(Default)]
struct Partial {
    values: HashMap<String, f64>,
    finals: HashMap<String, f64>,
}

/// A [`MetricLogger`] that keeps one [`EpochMetrics`] per epoch and split, rewrites
/// `metrics.csv` atomically after each, and (when `print` is on) prints one line per epoch and
/// split.
pub(crate) struct HistoryLogger {
    csv: PathBuf,
    names: HashMap<MetricId, String>,
    partial: HashMap<(usize, String), Partial>,
    history: SharedHistory,
    /// End of the previous split (a split starts when the one before it ends).
    mark: Instant,
    total_epochs: usize,
    print: bool,
    top5_is_top1_or_all: bool,
    on_valid: Vec<EpochHook>,
    /// Where a failed `metrics.csv` write is kept, and the run stopped, so that
    /// [`train`](super::train()) returns it instead of training on without a record.
    write_failure: Option<(WriteFailure, burn::train::Interrupter)>,
    /// The skipped optimizer updates, by epoch (`metrics.csv`'s `skipped_steps`).
    skipped: Option<Arc<StepGuard>>,
}

/// The first error writing `metrics.csv`, shared with [`train`](super::train()).
pub(crate) type WriteFailure = Arc<Mutex<Option<crate::PodiumError>>>;

/// A function called with each epoch's validation row, once it is complete (the plateau
/// schedule's driver is one).
pub(crate) type EpochHook = Box<dyn FnMut(&EpochMetrics) + Send>;

impl HistoryLogger {
    pub(crate) fn new(
        csv: PathBuf,
        history: SharedHistory,
        total_epochs: usize,
        print: bool,
    ) -> Self {
        Self {
            csv,
            names: HashMap::new(),
            partial: HashMap::new(),
            history,
            mark: Instant::now(),
            total_epochs,
            print,
            top5_is_top1_or_all: false,
            on_valid: Vec::new(),
            write_failure: None,
            skipped: None,
        }
    }

    /// Calls `hook` with each epoch's validation row, after it is complete and before it is
    /// written.
    pub(crate) fn on_valid_epoch(mut self, hook: EpochHook) -> Self {
        self.on_valid.push(hook);
        self
    }

    /// On a failed `metrics.csv` write: keep the error in `failure` and stop the run through
    /// `interrupter` (after the current epoch).
    pub(crate) fn stop_on_write_failure(
        mut self,
        failure: WriteFailure,
        interrupter: burn::train::Interrupter,
    ) -> Self {
        self.write_failure = Some((failure, interrupter));
        self
    }

    /// Writes `guard`'s skipped updates per epoch in `metrics.csv`'s `skipped_steps` column.
    pub(crate) fn with_skipped_steps(mut self, guard: Arc<StepGuard>) -> Self {
        self.skipped = Some(guard);
        self
    }

    /// With 5 classes or fewer no top-5 metric is registered: top-5 accuracy is then 100%.
    pub(crate) fn with_top5_fallback(mut self, on: bool) -> Self {
        self.top5_is_top1_or_all = on;
        self
    }
}

/// Writes `rows` as `metrics.csv` at `path` atomically ([`write_atomic_text`]), with the
/// `skipped` updates by epoch on the training rows.
pub(crate) fn write_metrics_csv(
    path: &Path,
    rows: &[EpochMetrics],
    skipped: &BTreeMap<usize, usize>,
) -> crate::Result<()> {
    write_atomic_text(path, |f| {
        writeln!(f, "{METRICS_CSV_HEADER}")?;
        for r in rows {
            writeln!(f, "{}", r.csv_row(skipped))?;
        }
        Ok(())
    })
}

impl MetricLogger for HistoryLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let partial = self.partial.entry((epoch, split.to_string())).or_default();
        for entry in update.entries_numeric {
            let Some(name) = self.names.get(&entry.entry.metric_id) else {
                continue;
            };
            match (&entry.numeric_entry, &entry.running_entry) {
                (Some(NumericEntry::Final(v)), _) => {
                    partial.finals.insert(name.clone(), *v);
                }
                (_, Some(running)) => {
                    partial.values.insert(name.clone(), running.current());
                }
                (Some(value), None) => {
                    partial.values.insert(name.clone(), value.current());
                }
                (None, None) => {}
            }
        }
    }

    fn read_numeric(
        &mut self,
        _name: &str,
        _epoch: usize,
        _split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        Err("the history logger keeps epoch summaries only".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let split = summary.split.to_string();
        let key = (summary.epoch_number, split.clone());
        let Some(partial) = self.partial.remove(&key) else {
            return;
        };
        let get = |name: &str| {
            partial
                .finals
                .get(name)
                .or_else(|| partial.values.get(name))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let mut history = self.history.lock().expect("history lock");
        let lr = match summary.split {
            Split::Train => get(LR),
            _ => history
                .iter()
                .rev()
                .find(|r| r.epoch == summary.epoch_number && r.split == "train")
                .map_or(f64::NAN, |r| r.lr),
        };
        let row = EpochMetrics {
            epoch: summary.epoch_number,
            split,
            loss: get(LOSS),
            accuracy: get(ACCURACY),
            top5_accuracy: if self.top5_is_top1_or_all {
                100.0
            } else {
                get(TOP5)
            },
            lr,
            seconds: self.mark.elapsed().as_secs_f64(),
            score: get(SCORE),
        };
        self.mark = Instant::now();
        if self.print {
            let score = if row.score.is_nan() {
                String::new()
            } else {
                format!("  score {:.4}", row.score)
            };
            println!(
                "epoch {:>3}/{} {:<5} loss {:.4}  acc {:6.2}%  top5 {:6.2}%{score}  lr {:.2e}  {:.1}s",
                row.epoch,
                self.total_epochs,
                row.split,
                row.loss,
                row.accuracy,
                row.top5_accuracy,
                row.lr,
                row.seconds
            );
        }
        if summary.split == Split::Valid {
            for hook in &mut self.on_valid {
                hook(&row);
            }
        }
        if summary.split == Split::Train
            && let Some(guard) = &self.skipped
        {
            let n = guard.skipped_in(row.epoch);
            if n > 0 && self.print {
                println!(
                    "epoch {:>3}/{} train: {n} optimizer updates skipped (non-finite loss or \
                     gradient, nan_policy = skip)",
                    row.epoch, self.total_epochs
                );
            }
        }
        history.push(row);
        let skipped = self
            .skipped
            .as_ref()
            .map(|g| g.skipped())
            .unwrap_or_default();
        if let Err(e) = write_metrics_csv(&self.csv, &history, &skipped) {
            log::error!("{e}");
            if let Some((failure, interrupter)) = &self.write_failure {
                interrupter.stop(Some(&format!("metrics.csv could not be written: {e}")));
                failure.lock().expect("failure lock").get_or_insert(e);
            }
        }
    }
}
