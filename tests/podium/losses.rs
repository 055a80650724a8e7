//! Every case of `losses.json`: forward values and, where given, gradients against torch,
//! torchvision and timm. Sizes and hyperparameters come from each case's `params`.

use burn::tensor::{Device, Tensor};
use burn_podium::loss::*;

use crate::fixtures::config_key;
use crate::reference::{Case, load_topic};

fn device() -> Device {
    crate::test_device().autodiff()
}

fn scalar(t: Tensor<1>) -> Tensor<0> {
    t.reshape([0usize; 0])
}

fn reduction(case: &Case) -> Option<Reduction> {
    match case.str("reduction") {
        "mean" => Some(Reduction::Mean),
        "sum" => Some(Reduction::Sum),
        "none" => None,
        other => panic!("{}: reduction {other}", case.name),
    }
}

/// Asserts a reduced loss against `loss` and, when the case has it, its gradient with respect
/// to the logits against `expected_grad_logits`.
fn assert_reduced_loss(case: &Case, logits: &Tensor<2>, value: Tensor<1>) {
    if case.expected.contains_key("expected_grad_logits") {
        let grads = value.backward();
        case.assert_tensor("expected_grad_logits", logits.grad(&grads).unwrap());
    }
    case.assert_tensor("loss", scalar(value));
}

fn opt_vec(case: &Case, flag: &str, input: &str) -> Option<Vec<f64>> {
    case.bool(flag).then(|| {
        case.input(input)
            .f32s()
            .into_iter()
            .map(f64::from)
            .collect()
    })
}

#[test]
fn cross_entropy_matches_torch() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("cross_entropy") {
        let weight = opt_vec(case, "weighted", "weight");
        let red = reduction(case);
        let loss = CrossEntropyLossConfig::new()
            .with_label_smoothing(case.f64("label_smoothing"))
            .with_weight(weight)
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let logits = case.input("logits").float::<2>(&d).require_grad();
        let target = case.input("target").int::<1>(&d);
        match red {
            None => case.assert_tensor("loss", loss.forward_no_reduction(logits, target)),
            Some(_) => {
                let value = loss.forward(logits.clone(), target);
                assert_reduced_loss(case, &logits, value);
            }
        }
    }
}

#[test]
fn timm_label_smoothing_cross_entropy_matches() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("label_smoothing_cross_entropy") {
        assert_eq!(case.str("reduction"), "mean");
        let loss = LabelSmoothingCrossEntropyConfig::new()
            .with_smoothing(case.f64("smoothing"))
            .init()
            .unwrap();
        let v = loss.forward(case.input("logits").float(&d), case.input("target").int(&d));
        case.assert_tensor("loss", scalar(v));
    }
}

#[test]
fn soft_target_cross_entropy_matches_timm() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("soft_target_cross_entropy") {
        let v = SoftTargetCrossEntropy.forward(
            case.input("logits").float(&d),
            case.input("target").float(&d),
        );
        case.assert_tensor("loss", scalar(v));
        // the target is timm's mixup_target of the labels, which podium's mixer gives too
        let labels = case.input("labels").usizes();
        let mixed = burn_podium::mix::mixup_target(
            &labels,
            case.usize("num_classes"),
            &vec![case.f64("lam"); labels.len()],
            case.f64("smoothing"),
            &d,
        );
        let t = case.input("target");
        crate::reference::assert_allclose(
            &mixed.try_into_vec_as::<f64>().unwrap(),
            &t.shape,
            t,
            case.atol,
            case.rtol,
            &format!("{}: mixup_target", case.name),
        );
    }
}

#[test]
fn bce_with_logits_matches_torch() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("bce_with_logits") {
        let red = reduction(case);
        let loss = BceWithLogitsLossConfig::new()
            .with_pos_weight(opt_vec(case, "pos_weight", "pos_weight"))
            .with_weight(opt_vec(case, "weight", "weight"))
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let (x, t) = (
            case.input("logits").float(&d),
            case.input("target").float(&d),
        );
        match red {
            None => case.assert_tensor("loss", loss.forward_no_reduction(x, t)),
            Some(_) => case.assert_tensor("loss", scalar(loss.forward(x, t))),
        }
    }
}

