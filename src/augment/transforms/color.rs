//! Colour: [`ColorJitter`] and [`RandomGrayscale`], as torchvision's.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::super::functional as F;
use super::super::{Image, Transform};
use super::{one, uniform};
use crate::augment::transform::validate_p;
use crate::error::{PodiumError, Result};

/// `ColorJitter(brightness, contrast, saturation, hue)`: factors drawn uniformly from
/// `[max(0, 1 - v), 1 + v]` (hue from `[-hue, hue]`), applied in a random order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColorJitter {
    /// Brightness jitter (default 0, off).
    #[serde(default)]
    pub brightness: f64,
    /// Contrast jitter (default 0).
    #[serde(default)]
    pub contrast: f64,
    /// Saturation jitter (default 0).
    #[serde(default)]
    pub saturation: f64,
    /// Hue jitter, at most 0.5 (default 0).
    #[serde(default)]
    pub hue: f64,
    /// Probability of jittering at all (default 1; timm's `color_jitter_prob`).
    #[serde(default = "one")]
    pub p: f64,
}

impl Default for ColorJitter {
    /// No jitter (every strength 0), `p` 1.
    fn default() -> Self {
        Self {
            brightness: 0.0,
            contrast: 0.0,
            saturation: 0.0,
            hue: 0.0,
            p: one(),
        }
    }
}

impl Transform for ColorJitter {
    fn validate(&self) -> Result<()> {
        for (k, v) in [
            ("brightness", self.brightness),
            ("contrast", self.contrast),
            ("saturation", self.saturation),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(PodiumError::config(k, v, "must be >= 0"));
            }
        }
        if !(0.0..=0.5).contains(&self.hue) {
            return Err(PodiumError::config("hue", self.hue, "must be in [0, 0.5]"));
        }
        validate_p("p", self.p)
    }

    fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        if c != 3 && c != 1 && (self.saturation as f32 > 0.0 || self.hue as f32 > 0.0) {
            return Err(PodiumError::config(
                "saturation/hue",
                format!("{}/{}", self.saturation, self.hue),
                format!("need 1 or 3 channels, the input has {c}"),
            ));
        }
        Ok([c, h, w])
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let (brightness, contrast, saturation, hue) = (
            self.brightness as f32,
            self.contrast as f32,
            self.saturation as f32,
            self.hue as f32,
        );
        if rng.random::<f32>() >= self.p as f32 {
            return img;
        }
        let mut order = [0usize, 1, 2, 3];
        order.shuffle(rng);
        let factor = |v: f32, rng: &mut StdRng| uniform(rng, (1.0 - v).max(0.0), 1.0 + v);
        let b = factor(brightness, rng);
        let c = factor(contrast, rng);
        let s = factor(saturation, rng);
        let h = uniform(rng, -hue, hue);
        let mut img = img;
        for k in order {
            img = match k {
                0 if brightness > 0.0 => F::adjust_brightness_owned(img, b),
                1 if contrast > 0.0 => F::adjust_contrast_owned(img, c),
                2 if saturation > 0.0 => F::adjust_saturation_owned(img, s),
                3 if hue > 0.0 => F::adjust_hue_owned(img, h),
                _ => img,
            };
        }
        img
    }
}

/// `RandomGrayscale(p)`: grayscale with the input's channel count (3-channel images only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomGrayscale {
    /// Probability (torchvision's default 0.1; required in a config file).
    pub p: f64,
}

impl Default for RandomGrayscale {
    /// torchvision's `p = 0.1`.
    fn default() -> Self {
        Self { p: 0.1 }
    }
}

impl Transform for RandomGrayscale {
    fn validate(&self) -> Result<()> {
        validate_p("p", self.p)
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        if rng.random::<f32>() < self.p as f32 && img.channels == 3 {
            F::rgb_to_grayscale(&img, 3)
        } else {
            img
        }
    }
}
