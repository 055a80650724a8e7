//! Data-parallel training on several devices ([`LearnerConfig::devices`]): burn-train's
//! execution strategies with podium's batch semantics.
//!
//! | podium | burn-train | PyTorch |
//! |---|---|---|
//! | `devices = ["cuda:0", "cuda:1"]` (`cuda` feature) | `ExecutionStrategy::ddp` (NCCL all-reduce, sum) | `DistributedDataParallel` |
//! | `devices = ["flex", "flex"]`, other lists | `ExecutionStrategy::MultiDevice(.., OptimMainDevice)` | `DataParallel` |
//! | `batch_size` | the batch the loader yields | the global batch (`per_device_batch * world_size`) |
//! | BatchNorm statistics per device | per worker | DDP without `SyncBatchNorm` |
//!
//! **Batches.** `batch_size` is the *global* batch: the loader draws the batches of the
//! single-device run (same order, sampler, mixing and augmentation draws) and each batch is cut
//! into one contiguous piece per device, `rows / devices` each (the first `rows % devices`
//! pieces one row more, as `torch.tensor_split`). burn-train sums the devices' gradients, so each
//! device's loss is scaled by `rows_i / rows` before the backward pass: the update is the mean
//! gradient over the whole batch, the single-device update up to float summation order (for the
//! per-sample mean losses; class-weighted cross-entropy's `sum(w l) / sum(w)` is normalized per
//! piece, as under torch DDP; the top-k loss, which keeps a batch's k hardest samples, is
//! refused). The reported loss is not scaled: each piece counts by its rows in the epoch's mean,
//! which is the single-device mean when every batch is full (`drop_last`, the default; with a
//! smaller last batch, one device counts it as a whole batch, several by its rows). A non-finite
//! loss names the batch as its step (under DDP, where each device draws on its own, the step
//! may be one off). timm and Lightning count `batch_size` per device instead (each DDP process has its own
//! loader); podium has one loader, and a global `batch_size` keeps a recipe's optimization (its
//! learning rate, schedule, updates per epoch) the same on one device or several.
//!
//! burn-train's own split (`split_dataloader`) would give each device a contiguous slice of the
//! dataset with its own batches and no sampler; [`ShardedLoader`] replaces it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use burn::train::{ExecutionStrategy, MultiDeviceOptim};

use super::config::LearnerConfig;
use crate::data::CorruptPolicy;
use crate::device::device_from_name;
use crate::error::{PodiumError, Result};
use crate::loader::{ClassificationBatch, ImageLoader};
use crate::loss::LossConfig;
use crate::mix::MixTargets;

/// Parses [`LearnerConfig::devices`] with [`device_from_name`].
///
/// # Errors
/// [`PodiumError::Config`] naming `devices[i]` and the value for a name `device_from_name`
/// rejects.
pub(crate) fn parse_devices(names: &[String]) -> Result<Vec<Device>> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| device_from_name(name).map_err(|e| e.map_key(|_| format!("devices[{i}]"))))
        .collect()
}

/// The checks of [`LearnerConfig::devices`] that need no data: every name parses, and with two
/// or more devices nothing that would train differently from one device is set.
pub(crate) fn validate(cfg: &LearnerConfig) -> Result<()> {
    parse_devices(&cfg.devices)?;
    let n = cfg.devices.len();
    if n < 2 {
        return Ok(());
    }
    if cfg.sam.is_some() {
        return Err(PodiumError::config(
            "sam",
            "(set)",
            format!(
                "SAM does not combine with several devices ({n}): its perturbation needs the \
                 gradient of the whole batch, and burn-train's device workers cannot exchange it \
                 before the second pass; train SAM on one device"
            ),
        ));
    }
    if let LossConfig::TopK { k } = cfg.loss {
        return Err(PodiumError::config(
            "loss",
            format!("TopK {{ k: {k} }}"),
            format!(
                "the top-k loss keeps the k hardest samples of a batch, and with several \
                 devices ({n}) each would keep k of its own piece; train it on one device"
            ),
        ));
    }
    if cfg.batch_size < n {
        return Err(PodiumError::config(
            "batch_size",
            cfg.batch_size,
            format!(
                "is the global batch, cut into one piece per device: at least the number of \
                 devices ({n})"
            ),
        ));
    }
    if uses_ddp(&cfg.devices) {
        if cfg.ema.is_some() {
            return Err(PodiumError::config(
                "ema",
                "(set)",
                "does not combine with CUDA devices (DDP): every DDP worker runs its own \
                 optimizer step and would update the shared average once per device",
            ));
        }
        if cfg.nan_policy == super::NanPolicy::Skip {
            return Err(PodiumError::config(
                "nan_policy",
                "skip",
                "does not combine with CUDA devices (DDP): each worker decides its own step; \
                 use \"stop\"",
            ));
        }
        if cfg.corrupt_images == CorruptPolicy::Skip {
            return Err(PodiumError::config(
                "corrupt_images",
                "Skip",
                "does not combine with CUDA devices (DDP): a skipped image leaves the devices \
                 with unequal batches, and DDP needs equal ones",
            ));
        }
        if !cfg.batch_size.is_multiple_of(n) {
            return Err(PodiumError::config(
                "batch_size",
                cfg.batch_size,
                format!("must be a multiple of the number of CUDA devices ({n}) under DDP"),
            ));
        }
    }
    Ok(())
}

