//! Crops: [`CenterCrop`], [`RandomResizedCrop`] (with its fast path on decoded bitmaps) and
//! [`RandomCrop`], as torchvision's.

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::super::functional::{self as F, Interpolation, PaddingMode};
use super::super::{Image, Transform};
use super::{f32_pair, scaled_fill, uniform, yes, zero_fill};
use crate::augment::transform::{validate_fill, validate_range, validate_size};
use crate::codec::Bitmap;
use crate::error::{PodiumError, Result};

/// `CenterCrop(size)`, zero-padded when larger than the image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CenterCrop {
    /// `[height, width]`.
    pub size: [usize; 2],
}

impl Transform for CenterCrop {
    fn validate(&self) -> Result<()> {
        validate_size("size", self.size)
    }

    fn output_shape(&self, [c, _, _]: [usize; 3]) -> Result<[usize; 3]> {
        Ok([c, self.size[0], self.size[1]])
    }

    fn apply(&self, img: Image, _rng: &mut StdRng) -> Image {
        F::center_crop(&img, self.size)
    }
}

fn rrc_scale() -> [f64; 2] {
    [0.08, 1.0]
}
fn rrc_ratio() -> [f64; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}

/// `RandomResizedCrop(size, scale, ratio, interpolation, antialias)`: a crop of a random area
/// fraction in `scale` and aspect ratio in `ratio` (log-uniform), resized to `size`; after 10
/// failed draws, the largest centred crop within `ratio` ([`resized_crop_params`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomResizedCrop {
    /// Output `[height, width]`.
    pub size: [usize; 2],
    /// Area fraction range (default `[0.08, 1]`).
    #[serde(default = "rrc_scale")]
    pub scale: [f64; 2],
    /// Aspect-ratio range `w / h` (default `[3/4, 4/3]`).
    #[serde(default = "rrc_ratio")]
    pub ratio: [f64; 2],
    /// Interpolation (default bilinear).
    #[serde(default)]
    pub interpolation: Interpolation,
    /// Antialias when shrinking (default true).
    #[serde(default = "yes")]
    pub antialias: bool,
}

impl RandomResizedCrop {
    /// torchvision's defaults (scale `[0.08, 1]`, ratio `[3/4, 4/3]`, bilinear, antialiased)
    /// with output `size`.
    pub fn new(size: [usize; 2]) -> Self {
        Self {
            size,
            scale: rrc_scale(),
            ratio: rrc_ratio(),
            interpolation: Interpolation::default(),
            antialias: true,
        }
    }

    /// The `[top, left, h, w]` window for a `height x width` picture (torchvision's
    /// `get_params`).
    pub fn window(&self, height: usize, width: usize, rng: &mut StdRng) -> [usize; 4] {
        resized_crop_params(height, width, self.scale, self.ratio, rng)
    }

    /// The `window` of a decoded bitmap, resized to the output size: the same `u8` image as
    /// [`Transform::apply`] with that window on [`Image::from_bitmap`], without converting the
    /// rest of the picture ([`F::resized_crop_interleaved`]).
    pub fn apply_window(&self, bitmap: &Bitmap, window: [usize; 4]) -> Image {
        F::resized_crop_interleaved(
            bitmap,
            window,
            self.size,
            self.interpolation,
            self.antialias,
        )
    }
}

impl Transform for RandomResizedCrop {
    fn validate(&self) -> Result<()> {
        validate_size("size", self.size)?;
        validate_range("scale", self.scale, f32::MIN_POSITIVE as f64)?;
        validate_range("ratio", self.ratio, f32::MIN_POSITIVE as f64)
    }

    fn output_shape(&self, [c, _, _]: [usize; 3]) -> Result<[usize; 3]> {
        Ok([c, self.size[0], self.size[1]])
    }

    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let [top, left, h, w] = self.window(img.height, img.width, rng);
        let cropped = F::crop(&img, top as isize, left as isize, h, w);
        F::resize(&cropped, self.size, self.interpolation, self.antialias)
    }
}

