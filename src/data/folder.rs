//! Image files on disk: class folders (torchvision's `ImageFolder` layout), a CSV label file of
//! `filename,label` rows (the layout competitions ship), a CSV with named columns and an
//! optional group column ([`CsvColumns`]), and an unlabelled test folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use burn::config::Config;

use super::ImageDataset;
use crate::error::{PodiumError, Result};

/// The named columns of a label CSV with a header row ([`ImageDataset::from_csv_columns`]):
/// `id,label` by default, as Kaggle ships `train.csv`, with an optional group column for group
/// folds (scikit-learn's `GroupKFold` `groups`). Other columns are ignored; names match the
/// header exactly (after trimming spaces).
#[derive(Config, Debug, PartialEq)]
pub struct CsvColumns {
    /// The column with each image's file name or id (the extension may be omitted). Default `id`.
    #[config(default = "String::from(\"id\")")]
    pub id: String,
    /// The column with each image's class (a name or an index). Default `label`.
    #[config(default = "String::from(\"label\")")]
    pub label: String,
    /// The column with each image's group (a patient, a video, ...): images of one group stay in
    /// one fold ([`ImageDataset::groups`]). `None` reads no group.
    pub group: Option<String>,
}

impl CsvColumns {
    /// Checks the names.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming `id`, `label` or `group` for an empty name or one used for
    /// two columns.
    pub fn validate(&self) -> Result<()> {
        let named = [
            ("id", Some(&self.id)),
            ("label", Some(&self.label)),
            ("group", self.group.as_ref()),
        ];
        for (i, (key, name)) in named.iter().enumerate() {
            let Some(name) = name else { continue };
            if name.trim().is_empty() {
                return Err(PodiumError::config(*key, "\"\"", "must name a column"));
            }
            if let Some((other, _)) = named[..i].iter().find(|(_, n)| *n == Some(*name)) {
                return Err(PodiumError::config(
                    *key,
                    format!("{name:?}"),
                    format!("is also the {other} column"),
                ));
            }
        }
        Ok(())
    }
}

/// File extensions (lower case) that podium decodes.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];

/// Header words recognised in the first row of a label CSV (case-insensitive).
const HEADER_FILE_WORDS: [&str; 8] = [
    "filename",
    "file",
    "image",
    "image_id",
    "id",
    "path",
    "name",
    "file_name",
];
const HEADER_LABEL_WORDS: [&str; 6] = ["label", "labels", "class", "target", "category", "y"];

fn is_image(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A name starting with `.` (`.DS_Store`, macOS's `._photo.jpg` resource forks, `.ipynb_checkpoints`),
/// whether or not the rest of the name is UTF-8.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| PodiumError::io(dir, e))? {
        let entry = entry.map_err(|e| PodiumError::io(dir, e))?;
        let path = entry.path();
        if !is_hidden(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| is_image(p))
        .collect())
}

