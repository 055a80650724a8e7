//! Decoded images and the decoding step: file bytes to an 8-bit `H x W x C` buffer.
//!
//! Decoding uses the [`image`] crate (JPEG, PNG, BMP, WebP), converts to the requested
//! [`ColorMode`] and, when a target size is set, resizes with a bilinear filter
//! (`image::imageops::FilterType::Triangle`, the filter behind PIL's and torchvision's
//! antialiased bilinear resize).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};

/// The colour layout a dataset decodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ColorMode {
    /// Three channels, red, green, blue.
    #[default]
    Rgb,
    /// One luminance channel (ITU-R 601-2, as PIL's `convert("L")`).
    Gray,
}

impl ColorMode {
    /// Number of channels of this mode: 3 for RGB, 1 for grayscale.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Rgb => 3,
            ColorMode::Gray => 1,
        }
    }
}

/// How a dataset turns a stored image into the pixels a batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeOptions {
    /// Colour layout of the decoded image.
    pub color: ColorMode,
    /// Target `[height, width]`; `None` keeps each image's own size (then every image of a
    /// dataset must have the same size to be batched, which [`crate::data::ImageDataset::verify`]
    /// checks).
    pub size: Option<[usize; 2]>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            color: ColorMode::Rgb,
            size: None,
        }
    }
}

impl DecodeOptions {
    /// RGB images resized to `[height, width]`.
    pub fn rgb(height: usize, width: usize) -> Self {
        Self {
            color: ColorMode::Rgb,
            size: Some([height, width]),
        }
    }

    /// Sets the colour mode.
    pub fn with_color(mut self, color: ColorMode) -> Self {
        self.color = color;
        self
    }

    /// Sets the target size `[height, width]`.
    pub fn with_size(mut self, size: Option<[usize; 2]>) -> Self {
        self.size = size;
        self
    }
}

/// One decoded image: 8-bit pixels in `H x W x C` (interleaved) order, with its label and its
/// position in the dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageItem {
    /// `height * width * channels` bytes, row-major, channels interleaved.
    pub pixels: Vec<u8>,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Number of channels (1 or 3).
    pub channels: usize,
    /// Class index, `None` for unlabelled (test) images.
    pub label: Option<usize>,
    /// Index of the item in its dataset (so predictions map back to file names).
    pub index: usize,
}

impl ImageItem {
    /// Shape as `[height, width, channels]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.height, self.width, self.channels]
    }
}

/// Decodes an image file into interleaved 8-bit pixels with the given options.
///
/// # Errors
/// [`PodiumError::Io`] if the file cannot be read, [`PodiumError::Decode`] if its content is not
/// a supported image or is corrupt. Both name the file.
pub fn decode_file(path: &Path, options: &DecodeOptions) -> Result<(Vec<u8>, usize, usize)> {
    let bytes = std::fs::read(path).map_err(|e| PodiumError::io(path, e))?;
    decode_bytes(&bytes, path, options)
}

/// Decodes encoded image bytes (`origin` only names the source in errors).
///
/// # Errors
/// [`PodiumError::Decode`] naming `origin` when the bytes are not a supported or intact image.
pub fn decode_bytes(
    bytes: &[u8],
    origin: &Path,
    options: &DecodeOptions,
) -> Result<(Vec<u8>, usize, usize)> {
    let decode_err = |e: &dyn std::fmt::Display| PodiumError::Decode {
        path: origin.to_path_buf(),
        reason: e.to_string(),
    };
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_err(&e))?;
    if reader.format().is_none() {
        return Err(decode_err(&"unknown image format"));
    }
    let img = reader.decode().map_err(|e| decode_err(&e))?;
    let (pixels, h, w) = match options.color {
        ColorMode::Rgb => {
            let rgb = img.into_rgb8();
            let (w, h) = rgb.dimensions();
            (rgb.into_raw(), h as usize, w as usize)
        }
        ColorMode::Gray => {
            let l = img.into_luma8();
            let (w, h) = l.dimensions();
            (l.into_raw(), h as usize, w as usize)
        }
    };
    Ok(match options.size {
        Some([th, tw]) if th != h || tw != w => {
            let channels = options.color.channels();
            (resize_bilinear(&pixels, h, w, channels, th, tw), th, tw)
        }
        _ => (pixels, h, w),
    })
}

/// The top rows of a decoded RGB picture: `rows x width x 3` bytes of a `height x width` image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopRows {
    /// Interleaved RGB bytes of the first `rows` rows.
    pub pixels: Vec<u8>,
    /// Height of the whole picture.
    pub height: usize,
    /// Width of the picture.
    pub width: usize,
    /// Rows decoded (at least what was asked, at most `height`).
    pub rows: usize,
}

impl TopRows {
    /// `[rows, width, 3]`, the shape of [`Self::pixels`].
    pub fn shape(&self) -> [usize; 3] {
        [self.rows, self.width, 3]
    }
}

