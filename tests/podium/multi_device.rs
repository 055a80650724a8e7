//! Several devices (`LearnerConfig::devices`): burn-train's `MultiDevice` strategy on two or
//! three devices trains as one device does with the same global batch.
//!
//! The devices come from `PODIUM_TEST_DEVICE` (README "Backends"; default flex). flex has no
//! device indices (`Device::flex()` is one unit device), so `["flex", "flex"]` runs burn-train's
//! multi-device workers as two threads on the same CPU backend: the batch cutting, the gradient
//! sum and podium's loss scaling are the ones a multi-GPU run uses. With
//! `PODIUM_TEST_DEVICE=wgpu:cpu` the list alternates `wgpu:cpu` and `wgpu`, two distinct wgpu
//! devices (each its own queue and memory) on the one lavapipe adapter, so the pieces' gradients
//! also move between devices to the main one, as on several GPUs.
//!
//! Tolerances: a linear probe (no BatchNorm, no dropout) trained on one device and on several
//! differs only in float summation order (the gradient of a batch computed as the sum of its
//! pieces' gradients): 1e-5 on the weights, about 100 f32 ulps of values below 1, after up to
//! six updates. A SimpleCnn has BatchNorm (statistics per device) and dropout, so its runs
//! differ; there the test accuracies agree within 2 points.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{DType, Tensor};
use burn_podium::PodiumError;
use burn_podium::average::ModelEmaConfig;
use burn_podium::data::{ImageDataset, digits};
use burn_podium::learner::{
    Learner, LearnerConfig, NanPolicy, Precision, ProgressMode, read_scaler_state, scaler_file,
};
use burn_podium::loss::LossConfig;
use burn_podium::model::{ImageClassifier, SimpleCnnConfig};
use burn_podium::optim::{GradScalerConfig, SamConfig, SgdConfig};
use burn_podium::schedule::ScheduleConfig;

use crate::fixtures::{config_key, seeded_linear};
use crate::learner::lock;

/// The name of the device the runs train on: `PODIUM_TEST_DEVICE` (README "Backends"), else
/// `flex`.
fn device_name() -> String {
    crate::test_device_name().unwrap_or_else(|| "flex".into())
}

/// The device the one-device runs train on, the first of [`device_list`].
fn device() -> burn::tensor::Device {
    burn_podium::device::device_from_name(&device_name()).unwrap()
}

/// `n` devices for `LearnerConfig::devices` (one: the empty list, the one-device run): flex `n`
/// times; on lavapipe (`wgpu:cpu`) the software adapter opened as two distinct wgpu devices in
/// turn (`wgpu:cpu`, then `wgpu`, wgpu's default adapter, the same lavapipe on a machine without
/// a GPU), so gradients cross between devices as on two GPUs.
fn device_list(n: usize) -> Vec<String> {
    let name = device_name();
    (0..if n > 1 { n } else { 0 })
        .map(|i| match (name.as_str(), i % 2) {
            ("wgpu:cpu", 1) => "wgpu".to_string(),
            _ => name.clone(),
        })
        .collect()
}

/// A linear probe on the 8 x 8 digits; its training forwards are counted, and the ones in
/// `nan_at` (from 1) return NaN logits.
#[derive(Module, Debug)]
struct Probe {
    fc: Linear,
    #[module(skip)]
    forwards: Arc<AtomicUsize>,
    #[module(skip)]
    nan_at: Vec<usize>,
}

impl ImageClassifier for Probe {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let logits = self.fc.forward(images.flatten(1, 3));
        if !self.fc.weight.val().is_require_grad() {
            return logits;
        }
        let n = self.forwards.fetch_add(1, Ordering::SeqCst) + 1;
        if self.nan_at.contains(&n) {
            return logits.mul_scalar(f32::NAN);
        }
        logits
    }
}

fn probe(nan_at: &[usize]) -> Probe {
    Probe {
        fc: seeded_linear(64, 10, 11, &device()),
        forwards: Arc::default(),
        nan_at: nan_at.to_vec(),
    }
}

