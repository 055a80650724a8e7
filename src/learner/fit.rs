//! [`Learner`]: the high level, `fit` as [`prepare`], [`optimization`], [`train`](super::train()) and
//! [`finish`] in a row.

use burn::tensor::Device;

use super::config::LearnerConfig;
use super::finish::{DataInfo, finish};
use super::fitted::Fitted;
use super::optimization::optimization;
use super::prepare::{Prepared, prepare};
use super::resume::resume_model;
use super::stop::StopSignal;
use super::training::train_until;
use crate::data::ImageDataset;
use crate::error::Result;
use crate::model::ImageClassifier;

/// Trains image classifiers with a [`LearnerConfig`] on one device (see the module docs).
#[derive(Debug)]
pub struct Learner {
    config: LearnerConfig,
    device: Device,
    stop: Option<StopSignal>,
}

impl Learner {
    /// A learner for `config` on `device`. It seeds the device's RNG with `config.seed`, so a
    /// model initialised after this call starts from the same weights on every run.
    pub fn new(config: LearnerConfig, device: &Device) -> Self {
        device.seed(config.seed);
        Self {
            config,
            device: device.clone(),
            stop: None,
        }
    }

    /// Stops training cleanly when `stop` is set (see [`StopSignal`]: Ctrl-C / SIGTERM after
    /// [`StopSignal::on_terminate`], or [`StopSignal::stop`]): [`Self::fit`],
    /// [`Self::fine_tune`] and the k-fold runs then return
    /// [`PodiumError::Interrupted`](crate::PodiumError::Interrupted). Without it no stop request
    /// is watched (and the library never installs a signal handler by itself).
    pub fn with_stop_signal(mut self, stop: StopSignal) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The stop signal watched, if any.
    pub fn stop_signal(&self) -> Option<&StopSignal> {
        self.stop.as_ref()
    }

    /// A learner for `config` on the same device with the same stop signal (a phase or a fold
    /// of this one); seeds the device as [`Self::new`] does.
    pub(crate) fn with_config(&self, config: LearnerConfig) -> Self {
        let mut learner = Self::new(config, &self.device);
        learner.stop = self.stop.clone();
        learner
    }

    /// The config.
    pub fn config(&self) -> &LearnerConfig {
        &self.config
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trains `model` on `train`, validating on `valid` after each epoch, and returns the best
    /// epoch's model (by [`LearnerConfig::monitor`]) with the metric history.
    ///
    /// It is the four mid-level steps in a row, each usable alone in a custom loop:
    /// [`prepare`] (checks the config, that both datasets are labelled with the same classes and
    /// that every image decodes ([`LearnerConfig::corrupt_images`]); builds the loaders and the
    /// objective), [`optimization`] (optimizer and schedule), [`train`](super::train()) (burn-train) and
    /// [`finish`] (best epoch, `run.json`).
    ///
    /// # Errors
    /// [`PodiumError::Config`](crate::PodiumError::Config) for an invalid config or mismatched datasets; the decoding error of
    /// a corrupt image under [`CorruptPolicy::Fail`](crate::data::CorruptPolicy::Fail);
    /// [`PodiumError::Io`](crate::PodiumError::Io) if the run directory cannot be written; [`PodiumError::Training`](crate::PodiumError::Training) if
    /// training stopped on an error; [`PodiumError::NonFinite`](crate::PodiumError::NonFinite)
    /// for a NaN or infinite loss or gradient under the default
    /// [`NanPolicy::Stop`](super::NanPolicy::Stop);
    /// [`PodiumError::Interrupted`](crate::PodiumError::Interrupted) when the
    /// [stop signal](Self::with_stop_signal) was set.
    pub fn fit<M: ImageClassifier>(
        &self,
        model: M,
        train: ImageDataset,
        valid: ImageDataset,
    ) -> Result<Fitted<M>> {
        let prepared = prepare(&self.config, train, Some(valid))?;
        let model = resume_model(&self.config, model)?;
        let optimization = optimization(&self.config, &model, prepared.updates_per_epoch)?;
        let data = DataInfo::from(&prepared);
        let Prepared {
            train,
            valid,
            objective,
            ..
        } = prepared;
        let valid = valid.expect("prepare was given validation data");
        let trained = train_until(
            &self.config,
            model,
            objective,
            (train, valid),
            optimization,
            &self.device,
            self.stop.as_ref(),
        )?;
        finish(&self.config, trained, data, &self.device)
    }
}