/// Whether `names` train with DDP: the `cuda` feature, two or more names, each `cuda` or
/// `cuda:N`, all different.
fn uses_ddp(names: &[String]) -> bool {
    if !cfg!(feature = "cuda") || names.len() < 2 {
        return false;
    }
    let norm: Vec<String> = names
        .iter()
        .map(|n| {
            let n = n.trim().to_ascii_lowercase();
            if n == "cuda" { "cuda:0".into() } else { n }
        })
        .collect();
    let distinct = norm
        .iter()
        .enumerate()
        .all(|(i, a)| norm[..i].iter().all(|b| b != a));
    distinct && norm.iter().all(|n| n.starts_with("cuda:"))
}

/// What the training step of one device needs to know: its share of the batch.
#[derive(Debug)]
pub struct DeviceShare {
    devices: usize,
    /// Rows of the batch being trained (set when it is cut; 0 under DDP).
    rows: AtomicUsize,
    /// Batches cut in this epoch, from 1.
    round: AtomicUsize,
}

impl DeviceShare {
    /// The loss weight of a piece of `piece_rows` rows: `piece_rows / rows` of the batch it was
    /// cut from (burn-train sums the devices' gradients), `1 / devices` under DDP, where the
    /// pieces are equal by construction.
    pub(crate) fn weight(&self, piece_rows: usize) -> f64 {
        match self.rows.load(Ordering::SeqCst) {
            0 => 1.0 / self.devices as f64,
            rows => piece_rows as f64 / rows as f64,
        }
    }

    /// The batch of the epoch being trained, from 1 (the guard's step number).
    pub(crate) fn round(&self) -> usize {
        self.round.load(Ordering::SeqCst)
    }
}

/// Where a run trains when [`LearnerConfig::devices`] names two or more devices.
pub(crate) struct DevicePlan {
    devices: Vec<Device>,
    ddp: bool,
    share: Arc<DeviceShare>,
}

impl DevicePlan {
    /// The plan for `cfg` and the training loader, `None` for one device.
    ///
    /// # Errors
    /// As [`validate`]; under DDP, [`PodiumError::Config`] when the epoch's last batch does not
    /// cut into equal pieces.
    pub(crate) fn for_run(cfg: &LearnerConfig, train: &ImageLoader) -> Result<Option<Self>> {
        validate(cfg)?;
        if cfg.devices.len() < 2 {
            return Ok(None);
        }
        let devices = parse_devices(&cfg.devices)?;
        let n = devices.len();
        let ddp = uses_ddp(&cfg.devices);
        if ddp {
            let (items, batches, b) = (train.epoch_len(), train.num_batches(), cfg.batch_size);
            let last = if batches * b <= items {
                b
            } else {
                items - (batches - 1) * b
            };
            if !last.is_multiple_of(n) {
                return Err(PodiumError::config(
                    "drop_last",
                    cfg.drop_last,
                    format!(
                        "the epoch's last batch has {last} images, which do not cut into {n} \
                         equal pieces (DDP needs equal ones): set drop_last = true"
                    ),
                ));
            }
        }
        Ok(Some(Self {
            devices,
            ddp,
            share: Arc::new(DeviceShare {
                devices: n,
                rows: AtomicUsize::new(0),
                round: AtomicUsize::new(0),
            }),
        }))
    }

    /// The devices, the first the main one (validation, the optimizer, checkpoints).
    pub(crate) fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// The share the training step weights its loss with.
    pub(crate) fn share(&self) -> Arc<DeviceShare> {
        self.share.clone()
    }

    /// The training loader of a run: `loader` itself on one device, else burn-train's split of
    /// it into one piece of each batch per device.
    pub(crate) fn wrap(plan: Option<&Self>, loader: ImageLoader) -> RunLoader {
        match plan {
            Some(plan) => RunLoader::Sharded(plan.loader(loader)),
            None => RunLoader::One(loader),
        }
    }

