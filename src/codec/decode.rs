//! The decoding step: file bytes to an 8-bit [`Bitmap`].
//!
//! Decoding uses the [`image`] crate (JPEG, PNG, BMP, WebP), converts to the requested
//! [`ColorMode`] and, when a target size is set, resizes with a bilinear filter
//! (`image::imageops::FilterType::Triangle`, the filter behind PIL's and torchvision's
//! antialiased bilinear resize, [`Bitmap::resized`]); with a [`DecodeOptions::crop_pct`] it
//! resizes and centre-crops instead, as timm's evaluation transform does
//! ([`DecodeOptions::fit`]).
//!
//! The EXIF orientation is followed by default ([`DecodeOptions::exif_orientation`]), as
//! PIL's `ImageOps.exif_transpose` and torchvision's `decode_image(...,
//! apply_exif_orientation=True)` do: the picture comes out upright, with its height and width
//! swapped for orientations 5 to 8. Every entry point follows it the same way
//! ([`decode_bytes`], [`decode_file`], [`decode_top_rows`] and, through them,
//! `Pipeline::apply_encoded`), and every size handed on before the pixels (the `rows` callback
//! of [`decode_top_rows`], the target-size fit) is the upright size.

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
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecodeOptions {
    /// Colour layout of the decoded image.
    pub color: ColorMode,
    /// Target `[height, width]`; `None` keeps each image's own size (then every image of a
    /// dataset must have the same size to be batched, which `ImageDataset::verify`
    /// ([`crate::data`]) checks).
    pub size: Option<[usize; 2]>,
    /// timm's evaluation `crop_pct` in `(0, 1]`, used with a target [`Self::size`]: the image
    /// is resized, keeping its aspect ratio, so that it covers `floor(size / crop_pct)`
    /// ([`eval_resize_size`]), then its centre `size` is cropped
    /// (`transforms_imagenet_eval`: `Resize(floor(img_size / crop_pct))` + `CenterCrop(img_size)`;
    /// timm's default is 0.875, 224 from 256). `None` (the default) resizes straight to `size`,
    /// squashing the aspect ratio. Without a target size it has no effect.
    #[serde(default)]
    pub crop_pct: Option<f64>,
    /// Whether the EXIF orientation tag (JPEG `APP1`, PNG `eXIf`, WebP `EXIF`) is followed, as
    /// PIL's `ImageOps.exif_transpose` does (`true`, the default), or the pixels are kept as
    /// stored (`false`, what timm's loader `Image.open(path).convert("RGB")` gives). With it,
    /// orientation `k` applies PIL's transpose: 1 none, 2 `FLIP_LEFT_RIGHT`, 3 `ROTATE_180`,
    /// 4 `FLIP_TOP_BOTTOM`, 5 `TRANSPOSE`, 6 `ROTATE_270` (90 degrees clockwise),
    /// 7 `TRANSVERSE`, 8 `ROTATE_90` (90 degrees counter-clockwise), before the colour
    /// conversion's result is resized ([`Self::fit`]). A missing, unreadable or out-of-range
    /// tag (0, 9 and above) leaves the pixels as stored.
    #[serde(default = "follow_exif")]
    pub exif_orientation: bool,
}

/// The default of [`DecodeOptions::exif_orientation`].
fn follow_exif() -> bool {
    true
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            color: ColorMode::Rgb,
            size: None,
            crop_pct: None,
            exif_orientation: true,
        }
    }
}

