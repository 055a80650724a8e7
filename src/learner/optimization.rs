//! [`optimization`]: the optimizer and the learning-rate schedule of a run, built for a model.
//!
//! One call turns [`LearnerConfig::optimizer`], [`LearnerConfig::schedule`],
//! [`LearnerConfig::lr`] and [`LearnerConfig::lr_min`] into burn's optimizer and scheduler:
//! discriminative rates over the model's layer groups (fastai's `slice(lr_min, lr)`), one-cycle's
//! momentum / beta1 curve handed from the schedule to the optimizer (torch's `OneCycleLR`), and
//! the plateau scheduler that the monitored validation metric drives.

use burn::optim::ModuleOptimizer;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;

use super::config::LearnerConfig;
use crate::error::{PodiumError, Result};
use crate::model::{ImageClassifier, even_mults};
use crate::optim::{HyperParams, no_weight_decay_params};
use crate::schedule::{PlateauDriver, ScheduleContext};

/// The optimizer and schedule of a run ([`optimization`]).
pub struct Optimization {
    /// The optimizer (burn's type-erased module optimizer).
    pub optimizer: ModuleOptimizer,
    /// The learning-rate schedule, stepped once per optimizer update.
    pub scheduler: ModuleLrScheduler,
    /// The driver of a [`ScheduleConfig::Plateau`](crate::schedule::ScheduleConfig::Plateau)
    /// schedule, to be fed the monitored validation metric after each epoch (`None` for the
    /// other schedules).
    pub plateau: Option<PlateauDriver>,
}

impl std::fmt::Debug for Optimization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimization")
            .field("plateau", &self.plateau.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds the optimizer and schedule of `config` for `model`, with `updates_per_epoch`
/// optimizer updates per epoch (see the module docs).
///
/// # Errors
/// [`PodiumError::Config`] naming the key for invalid optimizer or schedule values; `lr_min`
/// with a plateau schedule or with a model without layer groups.
pub fn optimization<M: ImageClassifier>(
    config: &LearnerConfig,
    model: &M,
    updates_per_epoch: usize,
) -> Result<Optimization> {
    let cfg = config;
    let plateau = cfg.schedule.plateau(cfg.lr, cfg.monitor.plateau_mode())?;
    // one-cycle's momentum curve reaches the optimizer through a shared handle (torch's
    // OneCycleLR)
    let hyper =
        (cfg.schedule.cycles_momentum() && cfg.optimizer.cycles_momentum()).then(HyperParams::new);
    let groups = match (&plateau, cfg.lr_min) {
        (Some(_), Some(lo)) => {
            return Err(PodiumError::config(
                "lr_min",
                lo,
                "discriminative learning rates need a fixed schedule, not Plateau",
            ));
        }
        (None, Some(lo)) => {
            let groups = model.layer_groups();
            if groups.is_empty() {
                return Err(PodiumError::config(
                    "lr_min",
                    lo,
                    "the model has no layer groups (ImageClassifier::layer_groups)",
                ));
            }
            groups
        }
        (_, None) => Vec::new(),
    };
    let group_lrs = match cfg.lr_min {
        Some(lo) => even_mults(lo, cfg.lr, groups.len()),
        None => Vec::new(),
    };
    let scheduler = cfg.schedule.init(
        &ScheduleContext::new(cfg.lr, cfg.epochs, updates_per_epoch)
            .with_groups(&groups, group_lrs)
            .with_hyper_params(hyper.clone())
            .with_plateau(plateau.clone()),
    )?;
    // timm's param_groups_weight_decay: biases and normalization weights train without decay
    let no_decay = (!cfg.weight_decay_norm_bias).then(|| no_weight_decay_params(model));
    let optimizer = cfg.optimizer.init_with_no_decay(hyper.as_ref(), no_decay)?;
    Ok(Optimization {
        optimizer,
        scheduler,
        plateau,
    })
}
