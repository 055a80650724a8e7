//! The Learner: the loss it trains with against torch, accuracy on the digits, reproducibility,
//! early stopping, checkpoints, the metrics CSV, config errors.

use std::sync::Mutex;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn_podium::PodiumError;
use burn_podium::augment::Normalize;
use burn_podium::codec::DecodeOptions;
use burn_podium::data::{CorruptPolicy, ImageDataset, digits};
use burn_podium::learner::{
    EarlyStoppingConfig, Learner, LearnerConfig, METRICS_CSV_HEADER, Monitor, ProgressMode,
    load_checkpoint,
};
use burn_podium::loss::LossConfig;
use burn_podium::mix::MixupConfig;
use burn_podium::model::{ImageClassifier, SimpleCnnConfig};
use burn_podium::optim::{OptimizerConfig, SgdConfig};
use burn_podium::schedule::ScheduleConfig;

use crate::fixtures::{config_key, corrupt_jpeg, photo_folder};

/// SGD with momentum 0.9, no Nesterov, no weight decay.
fn sgd() -> OptimizerConfig {
    SgdConfig::new().with_momentum(0.9).into()
}

/// Training seeds the backend's RNG, which flex shares process-wide: runs take turns.
static TRAINING: Mutex<()> = Mutex::new(());

pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Trains a width-8 SimpleCnn on the digit splits with `config` and returns the `(loss,
/// accuracy)` of every history row (train and valid, per epoch).
fn small_cnn_history(
    config: LearnerConfig,
    train: &ImageDataset,
    valid: &ImageDataset,
) -> Vec<(f64, f64)> {
    let device = crate::test_device();
    let learner = Learner::new(config, &device);
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let fitted = learner.fit(model, train.clone(), valid.clone()).unwrap();
    fitted
        .history
        .iter()
        .map(|r| (r.loss, r.accuracy))
        .collect()
}

fn config(dir: &std::path::Path) -> LearnerConfig {
    LearnerConfig::new()
        .with_run_dir(dir.to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
}

#[test]
fn short_quickstart_reaches_95_percent_on_held_out_digits() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let device = crate::test_device();
    let (train, test) = digits().unwrap().split_stratified(0.2, 42).unwrap();
    let (train, valid) = train.split_stratified(0.1, 42).unwrap();
    let learner = Learner::new(
        config(dir.path())
            .with_epochs(6)
            .with_batch_size(32)
            .with_lr(3e-3),
        &device,
    );
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .init(&device)
        .unwrap();
    let fitted = learner.fit(model, train, valid).unwrap();
    let report = fitted.evaluate(&test).unwrap();
    assert_eq!(report.num_samples, test.len());
    assert!(
        report.accuracy >= 95.0,
        "test accuracy {:.2}%",
        report.accuracy
    );
    assert!(report.balanced_accuracy() >= 94.0);
    assert!(report.top5_accuracy >= report.accuracy);
}

fn history_of(dir: &std::path::Path, seed: u64) -> Vec<(f64, f64)> {
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 1).unwrap();
    let learner = Learner::new(
        config(dir)
            .with_epochs(2)
            .with_batch_size(64)
            .with_seed(seed),
        &device,
    );
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let fitted = learner.fit(model, train, valid).unwrap();
    fitted
        .history
        .iter()
        .map(|r| (r.loss, r.accuracy))
        .collect()
}

#[test]
fn same_seed_same_metrics() {
    let _guard = lock();
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let first = history_of(a.path(), 3);
    let second = history_of(b.path(), 3);
    assert_eq!(first.len(), 4);
    assert_eq!(first, second);
    assert_ne!(
        first,
        history_of(c.path(), 4),
        "another seed must give another run"
    );
}

/// A linear probe: a user-defined model, without BatchNorm or dropout.
#[derive(Module, Debug)]
struct Probe {
    fc: Linear,
}

impl ImageClassifier for Probe {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.fc.forward(images.flatten(1, 3))
    }
}

#[test]
fn early_stopping_ends_a_run_that_stops_improving() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.2, 0).unwrap();
    // A rate this small leaves the accuracy where it starts: no epoch improves on the first.
    let learner = Learner::new(
        config(dir.path())
            .with_epochs(10)
            .with_lr(1e-12)
            .with_schedule(ScheduleConfig::Constant)
            .with_optimizer(sgd())
            .with_monitor(Monitor::ValidAccuracy)
            .with_early_stopping(Some(EarlyStoppingConfig::new(2))),
        &device,
    );
    let model = Probe {
        fc: LinearConfig::new(64, 10).init(&device),
    };
    let fitted = learner.fit(model, train, valid).unwrap();
    assert!(fitted.stopped_early);
    assert_eq!(fitted.epochs_run(), 3);
    assert_eq!(fitted.info.best_epoch, 1);
    assert_eq!(fitted.monitor(), Monitor::ValidAccuracy);
}

#[test]
fn the_monitor_orders_epochs_and_any_number_beats_nan() {
    use burn_podium::schedule::PlateauMode;
    let row = |epoch, loss, accuracy| burn_podium::learner::EpochMetrics {
        epoch,
        split: "valid".into(),
        loss,
        accuracy,
        top5_accuracy: 100.0,
        lr: 1e-3,
        seconds: 1.0,
        score: f64::NAN,
    };
    let (a, b) = (row(1, 0.5, 80.0), row(2, 0.4, 70.0));
    // the loss picks epoch 2, the accuracy epoch 1
    assert_eq!(Monitor::ValidLoss.compare(&b, &a), std::cmp::Ordering::Less);
    assert_eq!(
        Monitor::ValidAccuracy.compare(&a, &b),
        std::cmp::Ordering::Less
    );
    assert_eq!(Monitor::ValidAccuracy.value(&b), 70.0);
    assert!(Monitor::ValidLoss.improves(0.4, 0.5) && !Monitor::ValidLoss.improves(0.5, 0.5));
    assert!(Monitor::ValidAccuracy.improves(81.0, 80.0));
    assert!(Monitor::ValidLoss.improves(0.4, f64::NAN));
    assert!(!Monitor::ValidLoss.improves(f64::NAN, 0.4));
    assert!(!Monitor::ValidAccuracy.improves(f64::NAN, f64::NAN));
    assert_eq!(Monitor::ValidLoss.plateau_mode(), PlateauMode::Min);
    assert_eq!(Monitor::ValidAccuracy.plateau_mode(), PlateauMode::Max);
}

