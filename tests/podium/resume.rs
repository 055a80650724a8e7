//! Resume, run-directory protection, the competition metric as monitor, early stopping's
//! `min_delta` and the checkpoints a run keeps.

use std::path::Path;

use burn_podium::PodiumError;
use burn_podium::augment::{HorizontalFlip, PipelineConfig, TransformConfig};
use burn_podium::average::ModelEmaConfig;
use burn_podium::data::{ImageDataset, digits};
use burn_podium::learner::{
    EarlyStoppingConfig, EpochMetrics, Learner, LearnerConfig, Monitor, ProgressMode,
    read_metrics_csv,
};
use burn_podium::metrics::Metric;
use burn_podium::mix::MixupConfig;
use burn_podium::model::{ImageClassifier, SimpleCnn, SimpleCnnConfig};
use burn_podium::schedule::{PlateauConfig, ScheduleConfig};

use crate::fixtures::metric_numbers;
use crate::learner::lock;

fn data() -> (ImageDataset, ImageDataset) {
    let small = digits()
        .unwrap()
        .split_stratified(300.0 / 1797.0, 5)
        .unwrap()
        .1;
    small.split_stratified(0.3, 5).unwrap()
}

fn config(dir: &Path) -> LearnerConfig {
    LearnerConfig::new()
        .with_epochs(4)
        .with_batch_size(32)
        .with_lr(3e-3)
        .with_run_dir(dir.to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
}

fn model(device: &burn::tensor::Device) -> SimpleCnn {
    SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(device)
        .unwrap()
}

/// Trains the probe run `cfg` on the test device (`PODIUM_TEST_DEVICE`, README "Backends").
fn fit(cfg: LearnerConfig) -> burn_podium::Result<burn_podium::learner::Fitted<SimpleCnn>> {
    let device = crate::test_device();
    let (train, valid) = data();
    Learner::new(cfg, &device).fit(model(&device), train, valid)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Trains `recipe` for 4 epochs uninterrupted, and again from a copy of that run cut after
/// epoch `cut_after` (the later checkpoints deleted, as a kill during the next epoch leaves it),
/// resumed; every number of the two `metrics.csv` agrees.
fn resume_matches(recipe: &dyn Fn(&Path) -> LearnerConfig, cut_after: usize) -> Vec<EpochMetrics> {
    let dir = tempfile::tempdir().unwrap();
    let (full, cut) = (dir.path().join("full"), dir.path().join("cut"));
    let uninterrupted = fit(recipe(&full)).unwrap();
    let expected = read_metrics_csv(full.join("metrics.csv")).unwrap();
    assert_eq!(
        metric_numbers(&uninterrupted.history),
        metric_numbers(&expected)
    );

    copy_dir(&full, &cut);
    for epoch in cut_after + 1..=uninterrupted.epochs_run() {
        for kind in ["model", "optim", "scheduler", "ema"] {
            let f = cut.join("checkpoint").join(format!("{kind}-{epoch}.bpk"));
            if f.exists() {
                std::fs::remove_file(f).unwrap();
            }
        }
    }
    // without resume the run directory is never overwritten
    match fit(recipe(&cut)) {
        Err(PodiumError::RunExists { dir, .. }) => assert_eq!(dir, cut),
        other => panic!("expected RunExists, got {:?}", other.map(|f| f.info)),
    }
    let resumed = fit(recipe(&cut).with_resume(true)).unwrap();
    let got = read_metrics_csv(cut.join("metrics.csv")).unwrap();
    assert_eq!(metric_numbers(&got), metric_numbers(&expected));
    assert_eq!(metric_numbers(&resumed.history), metric_numbers(&expected));
    assert_eq!(resumed.info.best_epoch, uninterrupted.info.best_epoch);
    assert_eq!(resumed.stopped_early, uninterrupted.stopped_early);
    got
}

#[test]
fn a_run_resumed_after_epoch_two_ends_with_the_uninterrupted_metrics() {
    let _guard = lock();
    // dropout (device stream), augmentation, mixing, EMA, a cosine schedule and the
    // competition metric: every piece of state a resume must restore
    resume_matches(
        &|run| {
            config(run)
                .with_keep_best(4)
                .with_augment(Some(PipelineConfig::new(vec![
                    TransformConfig::HorizontalFlip(HorizontalFlip { p: 0.5 }),
                ])))
                .with_mixup(Some(MixupConfig::new()))
                .with_ema(Some(ModelEmaConfig::v3(0.9)))
                .with_monitor(Monitor::Metric(Metric::MacroF1))
        },
        2,
    );
}

#[test]
fn a_plateau_schedule_and_early_stopping_resume_where_they_were() {
    let _guard = lock();
    let recipe = |run: &Path| {
        config(run)
            .with_epochs(6)
            .with_keep_best(6)
            .with_lr(1e-2)
            .with_schedule(ScheduleConfig::Plateau(
                PlateauConfig::new()
                    .with_patience(0)
                    .with_factor(0.5)
                    .with_threshold(0.2),
            ))
            .with_monitor(Monitor::ValidAccuracy)
    };
    // the plateau state (best, bad epochs, the reduced rate) carries over the cut
    let rows = resume_matches(&recipe, 3);
    let lr = |epoch: usize| rows.iter().find(|r| r.epoch == epoch).unwrap().lr;
    assert!(
        rows.iter().any(|r| r.epoch > 3 && r.lr < lr(1)),
        "the plateau never reduced the rate after the cut: {:?}",
        metric_numbers(&rows)
    );
    // the epochs without improvement before the cut count after it
    let stopping = |run: &Path| {
        recipe(run).with_early_stopping(Some(EarlyStoppingConfig::new(1).with_min_delta(4.0)))
    };
    let rows = resume_matches(&stopping, 2);
    assert!(
        rows.len() > 4 && rows.len() < 12,
        "{:?}",
        metric_numbers(&rows)
    );
}

#[test]
fn a_run_whose_config_lacks_newer_keys_resumes_when_they_keep_their_defaults() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    fit(config(dir.path()).with_epochs(1)).unwrap();
    // config.json as a podium before `precision` and `devices` existed wrote it
    let path = dir.path().join("config.json");
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let keys = old.as_object_mut().unwrap();
    assert!(keys.remove("precision").is_some() && keys.remove("devices").is_some());
    std::fs::write(&path, old.to_string()).unwrap();
    // a new key away from its default is still a different run
    match fit(config(dir.path())
        .with_epochs(2)
        .with_precision(burn_podium::learner::Precision::F16Mixed)
        .with_resume(true))
    {
        Err(PodiumError::RunExists { reason, .. }) => {
            assert!(
                reason.starts_with("holds a different run: precision differ"),
                "{reason}"
            );
        }
        other => panic!("expected RunExists, got {:?}", other.map(|f| f.info)),
    }
    let longer = fit(config(dir.path()).with_epochs(2).with_resume(true)).unwrap();
    assert_eq!(longer.epochs_run(), 2);
}

#[test]
fn resuming_a_different_run_names_the_keys_that_differ() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    fit(config(dir.path()).with_epochs(1)).unwrap();
    match fit(config(dir.path())
        .with_epochs(1)
        .with_lr(1e-2)
        .with_resume(true))
    {
        Err(PodiumError::RunExists { reason, .. }) => {
            assert!(
                reason.starts_with("holds a different run: lr differ"),
                "{reason}"
            );
        }
        other => panic!("expected RunExists, got {:?}", other.map(|f| f.info)),
    }
    // more epochs for the same run: it continues from epoch 1
    let longer = fit(config(dir.path()).with_epochs(2).with_resume(true)).unwrap();
    assert_eq!(longer.epochs_run(), 2);
    assert_eq!(
        read_metrics_csv(dir.path().join("metrics.csv"))
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn the_competition_metric_is_computed_over_the_whole_validation_split() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let fitted = fit(config(dir.path())
        .with_epochs(2)
        .with_monitor(Monitor::Metric(Metric::MacroF1)))
    .unwrap();
    let valid_rows: Vec<&EpochMetrics> = fitted
        .history
        .iter()
        .filter(|r| r.split == "valid")
        .collect();
    assert!(
        fitted
            .history
            .iter()
            .filter(|r| r.split == "train")
            .all(|r| r.score.is_nan())
    );
    // the best epoch's score is the metric of the reloaded best model's predictions
    let best = valid_rows
        .iter()
        .find(|r| r.epoch == fitted.info.best_epoch)
        .unwrap();
    assert!(valid_rows.iter().all(|r| r.score <= best.score));
    let (_, valid) = data();
    let predictions = fitted.predict(&valid).unwrap();
    let probs: Vec<f32> = predictions.probabilities.concat();
    let labels: Vec<usize> = valid.labels().into_iter().map(Option::unwrap).collect();
    let expected = Metric::MacroF1.compute(&probs, &labels, 10).unwrap();
    assert!(
        (best.score - expected).abs() < 1e-4,
        "score {} vs macro F1 of the predictions {expected}",
        best.score
    );
}

#[test]
fn early_stopping_counts_only_improvements_beyond_min_delta() {
    let row = |epoch: usize, accuracy: f64| EpochMetrics {
        epoch,
        split: "valid".into(),
        loss: 1.0,
        accuracy,
        top5_accuracy: 100.0,
        lr: 1e-3,
        seconds: 1.0,
        score: f64::NAN,
    };
    // small gains after the first epoch: +0.2, +0.2, +0.05
    let rows: Vec<EpochMetrics> = [80.0, 80.2, 80.4, 80.45]
        .iter()
        .enumerate()
        .map(|(i, &a)| row(i + 1, a))
        .collect();
    let es = EarlyStoppingConfig::new(3);
    assert!(!es.should_stop(Monitor::ValidAccuracy, &rows));
    assert!(
        es.with_min_delta(0.5)
            .should_stop(Monitor::ValidAccuracy, &rows)
    );
    assert!(
        !es.with_min_delta(0.4)
            .should_stop(Monitor::ValidAccuracy, &rows)
    );
    // for a loss, lower is better
    assert!(
        es.with_min_delta(0.0)
            .should_stop(Monitor::ValidLoss, &rows)
    );
    // an invalid min_delta is a config error naming the key
    let err = config(Path::new("runs/unused"))
        .with_early_stopping(Some(EarlyStoppingConfig::new(2).with_min_delta(-1.0)))
        .validate()
        .unwrap_err();
    assert!(
        err.to_string().contains("early_stopping.min_delta"),
        "{err}"
    );
}

#[test]
fn a_run_keeps_the_best_and_the_two_last_checkpoints() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let fitted = fit(config(dir.path()).with_epochs(4).with_keep_best(1)).unwrap();
    let mut kept: Vec<usize> = std::fs::read_dir(dir.path().join("checkpoint"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .collect();
    kept.sort_unstable();
    let mut expected = vec![fitted.info.best_epoch, 3, 4];
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(kept, expected);
}

#[test]
fn a_full_disk_under_metrics_csv_stops_the_run_with_an_error_and_keeps_the_last_file() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    fit(config(dir.path()).with_epochs(1)).unwrap();
    let csv = dir.path().join("metrics.csv");
    let before = std::fs::read(&csv).unwrap();
    // the next write of metrics.csv goes to a full disk
    std::os::unix::fs::symlink("/dev/full", dir.path().join(".metrics.csv.tmp")).unwrap();
    match fit(config(dir.path()).with_epochs(3).with_resume(true)) {
        Err(PodiumError::Io { path, .. }) => assert_eq!(path, csv),
        other => panic!(
            "expected an Io error naming metrics.csv, got {:?}",
            other.map(|f| f.info)
        ),
    }
    // the run stopped in the epoch whose write failed: metrics.csv is whole (the epoch-1 rows
    // it had, and at most the failed epoch's rows that a later write managed), epoch 3 never ran
    let rows = read_metrics_csv(&csv).unwrap();
    assert!(std::fs::read(&csv).unwrap().starts_with(&before));
    assert!(
        rows.iter().all(|r| r.epoch <= 2),
        "{:?}",
        metric_numbers(&rows)
    );
    let device = crate::test_device();
    let checkpoint = dir.path().join("checkpoint/model-1.bpk");
    burn_podium::learner::load_checkpoint(model(&device), &checkpoint).unwrap();
    assert!(!dir.path().join("checkpoint/model-3.bpk").exists());
}

/// Burn 0.22 reads a burnpack file lazily: the tensors of a record loaded from a file stay backed
/// by the file until their bytes are first touched. podium reads checkpoint files whole when it
/// loads them, so a loaded model and a run's best model do not depend on files that the run's
/// keep-best rotation, a later save or the user deletes.
#[test]
fn loaded_checkpoints_and_the_fitted_model_outlive_their_files() {
    let _guard = lock();
    let device = crate::test_device();
    let dir = tempfile::tempdir().unwrap();
    let fitted = fit(config(dir.path()).with_epochs(1)).unwrap();
    let file = dir.path().join("checkpoint").join("model-1.bpk");
    let loaded = burn_podium::learner::load_checkpoint(model(&device), &file).unwrap();
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(&file, copy.path().join("model-1.bpk")).unwrap();
    drop(dir);
    let images = burn::tensor::Tensor::<4>::random(
        [4, 1, 28, 28],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let logits = |m: &SimpleCnn| -> Vec<f32> {
        m.forward(images.clone())
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap()
    };
    let from_copy =
        burn_podium::learner::load_checkpoint(model(&device), copy.path().join("model-1.bpk"))
            .unwrap();
    assert_eq!(logits(&loaded), logits(&from_copy));
    assert_eq!(logits(&fitted.model), logits(&from_copy));
}
