//! What [`ImageLoader`](super::ImageLoader) does with an item whose file no longer reads or
//! decodes mid-epoch (deleted, truncated or rewritten after
//! [`ImageDataset::verify`](crate::data::ImageDataset::verify)), under its
//! [`CorruptPolicy`].
//!
//! | [`CorruptPolicy`] | the loader | torch / timm |
//! |---|---|---|
//! | `Fail` (the default) | the epoch ends with the error naming the file | `DataLoader` re-raises the worker's `OSError` / `UnidentifiedImageError` |
//! | `Skip` | the item is dropped from its batch, logged and counted ([`SkippedImage`]) | a `collate_fn` that filters out the `None` a guarded `__getitem__` returns |
//!
//! Dropping keeps every other item where the epoch's order put it and never trains on an item
//! twice; timm's `ImageDataset.__getitem__` instead logs the failure and returns the *next*
//! item (up to 50 in a row), so its batches keep their size but the next image is seen twice.
//! A batch that loses items is smaller; one that loses all of them is not sent (no empty
//! batch), and an epoch that loses every item ends with a [`PodiumError::Dataset`] error
//! instead of an empty epoch. With batch mixing (timm's `Mixup` needs an even batch), a batch
//! left odd by a skip also leaves out its last good item for that epoch (logged, not counted).
//! Only unreadable and undecodable files ([`PodiumError::Io`], [`PodiumError::Decode`]) are
//! skipped; a panic or any other error still ends the epoch.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::data::{CorruptPolicy, ImageDataset};
use crate::error::{PodiumError, Result};

/// An item [`ImageLoader`](super::ImageLoader) left out of its batch under
/// [`CorruptPolicy::Skip`] because its file no longer read or decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedImage {
    /// The epoch (from 0, as [`ImageLoader::set_epoch`](super::ImageLoader::set_epoch) counts).
    pub epoch: u64,
    /// The item's index in the loader's dataset.
    pub index: usize,
    /// The file that failed.
    pub path: PathBuf,
    /// The error, naming the file.
    pub reason: String,
}

/// The skipped items of every epoch of a loader and its clones.
#[derive(Clone, Debug, Default)]
pub(super) struct SkipLog(Arc<Mutex<Vec<SkippedImage>>>);

impl SkipLog {
    pub(super) fn all(&self) -> Vec<SkippedImage> {
        self.0.lock().expect("skip log lock").clone()
    }

    pub(super) fn count(&self) -> usize {
        self.0.lock().expect("skip log lock").len()
    }

    fn record(&self, skipped: SkippedImage) {
        log::warn!(
            "skipping item {} in epoch {} (CorruptPolicy::Skip): {}",
            skipped.index,
            skipped.epoch,
            skipped.reason
        );
        self.0.lock().expect("skip log lock").push(skipped);
    }
}

/// What [`keep_readable`] needs besides the results.
pub(super) struct SkipContext<'a> {
    pub(super) dataset: &'a ImageDataset,
    pub(super) policy: CorruptPolicy,
    pub(super) epoch: u64,
    /// Whether the batch must stay even (batch mixing).
    pub(super) even: bool,
    pub(super) log: &'a SkipLog,
}

/// The items of one batch (`indices`, in order, with their decoding `results`) that go into
/// it: all of them, or under `Fail` the first error in batch order; under `Skip` the items
/// whose file fails to read or decode are dropped and recorded (see the module docs). Returns
/// the kept items with their indices.
///
/// # Errors
/// The first failing item's error under `Fail`; under `Skip` the first error that is not an
/// unreadable or undecodable file.
pub(super) fn keep_readable<T>(
    results: Vec<Result<T>>,
    indices: &[usize],
    cx: &SkipContext<'_>,
) -> Result<(Vec<T>, Vec<usize>)> {
    let mut items = Vec::with_capacity(results.len());
    let mut kept = Vec::with_capacity(results.len());
    let mut skipped = false;
    for (result, &i) in results.into_iter().zip(indices) {
        match result {
            Ok(item) => {
                items.push(item);
                kept.push(i);
            }
            Err(e) => {
                let path = match &e {
                    PodiumError::Io { path, .. } | PodiumError::Decode { path, .. }
                        if cx.policy == CorruptPolicy::Skip =>
                    {
                        path.clone()
                    }
                    _ => return Err(e),
                };
                cx.log.record(SkippedImage {
                    epoch: cx.epoch,
                    index: i,
                    path,
                    reason: e.to_string(),
                });
                skipped = true;
            }
        }
    }
    if skipped && cx.even && items.len() % 2 == 1 {
        items.pop();
        if let Some(i) = kept.pop() {
            log::warn!(
                "leaving item {i} ({}) out of its batch in epoch {}: batch mixing needs an even \
                 batch after a skipped image",
                cx.dataset.name(i),
                cx.epoch
            );
        }
    }
    Ok((items, kept))
}
