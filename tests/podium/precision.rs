//! Mixed precision (`LearnerConfig::precision`): the autocast region really computes
//! convolutions and linear layers in f16 / bf16, the loss scaler follows torch's `GradScaler`
//! sequence, an overflowing step is skipped and counted with the weights untouched, the scale is
//! checkpointed and restored on resume, digits runs in f16 / bf16 reach the f32 run's accuracy,
//! and a device without the dtype or an unknown name is a typed error.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::GradientsParams;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, Distribution, FloatDType, Tensor};
use burn_podium::PodiumError;
use burn_podium::data::{ImageDataset, digits};
use burn_podium::kernel::autocast::{autocast, autocast_dtype, linear};
use burn_podium::kernel::conv::conv2d;
use burn_podium::learner::{
    Learner, LearnerConfig, Precision, ProgressMode, read_metrics_csv, read_scaler_state,
    scaler_file,
};
use burn_podium::model::{ImageClassifier, SimpleCnnConfig};
use burn_podium::optim::{GradScalerConfig, GradScalerState, SamConfig};
use burn_podium::recipe::{Recipe, RecipeFormat};

use crate::fixtures::{config_key, quiet_config, seeded_linear, skipped_column};

/// The values of `t` as `f32`.
fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.clone().try_into_vec_as::<f32>().unwrap()
}

