//! Out-of-fold prediction files, `id,fold,label,<one column per class>` (the layout
//! [`Learner::fit_folds`](crate::learner::Learner::fit_folds) writes), read and written whole.

use std::path::Path;

use crate::error::{PodiumError, Result};
use crate::learner::oof_probabilities;
use crate::util::write_atomic;

/// The rows of an out-of-fold CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct OofRows {
    /// Class names (the columns after `label`).
    pub classes: Vec<String>,
    /// Item ids.
    pub ids: Vec<String>,
    /// The fold each row was predicted in.
    pub folds: Vec<usize>,
    /// The true class index of each row.
    pub labels: Vec<usize>,
    /// Probabilities, one row per item.
    pub probs: Vec<Vec<f32>>,
}

impl OofRows {
    /// The rows whose fold is `fold`, with their positions in `self`.
    pub fn of_fold(&self, fold: usize) -> (Vec<usize>, Self) {
        let keep: Vec<usize> = (0..self.ids.len())
            .filter(|&i| self.folds[i] == fold)
            .collect();
        let rows = Self {
            classes: self.classes.clone(),
            ids: keep.iter().map(|&i| self.ids[i].clone()).collect(),
            folds: keep.iter().map(|&i| self.folds[i]).collect(),
            labels: keep.iter().map(|&i| self.labels[i]).collect(),
            probs: keep.iter().map(|&i| self.probs[i].clone()).collect(),
        };
        (keep, rows)
    }

    /// The probabilities flattened row by row (`[N, C]`).
    pub fn flat(&self) -> Vec<f32> {
        self.probs.iter().flatten().copied().collect()
    }

    /// Writes the rows (through a temporary file and a rename).
    ///
    /// # Errors
    /// [`PodiumError::Io`] or [`PodiumError::Format`] naming the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let format = |e: csv::Error| PodiumError::format(path, e.to_string());
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["id".to_string(), "fold".into(), "label".into()];
        header.extend(self.classes.iter().cloned());
        w.write_record(&header).map_err(format)?;
        for i in 0..self.ids.len() {
            let mut row = vec![
                self.ids[i].clone(),
                self.folds[i].to_string(),
                self.classes[self.labels[i]].clone(),
            ];
            row.extend(self.probs[i].iter().map(f32::to_string));
            w.write_record(&row).map_err(format)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| PodiumError::format(path, e.to_string()))?;
        write_atomic(path, &bytes)
    }

    /// Reads an out-of-fold CSV.
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming a missing file; [`PodiumError::Format`] naming the file and
    /// line for another header, an unknown label, a bad fold or probability.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| PodiumError::io(path, e))?;
        let bad = |line: usize, reason: String| {
            PodiumError::format(path, format!("line {line}: {reason}"))
        };
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        if header.len() < 4 || header.iter().take(3).ne(["id", "fold", "label"]) {
            return Err(bad(
                1,
                format!("header {header:?} is not id,fold,label,<classes>"),
            ));
        }
        let classes: Vec<String> = header.iter().skip(3).map(String::from).collect();
        let mut rows = Self {
            classes,
            ids: Vec::new(),
            folds: Vec::new(),
            labels: Vec::new(),
            probs: Vec::new(),
        };
        for (j, record) in reader.records().enumerate() {
            let line = j + 2;
            let r = record.map_err(|e| bad(line, e.to_string()))?;
            rows.ids.push(r[0].to_string());
            rows.folds.push(
                r[1].parse()
                    .map_err(|_| bad(line, format!("fold {:?}", &r[1])))?,
            );
            let label = rows
                .classes
                .iter()
                .position(|c| *c == r[2])
                .ok_or_else(|| bad(line, format!("label {:?} is not a class column", &r[2])))?;
            rows.labels.push(label);
            let p = oof_probabilities(&r).map_err(|reason| bad(line, reason))?;
            rows.probs.push(p);
        }
        if rows.ids.is_empty() {
            return Err(bad(2, "no rows".into()));
        }
        Ok(rows)
    }
}
