//! Model import: torchvision's ResNet-18 `.pth` against its logits and pooled features, key and
//! shape errors, partial loading for a new number of classes.

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::Tensor;
use burn_podium::PodiumError;
use burn_podium::model::{GlobalPool, ImageClassifier, ResNet, ResNetConfig};

use crate::reference::{load_topic, reference_dir};

fn resnet18_file() -> std::path::PathBuf {
    let topic = load_topic("models/resnet18_c10.json");
    reference_dir()
        .join("models")
        .join(topic.cases[0].str("pth_file"))
}

fn weights_key<T: std::fmt::Debug>(r: burn_podium::Result<T>) -> (String, String) {
    match r {
        Err(PodiumError::Weights { key, reason, .. }) => (key, reason),
        other => panic!("expected a weights error, got {other:?}"),
    }
}

#[test]
fn resnet18_pth_gives_torchvision_logits_and_features() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let topic = load_topic("models/resnet18_c10.json");
    let d = crate::test_device();
    for case in &topic.cases {
        let file = reference_dir().join("models").join(case.str("pth_file"));
        let model = ResNetConfig::new(18)
            .with_num_classes(case.usize("num_classes"))
            .init(&d)
            .unwrap()
            .load_file(&file)
            .unwrap();
        let x = case.input("x").float::<4>(&d);
        case.assert_tensor("features", model.forward_pooled(x.clone()));
        case.assert_tensor("logits", model.forward(x));
    }
}

#[test]
fn a_new_head_keeps_the_backbone_and_its_own_classifier() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let topic = load_topic("models/resnet18_c10.json");
    let case = &topic.cases[0];
    let d = crate::test_device();
    // with the file's class count, the file's classifier would fit: it is still not loaded
    let same = ResNetConfig::new(18)
        .with_num_classes(case.usize("num_classes"))
        .init(&d)
        .unwrap();
    let ones = || Tensor::<2>::ones([1, 512], &d);
    let own = same.forward_head(ones()).try_into_vec_as::<f32>().unwrap();
    let kept = same.clone().load_backbone(resnet18_file()).unwrap();
    assert_eq!(
        kept.forward_head(ones()).try_into_vec_as::<f32>().unwrap(),
        own
    );
    let loaded = same.load_file(resnet18_file()).unwrap();
    assert_ne!(
        loaded
            .forward_head(ones())
            .try_into_vec_as::<f32>()
            .unwrap(),
        own
    );

    let fresh = ResNetConfig::new(18).with_num_classes(3).init(&d).unwrap();
    let head_before: Tensor<2> = fresh.forward_head(Tensor::ones([1, 512], &d));
    let model = fresh.load_backbone(resnet18_file()).unwrap();
    let x = case.input("x").float::<4>(&d);
    let batch = x.dims()[0];
    case.assert_tensor("features", model.forward_pooled(x.clone()));
    assert_eq!(model.forward(x.clone()).dims(), [batch, 3]);
    let head_after = model.forward_head(Tensor::ones([1, 512], &d));
    assert_eq!(
        head_before.try_into_vec_as::<f32>().unwrap(),
        head_after.try_into_vec_as::<f32>().unwrap(),
        "the new classifier is kept"
    );
    // reset_classifier with dual pooling doubles the head's input
    let dual = model.reset_classifier(10, GlobalPool::CatAvgMax, &d);
    assert_eq!(dual.forward_pooled(x.clone()).dims(), [batch, 1024]);
    assert_eq!(dual.forward(x).dims(), [batch, 10]);
}

