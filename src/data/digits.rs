//! The handwritten digits set, embedded in the crate so examples and tests run with no download.
//!
//! 1,797 grayscale 8x8 images of the digits 0-9 from the UCI "Optical Recognition of Handwritten
//! Digits" data set (E. Alpaydin, C. Kaynak; CC BY 4.0), as scikit-learn's `load_digits` ships
//! it, with pixel values scaled from 0..16 to 0..255. Stored in IDX format (see
//! [`crate::data::read_idx`]).

use std::path::Path;

use super::ImageDataset;
use super::idx::{idx_dataset, parse_idx};
use crate::error::Result;

/// The embedded IDX image file (`[1797, 8, 8]`).
pub const DIGITS_IMAGES_IDX: &[u8] = include_bytes!("../../data/digits/digits-images-idx3-ubyte");
/// The embedded IDX label file (`[1797]`).
pub const DIGITS_LABELS_IDX: &[u8] = include_bytes!("../../data/digits/digits-labels-idx1-ubyte");

/// The digits set as a grayscale 8x8 [`ImageDataset`] with classes `"0"` to `"9"`.
///
/// It has no official test split; use [`ImageDataset::split_stratified`] (the quickstart uses a
/// seeded stratified 80/20 split).
///
/// # Errors
/// Never for the embedded bytes; the `Result` is that of the IDX parser.
pub fn digits() -> Result<ImageDataset> {
    let images = parse_idx(DIGITS_IMAGES_IDX, Path::new("<embedded digits images>"))?;
    let labels = parse_idx(DIGITS_LABELS_IDX, Path::new("<embedded digits labels>"))?;
    idx_dataset(
        images,
        Path::new("<embedded digits>"),
        labels,
        Path::new("<embedded digits labels>"),
    )
}