    /// The training loader burn-train splits: `loader`'s batches cut into one piece per device.
    fn loader(&self, loader: ImageLoader) -> ShardedLoader {
        ShardedLoader {
            shared: Arc::new(Shared {
                loader: loader.with_device(&self.devices[0]),
                devices: self.devices.len(),
                ddp: self.ddp,
                share: self.share.clone(),
                state: Mutex::new(State::default()),
            }),
            index: None,
            device: self.devices[0].clone(),
            iters: Arc::new(AtomicU64::new(0)),
        }
    }

    /// burn-train's strategy: DDP with a summing all-reduce (the loss is scaled per device) for
    /// CUDA devices with the `cuda` feature, else `MultiDevice` with the optimizer on the first
    /// device.
    pub(crate) fn strategy(&self) -> ExecutionStrategy {
        #[cfg(feature = "cuda")]
        if self.ddp {
            use burn::tensor::distributed::{DistributedConfig, ReduceOperation};
            return ExecutionStrategy::ddp(
                self.devices.clone(),
                DistributedConfig {
                    all_reduce_op: ReduceOperation::Sum,
                },
            );
        }
        ExecutionStrategy::MultiDevice(self.devices.clone(), MultiDeviceOptim::OptimMainDevice)
    }
}

/// The training loader [`DevicePlan::wrap`] gives burn-train.
pub(crate) enum RunLoader {
    /// One device: the loader as it is.
    One(ImageLoader),
    /// Several devices.
    Sharded(ShardedLoader),
}

impl DataLoader<ClassificationBatch> for RunLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ClassificationBatch> + 'a> {
        match self {
            Self::One(l) => l.iter(),
            Self::Sharded(l) => l.iter(),
        }
    }

    fn num_items(&self) -> usize {
        match self {
            Self::One(l) => l.num_items(),
            Self::Sharded(l) => l.num_items(),
        }
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ClassificationBatch>> {
        match self {
            Self::One(l) => l.to_device(device),
            Self::Sharded(l) => l.to_device(device),
        }
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ClassificationBatch>> {
        match self {
            Self::One(l) => l.slice(start, end),
            Self::Sharded(l) => l.slice(start, end),
        }
    }
}

/// One queued piece: a batch, or nothing when the batch had fewer rows than devices.
type Piece = Option<std::result::Result<ClassificationBatch, DatasetError>>;

#[derive(Default)]
struct State {
    /// Epochs started (each shard's `iter` count catches up with it).
    epoch: u64,
    iter: Option<Box<dyn DataLoaderIterator<ClassificationBatch> + Send>>,
    /// Each device's pieces not taken yet.
    queues: Vec<VecDeque<Piece>>,
    /// Rows each device received this epoch (DDP progress).
    received: Vec<usize>,
    progress: Option<Progress>,
    done: bool,
}

struct Shared {
    loader: ImageLoader,
    devices: usize,
    ddp: bool,
    share: Arc<DeviceShare>,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts epoch `epoch` when no shard has yet.
    fn start_epoch(&self, epoch: u64) {
        let mut st = self.state();
        if st.epoch >= epoch {
            return;
        }
        st.epoch = epoch;
        st.iter = Some(self.loader.epoch_iter());
        st.queues = (0..self.devices).map(|_| VecDeque::new()).collect();
        st.received = vec![0; self.devices];
        st.progress = None;
        st.done = false;
        self.share.round.store(0, Ordering::SeqCst);
    }

    /// Draws the next batch and queues its pieces; false at the end of the epoch.
    fn pull(&self, st: &mut State) -> bool {
        if st.done {
            return false;
        }
        let Some(iter) = st.iter.as_mut() else {
            return false;
        };
        let next = iter.next();
        st.progress = Some(iter.progress());
        match next {
            None => {
                st.done = true;
                false
            }
            Some(Err(e)) => {
                st.done = true;
                st.queues[0].push_back(Some(Err(e)));
                true
            }
            Some(Ok(batch)) => {
                let rows = batch.indices.len();
                if !self.ddp {
                    self.share.rows.store(rows, Ordering::SeqCst);
                }
                self.share.round.fetch_add(1, Ordering::SeqCst);
                for (i, piece) in split_batch(batch, self.devices).into_iter().enumerate() {
                    st.queues[i].push_back(piece.map(Ok));
                }
                true
            }
        }
    }
}

/// The training loader of a multi-device run: burn-train's `split_dataloader` asks it for one
/// slice per device ([`DataLoader::slice`]); slice `i` yields piece `i` of every batch of the
/// wrapped [`ImageLoader`], which runs once per epoch, on the first device.
#[derive(Clone)]
pub(crate) struct ShardedLoader {
    shared: Arc<Shared>,
    /// The device this slice feeds; `None` before burn-train splits the loader.
    index: Option<usize>,
    device: Device,
    /// This slice's epochs started.
    iters: Arc<AtomicU64>,
}

impl ShardedLoader {
    fn shard(&self, index: usize) -> Self {
        Self {
            index: Some(index),
            iters: Arc::new(AtomicU64::new(0)),
            ..self.clone()
        }
    }
}

struct ShardIter {
    shared: Arc<Shared>,
    index: usize,
    epoch: u64,
    device: Device,
}

impl Iterator for ShardIter {
    type Item = std::result::Result<ClassificationBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let shared = self.shared.clone();
        let mut st = shared.state();
        if st.epoch != self.epoch {
            return None;
        }
        if st.queues[self.index].is_empty() && !shared.pull(&mut st) {
            return None;
        }
        let piece = st.queues[self.index].pop_front().flatten()?;
        Some(piece.map(|b| {
            st.received[self.index] += b.indices.len();
            batch_to_device(b, &self.device)
        }))
    }
}

