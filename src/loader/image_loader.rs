//! [`ImageLoader`]: a burn [`DataLoader`] with a reproducible batch order and parallel decoding.
//!
//! burn's multi-threaded loader hands batches out in the order its worker threads finish them,
//! so a run's batch order depends on thread timing. `ImageLoader` instead fixes the order from
//! `(seed, epoch)`, decodes the items of each batch in parallel on rayon's threads, and prepares
//! the next batches on a background thread while the model trains on the current one. The
//! same seed gives the same batches, whatever the number of threads.
//!
//! Failures end the epoch with one error item, never a hang or a short epoch: a file that no
//! longer reads or decodes (deleted or truncated after [`ImageDataset::verify`]) is the
//! [`PodiumError::Io`]/[`PodiumError::Decode`] naming it (under [`CorruptPolicy::Skip`],
//! [`ImageLoader::corrupt_images`], the item is dropped from its batch, logged and counted
//! instead: [`ImageLoader::skipped`], [`SkippedImage`]), and a panic while an item is decoded
//! or augmented (on a rayon worker) or while a batch is stacked is caught and sent as a
//! [`PodiumError::Training`] naming the item (or the batch's items), wrapped in burn's
//! [`DatasetError`]; the loader thread then stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::skip::{SkipContext, SkipLog, SkippedImage, keep_readable};
use super::{ClassificationBatch, ClassificationBatcher};
use crate::augment::{Image, Pipeline};
use crate::data::{CorruptPolicy, ImageDataset, ImageItem};
use crate::error::{PodiumError, Result};
use crate::mix::MixupConfig;
use crate::sample::Sampler;
use crate::util::derive_seed;

/// What [`ImageLoader::mixing`] needs to build each batch's mixer.
#[derive(Clone)]
struct Mixing {
    config: MixupConfig,
    num_classes: usize,
    label_smoothing: f64,
    seed: u64,
}

#[derive(Clone)]
struct Inner {
    dataset: ImageDataset,
    batcher: ClassificationBatcher,
    batch_size: usize,
    shuffle: Option<u64>,
    drop_last: bool,
    prefetch: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
    mix: Option<Mixing>,
    sampler: Option<Arc<dyn Sampler>>,
    augment: Option<(Arc<Pipeline>, u64)>,
    corrupt: CorruptPolicy,
}

/// Reproducible, parallel data loader of [`ClassificationBatch`]es (see the module docs).
///
/// Each call to [`DataLoader::iter`] is one epoch: with shuffling on, epoch `e` visits the items
/// in a permutation drawn from `derive_seed(seed, [e])`.
#[derive(Clone)]
pub struct ImageLoader {
    inner: Arc<Inner>,
    device: Device,
    epoch: Arc<AtomicU64>,
    skipped: SkipLog,
}

impl std::fmt::Debug for ImageLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageLoader")
            .field("items", &self.inner.dataset.len())
            .field("batch_size", &self.inner.batch_size)
            .field("shuffle", &self.inner.shuffle)
            .field("drop_last", &self.inner.drop_last)
            .finish()
    }
}