#[test]
fn sigmoid_focal_loss_matches_torchvision() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("sigmoid_focal_loss") {
        let alpha = case.f64("alpha");
        let red = reduction(case);
        let loss = SigmoidFocalLossConfig::new()
            .with_alpha((alpha >= 0.0).then_some(alpha))
            .with_gamma(case.f64("gamma"))
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let x = case.input("logits").float::<2>(&d).require_grad();
        let t = case.input("target").float(&d);
        match red {
            None => case.assert_tensor("loss", loss.forward_no_reduction(x, t)),
            Some(_) => {
                let v = loss.forward(x.clone(), t);
                assert_reduced_loss(case, &x, v);
            }
        }
    }
}

#[test]
fn softmax_focal_loss_matches() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("softmax_focal_loss") {
        let red = reduction(case);
        let loss = SoftmaxFocalLossConfig::new()
            .with_alpha(opt_vec(case, "alpha", "alpha"))
            .with_gamma(case.f64("gamma"))
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let (x, y) = (case.input("logits").float(&d), case.input("target").int(&d));
        match red {
            None => case.assert_tensor("loss", loss.forward_no_reduction(x, y)),
            Some(_) => case.assert_tensor("loss", scalar(loss.forward(x, y))),
        }
    }
}

#[test]
fn class_balanced_loss_matches_with_f64_weights() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("class_balanced_loss") {
        let counts: Vec<usize> = case.params["samples_per_class"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let loss_type = match case.str("loss_type") {
            "sigmoid" => ClassBalancedLossType::Sigmoid,
            "softmax" => ClassBalancedLossType::Softmax,
            "focal" => ClassBalancedLossType::Focal,
            other => panic!("{other}"),
        };
        let loss = ClassBalancedLossConfig::new(counts)
            .with_beta(case.f64("beta"))
            .with_gamma(case.f64("gamma"))
            .with_loss_type(loss_type)
            .init()
            .unwrap();
        assert_eq!(loss.weights().len(), case.usize("num_classes"));
        case.assert_close("weights", loss.weights(), &[loss.weights().len()]);
        let v = loss.forward(case.input("logits").float(&d), case.input("target").int(&d));
        case.assert_tensor("loss", scalar(v));
    }
}

#[test]
fn topk_loss_matches() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("topk_loss") {
        let loss = TopKLossConfig::new(case.usize("k")).init().unwrap();
        let (x, y) = (
            case.input("logits").float::<2>(&d),
            case.input("target").int::<1>(&d),
        );
        case.assert_tensor("per_sample_loss", loss.per_sample(x.clone(), y.clone()));
        case.assert_tensor("loss", scalar(loss.forward(x, y)));
    }
}

#[test]
fn poly1_cross_entropy_matches_timm() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("poly1_cross_entropy") {
        let red = reduction(case);
        let loss = Poly1CrossEntropyConfig::new()
            .with_epsilon(case.f64("epsilon"))
            .with_label_smoothing(case.f64("smoothing"))
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let x = case.input("logits").float::<2>(&d);
        let target = case.input("target");
        let v = if target.dtype == "f32" {
            let t = target.float::<2>(&d);
            match red {
                None => loss.forward_soft_no_reduction(x, t),
                Some(_) => loss.forward_soft(x, t),
            }
        } else {
            let y = target.int::<1>(&d);
            match red {
                None => loss.forward_no_reduction(x, y),
                Some(_) => loss.forward(x, y),
            }
        };
        match red {
            None => case.assert_tensor("loss", v),
            Some(_) => case.assert_tensor("loss", scalar(v)),
        }
    }
}

