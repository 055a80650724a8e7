//! The decoding step: file bytes to an 8-bit [`Bitmap`].
//!
//! Decoding uses the [`image`] crate (JPEG, PNG, BMP, WebP), converts to the requested
//! [`ColorMode`] and, when a target size is set, resizes with a bilinear filter
//! (`image::imageops::FilterType::Triangle`, the filter behind PIL's and torchvision's
//! antialiased bilinear resize, [`Bitmap::resized`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Bitmap;
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
    /// dataset must have the same size to be batched, which `ImageDataset::verify`
    /// ([`crate::data`]) checks).
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

/// Decodes an image file into an 8-bit [`Bitmap`] with the given options.
///
/// # Errors
/// [`PodiumError::Io`] if the file cannot be read, [`PodiumError::Decode`] if its content is not
/// a supported image or is corrupt. Both name the file.
pub fn decode_file(path: &Path, options: &DecodeOptions) -> Result<Bitmap> {
    let bytes = std::fs::read(path).map_err(|e| PodiumError::io(path, e))?;
    decode_bytes(&bytes, path, options)
}

/// Decodes encoded image bytes (`origin` only names the source in errors).
///
/// # Errors
/// [`PodiumError::Decode`] naming `origin` when the bytes are not a supported or intact image.
pub fn decode_bytes(bytes: &[u8], origin: &Path, options: &DecodeOptions) -> Result<Bitmap> {
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
    let bitmap = Bitmap::new(pixels, [options.color.channels(), h, w]);
    Ok(match options.size {
        Some(size) => bitmap.resized(size),
        None => bitmap,
    })
}

/// The top rows of a decoded RGB picture of `height` rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopRows {
    /// The rows decoded, as an RGB bitmap `[3, rows, width]`: its `height` is the number of
    /// rows decoded (at least what was asked, at most the picture's height).
    pub rows: Bitmap,
    /// Height of the whole picture.
    pub height: usize,
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
/// picture's size before any pixel is decoded (`Pipeline::apply_encoded` in
/// [`crate::augment`]).
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
                rows: Bitmap::new(pixels, [3, rows, width]),
                height,
            });
        }
    }
    let whole = decode_bytes(bytes, origin, &DecodeOptions::default())?;
    rows(whole.height, whole.width);
    Ok(TopRows {
        height: whole.height,
        rows: whole,
    })
}