#[test]
fn best_checkpoint_reloads_and_the_run_directory_is_complete() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.2, 0).unwrap();
    let epochs = 3;
    let learner = Learner::new(config(dir.path()).with_epochs(epochs), &device);
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let fitted = learner.fit(model, train, valid.clone()).unwrap();

    let best = fitted.best_checkpoint();
    assert!(best.exists(), "{}", best.display());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let fresh = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let reloaded = load_checkpoint(fresh, &best).unwrap();
    let a = fitted.predict(&valid).unwrap();
    let b = burn_podium::infer::predict(
        &reloaded,
        &valid,
        &fitted.info.classes,
        &fitted.info.normalize,
        64,
        &device,
    )
    .unwrap();
    for (pa, pb) in a.probabilities.iter().zip(&b.probabilities) {
        for (x, y) in pa.iter().zip(pb) {
            assert!((x - y).abs() < 1e-5);
        }
    }
    // a checkpoint of another architecture is a typed error naming the file
    let other = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(4)
        .init(&device)
        .unwrap();
    match load_checkpoint(other, &best) {
        Err(e @ PodiumError::Checkpoint { .. }) => assert!(e.to_string().contains("model-"), "{e}"),
        other => panic!("expected a checkpoint error, got {other:?}"),
    }

    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], METRICS_CSV_HEADER);
    assert_eq!(lines.len(), 1 + 2 * epochs);
    let row: Vec<&str> = lines[2].split(',').collect();
    assert_eq!((row[0], row[1]), ("1", "valid"));
    let acc: f64 = row[3].parse().unwrap();
    assert!((acc - fitted.history[1].accuracy).abs() < 1e-3);
    assert!(
        row[5].parse::<f64>().unwrap() > 0.0,
        "the learning rate is recorded"
    );
    assert_eq!(fitted.history.len(), 2 * epochs);

    let saved = LearnerConfig::load(dir.path().join("config.json")).unwrap();
    assert_eq!(saved.epochs, epochs);
    let info = burn_podium::learner::RunInfo::load(dir.path()).unwrap();
    assert_eq!(info, fitted.info);
    assert_eq!(info.input_shape, [1, 8, 8]);
}

