//! [`finish`]: the end of a run: the best epoch by the monitored metric, its weights reloaded
//! and `run.json` written.

use burn::tensor::Device;

use super::config::LearnerConfig;
use super::fitted::{Fitted, RunInfo, checkpoint_file, load_checkpoint};
use super::history::EpochMetrics;
use super::prepare::Prepared;
use super::training::Trained;
use crate::error::{PodiumError, Result};
use crate::model::ImageClassifier;
use crate::util::write_atomic;

/// What [`finish`] needs to know of the data (from [`Prepared`]): classes, normalization and
/// input shape, saved in `run.json` for inference.
#[derive(Clone, Debug, PartialEq)]
pub struct DataInfo {
    /// Class names, by label.
    pub classes: Vec<String>,
    /// The normalization every batch got.
    pub normalize: crate::augment::Normalize,
    /// The model's input `[channels, height, width]`.
    pub input_shape: [usize; 3],
}

impl From<&Prepared> for DataInfo {
    fn from(p: &Prepared) -> Self {
        Self {
            classes: p.classes.clone(),
            normalize: p.normalize.clone(),
            input_shape: p.input_shape,
        }
    }
}

/// Picks the best epoch of `trained` by [`LearnerConfig::monitor`] (the first of equals),
/// reloads its checkpoint (the EMA weights when the run kept an EMA) unless the last epoch is
/// the best, writes `run.json` and returns the [`Fitted`] run.
///
/// # Errors
/// [`PodiumError::Checkpoint`] if the best checkpoint does not load; [`PodiumError::Io`] if
/// `run.json` cannot be written.
pub fn finish<M: ImageClassifier>(
    config: &LearnerConfig,
    trained: Trained<M>,
    data: DataInfo,
    device: &Device,
) -> Result<Fitted<M>> {
    let monitor = config.monitor;
    let Trained {
        model,
        history,
        ema,
        run_dir,
        skipped_steps,
    } = trained;
    let valid_rows: Vec<&EpochMetrics> = history.iter().filter(|r| r.split == "valid").collect();
    let best = valid_rows
        .iter()
        .fold(None::<&EpochMetrics>, |best, r| match best {
            Some(b) if !monitor.improves(monitor.value(r), monitor.value(b)) => Some(b),
            _ => Some(r),
        });
    let best_epoch = best.map_or(0, |r| r.epoch);
    let last_epoch = valid_rows.last().map_or(0, |r| r.epoch);
    let best_path = checkpoint_file(&run_dir, ema, best_epoch);
    let model = if (best_epoch != last_epoch || ema) && best_path.exists() {
        load_checkpoint(model, &best_path)?
    } else {
        model
    };
    let info = RunInfo {
        classes: data.classes,
        normalize: data.normalize,
        input_shape: data.input_shape,
        best_epoch,
        crop_pct: config.crop_pct,
        skipped_steps,
    };
    write_atomic(
        &run_dir.join("run.json"),
        serde_json::to_string_pretty(&info)
            .map_err(|e| PodiumError::format(&run_dir, e.to_string()))?
            .as_bytes(),
    )?;
    Ok(Fitted {
        model,
        stopped_early: last_epoch < config.epochs,
        history,
        info,
        run_dir,
        device: device.clone(),
        batch_size: config.batch_size,
        ema,
        monitor,
    })
}