impl ImageLoader {
    /// A loader over `dataset` in its own order (no shuffling), keeping the last partial batch,
    /// on the default device, decoding on rayon's global thread pool.
    ///
    /// # Errors
    /// [`PodiumError::Config`] if `batch_size` is 0.
    pub fn new(
        dataset: ImageDataset,
        batcher: ClassificationBatcher,
        batch_size: usize,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(PodiumError::config("batch_size", 0, "must be at least 1"));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                dataset,
                batcher,
                batch_size,
                shuffle: None,
                drop_last: false,
                prefetch: 2,
                pool: None,
                mix: None,
                sampler: None,
                augment: None,
                corrupt: CorruptPolicy::Fail,
            }),
            device: crate::device::default_device(),
            epoch: Arc::new(AtomicU64::new(0)),
            skipped: SkipLog::default(),
        })
    }

    fn map_inner(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Shuffles each epoch with a permutation derived from `(seed, epoch)`.
    pub fn shuffle(self, seed: u64) -> Self {
        self.map_inner(|i| i.shuffle = Some(seed))
    }

    /// Drops the last batch of an epoch when it is smaller than the batch size (useful with
    /// BatchNorm and with batch mixing, which needs even batches).
    pub fn drop_last(self, drop_last: bool) -> Self {
        self.map_inner(|i| i.drop_last = drop_last)
    }

    /// Decodes on a dedicated pool of `num_workers` threads instead of rayon's global pool
    /// (0 keeps the global pool).
    ///
    /// # Errors
    /// [`PodiumError::Config`] if the thread pool cannot be created.
    pub fn num_workers(self, num_workers: usize) -> Result<Self> {
        let pool = if num_workers == 0 {
            None
        } else {
            Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(num_workers)
                    .thread_name(|i| format!("podium-loader-{i}"))
                    .build()
                    .map_err(|e| PodiumError::config("num_workers", num_workers, e.to_string()))?,
            ))
        };
        Ok(self.map_inner(|i| i.pool = pool))
    }

    /// Number of batches prepared ahead of the one in use (default 2; 0 prepares each batch
    /// only when it is asked for).
    pub fn prefetch(self, batches: usize) -> Self {
        self.map_inner(|i| i.prefetch = batches)
    }

    /// Mixes every batch with timm's `Mixup` ([`crate::mix`]) over the dataset's classes, with
    /// `label_smoothing` folded into the soft targets: batch `k` of epoch `e` draws from
    /// `derive_seed(seed, [e, k])`, so mixing is reproducible and independent of threads.
    /// Batches carry the soft targets, partner labels and lam in [`ClassificationBatch::mix`].
    ///
    /// # Errors
    /// The mixer's config errors ([`MixupConfig::init`], keys prefixed `mixup.`). An odd batch at
    /// run time is an error item (use an even batch size and [`Self::drop_last`]).
    pub fn mixing(self, config: MixupConfig, label_smoothing: f64, seed: u64) -> Result<Self> {
        let num_classes = self.inner.dataset.num_classes();
        config
            .init(num_classes, label_smoothing, seed)
            .map_err(|e| e.in_section("mixup"))?;
        if self
            .inner
            .augment
            .as_ref()
            .is_some_and(|(p, _)| p.views() > 1)
        {
            return Err(PodiumError::config(
                "mixup",
                "on",
                "batch mixing cannot be combined with AugMix splits",
            ));
        }
        Ok(self.map_inner(|i| {
            i.mix = Some(Mixing {
                config,
                num_classes,
                label_smoothing,
                seed,
            })
        }))
    }

    /// Augments every item with `pipeline` after decoding: item `i` of epoch `e` draws its
    /// randomness from `derive_seed(seed, [e, i])` (`i` its index in the dataset), so the
    /// augmented batches are the same whatever the number of threads. Images the pipeline
    /// normalizes ([`Pipeline::normalization`]) are batched as they are; give the batcher of
    /// the validation and test loaders that normalization. With AugMix splits
    /// ([`crate::augment::SplitsConfig`]) each batch holds `views * B` images, view-major (all
    /// clean images, then every first augmented view, ...), and `B` targets, the layout
    /// [`crate::loss::JsdCrossEntropy`] takes.
    ///
    /// # Errors
    /// [`PodiumError::Config`] when the pipeline cannot take the dataset's images (for example a
    /// crop larger than the images, checked when the dataset has a fixed size), or when splits
    /// are combined with [`Self::mixing`].
    pub fn augment(self, pipeline: Pipeline, seed: u64) -> Result<Self> {
        if let Some(shape) = self.inner.dataset.item_shape() {
            pipeline.output_shape(shape)?;
        }
        if pipeline.views() > 1 && self.inner.mix.is_some() {
            return Err(PodiumError::config(
                "augment.splits",
                pipeline.views(),
                "AugMix splits cannot be combined with batch mixing",
            ));
        }
        Ok(self.map_inner(|i| i.augment = Some((Arc::new(pipeline), seed))))
    }

    /// Draws each epoch's items from `sampler` (class-aware, weighted, sharded ...) instead of
    /// the dataset order or [`Self::shuffle`]; the sampler's indices refer to this loader's
    /// dataset.
    pub fn sampler(self, sampler: Arc<dyn Sampler>) -> Self {
        self.map_inner(|i| i.sampler = Some(sampler))
    }

    /// What to do with an item whose file no longer reads or decodes mid-epoch (deleted or
    /// truncated after [`ImageDataset::verify`]): [`CorruptPolicy::Fail`] (the default) ends the
    /// epoch with the error naming the file; [`CorruptPolicy::Skip`] drops the item from its
    /// batch, logs a warning naming the file and records it ([`Self::skipped`]); a batch that
    /// loses every item is not sent. See [`SkippedImage`] for the torch / timm mapping.
    pub fn corrupt_images(self, policy: CorruptPolicy) -> Self {
        self.map_inner(|i| i.corrupt = policy)
    }

    /// The items skipped so far under [`CorruptPolicy::Skip`], over every epoch of this loader
    /// and its clones, in the order they were met.
    pub fn skipped(&self) -> Vec<SkippedImage> {
        self.skipped.all()
    }

    /// How many items were skipped so far ([`Self::skipped`]`.len()`); an item missing in two
    /// epochs counts twice.
    pub fn skipped_images(&self) -> usize {
        self.skipped.count()
    }

    /// Puts the batches on `device`.
    pub fn with_device(mut self, device: &Device) -> Self {
        self.device = device.clone();
        self
    }

    /// Sets the epoch the next [`DataLoader::iter`] call runs (epochs count from 0).
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    /// The dataset this loader reads.
    pub fn dataset(&self) -> &ImageDataset {
        &self.inner.dataset
    }

    /// Number of batches one epoch yields.
    pub fn num_batches(&self) -> usize {
        let (n, b) = (self.epoch_len(), self.inner.batch_size);
        if self.inner.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// Number of items one epoch visits (the sampler's length, or the dataset's).
    pub fn epoch_len(&self) -> usize {
        match &self.inner.sampler {
            Some(s) => s.len(),
            None => self.inner.dataset.len(),
        }
    }

    /// The item order of epoch `epoch`.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        if let Some(sampler) = &self.inner.sampler {
            return sampler.indices(epoch);
        }
        let mut order: Vec<usize> = (0..self.inner.dataset.len()).collect();
        if let Some(seed) = self.inner.shuffle {
            order.shuffle(&mut StdRng::seed_from_u64(derive_seed(seed, &[epoch])));
        }
        order
    }
}

