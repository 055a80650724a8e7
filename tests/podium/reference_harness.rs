//! The harness itself: every topic file parses with consistent tensors, the allclose rule
//! accepts and rejects as numpy does, and a missing folder is reported with its path.

use crate::reference::{RefTensor, check_allclose, load_topic, reference_dir, try_load_topic_from};

const TOPICS: [&str; 8] = [
    "losses.json",
    "mixing.json",
    "pooling_and_misc.json",
    "image_ops.json",
    "optim.json",
    "averaging.json",
    "schedules.json",
    "sampling.json",
];

#[test]
fn every_topic_file_parses_with_consistent_tensors() {
    for file in TOPICS {
        let topic = load_topic(file);
        assert!(!topic.cases.is_empty(), "{file}: no cases");
        assert_eq!(format!("{}.json", topic.topic), file);
        for case in &topic.cases {
            assert!(case.atol >= 0.0 && case.rtol >= 0.0, "{}", case.name);
            for t in case.inputs.values().chain(case.expected.values()) {
                assert_eq!(
                    t.numel(),
                    t.shape.iter().product::<usize>(),
                    "{}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn allclose_follows_the_numpy_rule() {
    let expected = RefTensor {
        shape: vec![3],
        dtype: "f32".into(),
        data: vec![1.0, -2.0, 100.0],
    };
    // within atol + rtol * |e|
    assert!(
        check_allclose(
            &[1.0 + 1.9e-5, -2.0, 100.0 + 0.0095],
            &[3],
            &expected,
            1e-5,
            1e-4
        )
        .is_ok()
    );
    // just outside on the last element
    let err =
        check_allclose(&[1.0, -2.0, 100.0 + 0.0105], &[3], &expected, 1e-5, 1e-4).unwrap_err();
    assert!(err.contains("flat index 2"), "{err}");
    // shape mismatch
    assert!(check_allclose(&[1.0, -2.0, 100.0], &[1, 3], &expected, 1.0, 1.0).is_err());
    // exact mode
    assert!(check_allclose(&[1.0, -2.0, 100.0], &[3], &expected, 0.0, 0.0).is_ok());
    assert!(check_allclose(&[1.0, -2.0, 100.000001], &[3], &expected, 0.0, 0.0).is_err());
}

#[test]
fn a_missing_folder_or_file_says_where_it_looked() {
    let nowhere = std::path::Path::new("/definitely/not/here/reference");
    let err = try_load_topic_from(nowhere, "losses.json").unwrap_err();
    assert!(err.contains("/definitely/not/here/reference"), "{err}");
    assert!(err.contains("PODIUM_REFERENCE_DIR"), "{err}");
    let err = try_load_topic_from(&reference_dir(), "no_such_topic.json").unwrap_err();
    assert!(err.contains("no_such_topic.json"), "{err}");
}
