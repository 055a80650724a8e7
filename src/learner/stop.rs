//! [`StopSignal`]: stop a run cleanly on Ctrl-C / SIGTERM (or on request), opt-in.
//!
//! The library installs no signal handler by itself: a program that wants `podium train`'s
//! behaviour calls [`StopSignal::on_terminate`] once and hands the handle to its
//! [`Learner`](super::Learner) ([`Learner::with_stop_signal`](super::Learner::with_stop_signal)).
//!
//! | podium | Lightning | shell |
//! |---|---|---|
//! | first SIGINT / SIGTERM: the epoch under way is abandoned, [`PodiumError::Interrupted`](crate::PodiumError::Interrupted), resume from the last complete epoch | `Trainer` on SIGINT/SIGTERM: `on_exception`, graceful shutdown | exit code `128 + signal` ([`StopSignal::exit_code`]: 130, 143) |
//! | a second SIGINT / SIGTERM: the process exits at once with `128 + signal` | a second Ctrl-C kills | |

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{PodiumError, Result};

/// The value of the flag after [`StopSignal::stop`] (no signal number).
const REQUESTED: usize = usize::MAX;

/// A request to stop training, shared by cheap clones: set by [`Self::stop`] or, after
/// [`Self::on_terminate`], by SIGINT or SIGTERM.
///
/// A [`Learner`](super::Learner) given one ([`Learner::with_stop_signal`](super::Learner::with_stop_signal))
/// checks it at every training and validation step. Once set, the run stops after the step
/// under way: the epoch is abandoned (not validated, not checkpointed; `metrics.csv` may hold
/// its partial training row, which a resumed run replaces), the checkpoints being written for
/// the previous epoch are finished, and
/// [`train`](super::train())/[`Learner::fit`](super::Learner::fit) return
/// [`PodiumError::Interrupted`] naming the run directory and the last complete epoch, where
/// [`LearnerConfig::resume`](super::LearnerConfig::resume) continues. A run asked to stop
/// before it starts returns the error at once.
///
/// ```no_run
/// use burn_podium::learner::StopSignal;
/// use burn_podium::prelude::*;
/// # fn main() -> burn_podium::Result<()> {
/// let stop = StopSignal::on_terminate()?; // SIGINT / SIGTERM from now on
/// let device = default_device();
/// let learner = Learner::new(LearnerConfig::new(), &device).with_stop_signal(stop.clone());
/// let (train, valid) = digits()?.split_stratified(0.2, 0)?;
/// let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
/// match learner.fit(model, train, valid) {
///     Err(e @ PodiumError::Interrupted { .. }) => {
///         eprintln!("{e}");
///         std::process::exit(stop.exit_code().unwrap_or(1).into());
///     }
///     other => { other?; }
/// }
/// # Ok(()) }
/// ```
///
/// Two handles are equal when they are clones of one another (they share the flag).
#[derive(Clone, Debug, Default)]
pub struct StopSignal {
    /// 0: running; a signal number; or [`REQUESTED`].
    flag: Arc<AtomicUsize>,
}

impl PartialEq for StopSignal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.flag, &other.flag)
    }
}

impl Eq for StopSignal {}

impl StopSignal {
    /// A handle no signal sets: only [`Self::stop`] does (a time limit, a GUI button).
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle that SIGINT (Ctrl-C) and SIGTERM set, through handlers installed now for the
    /// rest of the process (the `signal-hook` crate; they only store to atomics). The first such
    /// signal asks the run to stop; a second one ends the process at once with exit code
    /// `128 + signal` (130 for SIGINT, 143 for SIGTERM), as a shell reports a process killed by
    /// it. Calling it again installs another, independent set of handlers.
    ///
    /// # Errors
    /// [`PodiumError::Io`] (path `SIGINT`/`SIGTERM`) if a handler cannot be installed.
    pub fn on_terminate() -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::flag;
        let stop = Self::new();
        let received = Arc::new(AtomicBool::new(false));
        for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let io = |e| PodiumError::io(name, e);
            let code = 128 + signal;
            // registered first, so it sees the flag as the previous signal left it
            flag::register_conditional_shutdown(signal, code, received.clone()).map_err(io)?;
            flag::register(signal, received.clone()).map_err(io)?;
            flag::register_usize(signal, stop.flag.clone(), signal as usize).map_err(io)?;
        }
        Ok(stop)
    }

    /// Asks the run to stop, as a signal does (without ending the process on a second call).
    pub fn stop(&self) {
        let _ = self
            .flag
            .compare_exchange(0, REQUESTED, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst) != 0
    }

    /// The signal that asked for the stop (2 for SIGINT, 15 for SIGTERM); `None` when none
    /// did (not set, or set by [`Self::stop`]).
    pub fn signal(&self) -> Option<i32> {
        match self.flag.load(Ordering::SeqCst) {
            0 | REQUESTED => None,
            s => i32::try_from(s).ok(),
        }
    }

    /// The exit code a shell gives a process the signal ended, `128 + signal` (130 for SIGINT,
    /// 143 for SIGTERM); `None` when no signal asked for the stop.
    pub fn exit_code(&self) -> Option<u8> {
        self.signal().and_then(|s| u8::try_from(128 + s).ok())
    }

    /// What asked for the stop, for messages: `SIGINT`, `SIGTERM`, `signal N` or
    /// `stop requested`; `None` when not set.
    pub fn reason(&self) -> Option<String> {
        match self.flag.load(Ordering::SeqCst) {
            0 => None,
            REQUESTED => Some("stop requested".into()),
            2 => Some("SIGINT".into()),
            15 => Some("SIGTERM".into()),
            s => Some(format!("signal {s}")),
        }
    }
}