#[test]
fn asymmetric_losses_match_timm() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("asymmetric_loss_multilabel") {
        let red = match case.str("reduction") {
            "batchmean" => Some(AslReduction::BatchMean),
            "sum" => Some(AslReduction::Sum),
            "mean" => Some(AslReduction::Mean),
            _ => None,
        };
        let loss = AsymmetricLossMultiLabelConfig::new()
            .with_gamma_neg(case.f64("gamma_neg"))
            .with_gamma_pos(case.f64("gamma_pos"))
            .with_clip(case.f64("clip"))
            .with_eps(case.f64("eps"))
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let (x, t) = (
            case.input("logits").float(&d),
            case.input("target").float(&d),
        );
        match red {
            None => case.assert_tensor("loss", loss.forward_no_reduction(x, t)),
            Some(_) => case.assert_tensor("loss", scalar(loss.forward(x, t))),
        }
    }
    for case in topic.cases_of("asymmetric_loss_single_label") {
        let red = reduction(case);
        let loss = AsymmetricLossSingleLabelConfig::new()
            .with_gamma_pos(case.f64("gamma_pos"))
            .with_gamma_neg(case.f64("gamma_neg"))
            .with_eps(case.f64("eps"))
            .with_reduction(red.unwrap_or_default())
            .init()
            .unwrap();
        let (x, y) = (case.input("logits").float(&d), case.input("target").int(&d));
        match red {
            None => case.assert_tensor("loss", loss.forward_no_reduction(x, y)),
            Some(_) => case.assert_tensor("loss", scalar(loss.forward(x, y))),
        }
    }
}

#[test]
fn jsd_cross_entropy_matches_timm() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("jsd_cross_entropy") {
        let loss = JsdCrossEntropyConfig::new()
            .with_num_splits(case.usize("num_splits"))
            .with_alpha(case.f64("alpha"))
            .with_smoothing(case.f64("smoothing"))
            .init()
            .unwrap();
        let v = loss.forward(case.input("logits").float(&d), case.input("target").int(&d));
        case.assert_tensor("loss", scalar(v));
    }
}

#[test]
fn knowledge_distillation_matches() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("knowledge_distillation") {
        let loss = KnowledgeDistillationLossConfig::new()
            .with_temperature(case.f64("temperature"))
            .with_alpha(case.f64("alpha"))
            .init()
            .unwrap();
        let out = loss.forward(
            case.input("student").float(&d),
            case.input("teacher").float(&d),
            case.input("target").int(&d),
        );
        case.assert_tensor("loss", scalar(out.loss));
        case.assert_tensor("kd_term", scalar(out.kd_term));
        case.assert_tensor("ce_term", scalar(out.ce_term));
    }
}

#[test]
fn margin_heads_match_with_gradients() {
    let topic = load_topic("losses.json");
    let d = device();
    for op in ["arcface", "cosface", "am_softmax"] {
        for case in topic.cases_of(op) {
            let x = case.input("x").float::<2>(&d).require_grad();
            let w = case.input("w").float::<2>(&d).require_grad();
            let [c, dim] = w.dims();
            let kind = match op {
                "arcface" => MarginKind::ArcFace {
                    easy_margin: case.bool("easy_margin"),
                },
                "cosface" => MarginKind::CosFace,
                _ => MarginKind::AmSoftmax,
            };
            let head = MarginHeadConfig::new(dim, c, kind, case.f64("s"), case.f64("m"))
                .init_with_weight(w.clone())
                .unwrap();
            let y = case.input("target").int::<1>(&d);
            case.assert_tensor("cosine", head.cosine(x.clone()));
            case.assert_tensor("logits", head.forward_train(x.clone(), y.clone()));
            let loss = head.loss(x.clone(), y);
            if case.expected.contains_key("expected_grad_x") {
                let g = loss.backward();
                case.assert_tensor("expected_grad_x", x.grad(&g).unwrap());
                case.assert_tensor("expected_grad_w", w.grad(&g).unwrap());
            }
            case.assert_tensor("loss", scalar(loss));
            // inference gives the plain scaled cosines
            let plain = head.forward(x.clone()) / case.f64("s");
            case.assert_tensor("cosine", plain);
        }
    }
}

#[test]
fn lovasz_losses_match_the_reference_implementation() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("lovasz_hinge") {
        let v = lovasz_hinge(
            case.input("logits").float(&d),
            case.input("labels").int(&d),
            case.bool("per_image"),
        );
        case.assert_tensor("loss", scalar(v));
    }
    for case in topic.cases_of("lovasz_softmax") {
        assert_eq!(case.str("classes"), "present");
        let logits = case.input("logits").float::<4>(&d);
        case.assert_tensor(
            "probas",
            burn::tensor::activation::softmax(logits.clone(), 1),
        );
        let v = lovasz_softmax(logits, case.input("labels").int(&d), case.bool("per_image"));
        case.assert_tensor("loss", scalar(v));
    }
}