/// `t` rounded to `dtype` and back.
fn rounded<const D: usize>(t: &Tensor<D>, dtype: FloatDType) -> Vec<f32> {
    values(&t.clone().cast(dtype).cast(FloatDType::F32))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The low dtypes the test device computes in.
fn low_dtypes(device: &Device) -> Vec<FloatDType> {
    [FloatDType::F16, FloatDType::BF16]
        .into_iter()
        .filter(|d| device.supports_dtype(DType::from(*d)))
        .collect()
}

#[test]
fn the_autocast_region_is_per_thread_nested_and_restored_after_a_panic() {
    assert_eq!(autocast_dtype(), None);
    autocast(Some(FloatDType::F16), || {
        assert_eq!(autocast_dtype(), Some(FloatDType::F16));
        autocast(None, || assert_eq!(autocast_dtype(), None));
        autocast(Some(FloatDType::BF16), || {
            assert_eq!(autocast_dtype(), Some(FloatDType::BF16));
        });
        assert_eq!(autocast_dtype(), Some(FloatDType::F16));
        // another thread has its own (empty) region
        std::thread::spawn(|| assert_eq!(autocast_dtype(), None))
            .join()
            .unwrap();
    });
    assert_eq!(autocast_dtype(), None);
    let caught = std::panic::catch_unwind(|| {
        autocast(Some(FloatDType::BF16), || panic!("inside"));
    });
    assert!(caught.is_err());
    assert_eq!(autocast_dtype(), None);
    let wrong = std::panic::catch_unwind(|| autocast(Some(FloatDType::F64), || ()));
    assert!(wrong.is_err(), "autocast only lowers");
}

#[test]
fn autocast_computes_convolutions_and_linear_layers_in_the_low_dtype() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let device = crate::test_device();
    device.seed(7);
    let ad = device.clone().autodiff();
    let conv: Conv2d = Conv2dConfig::new([3, 8], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&ad);
    let fc: Linear = LinearConfig::new(8 * 6 * 6, 5).init(&ad);
    let x: Tensor<4> = Tensor::random([2, 3, 6, 6], Distribution::Normal(0.0, 1.0), &ad);
    let plain = conv2d(&conv, x.clone());
    let plain_logits = fc.forward(plain.clone().flatten::<2>(1, 3));
    for dtype in low_dtypes(&device) {
        let (out, logits) = autocast(Some(dtype), || {
            let out = conv2d(&conv, x.clone());
            let logits = linear(&fc, out.clone().flatten::<2>(1, 3));
            (out, logits)
        });
        // handed back in f32, computed in the low dtype: every value is one of that dtype
        assert_eq!((out.dtype(), logits.dtype()), (DType::F32, DType::F32));
        assert_eq!(values(&out), rounded(&out, dtype), "{dtype:?} conv output");
        assert_eq!(values(&logits), rounded(&logits, dtype), "{dtype:?} logits");
        // the convolution of the rounded inputs, to the low dtype's precision; not the f32 one
        let round = |t: Tensor<4>| t.cast(dtype).cast(FloatDType::F32);
        let reference = burn::tensor::module::conv2d(
            round(x.clone()),
            round(conv.weight.val()),
            conv.bias
                .as_ref()
                .map(|b| b.val().cast(dtype).cast(FloatDType::F32)),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        let (got, want, f32_out) = (values(&out), values(&reference), values(&plain));
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let eps = match dtype {
            FloatDType::F16 => 2f32.powi(-10),
            _ => 2f32.powi(-7),
        };
        assert!(
            max_abs_diff(&got, &want) <= 4.0 * eps * scale,
            "{dtype:?}: {} vs the rounded inputs' convolution (max |y| {scale})",
            max_abs_diff(&got, &want)
        );
        assert!(
            max_abs_diff(&got, &f32_out) > 0.0,
            "{dtype:?}: the output must differ from the f32 convolution's"
        );
        assert!(max_abs_diff(&values(&logits), &values(&plain_logits)) > 0.0);

        // the backward pass runs in the low dtype too; the parameters' gradients arrive in f32
        let grads = logits.sum().backward();
        let gw = conv.weight.grad(&grads).unwrap();
        let gfc = fc.weight.grad(&grads).unwrap();
        assert_eq!((gw.dtype(), gfc.dtype()), (DType::F32, DType::F32));
        assert_eq!(
            values(&gw),
            rounded(&gw, dtype),
            "{dtype:?} weight gradient"
        );
        assert_eq!(
            values(&gfc),
            rounded(&gfc, dtype),
            "{dtype:?} head gradient"
        );
    }
    // outside a region: exactly the f32 layers
    assert_eq!(values(&conv2d(&conv, x.clone())), values(&plain));
    assert_eq!(
        values(&linear(&fc, plain.clone().flatten::<2>(1, 3))),
        values(&plain_logits)
    );
}

/// torch's `GradScaler.update()` by its documented rule, for the expected sequence.
fn torch_update(cfg: &GradScalerConfig, state: &mut GradScalerState, found_inf: bool) {
    if found_inf {
        state.scale *= cfg.backoff_factor;
        state.growth_tracker = 0;
    } else {
        state.growth_tracker += 1;
        if state.growth_tracker == cfg.growth_interval {
            state.scale *= cfg.growth_factor;
            state.growth_tracker = 0;
        }
    }
}

#[test]
fn the_grad_scaler_follows_torchs_sequence_on_a_scripted_gradient_series() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let device = crate::test_device();
    let module: Linear = LinearConfig::new(4, 3).init(&device);
    let g_w = Tensor::<2>::from_floats(
        [
            [0.5, -0.25, 1.0],
            [2.0, 0.0, -3.0],
            [0.125, 1.0, 1.0],
            [4.0, -1.0, 0.75],
        ],
        &device,
    );
    let g_b = Tensor::<1>::from_floats([0.25, -0.5, 8.0], &device);
    let bias_id = module.bias.as_ref().unwrap().id;
    for cfg in [
        GradScalerConfig::new(),
        GradScalerConfig::new()
            .with_growth_interval(3)
            .with_growth_factor(4.0)
            .with_backoff_factor(0.25)
            .with_init_scale(1024.0),
    ] {
        let mut scaler = cfg.init().unwrap();
        let n = cfg.growth_interval;
        // the script: two overflows, a run that grows the scale twice, an overflow in the middle
        // of a run (the tracker restarts), a NaN, then growth again
        let mut script = vec![true, true];
        script.extend(std::iter::repeat_n(false, 2 * n));
        script.extend(std::iter::repeat_n(false, n - 1));
        script.push(true);
        script.extend(std::iter::repeat_n(false, n));
        script.push(true);
        script.extend(std::iter::repeat_n(false, n + 1));
        let mut expected = GradScalerState {
            scale: cfg.init_scale,
            growth_tracker: 0,
        };
        let mut skipped = 0;
        for (step, &overflow) in script.iter().enumerate() {
            let s = scaler.scale();
            assert_eq!(s, expected.scale, "step {step}");
            let mut grads = GradientsParams::new();
            let poison = if step % 2 == 0 {
                f32::INFINITY
            } else {
                f32::NAN
            };
            let gw = g_w.clone() * s;
            let gw = if overflow {
                gw.slice_fill([1..2, 2..3], poison)
            } else {
                gw
            };
            grads.register(module.weight.id, gw);
            grads.register(bias_id, g_b.clone() * s);
            let finite = scaler.unscale(&module, &mut grads);
            assert_eq!(finite, !overflow, "step {step}");
            if finite {
                // power-of-two scales: unscaling is exact
                assert_eq!(
                    values(&grads.get::<2>(module.weight.id).unwrap()),
                    values(&g_w)
                );
                assert_eq!(values(&grads.get::<1>(bias_id).unwrap()), values(&g_b));
            } else {
                skipped += 1;
            }
            scaler.update(finite);
            torch_update(&cfg, &mut expected, overflow);
            assert_eq!(scaler.state(), expected, "after step {step}");
        }
        // the closed form: init * backoff^overflows * growth^(full good runs)
        let overflows = script.iter().filter(|o| **o).count();
        assert_eq!(skipped, overflows);
        let growths = 2 + 1 + 1;
        assert_eq!(
            scaler.scale(),
            cfg.init_scale
                * cfg.backoff_factor.powi(overflows as i32)
                * cfg.growth_factor.powi(growths)
        );
        assert_eq!(scaler.state().growth_tracker, 1);
    }
    // bad settings and states are typed errors naming the key
    assert_eq!(
        config_key(GradScalerConfig::new().with_growth_factor(1.0).init()),
        "growth_factor"
    );
    assert_eq!(
        config_key(GradScalerConfig::new().with_backoff_factor(1.0).init()),
        "backoff_factor"
    );
    assert_eq!(
        config_key(GradScalerConfig::new().with_growth_interval(0).init()),
        "growth_interval"
    );
    assert_eq!(
        config_key(GradScalerConfig::new().with_init_scale(1e39).init()),
        "init_scale"
    );
    let mut scaler = GradScalerConfig::new().init().unwrap();
    let bad = GradScalerState {
        scale: 0.0,
        growth_tracker: 0,
    };
    assert_eq!(config_key(scaler.load_state(bad)), "scale");
}

