//! MNIST: the SimpleCnn (width 32) on the real 60,000 training images, AdamW, batch 128, a
//! one-cycle schedule, a small random affine augmentation and an exponential moving average of
//! the weights (timm's `ModelEmaV3`, decay 0.999 with its warm-up); the 10,000 test images are
//! held out until the end.
//!
//! ```sh
//! cargo run --release --example mnist                       # ../shared/data/mnist, 20 epochs
//! cargo run --release --example mnist -- DIR EPOCHS          # another folder, other epochs
//! ```
//!
//! `DIR` holds the four IDX files as LeCun distributes them (`train-images-idx3-ubyte.gz`,
//! `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`,
//! gzipped or not). Prints each epoch's training seconds, then `test accuracy: NN.NN%` and the
//! mean seconds per training epoch (BENCHMARKS.md "MNIST" compares them with PyTorch:
//! `benches/compare_mnist.py` trains the same net the same way).

use std::path::{Path, PathBuf};

use burn_podium::augment::functional::Interpolation;
use burn_podium::augment::{PipelineConfig, RandomAffine};
use burn_podium::average::ModelEmaConfig;
use burn_podium::data::read_idx_dataset;
use burn_podium::optim::AdamWConfig;
use burn_podium::prelude::*;
use burn_podium::schedule::OneCycleConfig;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `name` in `dir`, gzipped (`name.gz`) if that is the file there.
fn idx_file(dir: &Path, name: &str) -> PathBuf {
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() { gz } else { dir.join(name) }
}

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/mnist".into()));
    let epochs = match args.next() {
        None => 20,
        Some(e) => e
            .parse()
            .map_err(|_| PodiumError::config("epochs", &e, "a whole number of epochs, e.g. 20"))?,
    };
    let device = default_device();
    let seed = 0;

    let train = read_idx_dataset(
        idx_file(&dir, "train-images-idx3-ubyte"),
        idx_file(&dir, "train-labels-idx1-ubyte"),
    )?;
    let test = read_idx_dataset(
        idx_file(&dir, "t10k-images-idx3-ubyte"),
        idx_file(&dir, "t10k-labels-idx1-ubyte"),
    )?;
    // 5,000 of the training images validate each epoch and pick the best checkpoint.
    let (train, valid) = train.split_stratified(5_000.0 / 60_000.0, seed)?;
    println!(
        "mnist: {} train, {} valid, {} test images",
        train.len(),
        valid.len(),
        test.len()
    );

    // Up to 10 degrees of rotation, 10% shifts and 10% zoom, bilinear: the usual MNIST recipe.
    let mut affine = RandomAffine::new([-10.0, 10.0]);
    affine.translate = Some([0.1, 0.1]);
    affine.scale = Some([0.9, 1.1]);
    affine.interpolation = Interpolation::Bilinear;
    let config = LearnerConfig::new()
        .with_epochs(epochs)
        .with_batch_size(128)
        .with_lr(1e-2)
        .with_optimizer(OptimizerConfig::AdamW(AdamWConfig::new()))
        .with_schedule(ScheduleConfig::OneCycle(OneCycleConfig::new()))
        .with_augment(Some(PipelineConfig::new(vec![affine.into()])))
        // Validation, the best checkpoint and the test use the averaged weights.
        .with_ema(Some(ModelEmaConfig::V3 {
            decay: 0.999,
            use_warmup: true,
            warmup_gamma: 1.0,
            warmup_power: 3.0 / 4.0,
            min_decay: 0.0,
            update_after_step: 0,
        }))
        .with_monitor(Monitor::ValidAccuracy)
        .with_seed(seed)
        .with_run_dir(fresh_run_dir("runs/mnist").to_string_lossy().into_owned());
    let learner = Learner::new(config, &device);
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(32)
        .init(&device)?;

    let fitted = learner.fit(model, train, valid)?;
    let train_seconds: Vec<f64> = fitted
        .history
        .iter()
        .filter(|row| row.split == "train")
        .map(|row| row.seconds)
        .collect();
    for (epoch, seconds) in train_seconds.iter().enumerate() {
        println!("epoch {}: {seconds:.1} s of training", epoch + 1);
    }
    let report = fitted.evaluate(&test)?;
    println!(
        "best epoch {} (valid accuracy {:.2}%)",
        fitted.info.best_epoch,
        fitted.best_valid_accuracy()
    );
    println!("test accuracy: {:.2}%", report.accuracy);
    println!(
        "seconds per training epoch: {:.1}",
        train_seconds.iter().sum::<f64>() / train_seconds.len().max(1) as f64
    );
    println!("run directory: {}", fitted.run_dir.display());
    Ok(())
}
