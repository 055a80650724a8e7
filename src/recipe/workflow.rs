//! `podium train` and `podium lr-find` as library functions: [`train`] and [`lr_find`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::oof::OofRows;
use super::sections::{RECIPE_FILE, Recipe};
use crate::data::{ImageDataset, stratified_split_indices};
use crate::error::{PodiumError, Result};
use crate::learner::{
    CvConfig, CvResult, FoldResult, Learner, LearnerConfig, LrFinderConfig, StopSignal,
};
use crate::metrics::Metric;
use crate::model::AnyModel;
use crate::schedule::Suggestion;

/// How [`train`] runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// Train this fold only (a job-array task); `None` trains every fold not done yet and
    /// writes the CV files.
    pub fold: Option<usize>,
    /// Continue an interrupted run or fold instead of refusing to touch it.
    pub resume: bool,
    /// Stop cleanly when set ([`Learner::with_stop_signal`]): the epoch under way is abandoned
    /// and [`train`] returns [`PodiumError::Interrupted`]; `podium train` passes
    /// [`StopSignal::on_terminate`]'s handle (Ctrl-C, SIGTERM).
    pub stop: Option<StopSignal>,
}

/// What [`train`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainOutcome {
    /// One holdout run (`folds` 0 or 1).
    Holdout {
        /// The metric.
        metric: Metric,
        /// The metric on the validation split.
        score: f64,
        /// The best epoch.
        best_epoch: usize,
    },
    /// One fold (`--fold K`).
    Fold(FoldResult),
    /// Every fold, with the CV score.
    CrossValidation(CvResult),
}

/// A progress bar on stderr, drawn only when stdout is a terminal.
pub(crate) fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if std::io::stdout().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed_precise}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_message(what.to_string());
    bar
}

/// The run directory where a holdout run's files are: `output`, or `output/unfrozen` after
/// `fine_tune` (its second phase).
pub fn holdout_run_dir(output: &Path) -> PathBuf {
    let unfrozen = output.join("unfrozen");
    if unfrozen.join("run.json").exists() {
        unfrozen
    } else {
        output.to_path_buf()
    }
}

/// The Learner of a run, watching `options.stop`.
fn learner_for(config: LearnerConfig, device: &Device, options: &TrainOptions) -> Learner {
    let learner = Learner::new(config, device);
    match &options.stop {
        Some(stop) => learner.with_stop_signal(stop.clone()),
        None => learner,
    }
}

fn fold_dir(root: &Path, fold: usize) -> PathBuf {
    root.join(format!("fold-{fold}"))
}

/// Seeds `device` with the run seed and builds the recipe's network for `classes` classes,
/// with its pretrained weights under a new head.
///
/// # Errors
/// As [`Recipe::model_config`]; the weight file's errors.
pub fn build_model(recipe: &Recipe, classes: usize, device: &Device) -> Result<AnyModel> {
    device.seed(recipe.train.seed);
    let model = recipe.model_config(classes)?.init(device)?;
    match &recipe.model.pretrained {
        Some(path) => model.load_backbone(path),
        None => Ok(model),
    }
}

/// The holdout split's `(train, valid)` indices: stratified, `valid_fraction`, the run seed.
///
/// # Errors
/// As [`stratified_split_indices`].
pub fn holdout_split(recipe: &Recipe, data: &ImageDataset) -> Result<(Vec<usize>, Vec<usize>)> {
    stratified_split_indices(
        &data.labels(),
        recipe.train.valid_fraction,
        recipe.train.seed,
    )
    .map_err(|e| e.in_section("train"))
}

/// Refuses an output directory that holds another recipe's run; saves the recipe there.
fn claim_output(recipe: &Recipe, root: &Path) -> Result<()> {
    let saved = root.join(RECIPE_FILE);
    if saved.exists() {
        let mut old = Recipe::from_file(&saved)?;
        // a run stopped on a NaN loss may be resumed with another nan_policy
        old.train.nan_policy = recipe.train.nan_policy;
        if old.to_toml()? != recipe.to_toml()? {
            return Err(PodiumError::config(
                "train.output",
                root.display(),
                format!(
                    "holds a run of another recipe ({} differs); choose another output or \
                     delete it",
                    saved.display()
                ),
            ));
        }
    }
    recipe.save(root)?;
    Ok(())
}

