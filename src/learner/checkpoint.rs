//! Crash-safe checkpoint files: each record is written to a temporary file in the same folder,
//! then renamed over the final name, so an interrupted save never leaves a truncated checkpoint.

use std::path::{Path, PathBuf};

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

use crate::util::write_atomic_with;

/// A burn-train [`Checkpointer`] that writes `{dir}/{name}-{epoch}.bpk` atomically
/// (temporary file, then rename).
#[derive(Clone, Debug)]
pub struct AtomicFileCheckpointer {
    directory: PathBuf,
    name: String,
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
        })
    }

    /// The file of `epoch`'s checkpoint.
    pub fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
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
        R::load(self.path(epoch))
    }
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
        match self.ema.validated_record() {
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

/// A burn-train checkpointing strategy that keeps the `k` best epochs by a validation metric
/// (the earliest first among equal values), so their weights can be averaged afterwards
/// ([`average_checkpoints`](super::average_checkpoints)).
#[derive(Debug)]
pub struct TopKCheckpoints {
    k: usize,
    name: String,
    lower_is_better: bool,
    kept: Vec<(usize, f64)>,
}

impl TopKCheckpoints {
    /// Keeps the `k` best epochs by the validation metric `name` (burn-train's metric name).
    pub fn new(k: usize, name: &str, lower_is_better: bool) -> Self {
        Self {
            k: k.max(1),
            name: name.to_string(),
            lower_is_better,
            kept: Vec::new(),
        }
    }
}

impl burn::train::checkpoint::CheckpointingStrategy for TopKCheckpoints {
    fn checkpointing(
        &mut self,
        epoch: usize,
        store: &burn::train::metric::store::EventStoreClient,
    ) -> Vec<burn::train::checkpoint::CheckpointingAction> {
        use burn::train::checkpoint::CheckpointingAction;
        use burn::train::metric::store::{Aggregate, Split};
        let Some(value) = store.find_metric(&self.name, epoch, Aggregate::Mean, &Split::Valid)
        else {
            return Vec::new();
        };
        self.kept.push((epoch, value));
        let lower = self.lower_is_better;
        // stable: among equal values the earlier epoch stays ahead
        self.kept.sort_by(|a, b| {
            let o = a.1.total_cmp(&b.1);
            if lower { o } else { o.reverse() }
        });
        if self.kept.len() <= self.k {
            return vec![CheckpointingAction::Save];
        }
        let (worst, _) = self.kept.pop().expect("more than k kept");
        if worst == epoch {
            Vec::new()
        } else {
            vec![
                CheckpointingAction::Save,
                CheckpointingAction::Delete(worst),
            ]
        }
    }
}
