//! Competition output files: the probabilities CSV and a submission shaped like the
//! competition's sample submission.
//!
//! | podium | practice it follows |
//! |---|---|
//! | [`write_probabilities_csv`] | `pd.DataFrame(probs, index=ids, columns=classes).to_csv()` |
//! | [`write_submission_like`], label column | `sample["label"] = classes[probs.argmax(1)]; sample.to_csv(index=False)` |
//! | [`write_submission_like`], class columns | `sample[classes] = probs; sample.to_csv(index=False)` |

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::Predictions;
use crate::error::{PodiumError, Result};
use crate::util::write_atomic_text;

/// How many ids an error lists.
const SHOWN: usize = 5;

fn csv_io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Writes `predictions` as a CSV: a header `id,<class 0>,<class 1>,..` and one row per item,
/// its name as it is (with extension) and its probabilities (shortest round-trip decimals of
/// the `f32` values). Fields are quoted only where CSV needs it. The file is written to a
/// temporary file, then renamed.
///
/// # Errors
/// [`PodiumError::Io`] naming the file.
pub fn write_probabilities_csv(path: impl AsRef<Path>, predictions: &Predictions) -> Result<()> {
    write_atomic_text(path.as_ref(), |f| {
        let mut w = csv::Writer::from_writer(f);
        let mut header = vec!["id"];
        header.extend(predictions.classes.iter().map(String::as_str));
        w.write_record(&header).map_err(csv_io)?;
        for (name, row) in predictions.names.iter().zip(&predictions.probabilities) {
            let mut record = vec![name.clone()];
            record.extend(row.iter().map(f32::to_string));
            w.write_record(&record).map_err(csv_io)?;
        }
        w.flush()
    })
}

fn listed(ids: &[&str], total: usize) -> String {
    let shown: Vec<String> = ids.iter().take(SHOWN).map(|s| format!("`{s}`")).collect();
    if total > SHOWN {
        format!("{} (and {} more)", shown.join(", "), total - SHOWN)
    } else {
        shown.join(", ")
    }
}

/// `name` without its extension (the file stem), or `name` itself when it has none.
pub(crate) fn stem(name: &str) -> &str {
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name)
}

/// Finds prediction rows from sample ids, with or without extensions.
struct IdIndex<'a> {
    exact: HashMap<&'a str, usize>,
    stems: HashMap<&'a str, Vec<usize>>,
}

impl<'a> IdIndex<'a> {
    fn new(names: &'a [String]) -> Self {
        let mut exact = HashMap::new();
        let mut stems: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            exact.entry(n.as_str()).or_insert(i);
            stems.entry(stem(n)).or_default().push(i);
        }
        Self { exact, stems }
    }

    /// The row of `id`: the prediction named `id`, else the one whose name without extension
    /// is `id`, else the one named `id` without its extension. `Err` lists an ambiguous match.
    fn find(&self, id: &str) -> std::result::Result<Option<usize>, Vec<usize>> {
        if let Some(&i) = self.exact.get(id) {
            return Ok(Some(i));
        }
        match self.stems.get(id).map(Vec::as_slice) {
            Some([i]) => return Ok(Some(*i)),
            Some(many) if many.len() > 1 => return Err(many.to_vec()),
            _ => {}
        }
        Ok(self.exact.get(stem(id)).copied())
    }
}