#[test]
fn invalid_configs_and_datasets_are_typed_errors() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.2, 0).unwrap();
    let key_of = |cfg: LearnerConfig| match Learner::new(cfg, &device).fit(
        Probe {
            fc: LinearConfig::new(64, 10).init(&device),
        },
        train.clone(),
        valid.clone(),
    ) {
        Err(PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    assert_eq!(key_of(config(dir.path()).with_epochs(0)), "epochs");
    // discriminative rates: lr_min above lr, and a model without layer groups
    assert_eq!(
        config_key(config(dir.path()).with_lr_min(Some(1e-2)).validate()),
        "lr_min"
    );
    let valid_lr_min = config(dir.path()).with_lr_min(Some(1e-5));
    assert!(valid_lr_min.validate().is_ok());
    assert_eq!(key_of(valid_lr_min), "lr_min");
    // label smoothing is the run's, set once and routed to the loss or the mixer
    assert_eq!(
        key_of(config(dir.path()).with_label_smoothing(1.0)),
        "label_smoothing"
    );
    assert_eq!(
        config_key(LossConfig::default().init(&train.class_counts(), 1.0)),
        "label_smoothing"
    );
    assert_eq!(
        key_of(config(dir.path()).with_loss(LossConfig::CrossEntropy {
            weight: Some(vec![1.0; 3])
        })),
        "loss.weight"
    );
    let mixing = || Some(MixupConfig::new().with_cutmix_alpha(1.0));
    assert_eq!(
        key_of(config(dir.path()).with_mixup(mixing()).with_batch_size(63)),
        "batch_size"
    );
    // a loss without smoothing refuses the run's value, mixed (the fastai way) or not
    for mixup in [None, mixing()] {
        assert_eq!(
            key_of(
                config(dir.path())
                    .with_loss(LossConfig::Focal {
                        gamma: 2.0,
                        alpha: None
                    })
                    .with_mixup(mixup)
                    .with_label_smoothing(0.1)
            ),
            "label_smoothing"
        );
    }
    // with mixing, a soft-target loss leaves the smoothing to the mixer
    let routed = config(dir.path())
        .with_mixup(mixing())
        .with_label_smoothing(0.1);
    assert_eq!(
        (routed.smoothing_for_loss(), routed.smoothing_for_mixer()),
        (0.0, 0.1)
    );
    let plain = config(dir.path()).with_label_smoothing(0.1);
    assert_eq!(
        (plain.smoothing_for_loss(), plain.smoothing_for_mixer()),
        (0.1, 0.0)
    );
    assert_eq!(
        config_key(
            LossConfig::Focal {
                gamma: 2.0,
                alpha: None
            }
            .init(&train.class_counts(), 0.1)
        ),
        "label_smoothing"
    );
    assert_eq!(
        key_of(config(dir.path()).with_mixup(mixing().map(|m| m.with_prob(2.0)))),
        "mixup.prob"
    );
    assert_eq!(
        key_of(
            config(dir.path())
                .with_mixup(mixing())
                .with_loss(LossConfig::TopK { k: 4 })
        ),
        "loss"
    );
    assert_eq!(key_of(config(dir.path()).with_lr(-1.0)), "lr");
    assert_eq!(
        key_of(
            config(dir.path()).with_optimizer(
                burn_podium::optim::AdamWConfig::new()
                    .with_beta1(1.5)
                    .with_weight_decay(0.0)
                    .into()
            )
        ),
        "optimizer.beta1"
    );
    assert_eq!(
        key_of(config(dir.path()).with_early_stopping(Some(EarlyStoppingConfig::new(0)))),
        "early_stopping.patience"
    );
    // validation data with other classes
    let other = valid.subset(&[0, 1]);
    let renamed = ImageDataset::from_memory(
        "x",
        vec![0; 2 * 64],
        [1, 8, 8],
        other.labels(),
        (0..10).map(|c| format!("c{c}")).collect(),
    )
    .unwrap();
    assert_eq!(
        config_key(Learner::new(config(dir.path()), &device).fit(
            Probe {
                fc: LinearConfig::new(64, 10).init(&device),
            },
            train.clone(),
            renamed,
        )),
        "valid.classes"
    );
}

#[test]
fn a_corrupt_training_image_fails_before_training_unless_skipped() {
    let _guard = lock();
    let data = tempfile::tempdir().unwrap();
    photo_folder(data.path(), 2, 4, 16);
    corrupt_jpeg(&data.path().join("class_1/broken.jpg"));
    let ds = ImageDataset::from_folder(data.path())
        .unwrap()
        .with_decode(DecodeOptions::rgb(16, 16));
    let (train, valid) = ds.split_stratified(0.25, 0).unwrap();
    let device = crate::test_device();
    let run = tempfile::tempdir().unwrap();
    let probe = || Probe {
        fc: LinearConfig::new(3 * 16 * 16, 2).init(&device),
    };
    let result = Learner::new(
        config(run.path()).with_epochs(1).with_batch_size(2),
        &device,
    )
    .fit(probe(), train.clone(), valid.clone());
    match result {
        Err(e @ PodiumError::Decode { .. }) => assert!(e.to_string().contains("broken.jpg"), "{e}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(
        !run.path().join("metrics.csv").exists(),
        "no training before the check"
    );
    let fitted = Learner::new(
        config(run.path())
            .with_epochs(1)
            .with_batch_size(2)
            .with_corrupt_images(CorruptPolicy::Skip),
        &device,
    )
    .fit(probe(), train, valid)
    .unwrap();
    assert_eq!(fitted.epochs_run(), 1);
}

#[test]
fn config_round_trips_through_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recipe.json");
    let cfg = LearnerConfig::new()
        .with_epochs(7)
        .with_optimizer(sgd())
        .with_schedule(ScheduleConfig::Cosine(
            burn_podium::schedule::WarmupCosineConfig::new()
                .with_warmup_epochs(2)
                .with_min_lr(1e-5),
        ))
        .with_early_stopping(Some(EarlyStoppingConfig::new(3)));
    cfg.save(&path).unwrap();
    let back = LearnerConfig::load(&path).unwrap();
    assert_eq!(back.epochs, 7);
    assert_eq!(back.optimizer, sgd());
    assert_eq!(back.schedule, cfg.schedule);
    assert_eq!(back.early_stopping, cfg.early_stopping);
    // defaults are torch's, not burn's
    assert_eq!(
        LearnerConfig::new().optimizer,
        OptimizerConfig::AdamW(
            burn_podium::optim::AdamWConfig::new()
                .with_beta1(0.9)
                .with_beta2(0.999)
                .with_eps(1e-8)
                .with_weight_decay(0.01)
        )
    );
}

#[test]
fn mixup_and_cutmix_train_reproducibly_with_any_loss() {
    let _guard = lock();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 2).unwrap();
    let run = |loss: LossConfig, mode: burn_podium::mix::MixMode| {
        let dir = tempfile::tempdir().unwrap();
        small_cnn_history(
            config(dir.path())
                .with_epochs(2)
                .with_batch_size(32)
                .with_lr(3e-3)
                .with_loss(loss)
                .with_mixup(Some(
                    MixupConfig::new()
                        .with_mixup_alpha(0.4)
                        .with_cutmix_alpha(1.0)
                        .with_mode(mode),
                )),
            &train,
            &valid,
        )
    };
    use burn_podium::mix::MixMode;
    let a = run(LossConfig::default(), MixMode::Elem);
    assert_eq!(a, run(LossConfig::default(), MixMode::Elem));
    assert!(a.iter().all(|(l, _)| l.is_finite()));
    // the model learns through the mixed targets: validation accuracy beats chance by far
    assert!(a[3].1 > 50.0, "{a:?}");
    // fastai's loss mixing for a loss without soft targets
    let focal = run(
        LossConfig::Focal {
            gamma: 2.0,
            alpha: None,
        },
        MixMode::Batch,
    );
    assert!(focal.iter().all(|(l, _)| l.is_finite()));
    assert_ne!(focal, a);
}

