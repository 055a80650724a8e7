//! Evaluation reports: scikit-learn's classification report on hand-computed inputs, the
//! most-confused order, top losses, the PNGs (decoded, sized, not blank), report.md and
//! report.json, and `metrics.csv` read back.
//!
//! Set `PODIUM_REPORT_OUT=/some/dir` to keep the pictures for a look.

use std::path::{Path, PathBuf};

use burn_podium::PodiumError;
use burn_podium::data::{ImageDataset, digits};
use burn_podium::learner::{EpochMetrics, METRICS_CSV_HEADER};
use burn_podium::metrics::{Metric, accuracy, macro_f1};
use burn_podium::report::{
    ClassificationReport, HEADER, ReportInputs, ReportJson, TILE, plot_confusion_matrix,
    plot_training_curves, read_metrics_csv, top_losses, write_report,
};

use crate::fixtures::config_key;

fn names(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|k| format!("{prefix}{k}")).collect()
}

/// Rows putting 0.7 on `preds[i]` and the rest evenly on the other classes.
fn probs_of(preds: &[usize], c: usize) -> Vec<f32> {
    let rest = 0.3 / (c - 1) as f32;
    preds
        .iter()
        .flat_map(|&p| (0..c).map(move |k| if k == p { 0.7 } else { rest }))
        .collect()
}

/// A kept directory under `PODIUM_REPORT_OUT`, or a temporary one.
fn out_dir(name: &str) -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("PODIUM_REPORT_OUT") {
        Some(root) => {
            let dir = PathBuf::from(root).join(name);
            std::fs::create_dir_all(&dir).unwrap();
            (dir, None)
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            (tmp.path().to_path_buf(), Some(tmp))
        }
    }
}

/// Decodes a PNG, checks its size and returns the pixels that are not white.
fn non_white(path: &Path, size: (u32, u32)) -> usize {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(img.dimensions(), size, "{}", path.display());
    img.pixels().filter(|p| p.0 != [255, 255, 255]).count()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn the_classification_report_matches_hand_computed_scikit_learn_values() {
    // confusion [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    let labels = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
    let preds = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];
    let classes = names(3, "c");
    let probs = probs_of(&preds, 3);
    let r = ClassificationReport::new(&probs, &labels, &classes);
    assert_eq!(
        r.confusion,
        vec![vec![2, 1, 1], vec![1, 2, 0], vec![0, 1, 2]]
    );
    let expected = [
        // precision, recall, f1, support: f1 = 2 TP / (support + predicted)
        (2.0 / 3.0, 0.5, 4.0 / 7.0, 4),
        (0.5, 2.0 / 3.0, 4.0 / 7.0, 3),
        (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3),
    ];
    for (m, (p, rc, f, s)) in r.per_class.iter().zip(expected) {
        close(m.precision, p);
        close(m.recall, rc);
        close(m.f1, f);
        assert_eq!(m.support, s);
    }
    assert_eq!(r.class_names(), classes);
    close(r.accuracy, 0.6);
    close(r.macro_avg.precision, 11.0 / 18.0);
    close(r.macro_avg.recall, 11.0 / 18.0);
    close(r.macro_avg.f1, 38.0 / 63.0);
    close(r.weighted_avg.precision, 37.0 / 60.0);
    close(r.weighted_avg.recall, 0.6);
    close(r.weighted_avg.f1, 0.6);
    assert_eq!((r.macro_avg.support, r.weighted_avg.support), (10, 10));
    // consistent with the metrics module (every class is seen)
    close(r.macro_avg.f1, macro_f1(&probs, &labels, 3));
    close(100.0 * r.accuracy, accuracy(&probs, &labels, 3));
    close(r.metric_value(Metric::MacroF1).unwrap(), 38.0 / 63.0);
    close(r.metric_value(Metric::Accuracy).unwrap(), 60.0);
    assert_eq!(r.metrics.len(), Metric::ALL.len());
    assert_eq!(r.metric, Metric::Accuracy);
    assert_eq!(r.clone().with_metric(Metric::Qwk).metric, Metric::Qwk);
}

