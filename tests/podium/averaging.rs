//! Every case of `averaging.json`: timm's ModelEmaV2/V3, the TF-style warm-up EMA and torch's
//! AveragedModel (SWA), on a Linear + BatchNorm model, BatchNorm statistics included.

use burn::module::{Module, Param, ParamId, RunningState};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use burn_podium::average::{AveragedModelConfig, ModelEmaConfig};

use crate::reference::{Case, load_topic};

#[derive(Module, Debug)]
struct LinBn {
    fc: Linear,
    bn: BatchNorm,
}

/// Fixed parameter ids, so that every snapshot pairs with the average.
struct Ids([ParamId; 6]);

fn values(case: &Case, prefix: &str, key: &str, t: Option<usize>) -> (Vec<f32>, Vec<usize>) {
    let r = case.input(&format!("{prefix}_{key}"));
    match t {
        None => (r.f32s(), r.shape.clone()),
        Some(t) => {
            let shape = r.shape[1..].to_vec();
            let n: usize = shape.iter().product();
            (r.f32s()[t * n..(t + 1) * n].to_vec(), shape)
        }
    }
}

fn tensor1(v: Vec<f32>, d: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), d)
}

fn model_at(case: &Case, ids: &Ids, prefix: &str, t: Option<usize>, d: &Device) -> LinBn {
    let (w, shape) = values(case, prefix, "weight", t);
    let (d_out, d_in) = (shape[0], shape[1]);
    // torch stores [d_out, d_in]; burn's Linear holds [d_in, d_out]
    let w = Tensor::<2>::from_data(TensorData::new(w, [d_out, d_in]), d).transpose();
    let mut fc = LinearConfig::new(d_in, d_out).init(d);
    fc.weight = Param::initialized(ids.0[0], w);
    fc.bias = Some(Param::initialized(
        ids.0[1],
        tensor1(values(case, prefix, "bias", t).0, d),
    ));
    let mut bn = BatchNormConfig::new(d_out).init(d);
    bn.gamma = Param::initialized(ids.0[2], tensor1(values(case, prefix, "bn_weight", t).0, d));
    bn.beta = Param::initialized(ids.0[3], tensor1(values(case, prefix, "bn_bias", t).0, d));
    bn.running_mean = RunningState::with_id(
        ids.0[4],
        tensor1(values(case, prefix, "running_mean", t).0, d),
    );
    bn.running_var = RunningState::with_id(
        ids.0[5],
        tensor1(values(case, prefix, "running_var", t).0, d),
    );
    LinBn { fc, bn }
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn model_ema_matches_timm_v2_and_v3() {
    let topic = load_topic("averaging.json");
    for case in topic.cases_of("model_ema_v3") {
        let decay = ModelEmaConfig::V3 {
            decay: case.f64("decay"),
            use_warmup: case.bool("use_warmup"),
            warmup_gamma: case.f64("warmup_gamma"),
            warmup_power: case.f64("warmup_power"),
            min_decay: case.f64("min_decay"),
            update_after_step: case.usize("update_after_step"),
        };
        let with_step = case.str("step_arg") == "t";
        run_ema(case, decay, with_step);
    }
    for case in topic.cases_of("model_ema_v2") {
        run_ema(
            case,
            ModelEmaConfig::V2 {
                decay: case.f64("decay"),
            },
            false,
        );
    }
    for case in topic.cases_of("ema_tf_style_warmup") {
        run_ema(
            case,
            ModelEmaConfig::TfStyle {
                decay: case.f64("decay"),
            },
            true,
        );
    }
}

fn run_ema(case: &Case, decay: ModelEmaConfig, with_step: bool) {
    // the snapshots must carry the same ids as the model the EMA started from
    let d = crate::test_device();
    let steps = case.input("snap_bias").shape[0];
    let ids = Ids(std::array::from_fn(|_| ParamId::new()));
    let init = model_at(case, &ids, "init", None, &d);
    let mut ema = decay.init(&init).unwrap();
    let mut t = 0;
    let mut out: [Vec<f64>; 6] = Default::default();
    let mut decays = Vec::new();
    for s in 0..steps {
        let snap = model_at(case, &ids, "snap", Some(s), &d);
        t += 1;
        decays.push(ema.update(&snap, with_step.then_some(t)));
        let avg = ema.model();
        out[0].extend(floats(avg.fc.weight.val().transpose()));
        out[1].extend(floats(avg.fc.bias.as_ref().unwrap().val()));
        out[2].extend(floats(avg.bn.gamma.val()));
        out[3].extend(floats(avg.bn.beta.val()));
        out[4].extend(floats(avg.bn.running_mean.value()));
        out[5].extend(floats(avg.bn.running_var.value()));
    }
    for (key, values) in [
        "weight",
        "bias",
        "bn_weight",
        "bn_bias",
        "running_mean",
        "running_var",
    ]
    .iter()
    .zip(&out)
    {
        let e = case.expected(&format!("{key}_avg"));
        case.assert_close(&format!("{key}_avg"), values, &e.shape);
    }
    if case.expected.contains_key("decay") {
        case.assert_close("decay", &decays, &[steps]);
    }
    // the live model's BatchNorm statistics are untouched by the averaging
    assert_eq!(
        floats(init.bn.running_mean.value()),
        values(case, "init", "running_mean", None)
            .0
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>()
    );
}

#[test]
fn averaged_model_matches_torch_swa() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let topic = load_topic("averaging.json");
    for case in topic.cases_of("swa_averaged_model") {
        if case.str("avg_fn") != "default (running mean)" {
            // torch AveragedModel with get_ema_multi_avg_fn: first update copies, then
            // lerp(ema, x, 1 - decay): a V3 EMA whose first counted update is a copy
            let decay = ModelEmaConfig::V3 {
                decay: case.f64("decay"),
                use_warmup: false,
                warmup_gamma: 1.0,
                warmup_power: 1.0,
                min_decay: 0.0,
                update_after_step: 0,
            };
            run_ema(case, decay, true);
            continue;
        }
        let use_buffers = case.bool("use_buffers");
        let d = crate::test_device();
        let steps = case.input("snap_bias").shape[0];
        let ids = Ids(std::array::from_fn(|_| ParamId::new()));
        let init = model_at(case, &ids, "init", None, &d);
        let mut swa = AveragedModelConfig::new()
            .with_use_buffers(use_buffers)
            .init(&init)
            .unwrap();
        let mut out: [Vec<f64>; 6] = Default::default();
        for s in 0..steps {
            swa.update(&model_at(case, &ids, "snap", Some(s), &d));
            let avg = swa.model();
            out[0].extend(floats(avg.fc.weight.val().transpose()));
            out[1].extend(floats(avg.fc.bias.as_ref().unwrap().val()));
            out[2].extend(floats(avg.bn.gamma.val()));
            out[3].extend(floats(avg.bn.beta.val()));
            out[4].extend(floats(avg.bn.running_mean.value()));
            out[5].extend(floats(avg.bn.running_var.value()));
        }
        assert_eq!(swa.n_averaged(), steps);
        for (key, values) in [
            "weight",
            "bias",
            "bn_weight",
            "bn_bias",
            "running_mean",
            "running_var",
        ]
        .iter()
        .zip(&out)
        {
            let e = case.expected(&format!("{key}_avg"));
            case.assert_close(&format!("{key}_avg"), values, &e.shape);
        }
    }
}