#[test]
fn a_class_balanced_sampler_changes_what_the_learner_sees() {
    let _guard = lock();
    let lt = digits()
        .unwrap()
        .long_tailed(0.05, burn_podium::data::ImbalanceProfile::Exponential, 0)
        .unwrap();
    let (train, valid) = lt.split_stratified(0.2, 0).unwrap();
    let run = |sampler: burn_podium::sample::SamplerConfig| {
        let dir = tempfile::tempdir().unwrap();
        small_cnn_history(
            config(dir.path()).with_epochs(2).with_sampler(sampler),
            &train,
            &valid,
        )
    };
    use burn_podium::sample::SamplerConfig;
    let plain = run(SamplerConfig::Shuffle);
    let balanced = run(SamplerConfig::ClassBalanced);
    assert_eq!(balanced, run(SamplerConfig::ClassBalanced), "seeded");
    assert_ne!(plain, balanced);
}

#[test]
fn timm_and_one_cycle_schedules_drive_the_learning_rate() {
    use burn_podium::schedule::{OneCycleConfig, TimmKind, TimmScheduleConfig};
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.5, 0).unwrap();
    let lrs = |schedule: ScheduleConfig, epochs: usize| {
        let dir = tempfile::tempdir().unwrap();
        let learner = Learner::new(
            config(dir.path())
                .with_epochs(epochs)
                .with_lr(1e-3)
                .with_schedule(schedule),
            &device,
        );
        let model = Probe {
            fc: LinearConfig::new(64, 10).init(&device),
        };
        let fitted = learner.fit(model, train.clone(), valid.clone()).unwrap();
        fitted
            .history
            .iter()
            .filter(|r| r.split == "train")
            .map(|r| r.lr)
            .collect::<Vec<_>>()
    };
    // timm step decay per epoch: the base rate is the config's lr
    let step = TimmScheduleConfig::new(TimmKind::Step {
        decay_t: 1,
        decay_rate: 0.5,
    });
    let got = lrs(ScheduleConfig::Timm(step), 3);
    for (g, e) in got.iter().zip([1e-3, 5e-4, 2.5e-4]) {
        assert!((g - e).abs() < 1e-12, "{got:?}");
    }
    // one-cycle over the whole run (the CSV holds each epoch's mean rate): the first epoch
    // rises to the peak, the second anneals towards max_lr / 25 / 1e4
    let got = lrs(ScheduleConfig::OneCycle(OneCycleConfig::new()), 2);
    assert!(
        got[0] > got[1] && got[0] < 1e-3 && got[1] > 1e-3 / 25.0 / 1e4,
        "{got:?}"
    );
    let constant = lrs(ScheduleConfig::Constant, 2);
    assert!(
        constant.iter().all(|l| (l - 1e-3).abs() < 1e-12),
        "{constant:?}"
    );
    // invalid schedule values are config errors before training
    let bad = TimmScheduleConfig::new(TimmKind::Cosine);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        config_key(
            Learner::new(
                config(dir.path()).with_schedule(ScheduleConfig::Timm(bad)),
                &device,
            )
            .fit(
                Probe {
                    fc: LinearConfig::new(64, 10).init(&device),
                },
                train.clone(),
                valid.clone(),
            )
        ),
        "schedule.t_initial"
    );
}

#[test]
fn an_ema_validates_is_checkpointed_and_is_the_returned_model() {
    use burn_podium::average::ModelEmaConfig;
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let learner = Learner::new(
        config(dir.path())
            .with_epochs(3)
            .with_lr(3e-3)
            .with_ema(Some(ModelEmaConfig::v3(0.9))),
        &device,
    );
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let fitted = learner.fit(model, train, valid.clone()).unwrap();
    let best = fitted.best_checkpoint();
    assert!(
        best.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ema-"),
        "{}",
        best.display()
    );
    assert!(best.exists());
    let live = dir
        .path()
        .join(format!("checkpoint/model-{}.bpk", fitted.info.best_epoch));
    assert!(live.exists());
    let fresh = || {
        SimpleCnnConfig::new(10)
            .with_in_channels(1)
            .with_width(8)
            .init(&device)
            .unwrap()
    };
    let probs = |m: &burn_podium::model::SimpleCnn| {
        burn_podium::infer::predict(
            m,
            &valid,
            &fitted.info.classes,
            &fitted.info.normalize,
            64,
            &device,
        )
        .unwrap()
        .probabilities
    };
    let from_ema = probs(&load_checkpoint(fresh(), &best).unwrap());
    let returned = fitted.predict(&valid).unwrap().probabilities;
    let close = |a: &Vec<Vec<f32>>, b: &Vec<Vec<f32>>| {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .all(|(x, y)| (x - y).abs() < 1e-5)
    };
    assert!(
        close(&from_ema, &returned),
        "the returned model holds the EMA weights"
    );
    let from_live = probs(&load_checkpoint(fresh(), &live).unwrap());
    assert!(
        !close(&from_ema, &from_live),
        "the EMA differs from the live weights"
    );
    // the validation accuracy of the best epoch is the EMA's
    let report = fitted.evaluate(&valid).unwrap();
    let best_row = fitted
        .history
        .iter()
        .find(|r| r.split == "valid" && r.epoch == fitted.info.best_epoch)
        .unwrap();
    assert!(
        (report.accuracy - best_row.accuracy).abs() < 1e-6,
        "{} vs {}",
        report.accuracy,
        best_row.accuracy
    );
}

