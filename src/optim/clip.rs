//! Gradient clipping with `torch.nn.utils` semantics: by the global norm over all parameters
//! (`clip_grad_norm_`; burn's own clipping works per tensor) and by value (`clip_grad_value_`), and
//! [`ClipGrad`], the setting that picks one.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};

/// The norm of [`clip_grad_norm`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum GradNorm {
    /// Sum of absolute values.
    L1,
    /// Euclidean (torch's default).
    #[default]
    L2,
    /// Largest absolute value.
    Inf,
}

/// Gradient clipping before each optimizer step, with torch's semantics (the Learner's
/// `clip_grad`; [`clip_grad_norm`] and [`clip_grad_value`] in a custom loop). In a recipe:
/// `{"Norm": {"max_norm": 1.0, "norm": "L2"}}` or `{"Value": {"clip": 0.5}}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClipGrad {
    /// `torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2.0)`: one global norm
    /// over all gradients.
    Norm {
        /// The largest norm allowed, `> 0`.
        max_norm: f64,
        /// The norm (torch's default L2).
        norm: GradNorm,
    },
    /// `torch.nn.utils.clip_grad_value_(parameters, clip_value)`.
    Value {
        /// Each gradient value is clamped to `[-clip, clip]`; `>= 0`.
        clip: f64,
    },
}

impl ClipGrad {
    /// Checks the value.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`max_norm`, `clip`) for a non-positive norm or a negative clip.
    pub fn validate(&self) -> Result<()> {
        match *self {
            ClipGrad::Norm { max_norm, .. } => check_max_norm(max_norm),
            ClipGrad::Value { clip } => check_clip("clip", clip),
        }
    }
}

fn norm_of(t: &Tensor<1>, norm: GradNorm) -> f64 {
    let v = match norm {
        GradNorm::L1 => t.clone().abs().sum(),
        GradNorm::L2 => t.clone().powf_scalar(2.0).sum().sqrt(),
        GradNorm::Inf => t.clone().abs().max(),
    };
    v.try_into_vec_as::<f64>().map_or(f64::NAN, |v| v[0])
}

fn combine(norms: &[f64], norm: GradNorm) -> f64 {
    match norm {
        GradNorm::L1 => norms.iter().sum(),
        GradNorm::L2 => norms.iter().map(|n| n * n).sum::<f64>().sqrt(),
        GradNorm::Inf => norms.iter().copied().fold(0.0, f64::max),
    }
}

fn check_max_norm(max_norm: f64) -> Result<()> {
    if max_norm.is_nan() || max_norm <= 0.0 {
        return Err(PodiumError::config("max_norm", max_norm, "must be > 0"));
    }
    Ok(())
}

fn check_clip(key: &str, clip: f64) -> Result<()> {
    if clip.is_nan() || clip < 0.0 {
        return Err(PodiumError::config(key, clip, "must be >= 0"));
    }
    Ok(())
}

/// `clip_grad_norm_` on flattened gradients: `total = norm(norm(g_0), norm(g_1), ...)`,
/// `coef = max_norm / (total + 1e-6)`, every gradient multiplied by `min(coef, 1)`. Returns the
/// clipped gradients and the total norm before clipping.
///
/// # Errors
/// [`PodiumError::Config`] for a non-positive `max_norm`.
pub fn clip_grad_norm_tensors(
    grads: Vec<Tensor<1>>,
    max_norm: f64,
    norm: GradNorm,
) -> Result<(Vec<Tensor<1>>, f64)> {
    check_max_norm(max_norm)?;
    let norms: Vec<f64> = grads.iter().map(|g| norm_of(g, norm)).collect();
    let total = combine(&norms, norm);
    let coef = (max_norm / (total + 1e-6)).min(1.0);
    Ok((grads.into_iter().map(|g| g * coef).collect(), total))
}

/// `clip_grad_value_` on flattened gradients: each value clamped to `[-clip, clip]`.
///
/// # Errors
/// [`PodiumError::Config`] for a negative clip value.
pub fn clip_grad_value_tensors(grads: Vec<Tensor<1>>, clip: f64) -> Result<Vec<Tensor<1>>> {
    check_clip("clip_value", clip)?;
    Ok(grads.into_iter().map(|g| g.clamp(-clip, clip)).collect())
}

/// Applies `f` to the gradient of every parameter of `module` present in `grads`, flattened.
struct Rewrite<'a> {
    grads: &'a mut GradientsParams,
    f: &'a mut dyn FnMut(ParamId, Tensor<1>) -> Tensor<1>,
}

impl ModuleVisitor for Rewrite<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let shape = g.shape();
            let n = shape.num_elements();
            let out = (self.f)(param.id, g.reshape([n]));
            self.grads.register::<D>(param.id, out.reshape(shape));
        }
    }
}

pub(crate) fn for_each_grad<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    f: &mut dyn FnMut(ParamId, Tensor<1>) -> Tensor<1>,
) {
    module.visit(&mut Rewrite { grads, f });
}

/// torch's `clip_grad_norm_` over all the gradients of `module` (one global norm, as PyTorch
/// recipes expect). Returns the total norm before clipping.
///
/// # Errors
/// [`PodiumError::Config`] for a non-positive `max_norm`.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
    norm: GradNorm,
) -> Result<f64> {
    check_max_norm(max_norm)?;
    let mut norms = Vec::new();
    for_each_grad(module, grads, &mut |_, g| {
        norms.push(norm_of(&g, norm));
        g
    });
    let total = combine(&norms, norm);
    let coef = (max_norm / (total + 1e-6)).min(1.0);
    for_each_grad(module, grads, &mut |_, g| g * coef);
    Ok(total)
}

/// torch's `clip_grad_value_` over all the gradients of `module`.
///
/// # Errors
/// [`PodiumError::Config`] for a negative clip value.
pub fn clip_grad_value<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    clip: f64,
) -> Result<()> {
    check_clip("clip_value", clip)?;
    for_each_grad(module, grads, &mut |_, g| g.clamp(-clip, clip));
    Ok(())
}
