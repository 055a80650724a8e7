#![warn(missing_docs)]
//! # podium
//!
//! Kaggle-grade image classification on [Burn](https://burn.dev): data readers, a reproducible
//! loader, models and a [`Learner`](learner::Learner) built on burn-train, with numbers that
//! match the PyTorch libraries practitioners trust (timm, torchvision, torch).
//!
//! ```no_run
//! use burn_podium::prelude::*;
//!
//! # fn main() -> burn_podium::Result<()> {
//! let device = default_device();
//! let (train, valid) = digits()?.split_stratified(0.2, 42)?;
//! let learner = Learner::new(LearnerConfig::new().with_epochs(20), &device);
//! let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
//! let fitted = learner.fit(model, train, valid)?;
//! println!("best valid accuracy {:.2}%", fitted.best_valid_accuracy());
//! # Ok(()) }
//! ```
//!
//! Layout, in the order of the data flow (each module imports only those before it): [`codec`]
//! (decoding files into 8-bit bitmaps), [`data`] (readers, splits, k-folds), [`augment`]
//! (torchvision-exact image ops, one struct per random transform, RandAugment / TrivialAugment /
//! AugMix / AutoAugment, pipelines from one config), [`mix`] (mixup and CutMix), [`sample`]
//! (samplers for imbalanced data), [`loader`] (the batcher and the reproducible loader where
//! those meet), [`model`] (ResNet and EfficientNet with PyTorch weights, heads, fine-tuning
//! controls, summaries), [`loss`] (losses matching torch/timm), [`optim`] (torch/timm
//! optimizers, SAM, Lookahead), [`schedule`] (learning rates), [`average`] (EMA and SWA),
//! [`learner`] (training on burn-train, `fine_tune`), [`infer`] (prediction and submission
//! files), [`report`] (evaluation reports: per-class metrics, confusion matrix, curves, top
//! losses), [`recipe`] (one file for a whole experiment and the `podium` command's steps),
//! [`util`]; [`kernel`] (podium's own CPU kernels for the flex backend) sits below [`model`].

pub mod augment;
pub mod average;
pub mod codec;
pub mod data;
pub mod device;
pub mod error;
pub mod infer;
pub mod kernel;
pub mod learner;
pub mod loader;
pub mod loss;
pub mod metrics;
pub mod mix;
pub mod model;
pub mod optim;
pub mod prelude;
pub mod recipe;
pub mod report;
pub mod sample;
pub mod schedule;
pub mod util;

pub use error::{PodiumError, Result};