fn mix_batch(
    mixing: &Mixing,
    [epoch, batch_index]: [u64; 2],
    labels: &[usize],
    mut batch: ClassificationBatch,
) -> Result<ClassificationBatch> {
    let mut mixer = mixing.config.init(
        mixing.num_classes,
        mixing.label_smoothing,
        derive_seed(mixing.seed, &[epoch, batch_index]),
    )?;
    let (images, targets) = mixer.mix(batch.images, labels)?;
    batch.images = images;
    batch.mix = Some(targets);
    Ok(batch)
}

/// The text of a caught panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// `work` for item `i` of `dataset`, a panic in it turned into a [`PodiumError::Training`]
/// naming the item (its file for file datasets), so that one decoding worker's panic reaches
/// the training loop as an error instead of ending the loader thread.
fn guarded<T>(dataset: &ImageDataset, i: usize, work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let item = match dataset.path(i) {
            Some(path) => path.display().to_string(),
            None => format!("{} of {}", dataset.name(i), dataset.origin().display()),
        };
        Err(PodiumError::Training(format!(
            "decoding item {i} ({item}) panicked: {}",
            panic_message(payload.as_ref())
        )))
    })
}

/// Decodes the items of one batch in parallel, keeping those [`keep_readable`] keeps.
fn decode_all(
    inner: &Inner,
    indices: &[usize],
    cx: &SkipContext<'_>,
) -> Result<(Vec<ImageItem>, Vec<usize>)> {
    let run = || {
        indices
            .par_iter()
            .map(|&i| guarded(&inner.dataset, i, || inner.dataset.decode(i)))
            .collect::<Vec<_>>()
    };
    let results = match &inner.pool {
        Some(pool) => pool.install(run),
        None => run(),
    };
    keep_readable(results, indices, cx)
}

