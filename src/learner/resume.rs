//! Resuming a run from its last complete epoch, and refusing to overwrite one.
//!
//! A run directory holds, after epoch `e`, `metrics.csv` rows for `e` and the checkpoint files
//! `model-e`, `optim-e`, `scheduler-e` (and `ema-e`), each written atomically. An epoch is
//! *complete* when all of these exist; the run keeps the two last epochs' files
//! ([`RunCheckpoints`](super::checkpoint::RunCheckpoints)), so one is always complete after the
//! first, wherever the process was killed. What a resumed run restores is listed in
//! [`crate::learner`]'s resume section.

use std::collections::BTreeMap;
use std::path::Path;

use super::config::LearnerConfig;
use super::fitted::{checkpoint_dir, checkpoint_file, load_checkpoint};
use super::history::EpochMetrics;
use super::history_csv::read_metrics_table;
use crate::error::{PodiumError, Result};
use crate::model::ImageClassifier;

/// `base` when it holds no run (no `metrics.csv`, no checkpoint), else the first of `base-2`,
/// `base-3`, ... that holds none (Lightning's `version_N` folders): a new run directory for
/// programs that start a new run each time they are launched, such as podium's examples.
pub fn fresh_run_dir(base: impl AsRef<Path>) -> std::path::PathBuf {
    let base = base.as_ref();
    let holds_run = |d: &Path| {
        d.join("metrics.csv").exists() || !saved_epochs(&checkpoint_dir(d), "model").is_empty()
    };
    if !holds_run(base) {
        return base.to_path_buf();
    }
    let name = base
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    (2..)
        .map(|k| base.with_file_name(format!("{name}-{k}")))
        .find(|d| !holds_run(d))
        .expect("an unused name")
}

/// The model a resumed run starts from: with [`LearnerConfig::resume`] and a complete epoch in
/// the run directory, `model` with that epoch's weights *and parameter ids* (burn keys the
/// optimizer state, the no-weight-decay group and the discriminative learning-rate groups by
/// parameter id, and a loaded checkpoint brings its own ids); otherwise `model` as it is.
/// [`Learner::fit`](super::Learner::fit) calls it before
/// [`optimization`](super::optimization()); a custom loop of the mid-level steps that resumes
/// must do the same.
///
/// # Errors
/// As [`train`](super::train()) for the run directory; [`PodiumError::Checkpoint`] if the
/// checkpoint does not load into `model`.
pub fn resume_model<M: ImageClassifier>(config: &LearnerConfig, model: M) -> Result<M> {
    if !config.resume {
        return Ok(model);
    }
    let run_dir = Path::new(&config.run_dir);
    let point = resume_point(run_dir, config, config.ema.is_some())?;
    if point.epoch == 0 {
        return Ok(model);
    }
    load_checkpoint(model, checkpoint_file(run_dir, false, point.epoch))
}

/// Keys of `config.json` that may change between an interrupted run and its resumption (the
/// run directory may have moved; a run stopped on a NaN loss is resumed with
/// `nan_policy = "skip"`, which changes nothing while every loss is finite; `devices` changes
/// where a run trains, not its updates).
const MAY_CHANGE: [&str; 7] = [
    "resume",
    "epochs",
    "progress",
    "num_workers",
    "run_dir",
    "nan_policy",
    "devices",
];

/// Where a run restarts.
#[derive(Debug, Default)]
pub(crate) struct ResumePoint {
    /// The last complete epoch (0: from the start).
    pub(crate) epoch: usize,
    /// The history up to that epoch.
    pub(crate) history: Vec<EpochMetrics>,
    /// The epochs whose checkpoints are on disk.
    pub(crate) on_disk: Vec<usize>,
    /// Optimizer updates skipped on non-finite values, by epoch, up to that epoch.
    pub(crate) skipped: BTreeMap<usize, usize>,
}

