//! [`Image`]: the planar `C x H x W` picture every augmentation works on.
//!
//! torchvision's tensor transforms see a `C x H x W` tensor that is either `uint8` (values
//! `0..=255`) or floating point (values in `[0, 1]`), and several of them behave differently on
//! the two (rounding, truncation, the value bound). podium keeps both in one type: the samples are
//! stored as `f32` in planar order and [`Depth`] records which of torchvision's dtypes the image
//! stands for, so an op can end exactly as torchvision's does on that dtype (a `u8` image always
//! holds integers `0..=255`).
//!
//! A decoded file is a [`Bitmap`] (8-bit, channels interleaved); both types name their shape
//! with the fields `channels`, `height`, `width` and give it as `[channels, height, width]`.
//! [`Image::from_bitmap`] and [`Image::to_bitmap`] convert between them
//! (torchvision's `pil_to_tensor` and `to_pil_image`).

use serde::{Deserialize, Serialize};

use crate::codec::Bitmap;

/// Which torchvision dtype an [`Image`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Depth {
    /// `torch.uint8`: integer values `0..=255`. Ops round or truncate back to integers exactly
    /// where torchvision does.
    #[default]
    U8,
    /// `torch.float32`: values in `[0, 1]`.
    F32,
    /// A float image already normalized by a mean and std (values unbounded); colour ops
    /// treat it as `F32`, and batchers take its values as they are.
    Normalized,
}

impl Depth {
    /// The largest value of the range: 255 for `U8`, 1 for `F32` (torchvision's `_max_value`).
    pub fn bound(self) -> f32 {
        match self {
            Depth::U8 => 255.0,
            Depth::F32 | Depth::Normalized => 1.0,
        }
    }
}

/// How a float result is brought back to an image's [`Depth`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cast {
    /// `x.round_().to(uint8)` (round half to even), as after resize, blur and grid sampling.
    Round,
    /// `x.to(uint8)` (truncation toward zero), as after `_blend` and autocontrast.
    Trunc,
}

/// A planar `C x H x W` image (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// `channels * height * width` samples, channel planes one after the other, rows inside.
    pub data: Vec<f32>,
    /// Number of channels (1 or 3 for the colour ops; any for the geometric ones).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// The dtype the image stands for.
    pub depth: Depth,
}

impl Image {
    /// An image from planar samples.
    ///
    /// # Panics
    /// If `data.len() != channels * height * width`.
    pub fn new(data: Vec<f32>, [channels, height, width]: [usize; 3], depth: Depth) -> Self {
        assert_eq!(
            data.len(),
            channels * height * width,
            "Image::new: {} samples do not make a {channels}x{height}x{width} image",
            data.len()
        );
        Self {
            data,
            channels,
            height,
            width,
            depth,
        }
    }

    /// A `u8` image from planar bytes.
    ///
    /// # Panics
    /// If `data.len() != channels * height * width`.
    pub fn from_u8(data: &[u8], shape: [usize; 3]) -> Self {
        Self::new(data.iter().map(|&v| v as f32).collect(), shape, Depth::U8)
    }

    /// The `u8` image of a decoded [`Bitmap`] (`pil_to_tensor`: interleaved to planar).
    pub fn from_bitmap(bitmap: &Bitmap) -> Self {
        Self::from_bitmap_window(bitmap, [0, 0, bitmap.height, bitmap.width])
    }

    /// The `[top, left, h, w]` window of a [`Bitmap`] as a planar `u8` image (a crop without
    /// converting the whole picture).
    ///
    /// # Panics
    /// If the bitmap's buffer does not match its shape or the window leaves the picture.
    pub fn from_bitmap_window(bitmap: &Bitmap, [top, left, h, w]: [usize; 4]) -> Self {
        let Bitmap {
            pixels,
            channels,
            height,
            width,
        } = bitmap;
        let (channels, height, width) = (*channels, *height, *width);
        assert!(
            pixels.len() == height * width * channels && top + h <= height && left + w <= width,
            "Image::from_bitmap_window: window {:?} of a {channels}x{height}x{width} picture \
             ({} bytes)",
            [top, left, h, w],
            pixels.len()
        );
        let plane = h * w;
        let mut data = vec![0f32; channels * plane];
        let (first, rest) = data.split_at_mut(plane.min(channels * plane));
        for y in 0..h {
            let row = &pixels
                [((top + y) * width + left) * channels..((top + y) * width + left + w) * channels];
            if channels == 3 {
                let (g, b) = rest.split_at_mut(plane);
                let dst = y * w..(y + 1) * w;
                for (((px, r), g), b) in row
                    .chunks_exact(3)
                    .zip(&mut first[dst.clone()])
                    .zip(&mut g[dst.clone()])
                    .zip(&mut b[dst])
                {
                    (*r, *g, *b) = (px[0] as f32, px[1] as f32, px[2] as f32);
                }
            } else {
                for (x, px) in row.chunks_exact(channels).enumerate() {
                    for (c, &v) in px.iter().enumerate() {
                        let i = c * plane + y * w + x;
                        if c == 0 {
                            first[i] = v as f32;
                        } else {
                            rest[i - plane] = v as f32;
                        }
                    }
                }
            }
        }
        Self::new(data, [channels, h, w], Depth::U8)
    }

