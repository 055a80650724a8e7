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

/// The largest IDX body podium reads, in bytes (4 GiB): a header whose dimensions multiply past
/// it is refused with a [`PodiumError::Format`] naming the file and the dimensions, before any
/// of the body is inflated or allocated, so that a corrupt header or a gzip bomb cannot exhaust
/// memory. The largest public IDX file (EMNIST ByClass training images, 697,932 images of 28x28)
/// holds 547 MB.
pub const MAX_IDX_DATA_BYTES: u64 = 1 << 32;

/// Parses IDX bytes (gzipped or not); `origin` names the source in errors. A gzip stream is
/// inflated only as far as its header says the data goes (and one byte more, to report trailing
/// bytes), so a stream that inflates past it is not held in memory.
///
/// # Errors
/// As [`read_idx`], and [`PodiumError::Format`] for dimensions whose product is over
/// [`MAX_IDX_DATA_BYTES`].
pub fn parse_idx(bytes: &[u8], origin: &Path) -> Result<IdxArray> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let inflated = inflate_idx(bytes, origin)?;
        return parse_plain(&inflated, origin);
    }
    parse_plain(bytes, origin)
}

/// Inflates a gzipped IDX file: the 4-byte magic, the dimensions, then at most the data they
/// announce plus one byte.
fn inflate_idx(bytes: &[u8], origin: &Path) -> Result<Vec<u8>> {
    let corrupt =
        |e: std::io::Error| PodiumError::format(origin, format!("corrupt gzip stream: {e}"));
    let mut gz = flate2::read::GzDecoder::new(bytes);
    let mut out = Vec::new();
    gz.by_ref().take(4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 || out[..3] != [0, 0, 0x08] || out[3] == 0 {
        // not a (supported) IDX header: the plain parser names the fault
        return Ok(out);
    }
    let header = 4 + 4 * out[3] as u64;
    gz.by_ref()
        .take(header - 4)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if (out.len() as u64) < header {
        return Ok(out);
    }
    let dims = dims(&out);
    let count = data_bytes(&dims, origin)?;
    gz.take(count + 1).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() as u64 > header + count {
        return Err(PodiumError::format(
            origin,
            format!(
                "the gzip stream inflates past the {count} bytes of IDX data that its dimensions \
                 {dims:?} announce (trailing bytes)"
            ),
        ));
    }
    Ok(out)
}

/// The dimensions of a complete header.
fn dims(bytes: &[u8]) -> Vec<usize> {
    (0..bytes[3] as usize)
        .map(|d| {
            let o = 4 + 4 * d;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect()
}

/// The product of the dimensions, checked against [`MAX_IDX_DATA_BYTES`].
fn data_bytes(dims: &[usize], origin: &Path) -> Result<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&count| count <= MAX_IDX_DATA_BYTES)
        .ok_or_else(|| {
            PodiumError::format(
                origin,
                format!(
                    "IDX dimensions {dims:?} need more than the {MAX_IDX_DATA_BYTES} bytes \
                     podium reads (MAX_IDX_DATA_BYTES)"
                ),
            )
        })
}

fn parse_plain(bytes: &[u8], origin: &Path) -> Result<IdxArray> {
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
    let dims = dims(bytes);
    let count = data_bytes(&dims, origin)? as usize;
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
