//! Learning-rate schedules as burn [`LrScheduler`](burn::optim::lr_scheduler::LrScheduler)s,
//! stepped once per optimizer update.

mod warmup_cosine;

pub use warmup_cosine::WarmupCosineLr;
