//! Evaluation reports: what `podium evaluate` writes for a run or for the out-of-fold
//! predictions of a k-fold run. From `[N, C]` class probabilities and the true labels it
//! computes scikit-learn's classification report, the confusion matrix, the most-confused pairs,
//! every competition [`Metric`] and the highest-loss samples, draws the confusion matrix, the
//! training curves and the highest-loss images with plotters, and lists everything in
//! `report.md` and `report.json` ([`write_report`]).
//!
//! | podium | follows |
//! |---|---|
//! | [`ClassificationReport::new`] | scikit-learn `classification_report(y, p.argmax(1), labels=range(C), target_names=classes, zero_division=0, output_dict=True)` |
//! | [`ClassificationReport::confusion`] | scikit-learn `confusion_matrix(y, p.argmax(1), labels=range(C))` |
//! | [`ClassificationReport::most_confused`] | fastai `ClassificationInterpretation.most_confused` |
//! | [`ClassificationReport::metrics`] | [`crate::metrics`] (scikit-learn's definitions) |
//! | [`top_losses`] | fastai `Interpretation.top_losses` (per-sample cross-entropy) |
//! | [`plot_confusion_matrix`] | fastai `plot_confusion_matrix`; scikit-learn `ConfusionMatrixDisplay` with `normalize="true"` |
//! | [`plot_top_losses`] | fastai `plot_top_losses` |
//! | [`plot_training_curves`] | fastai `Recorder.plot_loss` / `plot_metrics`; timm's `summary.csv` |
//! | [`read_metrics_csv`] | the [`Learner`](crate::learner::Learner)'s `metrics.csv`, read back |
//!
//! ```no_run
//! use burn_podium::report::{ReportInputs, read_metrics_csv, write_report};
//! use burn_podium::metrics::Metric;
//!
//! # fn main() -> burn_podium::Result<()> {
//! let classes = vec!["cat".to_string(), "dog".to_string()];
//! let probs = [0.9, 0.1, 0.3, 0.7, 0.6, 0.4];
//! let labels = [0, 1, 1];
//! let history = read_metrics_csv("runs/exp1/metrics.csv")?;
//! let inputs = ReportInputs::new(&probs, &labels, &classes)
//!     .with_metric(Metric::MacroF1)
//!     .with_history(&history);
//! let files = write_report("runs/exp1/report", &inputs)?;
//! println!("{}", files.markdown.display());
//! # Ok(()) }
//! ```

mod classification;
mod grid;
mod markdown;
mod plots;

pub use crate::learner::read_metrics_csv;
pub use classification::{
    AverageMetrics, ClassMetrics, ClassificationReport, ConfusedPair, MetricValue, TopLoss,
    top_losses,
};
pub use grid::{HEADER, TILE, plot_top_losses};
pub use plots::{plot_confusion_matrix, plot_training_curves};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::learner::EpochMetrics;
use crate::metrics::Metric;
use crate::util::write_atomic;

/// The file names [`write_report`] uses inside its directory.
pub mod names {
    /// The Markdown report.
    pub const MARKDOWN: &str = "report.md";
    /// The JSON report ([`super::ReportJson`]).
    pub const JSON: &str = "report.json";
    /// The confusion matrix, counts and row-normalised.
    pub const CONFUSION: &str = "confusion_matrix.png";
    /// The training curves.
    pub const CURVES: &str = "training_curves.png";
    /// The highest-loss images.
    pub const TOP_LOSSES: &str = "top_losses.png";
}

/// What a report is made of: predictions and labels, plus what else is at hand.
#[derive(Clone, Debug)]
pub struct ReportInputs<'a> {
    /// `[N, C]` class probabilities, row by row.
    pub probs: &'a [f32],
    /// The `N` true class indices.
    pub labels: &'a [usize],
    /// The `C` class names.
    pub classes: &'a [String],
    /// The competition metric (default accuracy).
    pub metric: Metric,
    /// The run's epochs (`metrics.csv`, [`read_metrics_csv`]): drawn as training curves.
    pub history: Option<&'a [EpochMetrics]>,
    /// The images behind the rows (item `i` is row `i`): the highest-loss grid is drawn from it.
    pub dataset: Option<&'a ImageDataset>,
    /// A title for `report.md` (the run directory, say). Default `evaluation`.
    pub title: String,
    /// How many most-confused pairs to list (default 10).
    pub top_confused: usize,
    /// How many highest-loss samples to list and draw (default 16; 0 for none).
    pub top_losses: usize,
}

impl<'a> ReportInputs<'a> {
    /// Inputs with the defaults: accuracy, no history, no images.
    pub fn new(probs: &'a [f32], labels: &'a [usize], classes: &'a [String]) -> Self {
        Self {
            probs,
            labels,
            classes,
            metric: Metric::Accuracy,
            history: None,
            dataset: None,
            title: "evaluation".into(),
            top_confused: 10,
            top_losses: 16,
        }
    }

    /// With the competition metric.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// With the run's epochs, for the training curves.
    pub fn with_history(mut self, history: &'a [EpochMetrics]) -> Self {
        self.history = Some(history);
        self
    }

    /// With the images behind the rows, for the highest-loss grid.
    pub fn with_dataset(mut self, dataset: &'a ImageDataset) -> Self {
        self.dataset = Some(dataset);
        self
    }

