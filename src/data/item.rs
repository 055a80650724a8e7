//! [`ImageItem`]: one decoded item of a dataset.

use crate::codec::Bitmap;

/// One decoded item: its 8-bit picture, its label and its position in the dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageItem {
    /// The decoded picture (shape `[channels, height, width]`, channels interleaved).
    pub image: Bitmap,
    /// Class index, `None` for unlabelled (test) images.
    pub label: Option<usize>,
    /// Index of the item in its dataset (so predictions map back to file names).
    pub index: usize,
}

impl ImageItem {
    /// `[channels, height, width]` of the picture.
    pub fn shape(&self) -> [usize; 3] {
        self.image.shape()
    }
}
