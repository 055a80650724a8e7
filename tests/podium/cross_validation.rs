//! k-fold cross-validation on the Learner: fold files, out-of-fold predictions, CV scores,
//! resuming the missing folds, and errors.

use std::cell::Cell;
use std::path::Path;

use burn::config::Config;
use burn_podium::PodiumError;
use burn_podium::data::ImageDataset;
use burn_podium::data::digits;
use burn_podium::learner::{CvConfig, CvResult, FoldResult, Learner, LearnerConfig, ProgressMode};
use burn_podium::metrics::Metric;
use burn_podium::model::{SimpleCnn, SimpleCnnConfig};

use crate::fixtures::config_key;
use crate::learner::lock;

fn data() -> ImageDataset {
    // a stratified 240-image slice of the digits: a few seconds for three folds
    digits()
        .unwrap()
        .split_stratified(240.0 / 1797.0, 3)
        .unwrap()
        .1
}

fn config(dir: &Path) -> LearnerConfig {
    LearnerConfig::new()
        .with_epochs(2)
        .with_batch_size(32)
        .with_lr(3e-3)
        .with_run_dir(dir.to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
}

fn model(device: &burn::tensor::Device) -> burn_podium::Result<SimpleCnn> {
    SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(device)
}

/// An `oof.csv` row: id, fold, label, probabilities.
type OofRow = (String, usize, String, Vec<f32>);

/// `oof.csv`'s header and rows.
fn read_oof(path: &Path) -> (Vec<String>, Vec<OofRow>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].parse().unwrap(),
                r[2].to_string(),
                r.iter().skip(3).map(|v| v.parse().unwrap()).collect(),
            )
        })
        .collect();
    (header, rows)
}

#[test]
fn k_fold_writes_out_of_fold_predictions_and_the_cv_score() {
    let _guard = lock();
    let device = burn_podium::device::default_device();
    let dir = tempfile::tempdir().unwrap();
    let data = data();
    let cv = CvConfig::new().with_folds(3).with_metric(Metric::MacroF1);
    let learner = Learner::new(config(dir.path()), &device);
    let result = learner
        .fit_folds(&data, &cv, None, |_| model(&device))
        .unwrap();
    let folds = learner.cv_folds(&data, &cv, None).unwrap();

    // oof.csv: one row per training image, in dataset order, with its fold and label
    let (header, rows) = read_oof(&dir.path().join("oof.csv"));
    let mut expected_header = vec!["id".to_string(), "fold".into(), "label".into()];
    expected_header.extend(data.classes().iter().cloned());
    assert_eq!(header, expected_header);
    assert_eq!(rows.len(), data.len());
    for (i, (id, fold, label, p)) in rows.iter().enumerate() {
        assert_eq!(id, &data.name(i));
        assert_eq!(*fold, folds.test_fold[i]);
        assert_eq!(label, &data.classes()[data.label(i).unwrap()]);
        let sum: f32 = p.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "row {i} sums to {sum}");
        assert_eq!(p, &result.oof[i]);
    }

    // each fold's score is the metric of its own rows; the CV score their mean and std
    let labels: Vec<usize> = (0..data.len()).map(|i| data.label(i).unwrap()).collect();
    assert_eq!(result.folds.len(), 3);
    for f in &result.folds {
        let idx: Vec<usize> = (0..data.len())
            .filter(|&i| folds.test_fold[i] == f.fold)
            .collect();
        let probs: Vec<f32> = idx.iter().flat_map(|&i| rows[i].3.clone()).collect();
        let fold_labels: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
        let score = Metric::MacroF1.compute(&probs, &fold_labels, 10).unwrap();
        assert!((f.score - score).abs() < 1e-9, "{} vs {score}", f.score);
        assert_eq!(f.valid_size, idx.len());
        let saved: FoldResult = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("fold-{}/fold.json", f.fold)))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (saved.fold, saved.best_epoch, saved.valid_size),
            (f.fold, f.best_epoch, f.valid_size)
        );
        assert!((saved.score - f.score).abs() < 1e-12);
        assert!(
            dir.path()
                .join(format!("fold-{}/run.json", f.fold))
                .exists()
        );
    }
    let scores: Vec<f64> = result.folds.iter().map(|f| f.score).collect();
    let mean = scores.iter().sum::<f64>() / 3.0;
    let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((result.mean - mean).abs() < 1e-12 && (result.std - std).abs() < 1e-12);
    let flat: Vec<f32> = result.oof.iter().flatten().copied().collect();
    assert_eq!(
        result.oof_score,
        Metric::MacroF1.compute(&flat, &labels, 10).unwrap()
    );
    let saved: CvResult =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cv.json")).unwrap())
            .unwrap();
    assert_eq!(
        (saved.mean, saved.std, saved.folds),
        (result.mean, result.std, result.folds)
    );
    assert!(LearnerConfig::load(dir.path().join("config.json")).is_ok());
}

