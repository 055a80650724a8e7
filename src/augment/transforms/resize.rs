//! [`Resize`]: torchvision's `Resize`.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional::{self as F, Interpolation};
use super::super::{Image, Transform};
use super::yes;
use crate::augment::transform::validate_size;
use crate::error::{PodiumError, Result};

/// `Resize(size, interpolation, antialias)`: `size` is `[h, w]`, or `[s]` for the shorter side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resize {
    /// `[height, width]` or `[shorter side]`.
    pub size: Vec<usize>,
    /// Interpolation (default bilinear).
    #[serde(default)]
    pub interpolation: Interpolation,
    /// Antialias when shrinking (default true, torchvision's default).
    #[serde(default = "yes")]
    pub antialias: bool,
}

impl Resize {
    /// A bilinear, antialiased resize to `size` (`[h, w]` or `[shorter side]`).
    pub fn new(size: Vec<usize>) -> Self {
        Self {
            size,
            interpolation: Interpolation::default(),
            antialias: true,
        }
    }
}

impl Transform for Resize {
    fn validate(&self) -> Result<()> {
        match self.size.as_slice() {
            [s] if *s > 0 => Ok(()),
            [h, w] => validate_size("size", [*h, *w]),
            _ => Err(PodiumError::config(
                "size",
                format!("{:?}", self.size),
                "must be [height, width] or [shorter side], positive",
            )),
        }
    }

    fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        Ok(match self.size.as_slice() {
            [s] => {
                let [nh, nw] = F::shorter_side_size([h, w], *s);
                [c, nh, nw]
            }
            size => [c, size[0], size[1]],
        })
    }

    fn apply(&self, img: Image, _rng: &mut StdRng) -> Image {
        match self.size.as_slice() {
            [s] => F::resize_shorter(&img, *s, self.interpolation, self.antialias),
            size => F::resize(&img, [size[0], size[1]], self.interpolation, self.antialias),
        }
    }
}
