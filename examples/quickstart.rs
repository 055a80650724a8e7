//! Quickstart: a small CNN on the embedded handwritten digits, seeded stratified 80/20 split.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```
//!
//! Prints per-epoch metrics, then `test accuracy: NN.NN%` and the run directory (checkpoints,
//! `metrics.csv`, `config.json`, `run.json`).

use burn_podium::prelude::*;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let device = default_device();
    let seed = 42;

    // 1,797 8x8 grayscale digits, embedded in the crate: 80% to fit, 20% held out as the test set.
    let (train, test) = digits()?.split_stratified(0.2, seed)?;
    // From the training part, 10% validates each epoch and picks the best checkpoint.
    let (train, valid) = train.split_stratified(0.1, seed)?;
    println!(
        "digits: {} train, {} valid, {} test images, {} classes",
        train.len(),
        valid.len(),
        test.len(),
        train.num_classes()
    );

    let config = LearnerConfig::new()
        .with_epochs(30)
        .with_batch_size(32)
        .with_lr(3e-3)
        .with_label_smoothing(0.05)
        .with_monitor(Monitor::ValidAccuracy)
        .with_seed(seed)
        .with_run_dir(
            fresh_run_dir("runs/quickstart")
                .to_string_lossy()
                .into_owned(),
        );
    let learner = Learner::new(config, &device);
    let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;

    let fitted = learner.fit(model, train, valid)?;
    let report = fitted.evaluate(&test)?;
    println!(
        "best epoch {} (valid accuracy {:.2}%)",
        fitted.info.best_epoch,
        fitted.best_valid_accuracy()
    );
    println!("test accuracy: {:.2}%", report.accuracy);
    println!("run directory: {}", fitted.run_dir.display());
    Ok(())
}
