//! Crash-safe checkpoint files: each record is written to a temporary file in the same folder,
//! then renamed over the final name, so an interrupted save never leaves a truncated checkpoint.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
};
use burn::train::metric::store::EventStoreClient;

use super::history::{EpochMetrics, SharedHistory};
use super::monitor::Monitor;

use crate::util::write_atomic_with;

/// A burn-train [`Checkpointer`] that writes `{dir}/{name}-{epoch}.bpk` atomically
/// (temporary file, then rename).
#[derive(Clone, Debug)]
pub struct AtomicFileCheckpointer {
    directory: PathBuf,
    name: String,
    /// Told when a save ends (the optimizer checkpointer of a run, [`SaveGate`]).
    gate: Option<Arc<SaveGate>>,
}

impl AtomicFileCheckpointer {
    /// Checkpoints named `{name}-{epoch}.bpk` in `directory` (created if missing).
    ///
    /// # Errors
    /// The I/O error if `directory` cannot be created.
    pub fn new(directory: impl AsRef<Path>, name: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(directory.as_ref())?;
        Ok(Self {
            directory: directory.as_ref().to_path_buf(),
            name: name.to_string(),
            gate: None,
        })
    }

    /// Tells `gate` each time a save ends, written or failed.
    pub(crate) fn with_gate(mut self, gate: Arc<SaveGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The file of `epoch`'s checkpoint.
    pub fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        // on every way out, a panic included
        let _ended = self.gate.as_deref().map(SaveEnded);
        let mut saved = Ok(());
        write_atomic_with(&self.path(epoch), |tmp| {
            saved = record.save(tmp.to_path_buf());
            saved
                .as_ref()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(())
        })
        .map_err(|e| saved.err().unwrap_or(CheckpointerError::IOError(e)))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        if path.exists() {
            std::fs::remove_file(path).map_err(CheckpointerError::IOError)?;
        }
        Ok(())
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = read_resident(&self.path(epoch)).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(bytes).map_err(CheckpointerError::Record)
    }
}

/// Holds a run's next optimizer update until burn-train has written the optimizer checkpoint
/// of the epoch before it.
///
/// burn-train takes a checkpoint's optimizer state on the training thread
/// (`ModuleOptimizer::to_record`, which reads every state tensor with `into_data`) and writes
/// the record on a checkpointer thread of its own, while training goes on. On burn's CubeCL
/// backends the bytes of that record can still follow the state tensors, which the next
/// optimizer step updates in place (found with wgpu over Mesa's lavapipe, Burn 0.22.1 /
/// cubecl-wgpu 0.11.3, for the state tensors of up to a few hundred values: batch-norm scales
/// and shifts, biases, a small classifier; `docs/upstream/burn-optimizer-record-aliasing/`
/// has a burn-only reproduction). A checkpoint written
/// after that step held a later state than its epoch's, at random (how far the next epoch had
/// got when the thread wrote), so a resumed run differed from the uninterrupted one and from
/// process to process. flex copies on read and never waited long here. The gate counts the
/// optimizer saves [`RunCheckpoints`] orders ([`Self::expect`]); the optimizer checkpointer
/// ends each ([`AtomicFileCheckpointer::with_gate`]); [`Classification`] waits before each
/// optimizer step ([`Self::wait`]), so the record is on disk before its tensors change. The wait
/// is at most one checkpoint write per epoch, and gives up after [`SaveGate::PATIENCE`] (with a
/// warning) rather than stall a run whose checkpointer thread died.
///
/// [`Classification`]: super::Classification
#[derive(Debug, Default)]
pub(crate) struct SaveGate {
    pending: Mutex<usize>,
    ended: Condvar,
}

/// Ends one expected save of a [`SaveGate`] when dropped.
struct SaveEnded<'a>(&'a SaveGate);

impl Drop for SaveEnded<'_> {
    fn drop(&mut self) {
        let mut pending = self.0.pending();
        *pending = pending.saturating_sub(1);
        self.0.ended.notify_all();
    }
}

impl SaveGate {
    /// The longest [`Self::wait`] waits for a save.
    pub(crate) const PATIENCE: Duration = Duration::from_secs(300);

    fn pending(&self) -> std::sync::MutexGuard<'_, usize> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An optimizer save was ordered (burn-train takes its record right after).
    pub(crate) fn expect(&self) {
        *self.pending() += 1;
    }