/// Each item's views and its label, and the indices of the items kept.
type AugmentedItems = (Vec<Vec<Image>>, Vec<Option<usize>>, Vec<usize>);

/// Decodes and augments the items of one batch in parallel: one list of views per item kept
/// ([`keep_readable`]).
fn decode_augment(
    inner: &Inner,
    indices: &[usize],
    (pipeline, seed): &(Arc<Pipeline>, u64),
    cx: &SkipContext<'_>,
) -> Result<AugmentedItems> {
    let epoch = cx.epoch;
    let run = || {
        indices
            .par_iter()
            .map(|&i| {
                guarded(&inner.dataset, i, || {
                    if let Some(path) = inner.dataset.plain_file(i) {
                        let bytes = std::fs::read(path).map_err(|e| PodiumError::io(path, e))?;
                        let views = pipeline.apply_encoded(&bytes, path, *seed, epoch, i as u64)?;
                        return Ok((views, inner.dataset.label(i)));
                    }
                    let item = inner.dataset.decode(i)?;
                    let views = pipeline.apply_interleaved(&item.image, *seed, epoch, i as u64);
                    Ok((views, item.label))
                })
            })
            .collect::<Vec<_>>()
    };
    let results = match &inner.pool {
        Some(pool) => pool.install(run),
        None => run(),
    };
    let (out, kept) = keep_readable(results, indices, cx)?;
    let (views, labels) = out.into_iter().unzip();
    Ok((views, labels, kept))
}

/// Batch `k` of `epoch` from the items `chunk`; `None` when every item was skipped
/// ([`CorruptPolicy::Skip`]).
fn make_batch(
    inner: &Inner,
    chunk: &[usize],
    [epoch, k]: [u64; 2],
    device: &Device,
    log: &SkipLog,
) -> Result<Option<ClassificationBatch>> {
    let cx = SkipContext {
        dataset: &inner.dataset,
        policy: inner.corrupt,
        epoch,
        even: inner.mix.is_some(),
        log,
    };
    let (batch, labels) = match &inner.augment {
        Some(aug) => {
            let (views, labels, kept) = decode_augment(inner, chunk, aug, &cx)?;
            if kept.is_empty() {
                return Ok(None);
            }
            let labels: Vec<usize> = labels.iter().map(|l| l.unwrap_or(0)).collect();
            let batch = inner.batcher.batch_views(&views, &labels, kept, device);
            (batch, labels)
        }
        None => {
            let (items, _) = decode_all(inner, chunk, &cx)?;
            if items.is_empty() {
                return Ok(None);
            }
            let labels: Vec<usize> = items.iter().map(|it| it.label.unwrap_or(0)).collect();
            (inner.batcher.batch(items, device), labels)
        }
    };
    match &inner.mix {
        Some(mixing) => mix_batch(mixing, [epoch, k], &labels, batch).map(Some),
        None => Ok(Some(batch)),
    }
}

/// The error for a panic while batch `k` of `epoch` was built (stacking, mixing): it names
/// the batch's first items, and the panic's message names the item at fault.
fn batch_panic(
    inner: &Inner,
    chunk: &[usize],
    k: usize,
    epoch: u64,
    payload: Box<dyn std::any::Any + Send>,
) -> PodiumError {
    let names: Vec<String> = chunk
        .iter()
        .take(4)
        .map(|&i| inner.dataset.name(i))
        .collect();
    let more = chunk.len().saturating_sub(4);
    PodiumError::Training(format!(
        "building batch {k} of epoch {epoch} (items {}{}) panicked: {}",
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        panic_message(payload.as_ref())
    ))
}

