//! `podium evaluate` and `podium predict` as library functions: [`evaluate`] and [`predict`].

use std::path::{Path, PathBuf};

use super::oof::OofRows;
use super::sections::{RECIPE_FILE, Recipe};
use super::workflow::{build_model, holdout_run_dir, holdout_split, progress_bar};
use crate::codec::DecodeOptions;
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::infer::{
    EnsembleMode, Predictions, SubmissionConfig, TtaConfig, ensemble, predict as predict_plain,
    predict_tta, write_probabilities_csv, write_submission_like,
};
use crate::learner::{RunInfo, checkpoint_file, load_checkpoint};
use crate::report::{ReportFiles, ReportInputs, read_metrics_csv, write_report};

/// What [`evaluate`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluateOutcome {
    /// The competition metric on every out-of-fold (or validation) prediction.
    pub score: f64,
    /// The report of the whole run (`RUN_DIR/report/`), then one per fold
    /// (`RUN_DIR/fold-K/report/`) for a k-fold run.
    pub reports: Vec<ReportFiles>,
}

fn report_of(
    dir: &Path,
    rows: &OofRows,
    recipe: &Recipe,
    dataset: &ImageDataset,
    history: Option<&Path>,
    title: String,
) -> Result<ReportFiles> {
    let history = match history {
        Some(p) if p.exists() => Some(read_metrics_csv(p)?),
        _ => None,
    };
    let flat = rows.flat();
    let mut inputs = ReportInputs::new(&flat, &rows.labels, &rows.classes)
        .with_metric(recipe.train.metric)
        .with_dataset(dataset)
        .with_title(title);
    if let Some(h) = &history {
        inputs = inputs.with_history(h);
    }
    write_report(dir.join("report"), &inputs)
}

/// Writes the evaluation report of a run trained by [`train`](super::train) (see
/// [`crate::report`]): for a holdout run, of its validation predictions with its training
/// curves; for a k-fold run, of all out-of-fold predictions, and one per fold with that fold's
/// curves. The images come from the data of the run's saved `recipe.toml`.
///
/// # Errors
/// [`PodiumError::Io`] naming a missing `recipe.toml` or `oof.csv` (a run not trained, or
/// k-fold CV files not written yet); [`PodiumError::Format`] naming `oof.csv` when its ids are
/// not the recipe's data; the report's errors.
pub fn evaluate(run_dir: impl AsRef<Path>) -> Result<EvaluateOutcome> {
    let root = run_dir.as_ref();
    let recipe = Recipe::from_file(root.join(RECIPE_FILE))?;
    let data = recipe.dataset()?;
    let oof_path = root.join("oof.csv");
    let rows = OofRows::read(&oof_path)?;
    let kfold = recipe.train.folds >= 2;
    let indices: Vec<usize> = if kfold {
        (0..data.len()).collect()
    } else {
        holdout_split(&recipe, &data)?.1
    };
    if rows.ids.len() != indices.len() || rows.classes != data.classes() {
        return Err(PodiumError::format(
            &oof_path,
            format!(
                "{} rows of classes {:?}; the recipe's data gives {} rows of classes {:?}",
                rows.ids.len(),
                rows.classes,
                indices.len(),
                data.classes()
            ),
        ));
    }
    if let Some(j) = (0..indices.len()).find(|&j| rows.ids[j] != data.name(indices[j])) {
        return Err(PodiumError::format(
            &oof_path,
            format!(
                "line {}: id {:?} where the recipe's data has {:?}",
                j + 2,
                rows.ids[j],
                data.name(indices[j])
            ),
        ));
    }
    let subset = data.subset(&indices);
    let metric = recipe.train.metric;
    let score = metric.compute(&rows.flat(), &rows.labels, rows.classes.len())?;
    let title = root.display().to_string();
    let mut reports = Vec::new();
    if kfold {
        reports.push(report_of(
            root,
            &rows,
            &recipe,
            &subset,
            None,
            title.clone(),
        )?);
        for k in 0..recipe.train.folds {
            let (keep, fold_rows) = rows.of_fold(k);
            let dir = root.join(format!("fold-{k}"));
            let history = dir.join("metrics.csv");
            let fold_data = subset.subset(&keep);
            let title = format!("{title} fold {k}");
            reports.push(report_of(
                &dir,
                &fold_rows,
                &recipe,
                &fold_data,
                Some(&history),
                title,
            )?);
        }
    } else {
        let history = holdout_run_dir(root).join("metrics.csv");
        reports.push(report_of(
            root,
            &rows,
            &recipe,
            &subset,
            Some(&history),
            title,
        )?);
    }
    println!("{metric}: {score:.6}");
    println!("report: {}", reports[0].markdown.display());
    Ok(EvaluateOutcome { score, reports })
}