/// Trains the recipe (see the [module docs](super)): k-fold cross-validation with `folds >= 2`
/// (every fold not done yet, or only `options.fold`), else one stratified holdout split.
/// The recipe, with its paths made absolute, is saved as `recipe.toml` in the output directory;
/// a holdout run also writes the validation predictions as `oof.csv` (fold 0).
///
/// # Errors
/// [`PodiumError::NonFinite`] for a NaN or infinite loss under `train.nan_policy = "stop"`;
/// [`PodiumError::Interrupted`] when `options.stop` was set;
/// [`PodiumError::Config`] for an invalid recipe, an output directory holding another recipe's
/// run or a finished holdout run (without `resume`, which then only rescores it), a fold that is done (`--fold K` without `--resume`) or out of
/// range; the data's and the Learner's errors.
pub fn train(recipe: &Recipe, options: &TrainOptions) -> Result<TrainOutcome> {
    recipe.validate()?;
    let recipe = recipe.resolved()?;
    let root = recipe.train.output.clone();
    let device = crate::device::device_from_name(&recipe.train.device)?;
    let data = recipe.dataset()?;
    let classes = data.num_classes();
    let groups = data.groups();
    let config = recipe.learner_config()?.with_resume(options.resume);
    let folds = recipe.train.folds;
    if folds < 2 {
        if let Some(k) = options.fold {
            return Err(PodiumError::config(
                "--fold",
                k,
                "the recipe trains one holdout split (train.folds is 0 or 1)",
            ));
        }
        if !options.resume && holdout_run_dir(&root).join("run.json").exists() {
            return Err(PodiumError::config(
                "train.output",
                root.display(),
                "holds a finished run; choose another output or delete it",
            ));
        }
        claim_output(&recipe, &root)?;
        let (train_idx, valid_idx) = holdout_split(&recipe, &data)?;
        let (train_set, valid_set) = (data.subset(&train_idx), data.subset(&valid_idx));
        let learner = learner_for(config, &device, options);
        let model = build_model(&recipe, classes, &device)?;
        let fitted = match &recipe.fine_tune {
            Some(ft) => learner.fine_tune(model, train_set, valid_set.clone(), ft)?,
            None => learner.fit(model, train_set, valid_set.clone())?,
        };
        let predictions = fitted.predict(&valid_set)?;
        let rows = OofRows {
            classes: data.classes().to_vec(),
            ids: predictions.names.clone(),
            folds: vec![0; valid_idx.len()],
            labels: valid_idx
                .iter()
                .map(|&i| data.label(i).unwrap_or(0))
                .collect(),
            probs: predictions.probabilities,
        };
        rows.write(&root.join("oof.csv"))?;
        let metric = recipe.train.metric;
        let score = metric.compute(&rows.flat(), &rows.labels, classes)?;
        println!(
            "holdout {metric}: {score:.6} (best epoch {})",
            fitted.info.best_epoch
        );
        return Ok(TrainOutcome::Holdout {
            metric,
            score,
            best_epoch: fitted.info.best_epoch,
        });
    }
    claim_output(&recipe, &root)?;
    let cv = CvConfig::new()
        .with_folds(folds)
        .with_metric(recipe.train.metric);
    let learner = learner_for(config, &device, options);
    let done = |k: usize| fold_dir(&root, k).join("fold.json").exists();
    if let Some(k) = options.fold {
        if k >= folds {
            return Err(PodiumError::config(
                "--fold",
                k,
                format!("the recipe has {folds} folds (0 to {})", folds - 1),
            ));
        }
        let done_file = fold_dir(&root, k).join("fold.json");
        if done(k) && options.resume {
            // nothing left to resume: the fold's result as it was written
            let text =
                std::fs::read_to_string(&done_file).map_err(|e| PodiumError::io(&done_file, e))?;
            let result: FoldResult = serde_json::from_str(&text)
                .map_err(|e| PodiumError::format(&done_file, e.to_string()))?;
            return Ok(TrainOutcome::Fold(result));
        }
        if done(k) {
            return Err(PodiumError::config(
                "--fold",
                k,
                format!(
                    "fold {k} is done ({} exists); delete that directory to train it again",
                    done_file.display()
                ),
            ));
        }
        let model = build_model(&recipe, classes, &device)?;
        let result = learner.fit_fold(&data, &cv, groups.as_deref(), k, model)?;
        println!("fold {k}: {} {:.6}", result.metric, result.score);
        return Ok(TrainOutcome::Fold(result));
    }
    let bar = progress_bar(folds as u64, "folds");
    for k in 0..folds {
        if !done(k) {
            bar.set_message(format!("fold {k}"));
            let model = build_model(&recipe, classes, &device)?;
            learner.fit_fold(&data, &cv, groups.as_deref(), k, model)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    // every fold is done: fit_folds reads them back and writes oof.csv and cv.json
    let result = learner.fit_folds(&data, &cv, groups.as_deref(), |_| {
        build_model(&recipe, classes, &device)
    })?;
    Ok(TrainOutcome::CrossValidation(result))
}

/// What [`lr_find`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct LrFindOutcome {
    /// fastai's `valley` suggestion.
    pub suggestion: f64,
    /// The curve's plot, `output/lr_find.png`.
    pub plot: PathBuf,
    /// The curve, `output/lr_find.csv` (`lr,smoothed_loss`).
    pub csv: PathBuf,
}

/// fastai's learning-rate finder ([`Learner::lr_find`], fastai's defaults) on the recipe's model
/// and all its training images, with its augmentation, mixing, loss and optimizer; prints the
/// valley suggestion and saves the plot and the curve in the output directory.
///
/// # Errors
/// As [`train`]; [`PodiumError::Config`] when the sweep stopped too early to suggest.
pub fn lr_find(recipe: &Recipe) -> Result<LrFindOutcome> {
    recipe.validate()?;
    let device = crate::device::device_from_name(&recipe.train.device)?;
    let data = recipe.dataset()?;
    let learner = Learner::new(recipe.learner_config()?, &device);
    let model = build_model(recipe, data.num_classes(), &device)?;
    let result = learner.lr_find(&model, &data, &LrFinderConfig::default())?;
    let suggestion = result.suggest(Suggestion::Valley)?.lr;
    let dir = &recipe.train.output;
    std::fs::create_dir_all(dir).map_err(|e| PodiumError::io(dir, e))?;
    let (plot, csv) = (dir.join("lr_find.png"), dir.join("lr_find.csv"));
    result.plot_png(&plot)?;
    result.write_csv(&csv)?;
    println!(
        "suggested lr (valley): {suggestion:.3e}; plot {}",
        plot.display()
    );
    Ok(LrFindOutcome {
        suggestion,
        plot,
        csv,
    })
}