    /// Returns when no ordered optimizer save is still being written (or after
    /// [`Self::PATIENCE`], with a warning).
    pub(crate) fn wait(&self) {
        let pending = self.pending();
        if *pending == 0 {
            return;
        }
        let (pending, timeout) = self
            .ended
            .wait_timeout_while(pending, Self::PATIENCE, |p| *p > 0)
            .unwrap_or_else(|e| e.into_inner());
        if timeout.timed_out() {
            log::warn!(
                "{} optimizer checkpoint(s) not written after {} s; training goes on (the \
                 checkpoint may hold a later optimizer state than its epoch's)",
                *pending,
                Self::PATIENCE.as_secs()
            );
        }
    }
}

/// The whole of the burnpack file `path`, in memory.
///
/// Burn 0.22 reads a burnpack file lazily: `ModuleRecord::load` and `OptimizerRecord::load` keep
/// every tensor backed by the file and read its bytes on first access, so a record loaded that
/// way panics later ("bytes: host access failed: No such file or directory", on the device's
/// thread on a CubeCL device) once its file is deleted or replaced: by the keep-best rotation, a
/// later save over the same name, or a user who cleans up a run folder. A record decoded from
/// these bytes owns its data.
pub(crate) fn read_resident(path: &Path) -> std::io::Result<burn::tensor::Bytes> {
    Ok(burn::tensor::Bytes::from_bytes_vec(std::fs::read(path)?))
}

/// The model checkpointer of a run that keeps an EMA: each model checkpoint `model-N.bpk` gets an
/// `ema-N.bpk` beside it with the averaged weights that epoch's validation ran, and the two are
/// deleted together.
#[derive(Debug)]
pub struct EmaCheckpointer {
    model: AtomicFileCheckpointer,
    ema_files: AtomicFileCheckpointer,
    ema: std::sync::Arc<dyn super::step::EmaHandle>,
}

impl EmaCheckpointer {
    /// Model checkpoints in `directory`, EMA checkpoints beside them.
    ///
    /// # Errors
    /// The I/O error if `directory` cannot be created.
    pub fn new(
        directory: impl AsRef<Path>,
        ema: std::sync::Arc<dyn super::step::EmaHandle>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            model: AtomicFileCheckpointer::new(&directory, "model")?,
            ema_files: AtomicFileCheckpointer::new(&directory, "ema")?,
            ema,
        })
    }
}

impl Checkpointer<burn::store::ModuleRecord> for EmaCheckpointer {
    fn save(
        &self,
        epoch: usize,
        record: burn::store::ModuleRecord,
    ) -> Result<(), CheckpointerError> {
        self.model.save(epoch, record)?;
        match self.ema.validated_record(epoch) {
            Some(ema) => self.ema_files.save(epoch, ema),
            None => Ok(()),
        }
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<burn::store::ModuleRecord>::delete(&self.model, epoch)?;
        Checkpointer::<burn::store::ModuleRecord>::delete(&self.ema_files, epoch)
    }

    fn restore(&self, epoch: usize) -> Result<burn::store::ModuleRecord, CheckpointerError> {
        self.model.restore(epoch)
    }
}

/// The checkpoints a run keeps: the two last epochs (burn-train writes the model, optimizer and
/// scheduler files on separate threads, so the epoch before the last stays complete while the
/// last is being written: a run killed at any moment can resume) and the `k` best epochs by the
/// [`Monitor`] (the earliest first among equal values), whose weights
/// [`Fitted::average_best`](super::Fitted::average_best) can average. It reads the monitored
/// values from podium's history, so a resumed run ranks the epochs before the interruption too.
pub(crate) struct RunCheckpoints {
    k: usize,
    monitor: Monitor,
    history: SharedHistory,
    /// Epochs whose checkpoints are on disk.
    on_disk: Vec<usize>,
    /// Told of each save ordered.
    gate: Arc<SaveGate>,
}

impl RunCheckpoints {
    /// Keeps the last two and the `k` best epochs; `on_disk` lists the epochs already saved (a
    /// resumed run); `gate` counts the saves ordered ([`SaveGate`]).
    pub(crate) fn new(
        k: usize,
        monitor: Monitor,
        history: SharedHistory,
        on_disk: Vec<usize>,
        gate: Arc<SaveGate>,
    ) -> Self {
        Self {
            k: k.max(1),
            monitor,
            history,
            on_disk,
            gate,
        }
    }