    /// With a title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// With `k` most-confused pairs listed.
    pub fn with_top_confused(mut self, k: usize) -> Self {
        self.top_confused = k;
        self
    }

    /// With `k` highest-loss samples listed and drawn.
    pub fn with_top_losses(mut self, k: usize) -> Self {
        self.top_losses = k;
        self
    }
}

/// The files [`write_report`] wrote (full paths).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.json`.
    pub json: PathBuf,
    /// `confusion_matrix.png`.
    pub confusion_matrix: PathBuf,
    /// `training_curves.png`, when a history was given.
    pub training_curves: Option<PathBuf>,
    /// `top_losses.png`, when a dataset was given and `top_losses > 0`.
    pub top_losses: Option<PathBuf>,
}

impl ReportFiles {
    /// Every file written, the Markdown and JSON first.
    pub fn all(&self) -> Vec<&Path> {
        let mut all = vec![
            self.markdown.as_path(),
            self.json.as_path(),
            self.confusion_matrix.as_path(),
        ];
        all.extend(self.training_curves.as_deref());
        all.extend(self.top_losses.as_deref());
        all
    }
}

/// One highest-loss sample, by name, as `report.json` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopLossRow {
    /// The item's name ([`ImageDataset::name`]) or, without a dataset, its row index.
    pub item: String,
    /// The true class name.
    pub actual: String,
    /// The predicted class name.
    pub predicted: String,
    /// The predicted class's probability.
    pub probability: f64,
    /// The sample's cross-entropy.
    pub loss: f64,
}

/// The content of `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportJson {
    /// The report's title.
    pub title: String,
    /// Number of samples evaluated.
    pub num_samples: usize,
    /// Per-class metrics, confusion matrix, most-confused pairs, every metric.
    pub classification: ClassificationReport,
    /// The highest-loss samples, highest first.
    pub top_losses: Vec<TopLossRow>,
    /// The files of the report, relative to its directory.
    pub files: Vec<String>,
}

impl ReportJson {
    /// Reads a `report.json`.
    ///
    /// # Errors
    /// [`PodiumError::Io`] or [`PodiumError::Format`] naming the file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PodiumError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| PodiumError::format(path, e.to_string()))
    }
}

/// Writes the report of `inputs` into `dir` (created if needed): [`names::CONFUSION`] always,
/// [`names::CURVES`] with a history, [`names::TOP_LOSSES`] with a dataset, then
/// [`names::JSON`] ([`ReportJson`]) and [`names::MARKDOWN`] (tables of the metrics, the
/// per-class scores, the most-confused pairs and the highest losses, and links to the
/// pictures). Every file goes through a temporary file and a rename.
///
/// # Errors
/// [`PodiumError::Io`] naming `dir` or a file; [`PodiumError::Config`] (`dataset`) when the
/// dataset's length differs from the number of labels; the errors of the plots.
///
/// # Panics
/// As [`ClassificationReport::new`], for probabilities, labels and classes of mismatched shapes.
pub fn write_report(dir: impl AsRef<Path>, inputs: &ReportInputs<'_>) -> Result<ReportFiles> {
    let dir = dir.as_ref();
    let report = ClassificationReport::new(inputs.probs, inputs.labels, inputs.classes)
        .with_metric(inputs.metric);
    if let Some(ds) = inputs.dataset
        && ds.len() != inputs.labels.len()
    {
        return Err(PodiumError::config(
            "dataset",
            format!("{} items", ds.len()),
            format!("the report has {} labelled rows", inputs.labels.len()),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| PodiumError::io(dir, e))?;
    let confusion_matrix = dir.join(names::CONFUSION);
    plot_confusion_matrix(&report.confusion, inputs.classes, &confusion_matrix)?;
    let training_curves = match inputs.history {
        Some(history) => {
            let path = dir.join(names::CURVES);
            plot_training_curves(history, &path)?;
            Some(path)
        }
        None => None,
    };
    let losses = top_losses(
        inputs.probs,
        inputs.labels,
        inputs.classes.len(),
        inputs.top_losses,
    );
    let top_losses_png = match inputs.dataset {
        Some(ds) if !losses.is_empty() => {
            let path = dir.join(names::TOP_LOSSES);
            let columns = (losses.len() as f64).sqrt().ceil() as usize;
            plot_top_losses(ds, &losses, inputs.classes, columns, &path)?;
            Some(path)
        }
        _ => None,
    };
    let files = ReportFiles {
        markdown: dir.join(names::MARKDOWN),
        json: dir.join(names::JSON),
        confusion_matrix,
        training_curves,
        top_losses: top_losses_png,
    };
    let name = |c: usize| inputs.classes[c].clone();
    let json = ReportJson {
        title: inputs.title.clone(),
        num_samples: inputs.labels.len(),
        top_losses: losses
            .iter()
            .map(|l| TopLossRow {
                item: inputs
                    .dataset
                    .map_or_else(|| l.index.to_string(), |ds| ds.name(l.index)),
                actual: name(l.label),
                predicted: name(l.predicted),
                probability: l.probability,
                loss: l.loss,
            })
            .collect(),
        files: files
            .all()
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        classification: report,
    };
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| PodiumError::format(&files.json, e.to_string()))?;
    write_atomic(&files.json, text.as_bytes())?;
    write_atomic(
        &files.markdown,
        markdown::render(&json, inputs.top_confused).as_bytes(),
    )?;
    Ok(files)
}
