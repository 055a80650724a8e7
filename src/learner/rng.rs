//! [`RngStream`]: the named random streams of a run.
//!
//! Every random choice of a run draws from its own stream, seeded by
//! [`derive_seed`]`(run_seed, [stream])`, so that turning one feature on (augmentation, say)
//! does not shift the draws of another (the shuffle), and a run is reproducible from its seed
//! whatever the number of decoding threads. The numbers are part of the run's identity: a
//! stream keeps its number across versions so that the same seed gives the same run.

use crate::util::derive_seed;

/// One of a run's random streams (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RngStream {
    /// The training loader's batch order (per epoch: `derive_seed(stream_seed, [epoch])`).
    Shuffle = 1,
    /// The device's RNG during training: dropout and every other random op of the model.
    Device = 2,
    /// Batch mixing draws (mixup / CutMix lam, boxes, partners).
    Mixup = 3,
    /// The training sampler's draws.
    Sampler = 4,
    /// Per-sample augmentation (per item: `derive_seed(stream_seed, [epoch, index])`).
    Augment = 5,
}

impl RngStream {
    /// The stream's seed for a run seeded with `run_seed`.
    pub fn seed(self, run_seed: u64) -> u64 {
        derive_seed(run_seed, &[self as u64])
    }
}
