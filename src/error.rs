//! The typed error every fallible podium call returns.
//!
//! Errors from files, configurations and user data name the file, key or value at fault, so
//! that a message such as `data/train.csv:17: unknown label "cat" ...` is enough to fix the
//! input without a debugger.

use std::path::PathBuf;

/// Everything that can go wrong when podium reads data, builds a component from a config or
/// runs a training job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PodiumError {
    /// An I/O operation on a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A binary data file (IDX, CIFAR) does not have the expected layout.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// An image file could not be decoded.
    #[error("{path}: cannot decode image: {reason}")]
    Decode {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },

    /// A CSV label file is malformed or refers to something that does not exist.
    #[error("{path}:{line}: {reason}")]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What is wrong with the row.
        reason: String,
    },

    /// A dataset folder is empty or misses a class.
    #[error("{path}: {reason}")]
    Dataset {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration value is out of its valid range.
    #[error("invalid config `{key}` = {value}: {reason}")]
    Config {
        /// The configuration key, e.g. `valid_fraction`.
        key: String,
        /// The offending value, formatted.
        value: String,
        /// The rule it breaks.
        reason: String,
    },

    /// Training stopped because of an error (a data-loader failure, a device failure).
    #[error("training failed: {0}")]
    Training(String),

    /// A checkpoint or record could not be saved or loaded.
    #[error("{path}: checkpoint error: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// A run directory already holds a run that this one would overwrite, or a different run
    /// than the one asked to resume.
    #[error("{dir}: {reason}")]
    RunExists {
        /// The run directory.
        dir: PathBuf,
        /// What is there and what to do.
        reason: String,
    },

    /// A weight file (PyTorch `.pth`, SafeTensors) does not fit the model: a missing or
    /// unexpected key, or a tensor of another shape.
    #[error("{path}: weights `{key}`: {reason}")]
    Weights {
        /// The weight file.
        path: PathBuf,
        /// The tensor's key in the file (PyTorch naming), e.g. `layer1.0.conv1.weight`.
        key: String,
        /// What is wrong, with both shapes for a mismatch.
        reason: String,
    },

    /// The training loss or a gradient became NaN or infinite under
    /// [`NanPolicy::Stop`](crate::learner::NanPolicy::Stop) (the default): training stopped at
    /// that step, before the optimizer update; the epoch was not checkpointed, so the last
    /// complete epoch's checkpoints (and the best ones) are as they were.
    #[error(
        "{run_dir}: the {what} became {value} at epoch {epoch}, step {step} of the epoch; training \
         stopped (nan_policy = \"stop\"){}; resume with `nan_policy = \"skip\"` (podium train \
         --resume --set train.nan_policy=\"skip\") to skip such steps, or start again with a \
         lower learning rate",
        kept(*last_complete_epoch)
    )]
    NonFinite {
        /// The run directory.
        run_dir: PathBuf,
        /// The epoch (from 1) of the step.
        epoch: usize,
        /// The training step (batch) within the epoch, from 1.
        step: usize,
        /// `loss` or `gradient`.
        what: String,
        /// The value seen: `NaN`, `inf` or `-inf` (a gradient's: `NaN or infinite`).
        value: String,
        /// The last epoch whose checkpoints are complete on disk (0: none), where
        /// `resume` continues.
        last_complete_epoch: usize,
    },

    /// Training was stopped by a [`StopSignal`](crate::learner::StopSignal) (Ctrl-C, SIGTERM or
    /// [`StopSignal::stop`](crate::learner::StopSignal::stop)): the epoch under way was
    /// abandoned and not checkpointed; `resume` continues after the last complete epoch.
    #[error(
        "{run_dir}: interrupted ({reason}); the last complete epoch is {last_complete_epoch}: \
         continue the run with `resume = true` (podium train --resume)"
    )]
    Interrupted {
        /// The run directory.
        run_dir: PathBuf,
        /// What stopped it: `SIGINT`, `SIGTERM` or `stop requested`.
        reason: String,
        /// The last epoch whose checkpoints are complete on disk (0: none), where
        /// `resume` continues.
        last_complete_epoch: usize,
    },
}

/// What a stopped run keeps, for [`PodiumError::NonFinite`]'s message.
fn kept(last_complete_epoch: usize) -> String {
    match last_complete_epoch {
        0 => " before any epoch was complete".into(),
        e => format!(" and the checkpoints of epoch {e}, the last complete one, are kept"),
    }
}

impl PodiumError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A [`PodiumError::Format`] for `path`.
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A [`PodiumError::Config`] naming the key, the value and the rule.
    pub fn config(
        key: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Self::Config {
            key: key.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

impl PodiumError {
    /// Renames the key of a [`PodiumError::Config`] with `rename` (e.g. to prefix it with the
    /// config section it sits in: `prob` becomes `mixup.prob`); other errors pass unchanged.
    pub fn map_key(self, rename: impl FnOnce(&str) -> String) -> Self {
        match self {
            Self::Config { key, value, reason } => Self::Config {
                key: rename(&key),
                value,
                reason,
            },
            other => other,
        }
    }

    /// Prefixes the key of a [`PodiumError::Config`] with `section.`.
    pub fn in_section(self, section: &str) -> Self {
        self.map_key(|key| format!("{section}.{key}"))
    }
}

/// `Result` with [`PodiumError`].
pub type Result<T, E = PodiumError> = std::result::Result<T, E>;
