//! Every case of `mixing.json` (timm's `Mixup` with explicit draws), plus the random path:
//! seeded, reproducible, even batches only.

use burn::tensor::Tensor;
use burn_podium::PodiumError;
use burn_podium::mix::*;

use crate::fixtures::config_key;
use crate::reference::{Case, load_topic};

fn pair(case: &Case, key: &str) -> [usize; 2] {
    let v = case.params[key]
        .as_array()
        .unwrap_or_else(|| panic!("{}: {key}", case.name));
    [
        v[0].as_u64().unwrap() as usize,
        v[1].as_u64().unwrap() as usize,
    ]
}

fn tensor_values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn check_mixed(case: &Case, mixer: &Mixup, plan: &MixPlan) -> MixTargets {
    let d = crate::test_device();
    let x = case.input("x").float::<4>(&d);
    let labels = case.input("target").usizes();
    let (images, out) = mixer.apply(x, &labels, plan);
    case.assert_tensor("x_mixed", images);
    case.assert_tensor("target_mixed", out.soft_targets.clone());
    out
}

fn mixer(case: &Case, mode: MixMode) -> Mixup {
    MixupConfig::new()
        .with_mode(mode)
        .with_cutmix_alpha(1.0)
        .init(case.usize("num_classes"), case.f64("smoothing"), 0)
        .unwrap()
}

#[test]
fn mixup_target_matches_timm() {
    let topic = load_topic("mixing.json");
    let d = crate::test_device();
    for case in topic.cases_of("mixup_target") {
        let c = case.usize("num_classes");
        let lam = case.f64("lam");
        let t = if case.bool("multi_label") {
            let dense = case.input("target");
            let b = dense.shape[0];
            mixup_target_multi_label(&dense.f32s(), c, &vec![lam; b], case.f64("smoothing"), &d)
        } else {
            let labels = case.input("target").usizes();
            mixup_target(
                &labels,
                c,
                &vec![lam; labels.len()],
                case.f64("smoothing"),
                &d,
            )
        };
        case.assert_tensor("target_mixed", t);
    }
}

#[test]
fn batch_mixup_matches_timm() {
    let topic = load_topic("mixing.json");
    for case in topic.cases_of("mixup_batch") {
        assert_eq!(case.str("mode"), "batch");
        let lam = case.f64("lam");
        let m = mixer(case, MixMode::Batch);
        let plan = MixPlan {
            mode: MixMode::Batch,
            ops: vec![MixOp::Mixup { lam }],
        };
        let out = check_mixed(case, &m, &plan);
        case.assert_close("lam", &[out.lam[0]], &[]);
    }
}

#[test]
fn cutmix_boxes_and_corrected_lam_match_timm() {
    let topic = load_topic("mixing.json");
    for case in topic.cases_of("cutmix") {
        let hw = pair(case, "img_size");
        let op = MixOp::from_draw(
            case.f64("lam"),
            true,
            Some(pair(case, "center")),
            hw,
            case.bool("correct_lam"),
        );
        let MixOp::CutMix { lam, bbox } = op else {
            panic!("{}: {op:?}", case.name)
        };
        let bbox_f: Vec<f64> = bbox.iter().map(|&v| v as f64).collect();
        case.assert_close("bbox", &bbox_f, &[4]);
        case.assert_close("lam", &[lam], &[]);
        let m = mixer(case, MixMode::Batch);
        let out = check_mixed(
            case,
            &m,
            &MixPlan {
                mode: MixMode::Batch,
                ops: vec![op],
            },
        );
        assert!(out.bboxes.iter().all(|b| *b == Some(bbox)));
    }
    for case in topic.cases_of("cutmix_minmax") {
        let hw = pair(case, "img_size");
        let bbox = cutmix_bbox_minmax(
            hw,
            [case.usize("cut_h"), case.usize("cut_w")],
            [case.usize("y0"), case.usize("x0")],
        );
        let lam = cutmix_corrected_lam(hw, bbox);
        let bbox_f: Vec<f64> = bbox.iter().map(|&v| v as f64).collect();
        case.assert_close("bbox", &bbox_f, &[4]);
        case.assert_close("lam", &[lam], &[]);
        let m = mixer(case, MixMode::Batch);
        check_mixed(
            case,
            &m,
            &MixPlan {
                mode: MixMode::Batch,
                ops: vec![MixOp::CutMix { lam, bbox }],
            },
        );
    }
}

fn per_draw_ops(case: &Case) -> Vec<MixOp> {
    let hw = pair(case, "img_size");
    let lams = case.params["lam"].as_array().unwrap();
    let cut = case.params["use_cutmix"].as_array().unwrap();
    let centers = case.params["centers"].as_array().unwrap();
    lams.iter()
        .zip(cut)
        .zip(centers)
        .map(|((lam, cut), center)| {
            let center = center.as_array().unwrap();
            let center = (!center.is_empty()).then(|| {
                [
                    center[0].as_u64().unwrap() as usize,
                    center[1].as_u64().unwrap() as usize,
                ]
            });
            MixOp::from_draw(
                lam.as_f64().unwrap(),
                cut.as_bool().unwrap(),
                center,
                hw,
                case.bool("correct_lam"),
            )
        })
        .collect()
}