fn weights(p: &Probe) -> Vec<f32> {
    let mut w = p.fc.weight.val().into_data().try_to_vec::<f32>().unwrap();
    w.extend(
        p.fc.bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
    );
    w
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// `n` training digits (the first ones) and 100 validation digits.
fn data(n: usize) -> (ImageDataset, ImageDataset) {
    let all = digits().unwrap();
    let train = all.subset(&(0..n).collect::<Vec<_>>());
    let valid = all.subset(&(1000..1100).collect::<Vec<_>>());
    (train, valid)
}

/// A quiet SGD run in `dir` on `devices` devices ([`device_list`]; one: no `devices` list).
fn config(dir: &std::path::Path, devices: usize) -> LearnerConfig {
    LearnerConfig::new()
        .with_run_dir(dir.to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
        .with_optimizer(SgdConfig::new().into())
        .with_lr(0.5)
        .with_devices(device_list(devices))
}

fn fit_probe(
    cfg: LearnerConfig,
    n: usize,
    nan_at: &[usize],
) -> burn_podium::Result<burn_podium::learner::Fitted<Probe>> {
    let device = device();
    let (train, valid) = data(n);
    Learner::new(cfg, &device).fit(probe(nan_at), train, valid)
}

fn train_losses(f: &burn_podium::learner::Fitted<Probe>) -> Vec<f64> {
    f.history
        .iter()
        .filter(|r| r.split == "train")
        .map(|r| r.loss)
        .collect()
}

#[test]
fn one_step_on_two_devices_gives_the_single_device_weights() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    // one batch of 64: one SGD update, the mean gradient over the 64 images
    let cfg = |name: &str, devices: usize| {
        config(&dir.path().join(name), devices)
            .with_epochs(1)
            .with_batch_size(64)
    };
    let start = weights(&probe(&[]));
    let one = fit_probe(cfg("one", 1), 64, &[]).unwrap();
    let two = fit_probe(cfg("two", 2), 64, &[]).unwrap();
    let (w1, w2) = (weights(&one.model), weights(&two.model));
    let moved = max_diff(&start, &w1);
    assert!(moved > 1e-2, "the step moved the weights by {moved}");
    let diff = max_diff(&w1, &w2);
    assert!(diff <= 1e-5, "one device vs two: max |dw| = {diff}");
    // the reported loss is the batch's mean, not the pieces' scaled sum
    let (l1, l2) = (train_losses(&one), train_losses(&two));
    assert!((l1[0] - l2[0]).abs() <= 1e-5, "train loss {l1:?} vs {l2:?}");
    assert!(l1[0] > 1.0, "train loss {l1:?}");
}

#[test]
fn mixed_precision_on_two_devices_gives_the_one_device_weights_and_loss_scale() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    // 128 images in batches of 64: two updates. The probe's layer is Burn's `Linear` (not an
    // autocast one), so what differs from f32 is the loss scaler: f16 multiplies the loss by
    // 2^16 and must unscale the gradient summed over the devices once, not once per device.
    // Powers of two scale exactly, so every run ends with the f32 run's weights.
    let cfg = |name: &str, devices: usize, precision: Precision| {
        config(&dir.path().join(name), devices)
            .with_epochs(1)
            .with_batch_size(64)
            .with_precision(precision)
    };
    let start = weights(&probe(&[]));
    let f32_run = fit_probe(cfg("f32", 1, Precision::F32), 128, &[]).unwrap();
    let w32 = weights(&f32_run.model);
    assert!(max_diff(&start, &w32) > 1e-2);
    for (precision, dtype) in [
        (Precision::F16Mixed, DType::F16),
        (Precision::Bf16Mixed, DType::BF16),
    ] {
        if !device().supports_dtype(dtype) {
            // refused with a typed error there (`precision::precision_names_and_devices_without_the_dtype_are_typed_errors`); lavapipe has no bf16
            continue;
        }
        let one = fit_probe(cfg(&format!("{precision}-one"), 1, precision), 128, &[]).unwrap();
        let two_dir = format!("{precision}-two");
        let two = fit_probe(cfg(&two_dir, 2, precision), 128, &[]).unwrap();
        let (w1, w2) = (weights(&one.model), weights(&two.model));
        let diff = max_diff(&w1, &w2);
        assert!(
            diff <= 1e-5,
            "{precision}: one device vs two: max |dw| = {diff}"
        );
        let diff = max_diff(&w32, &w2);
        assert!(
            diff <= 1e-5,
            "{precision} on two devices vs f32: max |dw| = {diff}"
        );
        assert_eq!(two.info.skipped_steps, 0, "{precision}");
        if precision == Precision::F16Mixed {
            // two finite steps: the scale stays at its initial value (fewer than
            // growth_interval steps) and the growth tracker counts them
            let state = read_scaler_state(&scaler_file(&dir.path().join(&two_dir), 1)).unwrap();
            let init = GradScalerConfig::new().init_scale;
            assert_eq!((state.scale, state.growth_tracker), (init, 2));
        }
    }
}

