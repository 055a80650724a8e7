//! `podium train` stopped by SIGTERM / SIGINT: a clean stop with exit code 143 / 130, the resume
//! command printed, no temporary or partial checkpoint left, and `--resume` ends with the
//! uninterrupted run's rows. A NaN loss ends it with exit code 1 naming the epoch and step.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn_podium::learner::read_metrics_csv;

use crate::fixtures::{metric_numbers, temp_files};

/// The digits as a competition folder (`train/*.png`, `train.csv`) and its recipe.
fn competition(root: &Path) {
    crate::fixtures::digits_competition(root, RECIPE);
}

const RECIPE: &str = r#"
[data]
train_csv = "train.csv"
images = "train"
size = 16
channels = 1
[model]
name = "simple_cnn"
[train]
epochs = 3
batch_size = 32
lr = 3e-3
folds = 0
valid_fraction = 0.2
"#;

/// `podium train` on the recipe into `output`, with extra arguments.
pub(crate) fn podium(root: &Path, output: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_podium"));
    cmd.current_dir(root)
        .env("CI", "1")
        .args(["train", "--config", "recipe.toml", "--set"])
        .arg(format!("train.output=\"{output}\""))
        .args(extra);
    cmd
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `path` to exist while `child` runs; false if the child ended first.
fn wait_for(child: &mut Child, path: &Path) -> bool {
    let start = Instant::now();
    while !path.exists() {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the run hangs");
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn podium_train_stopped_by_sigterm_exits_143_and_resumes_to_the_uninterrupted_rows() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    competition(root);

    let full = podium(root, "full", &[]).output().unwrap();
    assert!(full.status.success(), "{}", stderr(&full));
    let expected = read_metrics_csv(root.join("full/metrics.csv")).unwrap();
    assert_eq!(expected.len(), 6);

    let mut child = podium(root, "cut", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(&mut child, &root.join("cut/checkpoint/model-1.bpk")),
        "the run ended before its first checkpoint"
    );
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("interrupted (SIGTERM)") && err.contains("last complete epoch is 1"),
        "{err}"
    );
    assert!(
        err.contains("continue with: podium train --config recipe.toml")
            && err.trim_end().ends_with("--resume"),
        "{err}"
    );
    let cut = root.join("cut");
    assert_eq!(temp_files(&cut), Vec::<String>::new());
    // epoch 2 was abandoned: no checkpoint of it, epoch 1's complete
    for kind in ["model", "optim", "scheduler"] {
        assert!(
            cut.join(format!("checkpoint/{kind}-1.bpk")).exists(),
            "{kind}-1"
        );
        assert!(
            !cut.join(format!("checkpoint/{kind}-2.bpk")).exists(),
            "{kind}-2"
        );
    }

    let resumed = podium(root, "cut", &["--resume"]).output().unwrap();
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let got = read_metrics_csv(cut.join("metrics.csv")).unwrap();
    assert_eq!(metric_numbers(&got), metric_numbers(&expected));
}

#[test]
fn a_second_sigint_ends_podium_train_at_once_with_130() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    competition(root);
    // Two signals that reach the process before its handler ran merge into one (POSIX
    // signals do not queue), and a clean stop can finish before a late second one (a step of
    // this run takes milliseconds): every try exits 130, and at least one of five, with 0 to
    // 4 ms between the two `kill`s (each of which takes about a millisecond to spawn), must
    // end before the clean stop reports.
    let mut at_once = false;
    for attempt in 0..5 {
        let output = format!("twice-{attempt}");
        let mut child = podium(root, &output, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(wait_for(
            &mut child,
            &root.join(&output).join("checkpoint/model-1.bpk")
        ));
        signal(&child, "INT");
        std::thread::sleep(Duration::from_millis(attempt));
        signal(&child, "INT");
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
        if !stderr(&out).contains("continue with") {
            at_once = true;
            break;
        }
    }
    assert!(
        at_once,
        "the second SIGINT never ended the process before the clean stop"
    );
}

#[test]
fn podium_train_with_a_diverging_loss_exits_1_naming_epoch_and_step() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    competition(root);
    let out = podium(
        root,
        "nan",
        &["--set", "train.lr=1e30", "--set", "train.epochs=1"],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: ") && err.contains("at epoch 1, step ") && err.contains("nan_policy"),
        "{err}"
    );
    // with skip, the same run ends, its poisoned updates counted
    let out = podium(
        root,
        "nan",
        &[
            "--set",
            "train.lr=1e30",
            "--set",
            "train.epochs=1",
            "--set",
            "train.nan_policy=\"skip\"",
            "--resume",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let info = burn_podium::learner::RunInfo::load(root.join("nan")).unwrap();
    assert!(info.skipped_steps > 0);
}
