//! Reading a module's float tensors by parameter id, and rewriting them.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

/// A module's float tensors (parameters and running states), flattened, by parameter id, with
/// whether each is a buffer (a `running_*` field, as BatchNorm's statistics).
pub(crate) struct State {
    pub tensors: HashMap<ParamId, (Tensor<1>, bool)>,
}

struct Collector {
    path: Vec<String>,
    tensors: HashMap<ParamId, (Tensor<1>, bool)>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let buffer = self.path.last().is_some_and(|n| n.starts_with("running_"));
        let t = param.val().detach().without_autodiff();
        let n = t.shape().num_elements();
        self.tensors.insert(param.id, (t.reshape([n]), buffer));
    }
}

impl State {
    pub(crate) fn of<M: Module>(module: &M) -> Self {
        let mut c = Collector {
            path: Vec::new(),
            tensors: HashMap::new(),
        };
        module.visit(&mut c);
        Self { tensors: c.tensors }
    }
}

/// Rewrites each float tensor `avg` of a module with `f(avg, current, is_buffer)`, where
/// `current` is the tensor of the same id in `state` (tensors missing from it are kept).
pub(crate) fn rewrite<M: Module>(
    module: M,
    state: &State,
    f: &dyn Fn(Tensor<1>, Tensor<1>, bool) -> Tensor<1>,
) -> M {
    struct Rewriter<'a> {
        state: &'a State,
        f: &'a dyn Fn(Tensor<1>, Tensor<1>, bool) -> Tensor<1>,
    }
    impl ModuleMapper for Rewriter<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some((current, buffer)) = self.state.tensors.get(&param.id) else {
                return param;
            };
            let (current, buffer) = (current.clone(), *buffer);
            let f = self.f;
            param.map(|avg| {
                let shape = avg.shape();
                let n = shape.num_elements();
                let flat = avg.reshape([n]);
                let device = flat.device();
                f(flat, current.to_device(&device), buffer).reshape(shape)
            })
        }
    }
    module.map(&mut Rewriter { state, f })
}
