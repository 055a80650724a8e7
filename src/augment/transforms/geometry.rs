//! Rotations and affine maps: [`RandomRotation`] and [`RandomAffine`], as torchvision's.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional::{self as F, Interpolation};
use super::super::{Depth, Image, Transform};
use super::{nearest, scaled_fill, uniform, zero_fill};
use crate::augment::transform::{validate_fill, validate_range};
use crate::error::{PodiumError, Result};

/// `RandomRotation(degrees, interpolation, expand, fill)`: angle uniform in `degrees`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomRotation {
    /// Angle range in degrees, e.g. `[-30, 30]`.
    pub degrees: [f64; 2],
    /// Interpolation (default nearest, torchvision's).
    #[serde(default = "nearest")]
    pub interpolation: Interpolation,
    /// Grow the canvas to hold the whole rotated image (default false).
    #[serde(default)]
    pub expand: bool,
    /// Fill, fractions of the range (default 0; torchvision's masked fill rule).
    #[serde(default = "zero_fill")]
    pub fill: Vec<f32>,
}

impl RandomRotation {
    /// torchvision's defaults (nearest, no expand, zero fill) with the angle range `degrees`.
    pub fn new(degrees: [f64; 2]) -> Self {
        Self {
            degrees,
            interpolation: nearest(),
            expand: false,
            fill: zero_fill(),
        }
    }
}

impl Transform for RandomRotation {
    fn validate(&self) -> Result<()> {
        validate_range("degrees", self.degrees, f64::NEG_INFINITY)?;
        validate_fill(&self.fill)
    }

    fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        if !self.expand {
            return Ok([c, h, w]);
        }
        // The largest canvas over the angle range bounds every output; report the input size
        // only when the range is a single angle.
        if self.degrees[0] == self.degrees[1] {
            let probe = Image::zeros([1, h, w], Depth::F32);
            let angle = self.degrees[0] as f32;
            let out = F::rotate(&probe, angle, Interpolation::Nearest, true, None, None);
            Ok([c, out.height, out.width])
        } else {
            Err(PodiumError::config(
                "expand",
                true,
                "a random angle range with expand gives images of varying size, which cannot be batched",
            ))
        }
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let angle = uniform(rng, self.degrees[0] as f32, self.degrees[1] as f32);
        F::rotate(
            &img,
            angle,
            self.interpolation,
            self.expand,
            None,
            Some(&scaled_fill(&self.fill, &img)),
        )
    }
}

/// `RandomAffine(degrees, translate, scale, shear, interpolation, fill)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomAffine {
    /// Rotation range in degrees.
    pub degrees: [f64; 2],
    /// Largest translation as fractions `[x, y]` of the width and height (default none).
    #[serde(default)]
    pub translate: Option<[f64; 2]>,
    /// Scale range (default none: 1).
    #[serde(default)]
    pub scale: Option<[f64; 2]>,
    /// Shear ranges in degrees: `[x_min, x_max]` or `[x_min, x_max, y_min, y_max]`.
    #[serde(default)]
    pub shear: Option<Vec<f64>>,
    /// Interpolation (default nearest).
    #[serde(default = "nearest")]
    pub interpolation: Interpolation,
    /// Fill, fractions of the range (default 0).
    #[serde(default = "zero_fill")]
    pub fill: Vec<f32>,
}

impl RandomAffine {
    /// torchvision's defaults (no translation, scale or shear; nearest; zero fill) with the
    /// rotation range `degrees`.
    pub fn new(degrees: [f64; 2]) -> Self {
        Self {
            degrees,
            translate: None,
            scale: None,
            shear: None,
            interpolation: nearest(),
            fill: zero_fill(),
        }
    }
}

impl Transform for RandomAffine {
    fn validate(&self) -> Result<()> {
        validate_range("degrees", self.degrees, f64::NEG_INFINITY)?;
        if let Some([tx, ty]) = self.translate
            && !((0.0..=1.0).contains(&tx) && (0.0..=1.0).contains(&ty))
        {
            return Err(PodiumError::config(
                "translate",
                format!("[{tx}, {ty}]"),
                "fractions must be in [0, 1]",
            ));
        }
        if let Some(s) = self.scale {
            validate_range("scale", s, f32::MIN_POSITIVE as f64)?;
        }
        if let Some(sh) = &self.shear {
            match sh.as_slice() {
                [a, b] => validate_range("shear", [*a, *b], f64::NEG_INFINITY)?,
                [a, b, c, d] => {
                    validate_range("shear", [*a, *b], f64::NEG_INFINITY)?;
                    validate_range("shear", [*c, *d], f64::NEG_INFINITY)?;
                }
                _ => {
                    return Err(PodiumError::config(
                        "shear",
                        format!("{sh:?}"),
                        "give 2 or 4 values",
                    ));
                }
            }
        }
        validate_fill(&self.fill)
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let f = |v: f64| v as f32;
        let angle = uniform(rng, f(self.degrees[0]), f(self.degrees[1]));
        let t = self.translate.map_or([0.0, 0.0], |[tx, ty]| {
            let (mx, my) = (f(tx) * img.width as f32, f(ty) * img.height as f32);
            [uniform(rng, -mx, mx).round(), uniform(rng, -my, my).round()]
        });
        let s = self
            .scale
            .map_or(1.0, |[lo, hi]| uniform(rng, f(lo), f(hi)));
        let sh = match self.shear.as_deref() {
            Some([a, b]) => [uniform(rng, f(*a), f(*b)), 0.0],
            Some([a, b, c, d]) => [uniform(rng, f(*a), f(*b)), uniform(rng, f(*c), f(*d))],
            _ => [0.0, 0.0],
        };
        F::affine(
            &img,
            angle,
            t,
            s,
            sh,
            self.interpolation,
            Some(&scaled_fill(&self.fill, &img)),
            None,
        )
    }
}
