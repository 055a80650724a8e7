//! Gradient accumulation that reproduces the full-batch gradient.

use std::collections::HashMap;

use burn::module::{Module, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use super::clip::for_each_grad;

/// Accumulates micro-batch gradients weighted by their share of the batch: with micro-batches of
/// `n_k` samples out of `N` and a mean loss per micro-batch, `sum_k (n_k / N) grad(loss_k)`
/// equals the gradient of the full batch's mean loss, also when the micro-batches differ in size
/// (the usual `loss / K` trick only matches for equal sizes). Pass `weight = 1 / K` for that
/// trick.
#[derive(Debug, Default)]
pub struct WeightedGradAccumulator {
    sums: HashMap<ParamId, Tensor<1>>,
}

impl WeightedGradAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `weight * grads` (the gradients of `module`'s parameters).
    pub fn add<M: Module>(&mut self, module: &M, mut grads: GradientsParams, weight: f64) {
        let sums = &mut self.sums;
        for_each_grad(module, &mut grads, &mut |id, g| {
            let scaled = g.clone() * weight;
            let sum = match sums.remove(&id) {
                Some(s) => s + scaled,
                None => scaled,
            };
            sums.insert(id, sum);
            g
        });
    }

    /// The accumulated gradients for `module`'s parameters (flattened sums are reshaped to each
    /// parameter's shape).
    pub fn finish<M: Module>(self, module: &M) -> GradientsParams {
        let mut out = GradientsParams::new();
        struct Emit<'a> {
            sums: &'a HashMap<ParamId, Tensor<1>>,
            out: &'a mut GradientsParams,
        }
        impl burn::module::ModuleVisitor for Emit<'_> {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                if let Some(sum) = self.sums.get(&param.id) {
                    let shape = param.val().shape();
                    self.out.register::<D>(param.id, sum.clone().reshape(shape));
                }
            }
        }
        module.visit(&mut Emit {
            sums: &self.sums,
            out: &mut out,
        });
        out
    }
}