#[test]
fn accumulation_momentum_ema_and_an_uneven_last_batch_match_one_device() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    // 67 images, batches of 32: 32, 32 and a last one of 3, cut 11/11/10 and 1/1/1 over three
    // devices; accumulation 2 makes the updates (b1 + b2) / 2 and b3; two epochs
    let cfg = |name: &str, devices: usize| {
        config(&dir.path().join(name), devices)
            .with_epochs(2)
            .with_batch_size(32)
            .with_drop_last(false)
            .with_grad_accumulation(2)
            .with_optimizer(SgdConfig::new().with_momentum(0.9).into())
            .with_lr(0.2)
            .with_ema(Some(ModelEmaConfig::v3(0.5)))
    };
    let one = fit_probe(cfg("one", 1), 67, &[]).unwrap();
    let three = fit_probe(cfg("three", 3), 67, &[]).unwrap();
    assert_eq!(one.info.best_epoch, three.info.best_epoch);
    // the EMA weights of the best epoch
    let diff = max_diff(&weights(&one.model), &weights(&three.model));
    assert!(diff <= 1e-5, "one device vs three: max |dw| = {diff}");
    let valid = |f: &burn_podium::learner::Fitted<Probe>| -> Vec<f64> {
        f.history
            .iter()
            .filter(|r| r.split == "valid")
            .map(|r| r.loss)
            .collect()
    };
    for (a, b) in valid(&one).iter().zip(&valid(&three)) {
        assert!((a - b).abs() <= 1e-5, "valid losses differ: {a} vs {b}");
    }
}

#[test]
fn the_reported_training_loss_is_the_single_device_mean() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    // 3 full batches of 32 an epoch, cut 11/11/10: each piece counts by its rows
    let cfg = |name: &str, devices: usize| {
        config(&dir.path().join(name), devices)
            .with_epochs(2)
            .with_batch_size(32)
            .with_lr(0.2)
    };
    let one = fit_probe(cfg("one", 1), 96, &[]).unwrap();
    let three = fit_probe(cfg("three", 3), 96, &[]).unwrap();
    let (l1, l3) = (train_losses(&one), train_losses(&three));
    assert_eq!(l1.len(), 2);
    for (a, b) in l1.iter().zip(&l3) {
        assert!((a - b).abs() <= 1e-5, "train losses {l1:?} vs {l3:?}");
    }
    let accuracy = |f: &burn_podium::learner::Fitted<Probe>| -> Vec<f64> {
        f.history.iter().map(|r| r.accuracy).collect()
    };
    assert_eq!(accuracy(&one), accuracy(&three));
}

#[test]
fn digits_on_two_devices_reach_the_single_device_accuracy() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let device = device();
    let (train, test) = digits().unwrap().split_stratified(0.2, 42).unwrap();
    let (train, valid) = train.split_stratified(0.1, 42).unwrap();
    let accuracy = |name: &str, devices: usize| {
        let cfg = LearnerConfig::new()
            .with_run_dir(dir.path().join(name).to_string_lossy().into_owned())
            .with_progress(ProgressMode::Quiet)
            .with_epochs(5)
            .with_batch_size(64)
            .with_lr(3e-3)
            .with_devices(device_list(devices));
        device.seed(42);
        let model = SimpleCnnConfig::new(10)
            .with_in_channels(1)
            .init(&device)
            .unwrap();
        let fitted = Learner::new(cfg, &device)
            .fit(model, train.clone(), valid.clone())
            .unwrap();
        fitted.evaluate(&test).unwrap().accuracy
    };
    let one = accuracy("one", 1);
    let two = accuracy("two", 2);
    println!("digits test accuracy: one device {one:.2}%, two devices {two:.2}%");
    assert!(one >= 95.0 && two >= 95.0, "{one:.2}% / {two:.2}%");
    assert!(
        (one - two).abs() <= 2.0,
        "one device {one:.2}%, two {two:.2}%"
    );
}