#[test]
fn weight_mismatches_are_errors_that_name_the_key() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let d = crate::test_device();
    let file = resnet18_file();
    // the file's class count: every mismatch below is about something else
    let nc = load_topic("models/resnet18_c10.json").cases[0].usize("num_classes");
    // another input channel count: conv1's shape
    let gray = ResNetConfig::new(18)
        .with_num_classes(nc)
        .with_in_channels(1)
        .init(&d)
        .unwrap();
    let (key, reason) = weights_key(gray.load_file(&file));
    assert_eq!(key, "conv1.weight");
    assert!(
        reason.contains("[64, 3, 7, 7]") && reason.contains("[64, 1, 7, 7]"),
        "{reason}"
    );
    // another class count without load_backbone: fc's shape
    let (key, _) = weights_key(
        ResNetConfig::new(18)
            .with_num_classes(nc + 1)
            .init(&d)
            .unwrap()
            .load_file(&file),
    );
    assert!(key.starts_with("fc."), "{key}");
    // a deeper model: keys missing from the file
    let (key, reason) = weights_key(
        ResNetConfig::new(34)
            .with_num_classes(nc)
            .init(&d)
            .unwrap()
            .load_file(&file),
    );
    assert!(key.starts_with("layer1.2."), "{key}");
    assert!(reason.contains("missing"), "{reason}");
    // a file with more blocks than the model: unexpected keys
    let dir = tempfile::tempdir().unwrap();
    let deeper = dir.path().join("resnet34.safetensors");
    let r34 = ResNetConfig::new(34).with_num_classes(nc).init(&d).unwrap();
    let mut store = SafetensorsStore::from_file(&deeper).with_to_adapter(BurnToPyTorchAdapter);
    r34.save_into(&mut store).unwrap();
    let (key, reason) = weights_key(
        ResNetConfig::new(18)
            .with_num_classes(nc)
            .init(&d)
            .unwrap()
            .load_file(&deeper),
    );
    assert!(
        key.starts_with("layer1.2.")
            || key.starts_with("layer2.2.")
            || key.starts_with("layer2.3."),
        "{key}"
    );
    assert!(reason.contains("unexpected"), "{reason}");
    // the same file loads into the architecture that wrote it (the SafeTensors path)
    let back: ResNet = ResNetConfig::new(34)
        .with_num_classes(nc)
        .init(&d)
        .unwrap()
        .load_file(&deeper)
        .unwrap();
    let x = Tensor::<4>::ones([1, 3, 32, 32], &d);
    let (a, b) = (r34.forward(x.clone()), back.forward(x));
    assert_eq!(
        a.try_into_vec_as::<f32>().unwrap(),
        b.try_into_vec_as::<f32>().unwrap()
    );
    // a missing file and a file that is not a checkpoint
    let none = ResNetConfig::new(18)
        .init(&d)
        .unwrap()
        .load_file(dir.path().join("none.pth"));
    assert!(
        matches!(none, Err(PodiumError::Io { ref path, .. }) if path.ends_with("none.pth")),
        "{none:?}"
    );
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    let bad = ResNetConfig::new(18).init(&d).unwrap().load_file(&junk);
    assert!(
        matches!(bad, Err(PodiumError::Format { ref path, .. }) if path.ends_with("junk.pth")),
        "{bad:?}"
    );
    assert!(
        matches!(ResNetConfig::new(19).init(&d), Err(PodiumError::Config { ref key, .. }) if key == "depth")
    );
}

#[test]
fn efficientnet_b0_safetensors_gives_timm_logits_and_features() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    use burn_podium::model::EfficientNetConfig;
    let topic = load_topic("models/efficientnet_b0_c10.json");
    let d = crate::test_device();
    for case in &topic.cases {
        let file = reference_dir()
            .join("models")
            .join(case.str("safetensors_file"));
        let model = EfficientNetConfig::new(0)
            .with_num_classes(case.usize("num_classes"))
            .init(&d)
            .unwrap()
            .load_file(&file)
            .unwrap();
        let x = case.input("x").float::<4>(&d);
        case.assert_tensor("features", model.forward_pooled(x.clone()));
        case.assert_tensor("logits", model.forward(x));
        // a B1 (deeper) cannot take B0's weights: missing keys, named
        let b1 = EfficientNetConfig::new(1)
            .with_num_classes(case.usize("num_classes"))
            .init(&d)
            .unwrap();
        let (key, reason) = weights_key(b1.load_file(&file));
        assert!(key.starts_with("blocks."), "{key}");
        assert!(
            reason.contains("missing") || reason.contains("shape"),
            "{reason}"
        );
    }
    // B1..B3 widths and depths follow timm's scaling (head features)
    let widths: Vec<usize> = (0..4)
        .map(|v| EfficientNetConfig::new(v).init(&d).unwrap().num_features())
        .collect();
    assert_eq!(widths, vec![1280, 1280, 1408, 1536]);
}

/// `(BatchNorm layers, BatchNorm channels)` of a model, from its `gamma` parameters.
fn batch_norms<M: burn::module::Module>(model: &M) -> (usize, usize) {
    #[derive(Default)]
    struct Bn {
        path: Vec<String>,
        layers: usize,
        channels: usize,
    }
    impl burn::module::ModuleVisitor for Bn {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            if self.path.last().is_some_and(|n| n == "gamma") {
                self.layers += 1;
                self.channels += p.lazy_shape().num_elements();
            }
        }
    }
    let mut v = Bn::default();
    model.visit(&mut v);
    (v.layers, v.channels)
}

