//! k-fold cross-validation on the Learner: one run per fold, the out-of-fold probabilities of
//! every training image, the fold scores and the CV score of a competition metric.
//!
//! | podium | scikit-learn / competition practice |
//! |---|---|
//! | [`Learner::cv_folds`] | `StratifiedKFold(n_splits, shuffle=True, random_state=seed)`, or `GroupKFold(n_splits)` when groups are given |
//! | [`Learner::fit_fold`] | one fold of the usual Kaggle k-fold loop: train on the other folds, validate (best checkpoint, early stopping) and predict on this one |
//! | [`Learner::fit_folds`] | the whole loop; folds already done are read back, not retrained |
//! | `oof.csv` | out-of-fold predictions, `id,fold,label,<one column per class>` |
//! | `cv.json` | `cross_val_score`: each fold's score, their mean and standard deviation (`numpy.std`, `ddof=0`), and the score of the pooled out-of-fold predictions |
//!
//! A k-fold run directory ([`LearnerConfig::run_dir`]) holds `config.json` (the recipe),
//! `oof.csv`, `cv.json`, and one run directory per fold, `fold-K/` (K from 0), each with the
//! files of a [`Learner::fit`] run plus its own `oof.csv` and `fold.json` (written last: a fold
//! with a `fold.json` is done). Folds are independent jobs: [`Learner::fit_fold`] trains one
//! (as a job-array task on another machine, writing to a shared directory), and
//! [`Learner::fit_folds`] afterwards trains only the missing ones and writes the CV files.

use std::path::{Path, PathBuf};

use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::config::LearnerConfig;
use super::fit::Learner;
use crate::data::{Folds, ImageDataset, group_kfold, stratified_kfold};
use crate::error::{PodiumError, Result};
use crate::metrics::Metric;
use crate::model::ImageClassifier;
use crate::util::write_atomic;

/// Settings of a k-fold run ([`Learner::fit_folds`]).
#[derive(Config, Debug, PartialEq)]
pub struct CvConfig {
    /// Number of folds (at least 2). Default 5.
    #[config(default = 5)]
    pub folds: usize,
    /// The competition metric scored on each fold's out-of-fold predictions. Default accuracy.
    #[config(default = "Metric::Accuracy")]
    pub metric: Metric,
}

impl CvConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`folds`) for fewer than 2 folds.
    pub fn validate(&self) -> Result<()> {
        if self.folds < 2 {
            return Err(PodiumError::config(
                "folds",
                self.folds,
                "k-fold cross-validation needs at least 2 folds",
            ));
        }
        Ok(())
    }
}

/// One fold's outcome (also `fold-K/fold.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// The fold, from 0.
    pub fold: usize,
    /// The metric's name.
    pub metric: Metric,
    /// The metric on this fold's out-of-fold predictions.
    pub score: f64,
    /// The fold run's best epoch.
    pub best_epoch: usize,
    /// Number of validation (out-of-fold) images.
    pub valid_size: usize,
}

/// The outcome of [`Learner::fit_folds`] (also `cv.json`, without the probabilities).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvResult {
    /// The metric.
    pub metric: Metric,
    /// Each fold's result, by fold.
    pub folds: Vec<FoldResult>,
    /// Mean of the fold scores.
    pub mean: f64,
    /// Standard deviation of the fold scores (population, `numpy.std`'s `ddof=0`).
    pub std: f64,
    /// The metric on all out-of-fold predictions pooled.
    pub oof_score: f64,
    /// Out-of-fold probabilities of every training image, by dataset index.
    #[serde(skip)]
    pub oof: Vec<Vec<f32>>,
}

impl Learner {
    /// The fold assignment of `data`: stratified folds shuffled by the run seed
    /// (scikit-learn's `StratifiedKFold(folds, shuffle=True, random_state=seed)`), or group
    /// folds (`GroupKFold`: no group in two folds) when `groups` gives each image's group.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for too few folds, an unlabelled image, `groups` of another
    /// length than `data`, fewer images (or groups) than folds.
    pub fn cv_folds(
        &self,
        data: &ImageDataset,
        cv: &CvConfig,
        groups: Option<&[i64]>,
    ) -> Result<Folds> {
        cv.validate()?;
        match groups {
            Some(groups) => {
                if groups.len() != data.len() {
                    return Err(PodiumError::config(
                        "groups",
                        format!("{} groups", groups.len()),
                        format!("the data has {} images", data.len()),
                    ));
                }
                group_kfold(groups, cv.folds)
            }
            None => {
                let labels = labels_of(data)?;
                let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
                stratified_kfold(&labels, cv.folds, Some(self.config().seed))
            }
        }
    }