#[test]
fn podium_optimizers_and_gradient_clipping_train_in_the_learner() {
    use burn_podium::optim::{
        AdaBeliefConfig, AdamaxConfig, ClipGrad, GradNorm, NAdamConfig, RAdamConfig,
    };
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 0).unwrap();
    let run = |optimizer: OptimizerConfig, clip: Option<ClipGrad>| {
        let dir = tempfile::tempdir().unwrap();
        let learner = Learner::new(
            config(dir.path())
                .with_epochs(2)
                .with_lr(1e-2)
                .with_optimizer(optimizer)
                .with_clip_grad(clip),
            &device,
        );
        let fitted = learner
            .fit(
                Probe {
                    fc: LinearConfig::new(64, 10).init(&device),
                },
                train.clone(),
                valid.clone(),
            )
            .unwrap();
        fitted
            .history
            .iter()
            .map(|r| (r.loss, r.accuracy))
            .collect::<Vec<_>>()
    };
    let nadam: OptimizerConfig = NAdamConfig::new()
        .with_beta1(0.9)
        .with_beta2(0.999)
        .with_eps(1e-8)
        .with_weight_decay(0.0)
        .with_momentum_decay(4e-3)
        .into();
    let plain = run(nadam.clone(), None);
    assert!(plain[3].1 > 70.0, "NAdam learns: {plain:?}");
    let clipped = run(
        nadam,
        Some(ClipGrad::Norm {
            max_norm: 1e-3,
            norm: GradNorm::L2,
        }),
    );
    assert_ne!(plain, clipped, "clipping changes the updates");
    // RAdam's rectification keeps its first steps small (it warms up over ~1/(1 - beta2) steps)
    let radam = run(
        RAdamConfig::new()
            .with_beta1(0.9)
            .with_beta2(0.999)
            .with_eps(1e-8)
            .with_weight_decay(0.0)
            .into(),
        None,
    );
    assert!(radam.iter().all(|(l, _)| l.is_finite()));
    let adamax = run(
        AdamaxConfig::new()
            .with_beta1(0.9)
            .with_beta2(0.999)
            .with_eps(1e-8)
            .with_weight_decay(0.0)
            .into(),
        None,
    );
    assert!(adamax[3].1 > 70.0, "Adamax learns: {adamax:?}");
    let belief = run(
        AdaBeliefConfig::new()
            .with_beta1(0.9)
            .with_beta2(0.999)
            .with_eps(1e-16)
            .with_weight_decay(0.01)
            .with_decoupled_decay(true)
            .with_rectify(true)
            .with_degenerated_to_sgd(true)
            .into(),
        Some(ClipGrad::Value { clip: 1.0 }),
    );
    assert!(belief.iter().all(|(l, _)| l.is_finite()));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        config_key(
            Learner::new(
                config(dir.path()).with_clip_grad(Some(ClipGrad::Norm {
                    max_norm: 0.0,
                    norm: GradNorm::L2,
                })),
                &device,
            )
            .fit(
                Probe {
                    fc: LinearConfig::new(64, 10).init(&device),
                },
                train.clone(),
                valid.clone(),
            )
        ),
        "clip_grad.max_norm"
    );
    assert_eq!(
        config_key(
            Learner::new(
                config(dir.path()).with_optimizer(
                    NAdamConfig::new()
                        .with_beta1(0.9)
                        .with_beta2(2.0)
                        .with_eps(1e-8)
                        .with_weight_decay(0.0)
                        .with_momentum_decay(4e-3)
                        .into()
                ),
                &device,
            )
            .fit(
                Probe {
                    fc: LinearConfig::new(64, 10).init(&device),
                },
                train,
                valid,
            )
        ),
        "optimizer.beta2"
    );
}

#[test]
fn sam_trains_in_the_learner() {
    use burn_podium::optim::SamConfig;
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 0).unwrap();
    let run = |sam: Option<SamConfig>| {
        let dir = tempfile::tempdir().unwrap();
        small_cnn_history(
            config(dir.path())
                .with_epochs(2)
                .with_lr(3e-3)
                .with_sam(sam),
            &train,
            &valid,
        )
    };
    let plain = run(None);
    let sam = run(Some(SamConfig {
        rho: 0.05,
        adaptive: false,
    }));
    assert_ne!(plain, sam, "SAM changes the updates");
    assert!(
        sam[3].1 > 50.0 && sam[3].1 > plain[3].1 - 10.0,
        "SAM learns: {sam:?} (plain {plain:?})"
    );
    let asam = run(Some(SamConfig {
        rho: 2.0,
        adaptive: true,
    }));
    assert!(asam.iter().all(|(l, _)| l.is_finite()));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        config_key(
            Learner::new(
                config(dir.path()).with_sam(Some(SamConfig {
                    rho: -1.0,
                    adaptive: false,
                })),
                &device,
            )
            .fit(
                SimpleCnnConfig::new(10)
                    .with_in_channels(1)
                    .init(&device)
                    .unwrap(),
                train.clone(),
                valid.clone(),
            )
        ),
        "sam.rho"
    );
}

