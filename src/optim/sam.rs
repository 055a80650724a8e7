//! Sharpness-aware minimization (Foret et al. 2021) and its adaptive variant ASAM (Kwon et al.
//! 2021), with the semantics of davda54/sam (one global gradient norm): [`SamConfig`] and [`Sam`].

use burn::config::Config;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::error::{PodiumError, Result};

/// Configuration of [`Sam`] with davda54/sam's defaults (`SAM(params, base_optimizer,
/// rho=0.05, adaptive=False)`); ASAM (`adaptive = true`) usually takes `rho = 2`.
#[derive(Config, Debug, PartialEq, Copy)]
pub struct SamConfig {
    /// Neighbourhood size, a finite number `>= 0`. Default 0.05.
    #[config(default = 0.05)]
    pub rho: f64,
    /// ASAM's parameter-scaled perturbation. Default false.
    #[config(default = false)]
    pub adaptive: bool,
}

impl SamConfig {
    /// Checks the values and builds the SAM step.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`rho`) for a negative or non-finite rho.
    pub fn init(&self) -> Result<Sam> {
        if !(self.rho >= 0.0 && self.rho.is_finite()) {
            return Err(PodiumError::config(
                "rho",
                self.rho,
                "must be a finite number >= 0",
            ));
        }
        Ok(Sam {
            rho: self.rho,
            adaptive: self.adaptive,
        })
    }
}

/// SAM's ascent step. With `g` the gradient at `w`:
/// `scale = rho / (||e|| + 1e-12)` where `||e||` is the global L2 norm over all parameters of
/// `|w| g` (adaptive) or `g`; the perturbation is `e_w = (w^2 if adaptive else 1) g scale` and
/// the second gradient is taken at `w + e_w`. The optimizer then steps from the original `w`
/// with that second gradient (davda54/sam's `first_step` / `second_step`). Built by
/// [`SamConfig::init`].
///
/// In a custom loop: `grads = grad(loss(model))`; `perturbed = sam.perturb(&model, &grads)`;
/// `grads2 = grad(loss(perturbed))` (keyed by the same parameter ids); then
/// `model = optim.step(lr, model, grads2)`. The Learner does this in its training step when its
/// `sam` setting is on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sam {
    rho: f64,
    adaptive: bool,
}

impl Sam {
    /// The model at `w + e_w`, with fresh gradient-tracking leaves and the same parameter ids;
    /// parameters without a gradient are left where they are.
    pub fn perturb<M: Module>(&self, model: &M, grads: &GradientsParams) -> M {
        struct Norm<'a> {
            grads: &'a GradientsParams,
            adaptive: bool,
            sum_sq: Option<Tensor<1>>,
        }
        impl ModuleVisitor for Norm<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.grads.get::<D>(param.id) {
                    let e = if self.adaptive {
                        param.val().detach().abs() * g
                    } else {
                        g
                    };
                    let sq = e.powf_scalar(2.0).sum();
                    self.sum_sq = Some(match self.sum_sq.take() {
                        Some(s) => {
                            let device = s.device();
                            s + sq.to_device(&device)
                        }
                        None => sq,
                    });
                }
            }
        }
        let mut norm = Norm {
            grads,
            adaptive: self.adaptive,
            sum_sq: None,
        };
        model.visit(&mut norm);
        let Some(sum_sq) = norm.sum_sq else {
            return model.clone();
        };
        let total = sum_sq
            .sqrt()
            .try_into_vec_as::<f64>()
            .map_or(f64::NAN, |v| v[0]);
        let scale = self.rho / (total + 1e-12);

        struct Perturb<'a> {
            grads: &'a GradientsParams,
            adaptive: bool,
            scale: f64,
        }
        impl ModuleMapper for Perturb<'_> {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let Some(g) = self.grads.get::<D>(param.id) else {
                    return param;
                };
                let (adaptive, scale) = (self.adaptive, self.scale);
                param.map(|w| {
                    let w = w.detach();
                    let g = g.to_device(&w.device());
                    let e = if adaptive {
                        w.clone().powf_scalar(2.0) * g * scale
                    } else {
                        g * scale
                    };
                    (w + e).detach().require_grad()
                })
            }
        }
        model.clone().map(&mut Perturb {
            grads,
            adaptive: self.adaptive,
            scale,
        })
    }
}