#[test]
fn soft_f_beta_matches() {
    let topic = load_topic("losses.json");
    let d = device();
    for case in topic.cases_of("soft_f_beta") {
        let loss = SoftFBetaLossConfig::new()
            .with_beta(case.f64("beta"))
            .with_eps(case.f64("eps"))
            .init()
            .unwrap();
        let (x, t) = (
            case.input("logits").float::<2>(&d),
            case.input("target").float::<2>(&d),
        );
        case.assert_tensor(
            "f_beta_per_class",
            loss.f_beta_per_class(x.clone(), t.clone()),
        );
        case.assert_tensor("loss", scalar(loss.forward(x, t)));
    }
}

#[test]
fn invalid_loss_configs_are_typed_errors_at_init() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    assert_eq!(
        config_key(
            CrossEntropyLossConfig::new()
                .with_label_smoothing(1.0)
                .init()
        ),
        "label_smoothing"
    );
    assert_eq!(
        config_key(
            CrossEntropyLossConfig::new()
                .with_label_smoothing(-0.1)
                .init()
        ),
        "label_smoothing"
    );
    assert_eq!(
        config_key(
            CrossEntropyLossConfig::new()
                .with_weight(Some(vec![]))
                .init()
        ),
        "weight"
    );
    assert_eq!(
        config_key(SigmoidFocalLossConfig::new().with_gamma(-1.0).init()),
        "gamma"
    );
    assert_eq!(
        config_key(SigmoidFocalLossConfig::new().with_alpha(Some(1.5)).init()),
        "alpha"
    );
    assert_eq!(
        config_key(SoftmaxFocalLossConfig::new().with_gamma(-0.5).init()),
        "gamma"
    );
    assert_eq!(
        config_key(ClassBalancedLossConfig::new(vec![]).init()),
        "samples_per_class"
    );
    assert_eq!(
        config_key(ClassBalancedLossConfig::new(vec![3, 0]).init()),
        "samples_per_class[1]"
    );
    assert_eq!(
        config_key(ClassBalancedLossConfig::new(vec![3]).with_beta(1.0).init()),
        "beta"
    );
    assert_eq!(config_key(TopKLossConfig::new(0).init()), "k");
    assert_eq!(
        config_key(JsdCrossEntropyConfig::new().with_num_splits(1).init()),
        "num_splits"
    );
    assert_eq!(
        config_key(
            KnowledgeDistillationLossConfig::new()
                .with_temperature(0.0)
                .init()
        ),
        "temperature"
    );
    assert_eq!(
        config_key(
            AsymmetricLossMultiLabelConfig::new()
                .with_gamma_neg(-1.0)
                .init()
        ),
        "gamma_neg"
    );
    assert_eq!(
        config_key(SoftFBetaLossConfig::new().with_beta(0.0).init()),
        "beta"
    );
    assert_eq!(
        config_key(
            MarginHeadConfig::new(8, 4, MarginKind::CosFace, 0.0, 0.35).init(&crate::test_device())
        ),
        "s"
    );
}

#[test]
#[should_panic(expected = "logits [4, 3] against targets [5]")]
fn mismatched_shapes_panic_naming_both() {
    let d = crate::test_device();
    let loss = CrossEntropyLossConfig::new().init().unwrap();
    loss.forward(Tensor::zeros([4, 3], &d), Tensor::zeros([5], &d));
}

#[test]
#[should_panic(expected = "weight has 2 entries for logits [4, 3]")]
fn a_weight_vector_of_the_wrong_length_panics() {
    let d = crate::test_device();
    let loss = CrossEntropyLossConfig::new()
        .with_weight(Some(vec![1.0, 2.0]))
        .init()
        .unwrap();
    loss.forward(Tensor::zeros([4, 3], &d), Tensor::zeros([4], &d));
}

