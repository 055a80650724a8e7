//! [`HyperParams`]: the explicit path by which a schedule drives an optimizer's hyper-parameters
//! during training (one-cycle's momentum / beta1 curve today).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One shared `f64`, empty until first set (stored as bits; NaN marks "not set").
#[derive(Debug)]
struct Slot(AtomicU64);

impl Default for Slot {
    fn default() -> Self {
        Self(AtomicU64::new(f64::NAN.to_bits()))
    }
}

impl Slot {
    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> Option<f64> {
        let v = f64::from_bits(self.0.load(Ordering::Relaxed));
        (!v.is_nan()).then_some(v)
    }
}

/// The hyper-parameters a schedule may set on an optimizer while it trains. One slot per
/// hyper-parameter; each is empty until a schedule sets it, and an optimizer reads a slot it
/// takes at every step, keeping its configured value while the slot is empty.
#[derive(Debug, Default)]
struct Slots {
    momentum: Slot,
}

/// A cloneable handle to the hyper-parameters a schedule drives during training, shared between
/// the schedule that writes them and the optimizer that reads them each step (clones share the
/// values).
///
/// Today it carries one value, the momentum of torch's `OneCycleLR` (Smith and Topin 2019):
/// a schedule runner (`schedule::ScheduleRunner`) running a one-cycle schedule
/// writes each step's value, [`TorchSgd`](super::TorchSgd) reads it as its momentum and the Adam
/// family ([`TorchAdam`](super::TorchAdam), [`RAdam`](super::RAdam), [`NAdam`](super::NAdam),
/// [`Adamax`](super::Adamax), [`AdaBelief`](super::AdaBelief), [`Lamb`](super::Lamb)) as beta1,
/// as torch rewrites `momentum` or `betas[0]` in the optimizer's parameter groups. Further
/// hyper-parameters (weight decay) become further slots of this handle.
///
/// Build the optimizer with it through
/// [`OptimizerConfig::init`](super::OptimizerConfig::init) (or [`WithHyperParams`] on a typed
/// optimizer) and hand the same handle to the schedule
/// (`schedule::ScheduleContext::with_hyper_params`; `optim` does not depend on `schedule`).
#[derive(Clone, Debug, Default)]
pub struct HyperParams(Arc<Slots>);

impl PartialEq for HyperParams {
    /// Two handles are equal when they share their values.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl HyperParams {
    /// A handle with every value empty (optimizers keep their configured values until a
    /// schedule sets one).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the momentum (SGD) or beta1 (Adam family) of the coming optimizer steps.
    pub fn set_momentum(&self, momentum: f64) {
        self.0.momentum.set(momentum);
    }

    /// The momentum / beta1 last set, `None` before the first.
    pub fn momentum(&self) -> Option<f64> {
        self.0.momentum.get()
    }
}

/// An optimizer that reads hyper-parameters from a [`HyperParams`] handle each step: the
/// momentum for [`TorchSgd`](super::TorchSgd), beta1 for the Adam family.
pub trait WithHyperParams: Sized {
    /// The optimizer reading its momentum (or beta1) from `hyper` once a value is set there; the
    /// configured value until then.
    fn with_hyper_params(self, hyper: HyperParams) -> Self;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_values() {
        let a = HyperParams::new();
        let b = a.clone();
        assert_eq!(a.momentum(), None);
        b.set_momentum(0.85);
        assert_eq!(a.momentum(), Some(0.85));
        assert_eq!(a, b);
        assert_ne!(a, HyperParams::new());
    }
}