#[test]
fn a_class_nowhere_scores_zero_and_counts_in_the_macro_average_but_not_in_macro_f1() {
    // class 2 is neither a label nor a prediction; AUC is then undefined
    let labels = [0, 0, 1, 1];
    let preds = [0, 1, 1, 1];
    let probs = probs_of(&preds, 3);
    let r = ClassificationReport::new(&probs, &labels, &names(3, "k"));
    let absent = &r.per_class[2];
    assert_eq!(
        (absent.precision, absent.recall, absent.f1, absent.support),
        (0.0, 0.0, 0.0, 0)
    );
    // f1: class 0 = 2/3, class 1 = 4/5; scikit-learn with labels=range(3) divides by 3
    close(r.macro_avg.f1, (2.0 / 3.0 + 0.8) / 3.0);
    close(macro_f1(&probs, &labels, 3), (2.0 / 3.0 + 0.8) / 2.0);
    assert_eq!(r.metric_value(Metric::Auc), None);
}

#[test]
fn most_confused_pairs_come_largest_first_ties_in_class_order() {
    // a->b x3, c->a x2, a->c x1, b->c x1, and a few right ones
    let labels = [0, 0, 0, 2, 2, 1, 0, 0, 1, 1, 2];
    let preds = [1, 1, 1, 0, 0, 2, 2, 0, 1, 1, 2];
    let classes = vec!["a".to_string(), "b".into(), "c".into()];
    let r = ClassificationReport::new(&probs_of(&preds, 3), &labels, &classes);
    let got: Vec<(&str, &str, u64)> = r
        .most_confused
        .iter()
        .map(|p| (p.actual.as_str(), p.predicted.as_str(), p.count))
        .collect();
    assert_eq!(
        got,
        [("a", "b", 3), ("c", "a", 2), ("a", "c", 1), ("b", "c", 1)]
    );
    assert_eq!(r.top_confused(2).len(), 2);
    assert_eq!(r.top_confused(2)[1].count, 2);
    assert_eq!(r.top_confused(10).len(), 4);
}

#[test]
fn top_losses_rank_samples_by_cross_entropy() {
    let probs = [0.9, 0.1, 0.2, 0.8, 0.4, 0.6];
    let labels = [0, 0, 1];
    let top = top_losses(&probs, &labels, 2, 2);
    assert_eq!(top.iter().map(|t| t.index).collect::<Vec<_>>(), [1, 2]);
    assert!(
        (top[0].loss - (-(0.2f64).ln())).abs() < 1e-6,
        "{}",
        top[0].loss
    );
    assert_eq!((top[0].label, top[0].predicted), (0, 1));
    assert!((top[0].probability - 0.8).abs() < 1e-6);
    assert!((top[0].true_probability - 0.2).abs() < 1e-6);
    assert_eq!(top[1].predicted, 1);
    assert_eq!(top_losses(&probs, &labels, 2, 10).len(), 3);
}

/// `n` epochs of a plausible run, as `metrics.csv` holds them.
fn history(n: usize) -> Vec<EpochMetrics> {
    (1..=n)
        .flat_map(|e| {
            let t = e as f64;
            let lr = 1e-3 * (std::f64::consts::PI * t / n as f64).sin().max(0.05);
            let row = |split: &str, loss: f64, acc: f64| EpochMetrics {
                epoch: e,
                split: split.into(),
                loss,
                accuracy: acc,
                top5_accuracy: 100.0,
                lr,
                seconds: 1.5,
                score: f64::NAN,
            };
            [
                row("train", 2.0 / t, 100.0 - 60.0 / t),
                row("valid", 1.8 / t + 0.1, 100.0 - 50.0 / t),
            ]
        })
        .collect()
}

fn digits_subset(n: usize) -> ImageDataset {
    digits().unwrap().subset(&(0..n).collect::<Vec<_>>())
}

