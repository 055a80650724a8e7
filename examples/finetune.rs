//! Fine-tuning a pretrained ResNet-18 on the embedded digits, fastai style: load PyTorch
//! weights, print the summary, put a dual-pooling (`catavgmax`) head for the 10 digit classes
//! on it, train the head on the frozen backbone, then everything with discriminative rates.
//!
//! ```sh
//! cargo run --release --example finetune
//! # torchvision's ImageNet weights, downloaded by hand:
//! cargo run --release --example finetune -- --weights resnet18-f37072fd.pth
//! ```

use std::path::PathBuf;

use burn_podium::codec::{ColorMode, DecodeOptions};
use burn_podium::data::digits;
use burn_podium::learner::{FineTuneConfig, Learner, LearnerConfig, ProgressMode, fresh_run_dir};
use burn_podium::model::{GlobalPool, ResNetConfig};
use burn_podium::prelude::default_device;
use clap::Parser;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// A torchvision ResNet-18 state dict (`.pth` or `.safetensors`), any number of classes.
    #[arg(long, default_value = "../shared/reference/models/resnet18_c10.pth")]
    weights: PathBuf,
    /// Epochs of the unfrozen phase (one frozen epoch comes first).
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Where the runs go.
    #[arg(long, default_value = "runs/finetune")]
    out: String,
}

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let args = Args::parse();
    let device = default_device();

    // The digits, upscaled to 32x32 RGB; 20% held out for the test, 10% of the rest validates.
    let data = digits()?.with_decode(DecodeOptions::rgb(32, 32).with_color(ColorMode::Rgb));
    let (train, test) = data.split_stratified(0.2, 42)?;
    let (train, valid) = train.split_stratified(0.1, 42)?;

    // The pretrained backbone, with a fresh dual-pooling head for the 10 classes.
    let model = ResNetConfig::new(18)
        .init(&device)?
        .load_backbone(&args.weights)?
        .reset_classifier(10, GlobalPool::CatAvgMax, &device);
    println!("{}", model.summary([1, 3, 32, 32]));

    let config = LearnerConfig::new()
        .with_batch_size(64)
        .with_run_dir(fresh_run_dir(&args.out).to_string_lossy().into_owned())
        .with_progress(ProgressMode::Plain);
    let learner = Learner::new(config, &device);
    let fitted = learner.fine_tune(model, train, valid, &FineTuneConfig::new(args.epochs))?;
    let report = fitted.evaluate(&test)?;
    println!(
        "test accuracy: {:.2}% on {} digits",
        report.accuracy, report.num_samples
    );
    Ok(())
}
