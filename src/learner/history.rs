//! Per-epoch metrics: an in-memory history and `metrics.csv` in the run directory, fed by
//! burn-train's event store as a [`MetricLogger`].

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use serde::{Deserialize, Serialize};

use super::config::Monitor;
use crate::schedule::PlateauDriver;

/// burn-train's metric names, as registered by the [`Learner`](super::Learner).
pub(crate) const LOSS: &str = "Loss";
pub(crate) const ACCURACY: &str = "Accuracy";
pub(crate) const TOP5: &str = "Top-K Accuracy @ TopK(5)";
pub(crate) const LR: &str = "Learning Rate";

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
}

/// The CSV header of `metrics.csv`.
pub const METRICS_CSV_HEADER: &str = "epoch,split,loss,accuracy,top5_accuracy,lr,seconds";

impl EpochMetrics {
    fn csv_row(&self) -> String {
        format!(
            "{},{},{:.6},{:.4},{:.4},{:.6e},{:.3}",
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
    history: Arc<Mutex<Vec<EpochMetrics>>>,
    /// End of the previous split (a split starts when the one before it ends).
    mark: Instant,
    total_epochs: usize,
    print: bool,
    top5_is_top1_or_all: bool,
    plateau: Option<(PlateauDriver, Monitor)>,
}

impl HistoryLogger {
    pub(crate) fn new(
        csv: PathBuf,
        history: Arc<Mutex<Vec<EpochMetrics>>>,
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
            plateau: None,
        }
    }

    /// Feeds the monitored validation metric of each epoch to a plateau schedule's driver.
    pub(crate) fn with_plateau(mut self, plateau: Option<PlateauDriver>, monitor: Monitor) -> Self {
        self.plateau = plateau.map(|p| (p, monitor));
        self
    }

    /// With 5 classes or fewer no top-5 metric is registered: top-5 accuracy is then 100%.
    pub(crate) fn with_top5_fallback(mut self, on: bool) -> Self {
        self.top5_is_top1_or_all = on;
        self
    }
}

/// Writes `rows` as `metrics.csv` at `path` through a temporary file and a rename.
pub(crate) fn write_metrics_csv(path: &Path, rows: &[EpochMetrics]) -> std::io::Result<()> {
    let tmp = path.with_extension("csv.tmp");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        writeln!(f, "{METRICS_CSV_HEADER}")?;
        for r in rows {
            writeln!(f, "{}", r.csv_row())?;
        }
        f.flush()?;
    }
    std::fs::rename(tmp, path)
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
        };
        self.mark = Instant::now();
        if self.print {
            println!(
                "epoch {:>3}/{} {:<5} loss {:.4}  acc {:6.2}%  top5 {:6.2}%  lr {:.2e}  {:.1}s",
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
        if let (Some((plateau, monitor)), Split::Valid) = (&self.plateau, &summary.split) {
            plateau.observe(
                row.epoch,
                match monitor {
                    Monitor::ValidLoss => row.loss,
                    Monitor::ValidAccuracy => row.accuracy,
                },
            );
        }
        history.push(row);
        if let Err(e) = write_metrics_csv(&self.csv, &history) {
            log::error!("cannot write {}: {e}", self.csv.display());
        }
    }
}
