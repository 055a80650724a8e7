//! Batch mixing: mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) with timm's `Mixup`
//! semantics, and fastai's loss-mixing form for integer labels.
//!
//! Sample `i` is always mixed with sample `B - 1 - i` (the batch flipped). A [`Mixup`] owns a
//! seeded RNG, so a run is reproducible; its draws can also be given explicitly
//! ([`MixOp::from_draw`], [`MixPlan`]) to pin a case, as the reference tests do.

mod bbox;
mod mixup;
mod target;

pub use bbox::{cutmix_bbox, cutmix_bbox_minmax, cutmix_corrected_lam};
pub use mixup::{MixMode, MixOp, MixPlan, MixedBatch, Mixup, MixupConfig};
pub use target::{mixup_target, mixup_target_multi_label};
