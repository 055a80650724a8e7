//! [`Bitmap`]: a decoded 8-bit picture, channels interleaved, described by named fields.

use super::ColorMode;

/// A decoded 8-bit picture: `channels` samples per pixel, interleaved (`H x W x C` in memory,
/// the layout decoders and image files use), its shape given by the named fields `channels`,
/// `height` and `width` and, as an array, always in the order `[channels, height, width]`
/// ([`Self::shape`]), the order of [`Image`](crate::augment::Image) and of `[B, C, H, W]`
/// batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    /// `height * width * channels` bytes, row-major, channels interleaved.
    pub pixels: Vec<u8>,
    /// Number of channels (1 or 3 for decoded files).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl Bitmap {
    /// A bitmap from interleaved bytes and its `[channels, height, width]`.
    ///
    /// # Panics
    /// If `pixels.len() != channels * height * width`.
    pub fn new(pixels: Vec<u8>, [channels, height, width]: [usize; 3]) -> Self {
        assert_eq!(
            pixels.len(),
            channels * height * width,
            "Bitmap::new: {} bytes do not make a {channels}x{height}x{width} picture",
            pixels.len()
        );
        Self {
            pixels,
            channels,
            height,
            width,
        }
    }

    /// `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// The `channels` samples of the pixel at row `y`, column `x`.
    ///
    /// # Panics
    /// If the pixel is outside the picture.
    pub fn pixel(&self, y: usize, x: usize) -> &[u8] {
        assert!(
            y < self.height && x < self.width,
            "Bitmap::pixel: ({y}, {x}) outside a {}x{} picture",
            self.height,
            self.width
        );
        let at = (y * self.width + x) * self.channels;
        &self.pixels[at..at + self.channels]
    }

    /// Resized to `[height, width]` with the `image` crate's triangle (bilinear) filter, the
    /// filter behind PIL's and torchvision's antialiased bilinear resize (the picture itself
    /// when it already has that size).
    ///
    /// # Panics
    /// If `channels` is not 1 or 3.
    pub fn resized(self, [new_h, new_w]: [usize; 2]) -> Bitmap {
        if [new_h, new_w] == [self.height, self.width] {
            return self;
        }
        use image::imageops::{FilterType, resize};
        let (w32, h32, nw, nh) = (
            self.width as u32,
            self.height as u32,
            new_w as u32,
            new_h as u32,
        );
        let pixels = self.pixels;
        let out = match self.channels {
            1 => {
                let img = image::GrayImage::from_raw(w32, h32, pixels).expect("sized buffer");
                resize(&img, nw, nh, FilterType::Triangle).into_raw()
            }
            3 => {
                let img = image::RgbImage::from_raw(w32, h32, pixels).expect("sized buffer");
                resize(&img, nw, nh, FilterType::Triangle).into_raw()
            }
            c => panic!("Bitmap::resized: {c} channels, expected 1 or 3"),
        };
        Bitmap::new(out, [self.channels, new_h, new_w])
    }

    /// The `[height, width]` window whose top-left pixel is at row `top`, column `left`.
    ///
    /// # Panics
    /// If the window leaves the picture.
    pub fn cropped(&self, [top, left]: [usize; 2], [height, width]: [usize; 2]) -> Bitmap {
        assert!(
            top + height <= self.height && left + width <= self.width,
            "Bitmap::cropped: a {height}x{width} window at ({top}, {left}) leaves the {}x{} picture",
            self.height,
            self.width
        );
        let c = self.channels;
        let mut pixels = Vec::with_capacity(c * height * width);
        for y in top..top + height {
            let at = (y * self.width + left) * c;
            pixels.extend_from_slice(&self.pixels[at..at + width * c]);
        }
        Bitmap::new(pixels, [c, height, width])
    }

    /// The centre `[height, width]` window (torchvision `center_crop`): its top-left pixel is at
    /// `round((H - height) / 2)`, `round((W - width) / 2)` with round half to even, as Python's
    /// `round` (the picture itself when it already has that size).
    ///
    /// # Panics
    /// If the window is larger than the picture.
    pub fn center_cropped(self, [height, width]: [usize; 2]) -> Bitmap {
        if [height, width] == [self.height, self.width] {
            return self;
        }
        assert!(
            height <= self.height && width <= self.width,
            "Bitmap::center_cropped: a {height}x{width} crop of a {}x{} picture",
            self.height,
            self.width
        );
        let anchor = |size: usize, crop: usize| ((size - crop) as f64 / 2.0).round_ties_even();
        let top = anchor(self.height, height) as usize;
        let left = anchor(self.width, width) as usize;
        self.cropped([top, left], [height, width])
    }

    /// The same picture in `color`: gray to RGB repeats the channel; RGB to gray uses the
    /// ITU-R 601-2 luma weights, as PIL's `convert("L")`.
    ///
    /// # Panics
    /// If `channels` is neither 1 nor 3.
    pub fn into_color(self, color: ColorMode) -> Bitmap {
        let to = color.channels();
        let pixels = match (self.channels, to) {
            (a, b) if a == b => return self,
            (1, 3) => self.pixels.iter().flat_map(|&p| [p, p, p]).collect(),
            (3, 1) => self
                .pixels
                .chunks_exact(3)
                .map(|c| {
                    let v =
                        (c[0] as u32 * 299 + c[1] as u32 * 587 + c[2] as u32 * 114 + 500) / 1000;
                    v as u8
                })
                .collect(),
            (a, b) => panic!("Bitmap::into_color: unsupported {a} -> {b} channels"),
        };
        Bitmap::new(pixels, [to, self.height, self.width])
    }
}