#[test]
fn every_optimizer_config_builds_and_trains() {
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.5, 0).unwrap();
    use burn_podium::optim::{
        AdamConfig, AdamWConfig, LambConfig, LarsConfig, LionConfig, LookaheadConfig,
        MadgradConfig, RAdamConfig, RangerConfig,
    };
    let configs: Vec<OptimizerConfig> = vec![
        sgd(),
        AdamConfig::new().into(),
        AdamWConfig::new().into(),
        LambConfig::new()
            .with_beta1(0.9)
            .with_beta2(0.999)
            .with_eps(1e-6)
            .with_weight_decay(0.01)
            .with_trust_clip(false)
            .into(),
        LarsConfig::new()
            .with_momentum(0.9)
            .with_weight_decay(1e-4)
            .with_trust_coeff(1e-3)
            .with_trust_clip(true)
            .into(),
        MadgradConfig::new()
            .with_momentum(0.9)
            .with_weight_decay(0.0)
            .with_eps(1e-6)
            .into(),
        LionConfig::new()
            .with_beta1(0.9)
            .with_beta2(0.99)
            .with_weight_decay(0.0)
            .into(),
        RangerConfig::new()
            .with_radam(
                RAdamConfig::new()
                    .with_beta1(0.9)
                    .with_beta2(0.999)
                    .with_eps(1e-8)
                    .with_weight_decay(0.0),
            )
            .with_lookahead(LookaheadConfig::new().with_alpha(0.5).with_k(6))
            .into(),
        OptimizerConfig::Lookahead {
            base: Box::new(AdamWConfig::new().into()),
            lookahead: LookaheadConfig::new().with_alpha(0.5).with_k(5),
        },
    ];
    for optimizer in configs {
        let dir = tempfile::tempdir().unwrap();
        let learner = Learner::new(
            config(dir.path())
                .with_epochs(1)
                .with_lr(1e-3)
                .with_optimizer(optimizer.clone()),
            &device,
        );
        let fitted = learner
            .fit(
                Probe {
                    fc: LinearConfig::new(64, 10).init(&device),
                },
                train.clone(),
                valid.clone(),
            )
            .unwrap();
        assert!(
            fitted.history.iter().all(|r| r.loss.is_finite()),
            "{optimizer:?}"
        );
    }
    let bad: OptimizerConfig = RangerConfig::new()
        .with_lookahead(LookaheadConfig::new().with_alpha(0.5).with_k(0))
        .into();
    assert_eq!(config_key(bad.validate()), "optimizer.lookahead.k");
    let bad = OptimizerConfig::Lookahead {
        base: Box::new(sgd()),
        lookahead: LookaheadConfig::new().with_alpha(2.0).with_k(5),
    };
    assert_eq!(config_key(bad.validate()), "optimizer.lookahead.alpha");
}

#[test]
fn reduce_on_plateau_follows_the_monitored_metric() {
    use burn_podium::schedule::{PlateauConfig, ThresholdMode};
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.5, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // a relative threshold of 90% is never met: every epoch after the first is a plateau
    let learner = Learner::new(
        config(dir.path())
            .with_epochs(4)
            .with_lr(1e-2)
            .with_optimizer(sgd())
            .with_monitor(Monitor::ValidLoss)
            .with_schedule(ScheduleConfig::Plateau(
                PlateauConfig::new()
                    .with_factor(0.5)
                    .with_patience(0)
                    .with_threshold(0.9)
                    .with_threshold_mode(ThresholdMode::Rel)
                    .with_cooldown(0)
                    .with_min_lr(0.0),
            )),
        &device,
    );
    let fitted = learner
        .fit(
            Probe {
                fc: LinearConfig::new(64, 10).init(&device),
            },
            train,
            valid,
        )
        .unwrap();
    let lrs: Vec<f64> = fitted
        .history
        .iter()
        .filter(|r| r.split == "train")
        .map(|r| r.lr)
        .collect();
    for (got, want) in lrs.iter().zip([1e-2, 1e-2, 5e-3, 2.5e-3]) {
        assert!((got - want).abs() < 1e-12, "{lrs:?}");
    }
}

#[test]
fn lr_find_sweeps_suggests_and_leaves_the_model_alone() {
    use burn_podium::learner::LrFinderConfig;
    use burn_podium::schedule::Suggestion;
    let _guard = lock();
    let device = crate::test_device();
    let data = digits().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let learner = Learner::new(config(dir.path()).with_batch_size(32), &device);
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let normalize = burn_podium::augment::Normalize::estimate(&data, 4096).unwrap();
    let before = burn_podium::infer::predict(
        &model.valid(),
        &data,
        data.classes(),
        &normalize,
        256,
        &device,
    )
    .unwrap();
    let result = learner
        .lr_find(&model, &data, &LrFinderConfig::default())
        .unwrap();
    let n = result.recorded.len();
    assert!(n > 20 && n <= 100, "{n} points");
    // the sweep grows the rate exponentially (and may stop early when the loss diverges)
    assert!(result.recorded.windows(2).all(|w| w[1].0 > w[0].0));
    for which in [
        Suggestion::Valley,
        Suggestion::Steep,
        Suggestion::Minimum,
        Suggestion::Slide,
    ] {
        let s = result.suggest(which).unwrap();
        assert!(s.lr > 1e-8 && s.lr < 10.0, "{which:?}: {s:?}");
    }
    let png = dir.path().join("lr_find.png");
    result.plot_png(&png).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 500));
    let non_white = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(
        non_white > 5_000,
        "the plot draws something: {non_white} pixels"
    );
    let red = img
        .pixels()
        .filter(|p| p.0[0] > 200 && p.0[1] < 60 && p.0[2] < 60)
        .count();
    assert!(red > 20, "the valley suggestion is marked");
    let csv = dir.path().join("lr_find.csv");
    result.write_csv(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), n + 1);
    assert_eq!(text.lines().next(), Some("lr,smoothed_loss"));
    let after = burn_podium::infer::predict(
        &model.valid(),
        &data,
        data.classes(),
        &normalize,
        256,
        &device,
    )
    .unwrap();
    assert_eq!(before, after, "lr_find must not change the model");
    let bad = LrFinderConfig {
        start_lr: 1.0,
        end_lr: 0.1,
        ..LrFinderConfig::default()
    };
    assert!(matches!(
        learner.lr_find(&model, &data, &bad),
        Err(PodiumError::Config { .. })
    ));
}