#[test]
fn write_report_writes_every_file_lists_them_and_round_trips_the_json() {
    let ds = digits_subset(120);
    let labels: Vec<usize> = ds.labels().into_iter().map(Option::unwrap).collect();
    // every 5th sample predicted as the next class, 3s always read as 8s
    let preds: Vec<usize> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if l == 3 {
                8
            } else if i % 5 == 0 {
                (l + 1) % 10
            } else {
                l
            }
        })
        .collect();
    // confidence varies, so the losses do
    let probs: Vec<f32> = preds
        .iter()
        .enumerate()
        .flat_map(|(i, &p)| {
            let top = 0.3 + 0.07 * (i % 10) as f32;
            (0..10).map(move |k| if k == p { top } else { (1.0 - top) / 9.0 })
        })
        .collect();
    let classes = ds.classes().to_vec();
    let epochs = history(12);
    let (dir, _keep) = out_dir("report10");
    let inputs = ReportInputs::new(&probs, &labels, &classes)
        .with_metric(Metric::MacroF1)
        .with_history(&epochs)
        .with_dataset(&ds)
        .with_title("digits");
    let files = write_report(&dir, &inputs).unwrap();
    assert_eq!(files.all().len(), 5);
    for f in files.all() {
        assert!(f.is_file(), "{}", f.display());
    }
    // confusion: 2 panels of 24 + 17 (names) + 600 (10 cells of 60) + 14 + 16 + 64, margins 16;
    // 56 (titles) + 600 + 17 (names) + 24 + 16
    assert!(non_white(&files.confusion_matrix, (1502, 713)) > 200_000);
    let cm = image::open(&files.confusion_matrix).unwrap().to_rgb8();
    // right panel: 7s are all right and 3s all read as 8s (recall 1: darkest blue), no 3 is
    // read as 3 (0: lightest); sampled at the cells' corners, away from the numbers
    let corner = |t: u32, p: u32| {
        cm.get_pixel(16 + 735 + 24 + 17 + p * 60 + 3, 56 + t * 60 + 3)
            .0
    };
    assert_eq!(corner(7, 7), [8, 48, 107]);
    assert_eq!(corner(3, 8), [8, 48, 107]);
    assert_eq!(corner(3, 3), [247, 251, 255]);
    assert!(non_white(files.training_curves.as_ref().unwrap(), (1500, 460)) > 20_000);
    // 16 tiles in 4 columns of 160 + 8, rows of 160 + 36 (captions) + 8, under the header
    let tiles = files.top_losses.as_ref().unwrap();
    let size = (4 * (TILE + 8) + 8, HEADER + 4 * (TILE + 36 + 8) + 8);
    assert!(non_white(tiles, size) > 16 * 64 * 64);
    // every file is listed in report.md, and report.json reads back
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    for f in files.all() {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            md.contains(&format!("]({name})")),
            "{name} not linked in report.md:\n{md}"
        );
    }
    assert!(md.contains("**macro_f1 = "), "{md}");
    assert!(
        md.contains("| 3 | 8 | "),
        "3 -> 8 is a most-confused pair:\n{md}"
    );
    let json = ReportJson::read(&files.json).unwrap();
    let expected =
        ClassificationReport::new(&probs, &labels, &classes).with_metric(Metric::MacroF1);
    assert_eq!(json.title, "digits");
    assert_eq!(json.num_samples, 120);
    assert_eq!(json.files.len(), 5);
    assert_eq!(json.classification.confusion, expected.confusion);
    assert_eq!(json.classification.most_confused, expected.most_confused);
    assert_eq!(json.classification.metric, Metric::MacroF1);
    for (a, b) in json
        .classification
        .per_class
        .iter()
        .zip(&expected.per_class)
    {
        assert_eq!((&a.name, a.support), (&b.name, b.support));
        for (x, y) in [
            (a.precision, b.precision),
            (a.recall, b.recall),
            (a.f1, b.f1),
        ] {
            assert!((x - y).abs() < 1e-15);
        }
    }
    assert_eq!(json.top_losses.len(), 16);
    assert_eq!(
        json.top_losses[0].item,
        ds.name(json.top_losses[0].item.parse().unwrap_or(0))
    );
    // without history or images only the confusion matrix is drawn; long names are cut in the
    // picture and a `|` in a name does not break report.md's tables
    let (bare, _keep2) = out_dir("report-bare");
    let long: Vec<String> = (0..10)
        .map(|k| {
            format!(
                "{} {k}",
                ["Acer|platanoides", "Quercus robur var. pedunculata"][k % 2]
            )
        })
        .collect();
    let files = write_report(&bare, &ReportInputs::new(&probs, &labels, &long)).unwrap();
    assert_eq!(files.all().len(), 3);
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains("| Acer\\|platanoides 0 | "), "{md}");
    assert!(ReportJson::read(&files.json).unwrap().top_losses.len() == 16);
    // a dataset that is not the rows' is refused
    let other = digits_subset(7);
    let bad = ReportInputs::new(&probs, &labels, &classes).with_dataset(&other);
    assert_eq!(config_key(write_report(&bare, &bad)), "dataset");
}

