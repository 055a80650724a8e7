//! `podium train` killed with SIGKILL at several points and resumed with `--resume` ends with the
//! uninterrupted run's `metrics.csv`, every number but the wall times.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use burn_podium::learner::read_metrics_csv;

use crate::fixtures::metric_numbers;

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
epochs = 5
batch_size = 32
lr = 3e-3
folds = 0
valid_fraction = 0.2
metric = "macro_f1"
[mixup]
mixup_alpha = 0.4
[ema.V2]
decay = 0.9
"#;

fn podium(root: &Path, output: &str, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_podium"));
    cmd.current_dir(root)
        .args(["train", "--config", "recipe.toml", "--set"])
        .arg(format!("train.output=\"{output}\""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if resume {
        cmd.arg("--resume");
    }
    cmd
}

/// The validation rows written so far (0 while the file is missing or being replaced).
fn valid_rows(csv: &Path) -> usize {
    read_metrics_csv(csv)
        .map(|rows| rows.iter().filter(|r| r.split == "valid").count())
        .unwrap_or(0)
}

/// Kills `child` with SIGKILL once `metrics.csv` has `epochs` validation rows and `extra` more
/// time has passed (inside the next epoch); returns false if the run ended first.
fn kill_after(mut child: Child, csv: &Path, epochs: usize, extra: Duration) -> bool {
    let start = Instant::now();
    while valid_rows(csv) < epochs {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the run hangs");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(extra);
    let killed = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    killed
}

#[test]
fn podium_train_killed_with_sigkill_and_resumed_matches_the_uninterrupted_run() {
    let _guard = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    competition(root);

    let start = Instant::now();
    let status = podium(root, "full", false).status().unwrap();
    assert!(status.success());
    let one_run = start.elapsed();
    let expected = read_metrics_csv(root.join("full/metrics.csv")).unwrap();
    assert_eq!(expected.len(), 10);

    // Killed in the middle of epoch 3, resumed, killed again at other points (while it starts,
    // inside epoch 4 and right after an epoch's validation), then resumed to the end.
    let csv: PathBuf = root.join("cut/metrics.csv");
    let epoch = one_run / 6;
    let child = podium(root, "cut", false).spawn().unwrap();
    assert!(
        kill_after(child, &csv, 2, epoch / 2),
        "the first run ended early"
    );
    assert!(valid_rows(&csv) < 5);
    // without --resume the run directory is refused (exit code 2), never overwritten
    let refused = podium(root, "cut", false).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let before = std::fs::read(&csv).unwrap();
    for (epochs, extra) in [
        (0, Duration::from_millis(50)),
        (3, epoch / 3),
        (4, Duration::ZERO),
    ] {
        let child = podium(root, "cut", true).spawn().unwrap();
        kill_after(child, &csv, epochs, extra);
    }
    assert!(before.len() <= std::fs::read(&csv).unwrap().len());
    let status = podium(root, "cut", true).status().unwrap();
    assert!(status.success());
    let got = read_metrics_csv(&csv).unwrap();
    assert_eq!(metric_numbers(&got), metric_numbers(&expected));
    // the resumed run's validation predictions are the uninterrupted run's
    let oof = |run: &str| std::fs::read_to_string(root.join(run).join("oof.csv")).unwrap();
    assert_eq!(oof("cut"), oof("full"));
}