#[test]
fn the_best_checkpoints_are_kept_and_averaged() {
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let learner = Learner::new(
        config(dir.path())
            .with_epochs(5)
            .with_lr(3e-3)
            .with_keep_best(2),
        &device,
    );
    let fresh = || {
        SimpleCnnConfig::new(10)
            .with_in_channels(1)
            .with_width(8)
            .init(&device)
            .unwrap()
    };
    let fitted = learner.fit(fresh(), train, valid.clone()).unwrap();
    let best = fitted.best_epochs(2);
    assert_eq!(best[0], fitted.info.best_epoch);
    for e in &best {
        assert!(
            dir.path()
                .join(format!("checkpoint/model-{e}.bpk"))
                .exists(),
            "epoch {e}"
        );
    }
    let files = std::fs::read_dir(dir.path().join("checkpoint"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("model-")
        })
        .count();
    assert!(
        files <= 3,
        "{files} model checkpoints: the 2 best and the last"
    );
    let averaged = fitted.average_best(2, fresh()).unwrap();
    let report =
        burn_podium::infer::evaluate(&averaged, &valid, &fitted.info.normalize, 64, &device)
            .unwrap();
    assert!(report.accuracy > 50.0, "{}", report.accuracy);
    // the average of one checkpoint is that checkpoint
    let one = fitted.average_best(1, fresh()).unwrap();
    let a = burn_podium::infer::predict(
        &one,
        &valid,
        &fitted.info.classes,
        &fitted.info.normalize,
        64,
        &device,
    )
    .unwrap();
    let b = fitted.predict(&valid).unwrap();
    for (x, y) in a
        .probabilities
        .iter()
        .flatten()
        .zip(b.probabilities.iter().flatten())
    {
        assert!((x - y).abs() < 1e-5);
    }
    match fitted.average_best(4, fresh()) {
        Err(PodiumError::Checkpoint { .. }) => {}
        other => panic!("expected a checkpoint error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn an_augmentation_pipeline_trains_reproducibly_in_the_learner() {
    use burn_podium::augment::{HorizontalFlip, PipelineConfig, TransformConfig};
    let _guard = lock();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 2).unwrap();
    let run = |augment: Option<PipelineConfig>| {
        let dir = tempfile::tempdir().unwrap();
        small_cnn_history(
            config(dir.path())
                .with_epochs(2)
                .with_batch_size(32)
                .with_lr(3e-3)
                .with_augment(augment),
            &train,
            &valid,
        )
    };
    let pipeline = PipelineConfig::from_json(
        r#"{"transforms": [
            {"name": "random_crop", "size": [8, 8], "padding": [1, 1, 1, 1]},
            {"name": "random_affine", "degrees": [-10, 10], "translate": [0.1, 0.1]}
        ]}"#,
    )
    .unwrap();
    let a = run(Some(pipeline.clone()));
    assert_eq!(a, run(Some(pipeline)), "one seed, one run");
    assert_ne!(a, run(None), "the pipeline changes what the model sees");
    assert!(a[3].1 > 50.0, "{a:?}");

    let dir = tempfile::tempdir().unwrap();
    let bad = PipelineConfig::new(vec![TransformConfig::HorizontalFlip(HorizontalFlip {
        p: 2.0,
    })]);
    let err = config(dir.path()).with_augment(Some(bad)).validate();
    assert_eq!(config_key(err), "augment.transforms[0].horizontal_flip.p");
    let splits = PipelineConfig::new(vec![]).with_splits(3, vec![]);
    let err = config(dir.path()).with_augment(Some(splits)).validate();
    assert_eq!(config_key(err), "augment.splits");
}

#[test]
fn one_cycle_cycles_sgd_momentum_and_adam_beta1_in_the_learner() {
    use burn_podium::schedule::OneCycleConfig;
    let _guard = lock();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 2).unwrap();
    let sgd: OptimizerConfig = SgdConfig::new()
        .with_momentum(0.9)
        .with_nesterov(false)
        .with_weight_decay(0.0)
        .into();
    let run = |optimizer: &OptimizerConfig, lr: f64, base_momentum: f64| {
        let dir = tempfile::tempdir().unwrap();
        let cycle = OneCycleConfig::new()
            .with_base_momentum(base_momentum)
            .with_max_momentum(0.95);
        small_cnn_history(
            config(dir.path())
                .with_epochs(2)
                .with_batch_size(32)
                .with_lr(lr)
                .with_optimizer(optimizer.clone())
                .with_schedule(ScheduleConfig::OneCycle(cycle)),
            &train,
            &valid,
        )
    };
    let cycled = run(&sgd, 0.05, 0.85);
    assert_eq!(cycled, run(&sgd, 0.05, 0.85));
    // only the momentum curve differs between these runs: it reaches the optimizer
    assert_ne!(cycled, run(&sgd, 0.05, 0.95));
    assert!(cycled[3].1 > 50.0, "{cycled:?}");
    // AdamW (the default optimizer): the curve drives beta1
    let adamw = OptimizerConfig::default();
    let cycled = run(&adamw, 3e-3, 0.85);
    assert_ne!(cycled, run(&adamw, 3e-3, 0.95));
    assert!(cycled[3].1 > 50.0, "{cycled:?}");
}

