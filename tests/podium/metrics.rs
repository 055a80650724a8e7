//! Competition metrics against scikit-learn (`metrics.json`: in `PODIUM_REFERENCE_DIR` /
//! `../shared/reference` when it has one, else the copy generated beside these tests by
//! `tests/reference/make_metrics.py`).

use std::path::Path;

use burn_podium::PodiumError;
use burn_podium::metrics::{Metric, binary_roc_auc, log_loss, quadratic_weighted_kappa};

use crate::reference::{Topic, reference_dir, try_load_topic_from};

fn metrics_topic() -> Topic {
    let shared = reference_dir();
    let dir = if shared.join("metrics.json").is_file() {
        shared
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
    };
    try_load_topic_from(&dir, "metrics.json").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_metric_matches_scikit_learn() {
    let topic = metrics_topic();
    for metric in Metric::ALL {
        for case in topic.cases_of(metric.name()) {
            let c = case.usize("num_classes");
            let probs = case.input("probs");
            assert_eq!(probs.shape, [probs.shape[0], c], "{}", case.name);
            let labels = case.input("labels").usizes();
            let value = metric
                .compute(&probs.f32s(), &labels, c)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            case.assert_close("value", &[value], &[]);
        }
    }
}

#[test]
fn metric_names_round_trip_and_unknown_names_are_errors() {
    for m in Metric::ALL {
        assert_eq!(Metric::from_name(m.name()).unwrap(), m);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("\"{}\"", m.name()));
    }
    assert!(!Metric::LogLoss.higher_is_better());
    assert!(Metric::Qwk.higher_is_better());
    match Metric::from_name("acuracy") {
        Err(PodiumError::Config { key, value, reason }) => {
            assert_eq!(key, "metric");
            assert_eq!(value, "acuracy");
            assert!(reason.contains("balanced_accuracy"), "{reason}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn auc_of_an_absent_class_is_an_error_and_ties_count_half() {
    // class 2 has no sample: its one-vs-rest AUC is undefined
    let probs = [0.7, 0.2, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1];
    let err = Metric::Auc.compute(&probs, &[0, 1, 0], 3).unwrap_err();
    assert!(err.to_string().contains("class 2"), "{err}");
    // one positive and one negative with the same score: the area is one half
    assert_eq!(binary_roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
    assert_eq!(binary_roc_auc(&[0.2, 0.9], &[false, true]), Some(1.0));
    assert_eq!(binary_roc_auc(&[0.2, 0.9], &[true, true]), None);
}

#[test]
fn log_loss_clips_as_kaggle_and_kappa_is_one_on_agreement() {
    // the true class got probability 0: clipped to 1e-15 (the row still sums to 1)
    let v = log_loss(&[0.0, 1.0], &[0], 2);
    assert!((v - (-(1e-15f64).ln())).abs() < 1e-9, "{v}");
    // rows that do not sum to 1 are rescaled: [2, 2] is [0.5, 0.5]
    let v = log_loss(&[2.0, 2.0], &[1], 2);
    assert!((v - 2f64.ln()).abs() < 1e-12, "{v}");
    let probs = [0.9, 0.1, 0.0, 0.1, 0.8, 0.1, 0.0, 0.2, 0.8];
    assert_eq!(quadratic_weighted_kappa(&probs, &[0, 1, 2], 3), 1.0);
    // a single class on both sides: no disagreement is possible
    assert_eq!(quadratic_weighted_kappa(&[1.0, 0.0], &[0], 2), 1.0);
}

#[test]
#[should_panic(expected = "[N, C] = [2, 3] expected")]
fn a_probability_buffer_of_the_wrong_size_panics_naming_the_shapes() {
    let _ = Metric::Accuracy.compute(&[0.5; 5], &[0, 1], 3);
}
