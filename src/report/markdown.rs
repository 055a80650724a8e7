//! `report.md`: the report's tables and pictures in Markdown.

use std::fmt::Write;

use super::{ReportJson, names};

/// A table cell: `|` escaped so a class name cannot break the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The Markdown of `report` with `top_confused` most-confused pairs.
pub(super) fn render(report: &ReportJson, top_confused: usize) -> String {
    let r = &report.classification;
    let mut md = String::new();
    // writing to a String cannot fail
    let _ = writeln!(md, "# Evaluation report: {}\n", report.title);
    let primary = r
        .metric_value(r.metric)
        .map_or("undefined".into(), |v| format!("{v:.4}"));
    let _ = writeln!(
        md,
        "{} samples, {} classes. Competition metric **{} = {primary}**.\n",
        report.num_samples,
        r.per_class.len(),
        r.metric
    );
    md.push_str("## Metrics\n\n| metric | value |\n|---|---:|\n");
    for m in &r.metrics {
        let value = m.value.map_or("undefined".into(), |v| format!("{v:.4}"));
        let name = if m.metric == r.metric {
            format!("**{}**", m.metric)
        } else {
            m.metric.to_string()
        };
        let _ = writeln!(md, "| {name} | {value} |");
    }
    md.push_str("\nAccuracy and balanced accuracy in percent. The per-class table is scikit-learn's `classification_report` (fractions).\n\n");
    md.push_str("## Per-class metrics\n\n| class | precision | recall | f1-score | support |\n|---|---:|---:|---:|---:|\n");
    for c in &r.per_class {
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} | {} |",
            cell(&c.name),
            c.precision,
            c.recall,
            c.f1,
            c.support
        );
    }
    let total = r.macro_avg.support;
    let _ = writeln!(md, "| **accuracy** | | | {:.4} | {total} |", r.accuracy);
    for (name, a) in [
        ("macro avg", &r.macro_avg),
        ("weighted avg", &r.weighted_avg),
    ] {
        let _ = writeln!(
            md,
            "| **{name}** | {:.4} | {:.4} | {:.4} | {} |",
            a.precision, a.recall, a.f1, a.support
        );
    }
    md.push_str("\n## Most confused pairs\n\n");
    let pairs = r.top_confused(top_confused);
    if pairs.is_empty() {
        md.push_str("None: every prediction is right.\n");
    } else {
        md.push_str("| true | predicted | count |\n|---|---|---:|\n");
        for p in pairs {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                cell(&p.actual),
                cell(&p.predicted),
                p.count
            );
        }
    }
    if !report.top_losses.is_empty() {
        md.push_str("\n## Highest losses\n\n| item | true | predicted | probability | loss |\n|---|---|---|---:|---:|\n");
        for l in &report.top_losses {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.4} | {:.4} |",
                cell(&l.item),
                cell(&l.actual),
                cell(&l.predicted),
                l.probability,
                l.loss
            );
        }
    }
    md.push_str("\n## Figures\n\n");
    for (file, caption) in [
        (
            names::CONFUSION,
            "Confusion matrix: counts, and normalized over the true class",
        ),
        (
            names::CURVES,
            "Training curves: loss, accuracy, learning rate",
        ),
        (
            names::TOP_LOSSES,
            "Highest-loss images: true / predicted, probability, loss",
        ),
    ] {
        if report.files.iter().any(|f| f == file) {
            let _ = writeln!(md, "### {caption}\n\n![{caption}]({file})\n");
        }
    }
    md.push_str("## Files\n\n");
    for f in &report.files {
        let _ = writeln!(md, "- [{f}]({f})");
    }
    md
}