    /// The epochs to keep once `epoch` is saved.
    fn keep(&self, epoch: usize) -> Vec<usize> {
        let history = self.history.lock().expect("history lock");
        let mut valid: Vec<&EpochMetrics> = history
            .iter()
            .filter(|r| r.split == "valid" && r.epoch <= epoch)
            .collect();
        // stable: among equal values the earlier epoch stays ahead
        valid.sort_by(|a, b| self.monitor.compare(a, b));
        let mut keep: Vec<usize> = valid.iter().take(self.k).map(|r| r.epoch).collect();
        keep.extend([epoch, epoch.saturating_sub(1)]);
        keep
    }
}

impl CheckpointingStrategy for RunCheckpoints {
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        sync_history(store, epoch);
        let keep = self.keep(epoch);
        let mut actions = vec![CheckpointingAction::Save];
        self.gate.expect();
        self.on_disk.push(epoch);
        self.on_disk.retain(|&e| {
            let kept = keep.contains(&e);
            if !kept {
                actions.push(CheckpointingAction::Delete(e));
            }
            kept
        });
        self.on_disk.sort_unstable();
        self.on_disk.dedup();
        actions
    }
}

/// Waits until burn-train's event store has handed every event sent so far (the epoch's
/// summary included) to the loggers, podium's history among them: the store runs on its own
/// thread, and a query is answered only after the events queued before it.
pub(crate) fn sync_history(store: &EventStoreClient, epoch: usize) {
    use burn::train::metric::store::{Aggregate, Split};
    let _ = store.find_metric(super::history::LOSS, epoch, Aggregate::Mean, &Split::Valid);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_optimizer_record_outlives_its_file() {
        use burn::module::Module;
        use burn::nn::{Initializer, Linear, LinearConfig};
        use burn::optim::{AdamConfig, GradientsParams, OptimizerRecord};
        use burn::tensor::Tensor;
        // an Adam state after one step (constant weights and inputs: no RNG)
        let device = crate::device::device_from_name("flex").unwrap().autodiff();
        let model: Linear = LinearConfig::new(4, 3)
            .with_initializer(Initializer::Constant { value: 0.1 })
            .init(&device);
        let mut optim = AdamConfig::new().init();
        let loss = model.forward(Tensor::<2>::ones([2, 4], &device)).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = optim.step(1e-2, model, grads);
        let dir = tempfile::tempdir().unwrap();
        let files = AtomicFileCheckpointer::new(dir.path(), "optim").unwrap();
        files.save(1, optim.to_record()).unwrap();
        // each state tensor's name and bytes (the file may order the tensors' data otherwise)
        let tensors = |record: OptimizerRecord| {
            let bytes = record.into_bytes().unwrap();
            let reader = burn::store::burn_pack::Reader::from_bytes(bytes).unwrap();
            let mut named: Vec<(String, Vec<u8>)> = reader
                .into_tensors()
                .unwrap()
                .into_iter()
                .map(|t| {
                    let (name, _, _, _, data) = t.into_parts().unwrap();
                    (name, data.to_vec())
                })
                .collect();
            named.sort();
            named
        };
        let expected = tensors(optim.to_record());
        assert_eq!(
            expected.len(),
            4,
            "Adam's two moments of the weight and the bias"
        );
        // burn-train restores a run's optimizer state before its first step; the file may be
        // gone by the time the record is read (keep-best rotation, a cleaned-up folder)
        let restored: OptimizerRecord = files.restore(1).unwrap();
        std::fs::remove_file(files.path(1)).unwrap();
        assert_eq!(tensors(restored), expected);
        assert!(model.num_params() > 0);
    }

    #[test]
    fn the_gate_holds_the_next_update_until_the_ordered_save_has_ended() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(SaveGate::default());
        let optim = AtomicFileCheckpointer::new(dir.path(), "optim")
            .unwrap()
            .with_gate(gate.clone());
        // nothing ordered: no wait
        gate.wait();
        // an ordered save written late on another thread, as burn-train's checkpointer does
        gate.expect();
        let (path, late) = (optim.path(1), optim.clone());
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            late.save(1, burn::optim::OptimizerRecord::default())
                .unwrap();
        });
        gate.wait();
        assert!(path.exists(), "the wait ended before the save was written");
        writer.join().unwrap();
        // a save that fails ends its wait too
        gate.expect();
        std::fs::remove_dir_all(dir.path()).unwrap();
        let failed: Result<(), _> = optim.save(2, burn::optim::OptimizerRecord::default());
        assert!(failed.is_err());
        assert_eq!(*gate.pending(), 0);
        gate.wait();
    }
}