/// What a [`Probe`] does at given training forwards (numbered from 1 over the probe's life).
#[derive(Debug, Default)]
struct Overflow {
    calls: AtomicUsize,
    /// Forward `n` overflows f16 in the backward pass when `n % period == offset`.
    every: Option<(usize, usize)>,
    /// The weights each training forward saw, in order.
    weights: Mutex<Vec<Vec<f32>>>,
}

impl Overflow {
    fn hits(&self, n: usize) -> bool {
        self.every
            .is_some_and(|(period, offset)| n % period == offset)
    }
}

/// A linear probe on the 8 x 8 digits whose head runs under autocast; at the forwards an
/// [`Overflow`] picks it adds `(w16 - w16) * 30000` to the graph: 0 in the forward pass, an f16
/// overflow (inf) in the backward one.
#[derive(Module, Debug)]
struct Probe {
    fc: Linear,
    #[module(skip)]
    overflow: Arc<Overflow>,
}

impl ImageClassifier for Probe {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let logits = linear(&self.fc, images.flatten::<2>(1, 3));
        let w = self.fc.weight.val();
        if !w.is_require_grad() {
            return logits;
        }
        let o = &self.overflow;
        let n = o.calls.fetch_add(1, Ordering::SeqCst) + 1;
        o.weights.lock().unwrap().push(values(&w));
        if !o.hits(n) {
            return logits;
        }
        let w16 = w.cast(FloatDType::F16);
        let zero = ((w16.clone() - w16.detach()).sum() * 30000.0)
            .cast(FloatDType::F32)
            .reshape([1, 1]);
        logits * (zero + 1.0)
    }
}

