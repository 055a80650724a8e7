//! Stochastic weight averaging (Izmailov et al. 2018), as `torch.optim.swa_utils.AveragedModel`.

use burn::module::Module;

use super::state::{State, rewrite};

/// `torch.optim.swa_utils.AveragedModel` with its default average: the first
/// [`update`](Self::update) copies the model, then `avg = avg + (x - avg) / (n + 1)` with `n` the
/// number of models averaged so far (the plain mean of the snapshots). With `use_buffers = false`
/// (torch's default) BatchNorm running statistics are copied from the current model rather than
/// averaged; recompute them over the training data afterwards (torch's `update_bn`) by running
/// the averaged model in training mode over a pass of the data.
#[derive(Debug)]
pub struct AveragedModel<M> {
    avg: M,
    n_averaged: usize,
    use_buffers: bool,
}

impl<M: Module> AveragedModel<M> {
    /// An average that starts from `model` (replaced by the first update).
    pub fn new(model: &M, use_buffers: bool) -> Self {
        Self {
            avg: model.valid(),
            n_averaged: 0,
            use_buffers,
        }
    }

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
