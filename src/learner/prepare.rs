//! [`prepare`]: the one place where a [`LearnerConfig`] meets the data.
//!
//! It checks the config and the datasets once, then builds everything a run needs from them:
//! the training loader (augmentation, batch mixing, sampler, each on its own
//! [`RngStream`]), the validation loader, the training objective, the normalization and the
//! input shape. [`Learner::fit`](super::Learner::fit), [`Learner::lr_find`](super::Learner::lr_find)
//! and a hand-written loop all start here, so they train on the same batches.

use burn::tensor::Device;

use super::config::LearnerConfig;
use super::rng::RngStream;
use crate::augment::Normalize;
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::loader::{ClassificationBatcher, ImageLoader};
use crate::loss::Objective;

/// What [`prepare`] builds from a config and the data.
#[derive(Debug)]
pub struct Prepared {
    /// The training loader: shuffled by [`RngStream::Shuffle`], augmented, mixed and sampled
    /// as the config says, the last smaller batch dropped when [`LearnerConfig::drop_last`] is
    /// set or batches are mixed.
    pub train: ImageLoader,
    /// The validation loader (in dataset order, not augmented), when validation data was given;
    /// its images are decoded with timm's evaluation crop when [`LearnerConfig::crop_pct`] is
    /// set ([`ImageDataset::with_eval_crop`]).
    pub valid: Option<ImageLoader>,
    /// The training loss built for the training data's class counts.
    pub objective: Objective,
    /// The normalization every batch gets (training, validation and inference alike).
    pub normalize: Normalize,
    /// The model's input `[channels, height, width]`: a training image as the augmentation
    /// pipeline outputs it (as decoded without one).
    pub input_shape: [usize; 3],
    /// Class names, by label.
    pub classes: Vec<String>,
    /// Optimizer updates per epoch: training batches per epoch over
    /// [`LearnerConfig::grad_accumulation`], rounded up.
    pub updates_per_epoch: usize,
}

impl Prepared {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// The training loader on `device` (a hand-written loop's data; burn-train moves batches
    /// itself).
    pub fn train_on(&self, device: &Device) -> ImageLoader {
        self.train.clone().with_device(device)
    }
}

