//! The `podium` binary end to end on a tiny competition folder: train (2 folds), evaluate,
//! predict with TTA and a sample submission, and the exit codes of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn_podium::recipe::OofRows;

const CLASSES: [&str; 4] = ["circle", "cross", "dot", "square"];

/// A 16 x 16 RGB picture of class `c`, varied by `i`.
fn picture(c: usize, i: usize) -> image::RgbImage {
    image::RgbImage::from_fn(16, 16, |x, y| {
        let (x, y) = (x as i32 - 8, y as i32 - 8);
        let on = match c {
            0 => (x * x + y * y - 30).abs() < 12,
            1 => x == y || x == -y,
            2 => x * x + y * y < 10,
            _ => x.abs() == 6 || y.abs() == 6,
        };
        let v = if on {
            230 - (i as u8) * 3
        } else {
            20 + (i as u8) * 2
        };
        image::Rgb([v, v, v])
    })
}

/// `root/train.csv`, `root/train/*.png` (4 classes x 8), `root/test/*.png` (8) and
/// `root/sample_submission.csv` listing the test ids (without extension) in a shuffled order.
fn competition(root: &Path) {
    std::fs::create_dir_all(root.join("train")).unwrap();
    std::fs::create_dir_all(root.join("test")).unwrap();
    let mut csv = String::from("image_id,label\n");
    for (c, class) in CLASSES.iter().enumerate() {
        for i in 0..8 {
            let name = format!("img_{c}_{i}");
            picture(c, i)
                .save(root.join("train").join(format!("{name}.png")))
                .unwrap();
            csv.push_str(&format!("{name},{class}\n"));
        }
    }
    std::fs::write(root.join("train.csv"), csv).unwrap();
    for t in 0..8 {
        picture(t % 4, t)
            .save(root.join("test").join(format!("t{t}.png")))
            .unwrap();
    }
    let order = [5, 2, 7, 0, 3, 6, 1, 4];
    let mut sample = String::from("id,label\n");
    for t in order {
        sample.push_str(&format!("t{t},circle\n"));
    }
    std::fs::write(root.join("sample_submission.csv"), sample).unwrap();
}