fn probe(device: &Device, overflow: Arc<Overflow>) -> Probe {
    Probe {
        fc: seeded_linear(64, 10, 11, device),
        overflow,
    }
}

fn probe_config(dir: &Path, epochs: usize) -> LearnerConfig {
    quiet_config(dir, epochs).with_precision(Precision::F16Mixed)
}

fn probe_data() -> (ImageDataset, ImageDataset, usize) {
    let (train, valid) = digits().unwrap().split_stratified(0.2, 0).unwrap();
    let per_epoch = train.len() / 64;
    (train, valid, per_epoch)
}

/// `metrics.csv`'s `skipped_steps` of the training rows.
fn skipped_per_epoch(dir: &Path) -> Vec<usize> {
    skipped_column(dir)
        .into_iter()
        .filter(|(_, split, _)| split == "train")
        .map(|(_, _, skipped)| skipped.parse().unwrap())
        .collect()
}

#[test]
fn an_overflowing_f16_step_is_skipped_and_counted_with_the_weights_untouched() {
    let _g = crate::learner::lock();
    let device = crate::test_device();
    if !device.supports_dtype(DType::F16) {
        return; // the_precision_needs_the_dtype_on_the_device covers this device
    }
    let dir = tempfile::tempdir().unwrap();
    let (train, valid, per_epoch) = probe_data();
    let overflow = Arc::new(Overflow {
        every: Some((per_epoch, 3)),
        ..Overflow::default()
    });
    // the default nan_policy ("stop") does not stop on an overflow: the scaler skips it
    let cfg = probe_config(dir.path(), 2);
    let fitted = Learner::new(cfg, &device)
        .fit(probe(&device, overflow.clone()), train, valid)
        .unwrap();
    let weights = overflow.weights.lock().unwrap().clone();
    assert_eq!(weights.len(), 2 * per_epoch);
    // forward n saw the weights after update n - 1: a skipped update n leaves them bit-equal
    for n in [3, per_epoch + 3] {
        assert_eq!(weights[n], weights[n - 1], "update {n} was skipped");
        assert_ne!(weights[n + 1], weights[n], "update {} was applied", n + 1);
    }
    assert!(weights.iter().flatten().all(|w| w.is_finite()));
    let unchanged = (1..weights.len())
        .filter(|&n| weights[n] == weights[n - 1])
        .count();
    let skipped = fitted.info.skipped_steps;
    // the two forced overflows, and any the initial scale 2^16 causes by itself
    assert!(
        skipped >= 2 && unchanged <= skipped && skipped <= unchanged + 1,
        "{skipped} {unchanged}"
    );
    assert_eq!(skipped_per_epoch(dir.path()).iter().sum::<usize>(), skipped);
    // every skip halved the scale, and no run of 2,000 good steps doubled it
    let state = read_scaler_state(&scaler_file(dir.path(), 2)).unwrap();
    let cfg = GradScalerConfig::new();
    assert_eq!(
        state.scale,
        cfg.init_scale * cfg.backoff_factor.powi(skipped as i32)
    );
    // the tracker restarted at the last forced overflow
    assert!(state.growth_tracker <= per_epoch - 3, "{state:?}");
}