/// Checks `run_dir` against `cfg` and finds where the run restarts: from the start in a new
/// or empty directory, after the last complete epoch with `cfg.resume`.
///
/// # Errors
/// [`PodiumError::RunExists`] when the directory holds a run and `cfg.resume` is off, or holds
/// a different run (another `config.json`, the keys that differ named); [`PodiumError::Csv`] /
/// [`PodiumError::Io`] for an unreadable `metrics.csv` or `config.json`.
pub(crate) fn resume_point(run_dir: &Path, cfg: &LearnerConfig, ema: bool) -> Result<ResumePoint> {
    let csv = run_dir.join("metrics.csv");
    let ckpt = checkpoint_dir(run_dir);
    let saved = saved_epochs(&ckpt, "model");
    if !csv.exists() && saved.is_empty() {
        return Ok(ResumePoint::default());
    }
    if !cfg.resume {
        return Err(PodiumError::RunExists {
            dir: run_dir.to_path_buf(),
            reason: "holds a run (metrics.csv, checkpoints); resume it (`resume = true`, \
                     `podium train --resume`) or choose another directory"
                .into(),
        });
    }
    let config_path = run_dir.join("config.json");
    if config_path.exists() {
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| PodiumError::io(&config_path, e))?;
        let old: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| PodiumError::format(&config_path, e.to_string()))?;
        let new: serde_json::Value = serde_json::from_str(&cfg.to_string())
            .map_err(|e| PodiumError::format(&config_path, e.to_string()))?;
        let defaults: serde_json::Value =
            serde_json::from_str(&LearnerConfig::new().to_string())
                .map_err(|e| PodiumError::format(&config_path, e.to_string()))?;
        let differ = differing_keys(&old, &new, &defaults);
        if !differ.is_empty() {
            return Err(PodiumError::RunExists {
                dir: run_dir.to_path_buf(),
                reason: format!(
                    "holds a different run: {} differ from its config.json (only {} may \
                     change on resume)",
                    differ.join(", "),
                    MAY_CHANGE.join(", ")
                ),
            });
        }
    }
    let (rows, mut skipped) = if csv.exists() {
        read_metrics_table(&csv)?
    } else {
        Default::default()
    };
    let has = |epoch: usize, split: &str| rows.iter().any(|r| r.epoch == epoch && r.split == split);
    let mut kinds = vec!["optim", "scheduler"];
    if ema {
        kinds.push("ema");
    }
    let complete = saved
        .iter()
        .rev()
        .copied()
        .find(|&e| {
            has(e, "train")
                && has(e, "valid")
                && kinds
                    .iter()
                    .all(|k| ckpt.join(format!("{k}-{e}.bpk")).exists())
        })
        .unwrap_or(0);
    skipped.retain(|&e, _| e <= complete);
    Ok(ResumePoint {
        skipped,
        epoch: complete,
        history: rows.into_iter().filter(|r| r.epoch <= complete).collect(),
        on_disk: saved.into_iter().filter(|&e| e <= complete).collect(),
    })
}

/// The epochs `N` of the `{prefix}-N.bpk` files in `dir`, ascending.
fn saved_epochs(dir: &Path, prefix: &str) -> Vec<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut epochs: Vec<usize> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?
                .strip_prefix('-')?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .collect();
    epochs.sort_unstable();
    epochs
}

/// The top-level keys whose values differ, except those that may change on resume. A key that
/// the old `config.json` lacks (written by a podium before the key existed) has its default
/// value in `defaults`, so such a run resumes with the new key left at its default.
fn differing_keys(
    old: &serde_json::Value,
    new: &serde_json::Value,
    defaults: &serde_json::Value,
) -> Vec<String> {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return vec!["(the whole config)".into()];
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| {
            let was = old.get(*k).or_else(|| defaults.get(*k));
            !MAY_CHANGE.contains(&k.as_str()) && was != new.get(*k)
        })
        .cloned()
        .collect()
}