/// Writes a submission shaped exactly like a sample submission CSV: the sample's header line
/// (byte for byte, BOM included), its ids in its row order, its line ending (`\r\n` when the
/// header line ends so, else `\n`); the other columns are filled from `predictions`:
///
/// * when the columns after the id are the class names (in any order): each item's
///   probability of that class;
/// * otherwise, when the sample has two columns (`id,label`): the name of the item's most
///   probable class ([`Predictions::top1`]).
///
/// A sample id matches the prediction with that name; failing that, the one whose name
/// without extension is the id (`img_001` matches `img_001.jpg`); failing that, the one named
/// like the id without its extension. The file is written to a temporary file, then renamed.
///
/// # Errors
/// [`PodiumError::Io`] naming the sample or the output file; [`PodiumError::Format`] naming
/// the sample file when it is not a CSV with a header and rows, its columns fit neither
/// layout, an id appears twice, sample ids have no prediction or predictions have no sample
/// id (listing the first few ids), or an id matches several predictions;
/// [`PodiumError::Config`] with key `predictions` when its probability rows do not match its
/// names and classes.
pub fn write_submission_like(
    path: impl AsRef<Path>,
    predictions: &Predictions,
    sample_submission_csv: impl AsRef<Path>,
) -> Result<()> {
    let sample = sample_submission_csv.as_ref();
    let c = predictions.classes.len();
    if predictions.probabilities.len() != predictions.names.len()
        || predictions.probabilities.iter().any(|r| r.len() != c)
    {
        return Err(PodiumError::config(
            "predictions",
            format!("{} names, {c} classes", predictions.names.len()),
            "probability rows do not match the names and classes",
        ));
    }
    let bad = |reason: String| PodiumError::format(sample, reason);
    let text = std::fs::read_to_string(sample).map_err(|e| PodiumError::io(sample, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad(format!("not a CSV: {e}")))?
        .clone();
    let header_end = reader.position().byte() as usize;
    let header_raw = text[..header_end.min(text.len())].trim_end_matches(['\r', '\n']);
    let newline = if text[header_raw.len()..].starts_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let columns: Vec<&str> = headers.iter().skip(1).collect();
    if headers.len() < 2 {
        return Err(bad(format!(
            "{} column(s); a submission needs an id column and a label or class columns",
            headers.len()
        )));
    }
    // The column of each class, when the columns after the id are the class names.
    let class_of_column: Option<Vec<usize>> = {
        let index: HashMap<&str, usize> = predictions
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let found: Option<Vec<usize>> = columns.iter().map(|c| index.get(c).copied()).collect();
        found.filter(|f| {
            f.len() == predictions.classes.len()
                && f.iter().collect::<HashSet<_>>().len() == f.len()
        })
    };
    if class_of_column.is_none() && columns.len() != 1 {
        return Err(bad(format!(
            "the columns after the id, {columns:?}, are neither one label column nor the \
             classes {:?}",
            predictions.classes
        )));
    }
    let ids: Vec<String> = reader
        .records()
        .map(|r| {
            r.map(|r| r.get(0).unwrap_or_default().to_string())
                .map_err(|e| bad(format!("bad row: {e}")))
        })
        .collect::<Result<_>>()?;
    let index = IdIndex::new(&predictions.names);
    let (mut rows, mut missing, mut used) = (
        Vec::with_capacity(ids.len()),
        Vec::new(),
        vec![false; predictions.names.len()],
    );
    let mut seen = HashSet::new();
    for id in &ids {
        if !seen.insert(id.as_str()) {
            return Err(bad(format!("id `{id}` appears twice")));
        }
        match index.find(id) {
            Ok(Some(i)) => {
                used[i] = true;
                rows.push(i);
            }
            Ok(None) => missing.push(id.as_str()),
            Err(many) => {
                let names: Vec<&str> = many
                    .iter()
                    .map(|&i| predictions.names[i].as_str())
                    .collect();
                return Err(bad(format!(
                    "id `{id}` matches several predictions: {}",
                    listed(&names, names.len())
                )));
            }
        }
    }
    if !missing.is_empty() {
        return Err(bad(format!(
            "{} sample id(s) have no prediction: {}",
            missing.len(),
            listed(&missing, missing.len())
        )));
    }
    let extra: Vec<&str> = used
        .iter()
        .zip(&predictions.names)
        .filter(|(u, _)| !**u)
        .map(|(_, n)| n.as_str())
        .collect();
    if !extra.is_empty() {
        return Err(bad(format!(
            "{} prediction(s) have no id in the sample: {}",
            extra.len(),
            listed(&extra, extra.len())
        )));
    }
    let top1 = predictions.top1();
    write_atomic_text(path.as_ref(), |f| {
        write!(f, "{header_raw}{newline}")?;
        let mut w = csv::WriterBuilder::new()
            .terminator(if newline == "\r\n" {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(f);
        for (id, &i) in ids.iter().zip(&rows) {
            let mut record = vec![id.clone()];
            match &class_of_column {
                Some(classes) => record.extend(
                    classes
                        .iter()
                        .map(|&k| predictions.probabilities[i][k].to_string()),
                ),
                None => record.push(
                    predictions
                        .classes
                        .get(top1[i])
                        .cloned()
                        .unwrap_or_else(|| top1[i].to_string()),
                ),
            }
            w.write_record(&record).map_err(csv_io)?;
        }
        w.flush()
    })
}