    /// Trains fold `fold` of `data` (see the module docs): `model` trains on the other folds
    /// and validates on this one, in `run_dir/fold-K`; then the best model predicts this fold's
    /// images, written as `fold-K/oof.csv`, and its score as `fold-K/fold.json`.
    ///
    /// # Errors
    /// As [`Self::cv_folds`] and [`Learner::fit`]; [`PodiumError::Config`] (`fold`) for a fold
    /// out of range.
    pub fn fit_fold<M: ImageClassifier>(
        &self,
        data: &ImageDataset,
        cv: &CvConfig,
        groups: Option<&[i64]>,
        fold: usize,
        model: M,
    ) -> Result<FoldResult> {
        let folds = self.cv_folds(data, cv, groups)?;
        Ok(self.fit_one(data, cv, &folds, fold, model)?.0)
    }

    /// Cross-validates: trains every fold that is not done yet ([`Self::fit_fold`], with the
    /// model `model(fold)` builds after the device is seeded, so each fold starts from the same
    /// weights), reads back the folds that are, and writes `oof.csv`, `cv.json` and
    /// `config.json` in the run directory. It prints one line per fold and the CV score
    /// unless [`LearnerConfig::progress`] is quiet.
    ///
    /// # Errors
    /// As [`Self::fit_fold`]; [`PodiumError::Format`] naming a fold's `oof.csv` or `fold.json`
    /// that does not fit the data (another data set or fold assignment); the model builder's
    /// error.
    pub fn fit_folds<M: ImageClassifier>(
        &self,
        data: &ImageDataset,
        cv: &CvConfig,
        groups: Option<&[i64]>,
        mut model: impl FnMut(usize) -> Result<M>,
    ) -> Result<CvResult> {
        let folds = self.cv_folds(data, cv, groups)?;
        let labels = labels_of(data)?;
        let classes = data.classes();
        let root = PathBuf::from(&self.config().run_dir);
        std::fs::create_dir_all(&root).map_err(|e| PodiumError::io(&root, e))?;
        write_atomic(
            &root.join("config.json"),
            self.config().to_string().as_bytes(),
        )?;
        let quiet = self.config().progress == super::ProgressMode::Quiet;
        let mut results = Vec::with_capacity(cv.folds);
        let mut oof: Vec<Vec<f32>> = vec![Vec::new(); data.len()];
        for fold in 0..cv.folds {
            let dir = fold_dir(&root, fold);
            let (_, valid_idx) = folds.split(fold);
            let (result, probs) = match read_fold(&dir)? {
                Some(done) => {
                    let probs = read_oof(&dir.join("oof.csv"), data, &valid_idx, classes)?;
                    // the score from the probabilities themselves (exact in the CSV), not from
                    // the decimal in fold.json
                    let fold_labels: Vec<usize> = valid_idx.iter().map(|&i| labels[i]).collect();
                    let score = score_of(cv.metric, &probs, &fold_labels, classes.len())?;
                    let result = FoldResult {
                        score,
                        metric: cv.metric,
                        ..done
                    };
                    (result, probs)
                }
                None => {
                    // seed the device as Learner::new does, so every fold's model starts the
                    // same way
                    self.device().seed(self.config().seed);
                    let m = model(fold)?;
                    self.fit_one(data, cv, &folds, fold, m)?
                }
            };
            for (i, p) in valid_idx.iter().zip(probs) {
                oof[*i] = p;
            }
            if !quiet {
                println!("fold {fold}: {} {:.6}", cv.metric, result.score);
            }
            results.push(result);
        }
        let scores: Vec<f64> = results.iter().map(|r| r.score).collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let std =
            (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64).sqrt();
        let oof_score = score_of(cv.metric, &oof, &labels, classes.len())?;
        let all: Vec<usize> = (0..data.len()).collect();
        let fold_of = |i: usize| folds.test_fold[i];
        write_oof(&root.join("oof.csv"), data, &all, &fold_of, classes, &oof)?;
        let result = CvResult {
            metric: cv.metric,
            folds: results,
            mean,
            std,
            oof_score,
            oof,
        };
        write_json(&root.join("cv.json"), &result)?;
        if !quiet {
            println!(
                "CV {}: {mean:.6} +/- {std:.6} (out-of-fold {oof_score:.6})",
                cv.metric
            );
        }
        Ok(result)
    }

    fn fit_one<M: ImageClassifier>(
        &self,
        data: &ImageDataset,
        cv: &CvConfig,
        folds: &Folds,
        fold: usize,
        model: M,
    ) -> Result<(FoldResult, Vec<Vec<f32>>)> {
        if fold >= folds.n_splits {
            return Err(PodiumError::config(
                "fold",
                fold,
                format!(
                    "the run has {} folds (0 to {})",
                    folds.n_splits,
                    folds.n_splits - 1
                ),
            ));
        }
        let root = PathBuf::from(&self.config().run_dir);
        let dir = fold_dir(&root, fold);
        let (train_idx, valid_idx) = folds.split(fold);
        let config: LearnerConfig = self
            .config()
            .clone()
            .with_run_dir(dir.to_string_lossy().into_owned());
        let learner = self.with_config(config);
        let valid = data.subset(&valid_idx);
        let fitted = learner.fit(model, data.subset(&train_idx), valid.clone())?;
        let predictions = fitted.predict(&valid)?;
        let classes = data.classes();
        let labels: Vec<usize> = labels_of(&valid)?;
        let score = score_of(
            cv.metric,
            &predictions.probabilities,
            &labels,
            classes.len(),
        )?;
        let fold_of = |_: usize| fold;
        write_oof(
            &dir.join("oof.csv"),
            data,
            &valid_idx,
            &fold_of,
            classes,
            &predictions.probabilities,
        )?;
        let result = FoldResult {
            fold,
            metric: cv.metric,
            score,
            best_epoch: fitted.info.best_epoch,
            valid_size: valid_idx.len(),
        };
        write_json(&dir.join("fold.json"), &result)?;
        Ok((result, predictions.probabilities))
    }
}