/// Options of [`predict`] besides the runs and the test folder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PredictOptions {
    /// A sample submission whose header, ids and row order the submission keeps
    /// ([`write_submission_like`]); without it, an `id,label` file.
    pub sample_submission: Option<PathBuf>,
    /// A TTA spec ([`TtaConfig::from_spec`]: `hflip`, `flips`, `d4`, `tencrop=S`, ...).
    pub tta: Option<String>,
    /// The submission file (default `submission.csv`); the probabilities go beside it as
    /// `<stem>_probabilities.csv`.
    pub out: Option<PathBuf>,
    /// How the members are merged ([`ensemble`]): mean of probabilities (default), geometric
    /// mean, or rank average.
    pub ensemble: EnsembleMode,
    /// One weight per run directory (every fold of a run gets its run's weight); `None` weighs
    /// every member alike.
    pub weights: Option<Vec<f64>>,
    /// Test-time input size (FixRes, Touvron et al. 2019: a model trained at `data.size` often
    /// scores better on larger test images; podium's models pool globally, so any size runs);
    /// `None` predicts at the recipe's `data.size`.
    pub size: Option<usize>,
}

/// What [`predict`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictOutcome {
    /// The submission CSV.
    pub submission: PathBuf,
    /// The probabilities CSV (`id,<classes>`).
    pub probabilities: PathBuf,
    /// The ensemble's members (run or fold directories), in order.
    pub members: Vec<PathBuf>,
}

/// The member runs of a run directory: each `fold-K` of a k-fold run, else the run itself.
///
/// # Errors
/// [`PodiumError::Io`] naming a missing `recipe.toml`; [`PodiumError::Config`] naming a fold
/// or run that has not finished (no `run.json`).
pub fn members_of(run_dir: &Path) -> Result<(Recipe, Vec<PathBuf>)> {
    let recipe = Recipe::from_file(run_dir.join(RECIPE_FILE))?;
    recipe.validate()?;
    let members: Vec<PathBuf> = if recipe.train.folds >= 2 {
        (0..recipe.train.folds)
            .map(|k| run_dir.join(format!("fold-{k}")))
            .collect()
    } else {
        vec![holdout_run_dir(run_dir)]
    };
    if let Some(m) = members.iter().find(|m| !m.join("run.json").exists()) {
        return Err(PodiumError::config(
            "RUN_DIR",
            m.display(),
            "has not finished training (no run.json)",
        ));
    }
    Ok((recipe, members))
}