#[test]
fn the_loss_scale_is_checkpointed_and_restored_on_resume() {
    let _g = crate::learner::lock();
    let device = crate::test_device();
    if !device.supports_dtype(DType::F16) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (train, valid, per_epoch) = probe_data();
    let run = |dir: &Path, epochs: usize, resume: bool| {
        let overflow = Arc::new(Overflow {
            every: Some((per_epoch, 2)),
            ..Overflow::default()
        });
        device.seed(11);
        let model = probe(&device, overflow);
        Learner::new(probe_config(dir, epochs).with_resume(resume), &device)
            .fit(model, train.clone(), valid.clone())
            .unwrap()
    };
    let full = root.path().join("full");
    let cut = root.path().join("cut");
    run(&full, 3, false);
    // the run as a kill during epoch 3 leaves it: epoch 3's checkpoint files missing
    std::fs::create_dir_all(cut.join("checkpoint")).unwrap();
    for entry in std::fs::read_dir(&full)
        .unwrap()
        .chain(std::fs::read_dir(full.join("checkpoint")).unwrap())
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let rel = path.strip_prefix(&full).unwrap();
        if path.is_file() && !name.contains("-3.") {
            std::fs::copy(&path, cut.join(rel)).unwrap();
        }
    }
    let saved = read_scaler_state(&scaler_file(&cut, 2)).unwrap();
    assert!(
        saved.scale < GradScalerConfig::new().init_scale / 2.0,
        "{saved:?}"
    );
    let resumed = run(&cut, 3, true);
    // the resumed epoch went on from the saved scale: the same scale, skips and numbers as the
    // uninterrupted run (a fresh scale of 2^16 would skip other updates)
    assert_eq!(
        read_scaler_state(&scaler_file(&cut, 3)).unwrap(),
        read_scaler_state(&scaler_file(&full, 3)).unwrap()
    );
    assert_eq!(skipped_per_epoch(&cut), skipped_per_epoch(&full));
    assert_eq!(
        crate::fixtures::metric_numbers(&resumed.history),
        crate::fixtures::metric_numbers(&read_metrics_csv(full.join("metrics.csv")).unwrap())
    );
    // written and deleted with the model checkpoints (the best and the two last epochs)
    for dir in [&full, &cut] {
        for epoch in 1..=3 {
            let model = dir.join(format!("checkpoint/model-{epoch}.bpk"));
            assert_eq!(
                scaler_file(dir, epoch).exists(),
                model.exists(),
                "epoch {epoch}"
            );
        }
        assert!(scaler_file(dir, 3).exists());
    }
    // a missing state file is an error naming it
    let broken = root.path().join("broken");
    run(&broken, 1, false);
    std::fs::remove_file(scaler_file(&broken, 1)).unwrap();
    let err = Learner::new(probe_config(&broken, 2).with_resume(true), &device)
        .fit(probe(&device, Arc::default()), train.clone(), valid.clone())
        .unwrap_err();
    assert!(
        matches!(&err, PodiumError::Io { path, .. } if *path == scaler_file(&broken, 1)),
        "{err:?}"
    );
}