/// The 8 bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Decodes RGB bytes only down to the row that `rows(height, width)` asks for, where the format
/// lets decoding stop there: a non-interlaced PNG of 8-bit depth after expansion (inflating and
/// unfiltering go row by row from the top, so the rows below are never touched). Other
/// pictures are decoded whole (`rows` is still called once, with their size). The rows are
/// those of [`decode_bytes`] with [`ColorMode::Rgb`].
///
/// This is what a leading `random_resized_crop` needs: the crop's last row is drawn from the
/// picture's size before any pixel is decoded ([`crate::augment::Pipeline::apply_encoded`]).
///
/// # Errors
/// [`PodiumError::Decode`] naming `origin` when the bytes are not a supported or intact image.
pub fn decode_top_rows(
    bytes: &[u8],
    origin: &Path,
    rows: impl FnOnce(usize, usize) -> usize,
) -> Result<TopRows> {
    let decode_err = |e: &dyn std::fmt::Display| PodiumError::Decode {
        path: origin.to_path_buf(),
        reason: e.to_string(),
    };
    if bytes.starts_with(PNG_SIGNATURE) {
        // the same limit and expansion as the `image` crate's PNG decoder
        let limits = png::Limits {
            bytes: 512 * 1024 * 1024,
        };
        let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().map_err(|e| decode_err(&e))?;
        let (color, depth) = reader.output_color_type();
        let info = reader.info();
        let (height, width) = (info.height as usize, info.width as usize);
        if !info.interlaced && depth == png::BitDepth::Eight {
            let rows = rows(height, width).min(height);
            let samples = color.samples();
            let mut pixels = vec![0u8; rows * width * 3];
            let mut line = vec![0u8; width * samples];
            for (y, dst) in pixels.chunks_exact_mut(width * 3).enumerate() {
                let buf = if samples == 3 { &mut *dst } else { &mut line };
                if reader.read_row(buf).map_err(|e| decode_err(&e))?.is_none() {
                    return Err(decode_err(&format!("image data ends after {y} rows")));
                }
                match samples {
                    3 => {}
                    // gray (and gray + alpha): the level in all three channels, as `into_rgb8`
                    1 | 2 => {
                        for (px, src) in dst.chunks_exact_mut(3).zip(line.chunks_exact(samples)) {
                            px.fill(src[0]);
                        }
                    }
                    // RGBA: the alpha channel dropped, as `into_rgb8`
                    _ => {
                        for (px, src) in dst.chunks_exact_mut(3).zip(line.chunks_exact(samples)) {
                            px.copy_from_slice(&src[..3]);
                        }
                    }
                }
            }
            return Ok(TopRows {
                pixels,
                height,
                width,
                rows,
            });
        }
    }
    let (pixels, height, width) = decode_bytes(bytes, origin, &DecodeOptions::default())?;
    rows(height, width);
    Ok(TopRows {
        pixels,
        height,
        width,
        rows: height,
    })
}

/// Resizes interleaved 8-bit pixels with the `image` crate's triangle (bilinear) filter.
///
/// # Panics
/// If `pixels.len() != h * w * channels` or `channels` is not 1 or 3.
pub fn resize_bilinear(
    pixels: &[u8],
    h: usize,
    w: usize,
    channels: usize,
    new_h: usize,
    new_w: usize,
) -> Vec<u8> {
    assert_eq!(
        pixels.len(),
        h * w * channels,
        "resize_bilinear: buffer of {} bytes is not {h}x{w}x{channels}",
        pixels.len()
    );
    use image::imageops::{FilterType, resize};
    let (w32, h32, nw, nh) = (w as u32, h as u32, new_w as u32, new_h as u32);
    match channels {
        1 => {
            let img = image::GrayImage::from_raw(w32, h32, pixels.to_vec()).expect("sized buffer");
            resize(&img, nw, nh, FilterType::Triangle).into_raw()
        }
        3 => {
            let img = image::RgbImage::from_raw(w32, h32, pixels.to_vec()).expect("sized buffer");
            resize(&img, nw, nh, FilterType::Triangle).into_raw()
        }
        c => panic!("resize_bilinear: {c} channels, expected 1 or 3"),
    }
}

/// Converts interleaved pixels between 1 and 3 channels (gray to RGB repeats the channel; RGB to
/// gray uses ITU-R 601-2 luma weights, as PIL's `convert("L")`).
pub(crate) fn convert_channels(pixels: Vec<u8>, from: usize, to: usize) -> Vec<u8> {
    match (from, to) {
        (a, b) if a == b => pixels,
        (1, 3) => pixels.iter().flat_map(|&p| [p, p, p]).collect(),
        (3, 1) => pixels
            .chunks_exact(3)
            .map(|c| {
                let v = (c[0] as u32 * 299 + c[1] as u32 * 587 + c[2] as u32 * 114 + 500) / 1000;
                v as u8
            })
            .collect(),
        (a, b) => panic!("convert_channels: unsupported {a} -> {b} channels"),
    }
}