/// Predicts the unlabelled images of `test_dir` with every member of `run_dirs` (all folds of
/// a k-fold run, [`members_of`]) at its best checkpoint, each under the TTA views of
/// `options.tta` ([`predict_tta`]) or plainly, merges the members by the mean of their
/// probabilities ([`ensemble`]), and writes the probabilities CSV and the submission.
///
/// # Errors
/// As [`members_of`]; [`PodiumError::Config`] (`tta`) for a bad spec; the test folder's,
/// checkpoints' and submission's errors (ids missing from the test folder or extra files name
/// them).
pub fn predict(
    run_dirs: &[PathBuf],
    test_dir: impl AsRef<Path>,
    options: &PredictOptions,
) -> Result<PredictOutcome> {
    if run_dirs.is_empty() {
        return Err(PodiumError::config(
            "RUN_DIR",
            "(none)",
            "give at least one run",
        ));
    }
    let tta = options
        .tta
        .as_deref()
        .map(TtaConfig::from_spec)
        .transpose()?;
    if let Some(w) = &options.weights
        && w.len() != run_dirs.len()
    {
        return Err(PodiumError::config(
            "--weights",
            format!("{w:?}"),
            format!("one weight per run directory ({} given)", run_dirs.len()),
        ));
    }
    if options.size == Some(0) {
        return Err(PodiumError::config("--size", 0, "must be at least 1"));
    }
    let mut runs = Vec::new();
    let mut member_weights = Vec::new();
    for (r, dir) in run_dirs.iter().enumerate() {
        let (recipe, members) = members_of(dir)?;
        if let Some(w) = &options.weights {
            member_weights.extend(std::iter::repeat_n(w[r], members.len()));
        }
        runs.push((recipe, members));
    }
    let total: usize = runs.iter().map(|(_, m)| m.len()).sum();
    let n_test = ImageDataset::from_unlabelled_folder(test_dir.as_ref())?.len();
    let bar = progress_bar((total * n_test) as u64, "predicting");
    let mut predictions: Vec<Predictions> = Vec::with_capacity(total);
    let mut all_members = Vec::with_capacity(total);
    for (recipe, members) in runs {
        let device = crate::device::device_from_name(&recipe.train.device)?;
        let mut decode = recipe.decode_options();
        if let Some(size) = options.size {
            decode = DecodeOptions::rgb(size, size)
                .with_color(decode.color)
                .with_exif_orientation(decode.exif_orientation);
        }
        let test = ImageDataset::from_unlabelled_folder(test_dir.as_ref())?.with_decode(decode);
        let batch = recipe.train.batch_size;
        for member in members {
            bar.set_message(member.display().to_string());
            let info = RunInfo::load(&member)?;
            let checkpoint = checkpoint_file(&member, recipe.ema.is_some(), info.best_epoch);
            let model = build_model(&recipe, info.classes.len(), &device)?;
            let model = load_checkpoint(model, &checkpoint)?;
            let (classes, norm) = (&info.classes, &info.normalize);
            // the run's evaluation crop (timm's crop_pct), as validation saw
            let test = info.eval_dataset(&test)?;
            let mut merged = Predictions {
                names: Vec::with_capacity(test.len()),
                classes: classes.clone(),
                probabilities: Vec::with_capacity(test.len()),
            };
            // chunks of a few batches, so that the bar moves (per-item results are the same)
            let all: Vec<usize> = (0..test.len()).collect();
            for chunk in all.chunks(batch * 4) {
                let part = test.subset(chunk);
                let p = match &tta {
                    Some(t) => predict_tta(&model, &part, classes, norm, batch, &device, t)?,
                    None => predict_plain(&model, &part, classes, norm, batch, &device)?,
                };
                merged.names.extend(p.names);
                merged.probabilities.extend(p.probabilities);
                bar.inc(chunk.len() as u64);
            }
            predictions.push(merged);
            all_members.push(member);
        }
    }
    bar.finish_and_clear();
    let weights = options.weights.as_ref().map(|_| member_weights.as_slice());
    let merged = ensemble(&predictions, weights, options.ensemble)?;
    let submission = options
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("submission.csv"));
    let stem = submission
        .file_stem()
        .map_or_else(|| "submission".into(), |s| s.to_string_lossy().into_owned());
    let probabilities = submission.with_file_name(format!("{stem}_probabilities.csv"));
    write_probabilities_csv(&probabilities, &merged)?;
    match &options.sample_submission {
        Some(sample) => write_submission_like(&submission, &merged, sample)?,
        None => merged.write_submission(&submission, &SubmissionConfig::new())?,
    }
    println!(
        "{} member(s); submission {}; probabilities {}",
        all_members.len(),
        submission.display(),
        probabilities.display()
    );
    Ok(PredictOutcome {
        submission,
        probabilities,
        members: all_members,
    })
}