type Message = std::result::Result<(ClassificationBatch, usize), DatasetError>;

struct LoaderIterator {
    receiver: Receiver<Message>,
    processed: usize,
    total: usize,
}

impl Iterator for LoaderIterator {
    type Item = std::result::Result<ClassificationBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.receiver.recv().ok()? {
            Ok((batch, n)) => {
                self.processed += n;
                Some(Ok(batch))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

impl DataLoaderIterator<ClassificationBatch> for LoaderIterator {
    fn progress(&self) -> Progress {
        Progress::new(self.processed, self.total, Some("items".to_string()))
    }
}

impl ImageLoader {
    /// [`DataLoader::iter`] as an owned iterator (the next epoch's batches), for a loader that
    /// outlives the borrow: the multi-device split of the Learner.
    pub(crate) fn epoch_iter(&self) -> Box<dyn DataLoaderIterator<ClassificationBatch> + Send> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        let order = self.order(epoch);
        let inner = self.inner.clone();
        let device = self.device.clone();
        let log = self.skipped.clone();
        let bs = inner.batch_size;
        let chunks: Vec<Vec<usize>> = order
            .chunks(bs)
            .filter(|c| !inner.drop_last || c.len() == bs)
            .map(<[usize]>::to_vec)
            .collect();
        let total: usize = chunks.iter().map(Vec::len).sum();
        let (sender, receiver) = sync_channel::<Message>(inner.prefetch);
        std::thread::Builder::new()
            .name("podium-loader".into())
            .spawn(move || {
                let mut sent = 0;
                for (k, chunk) in chunks.into_iter().enumerate() {
                    let n = chunk.len();
                    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        make_batch(&inner, &chunk, [epoch, k as u64], &device, &log)
                    }))
                    .unwrap_or_else(|payload| Err(batch_panic(&inner, &chunk, k, epoch, payload)));
                    let message = match made {
                        // every item of the batch was skipped: no empty batch
                        Ok(None) => continue,
                        Ok(Some(batch)) => Ok((batch, n)),
                        Err(e) => Err(DatasetError::new(e)),
                    };
                    let failed = message.is_err();
                    if sender.send(message).is_err() || failed {
                        return;
                    }
                    sent += 1;
                }
                if sent == 0 && total > 0 {
                    let none_left = PodiumError::Dataset {
                        path: inner.dataset.origin().to_path_buf(),
                        reason: format!(
                            "every one of the {total} items of epoch {epoch} was skipped as \
                             unreadable (CorruptPolicy::Skip); see the warnings for the files"
                        ),
                    };
                    let _ = sender.send(Err(DatasetError::new(none_left)));
                }
            })
            .expect("spawn the podium loader thread");
        Box::new(LoaderIterator {
            receiver,
            processed: 0,
            total,
        })
    }
}

impl DataLoader<ClassificationBatch> for ImageLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ClassificationBatch> + 'a> {
        self.epoch_iter()
    }

    fn num_items(&self) -> usize {
        self.epoch_len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ClassificationBatch>> {
        Arc::new(self.clone().with_device(device))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ClassificationBatch>> {
        let indices: Vec<usize> = (start..end.min(self.inner.dataset.len())).collect();
        let sliced = self.inner.dataset.subset(&indices);
        Arc::new(
            self.clone()
                .map_inner(|i| {
                    i.dataset = sliced;
                    i.sampler = None;
                })
                .with_epoch_counter(Arc::new(AtomicU64::new(self.epoch.load(Ordering::SeqCst)))),
        )
    }
}

impl ImageLoader {
    fn with_epoch_counter(mut self, epoch: Arc<AtomicU64>) -> Self {
        self.epoch = epoch;
        self
    }
}