#[test]
fn a_nan_loss_on_two_devices_names_the_batch_and_skips_its_update_once() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    // 4 batches of 16, each cut in two: forwards 5 and 6 train batch 3
    let cfg = |name: &str| {
        config(&dir.path().join(name), 2)
            .with_epochs(1)
            .with_batch_size(16)
    };
    match fit_probe(cfg("stop"), 64, &[5]) {
        Err(PodiumError::NonFinite {
            epoch,
            step,
            what,
            last_complete_epoch,
            ..
        }) => {
            assert_eq!((epoch, step, what.as_str()), (1, 3, "loss"));
            assert_eq!(last_complete_epoch, 0);
        }
        other => panic!("expected NonFinite, got {:?}", other.map(|f| f.info)),
    }
    let skipped = fit_probe(cfg("skip").with_nan_policy(NanPolicy::Skip), 64, &[5]).unwrap();
    assert_eq!(skipped.info.skipped_steps, 1);
}

#[test]
fn a_run_resumed_on_two_devices_ends_with_the_uninterrupted_weights() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let cfg = |name: &str, devices: usize, epochs: usize| {
        config(&dir.path().join(name), devices)
            .with_epochs(epochs)
            .with_batch_size(32)
            .with_lr(0.1)
            // the rate of an epoch does not depend on the run's length
            .with_schedule(ScheduleConfig::Constant)
    };
    let full = fit_probe(cfg("full", 2, 3), 128, &[]).unwrap();
    // the first epoch on one device, the rest on two: `devices` may change on resume
    fit_probe(cfg("cut", 1, 1), 128, &[]).unwrap();
    let resumed = fit_probe(cfg("cut", 2, 3).with_resume(true), 128, &[]).unwrap();
    assert_eq!(resumed.epochs_run(), 3);
    let diff = max_diff(&weights(&full.model), &weights(&resumed.model));
    assert!(diff <= 1e-5, "uninterrupted vs resumed: max |dw| = {diff}");
}

#[test]
fn bad_device_names_and_refused_combinations_are_config_errors() {
    let named = |devices: &[&str]| {
        LearnerConfig::new()
            .with_devices(devices.iter().map(|d| d.to_string()).collect())
            .validate()
    };
    assert_eq!(config_key(named(&["flex", "gpu7"])), "devices[1]");
    assert_eq!(config_key(named(&["cuda:x"])), "devices[0]");
    named(&["flex", "cpu"]).unwrap();
    let two = LearnerConfig::new().with_devices(vec!["flex".into(), "flex".into()]);
    assert_eq!(
        config_key(two.clone().with_sam(Some(SamConfig::new())).validate()),
        "sam"
    );
    // SAM on one device stays allowed
    LearnerConfig::new()
        .with_sam(Some(SamConfig::new()))
        .validate()
        .unwrap();
    assert_eq!(
        config_key(two.clone().with_batch_size(1).validate()),
        "batch_size"
    );
    assert_eq!(
        config_key(two.clone().with_loss(LossConfig::TopK { k: 8 }).validate()),
        "loss"
    );
    // the recipe key maps onto the config, and its errors name the recipe key
    let mut recipe = burn_podium::recipe::Recipe::default();
    recipe.train.devices = vec!["flex".into(), "nope".into()];
    let err = recipe.learner_config().unwrap().validate().unwrap_err();
    assert!(
        err.to_string().contains("devices[1]") && err.to_string().contains("nope"),
        "{err}"
    );
}