    /// A zero image of the given shape and depth.
    pub fn zeros(shape: [usize; 3], depth: Depth) -> Self {
        Self::new(vec![0.0; shape.iter().product()], shape, depth)
    }

    /// `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// Number of pixels of one channel, `height * width`.
    pub fn plane_len(&self) -> usize {
        self.height * self.width
    }

    /// Channel `c` as a row-major `height * width` slice.
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.plane_len();
        &self.data[c * n..(c + 1) * n]
    }

    /// Sample at channel `c`, row `y`, column `x`.
    pub fn at(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    /// The same pixels as `torch.uint8` (`x.mul(255 + 1 - 1e-3).to(uint8)` for float images,
    /// torchvision's `to_dtype(..., scale=True)`).
    pub fn to_u8_depth(&self) -> Image {
        match self.depth {
            Depth::U8 => self.clone(),
            Depth::F32 | Depth::Normalized => {
                let data = self
                    .data
                    .iter()
                    .map(|&v| (v * (256.0 - 1e-3)).clamp(0.0, 255.0).trunc())
                    .collect();
                Image::new(data, self.shape(), Depth::U8)
            }
        }
    }

    /// The same pixels as `torch.float32` in `[0, 1]` (`x / 255` for `u8` images).
    pub fn to_f32_depth(&self) -> Image {
        match self.depth {
            Depth::F32 | Depth::Normalized => self.clone(),
            Depth::U8 => Image::new(
                self.data.iter().map(|&v| v / 255.0).collect(),
                self.shape(),
                Depth::F32,
            ),
        }
    }

    /// The samples as bytes, planar (`u8` images as they are, float images scaled by 255 and
    /// rounded).
    pub fn to_u8_planar(&self) -> Vec<u8> {
        let scale = 255.0 / self.depth.bound();
        self.data
            .iter()
            .map(|&v| (v * scale).round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    /// The image as an 8-bit [`Bitmap`] (channels interleaved; float images scaled by 255 and
    /// rounded, as [`Self::to_u8_planar`]), for PNG writers and datasets.
    pub fn to_bitmap(&self) -> Bitmap {
        let planar = self.to_u8_planar();
        let n = self.plane_len();
        let mut out = vec![0u8; planar.len()];
        for c in 0..self.channels {
            for p in 0..n {
                out[p * self.channels + c] = planar[c * n + p];
            }
        }
        Bitmap::new(out, self.shape())
    }

    /// Brings a float result back to this image's depth: unchanged for `F32`; for `U8`, rounded
    /// or truncated after clamping to `0..=255`.
    pub(crate) fn cast(&self, v: f32, cast: Cast) -> f32 {
        match self.depth {
            Depth::F32 | Depth::Normalized => v,
            // Clamping first is equivalent (the bounds are integers). Both roundings go through
            // arithmetic that baseline x86-64 vectorizes: adding and removing 2^23 rounds a
            // value in [0, 2^23) to the nearest integer, ties to even (the FPU's default
            // mode); truncating a value that is not negative is flooring it.
            Depth::U8 => match cast {
                Cast::Round => (v.clamp(0.0, 255.0) + 8_388_608.0) - 8_388_608.0,
                Cast::Trunc => floor_fast(v.clamp(0.0, 255.0)),
            },
        }
    }

    /// A new image of this depth from float results, cast with `cast`.
    pub(crate) fn with_data(&self, data: Vec<f32>, shape: [usize; 3], cast: Cast) -> Image {
        let data = match self.depth {
            Depth::F32 | Depth::Normalized => data,
            Depth::U8 => data.into_iter().map(|v| self.cast(v, cast)).collect(),
        };
        Image::new(data, shape, self.depth)
    }

    /// Applies `f` to every sample (same shape and depth), casting the result with `cast`.
    pub(crate) fn map(&self, cast: Cast, f: impl Fn(f32) -> f32) -> Image {
        let data = self.data.iter().map(|&v| self.cast(f(v), cast)).collect();
        Image::new(data, self.shape(), self.depth)
    }
}

/// `x.floor()` for `-2^22 < x < 2^22` in plain arithmetic: adding and removing `1.5 * 2^23`
/// rounds to the nearest integer (the sum lies in `[2^23, 2^24)`, where floats are integers;
/// the FPU rounds to nearest by default), then one step down where that went above `x`.
/// Every x86-64 target vectorizes it, where `f32::floor` is a libm call without SSE4.1 and an
/// `as i32` conversion (saturating in Rust) stays scalar even with AVX2.
#[inline(always)]
pub(crate) fn floor_fast(x: f32) -> f32 {
    let r = (x + 12_582_912.0) - 12_582_912.0;
    if r > x { r - 1.0 } else { r }
}
