//! timm's weight-decay parameter groups: [`no_weight_decay_params`], the parameters
//! `param_groups_weight_decay` exempts from weight decay.

use burn::module::{Module, ModuleVisitor, Param, ParamGroup, ParamId};
use burn::tensor::Tensor;

/// Collects the ids of the float parameters of rank at most 1.
#[derive(Default)]
struct LowRank {
    ids: Vec<ParamId>,
}

impl ModuleVisitor for LowRank {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D <= 1 {
            self.ids.push(param.id);
        }
    }
}

/// The parameters timm's `param_groups_weight_decay` trains without weight decay: every float
/// parameter with `ndim <= 1` (`param.ndim <= 1 or name.endswith(".bias")` for the usual
/// layers): biases and the scale and shift of BatchNorm, LayerNorm and GroupNorm. timm's
/// `no_weight_decay_list` (a model's own exemptions, such as position embeddings) is not
/// consulted. Matched by parameter id, as
/// [`ImageClassifier::layer_groups`](crate::model::ImageClassifier::layer_groups) are; give it to
/// [`OptimizerConfig::init_with_no_decay`](super::OptimizerConfig::init_with_no_decay).
pub fn no_weight_decay_params<M: Module>(module: &M) -> ParamGroup {
    let mut low = LowRank::default();
    module.visit(&mut low);
    ParamGroup::from_ids(low.ids)
}