/// Trains a SimpleCnn on the digits in `precision` and returns its held-out test accuracy.
fn digits_accuracy(precision: Precision, sam: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let device = crate::test_device();
    let (train, test) = digits().unwrap().split_stratified(0.2, 42).unwrap();
    let (train, valid) = train.split_stratified(0.1, 42).unwrap();
    let mut cfg = LearnerConfig::new()
        .with_run_dir(dir.path().to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
        .with_epochs(6)
        .with_batch_size(32)
        .with_lr(3e-3)
        .with_precision(precision);
    if sam {
        cfg = cfg
            .with_sam(Some(SamConfig {
                rho: 0.05,
                adaptive: false,
            }))
            .with_ema(Some(burn_podium::average::ModelEmaConfig::v3(0.99)))
            .with_grad_accumulation(2)
            .with_batch_size(16);
    }
    device.seed(5);
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .init(&device)
        .unwrap();
    let fitted = Learner::new(cfg, &device).fit(model, train, valid).unwrap();
    if precision == Precision::F16Mixed {
        let last = fitted.epochs_run();
        assert!(scaler_file(dir.path(), last).exists());
    }
    fitted.evaluate(&test).unwrap().accuracy
}

#[test]
fn digits_in_f16_and_bf16_mixed_reach_the_f32_accuracy() {
    let _g = crate::learner::lock();
    let device = crate::test_device();
    let f32_acc = digits_accuracy(Precision::F32, false);
    assert!(f32_acc >= 95.0, "f32 {f32_acc}");
    for (precision, dtype) in [
        (Precision::F16Mixed, DType::F16),
        (Precision::Bf16Mixed, DType::BF16),
    ] {
        if !device.supports_dtype(dtype) {
            continue;
        }
        let acc = digits_accuracy(precision, false);
        println!("digits test accuracy: f32 {f32_acc:.2}%, {precision} {acc:.2}%");
        assert!(acc >= f32_acc - 0.5, "{precision}: {acc} vs f32 {f32_acc}");
    }
}

#[test]
fn sam_ema_and_gradient_accumulation_train_in_mixed_precision() {
    let _g = crate::learner::lock();
    let device = crate::test_device();
    for (precision, dtype) in [
        (Precision::F16Mixed, DType::F16),
        (Precision::Bf16Mixed, DType::BF16),
    ] {
        if !device.supports_dtype(dtype) {
            continue;
        }
        let acc = digits_accuracy(precision, true);
        assert!(
            acc >= 90.0,
            "{precision} with SAM, EMA, accumulation: {acc}"
        );
    }
}

#[test]
fn precision_names_and_devices_without_the_dtype_are_typed_errors() {
    assert_eq!(
        "f16-mixed".parse::<Precision>().unwrap(),
        Precision::F16Mixed
    );
    assert_eq!(
        "bf16-mixed".parse::<Precision>().unwrap(),
        Precision::Bf16Mixed
    );
    assert_eq!("f32".parse::<Precision>().unwrap(), Precision::F32);
    assert_eq!(config_key("fp16".parse::<Precision>()), "precision");
    assert_eq!(LearnerConfig::new().precision, Precision::F32);
    assert_eq!(
        serde_json::to_string(&[Precision::F32, Precision::F16Mixed, Precision::Bf16Mixed])
            .unwrap(),
        r#"["f32","f16-mixed","bf16-mixed"]"#
    );
    let base = "[data]\ntrain_dir = \"train\"\n[model]\nname = \"resnet18\"\n[train]\n";
    let recipe =
        |extra: &str| Recipe::from_str_with_format(&format!("{base}{extra}"), RecipeFormat::Toml);
    let r = recipe("precision = \"bf16-mixed\"").unwrap();
    assert_eq!(r.learner_config().unwrap().precision, Precision::Bf16Mixed);
    assert_eq!(config_key(recipe("precision = \"f16\"")), "train.precision");

    // a device without the dtype: the Learner and the recipe name the key before training
    let device = crate::test_device();
    let device_name = crate::test_device_name().unwrap_or_else(|| "auto".into());
    for precision in [Precision::F16Mixed, Precision::Bf16Mixed] {
        let dtype = precision.autocast_dtype().unwrap();
        let supported = device.supports_dtype(DType::from(dtype));
        assert_eq!(precision.check_device(&device).is_ok(), supported);
        let r = recipe(&format!(
            "precision = \"{precision}\"\ndevice = \"{device_name}\""
        ))
        .unwrap();
        if supported {
            continue;
        }
        assert_eq!(config_key(r.validate()), "train.precision");
        let _g = crate::learner::lock();
        let dir = tempfile::tempdir().unwrap();
        let (train, valid, _) = probe_data();
        let err = Learner::new(
            probe_config(dir.path(), 1).with_precision(precision),
            &device,
        )
        .fit(probe(&device, Arc::default()), train, valid);
        assert_eq!(config_key(err), "precision");
        assert!(
            !dir.path().join("checkpoint").exists(),
            "nothing was trained"
        );
    }
}
