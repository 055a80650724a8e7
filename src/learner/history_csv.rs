//! Reading a run's `metrics.csv` back into [`EpochMetrics`] rows.

use std::path::Path;

use std::collections::BTreeMap;

use super::history::{
    EpochMetrics, METRICS_CSV_HEADER, METRICS_CSV_HEADER_V1, METRICS_CSV_HEADER_V2,
};
use crate::error::{PodiumError, Result};

/// Reads `metrics.csv` (the [`METRICS_CSV_HEADER`] columns
/// `epoch,split,loss,accuracy,top5_accuracy,lr,seconds,score,skipped_steps`, as the
/// [`Learner`](crate::learner::Learner) writes it; older files without `skipped_steps`, and
/// those of podium 0.2.0 without `score`, read too) into one [`EpochMetrics`] per row, in file
/// order (`skipped_steps` is not an [`EpochMetrics`] field). `NaN` values (a metric a split did not
/// log) are kept as `NaN`; an empty `score` is `NaN`.
///
/// # Errors
/// [`PodiumError::Io`] naming the file when it cannot be read; [`PodiumError::Csv`] naming the
/// file and the 1-based line for a wrong header, a row with another number of fields, an epoch
/// that is not a whole number, a split other than `train`/`valid`, or a value that is not a
/// number.
pub fn read_metrics_csv(path: impl AsRef<Path>) -> Result<Vec<EpochMetrics>> {
    read_metrics_table(path.as_ref()).map(|(rows, _)| rows)
}

/// [`read_metrics_csv`] with the `skipped_steps` column: the skipped optimizer updates by epoch
/// (from the training rows; absent from older files, read as 0).
pub(crate) fn read_metrics_table(
    path: &Path,
) -> Result<(Vec<EpochMetrics>, BTreeMap<usize, usize>)> {
    let text = std::fs::read_to_string(path).map_err(|e| PodiumError::io(path, e))?;
    let bad = |line: usize, reason: String| PodiumError::Csv {
        path: path.to_path_buf(),
        line: line as u64,
        reason,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    match lines.next() {
        Some((_, header))
            if [
                METRICS_CSV_HEADER,
                METRICS_CSV_HEADER_V2,
                METRICS_CSV_HEADER_V1,
            ]
            .contains(&header.trim_start_matches('\u{feff}')) => {}
        Some((line, header)) => {
            return Err(bad(
                line,
                format!("header {header:?}, expected {METRICS_CSV_HEADER:?}"),
            ));
        }
        None => {
            return Err(bad(
                1,
                format!("empty file, expected {METRICS_CSV_HEADER:?}"),
            ));
        }
    }
    let mut rows = Vec::new();
    let mut skipped = BTreeMap::new();
    for (line, row) in lines {
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if !(7..=9).contains(&fields.len()) {
            return Err(bad(
                line,
                format!("{} fields, expected 9 ({METRICS_CSV_HEADER})", fields.len()),
            ));
        }
        let epoch = fields[0]
            .parse::<usize>()
            .map_err(|_| bad(line, format!("epoch {:?} is not a whole number", fields[0])))?;
        let split = fields[1];
        if split != "train" && split != "valid" {
            return Err(bad(
                line,
                format!("split {split:?}, expected train or valid"),
            ));
        }
        let names = ["loss", "accuracy", "top5_accuracy", "lr", "seconds"];
        let mut values = [0f64; 5];
        for (k, name) in names.iter().enumerate() {
            let field = fields[k + 2];
            values[k] = field
                .parse::<f64>()
                .map_err(|_| bad(line, format!("{name} {field:?} is not a number")))?;
        }
        let [loss, accuracy, top5_accuracy, lr, seconds] = values;
        let score = match fields.get(7) {
            None | Some(&"") => f64::NAN,
            Some(field) => field
                .parse::<f64>()
                .map_err(|_| bad(line, format!("score {field:?} is not a number")))?,
        };
        match fields.get(8) {
            None | Some(&"") => {}
            Some(field) => {
                let n = field.parse::<usize>().map_err(|_| {
                    bad(
                        line,
                        format!("skipped_steps {field:?} is not a whole number"),
                    )
                })?;
                if n > 0 {
                    skipped.insert(epoch, n);
                }
            }
        }
        rows.push(EpochMetrics {
            epoch,
            split: split.to_string(),
            loss,
            accuracy,
            top5_accuracy,
            lr,
            seconds,
            score,
        });
    }
    Ok((rows, skipped))
}
