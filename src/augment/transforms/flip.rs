//! Flips: [`HorizontalFlip`] and [`VerticalFlip`], torchvision's `RandomHorizontalFlip` and
//! `RandomVerticalFlip`.

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional as F;
use super::super::{Image, Transform};
use super::half;
use crate::augment::transform::validate_p;
use crate::error::Result;

/// `RandomHorizontalFlip(p)`: flips left to right with probability `p`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HorizontalFlip {
    /// Probability (default 0.5).
    #[serde(default = "half")]
    pub p: f64,
}

impl Default for HorizontalFlip {
    fn default() -> Self {
        Self { p: half() }
    }
}

impl Transform for HorizontalFlip {
    fn validate(&self) -> Result<()> {
        validate_p("p", self.p)
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        if rng.random::<f32>() < self.p as f32 {
            F::hflip(&img)
        } else {
            img
        }
    }
}

/// `RandomVerticalFlip(p)`: flips top to bottom with probability `p`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerticalFlip {
    /// Probability (default 0.5).
    #[serde(default = "half")]
    pub p: f64,
}

impl Default for VerticalFlip {
    fn default() -> Self {
        Self { p: half() }
    }
}

impl Transform for VerticalFlip {
    fn validate(&self) -> Result<()> {
        validate_p("p", self.p)
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        if rng.random::<f32>() < self.p as f32 {
            F::vflip(&img)
        } else {
            img
        }
    }
}