fn recipe(root: &Path) -> PathBuf {
    let text = r#"
[data]
train_csv = "train.csv"
images = "train"
size = 16
channels = 3
[model]
name = "simple_cnn"
[train]
epochs = 1
batch_size = 8
lr = 3e-3
folds = 2
metric = "macro_f1"
output = "runs/exp1"
"#;
    let path = root.join("recipe.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn podium(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podium"))
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn train_evaluate_predict_end_to_end() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    competition(root);
    recipe(root);
    // one fold as a job-array task would, then the rest and the CV files
    let out = podium(root, &["train", "--config", "recipe.toml", "--fold", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(root.join("runs/exp1/fold-1/fold.json").exists());
    assert!(!root.join("runs/exp1/cv.json").exists());
    // the same fold again is refused: it is done
    let again = podium(root, &["train", "--config", "recipe.toml", "--fold", "1"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let fold1 = std::fs::read(root.join("runs/exp1/fold-1/oof.csv")).unwrap();
    let out = podium(root, &["train", "--config", "recipe.toml"]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("CV macro_f1"), "{printed}");
    // fold 1 was read back, not retrained
    assert_eq!(
        std::fs::read(root.join("runs/exp1/fold-1/oof.csv")).unwrap(),
        fold1
    );
    let run = root.join("runs/exp1");
    for f in [
        "recipe.toml",
        "cv.json",
        "oof.csv",
        "fold-0/run.json",
        "fold-1/run.json",
    ] {
        assert!(run.join(f).exists(), "{f}");
    }
    let oof = OofRows::read(&run.join("oof.csv")).unwrap();
    assert_eq!(oof.ids.len(), 32);
    assert_eq!(oof.classes, CLASSES);
    // a different recipe into the same output is refused
    let other = podium(
        root,
        &["train", "--config", "recipe.toml", "--set", "train.lr=1e-2"],
    );
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    assert!(text(&other).contains("train.output"), "{}", text(&other));

    let out = podium(root, &["evaluate", "runs/exp1"]);
    assert!(out.status.success(), "{}", text(&out));
    for f in [
        "report/report.md",
        "report/report.json",
        "report/confusion_matrix.png",
        "report/top_losses.png",
        "fold-0/report/training_curves.png",
        "fold-1/report/report.md",
    ] {
        assert!(run.join(f).exists(), "{f}");
    }

    let out = podium(
        root,
        &[
            "predict",
            "runs/exp1",
            "--test-dir",
            "test",
            "--sample-submission",
            "sample_submission.csv",
            "--tta",
            "hflip",
            "--out",
            "sub.csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let sub = std::fs::read_to_string(root.join("sub.csv")).unwrap();
    let lines: Vec<&str> = sub.lines().collect();
    assert_eq!(lines[0], "id,label");
    let ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["t5", "t2", "t7", "t0", "t3", "t6", "t1", "t4"]);
    for l in &lines[1..] {
        let label = l.split(',').nth(1).unwrap();
        assert!(CLASSES.contains(&label), "{l}");
    }
    let probs = std::fs::read_to_string(root.join("sub_probabilities.csv")).unwrap();
    assert_eq!(probs.lines().next().unwrap(), "id,circle,cross,dot,square");
    assert_eq!(probs.lines().count(), 9);

    // a sample naming an image the test folder lacks: an error naming it
    std::fs::write(root.join("bad_sample.csv"), "id,label\nt0,x\nghost,x\n").unwrap();
    let out = podium(
        root,
        &[
            "predict",
            "runs/exp1",
            "--test-dir",
            "test",
            "--sample-submission",
            "bad_sample.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("ghost"), "{}", text(&out));
    // the folds merged by their geometric mean, at a larger test size (FixRes), weighted:
    // other probabilities than the plain mean at the training size
    let plain = podium(
        root,
        &[
            "predict",
            "runs/exp1",
            "--test-dir",
            "test",
            "--out",
            "plain.csv",
        ],
    );
    assert!(plain.status.success(), "{}", text(&plain));
    let geo = podium(
        root,
        &[
            "predict",
            "runs/exp1",
            "runs/exp1",
            "--test-dir",
            "test",
            "--ensemble",
            "geometric",
            "--weights",
            "2,1",
            "--size",
            "24",
            "--out",
            "geo.csv",
        ],
    );
    assert!(geo.status.success(), "{}", text(&geo));
    let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap();
    let (a, b) = (
        read("plain_probabilities.csv"),
        read("geo_probabilities.csv"),
    );
    assert_eq!(a.lines().count(), b.lines().count());
    assert_ne!(a, b);
    // fastai's LR finder on the same recipe: a suggestion, its plot and its curve
    let out = podium(
        root,
        &[
            "lr-find",
            "--config",
            "recipe.toml",
            "--set",
            "train.output=\"runs/lr\"",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("suggested lr (valley)"),
        "{}",
        text(&out)
    );
    let plot = image::open(root.join("runs/lr/lr_find.png")).unwrap();
    assert!(plot.width() > 100 && plot.height() > 100);
    let curve = read("runs/lr/lr_find.csv");
    assert!(curve.lines().count() > 10, "{curve}");
}

#[test]
fn bad_input_exits_with_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    recipe(root);
    let cases: [(&[&str], &str); 8] = [
        (&["train", "--config", "missing.toml"], "missing.toml"),
        (
            &["train", "--config", "recipe.toml", "--set", "train.epoch=2"],
            "train.epochs",
        ),
        (
            &["train", "--config", "recipe.toml", "--set", "train.lr"],
            "--set",
        ),
        (
            &[
                "train",
                "--config",
                "recipe.toml",
                "--set",
                "train.epochs=many",
            ],
            "many",
        ),
        (&["evaluate", "no_run"], "recipe.toml"),
        (
            &["predict", "no_run", "--test-dir", "test", "--tta", "hflip"],
            "recipe.toml",
        ),
        (
            &[
                "predict",
                "no_run",
                "--test-dir",
                "test",
                "--weights",
                "1,2",
            ],
            "--weights",
        ),
        (
            &[
                "predict",
                "no_run",
                "--test-dir",
                "test",
                "--ensemble",
                "median",
            ],
            "median",
        ),
    ];
    for (args, named) in cases {
        let out = podium(root, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
    // the data the recipe names does not exist: bad input, naming the file
    let out = podium(root, &["train", "--config", "recipe.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("train.csv"), "{}", text(&out));
    // clap's own usage errors exit with 2 as well
    assert_eq!(podium(root, &["train"]).status.code(), Some(2));
}
