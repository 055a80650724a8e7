//! `examples/make_competition.rs`: the MNIST files as a Kaggle-style competition folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn_podium::data::{CsvColumns, ImageDataset, read_idx};

use crate::fixtures::shared_data;

fn make_competition(args: &[&str]) -> Output {
    // target/<profile>/deps/podium-<hash> -> target/<profile>/examples/make_competition
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("make_competition");
    assert!(path.exists(), "example binary {} not built", path.display());
    Command::new(path).args(args).output().unwrap()
}

fn rows(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,label"), "{}", path.display());
    lines
        .map(|l| {
            let (id, label) = l.split_once(',').unwrap();
            (id.to_string(), label.to_string())
        })
        .collect()
}

fn stems(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p: PathBuf = e.unwrap().path();
            assert_eq!(p.extension().unwrap(), "png");
            p.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn mnist_becomes_a_competition_folder_with_hidden_test_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("comp");
    let mnist = shared_data().join("mnist");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--mnist",
            mnist.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        make_competition(&args)
    };
    let output = run(&["--train", "40", "--test", "30", "--seed", "3"]);
    assert!(output.status.success(), "{output:?}");

    // train.csv lists the train PNGs with MNIST's labels, in source order
    let train = rows(&out.join("train.csv"));
    assert_eq!(train.len(), 40);
    assert_eq!(
        stems(&out.join("train")),
        train.iter().map(|r| r.0.clone()).collect()
    );
    let labels = read_idx(mnist.join("train-labels-idx1-ubyte.gz")).unwrap();
    let images = read_idx(mnist.join("train-images-idx3-ubyte.gz")).unwrap();
    for (i, (id, label)) in train.iter().enumerate() {
        assert_eq!(id, &format!("train_{i:05}"));
        assert_eq!(label, &labels.data[i].to_string());
    }
    // a PNG holds the IDX pixels, losslessly
    let png = image::open(out.join("train/train_00007.png"))
        .unwrap()
        .to_luma8();
    assert_eq!(png.dimensions(), (28, 28));
    assert_eq!(png.into_raw(), images.data[7 * 784..8 * 784]);

    // the sample lists every test image once, shuffled, with a placeholder label; the answers
    // follow the sample's order and are MNIST's test labels
    let sample = rows(&out.join("sample_submission.csv"));
    let answers = rows(&out.join("test_labels.csv"));
    let ids: Vec<&String> = sample.iter().map(|r| &r.0).collect();
    assert_eq!(
        stems(&out.join("test")),
        ids.iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(ids.len(), 30);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_ne!(ids, sorted, "the sample's rows are shuffled");
    assert!(sample.iter().all(|r| r.1 == "0"));
    assert_eq!(
        answers.iter().map(|r| &r.0).collect::<Vec<_>>(),
        ids,
        "answers in the sample's order"
    );
    let test_labels = read_idx(mnist.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let test_images = read_idx(mnist.join("t10k-images-idx3-ubyte.gz")).unwrap();
    let expected: Vec<u8> = test_labels.data[..30].to_vec();
    let mut seen: Vec<u8> = answers.iter().map(|r| r.1.parse().unwrap()).collect();
    let mut want = expected.clone();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    // each answer is the label of the test image with that id
    for (id, label) in &answers {
        let png = image::open(out.join("test").join(format!("{id}.png")))
            .unwrap()
            .to_luma8()
            .into_raw();
        let source = (0..30)
            .find(|&j| test_images.data[j * 784..(j + 1) * 784] == png[..])
            .expect("a test PNG is one of the first 30 test images");
        assert_eq!(label, &test_labels.data[source].to_string(), "{id}");
    }

    // podium reads it back, both ways
    let ds = ImageDataset::from_csv(out.join("train.csv"), out.join("train"), None).unwrap();
    assert_eq!(ds.len(), 40);
    let ds = ImageDataset::from_csv_columns(
        out.join("train.csv"),
        out.join("train"),
        None,
        &CsvColumns::new(),
    )
    .unwrap();
    assert_eq!(ds.label(3), Some(labels.data[3] as usize));

    // the same seed gives the same folder; an existing competition needs --overwrite
    let refused = run(&["--train", "40", "--test", "30", "--seed", "3"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--overwrite"),
        "{refused:?}"
    );
    let again = run(&[
        "--train",
        "40",
        "--test",
        "30",
        "--seed",
        "3",
        "--overwrite",
    ]);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(rows(&out.join("sample_submission.csv")), sample);
    // no temporary file is left behind
    assert!(
        !std::fs::read_dir(&out).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

#[test]
fn counts_beyond_the_set_and_missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("comp");
    let mnist = shared_data().join("mnist");
    let too_many = make_competition(&[
        "--mnist",
        mnist.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--test",
        "10001",
    ]);
    assert!(!too_many.status.success());
    let err = String::from_utf8_lossy(&too_many.stderr);
    assert!(err.contains("--test") && err.contains("10000"), "{err}");
    let missing = make_competition(&[
        "--mnist",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
}
