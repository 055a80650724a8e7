//! fastai's `fine_tune` recipe: train the head on a frozen pretrained backbone, then the whole
//! network with discriminative learning rates.

use burn::config::Config;
use std::path::PathBuf;

use super::{Fitted, Learner, LearnerConfig};
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::model::{ImageClassifier, freeze_backbone, unfreeze};
use crate::schedule::{OneCycleConfig, ScheduleConfig};

/// fastai's `Learner.fine_tune(epochs, base_lr, freeze_epochs, lr_mult, pct_start, div)`.
#[derive(Config, Debug)]
pub struct FineTuneConfig {
    /// Epochs of the unfrozen phase.
    pub epochs: usize,
    /// Epochs with the backbone frozen (fastai's default 1).
    #[config(default = 1)]
    pub freeze_epochs: usize,
    /// Peak rate of the frozen phase; the unfrozen phase peaks at half of it (fastai's default
    /// `2e-3`).
    #[config(default = 2e-3)]
    pub base_lr: f64,
    /// Ratio between the head's and the first layer group's rate in the unfrozen phase
    /// (fastai's default 100).
    #[config(default = 100.0)]
    pub lr_mult: f64,
    /// Warm-up fraction of the unfrozen phase's one-cycle (fastai's default 0.3; the frozen
    /// phase uses 0.99).
    #[config(default = 0.3)]
    pub pct_start: f64,
    /// Starting rate is the peak divided by `div` in the unfrozen phase (fastai's default 5;
    /// the frozen phase uses 25).
    #[config(default = 5.0)]
    pub div: f64,
    /// Keep BatchNorm layers trainable while the backbone is frozen (fastai's `train_bn`,
    /// default true).
    #[config(default = true)]
    pub train_bn: bool,
}

/// fastai's `div_final`: the last rate of a one-cycle is the peak divided by it.
const DIV_FINAL: f64 = 1e5;

fn one_cycle(pct_start: f64, div: f64) -> ScheduleConfig {
    ScheduleConfig::OneCycle(
        OneCycleConfig::new()
            .with_pct_start(pct_start)
            .with_div_factor(div)
            // torch's final_div_factor divides the starting rate; fastai's div_final the peak
            .with_final_div_factor(DIV_FINAL / div),
    )
}

impl Learner {
    /// fastai's `fine_tune`: `freeze_epochs` epochs of one-cycle at `base_lr` with every layer
    /// group but the head frozen (BatchNorm trainable with `train_bn`), then `epochs` epochs of
    /// one-cycle over the unfrozen model with discriminative rates from
    /// `base_lr / 2 / lr_mult` (first group) to `base_lr / 2` (head). The two phases write to
    /// `<run_dir>/frozen` and `<run_dir>/unfrozen`; the other settings (loss, mixing,
    /// augmentation, EMA, ...) come from this learner's config, the schedule and rates from
    /// `fine_tune`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for zero epochs, non-positive rates, a model without layer
    /// groups; then anything [`Learner::fit`] returns.
    pub fn fine_tune<M: ImageClassifier>(
        &self,
        model: M,
        train: ImageDataset,
        valid: ImageDataset,
        fine_tune: &FineTuneConfig,
    ) -> Result<Fitted<M>> {
        if model.layer_groups().len() < 2 {
            return Err(PodiumError::config(
                "fine_tune",
                "model",
                "fine-tuning needs a model with layer groups (a backbone and a head)",
            ));
        }
        if fine_tune.epochs == 0 || fine_tune.freeze_epochs == 0 {
            return Err(PodiumError::config(
                "fine_tune.epochs",
                format!("{}/{}", fine_tune.freeze_epochs, fine_tune.epochs),
                "both phases need at least one epoch",
            ));
        }
        if !(fine_tune.base_lr > 0.0 && fine_tune.lr_mult >= 1.0) {
            return Err(PodiumError::config(
                "fine_tune.base_lr/lr_mult",
                format!("{}/{}", fine_tune.base_lr, fine_tune.lr_mult),
                "need base_lr > 0 and lr_mult >= 1",
            ));
        }
        let run_dir = PathBuf::from(&self.config().run_dir);
        let phase = |name: &str| run_dir.join(name).to_string_lossy().into_owned();
        let frozen: LearnerConfig = self
            .config()
            .clone()
            .with_epochs(fine_tune.freeze_epochs)
            .with_lr(fine_tune.base_lr)
            .with_lr_min(None)
            .with_schedule(one_cycle(0.99, 25.0))
            .with_run_dir(phase("frozen"));
        let model = freeze_backbone(model, fine_tune.train_bn);
        let first = self
            .with_config(frozen)
            .fit(model, train.clone(), valid.clone())?;
        let lr = fine_tune.base_lr / 2.0;
        let unfrozen = self
            .config()
            .clone()
            .with_epochs(fine_tune.epochs)
            .with_lr(lr)
            .with_lr_min(Some(lr / fine_tune.lr_mult))
            .with_schedule(one_cycle(fine_tune.pct_start, fine_tune.div))
            .with_run_dir(phase("unfrozen"));
        self.with_config(unfrozen)
            .fit(unfreeze(first.model), train, valid)
    }
}
