//! fastai's learning-rate finder on a model and a training set.

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::optim::GradientsParams;
use serde::{Deserialize, Serialize};

use super::{Classification, Learner};
use crate::data::{ClassificationBatcher, ImageDataset, ImageLoader, Normalize};
use crate::error::{PodiumError, Result};
use crate::model::ImageClassifier;
use crate::schedule::{SmoothedLoss, Suggested, Suggestion, lr_find_schedule, suggest};
use crate::util::derive_seed;

/// Settings of [`Learner::lr_find`], with fastai's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrFinderConfig {
    /// First learning rate (1e-7).
    pub start_lr: f64,
    /// The sweep ends below this rate (10).
    pub end_lr: f64,
    /// Number of steps (100).
    pub num_it: usize,
    /// Smoothing of the loss (0.98).
    pub beta: f32,
    /// Stop when the smoothed loss exceeds `stop_div_factor` times its best (true, 4).
    pub stop_div: bool,
    /// The divergence factor (4).
    pub stop_div_factor: f64,
}

impl Default for LrFinderConfig {
    fn default() -> Self {
        Self {
            start_lr: 1e-7,
            end_lr: 10.0,
            num_it: 100,
            beta: 0.98,
            stop_div: true,
            stop_div_factor: 4.0,
        }
    }
}

/// The recorded curve of a sweep and its suggestions.
#[derive(Clone, Debug, PartialEq)]
pub struct LrFinderResult {
    /// `(learning rate, smoothed loss)` per recorded step.
    pub recorded: Vec<(f64, f64)>,
    /// The sweep's planned length.
    pub num_it: usize,
}

impl LrFinderResult {
    /// A suggestion from the curve (fastai's `valley` is the default).
    ///
    /// # Errors
    /// [`PodiumError::Config`] when the sweep stopped too early to suggest.
    pub fn suggest(&self, which: Suggestion) -> Result<Suggested> {
        suggest(&self.recorded, self.num_it, which)
    }

    /// Writes the curve as `lr,smoothed_loss` rows (through a temporary file and a rename), for
    /// plotting.
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming the file.
    pub fn write_csv(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        use std::io::Write;
        let path = path.as_ref();
        let tmp = path.with_extension("csv.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            writeln!(f, "lr,smoothed_loss")?;
            for (lr, loss) in &self.recorded {
                writeln!(f, "{lr:e},{loss}")?;
            }
            f.flush()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| PodiumError::io(path, e))
    }
}

impl Learner {
    /// fastai's `lr_find`: trains a copy of `model` for up to `num_it` steps with the learning
    /// rate growing exponentially from `start_lr` towards `end_lr`, records the debiased smoothed
    /// loss and stops once it diverges. `model` itself is not changed (the sweep works on a copy
    /// with its own BatchNorm statistics). Uses the config's loss, optimizer, batch size and
    /// gradient clipping; batches are plain (no mixing, no sampler).
    ///
    /// # Errors
    /// The config's and the data's errors, as [`Learner::fit`]; [`PodiumError::Config`] for an
    /// empty range or no steps.
    pub fn lr_find<M: ImageClassifier>(
        &self,
        model: &M,
        train: &ImageDataset,
        finder: &LrFinderConfig,
    ) -> Result<LrFinderResult> {
        let cfg = self.config();
        cfg.validate()?;
        if !(finder.start_lr > 0.0 && finder.end_lr > finder.start_lr) {
            return Err(PodiumError::config(
                "lr_find.start_lr/end_lr",
                format!("{}/{}", finder.start_lr, finder.end_lr),
                "need 0 < start_lr < end_lr",
            ));
        }
        if finder.num_it == 0 {
            return Err(PodiumError::config(
                "lr_find.num_it",
                0,
                "must be at least 1",
            ));
        }
        let (train, _) = train.verify(cfg.corrupt_images)?;
        let normalize = match &cfg.normalize {
            Some(n) => n.clone(),
            None => Normalize::estimate(&train, 4096)?,
        };
        let objective = cfg.loss.init(&train.class_counts())?;
        let device = self.device().clone();
        let loader =
            ImageLoader::new(train, ClassificationBatcher::new(normalize), cfg.batch_size)?
                .shuffle(derive_seed(cfg.seed, &[5]))
                .drop_last(true)
                .num_workers(cfg.num_workers)?
                .with_device(&device.clone().autodiff());
        if loader.num_batches() == 0 {
            return Err(PodiumError::config(
                "batch_size",
                cfg.batch_size,
                "larger than the training set",
            ));
        }
        let mut optim = cfg.optimizer.init()?;
        let mut wrapped = Classification::new(model.clone(), objective)
            .with_clip_grad(cfg.clip_grad)
            .train()
            .fork(&device.clone().autodiff());
        let lrs = lr_find_schedule(finder.start_lr, finder.end_lr, finder.num_it);
        let mut smooth = SmoothedLoss::new(finder.beta, finder.stop_div_factor);
        let mut step = 0;
        'sweep: loop {
            for batch in loader.iter() {
                let batch = batch.map_err(|e| PodiumError::Training(e.to_string()))?;
                let lr = lrs[step];
                let out = wrapped.forward_train(batch);
                let loss = out
                    .loss
                    .clone()
                    .try_into_vec_as::<f32>()
                    .map_err(|e| PodiumError::Training(e.to_string()))?[0];
                let grads = GradientsParams::from_grads(out.loss.backward(), &wrapped);
                wrapped = burn::train::TrainStep::optimize(wrapped, &mut optim, lr.into(), grads);
                let diverged = smooth.record(lr, loss);
                step += 1;
                if (finder.stop_div && diverged) || step == finder.num_it {
                    break 'sweep;
                }
            }
        }
        Ok(LrFinderResult {
            recorded: smooth.recorded,
            num_it: finder.num_it,
        })
    }
}