impl ImageDataset {
    /// Reads a folder with one sub-folder per class (`root/cat/001.jpg`, `root/dog/002.png`),
    /// as torchvision's `ImageFolder`: classes are the sub-folder names sorted, files within a
    /// class are sorted by name, hidden entries and non-image files are ignored.
    ///
    /// Images are decoded as RGB at their own size; set a target size with
    /// [`ImageDataset::with_decode`].
    ///
    /// # Errors
    /// [`PodiumError::Io`] if `root` cannot be read; [`PodiumError::Dataset`] if it has no class
    /// folder, or a class folder holds no image (naming that folder).
    pub fn from_folder(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        let class_dirs: Vec<PathBuf> = sorted_entries(root)?
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        if class_dirs.is_empty() {
            return Err(PodiumError::Dataset {
                path: root.to_path_buf(),
                reason: "no class sub-folders (expected root/<class>/<image>)".into(),
            });
        }
        let mut classes = Vec::new();
        let mut paths = Vec::new();
        let mut labels = Vec::new();
        for (label, dir) in class_dirs.iter().enumerate() {
            let files = image_files(dir)?;
            if files.is_empty() {
                return Err(PodiumError::Dataset {
                    path: dir.clone(),
                    reason: format!(
                        "class folder has no image files ({})",
                        IMAGE_EXTENSIONS.join(", ")
                    ),
                });
            }
            classes.push(
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            labels.extend(std::iter::repeat_n(Some(label), files.len()));
            paths.extend(files);
        }
        Self::from_files(root, paths, labels, classes)
    }

    /// Reads an unlabelled folder of images (a competition's test set), sorted by file name.
    /// [`ImageDataset::name`] gives each file's name for the submission file.
    ///
    /// # Errors
    /// [`PodiumError::Io`] if `dir` cannot be read; [`PodiumError::Dataset`] if it holds no image.
    pub fn from_unlabelled_folder(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let files = image_files(dir)?;
        if files.is_empty() {
            return Err(PodiumError::Dataset {
                path: dir.to_path_buf(),
                reason: format!("no image files ({})", IMAGE_EXTENSIONS.join(", ")),
            });
        }
        let labels = vec![None; files.len()];
        Self::from_files(dir, files, labels, Vec::new())
    }

    /// Reads a CSV label file of `filename,label` rows whose images are in `image_dir`.
    ///
    /// - The first row is taken as a header when its fields are header words (`filename`,
    ///   `image_id`, `id` ... / `label`, `class`, `target` ...).
    /// - A file name may omit its extension (`abc123` finds `abc123.jpg`, `.png` ...), as
    ///   competitions often list ids.
    /// - With `classes` given, each label must be one of those names or an index below their
    ///   count. Without, classes are inferred: `"0"` to the largest label when every label is a
    ///   non-negative integer (the label is then the class index; `3.0`, as pandas writes an
    ///   integer column that held a missing value, is `3`), else the distinct names sorted.
    /// - A UTF-8 byte-order mark, `\r\n` line ends and quoted fields (`"a,b.jpg"`) are read as
    ///   Python's `csv` module reads them.
    ///
    /// # Errors
    /// [`PodiumError::Io`] if the CSV cannot be read, and [`PodiumError::Csv`] naming the file and
    /// line for a malformed row (not exactly two non-empty fields), a row whose image file does
    /// not exist, an image listed twice, a label not among `classes`, or (classes inferred) a
    /// label column of numbers with a fractional one (a regression target);
    /// [`PodiumError::Dataset`] if no row remains.
    pub fn from_csv(
        csv_path: impl AsRef<Path>,
        image_dir: impl AsRef<Path>,
        classes: Option<Vec<String>>,
    ) -> Result<Self> {
        let (csv_path, image_dir) = (csv_path.as_ref(), image_dir.as_ref());
        let csv_err = |line: u64, reason: String| csv_error(csv_path, line, reason);
        let (_, records) = csv_records(csv_path, false)?;
        let mut rows: Vec<(u64, PathBuf, String)> = Vec::new();
        for (i, (line, record)) in records.into_iter().enumerate() {
            if record.len() != 2 {
                return Err(csv_err(
                    line,
                    format!(
                        "malformed row: {} fields ({:?}), expected `filename,label`",
                        record.len(),
                        record.iter().collect::<Vec<_>>()
                    ),
                ));
            }
            let (name, label) = (&record[0], &record[1]);
            if i == 0
                && HEADER_FILE_WORDS.contains(&name.to_ascii_lowercase().as_str())
                && HEADER_LABEL_WORDS.contains(&label.to_ascii_lowercase().as_str())
            {
                continue;
            }
            if name.is_empty() || label.is_empty() {
                return Err(csv_err(
                    line,
                    format!("malformed row: empty field in `{name},{label}`"),
                ));
            }
            let path = find_image(image_dir, name, line, &csv_err)?;
            rows.push((line, path, label.to_string()));
        }
        labelled(csv_path, rows, classes)
    }

    /// Reads a CSV label file with a header row, taking the id, label and (optional) group
    /// columns by name ([`CsvColumns`]; other columns are ignored), whose images are in
    /// `image_dir`. File names and labels are read as [`Self::from_csv`] reads them; with a
    /// group column each image gets its group ([`Self::groups`], for
    /// [`Learner::cv_folds`](crate::learner::Learner::cv_folds)'s group folds).
    ///
    /// # Errors
    /// [`PodiumError::Config`] as [`CsvColumns::validate`]; [`PodiumError::Io`] if the CSV cannot
    /// be read; [`PodiumError::Csv`] naming the file and line: a header without one of the
    /// columns (line 1, naming the column and the header), a row without that many fields, an
    /// empty id, label or group (naming the column), a missing image file, an image listed
    /// twice, a label not among `classes` or a fractional number label (classes inferred);
    /// [`PodiumError::Dataset`] if no row remains.
    pub fn from_csv_columns(
        csv_path: impl AsRef<Path>,
        image_dir: impl AsRef<Path>,
        classes: Option<Vec<String>>,
        columns: &CsvColumns,
    ) -> Result<Self> {
        columns.validate()?;
        let (csv_path, image_dir) = (csv_path.as_ref(), image_dir.as_ref());
        let csv_err = |line: u64, reason: String| csv_error(csv_path, line, reason);
        let (header, records) = csv_records(csv_path, true)?;
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| csv_err(1, format!("no column `{name}` in the header {header:?}")))
        };
        let id_at = find(&columns.id)?;
        let label_at = find(&columns.label)?;
        let group_at = columns.group.as_deref().map(find).transpose()?;
        let width = 1 + id_at.max(label_at).max(group_at.unwrap_or(0));
        let mut rows: Vec<(u64, PathBuf, String)> = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        for (line, record) in records {
            if record.len() < width {
                return Err(csv_err(
                    line,
                    format!(
                        "malformed row: {} fields ({:?}), the header has {}",
                        record.len(),
                        record.iter().collect::<Vec<_>>(),
                        header.len()
                    ),
                ));
            }
            let cell = |at: usize, name: &str| {
                let value = &record[at];
                if value.is_empty() {
                    Err(csv_err(line, format!("empty `{name}` (column {})", at + 1)))
                } else {
                    Ok(value.to_string())
                }
            };
            let name = cell(id_at, &columns.id)?;
            let label = cell(label_at, &columns.label)?;
            if let (Some(at), Some(column)) = (group_at, &columns.group) {
                groups.push(cell(at, column)?);
            }
            let path = find_image(image_dir, &name, line, &csv_err)?;
            rows.push((line, path, label));
        }
        let dataset = labelled(csv_path, rows, classes)?;
        if group_at.is_some() {
            dataset.with_groups(&groups)
        } else {
            Ok(dataset)
        }
    }
}