#[test]
fn bad_ema_decays_are_typed_errors() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let d = crate::test_device();
    let m = LinBn {
        fc: LinearConfig::new(2, 2).init(&d),
        bn: BatchNormConfig::new(2).init(&d),
    };
    match (ModelEmaConfig::V2 { decay: 1.5 }).init(&m) {
        Err(burn_podium::PodiumError::Config { key, .. }) => assert_eq!(key, "ema.decay"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

/// A conv, a BatchNorm and a head: a model whose BatchNorm input the test can compute.
#[derive(burn::module::Module, Debug)]
struct TinyBn {
    conv: burn::nn::conv::Conv2d,
    bn: BatchNorm,
    head: Linear,
}

impl burn_podium::model::ImageClassifier for TinyBn {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.bn.forward(self.conv.forward(images));
        self.head.forward(x.mean_dim(2).mean_dim(3).flatten(1, 3))
    }
}

impl burn_podium::model::BatchNormLayers for TinyBn {
    fn map_batch_norms(mut self, f: &mut dyn FnMut(BatchNorm) -> BatchNorm) -> Self {
        self.bn = f(self.bn);
        self
    }
}

#[test]
fn update_bn_recomputes_running_statistics_as_torch_does() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    use burn::data::dataloader::DataLoader;
    use burn_podium::augment::Normalize;
    use burn_podium::average::update_bn;
    use burn_podium::data::digits;
    use burn_podium::loader::{ClassificationBatcher, ImageLoader};
    use burn_podium::model::{BatchNormLayers, ImageClassifier, ResNetConfig};
    let d = crate::test_device();
    let data = digits().unwrap().subset(&(0..300).collect::<Vec<_>>());
    let loader = ImageLoader::new(data, ClassificationBatcher::new(Normalize::unit(1)), 100)
        .unwrap()
        .with_device(&d);
    let model = TinyBn {
        conv: burn::nn::conv::Conv2dConfig::new([1, 4], [3, 3]).init(&d),
        bn: BatchNormConfig::new(4).init(&d),
        head: LinearConfig::new(4, 10).init(&d),
    };
    let x = Tensor::<4>::ones([1, 1, 8, 8], &d);
    let conv_before = floats(model.conv.forward(x.clone()));
    let updated = update_bn(model, &loader, &d).unwrap();
    // the weights do not move, the momentum comes back
    assert_eq!(floats(updated.conv.forward(x)), conv_before);
    assert_eq!(updated.bn.momentum, 0.1);
    // running mean = mean of the per-batch means (equal batches: the data mean); running var =
    // mean of the per-batch variances
    let (mut means, mut vars) = (vec![0f64; 4], vec![0f64; 4]);
    let batches: Vec<_> = loader.iter().map(|b| b.unwrap()).collect();
    for b in &batches {
        let y = updated.conv.forward(b.images.clone()); // [100, 4, 6, 6]
        let m = y.clone().mean_dim(0).mean_dim(2).mean_dim(3); // [1, 4, 1, 1]
        let v = (y - m.clone())
            .powi_scalar(2)
            .mean_dim(0)
            .mean_dim(2)
            .mean_dim(3);
        for (c, (mv, vv)) in floats(m).into_iter().zip(floats(v)).enumerate() {
            means[c] += mv / batches.len() as f64;
            vars[c] += vv / batches.len() as f64;
        }
    }
    let got_mean = floats(updated.bn.running_mean.value());
    let got_var = floats(updated.bn.running_var.value());
    for c in 0..4 {
        assert!(
            (got_mean[c] - means[c]).abs() < 1e-4 * (1.0 + means[c].abs()),
            "mean {c}: {} vs {}",
            got_mean[c],
            means[c]
        );
        assert!(
            (got_var[c] - vars[c]).abs() < 2e-3 * vars[c],
            "var {c}: {} vs {}",
            got_var[c],
            vars[c]
        );
    }
    // a ResNet's statistics change too, and only its statistics
    let rgb = digits()
        .unwrap()
        .subset(&(0..64).collect::<Vec<_>>())
        .with_decode(burn_podium::codec::DecodeOptions::rgb(32, 32));
    let rgb_loader = ImageLoader::new(rgb, ClassificationBatcher::new(Normalize::unit(3)), 32)
        .unwrap()
        .with_device(&d);
    let resnet = ResNetConfig::new(18).with_num_classes(10).init(&d).unwrap();
    let probe = Tensor::<4>::ones([1, 3, 32, 32], &d);
    let before = floats(resnet.forward(probe.clone()));
    let mut count = 0;
    let resnet = resnet.map_batch_norms(&mut |bn| {
        count += 1;
        bn
    });
    assert_eq!(count, 20, "ResNet-18 has 20 BatchNorms");
    let after = update_bn(resnet, &rgb_loader, &d).unwrap();
    assert_ne!(floats(after.forward(probe)), before);
}