#[test]
fn photos_of_any_size_train_behind_a_random_resized_crop() {
    use burn_podium::augment::PipelineConfig;
    let _guard = lock();
    let device = crate::test_device();
    let dir = tempfile::tempdir().unwrap();
    // two classes of real photo crops, each file its own size
    let photos = crate::fixtures::photos();
    for (k, class) in ["cat", "rocket"].iter().enumerate() {
        let img = image::open(&photos[if k == 0 { 1 } else { 5 }])
            .unwrap()
            .to_rgb8();
        std::fs::create_dir_all(dir.path().join("train").join(class)).unwrap();
        for i in 0..6u32 {
            let (w, h) = (60 + 7 * i, 50 + 5 * i);
            let crop = image::imageops::crop_imm(&img, 10 * i, 8 * i, w, h).to_image();
            crop.save(
                dir.path()
                    .join("train")
                    .join(class)
                    .join(format!("{i}.png")),
            )
            .unwrap();
        }
    }
    let any_size = ImageDataset::from_folder(dir.path().join("train")).unwrap();
    let valid = any_size.clone().with_decode(DecodeOptions::rgb(24, 24));
    let augment = PipelineConfig::from_json(
        r#"{"transforms": [{"name": "random_resized_crop", "size": [24, 24]}, {"name": "horizontal_flip"}]}"#,
    )
    .unwrap();
    let learner = |augment: Option<PipelineConfig>| {
        Learner::new(
            config(&dir.path().join("run"))
                .with_epochs(1)
                .with_batch_size(4)
                .with_augment(augment),
            &device,
        )
    };
    let model = || SimpleCnnConfig::new(2).with_width(8).init(&device).unwrap();
    let fitted = learner(Some(augment))
        .fit(model(), any_size.clone(), valid.clone())
        .unwrap();
    assert_eq!(fitted.history.len(), 2);
    // without a crop to one size, mixed sizes are refused before training, naming a file
    match learner(None).fit(model(), any_size, valid) {
        Err(PodiumError::Dataset { path, reason }) => {
            assert!(path.extension().is_some_and(|e| e == "png"), "{path:?}");
            assert!(reason.contains("DecodeOptions::size"), "{reason}");
        }
        other => panic!("expected a dataset error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_normalizing_pipeline_normalizes_validation_and_inference_the_same_way() {
    use burn_podium::augment::{Normalize, PipelineConfig, TransformConfig};
    use burn_podium::learner::RunInfo;
    let _guard = lock();
    let device = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 2).unwrap();
    // far from the digits' own statistics, which the estimate would give
    let normalize = Normalize::new(vec![0.1], vec![0.9]).unwrap();
    let estimate = Normalize::estimate(&train, 4096).unwrap();
    assert_ne!(estimate, normalize);
    let pipeline = PipelineConfig::new(vec![TransformConfig::Normalize(normalize.clone())]);
    let run = |explicit: Option<Normalize>| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path())
            .with_epochs(1)
            .with_batch_size(32)
            .with_augment(Some(pipeline.clone()))
            .with_normalize(explicit);
        let model = SimpleCnnConfig::new(10)
            .with_in_channels(1)
            .with_width(8)
            .init(&device)
            .unwrap();
        let fitted = Learner::new(cfg, &device)
            .fit(model, train.clone(), valid.clone())
            .unwrap();
        let saved = RunInfo::load(dir.path()).unwrap();
        (fitted, saved)
    };
    // the training images leave the pipeline normalized by it: run.json and inference take its
    // normalization, not an estimate
    let (fitted, saved) = run(None);
    assert_eq!(fitted.info.normalize, normalize);
    assert_eq!(saved.normalize, normalize);
    // validation too: the same losses as a run that names that normalization explicitly
    let (explicit, _) = run(Some(normalize.clone()));
    let losses = |h: &[burn_podium::learner::EpochMetrics]| -> Vec<(String, f64, f64)> {
        h.iter()
            .map(|r| (r.split.clone(), r.loss, r.accuracy))
            .collect()
    };
    assert_eq!(losses(&fitted.history), losses(&explicit.history));
    // a configured normalization that differs from the pipeline's is refused
    let dir = tempfile::tempdir().unwrap();
    let mismatch = config(dir.path())
        .with_augment(Some(pipeline.clone()))
        .with_normalize(Some(estimate));
    assert_eq!(config_key(mismatch.validate()), "normalize");
}

#[test]
fn gradient_accumulation_equals_the_larger_batch() {
    let _guard = lock();
    let device = crate::test_device();
    // 320 training images: 10 batches of 32, or 20 of 16 accumulated in pairs; 320
    // validation images, so that the mean of the batch losses is the same at either size
    let (rest, valid) = digits().unwrap().split_stratified(0.2, 5).unwrap();
    let first: Vec<usize> = (0..320).collect();
    let (train, valid) = (rest.subset(&first), valid.subset(&first));
    let run = |batch_size: usize, accumulation: usize| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path())
            .with_epochs(3)
            .with_batch_size(batch_size)
            .with_grad_accumulation(accumulation)
            .with_lr(0.05)
            .with_schedule(ScheduleConfig::Constant)
            .with_optimizer(sgd())
            .with_normalize(Some(Normalize::new(vec![0.3], vec![0.35]).unwrap()));
        let learner = Learner::new(cfg, &device);
        let model = Probe {
            fc: LinearConfig::new(64, 10).init(&device),
        };
        learner
            .fit(model, train.clone(), valid.clone())
            .unwrap()
            .history
    };
    let large = run(32, 1);
    let accumulated = run(16, 2);
    let single = run(16, 1);
    assert_eq!(large.len(), accumulated.len());
    for (a, b) in large.iter().zip(&accumulated) {
        assert_eq!((a.epoch, &a.split), (b.epoch, &b.split));
        assert!(
            (a.loss - b.loss).abs() <= 1e-4 * a.loss.abs(),
            "epoch {} {}: {} vs {}",
            a.epoch,
            a.split,
            a.loss,
            b.loss
        );
    }
    // without accumulation, batches of 16 take twice the updates: another run
    let last = |h: &[burn_podium::learner::EpochMetrics]| h.last().unwrap().loss;
    assert!((last(&single) - last(&large)).abs() > 1e-3 * last(&large).abs());
    assert_eq!(
        config_key(
            config(std::path::Path::new("runs/unused"))
                .with_grad_accumulation(0)
                .validate()
        ),
        "grad_accumulation"
    );
}