/// The CSV error of `line` of `csv_path`.
fn csv_error(csv_path: &Path, line: u64, reason: String) -> PodiumError {
    PodiumError::Csv {
        path: csv_path.to_path_buf(),
        line,
        reason,
    }
}

/// A CSV row and its line number in the file.
type CsvRow = (u64, csv::StringRecord);

/// The header (when `has_headers`; empty otherwise) and every non-blank row of `csv_path` with
/// its line number, read as Python's `csv` module reads them: a UTF-8 byte-order mark, `\r\n`
/// line ends and quoted fields; rows may differ in length; fields are trimmed.
fn csv_records(csv_path: &Path, has_headers: bool) -> Result<(Vec<String>, Vec<CsvRow>)> {
    let file = std::fs::File::open(csv_path).map_err(|e| PodiumError::io(csv_path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(has_headers)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = if has_headers {
        reader
            .headers()
            .map_err(|e| csv_error(csv_path, 1, format!("unreadable header: {e}")))?
            .iter()
            .map(String::from)
            .collect()
    } else {
        Vec::new()
    };
    let first_line = 1 + u64::from(has_headers);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_error(csv_path, line, format!("unreadable row: {e}"))
        })?;
        let line = record
            .position()
            .map_or(i as u64 + first_line, |p| p.line());
        if record.len() == 1 && record[0].is_empty() {
            continue; // blank line
        }
        rows.push((line, record));
    }
    Ok((header, rows))
}

/// The image file `name` in `dir` (with or without its extension), or the CSV error of `line`.
fn find_image(
    dir: &Path,
    name: &str,
    line: u64,
    csv_err: &dyn Fn(u64, String) -> PodiumError,
) -> Result<PathBuf> {
    resolve_image(dir, name).ok_or_else(|| {
        csv_err(
            line,
            format!(
                "image file `{name}` not found in {} (also tried the extensions {})",
                dir.display(),
                IMAGE_EXTENSIONS.join(", ")
            ),
        )
    })
}

