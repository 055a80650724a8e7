//! Batch mixing: mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) with timm's `Mixup`
//! semantics, and fastai's loss-mixing form for integer labels.
//!
//! Sample `i` is always mixed with sample `B - 1 - i` (the batch flipped). A [`Mixup`] owns a
//! seeded RNG, so a run is reproducible; its draws can also be given explicitly
//! ([`MixOp::from_draw`], [`MixPlan`]) to pin a case, as the reference tests do. A mixed
//! batch's targets are one [`MixTargets`], which the loader's batches carry and the loss
//! reads; fastai's formula `mean_i(lam_i l_a + (1 - lam_i) l_b)` is
//! [`MixTargets::mix_losses`], the one place it is written.
//!
//! | podium | timm / fastai |
//! |---|---|
//! | [`MixupConfig`], [`Mixup`] | `timm.data.Mixup` |
//! | [`mixup_target`], [`mixup_target_multi_label`] | `timm.data.mixup.mixup_target` |
//! | [`cutmix_bbox`], [`cutmix_bbox_minmax`], [`cutmix_corrected_lam`] | `rand_bbox`, `rand_bbox_minmax`, `cutmix_bbox_and_lam` |
//! | [`MixTargets::mix_losses`] | fastai's `MixUp.lf` (`torch.lerp(loss_b, loss_a, lam)`, mean) |

mod bbox;
mod mixed;
mod mixup;
mod target;

pub use bbox::{cutmix_bbox, cutmix_bbox_minmax, cutmix_corrected_lam};
pub use mixed::MixTargets;
pub use mixup::{MixMode, MixOp, MixPlan, Mixup, MixupConfig};
pub use target::{mixup_target, mixup_target_multi_label};