/// torchvision's `RandomResizedCrop.get_params`: `[top, left, height, width]`, drawn in `f32`
/// (the `scale` and `ratio` bounds rounded to `f32`).
pub fn resized_crop_params(
    height: usize,
    width: usize,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut StdRng,
) -> [usize; 4] {
    let (scale, ratio) = (f32_pair(scale), f32_pair(ratio));
    let area = (height * width) as f32;
    let log_ratio = [ratio[0].ln(), ratio[1].ln()];
    for _ in 0..10 {
        let target = area * uniform(rng, scale[0], scale[1]);
        let aspect = uniform(rng, log_ratio[0], log_ratio[1]).exp();
        let w = (target * aspect).sqrt().round() as usize;
        let h = (target / aspect).sqrt().round() as usize;
        if 0 < w && w <= width && 0 < h && h <= height {
            let top = rng.random_range(0..=height - h);
            let left = rng.random_range(0..=width - w);
            return [top, left, h, w];
        }
    }
    let in_ratio = width as f32 / height as f32;
    let (h, w) = if in_ratio < ratio[0] {
        ((width as f32 / ratio[0]).round() as usize, width)
    } else if in_ratio > ratio[1] {
        (height, (height as f32 * ratio[1]).round() as usize)
    } else {
        (height, width)
    };
    [(height - h) / 2, (width - w) / 2, h, w]
}

/// `RandomCrop(size, padding, pad_if_needed, fill, padding_mode)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomCrop {
    /// Output `[height, width]`.
    pub size: [usize; 2],
    /// Padding `[left, top, right, bottom]` applied first (default none).
    #[serde(default)]
    pub padding: [usize; 4],
    /// Pad to `size` when the (padded) image is smaller (default false: an error when the
    /// pipeline is built for a smaller input).
    #[serde(default)]
    pub pad_if_needed: bool,
    /// Constant fill, fractions of the range (default 0).
    #[serde(default = "zero_fill")]
    pub fill: Vec<f32>,
    /// Padding mode (default constant).
    #[serde(default)]
    pub padding_mode: PaddingMode,
}

impl RandomCrop {
    /// A `size` crop without padding (torchvision's defaults).
    pub fn new(size: [usize; 2]) -> Self {
        Self {
            size,
            padding: [0; 4],
            pad_if_needed: false,
            fill: zero_fill(),
            padding_mode: PaddingMode::default(),
        }
    }
}

impl Transform for RandomCrop {
    fn validate(&self) -> Result<()> {
        validate_size("size", self.size)?;
        validate_fill(&self.fill)
    }

    fn output_shape(&self, [c, h, w]: [usize; 3]) -> Result<[usize; 3]> {
        let (size, padding) = (self.size, self.padding);
        let (ph, pw) = (h + padding[1] + padding[3], w + padding[0] + padding[2]);
        if self.padding_mode == PaddingMode::Reflect
            && (padding[0].max(padding[2]) >= w || padding[1].max(padding[3]) >= h)
        {
            return Err(PodiumError::config(
                "padding",
                format!("{padding:?}"),
                format!("reflect padding must be smaller than the {h}x{w} input"),
            ));
        }
        if !self.pad_if_needed && (size[0] > ph || size[1] > pw) {
            return Err(PodiumError::config(
                "size",
                format!("{size:?}"),
                format!(
                    "random_crop is larger than the {ph}x{pw} (padded) input; set pad_if_needed or padding"
                ),
            ));
        }
        Ok([c, size[0], size[1]])
    }

    /// An image smaller than the crop (when the pipeline was built for another size) is
    /// zero-padded.
    fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        let (size, padding) = (self.size, self.padding);
        let fill = scaled_fill(&self.fill, &img);
        let mut img = if padding.iter().any(|&p| p > 0) {
            F::pad(&img, padding, self.padding_mode, &fill)
        } else {
            img
        };
        if self.pad_if_needed && (img.height < size[0] || img.width < size[1]) {
            let (dh, dw) = (
                size[0].saturating_sub(img.height),
                size[1].saturating_sub(img.width),
            );
            let mode = if self.padding_mode == PaddingMode::Reflect {
                PaddingMode::Constant
            } else {
                self.padding_mode
            };
            img = F::pad(&img, [dw, dh, dw, dh], mode, &fill);
        }
        let top = rng.random_range(0..=img.height.saturating_sub(size[0]));
        let left = rng.random_range(0..=img.width.saturating_sub(size[1]));
        F::crop(&img, top as isize, left as isize, size[0], size[1])
    }
}