/// The dataset of `(line, image, label)` rows read from `csv_path`: classes as given, else
/// inferred from the labels ([`ImageDataset::from_csv`]'s rule).
fn labelled(
    csv_path: &Path,
    rows: Vec<(u64, PathBuf, String)>,
    classes: Option<Vec<String>>,
) -> Result<ImageDataset> {
    if rows.is_empty() {
        return Err(PodiumError::Dataset {
            path: csv_path.to_path_buf(),
            reason: "the label file has no rows".into(),
        });
    }
    let classes = match classes {
        Some(c) => c,
        None => infer_classes_checked(csv_path, &rows)?,
    };
    let mut paths = Vec::with_capacity(rows.len());
    let mut labels = Vec::with_capacity(rows.len());
    let mut first_line: std::collections::HashMap<&Path, u64> = std::collections::HashMap::new();
    for (line, path, _) in &rows {
        if let Some(first) = first_line.insert(path.as_path(), *line) {
            return Err(PodiumError::Csv {
                path: csv_path.to_path_buf(),
                line: *line,
                reason: format!(
                    "image {} is listed again (first on line {first}); each image takes one row",
                    path.display()
                ),
            });
        }
    }
    drop(first_line);
    for (line, path, label) in rows {
        let index = classes
            .iter()
            .position(|c| *c == label)
            .or_else(|| class_number(&label).filter(|&i| i < classes.len()))
            .ok_or_else(|| PodiumError::Csv {
                path: csv_path.to_path_buf(),
                line,
                reason: format!("unknown label `{label}`: classes are {}", preview(&classes)),
            })?;
        paths.push(path);
        labels.push(Some(index));
    }
    ImageDataset::from_files(csv_path, paths, labels, classes)
}

fn preview(classes: &[String]) -> String {
    if classes.len() <= 12 {
        format!("{classes:?}")
    } else {
        format!("{:?} ... ({} in all)", &classes[..12], classes.len())
    }
}

/// The class index a label written as a number stands for: `3`, or `3.0` as pandas writes an
/// integer column that held a missing value; `None` for anything else.
fn class_number(label: &str) -> Option<usize> {
    label.parse::<usize>().ok().or_else(|| {
        let x = label.parse::<f64>().ok()?;
        (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 1e9).then_some(x as usize)
    })
}

/// The classes of `rows` when none are given: `"0"` to the largest when every label is a class
/// number ([`class_number`]), else the distinct names sorted.
///
/// # Errors
/// [`PodiumError::Csv`] naming the line of the first fractional label when every label is a
/// number and one is not whole (`0.5`): a regression target, not a class.
fn infer_classes_checked(csv_path: &Path, rows: &[(u64, PathBuf, String)]) -> Result<Vec<String>> {
    let numbers: Option<Vec<f64>> = rows.iter().map(|r| r.2.parse::<f64>().ok()).collect();
    if numbers.is_some()
        && let Some((line, _, label)) = rows.iter().find(|r| class_number(&r.2).is_none())
    {
        return Err(PodiumError::Csv {
            path: csv_path.to_path_buf(),
            line: *line,
            reason: format!(
                "label `{label}` is a number that is not a class index (a whole number >= 0);                  podium classifies, and a fractional label column is a regression target"
            ),
        });
    }
    Ok(infer_classes(rows.iter().map(|r| r.2.as_str())))
}

fn infer_classes<'a>(labels: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let numeric: Option<Vec<usize>> = labels.clone().map(class_number).collect();
    match numeric {
        Some(n) => {
            let max = n.into_iter().max().unwrap_or(0);
            (0..=max).map(|c| c.to_string()).collect()
        }
        None => labels
            .map(String::from)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

fn resolve_image(dir: &Path, name: &str) -> Option<PathBuf> {
    let direct = dir.join(name);
    if direct.is_file() {
        return Some(direct);
    }
    IMAGE_EXTENSIONS
        .iter()
        .flat_map(|e| [e.to_string(), e.to_ascii_uppercase()])
        .map(|e| dir.join(format!("{name}.{e}")))
        .find(|p| p.is_file())
}
