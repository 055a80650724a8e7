//! The IDX format of MNIST, Fashion-MNIST, EMNIST and KMNIST, plain or gzipped.
//!
//! Layout (big-endian): two zero bytes, a type byte (`0x08` for unsigned bytes, the only type
//! image sets use), a byte giving the number of dimensions `d`, `d` 32-bit sizes, then the data.
//! Images are `idx3` (`[N, H, W]`), labels `idx1` (`[N]`).

use std::io::Read;
use std::path::Path;

use super::ImageDataset;
use crate::error::{PodiumError, Result};

/// The content of one IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of each dimension (`[N, H, W]` for images, `[N]` for labels).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file, gunzipping it first when it starts with the gzip magic bytes.
///
/// # Errors
/// [`PodiumError::Io`] if it cannot be read, [`PodiumError::Format`] (naming the file) for a
/// wrong magic number, an unsupported element type, a truncated body or trailing bytes.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| PodiumError::io(path, e))?;
    parse_idx(&bytes, path)
}

/// Parses IDX bytes (gzipped or not); `origin` names the source in errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(bytes: &[u8], origin: &Path) -> Result<IdxArray> {
    let inflated;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| PodiumError::format(origin, format!("corrupt gzip stream: {e}")))?;
        inflated = out;
        &inflated[..]
    } else {
        bytes
    };
    if bytes.len() < 4 {
        return Err(PodiumError::format(
            origin,
            format!("truncated IDX header: {} bytes", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        return Err(PodiumError::format(
            origin,
            format!("wrong IDX magic number 0x{magic:08X}: expected 0x000008XX"),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(PodiumError::format(
            origin,
            format!(
                "IDX element type 0x{:02X} is not supported: podium reads unsigned bytes (0x08)",
                bytes[2]
            ),
        ));
    }
    let ndims = bytes[3] as usize;
    if ndims == 0 {
        return Err(PodiumError::format(origin, "IDX file with zero dimensions"));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(PodiumError::format(
            origin,
            format!(
                "truncated IDX header: {} bytes, {header} needed for {ndims} dimensions",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|d| {
            let o = 4 + 4 * d;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| PodiumError::format(origin, format!("IDX dimensions {dims:?} overflow")))?;
    let body = &bytes[header..];
    if body.len() < count {
        return Err(PodiumError::format(
            origin,
            format!(
                "truncated IDX data: dimensions {dims:?} need {count} bytes, the file has {}",
                body.len()
            ),
        ));
    }
    if body.len() > count {
        return Err(PodiumError::format(
            origin,
            format!(
                "{} trailing bytes after IDX data of dimensions {dims:?}",
                body.len() - count
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: body.to_vec(),
    })
}

/// Reads an IDX image file (`[N, H, W]`) and its IDX label file (`[N]`) into a grayscale
/// [`ImageDataset`] whose classes are `"0"` to the largest label.
///
/// # Errors
/// Those of [`read_idx`], and [`PodiumError::Format`] if the images are not 3-dimensional, the
/// labels not 1-dimensional, or their counts differ.
pub fn read_idx_dataset(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<ImageDataset> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    idx_dataset(read_idx(images)?, images, read_idx(labels)?, labels)
}

/// Builds a dataset from parsed IDX image and label arrays (`*_origin` name them in errors).
pub(crate) fn idx_dataset(
    images: IdxArray,
    images_origin: &Path,
    labels: IdxArray,
    labels_origin: &Path,
) -> Result<ImageDataset> {
    let [n, h, w] = images.dims[..] else {
        return Err(PodiumError::format(
            images_origin,
            format!(
                "IDX images must have 3 dimensions [N, H, W], found {:?}",
                images.dims
            ),
        ));
    };
    if labels.dims.len() != 1 {
        return Err(PodiumError::format(
            labels_origin,
            format!(
                "IDX labels must have 1 dimension [N], found {:?}",
                labels.dims
            ),
        ));
    }
    if labels.dims[0] != n {
        return Err(PodiumError::format(
            labels_origin,
            format!(
                "{} labels for {n} images in {}",
                labels.dims[0],
                images_origin.display()
            ),
        ));
    }
    let num_classes = labels
        .data
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    let classes = (0..num_classes).map(|c| c.to_string()).collect();
    let labels = labels.data.iter().map(|&l| Some(l as usize)).collect();
    ImageDataset::from_memory(images_origin, images.data, [1, h, w], labels, classes)
}