/// Parameters plus BatchNorm running statistics and one `num_batches_tracked` per BatchNorm:
/// what a PyTorch state dict holds.
fn state_dict_elements<M: burn::module::Module>(
    model: &M,
    summary: &burn_podium::model::ModelSummary,
) -> usize {
    let (layers, channels) = batch_norms(model);
    summary.total_params() + 2 * channels + layers
}

/// `n` with a comma between groups of three digits, as the summary prints it.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn summaries_count_what_pytorch_counts_and_show_frozen_layers() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    use burn_podium::model::{EfficientNetConfig, freeze_backbone, freeze_groups, unfreeze};
    let d = crate::test_device();
    let topic = load_topic("models/resnet18_c10.json");
    let case = &topic.cases[0];
    let nc = case.usize("num_classes");
    let model = ResNetConfig::new(18).with_num_classes(nc).init(&d).unwrap();
    let s = model.summary([1, 3, 224, 224]);
    assert_eq!(state_dict_elements(&model, &s), case.usize("num_elements"));
    assert_eq!(s.trainable_params(), s.total_params());
    assert_eq!(s.rows.last().unwrap().output_shape, vec![1, nc]);
    let layer4 = s.rows.iter().find(|r| r.name == "layer4.1").unwrap();
    assert_eq!(layer4.output_shape, vec![1, 512, 7, 7]);
    // conv1 alone: 112 x 112 outputs x 64 filters x 3 x 7 x 7
    assert_eq!(s.rows[0].macs, 112 * 112 * 64 * 3 * 49);
    let total = s.total_macs() as f64;
    assert!(
        (1.80e9..1.83e9).contains(&total),
        "ResNet-18 at 224: {total} MACs (torchinfo: 1.81 G)"
    );
    let text = s.to_string();
    // torchvision's resnet18 without its 1000-class head has 11,176,512 parameters
    let total = 11_176_512 + 512 * nc + nc;
    assert_eq!(s.total_params(), total);
    assert!(
        text.contains(&format!("Total params: {}", thousands(total))),
        "{text}"
    );

    let eff_topic = load_topic("models/efficientnet_b0_c10.json");
    let eff = EfficientNetConfig::new(0)
        .with_num_classes(eff_topic.cases[0].usize("num_classes"))
        .init(&d)
        .unwrap();
    let es = eff.summary([1, 3, 224, 224]);
    assert_eq!(
        state_dict_elements(&eff, &es),
        eff_topic.cases[0].usize("num_elements")
    );
    let macs = es.total_macs() as f64;
    assert!(
        (0.38e9..0.41e9).contains(&macs),
        "EfficientNet-B0 at 224: {macs} MACs (timm: 0.39 G)"
    );

    // freezing: the backbone stops training; train_bn keeps BatchNorm's affine parameters
    let fc = 512 * nc + nc;
    let frozen = freeze_backbone(model.clone(), false).summary([1, 3, 64, 64]);
    assert_eq!(frozen.trainable_params(), fc);
    assert!(frozen.to_string().contains("frozen"));
    let train_bn = freeze_backbone(model.clone(), true).summary([1, 3, 64, 64]);
    assert_eq!(train_bn.trainable_params(), fc + 2 * batch_norms(&model).1);
    let first_two = freeze_groups(model.clone(), 2, false).summary([1, 3, 64, 64]);
    let stem_and_layer1 = 64 * 3 * 49
        + 2 * 64
        + first_two
            .rows
            .iter()
            .filter(|r| r.name.starts_with("layer1."))
            .map(|r| r.params)
            .sum::<usize>();
    assert_eq!(
        first_two.trainable_params(),
        first_two.total_params() - stem_and_layer1
    );
    let thawed = unfreeze(freeze_backbone(model, false)).summary([1, 3, 64, 64]);
    assert_eq!(thawed.trainable_params(), thawed.total_params());
}