/// Checks `config`, `train` and `valid` and builds the run's data pieces (see the module docs).
///
/// Corrupt images are handled by [`LearnerConfig::corrupt_images`] here, before any training:
/// every image is decoded once (training photos behind a size-fixing augmentation are only
/// checked to decode, not to share a size). Both loaders get the same policy for files that
/// break later, mid-run ([`ImageLoader::corrupt_images`]): under `Skip` they drop, log and
/// count them ([`ImageLoader::skipped`]).
///
/// # Errors
/// [`PodiumError::Config`] naming the key for an invalid config, empty or unlabelled datasets,
/// classes that differ between `train` and `valid`, a normalization whose channel count differs
/// from the images', a pipeline that does not fit the images; the decoding error of a corrupt
/// image under [`CorruptPolicy::Fail`](crate::data::CorruptPolicy::Fail).
pub fn prepare(
    config: &LearnerConfig,
    train: ImageDataset,
    valid: Option<ImageDataset>,
) -> Result<Prepared> {
    let cfg = config;
    cfg.validate()?;
    check_datasets(&train, valid.as_ref())?;
    let pipeline = cfg
        .augment
        .as_ref()
        .map(|aug| aug.init().map_err(|e| e.in_section("augment")))
        .transpose()?;
    // A training pipeline whose output size does not depend on the input (a leading
    // random_resized_crop or resize) takes photos of any size.
    let fixed_size_augment = pipeline.as_ref().is_some_and(|pipeline| {
        let c = train.decode_options().color.channels();
        let probe = |h, w| pipeline.output_shape([c, h, w]).ok();
        probe(1031, 1237).is_some() && probe(1031, 1237) == probe(1543, 1117)
    });
    let (train, _) = if fixed_size_augment {
        train.verify_decoding(cfg.corrupt_images)?
    } else {
        train.verify(cfg.corrupt_images)?
    };
    let num_classes = train.num_classes();
    let classes = train.classes().to_vec();
    let objective = cfg
        .loss
        .init(&train.class_counts(), cfg.smoothing_for_loss())?;

    let first = train.decode(0)?.image;
    // A pipeline that normalizes gives validation, run.json and inference its normalization
    // (validate rejects a different LearnerConfig::normalize): the batches of every split are
    // normalized the same way.
    let normalize = match (
        pipeline.as_ref().and_then(|p| p.normalization()),
        &cfg.normalize,
    ) {
        (Some(n), _) => n.expanded(first.channels),
        (None, Some(n)) => n.clone(),
        (None, None) => Normalize::estimate(&train, 4096)?,
    };
    if first.channels != normalize.mean.len() {
        return Err(PodiumError::config(
            "normalize",
            format!("{} channels", normalize.mean.len()),
            format!("the images have {} channels", first.channels),
        ));
    }
    // The model's input: what the training pipeline makes of a decoded image (a leading
    // random_resized_crop or resize fixes it), else the decoded image itself.
    let decoded_shape = [first.channels, first.height, first.width];
    let input_shape = match &pipeline {
        Some(pipeline) => pipeline
            .output_shape(decoded_shape)
            .map_err(|e| e.in_section("augment"))?,
        None => decoded_shape,
    };
    // Validation images are decoded with timm's evaluation crop when crop_pct is set (to their
    // own target size, else the model's input size); training images never are.
    let valid = match valid {
        Some(valid) => {
            let valid = valid.with_eval_crop(cfg.crop_pct, [input_shape[1], input_shape[2]])?;
            Some(valid.verify(cfg.corrupt_images)?.0)
        }
        None => None,
    };

    let batcher = ClassificationBatcher::new(normalize.clone());
    let drop_last = (cfg.drop_last || cfg.mixup.is_some()) && train.len() >= cfg.batch_size;
    let mut train_loader = ImageLoader::new(train, batcher.clone(), cfg.batch_size)?
        .corrupt_images(cfg.corrupt_images)
        .shuffle(RngStream::Shuffle.seed(cfg.seed))
        .drop_last(drop_last)
        .num_workers(cfg.num_workers)?;
    if let Some(pipeline) = pipeline {
        train_loader = train_loader
            .augment(pipeline, RngStream::Augment.seed(cfg.seed))
            .map_err(|e| e.in_section("augment"))?;
    }
    if let Some(mix) = &cfg.mixup {
        train_loader = train_loader.mixing(
            mix.clone(),
            cfg.smoothing_for_mixer(),
            RngStream::Mixup.seed(cfg.seed),
        )?;
    }
    let train_labels: Vec<usize> = train_loader
        .dataset()
        .labels()
        .into_iter()
        .map(|l| l.unwrap_or(0))
        .collect();
    if let Some(sampler) = cfg.sampler.init(
        &train_labels,
        num_classes,
        cfg.epochs,
        RngStream::Sampler.seed(cfg.seed),
    )? {
        train_loader = train_loader.sampler(sampler);
    }
    let batches = train_loader.num_batches();
    let updates_per_epoch = batches.div_ceil(cfg.grad_accumulation);
    if batches == 0 {
        return Err(PodiumError::config(
            "batch_size",
            cfg.batch_size,
            "larger than the training set",
        ));
    }
    let valid = valid
        .map(|valid| {
            ImageLoader::new(valid, batcher, cfg.batch_size)?
                .corrupt_images(cfg.corrupt_images)
                .num_workers(cfg.num_workers)
        })
        .transpose()?;
    Ok(Prepared {
        train: train_loader,
        valid,
        objective,
        normalize,
        input_shape,
        classes,
        updates_per_epoch,
    })
}

fn check_datasets(train: &ImageDataset, valid: Option<&ImageDataset>) -> Result<()> {
    for (key, ds) in [("train", Some(train)), ("valid", valid)] {
        let Some(ds) = ds else { continue };
        if ds.is_empty() {
            return Err(PodiumError::config(key, "0 items", "the dataset is empty"));
        }
        if let Some(i) = ds.labels().iter().position(Option::is_none) {
            return Err(PodiumError::config(
                key,
                ds.name(i),
                "training needs every item labelled",
            ));
        }
    }
    if let Some(valid) = valid
        && train.classes() != valid.classes()
    {
        return Err(PodiumError::config(
            "valid.classes",
            format!("{:?}", valid.classes()),
            format!("differ from the training classes {:?}", train.classes()),
        ));
    }
    if train.num_classes() < 2 {
        return Err(PodiumError::config(
            "train.classes",
            train.num_classes(),
            "classification needs at least 2 classes",
        ));
    }
    Ok(())
}