#[test]
fn losses_stay_finite_for_logits_of_30() {
    let d = device();
    let x = Tensor::<2>::from_floats([[30.0, -30.0, 0.0], [-30.0, 30.0, 30.0]], &d).require_grad();
    let y = Tensor::<1, burn::tensor::Int>::from_ints([1, 0], &d);
    let t = Tensor::<2>::from_floats([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], &d);
    let values = [
        CrossEntropyLossConfig::new()
            .with_label_smoothing(0.1)
            .init()
            .unwrap()
            .forward(x.clone(), y.clone()),
        BceWithLogitsLossConfig::new()
            .init()
            .unwrap()
            .forward(x.clone(), t.clone()),
        SigmoidFocalLossConfig::new()
            .init()
            .unwrap()
            .forward(x.clone(), t.clone()),
        SoftmaxFocalLossConfig::new()
            .init()
            .unwrap()
            .forward(x.clone(), y.clone()),
        Poly1CrossEntropyConfig::new()
            .init()
            .unwrap()
            .forward(x.clone(), y.clone()),
    ];
    for v in values {
        let g = v.clone().backward();
        let loss = v.try_into_vec_as::<f32>().unwrap()[0];
        assert!(loss.is_finite() && loss > 1.0, "{loss}");
        let grad = x.grad(&g).unwrap().try_into_vec_as::<f32>().unwrap();
        assert!(grad.iter().all(|v| v.is_finite()), "{grad:?}");
    }
}

#[test]
fn loss_config_hands_the_run_label_smoothing_to_the_loss() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let topic = load_topic("losses.json");
    let d = device();
    let classes = |case: &Case| case.input("logits").shape[1];
    let mut checked = 0;
    for case in topic.cases_of("cross_entropy") {
        if case.str("reduction") != "mean" {
            continue;
        }
        let objective = LossConfig::CrossEntropy {
            weight: opt_vec(case, "weighted", "weight"),
        }
        .init(&vec![1; classes(case)], case.f64("label_smoothing"))
        .unwrap();
        let v = objective.forward(case.input("logits").float(&d), case.input("target").int(&d));
        case.assert_tensor("loss", scalar(v));
        checked += 1;
    }
    for case in topic.cases_of("poly1_cross_entropy") {
        if case.str("reduction") != "mean" || case.input("target").dtype == "f32" {
            continue;
        }
        let objective = LossConfig::Poly1 {
            epsilon: case.f64("epsilon"),
        }
        .init(&vec![1; classes(case)], case.f64("smoothing"))
        .unwrap();
        let v = objective.forward(case.input("logits").float(&d), case.input("target").int(&d));
        case.assert_tensor("loss", scalar(v));
        checked += 1;
    }
    for case in topic.cases_of("asymmetric_loss_single_label") {
        if case.str("reduction") != "mean" {
            continue;
        }
        // timm's eps is the single-label asymmetric loss's smoothing
        let objective = LossConfig::AsymmetricSingleLabel {
            gamma_pos: case.f64("gamma_pos"),
            gamma_neg: case.f64("gamma_neg"),
        }
        .init(&vec![1; classes(case)], case.f64("eps"))
        .unwrap();
        let v = objective.forward(case.input("logits").float(&d), case.input("target").int(&d));
        case.assert_tensor("loss", scalar(v));
        checked += 1;
    }
    assert!(checked >= 3, "{checked} cases");
    // smoothing is no longer a loss key: a 0.1 recipe that sets it there is refused, not dropped
    let old = r#"{"CrossEntropy": {"label_smoothing": 0.1, "weight": null}}"#;
    let err = serde_json::from_str::<LossConfig>(old)
        .unwrap_err()
        .to_string();
    assert!(err.contains("label_smoothing"), "{err}");
    let new: LossConfig = serde_json::from_str(r#"{"CrossEntropy": {"weight": null}}"#).unwrap();
    assert_eq!(new, LossConfig::default());
    assert_eq!(
        config_key(LossConfig::default().init(&[3, 4], -0.1)),
        "label_smoothing"
    );
    let focal = LossConfig::Focal {
        gamma: 2.0,
        alpha: None,
    };
    assert!(!focal.supports_label_smoothing());
    assert_eq!(config_key(focal.init(&[3, 4], 0.1)), "label_smoothing");
    assert!(focal.init(&[3, 4], 0.0).is_ok());
}
