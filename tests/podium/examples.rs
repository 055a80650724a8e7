//! The examples, run as a user runs them (the binaries `cargo test` builds beside this one).

use std::path::PathBuf;
use std::process::Command;

use crate::fixtures::photo_folder;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/podium-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(path.exists(), "example binary {} not built", path.display());
    path
}

#[test]
fn train_folder_trains_on_real_photo_crops_and_writes_a_submission() {
    let data = tempfile::tempdir().unwrap();
    let train = data.path().join("train");
    photo_folder(&train, 3, 8, 40);
    let test = data.path().join("test");
    std::fs::create_dir(&test).unwrap();
    for (i, src) in ["class_0/001.png", "class_2/004.jpg"].iter().enumerate() {
        std::fs::copy(
            train.join(src),
            test.join(format!("t{i}.{}", &src[src.len() - 3..])),
        )
        .unwrap();
    }
    let out = data.path().join("run");
    let output = Command::new(example("train_folder"))
        .args([
            "--folder",
            train.to_str().unwrap(),
            "--size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--augment",
            "rand-m9-n2-mstd0.5",
        ])
        .args([
            "--test-dir",
            test.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .env("CI", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("3 classes"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(out.join("checkpoint/model-1.bpk").exists());
    let submission = std::fs::read_to_string(out.join("submission.csv")).unwrap();
    let rows: Vec<&str> = submission.lines().collect();
    assert_eq!(rows[0], "id,label");
    assert_eq!(rows.len(), 3);
    assert!(rows[1].starts_with("t0,class_"), "{submission}");
}

#[test]
fn train_folder_reports_a_bad_folder_and_exits_non_zero() {
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(example("train_folder"))
        .args(["--folder", empty.path().to_str().unwrap(), "--epochs", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no class sub-folders"), "{stderr}");
    assert!(stderr.contains(empty.path().to_str().unwrap()), "{stderr}");
    // a malformed policy string is named
    let data = tempfile::tempdir().unwrap();
    photo_folder(data.path(), 2, 2, 16);
    let bad = Command::new(example("train_folder"))
        .args(["--folder", data.path().to_str().unwrap(), "--epochs", "1"])
        .args(["--augment", "rand-q9"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("rand-q9"), "{stderr}");
}

#[test]
fn augment_gallery_writes_one_grid_of_every_transform() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gallery.png");
    let photo = crate::fixtures::photos()
        .into_iter()
        .find(|p| p.ends_with("flower.jpg"))
        .unwrap();
    let output = Command::new(example("augment_gallery"))
        .args([
            "--image",
            photo.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let grid = image::open(&out).unwrap().to_rgb8();
    // 36 tiles of 160 x 128 in 6 columns, with gaps and caption bands
    assert_eq!(grid.dimensions(), (6 * 166 + 6, 6 * (128 + 18 + 6) + 6));
    let missing = Command::new(example("augment_gallery"))
        .args(["--image", "no/such.jpg", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such.jpg"));
}

#[test]
fn finetune_prints_the_summary_and_a_test_accuracy() {
    let _guard = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(example("finetune"))
        .args(["--epochs", "1", "--out", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Total params: 11,186,762"), "{stdout}");
    let acc: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .and_then(|l| l.split('%').next())
        .and_then(|v| v.parse().ok())
        .expect("a test accuracy line");
    assert!(acc > 50.0, "{stdout}");
    assert!(dir.path().join("unfrozen/metrics.csv").is_file());
}