#[test]
fn discriminative_rates_follow_fastai_slices_per_layer_group() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    use burn::module::{Module, ModuleVisitor, Param, ParamId};
    use burn_podium::model::even_mults;
    use burn_podium::schedule::{ScheduleConfig, ScheduleContext};
    let lrs = even_mults(1e-5, 1e-3, 3);
    for (a, b) in lrs.iter().zip([1e-5, 1e-4, 1e-3]) {
        assert!((a - b).abs() < 1e-12, "{lrs:?}");
    }
    assert_eq!(even_mults(1e-5, 1e-3, 1), vec![1e-3]);

    let d = crate::test_device();
    let model = ResNetConfig::new(18).with_num_classes(10).init(&d).unwrap();
    let groups = model.layer_groups();
    let names: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    );
    let lrs = even_mults(1e-6, 1e-1, groups.len());
    let mut scheduler = ScheduleConfig::Constant
        .init(&ScheduleContext::new(1e-1, 1, 10).with_groups(&groups, lrs.clone()))
        .unwrap();
    let policy = scheduler.step();
    #[derive(Default)]
    struct Ids {
        path: Vec<String>,
        params: Vec<(ParamId, String)>,
    }
    impl ModuleVisitor for Ids {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.params.push((p.id, self.path.join(".")));
        }
    }
    let mut ids = Ids::default();
    model.visit(&mut ids);
    assert!(ids.params.len() > 60);
    for (id, path) in &ids.params {
        let group = match path.split('.').next().unwrap() {
            "conv1" | "bn1" => 0,
            "layer1" => 1,
            "layer2" => 2,
            "layer3" => 3,
            "layer4" => 4,
            _ => 5,
        };
        let lr = policy.lr_from_param(*id, Some(path));
        assert!(
            (lr - lrs[group]).abs() < 1e-15,
            "{path}: {lr} != {}",
            lrs[group]
        );
    }
}

#[test]
fn a_frozen_backbone_does_not_move_in_training_and_fine_tune_runs_both_phases() {
    use burn_podium::codec::{ColorMode, DecodeOptions};
    use burn_podium::data::digits;
    use burn_podium::learner::{FineTuneConfig, Learner, LearnerConfig, ProgressMode};
    use burn_podium::model::freeze_backbone;
    let _guard = crate::learner::lock();
    let d = crate::test_device();
    let rgb32 = DecodeOptions::rgb(32, 32).with_color(ColorMode::Rgb);
    let data = digits().unwrap().with_decode(rgb32);
    let (train, valid) = data
        .subset(&(0..600).collect::<Vec<_>>())
        .split_stratified(0.25, 1)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = |sub: &str| {
        LearnerConfig::new()
            .with_run_dir(dir.path().join(sub).to_string_lossy().into_owned())
            .with_progress(ProgressMode::Quiet)
            .with_epochs(1)
            .with_batch_size(50)
    };
    let model = ResNetConfig::new(18)
        .with_num_classes(10)
        .init(&d)
        .unwrap()
        .load_backbone(resnet18_file())
        .unwrap();
    let x = Tensor::<4>::ones([1, 3, 32, 32], &d);
    let features_before = model
        .forward_features(x.clone())
        .try_into_vec_as::<f32>()
        .unwrap();
    let logits_before = model.forward(x.clone()).try_into_vec_as::<f32>().unwrap();
    let frozen = freeze_backbone(model.clone(), false);
    let fitted = Learner::new(config("frozen"), &d)
        .fit(frozen, train.clone(), valid.clone())
        .unwrap();
    assert_eq!(
        fitted
            .model
            .forward_features(x.clone())
            .try_into_vec_as::<f32>()
            .unwrap(),
        features_before,
        "frozen backbone moved"
    );
    assert_ne!(
        fitted
            .model
            .forward(x.clone())
            .try_into_vec_as::<f32>()
            .unwrap(),
        logits_before,
        "the head trains"
    );

    let tuned = Learner::new(config("tune"), &d)
        .fine_tune(model, train, valid, &FineTuneConfig::new(2))
        .unwrap();
    assert_ne!(
        tuned
            .model
            .forward_features(x)
            .try_into_vec_as::<f32>()
            .unwrap(),
        features_before,
        "unfrozen backbone trains"
    );
    assert!(dir.path().join("tune/frozen/metrics.csv").is_file());
    assert!(dir.path().join("tune/unfrozen/metrics.csv").is_file());
    assert!(
        tuned.best_valid_accuracy() > 30.0,
        "{}",
        tuned.best_valid_accuracy()
    );
}