#[test]
fn only_the_missing_folds_are_trained() {
    let _guard = lock();
    let device = burn_podium::device::default_device();
    let dir = tempfile::tempdir().unwrap();
    let data = data();
    let cv = CvConfig::new().with_folds(3);
    let learner = Learner::new(config(dir.path()), &device);
    // one fold as an independent job (a job-array task), then the rest
    let one = learner
        .fit_fold(&data, &cv, None, 1, model(&device).unwrap())
        .unwrap();
    assert_eq!(one.fold, 1);
    let built = Cell::new(Vec::new());
    let record = |fold: usize| {
        let mut b = built.take();
        b.push(fold);
        built.set(b);
        model(&device)
    };
    let first = learner.fit_folds(&data, &cv, None, record).unwrap();
    assert_eq!(built.take(), vec![0, 2]);
    assert_eq!(first.folds[1].best_epoch, one.best_epoch);
    assert!((first.folds[1].score - one.score).abs() < 1e-12);
    // a second call trains nothing and gives the same CV files
    let cv_json = std::fs::read(dir.path().join("cv.json")).unwrap();
    let again = learner
        .fit_folds(&data, &cv, None, |f| -> burn_podium::Result<SimpleCnn> {
            panic!("fold {f} is done and must not be trained again")
        })
        .unwrap();
    assert_eq!(again.folds, first.folds);
    assert_eq!(std::fs::read(dir.path().join("cv.json")).unwrap(), cv_json);

    // a fold file that does not fit the data is an error naming it
    let oof = dir.path().join("fold-2/oof.csv");
    let text = std::fs::read_to_string(&oof).unwrap();
    let first_id = data.name(learner.cv_folds(&data, &cv, None).unwrap().split(2).1[0]);
    std::fs::write(&oof, text.replacen(&first_id, "someone-else.png", 1)).unwrap();
    match learner.fit_folds(&data, &cv, None, |_| model(&device)) {
        Err(PodiumError::Format { path, reason }) => {
            assert_eq!(path, oof);
            assert!(reason.contains("someone-else.png"), "{reason}");
        }
        other => panic!("expected a format error, got {:?}", other.map(|r| r.mean)),
    }
}

#[test]
fn fold_settings_are_checked_and_group_folds_keep_groups_together() {
    let device = burn_podium::device::default_device();
    let dir = tempfile::tempdir().unwrap();
    let data = data();
    let learner = Learner::new(config(dir.path()), &device);
    assert_eq!(
        config_key(learner.cv_folds(&data, &CvConfig::new().with_folds(1), None)),
        "folds"
    );
    assert_eq!(
        config_key(learner.cv_folds(&data, &CvConfig::new(), Some(&[0, 1, 2]))),
        "groups"
    );
    assert_eq!(
        config_key(learner.fit_fold(
            &data,
            &CvConfig::new().with_folds(3),
            None,
            3,
            model(&device).unwrap()
        )),
        "fold"
    );
    let groups: Vec<i64> = (0..data.len()).map(|i| (i / 7) as i64).collect();
    let folds = learner
        .cv_folds(&data, &CvConfig::new().with_folds(4), Some(&groups))
        .unwrap();
    for i in 0..data.len() {
        for j in 0..data.len() {
            if groups[i] == groups[j] {
                assert_eq!(folds.test_fold[i], folds.test_fold[j]);
            }
        }
    }
}