impl DataLoaderIterator<ClassificationBatch> for ShardIter {
    /// Under `MultiDevice` burn-train adds the progress of the devices of a step: the first
    /// reports the epoch's, the others none. Under DDP each reports its own share.
    fn progress(&self) -> Progress {
        let st = self.shared.state();
        let global = st
            .progress
            .clone()
            .unwrap_or_else(|| Progress::new(0, 0, Some("items".into())));
        if self.shared.ddp {
            let total = global.items_total / self.shared.devices;
            Progress::new(st.received[self.index], total, Some("items".into()))
        } else if self.index == 0 {
            global
        } else {
            Progress::new(0, 0, Some("items".into()))
        }
    }
}

impl DataLoader<ClassificationBatch> for ShardedLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ClassificationBatch> + 'a> {
        let index = self.index.unwrap_or(0);
        let epoch = self.iters.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.start_epoch(epoch);
        Box::new(ShardIter {
            shared: self.shared.clone(),
            index,
            epoch,
            device: self.device.clone(),
        })
    }

    fn num_items(&self) -> usize {
        self.shared.loader.epoch_len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ClassificationBatch>> {
        Arc::new(Self {
            device: device.clone(),
            ..self.clone()
        })
    }

    /// burn-train's `split_dataloader` cuts `0..num_items` into `devices` ranges of
    /// `num_items / devices` items, the last taking the rest; range `i` becomes slice `i`.
    ///
    /// # Panics
    /// For a range that is not one of those, or on a slice already taken.
    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ClassificationBatch>> {
        let (n, d) = (self.num_items(), self.shared.devices);
        let step = n / d;
        assert!(
            self.index.is_none() && step > 0 && start.is_multiple_of(step) && end <= n,
            "ShardedLoader::slice({start}, {end}): not a split_dataloader range of {n} items over \
             {d} devices"
        );
        Arc::new(self.shard((start / step).min(d - 1)))
    }
}

/// Cuts `batch` into `devices` contiguous pieces along the batch dimension, `rows / devices`
/// rows each and the first `rows % devices` one more (`None` for an empty piece).
///
/// # Panics
/// If `devices` is 0.
pub(crate) fn split_batch(
    batch: ClassificationBatch,
    devices: usize,
) -> Vec<Option<ClassificationBatch>> {
    assert!(devices > 0, "split_batch: 0 devices");
    let rows = batch.indices.len();
    let (base, extra) = (rows / devices, rows % devices);
    let mut start = 0;
    (0..devices)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let piece = (len > 0).then(|| piece_of(&batch, start, len));
            start += len;
            piece
        })
        .collect()
}

fn piece_of(batch: &ClassificationBatch, start: usize, len: usize) -> ClassificationBatch {
    let range = start..start + len;
    ClassificationBatch {
        images: batch.images.clone().narrow(0, start, len),
        targets: batch.targets.clone().narrow(0, start, len),
        indices: batch.indices[range.clone()].to_vec(),
        mix: batch.mix.as_ref().map(|m| MixTargets {
            soft_targets: m.soft_targets.clone().narrow(0, start, len),
            labels_a: m.labels_a[range.clone()].to_vec(),
            labels_b: m.labels_b[range.clone()].to_vec(),
            lam: m.lam[range.clone()].to_vec(),
            bboxes: m.bboxes[range].to_vec(),
        }),
    }
}

fn batch_to_device(batch: ClassificationBatch, device: &Device) -> ClassificationBatch {
    ClassificationBatch {
        images: batch.images.to_device(device),
        targets: batch.targets.to_device(device),
        indices: batch.indices,
        mix: batch.mix.map(|m| MixTargets {
            soft_targets: m.soft_targets.to_device(device),
            ..m
        }),
    }
}
