//! Erasing: timm's [`RandomErasing`] and DeVries and Taylor's [`Cutout`].

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::super::functional as F;
use super::super::{Image, Transform};
use super::{half, one, scaled_fill, uniform, zero_fill};
use crate::augment::transform::{validate_fill, validate_p, validate_range};
use crate::error::{PodiumError, Result};

/// What timm's [`RandomErasing`] writes into the erased box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EraseMode {
    /// Zeros (the mean colour when erasing runs after normalization, as in timm).
    #[default]
    Const,
    /// One normal draw per channel.
    Rand,
    /// One normal draw per pixel and channel.
    Pixel,
}

fn erase_min_area() -> f64 {
    0.02
}
fn erase_max_area() -> f64 {
    1.0 / 3.0
}
fn erase_min_aspect() -> f64 {
    0.3
}
fn one_count() -> usize {
    1
}
fn cutout_length() -> usize {
    16
}

/// timm's `RandomErasing(probability, min_area, max_area, min_aspect, max_aspect, mode,
/// min_count, max_count)`: with probability `p`, `count` boxes each covering a random
/// `[min_area, max_area] / count` of the image with log-uniform aspect ratio (10 tries each),
/// filled per `mode`. Put it after `normalize`, as timm does, so `const` erases to the mean
/// colour and the noise is on the normalized scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomErasing {
    /// Probability (default 0.5).
    #[serde(default = "half")]
    pub p: f64,
    /// Smallest area fraction (default 0.02).
    #[serde(default = "erase_min_area")]
    pub min_area: f64,
    /// Largest area fraction (default 1/3).
    #[serde(default = "erase_max_area")]
    pub max_area: f64,
    /// Smallest aspect ratio (default 0.3).
    #[serde(default = "erase_min_aspect")]
    pub min_aspect: f64,
    /// Largest aspect ratio (default `1 / min_aspect`).
    #[serde(default)]
    pub max_aspect: Option<f64>,
    /// Fill mode (default const).
    #[serde(default)]
    pub mode: EraseMode,
    /// Fewest boxes (default 1).
    #[serde(default = "one_count")]
    pub min_count: usize,
    /// Most boxes (default `min_count`).
    #[serde(default)]
    pub max_count: Option<usize>,
}

impl Default for RandomErasing {
    /// timm's defaults: `p` 0.5, area `[0.02, 1/3]`, aspect `[0.3, 1/0.3]`, const, one box.
    fn default() -> Self {
        Self {
            p: half(),
            min_area: erase_min_area(),
            max_area: erase_max_area(),
            min_aspect: erase_min_aspect(),
            max_aspect: None,
            mode: EraseMode::Const,
            min_count: one_count(),
            max_count: None,
        }
    }
}

impl Transform for RandomErasing {
    fn validate(&self) -> Result<()> {
        validate_p("p", self.p)?;
        validate_range("min_area..max_area", [self.min_area, self.max_area], 0.0)?;
        if self.max_area > 1.0 {
            return Err(PodiumError::config(
                "max_area",
                self.max_area,
                "must be at most 1",
            ));
        }
        let hi = self.max_aspect.unwrap_or(1.0 / self.min_aspect);
        validate_range(
            "min_aspect..max_aspect",
            [self.min_aspect, hi],
            f32::MIN_POSITIVE as f64,
        )?;
        let (min_count, max_count) = (self.min_count, self.max_count);
        if min_count == 0 || max_count.is_some_and(|m| m < min_count) {
            return Err(PodiumError::config(
                "min_count..max_count",
                format!("{min_count}..{max_count:?}"),
                "need 1 <= min_count <= max_count",
            ));
        }
        Ok(())
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        if rng.random::<f32>() > self.p as f32 {
            return img;
        }
        let min_count = self.min_count;
        let max_count = self.max_count.unwrap_or(min_count);
        let count = if max_count == min_count {
            min_count
        } else {
            rng.random_range(min_count..=max_count)
        };
        let min_aspect = self.min_aspect as f32;
        let max_aspect = self.max_aspect.map_or(1.0 / min_aspect, |a| a as f32);
        let log_aspect = [min_aspect.ln(), max_aspect.ln()];
        let (min_area, max_area) = (self.min_area as f32, self.max_area as f32);
        let (ih, iw) = (img.height, img.width);
        let area = (ih * iw) as f32;
        let mut img = img;
        for _ in 0..count {
            for _ in 0..10 {
                let target = uniform(rng, min_area, max_area) * area / count as f32;
                let aspect = uniform(rng, log_aspect[0], log_aspect[1]).exp();
                let h = (target * aspect).sqrt().round() as usize;
                let w = (target / aspect).sqrt().round() as usize;
                if w < iw && h < ih {
                    let top = rng.random_range(0..=ih - h);
                    let left = rng.random_range(0..=iw - w);
                    let n = match self.mode {
                        EraseMode::Const => 1,
                        EraseMode::Rand => img.channels,
                        EraseMode::Pixel => img.channels * h * w,
                    };
                    let values: Vec<f32> = match self.mode {
                        EraseMode::Const => vec![0.0],
                        _ => (0..n).map(|_| StandardNormal.sample(rng)).collect(),
                    };
                    img = F::erase(&img, top, left, h, w, &values);
                    break;
                }
            }
        }
        img
    }
}

/// Cutout (DeVries and Taylor 2017): `n_holes` squares of side `length` centred anywhere
/// (clipped at the border), filled with `fill`, with probability `p`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cutout {
    /// Number of squares (default 1).
    #[serde(default = "one_count")]
    pub n_holes: usize,
    /// Side in pixels (default 16).
    #[serde(default = "cutout_length")]
    pub length: usize,
    /// Fill, fractions of the range (default 0).
    #[serde(default = "zero_fill")]
    pub fill: Vec<f32>,
    /// Probability (default 1).
    #[serde(default = "one")]
    pub p: f64,
}

impl Default for Cutout {
    /// One 16-pixel black square, always.
    fn default() -> Self {
        Self {
            n_holes: one_count(),
            length: cutout_length(),
            fill: zero_fill(),
            p: one(),
        }
    }
}

impl Transform for Cutout {
    fn validate(&self) -> Result<()> {
        let (n_holes, length) = (self.n_holes, self.length);
        if n_holes == 0 || length == 0 {
            return Err(PodiumError::config(
                "n_holes/length",
                format!("{n_holes}/{length}"),
                "must be positive",
            ));
        }
        validate_fill(&self.fill)?;
        validate_p("p", self.p)
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        if rng.random::<f32>() >= self.p as f32 {
            return img;
        }
        let fill = scaled_fill(&self.fill, &img);
        let mut img = img;
        for _ in 0..self.n_holes {
            let (cy, cx) = (
                rng.random_range(0..img.height),
                rng.random_range(0..img.width),
            );
            let half = self.length / 2;
            let (y0, x0) = (cy.saturating_sub(half), cx.saturating_sub(half));
            let (y1, x1) = ((cy + half).min(img.height), (cx + half).min(img.width));
            if y1 > y0 && x1 > x0 {
                img = F::erase(&img, y0, x0, y1 - y0, x1 - x0, &fill);
            }
        }
        img
    }
}