fn check_per_sample(case: &Case, mode: MixMode) {
    let m = mixer(case, mode);
    let plan = MixPlan {
        mode,
        ops: per_draw_ops(case),
    };
    let out = check_mixed(case, &m, &plan);
    let b = out.lam.len();
    case.assert_close("lam", &out.lam, &[b, 1]);
    let boxes: Vec<f64> = out
        .bboxes
        .iter()
        .flat_map(|b| b.unwrap_or([0; 4]).map(|v| v as f64))
        .collect();
    case.assert_close("bboxes", &boxes, &[b, 4]);
}

#[test]
fn elem_and_pair_modes_match_timm() {
    let topic = load_topic("mixing.json");
    for case in topic.cases_of("mixup_elem") {
        check_per_sample(case, MixMode::Elem);
    }
    for case in topic.cases_of("mixup_pair") {
        check_per_sample(case, MixMode::Pair);
    }
}

#[test]
fn random_draws_are_seeded_and_mix_correctly() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let d = crate::test_device();
    let x = Tensor::<4>::random([8, 3, 6, 8], burn::tensor::Distribution::Default, &d);
    let labels = [0, 1, 2, 3, 4, 0, 1, 2];
    for mode in [MixMode::Batch, MixMode::Pair, MixMode::Elem] {
        let config = MixupConfig::new()
            .with_mixup_alpha(0.8)
            .with_cutmix_alpha(1.0)
            .with_mode(mode);
        let init = |seed| config.init(5, 0.0, seed).unwrap();
        let (mut a, mut b) = (init(7), init(7));
        let mut c = init(8);
        let plans_a: Vec<MixPlan> = (0..5).map(|_| a.draw(8, [6, 8]).unwrap()).collect();
        let plans_b: Vec<MixPlan> = (0..5).map(|_| b.draw(8, [6, 8]).unwrap()).collect();
        let plans_c: Vec<MixPlan> = (0..5).map(|_| c.draw(8, [6, 8]).unwrap()).collect();
        assert_eq!(plans_a, plans_b);
        assert_ne!(plans_a, plans_c);
        for plan in &plans_a {
            let (images, out) = a.apply(x.clone(), &labels, plan);
            // the soft targets of each row sum to 1 and weigh each label by lam
            let t = tensor_values(out.soft_targets.clone());
            for (i, row) in t.chunks(5).enumerate() {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5);
                let (ya, yb) = (out.labels_a[i], out.labels_b[i]);
                let expect_a = if ya == yb { 1.0 } else { out.lam[i] };
                assert!(
                    (row[ya] - expect_a).abs() < 1e-5,
                    "{mode:?} row {i}: {row:?} lam {}",
                    out.lam[i]
                );
            }
            assert_eq!(images.dims(), [8, 3, 6, 8]);
        }
    }
}

#[test]
fn fastai_loss_mixing_weighs_the_two_losses_by_lam() {
    let d = crate::test_device();
    let m = MixupConfig::new().init(3, 0.1, 0).unwrap();
    let x = Tensor::<4>::zeros([2, 1, 2, 2], &d);
    let plan = MixPlan {
        mode: MixMode::Elem,
        ops: vec![MixOp::Mixup { lam: 0.25 }, MixOp::Keep],
    };
    let (_, out) = m.apply(x, &[0, 2], &plan);
    assert_eq!(out.labels_b, vec![2, 0]);
    let la = Tensor::<1>::from_floats([1.0, 3.0], &d);
    let lb = Tensor::<1>::from_floats([5.0, 7.0], &d);
    let v = tensor_values(out.mix_losses(la, lb))[0];
    // mean(0.25 * 1 + 0.75 * 5, 1 * 3 + 0 * 7) = (4 + 3) / 2
    assert!((v - 3.5).abs() < 1e-6, "{v}");
}

#[test]
fn odd_batches_and_bad_configs_are_typed_errors() {
    let mut m = MixupConfig::new().init(3, 0.1, 0).unwrap();
    assert_eq!(config_key(m.draw(5, [4, 4])), "batch_size");
    let key = |r: Result<Mixup, PodiumError>| match r {
        Err(PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    assert_eq!(
        key(MixupConfig::new().with_prob(1.5).init(3, 0.1, 0)),
        "prob"
    );
    assert_eq!(
        key(MixupConfig::new().with_mixup_alpha(-1.0).init(3, 0.1, 0)),
        "mixup_alpha"
    );
    assert_eq!(
        key(MixupConfig::new().with_mixup_alpha(0.0).init(3, 0.1, 0)),
        "mixup_alpha/cutmix_alpha"
    );
    assert_eq!(
        key(MixupConfig::new()
            .with_cutmix_minmax(Some([0.8, 0.2]))
            .init(3, 0.1, 0)),
        "cutmix_minmax"
    );
    assert_eq!(key(MixupConfig::new().init(3, 1.0, 0)), "label_smoothing");
    assert_eq!(key(MixupConfig::new().init(0, 0.1, 0)), "num_classes");
}

#[test]
#[should_panic(expected = "3 labels for images [4, 1, 2, 2]")]
fn apply_panics_naming_the_shapes() {
    let d = crate::test_device();
    let m = MixupConfig::new().init(3, 0.1, 0).unwrap();
    let plan = MixPlan {
        mode: MixMode::Batch,
        ops: vec![MixOp::Keep],
    };
    m.apply(Tensor::zeros([4, 1, 2, 2], &d), &[0, 1, 2], &plan);
}
