//! Model import: torchvision's ResNet-18 `.pth` against its logits and pooled features, key and
//! shape errors, partial loading for a new number of classes.

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Tensor};
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
    let topic = load_topic("models/resnet18_c10.json");
    let d = Device::default();
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
    let topic = load_topic("models/resnet18_c10.json");
    let case = &topic.cases[0];
    let d = Device::default();
    let fresh = ResNetConfig::new(18).with_num_classes(3).init(&d).unwrap();
    let head_before: Tensor<2> = fresh.forward_head(Tensor::ones([1, 512], &d));
    let model = fresh.load_backbone(resnet18_file()).unwrap();
    let x = case.input("x").float::<4>(&d);
    case.assert_tensor("features", model.forward_pooled(x.clone()));
    assert_eq!(model.forward(x.clone()).dims(), [2, 3]);
    let head_after = model.forward_head(Tensor::ones([1, 512], &d));
    assert_eq!(
        head_before.try_into_vec_as::<f32>().unwrap(),
        head_after.try_into_vec_as::<f32>().unwrap(),
        "the new classifier is kept"
    );
    // reset_classifier with dual pooling doubles the head's input
    let dual = model.reset_classifier(10, GlobalPool::CatAvgMax, &d);
    assert_eq!(dual.forward_pooled(x.clone()).dims(), [2, 1024]);
    assert_eq!(dual.forward(x).dims(), [2, 10]);
}

#[test]
fn weight_mismatches_are_errors_that_name_the_key() {
    let d = Device::default();
    let file = resnet18_file();
    // another input channel count: conv1's shape
    let gray = ResNetConfig::new(18)
        .with_num_classes(10)
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
            .with_num_classes(7)
            .init(&d)
            .unwrap()
            .load_file(&file),
    );
    assert!(key.starts_with("fc."), "{key}");
    // a deeper model: keys missing from the file
    let (key, reason) = weights_key(
        ResNetConfig::new(34)
            .with_num_classes(10)
            .init(&d)
            .unwrap()
            .load_file(&file),
    );
    assert!(key.starts_with("layer1.2."), "{key}");
    assert!(reason.contains("missing"), "{reason}");
    // a file with more blocks than the model: unexpected keys
    let dir = tempfile::tempdir().unwrap();
    let deeper = dir.path().join("resnet34.safetensors");
    let r34 = ResNetConfig::new(34).with_num_classes(10).init(&d).unwrap();
    let mut store = SafetensorsStore::from_file(&deeper).with_to_adapter(BurnToPyTorchAdapter);
    r34.save_into(&mut store).unwrap();
    let (key, reason) = weights_key(
        ResNetConfig::new(18)
            .with_num_classes(10)
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
        .with_num_classes(10)
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
    use burn_podium::model::EfficientNetConfig;
    let topic = load_topic("models/efficientnet_b0_c10.json");
    let d = Device::default();
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
            .with_num_classes(10)
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
