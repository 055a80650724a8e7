//! Data: readers for image folders, CSV label files, IDX (MNIST) and CIFAR binaries; decoding;
//! splits and k-folds (scikit-learn's assignment); long-tailed subsets; a burn [`Batcher`](burn::data::dataloader::batcher::Batcher); and a reproducible
//! parallel [`ImageLoader`].
//!
//! Every reader returns an [`ImageDataset`], whose items decode to 8-bit [`ImageItem`]s; a
//! [`ClassificationBatcher`] turns them into normalized `[B, C, H, W]` tensors.

mod batcher;
mod cifar;
mod dataset;
mod digits;
mod folder;
mod folds;
mod idx;
mod image;
mod loader;
mod long_tail;
mod split;

pub use batcher::{ClassificationBatch, ClassificationBatcher, Normalize};
pub use cifar::{CIFAR10_CLASSES, CifarLabel, read_cifar10, read_cifar100};
pub use dataset::{CorruptPolicy, ImageDataset};
pub use digits::{DIGITS_IMAGES_IDX, DIGITS_LABELS_IDX, digits};
pub use folder::IMAGE_EXTENSIONS;
pub use folds::{Folds, OofStore, group_kfold, kfold, stratified_kfold};
pub use idx::{IdxArray, parse_idx, read_idx, read_idx_dataset};
pub use image::{
    ColorMode, DecodeOptions, ImageItem, TopRows, decode_bytes, decode_file, decode_top_rows,
    resize_bilinear,
};
pub use loader::ImageLoader;
pub use long_tail::{ImbalanceProfile, long_tailed_counts};
pub use split::{random_split_indices, stratified_split_indices};
