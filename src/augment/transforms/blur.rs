//! [`GaussianBlur`]: torchvision's `GaussianBlur`, applied with a probability as timm does.

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional as F;
use super::super::{Image, Transform};
use super::{one, uniform};
use crate::augment::transform::{validate_p, validate_range};
use crate::error::{PodiumError, Result};

fn blur_sigma() -> [f64; 2] {
    [0.1, 2.0]
}

/// `GaussianBlur(kernel_size, sigma)` applied with probability `p`; sigma uniform in `sigma`,
/// the same along x and y.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianBlur {
    /// Kernel `[x, y]`, odd sizes.
    pub kernel_size: [usize; 2],
    /// Sigma range (default `[0.1, 2]`).
    #[serde(default = "blur_sigma")]
    pub sigma: [f64; 2],
    /// Probability (default 1, as torchvision's class; timm uses 0.1 to 0.5).
    #[serde(default = "one")]
    pub p: f64,
}

impl GaussianBlur {
    /// torchvision's defaults (sigma `[0.1, 2]`, always applied) with `kernel_size` `[x, y]`.
    pub fn new(kernel_size: [usize; 2]) -> Self {
        Self {
            kernel_size,
            sigma: blur_sigma(),
            p: one(),
        }
    }
}

impl Transform for GaussianBlur {
    fn validate(&self) -> Result<()> {
        if self.kernel_size.iter().any(|k| k % 2 == 0) {
            return Err(PodiumError::config(
                "kernel_size",
                format!("{:?}", self.kernel_size),
                "sizes must be odd and positive",
            ));
        }
        validate_range("sigma", self.sigma, f32::MIN_POSITIVE as f64)?;
        validate_p("p", self.p)
    }

    fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        let kernel_size = self.kernel_size;
        if kernel_size[0] / 2 >= w || kernel_size[1] / 2 >= h {
            return Err(PodiumError::config(
                "kernel_size",
                format!("{kernel_size:?}"),
                format!("half the kernel must be smaller than the {h}x{w} input"),
            ));
        }
        Ok([c, h, w])
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        if rng.random::<f32>() >= self.p as f32 {
            return img;
        }
        let s = uniform(rng, self.sigma[0] as f32, self.sigma[1] as f32);
        F::gaussian_blur(&img, self.kernel_size, [s, s])
    }
}