#[test]
fn every_model_name_builds_a_classifier_and_a_bad_name_is_named() {
    use burn_podium::model::ModelConfig;
    // these draw many initial weights from the device's RNG: not while a seeded run trains
    let _guard = crate::learner::lock();
    let d = crate::test_device();
    let x = Tensor::<4>::ones([2, 3, 32, 32], &d);
    for &name in ModelConfig::NAMES {
        let config = ModelConfig::from_name(name, 7).unwrap();
        assert_eq!(config.name(), name);
        assert_eq!(config.num_classes(), 7);
        let model = config.init(&d).unwrap();
        assert_eq!(model.forward(x.clone()).dims(), [2, 7], "{name}");
        assert_eq!(
            model
                .summary([2, 3, 32, 32])
                .rows
                .last()
                .unwrap()
                .output_shape,
            [2, 7]
        );
    }
    match ModelConfig::from_name("resnet19", 7) {
        Err(PodiumError::Config { key, value, reason }) => {
            assert_eq!(key, "name");
            assert!(value.contains("resnet19"), "{value}");
            for name in ModelConfig::NAMES {
                assert!(reason.contains(name), "{reason}");
            }
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn model_configs_check_their_values_at_init_and_keep_timm_settings() {
    use burn::config::Config;
    use burn_podium::model::{AnyModel, EfficientNetConfig, ModelConfig, SimpleCnnConfig};
    // these draw many initial weights from the device's RNG: not while a seeded run trains
    let _guard = crate::learner::lock();
    let d = crate::test_device();
    let key = |r: burn_podium::Result<AnyModel>| match r {
        Err(PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    for name in ["simple_cnn", "resnet18", "efficientnet_b0"] {
        let config = || ModelConfig::from_name(name, 3).unwrap();
        assert_eq!(
            key(config().with_num_classes(0).init(&d)),
            "num_classes",
            "{name}"
        );
        assert_eq!(key(config().with_in_channels(0).init(&d)), "in_channels");
        assert_eq!(key(config().with_drop_rate(1.0).init(&d)), "drop_rate");
        assert_eq!(
            key(config().with_pool(GlobalPool::Gem { p: 0.0 }).init(&d)),
            "pool.p"
        );
        assert!(config().validate().is_ok());
    }
    assert!(matches!(
        SimpleCnnConfig::new(3).with_width(0).init(&d),
        Err(PodiumError::Config { ref key, .. }) if key == "width"
    ));
    assert!(matches!(
        EfficientNetConfig::new(4).init(&d),
        Err(PodiumError::Config { ref key, .. }) if key == "variant"
    ));
    // timm's create_model settings travel through the setters and a saved config
    let config = ModelConfig::from_name("resnet18", 5)
        .unwrap()
        .with_in_channels(1)
        .with_pool(GlobalPool::CatAvgMax)
        .with_drop_rate(0.25);
    let json = burn::config::config_to_json(&config);
    let back = ModelConfig::load_binary(json.as_bytes()).unwrap();
    match &back {
        ModelConfig::ResNet(c) => {
            assert_eq!((c.depth, c.num_classes, c.in_channels), (18, 5, 1));
            assert_eq!((c.pool, c.drop_rate), (GlobalPool::CatAvgMax, 0.25));
        }
        other => panic!("expected a ResNet config, got {other:?}"),
    }
    let model = back.init(&d).unwrap();
    let gray = Tensor::<4>::ones([2, 1, 32, 32], &d);
    assert_eq!(model.forward(gray).dims(), [2, 5]);
    let AnyModel::ResNet(resnet) = model else {
        panic!("a ResNet")
    };
    assert_eq!(resnet.pool(), GlobalPool::CatAvgMax);
}

#[test]
fn a_model_by_name_loads_pytorch_weights_and_counts_like_the_network() {
    use burn_podium::model::{AnyModel, ModelConfig};
    // these draw many initial weights from the device's RNG: not while a seeded run trains
    let _guard = crate::learner::lock();
    let topic = load_topic("models/resnet18_c10.json");
    let d = crate::test_device();
    for case in &topic.cases {
        let file = reference_dir().join("models").join(case.str("pth_file"));
        let model = ModelConfig::from_name("resnet18", case.usize("num_classes"))
            .unwrap()
            .init(&d)
            .unwrap()
            .load_file(&file)
            .unwrap();
        let x = case.input("x").float::<4>(&d);
        case.assert_tensor("logits", model.forward(x.clone()));
        // the backbone alone, under a fresh head for another class count
        let three = ModelConfig::from_name("resnet18", 3)
            .unwrap()
            .init(&d)
            .unwrap()
            .load_backbone(&file)
            .unwrap();
        let AnyModel::ResNet(resnet) = three else {
            panic!("a ResNet")
        };
        case.assert_tensor("features", resnet.forward_pooled(x));
    }
    // the simple CNN round-trips through a PyTorch-convention SafeTensors file
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("simple_cnn.safetensors");
    let built = || {
        ModelConfig::from_name("simple_cnn", 4)
            .unwrap()
            .with_in_channels(1)
            .init(&d)
            .unwrap()
    };
    let AnyModel::SimpleCnn(original) = built() else {
        panic!("a SimpleCnn")
    };
    let mut store = SafetensorsStore::from_file(&file).with_to_adapter(BurnToPyTorchAdapter);
    original.save_into(&mut store).unwrap();
    let x = Tensor::<4>::ones([2, 1, 8, 8], &d);
    let loaded = built().load_file(&file).unwrap();
    assert_eq!(
        loaded.forward(x.clone()).try_into_vec_as::<f32>().unwrap(),
        original
            .forward(x.clone())
            .try_into_vec_as::<f32>()
            .unwrap()
    );
    let head_only = built();
    let fresh = head_only
        .forward(x.clone())
        .try_into_vec_as::<f32>()
        .unwrap();
    let backbone = head_only.load_backbone(&file).unwrap();
    let AnyModel::SimpleCnn(b) = &backbone else {
        panic!("a SimpleCnn")
    };
    assert_eq!(
        b.forward_features(x.clone())
            .try_into_vec_as::<f32>()
            .unwrap(),
        original
            .forward_features(x.clone())
            .try_into_vec_as::<f32>()
            .unwrap()
    );
    assert_ne!(backbone.forward(x).try_into_vec_as::<f32>().unwrap(), fresh);
    // the summary of the network behind the enum is the network's
    let resnet = ModelConfig::from_name("resnet18", 10)
        .unwrap()
        .init(&d)
        .unwrap();
    let s = resnet.summary([1, 3, 224, 224]);
    let AnyModel::ResNet(inner) = &resnet else {
        panic!("a ResNet")
    };
    assert_eq!(s, inner.summary([1, 3, 224, 224]));
    assert_eq!(
        state_dict_elements(&resnet, &s),
        state_dict_elements(inner, &s)
    );
}

#[test]
fn a_model_by_name_trains_with_the_learner_as_the_network_itself() {
    use burn_podium::data::digits;
    use burn_podium::learner::{Learner, LearnerConfig, ProgressMode};
    use burn_podium::model::{AnyModel, BatchNormLayers, ModelConfig};
    let _guard = crate::learner::lock();
    let d = crate::test_device();
    let (train, valid) = digits().unwrap().split_stratified(0.3, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = |sub: &str| {
        LearnerConfig::new()
            .with_run_dir(dir.path().join(sub).to_string_lossy().into_owned())
            .with_progress(ProgressMode::Quiet)
            .with_epochs(2)
            .with_batch_size(64)
    };
    let rows = |h: &[burn_podium::learner::EpochMetrics]| -> Vec<(f64, f64)> {
        h.iter().map(|r| (r.loss, r.accuracy)).collect()
    };
    // The same starting weights (burn initialises parameters lazily: a forward pass draws them)
    // and no dropout, so that no draw from the device's RNG, which tests running alongside
    // share, enters either run.
    let by_name = ModelConfig::from_name("simple_cnn", 10)
        .unwrap()
        .with_in_channels(1)
        .with_drop_rate(0.0)
        .init(&d)
        .unwrap();
    let _ = by_name.forward(Tensor::zeros([1, 1, 8, 8], &d));
    let AnyModel::SimpleCnn(plain) = by_name.clone() else {
        panic!("a SimpleCnn")
    };
    let plain = Learner::new(config("plain"), &d)
        .fit(plain, train.clone(), valid.clone())
        .unwrap();
    let by_name = Learner::new(config("by_name"), &d)
        .fit(by_name, train, valid)
        .unwrap();
    assert_eq!(rows(&by_name.history), rows(&plain.history));
    let x = Tensor::<4>::ones([2, 1, 8, 8], &d);
    assert_eq!(
        by_name
            .model
            .forward(x.clone())
            .try_into_vec_as::<f32>()
            .unwrap(),
        plain.model.forward(x).try_into_vec_as::<f32>().unwrap()
    );
    // SWA's update_bn and friends reach the BatchNorm layers through the enum
    let mut layers = 0;
    let AnyModel::SimpleCnn(_) = by_name.model.map_batch_norms(&mut |bn| {
        layers += 1;
        bn
    }) else {
        panic!("a SimpleCnn")
    };
    assert_eq!(layers, 4);
}