impl DecodeOptions {
    /// RGB images resized to `[height, width]`.
    pub fn rgb(height: usize, width: usize) -> Self {
        Self {
            color: ColorMode::Rgb,
            size: Some([height, width]),
            crop_pct: None,
            exif_orientation: true,
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

    /// Sets timm's evaluation [`Self::crop_pct`].
    pub fn with_crop_pct(mut self, crop_pct: Option<f64>) -> Self {
        self.crop_pct = crop_pct;
        self
    }

    /// Sets [`Self::exif_orientation`]: `false` keeps the pixels as stored.
    pub fn with_exif_orientation(mut self, follow: bool) -> Self {
        self.exif_orientation = follow;
        self
    }

    /// Checks [`Self::crop_pct`].
    ///
    /// # Errors
    /// [`PodiumError::Config`] with key `crop_pct` for a value outside `(0, 1]`, or one set
    /// without a target size (it would have nothing to crop to).
    pub fn validate(&self) -> Result<()> {
        if let Some(p) = self.crop_pct {
            if !(p > 0.0 && p <= 1.0) {
                return Err(PodiumError::config("crop_pct", p, "must be in (0, 1]"));
            }
            if self.size.is_none() {
                return Err(PodiumError::config(
                    "crop_pct",
                    p,
                    "needs a target size (DecodeOptions::size) to crop to",
                ));
            }
        }
        Ok(())
    }

    /// Brings a decoded picture to the target size: unchanged without one; resized straight
    /// to it without a [`Self::crop_pct`]; with one, resized to [`eval_resize_size`] and then
    /// centre-cropped ([`Bitmap::center_cropped`]), timm's `transforms_imagenet_eval`.
    ///
    /// # Panics
    /// As [`Bitmap::resized`], for a picture of other than 1 or 3 channels.
    pub fn fit(&self, bitmap: Bitmap) -> Bitmap {
        match (self.size, self.crop_pct) {
            (None, _) => bitmap,
            (Some(size), None) => bitmap.resized(size),
            (Some(size), Some(p)) => {
                let scaled = eval_resize_size([bitmap.height, bitmap.width], size, p);
                bitmap.resized(scaled).center_cropped(size)
            }
        }
    }
}

/// The size torchvision gives `resize(img, [short])`: the shorter side becomes `short`, the
/// longer `int(short * long / short_side)`. Returns `[height, width]`.
pub fn shorter_side_size([h, w]: [usize; 2], short: usize) -> [usize; 2] {
    if w <= h {
        [(short as f64 * h as f64 / w as f64) as usize, short]
    } else {
        [short, (short as f64 * w as f64 / h as f64) as usize]
    }
}

/// The size timm's evaluation transform resizes an `[h, w]` picture to before its centre
/// `[th, tw]` crop (`transforms_imagenet_eval`, `crop_mode="center"`):
/// `scale = [floor(th / crop_pct), floor(tw / crop_pct)]`; for a square `scale` the shorter
/// side becomes `scale` ([`shorter_side_size`], torchvision `Resize(scale)`); otherwise timm's
/// `ResizeKeepRatio(scale)`: `r = min(h / scale_h, w / scale_w)`, size
/// `[round(h / r), round(w / r)]` (Python's round, half to even). Either way the result covers
/// `scale`, hence the target when `crop_pct <= 1`.
///
/// # Panics
/// If `crop_pct` is not positive or a size is 0.
pub fn eval_resize_size([h, w]: [usize; 2], [th, tw]: [usize; 2], crop_pct: f64) -> [usize; 2] {
    assert!(
        crop_pct > 0.0 && h > 0 && w > 0 && th > 0 && tw > 0,
        "eval_resize_size: a {h}x{w} picture to {th}x{tw} with crop_pct {crop_pct}"
    );
    let scale = |t: usize| (t as f64 / crop_pct).floor() as usize;
    let (sh, sw) = (scale(th), scale(tw));
    if sh == sw {
        return shorter_side_size([h, w], sh);
    }
    let ratio = (h as f64 / sh as f64).min(w as f64 / sw as f64);
    [
        (h as f64 / ratio).round_ties_even() as usize,
        (w as f64 / ratio).round_ties_even() as usize,
    ]
}

/// The most pixels (`width * height`) podium decodes in one picture: 89,478,485, PIL's
/// `Image.MAX_IMAGE_PIXELS` (`1024 * 1024 * 1024 // 4 // 3`, a 1 GiB RGBA picture's worth,
/// its decompression-bomb threshold). A header that claims more is refused with a
/// [`PodiumError::Decode`] naming the file and the size before any pixel buffer is allocated,
/// so that a small file claiming 100000x100000 pixels cannot exhaust memory. PIL warns above
/// this and raises `DecompressionBombError` above twice it; podium refuses above it.
pub const MAX_IMAGE_PIXELS: u64 = 89_478_485;

/// Refuses a picture of more than [`MAX_IMAGE_PIXELS`].
fn check_pixels(width: u64, height: u64, origin: &Path) -> Result<()> {
    let pixels = width * height;
    if pixels > MAX_IMAGE_PIXELS {
        return Err(PodiumError::Decode {
            path: origin.to_path_buf(),
            reason: format!(
                "the picture claims {width}x{height} = {pixels} pixels, over the limit of \
                 {MAX_IMAGE_PIXELS} (MAX_IMAGE_PIXELS, PIL's decompression-bomb limit)"
            ),
        });
    }
    Ok(())
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

/// Decodes encoded image bytes (`origin` only names the source in errors), upright when
/// [`DecodeOptions::exif_orientation`] is set (see the module docs).
///
/// # Errors
/// [`PodiumError::Decode`] naming `origin` when the bytes are not a supported or intact image,
/// or when the header claims more than [`MAX_IMAGE_PIXELS`] pixels (checked before decoding).
pub fn decode_bytes(bytes: &[u8], origin: &Path, options: &DecodeOptions) -> Result<Bitmap> {
    use image::ImageDecoder;
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
    let mut decoder = reader.into_decoder().map_err(|e| decode_err(&e))?;
    let (width, height) = decoder.dimensions();
    check_pixels(width.into(), height.into(), origin)?;
    // the same allocation limit as `ImageReader::decode` (512 MiB for the decoded buffer)
    let mut limits = image::Limits::default();
    limits
        .reserve(decoder.total_bytes())
        .and_then(|()| decoder.set_limits(limits))
        .map_err(|e| decode_err(&e))?;
    let orientation = if options.exif_orientation {
        // an EXIF block that does not parse leaves the picture as stored, as PIL does
        decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms)
    } else {
        image::metadata::Orientation::NoTransforms
    };
    let img = image::DynamicImage::from_decoder(decoder).map_err(|e| decode_err(&e))?;
    let mut img = match options.color {
        ColorMode::Rgb => image::DynamicImage::ImageRgb8(img.into_rgb8()),
        ColorMode::Gray => image::DynamicImage::ImageLuma8(img.into_luma8()),
    };
    img.apply_orientation(orientation);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let pixels = match options.color {
        ColorMode::Rgb => img.into_rgb8().into_raw(),
        ColorMode::Gray => img.into_luma8().into_raw(),
    };
    Ok(options.fit(Bitmap::new(pixels, [options.color.channels(), h, w])))
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
/// those of [`decode_bytes`] with [`ColorMode::Rgb`], the EXIF orientation followed
/// ([`decode_top_rows_with`] chooses).
///
/// This is what a leading `random_resized_crop` needs: the crop's last row is drawn from the
/// picture's size before any pixel is decoded (`Pipeline::apply_encoded` in
/// [`crate::augment`]).
///
/// # Errors
/// [`PodiumError::Decode`] naming `origin` when the bytes are not a supported or intact image,
/// or when the header claims more than [`MAX_IMAGE_PIXELS`] pixels (checked before any row is
/// allocated).
pub fn decode_top_rows(
    bytes: &[u8],
    origin: &Path,
    rows: impl FnOnce(usize, usize) -> usize,
) -> Result<TopRows> {
    decode_top_rows_with(bytes, origin, true, rows)
}

/// [`decode_top_rows`] with the EXIF orientation followed or not
/// ([`DecodeOptions::exif_orientation`]). `rows` gets the upright `(height, width)`, and the
/// rows are the upright picture's: a PNG whose `eXIf` chunk (before its image data, where the
/// `image` crate reads it too) says orientation 1 or 2 (a mirror) is still decoded only down to
/// the rows asked for; the other orientations move the stored bottom rows or columns to the
/// top, so those pictures are decoded whole.
///
/// # Errors
/// As [`decode_top_rows`].
pub fn decode_top_rows_with(
    bytes: &[u8],
    origin: &Path,
    exif_orientation: bool,
    rows: impl FnOnce(usize, usize) -> usize,
) -> Result<TopRows> {
    use image::metadata::Orientation;
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
        check_pixels(info.width.into(), info.height.into(), origin)?;
        let (height, width) = (info.height as usize, info.width as usize);
        let orientation = match &info.exif_metadata {
            Some(chunk) if exif_orientation => {
                Orientation::from_exif_chunk(chunk).unwrap_or(Orientation::NoTransforms)
            }
            _ => Orientation::NoTransforms,
        };
        let mirror = match orientation {
            Orientation::NoTransforms => Some(false),
            Orientation::FlipHorizontal => Some(true),
            _ => None,
        };
        if let Some(mirror) = mirror
            && !info.interlaced
            && depth == png::BitDepth::Eight
        {
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
                if mirror {
                    mirror_rgb_row(dst);
                }
            }
            return Ok(TopRows {
                rows: Bitmap::new(pixels, [3, rows, width]),
                height,
            });
        }
    }
    let options = DecodeOptions::default().with_exif_orientation(exif_orientation);
    let whole = decode_bytes(bytes, origin, &options)?;
    rows(whole.height, whole.width);
    Ok(TopRows {
        height: whole.height,
        rows: whole,
    })
}

/// Reverses the order of the RGB pixels of one row (PIL's `FLIP_LEFT_RIGHT`).
fn mirror_rgb_row(row: &mut [u8]) {
    let width = row.len() / 3;
    for x in 0..width / 2 {
        let (left, right) = row.split_at_mut(3 * (width - 1 - x));
        left[3 * x..3 * x + 3].swap_with_slice(&mut right[..3]);
    }
}
