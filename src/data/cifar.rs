//! The CIFAR-10 and CIFAR-100 binary versions (`data_batch_1.bin` ..., `train.bin`, `test.bin`).
//!
//! Each record is the label byte(s) then 3,072 pixel bytes: the 1,024 red values of the 32x32
//! image row by row, then the green, then the blue. CIFAR-10 records have one label byte;
//! CIFAR-100 records have the coarse (20 superclasses) then the fine (100 classes) label byte.
//! Class names come from the `batches.meta.txt` / `fine_label_names.txt` /
//! `coarse_label_names.txt` file beside the first data file when present.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ImageDataset;
use crate::error::{PodiumError, Result};

const SIDE: usize = 32;
const PIXELS: usize = 3 * SIDE * SIDE;

/// CIFAR-10's class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Which CIFAR-100 label to train on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CifarLabel {
    /// The 100 fine classes (the usual benchmark).
    #[default]
    Fine,
    /// The 20 coarse superclasses.
    Coarse,
}

/// Reads CIFAR-10 binary batch files into one RGB 32x32 [`ImageDataset`].
///
/// # Errors
/// [`PodiumError::Io`] if a file cannot be read; [`PodiumError::Format`] (naming the file) if its
/// size is not a whole number of 3,073-byte records or a label byte is above 9.
pub fn read_cifar10<P: AsRef<Path>>(files: &[P]) -> Result<ImageDataset> {
    let names = class_names(files, "batches.meta.txt", 10)
        .unwrap_or_else(|| CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect());
    read_records(files, 1, 0, names)
}

/// Reads CIFAR-100 binary files (`train.bin`, `test.bin`) with the fine or coarse labels.
///
/// # Errors
/// As [`read_cifar10`], with 3,074-byte records and labels below 100 (fine) or 20 (coarse).
pub fn read_cifar100<P: AsRef<Path>>(files: &[P], label: CifarLabel) -> Result<ImageDataset> {
    let (meta, n, offset) = match label {
        CifarLabel::Fine => ("fine_label_names.txt", 100, 1),
        CifarLabel::Coarse => ("coarse_label_names.txt", 20, 0),
    };
    let names =
        class_names(files, meta, n).unwrap_or_else(|| (0..n).map(|c| c.to_string()).collect());
    read_records(files, 2, offset, names)
}

fn class_names<P: AsRef<Path>>(files: &[P], meta: &str, n: usize) -> Option<Vec<String>> {
    let dir = files.first()?.as_ref().parent()?;
    let text = std::fs::read_to_string(dir.join(meta)).ok()?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    (names.len() == n).then_some(names)
}

fn read_records<P: AsRef<Path>>(
    files: &[P],
    label_bytes: usize,
    label_offset: usize,
    classes: Vec<String>,
) -> Result<ImageDataset> {
    let record = label_bytes + PIXELS;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for file in files {
        let path = file.as_ref();
        let bytes = std::fs::read(path).map_err(|e| PodiumError::io(path, e))?;
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(PodiumError::format(
                path,
                format!(
                    "{} bytes is not a whole number of {record}-byte CIFAR records (truncated or \
                     not a CIFAR{} binary file)",
                    bytes.len(),
                    if label_bytes == 1 { "-10" } else { "-100" }
                ),
            ));
        }
        pixels.reserve(bytes.len() / record * PIXELS);
        for (r, rec) in bytes.chunks_exact(record).enumerate() {
            let label = rec[label_offset] as usize;
            if label >= classes.len() {
                return Err(PodiumError::format(
                    path,
                    format!(
                        "record {r} has label {label}, expected below {}",
                        classes.len()
                    ),
                ));
            }
            labels.push(Some(label));
            let planes = &rec[label_bytes..];
            for i in 0..SIDE * SIDE {
                pixels.extend_from_slice(&[
                    planes[i],
                    planes[SIDE * SIDE + i],
                    planes[2 * SIDE * SIDE + i],
                ]);
            }
        }
    }
    let origin = files
        .first()
        .map(|f| f.as_ref().to_path_buf())
        .unwrap_or_default();
    ImageDataset::from_memory(origin, pixels, [3, SIDE, SIDE], labels, classes)
}
