//! The competition workflow on your own images: a class-folder tree or a `filename,label` CSV,
//! a validation split, training with checkpoints and a metrics CSV, and optionally a submission
//! file for an unlabelled test folder.
//!
//! ```sh
//! # class folders: data/train/<class>/<image>
//! cargo run --release --example train_folder -- --folder data/train --size 64 --epochs 10
//! # a label file, as competitions ship them, and a test folder to predict
//! cargo run --release --example train_folder -- --csv data/train.csv --images data/train \
//!     --test-dir data/test --size 64 --epochs 10 --out runs/my_comp
//! ```

use std::path::PathBuf;

use burn_podium::augment::HorizontalFlip;
use burn_podium::codec::{ColorMode, DecodeOptions};
use burn_podium::data::CorruptPolicy;
use burn_podium::prelude::*;
use burn_podium::schedule::WarmupCosineConfig;
use clap::Parser;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Train an image classifier on a folder or CSV of images.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Folder with one sub-folder per class.
    #[arg(long, conflicts_with = "csv", required_unless_present = "csv")]
    folder: Option<PathBuf>,
    /// CSV label file of `filename,label` rows (header optional).
    #[arg(long, requires = "images")]
    csv: Option<PathBuf>,
    /// Folder holding the images the CSV names.
    #[arg(long)]
    images: Option<PathBuf>,
    /// A fixed validation folder (same class sub-folders) instead of a random split.
    #[arg(long, conflicts_with = "valid_list")]
    valid_dir: Option<PathBuf>,
    /// A text file listing the validation file names, one per line.
    #[arg(long)]
    valid_list: Option<PathBuf>,
    /// Fraction of the data held out for validation (seeded, stratified by class).
    #[arg(long, default_value_t = 0.2)]
    valid_fraction: f64,
    /// Unlabelled test folder: predictions go to `<out>/submission.csv`.
    #[arg(long)]
    test_dir: Option<PathBuf>,
    /// Input size (images are resized to size x size).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Decode as grayscale instead of RGB.
    #[arg(long)]
    gray: bool,
    /// Number of epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate (AdamW, cosine schedule with one warm-up epoch).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Label smoothing (of the cross-entropy, or of the mixed targets with --mixup/--cutmix).
    #[arg(long, default_value_t = 0.1)]
    label_smoothing: f64,
    /// Mixup alpha (0: off). With --cutmix too, each batch picks one (timm's switch_prob 0.5).
    #[arg(long, default_value_t = 0.0)]
    mixup: f64,
    /// CutMix alpha (0: off).
    #[arg(long, default_value_t = 0.0)]
    cutmix: f64,
    /// Training augmentation: a pipeline JSON file (see `burn_podium::augment::PipelineConfig`),
    /// or a timm policy string such as `rand-m9-n2-mstd0.5` or `trivial` (applied after a random
    /// horizontal flip).
    #[arg(long)]
    augment: Option<String>,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long)]
    patience: Option<usize>,
    /// Skip images that do not decode (default: stop and name the file).
    #[arg(long)]
    skip_corrupt: bool,
    /// Run directory: checkpoints, metrics.csv, config.json, run.json.
    #[arg(long, default_value = "runs/train_folder")]
    out: PathBuf,
    /// Run seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Device: auto, flex, cpu, ndarray, cuda, cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
}

fn main() {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> burn_podium::Result<()> {
    let device = device_from_name(&args.device)?;
    let color = if args.gray {
        ColorMode::Gray
    } else {
        ColorMode::Rgb
    };
    let decode = DecodeOptions::rgb(args.size, args.size).with_color(color);

    let data = match (&args.folder, &args.csv, &args.images) {
        (Some(folder), _, _) => ImageDataset::from_folder(folder)?,
        (None, Some(csv), Some(images)) => ImageDataset::from_csv(csv, images, None)?,
        _ => unreachable!("clap requires --folder or --csv with --images"),
    }
    .with_decode(decode);
    let (train, valid) = match (&args.valid_dir, &args.valid_list) {
        (Some(dir), _) => (data, ImageDataset::from_folder(dir)?.with_decode(decode)),
        (None, Some(list)) => data.split_by_list_file(list)?,
        (None, None) => data.split_stratified(args.valid_fraction, args.seed)?,
    };
    println!(
        "{} training and {} validation images, {} classes: {:?}",
        train.len(),
        valid.len(),
        train.num_classes(),
        train.classes()
    );

    let augment = match &args.augment {
        None => None,
        Some(a) if std::path::Path::new(a).is_file() => {
            Some(PipelineConfig::from_file(std::path::Path::new(a))?)
        }
        Some(a) => Some(PipelineConfig::new(vec![
            HorizontalFlip::default().into(),
            TransformConfig::from_timm(a)?,
        ])),
    };
    let mixing = args.mixup > 0.0 || args.cutmix > 0.0;
    let config = LearnerConfig::new()
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_lr(args.lr)
        .with_label_smoothing(args.label_smoothing)
        .with_mixup(mixing.then(|| {
            MixupConfig::new()
                .with_mixup_alpha(args.mixup)
                .with_cutmix_alpha(args.cutmix)
        }))
        .with_augment(augment)
        .with_schedule(ScheduleConfig::Cosine(
            WarmupCosineConfig::new().with_warmup_epochs(1.min(args.epochs - 1)),
        ))
        .with_early_stopping(args.patience.map(EarlyStoppingConfig::new))
        .with_corrupt_images(if args.skip_corrupt {
            CorruptPolicy::Skip
        } else {
            CorruptPolicy::Fail
        })
        .with_seed(args.seed)
        .with_run_dir(fresh_run_dir(&args.out).to_string_lossy().into_owned());
    let learner = Learner::new(config, &device);
    let model = SimpleCnnConfig::new(train.num_classes())
        .with_in_channels(color.channels())
        .init(&device)?;
    let fitted = learner.fit(model, train, valid)?;

    println!(
        "best epoch {}: valid accuracy {:.2}%, valid loss {:.4}",
        fitted.info.best_epoch,
        fitted.best_valid_accuracy(),
        fitted.best_valid_loss()
    );
    if let Some(test_dir) = &args.test_dir {
        let test = ImageDataset::from_unlabelled_folder(test_dir)?.with_decode(decode);
        let predictions = fitted.predict(&test)?;
        let path = fitted.run_dir.join("submission.csv");
        predictions.write_submission(&path, &SubmissionConfig::new())?;
        println!("submission: {} ({} rows)", path.display(), test.len());
    }
    println!("run directory: {}", fitted.run_dir.display());
    Ok(())
}
