//! Stochastic weight averaging (Izmailov et al. 2018), as `torch.optim.swa_utils.AveragedModel`.

use burn::config::Config;
use burn::data::dataloader::DataLoader;
use burn::module::{Module, RunningState};
use burn::tensor::{Device, Tensor};

use super::state::{State, rewrite};
use crate::error::{PodiumError, Result};
use crate::loader::ClassificationBatch;
use crate::model::{BatchNormLayers, ImageClassifier};

/// Configuration of an [`AveragedModel`], torch's `AveragedModel(model, use_buffers=...)` with
/// its default average.
#[derive(Config, Debug)]
pub struct AveragedModelConfig {
    /// Average the BatchNorm running statistics too (torch's `use_buffers`); `false` (torch's
    /// default) copies them from the current model at each update, to be recomputed with
    /// [`update_bn`].
    #[config(default = false)]
    pub use_buffers: bool,
}

impl AveragedModelConfig {
    /// Starts an average from `model` (an independent copy without autodiff, replaced by the
    /// first update).
    ///
    /// # Errors
    /// None today (every setting is valid); a `Result` as every config's `init`.
    pub fn init<M: Module>(&self, model: &M) -> Result<AveragedModel<M>> {
        Ok(AveragedModel {
            avg: model.valid(),
            n_averaged: 0,
            use_buffers: self.use_buffers,
        })
    }
}

/// `torch.optim.swa_utils.AveragedModel` with its default average: the first
/// [`update`](Self::update) copies the model, then `avg = avg + (x - avg) / (n + 1)` with `n` the
/// number of models averaged so far (the plain mean of the snapshots). With `use_buffers = false`
/// (torch's default) BatchNorm running statistics are copied from the current model rather than
/// averaged; recompute them over the training data afterwards with [`update_bn`]. Built by
/// [`AveragedModelConfig::init`].
#[derive(Debug)]
pub struct AveragedModel<M> {
    avg: M,
    n_averaged: usize,
    use_buffers: bool,
}

impl<M: Module> AveragedModel<M> {
    /// Folds the model in.
    pub fn update(&mut self, model: &M) {
        let state = State::of(model);
        let n = self.n_averaged as f64;
        let first = self.n_averaged == 0;
        let use_buffers = self.use_buffers;
        let avg = self.avg.clone();
        self.avg = rewrite(avg, &state, &|avg, x, buffer| {
            if first || (buffer && !use_buffers) {
                x
            } else {
                avg.clone() + (x - avg) / (n + 1.0)
            }
        });
        self.n_averaged += 1;
    }

    /// Number of models averaged.
    pub fn n_averaged(&self) -> usize {
        self.n_averaged
    }

    /// The averaged model (no autodiff).
    pub fn model(&self) -> &M {
        &self.avg
    }

    /// Takes the averaged model.
    pub fn into_model(self) -> M {
        self.avg
    }
}

/// torch's `torch.optim.swa_utils.update_bn`: recomputes every BatchNorm's running statistics
/// for the (averaged) weights by one pass over `loader` in training mode. Statistics are reset
/// (mean 0, variance 1), then batch `k` (from 0) is folded in with momentum `1 / (k + 1)`, the
/// cumulative average torch gets with `momentum = None`; the layers' momenta are restored
/// afterwards. Only the statistics change, the weights do not.
///
/// Batch variances are burn's (biased, over `B * H * W` values) where torch folds in the
/// unbiased ones: a relative difference of `1 / (B H W - 1)`.
///
/// # Errors
/// [`PodiumError::Training`] when the loader yields an error item.
pub fn update_bn<M>(
    model: M,
    loader: &dyn DataLoader<ClassificationBatch>,
    device: &Device,
) -> Result<M>
where
    M: ImageClassifier + BatchNormLayers,
{
    let mut momenta = Vec::new();
    let model = model.map_batch_norms(&mut |mut bn| {
        momenta.push(bn.momentum);
        let [c] = bn.gamma.shape().dims();
        let d = bn.gamma.device();
        bn.running_mean = RunningState::new(Tensor::zeros([c], &d));
        bn.running_var = RunningState::new(Tensor::ones([c], &d));
        bn
    });
    let ad = device.clone().autodiff();
    let mut model = model.train().fork(&ad);
    for (k, batch) in loader.iter().enumerate() {
        let batch = batch.map_err(|e| PodiumError::Training(e.to_string()))?;
        let momentum = 1.0 / (k + 1) as f64;
        model = model.map_batch_norms(&mut |mut bn| {
            bn.momentum = momentum;
            bn
        });
        let _ = model.forward(batch.images.to_device(&ad));
    }
    let mut restore = momenta.into_iter();
    let model = model.map_batch_norms(&mut |mut bn| {
        bn.momentum = restore.next().unwrap_or(bn.momentum);
        bn
    });
    Ok(model.valid())
}