#[test]
fn a_confusion_matrix_of_100_classes_is_still_drawn() {
    let classes = names(100, "class_");
    let labels: Vec<usize> = (0..1000).map(|i| i % 100).collect();
    let preds: Vec<usize> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| if i % 3 == 0 { (l * 7) % 100 } else { l })
        .collect();
    let r = ClassificationReport::new(&probs_of(&preds, 100), &labels, &classes);
    let (dir, _keep) = out_dir("report100");
    let path = dir.join("confusion_100.png");
    plot_confusion_matrix(&r.confusion, &classes, &path).unwrap();
    // cells of 6 pixels; names of 8 characters at 9 pixels: ceil(8 * 0.61 * 9) + 8 = 52 wide
    let names_area = 52;
    let panel = 24 + names_area + 600 + 14 + 16 + 64;
    assert!(
        non_white(
            &path,
            (16 + 2 * panel + 16, 56 + 600 + names_area + 24 + 16)
        ) > 100_000
    );
    assert_eq!(
        config_key(plot_confusion_matrix(&r.confusion, &classes[..3], &path)),
        "confusion"
    );
}

#[test]
fn metrics_csv_reads_back_and_bad_rows_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.csv");
    let text = format!(
        "{METRICS_CSV_HEADER}\n1,train,0.712500,51.2500,100.0000,1.000000e-3,2.500\n\
         1,valid,0.650000,60.0000,100.0000,NaN,0.400\n"
    );
    std::fs::write(&path, &text).unwrap();
    let rows = read_metrics_csv(&path).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].epoch, rows[0].split.as_str()), (1, "train"));
    assert_eq!(
        (rows[0].loss, rows[0].accuracy, rows[0].lr),
        (0.7125, 51.25, 1e-3)
    );
    assert_eq!(rows[1].split, "valid");
    assert!(rows[1].lr.is_nan());
    // a single epoch still plots
    let png = dir.path().join("curves.png");
    plot_training_curves(&rows, &png).unwrap();
    assert!(non_white(&png, (1500, 460)) > 10_000);
    // a run that monitored a competition metric gets its panel (the `score` column)
    let mut scored = rows.clone();
    scored[1].score = 0.75;
    let png4 = dir.path().join("curves4.png");
    plot_training_curves(&scored, &png4).unwrap();
    assert!(non_white(&png4, (2000, 460)) > 12_000);

    let line_error = |content: &str| match read_metrics_csv({
        std::fs::write(&path, content).unwrap();
        &path
    }) {
        Err(PodiumError::Csv {
            path: p,
            line,
            reason,
        }) => {
            assert_eq!(p, path);
            (line, reason)
        }
        other => panic!("expected a CSV error, got {other:?}"),
    };
    let (line, reason) = line_error(&format!("{text}2,train,oops,1,1,1,1\n"));
    assert_eq!(line, 4);
    assert!(
        reason.contains("loss") && reason.contains("oops"),
        "{reason}"
    );
    assert_eq!(line_error(&format!("{text}2,test,1,1,1,1,1\n")).0, 4);
    assert_eq!(line_error(&format!("{text}2,train,1,1\n")).0, 4);
    assert_eq!(line_error(&format!("{text}x,train,1,1,1,1,1\n")).0, 4);
    assert_eq!(line_error("epoch,loss\n1,2\n").0, 1);
    assert_eq!(line_error("").0, 1);
    let err = line_error(&format!("{text}2,train,oops,1,1,1,1\n"));
    let msg = PodiumError::Csv {
        path: path.clone(),
        line: err.0,
        reason: err.1,
    }
    .to_string();
    assert!(msg.contains("metrics.csv:4"), "{msg}");
    assert!(matches!(
        read_metrics_csv(dir.path().join("none.csv")),
        Err(PodiumError::Io { .. })
    ));
    assert_eq!(config_key(plot_training_curves(&[], &png)), "history");
}