/// `metric` of probability rows against `labels`.
fn score_of(metric: Metric, probs: &[Vec<f32>], labels: &[usize], classes: usize) -> Result<f64> {
    let flat: Vec<f32> = probs.iter().flatten().copied().collect();
    metric.compute(&flat, labels, classes)
}

fn fold_dir(root: &Path, fold: usize) -> PathBuf {
    root.join(format!("fold-{fold}"))
}

fn labels_of(data: &ImageDataset) -> Result<Vec<usize>> {
    data.labels()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.ok_or_else(|| {
                PodiumError::config("labels", data.name(i), "cross-validation needs every label")
            })
        })
        .collect()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| PodiumError::format(path, e.to_string()))?;
    write_atomic(path, text.as_bytes())
}

/// The fold's result when it is done (`fold.json` exists).
fn read_fold(dir: &Path) -> Result<Option<FoldResult>> {
    let path = dir.join("fold.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| PodiumError::io(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| PodiumError::format(&path, e.to_string()))
}

/// Writes `id,fold,label,<classes>` rows for `indices` of `data`, `probs[j]` for `indices[j]`
/// (or `probs[indices[j]]` when `probs` covers the whole dataset).
fn write_oof(
    path: &Path,
    data: &ImageDataset,
    indices: &[usize],
    fold_of: &dyn Fn(usize) -> usize,
    classes: &[String],
    probs: &[Vec<f32>],
) -> Result<()> {
    let whole = probs.len() == data.len() && indices.len() == data.len();
    let mut w = csv::Writer::from_writer(Vec::new());
    let format = |e: csv::Error| PodiumError::format(path, e.to_string());
    let mut header = vec!["id".to_string(), "fold".into(), "label".into()];
    header.extend(classes.iter().cloned());
    w.write_record(&header).map_err(format)?;
    for (j, &i) in indices.iter().enumerate() {
        let p = if whole { &probs[i] } else { &probs[j] };
        let label = data.label(i).map_or(String::new(), |l| classes[l].clone());
        let mut row = vec![data.name(i), fold_of(i).to_string(), label];
        row.extend(p.iter().map(|v| v.to_string()));
        w.write_record(&row).map_err(format)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| PodiumError::format(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// Reads a fold's `oof.csv` back: one row per index of `indices`, in order, with the ids and
/// the class columns of `data`.
fn read_oof(
    path: &Path,
    data: &ImageDataset,
    indices: &[usize],
    classes: &[String],
) -> Result<Vec<Vec<f32>>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) => PodiumError::io(path, io),
        other => PodiumError::format(path, format!("{other:?}")),
    })?;
    let bad =
        |line: usize, reason: String| PodiumError::format(path, format!("line {line}: {reason}"));
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let expected: Vec<&str> = ["id", "fold", "label"]
        .into_iter()
        .chain(classes.iter().map(String::as_str))
        .collect();
    if header.iter().collect::<Vec<_>>() != expected {
        return Err(bad(
            1,
            format!(
                "header {:?} is not {:?} (another data set?)",
                header, expected
            ),
        ));
    }
    let mut rows = Vec::with_capacity(indices.len());
    for (j, record) in reader.records().enumerate() {
        let line = j + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        let Some(&i) = indices.get(j) else {
            return Err(bad(
                line,
                format!("more rows than the fold's {} images", indices.len()),
            ));
        };
        if &record[0] != data.name(i).as_str() {
            return Err(bad(
                line,
                format!(
                    "id {:?} where the fold assignment has {:?} (another data set, seed or \
                     number of folds?)",
                    &record[0],
                    data.name(i)
                ),
            ));
        }
        rows.push(oof_probabilities(&record).map_err(|reason| bad(line, reason))?);
    }
    if rows.len() != indices.len() {
        return Err(bad(
            rows.len() + 1,
            format!(
                "{} rows for the fold's {} images",
                rows.len(),
                indices.len()
            ),
        ));
    }
    Ok(rows)
}

/// The probability columns of an `oof.csv` row (every field after `id,fold,label`); the reason
/// names the first field that is not a number.
pub(crate) fn oof_probabilities(
    record: &csv::StringRecord,
) -> std::result::Result<Vec<f32>, String> {
    record
        .iter()
        .skip(3)
        .map(|v| {
            v.parse::<f32>()
                .map_err(|_| format!("probability {v:?} is not a number"))
        })
        .collect()
}
