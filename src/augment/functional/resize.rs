//! Resizing with torch's `interpolate` semantics (`align_corners=False`), as
//! `torchvision.transforms.v2.functional.resize` calls it.
//!
//! * Bilinear: source coordinate `s = (d + 0.5) * in / out - 0.5`, clamped at 0, blended between
//!   `floor(s)` and the next pixel (the last pixel repeats).
//! * Bilinear with `antialias` (torch's `_upsample_bilinear2d_aa`, PIL's resampling): a triangle
//!   filter widened by the scale `in / out` when shrinking, weights normalised per output pixel.
//!   When enlarging it gives plain bilinear, so antialias only changes downscaling.
//! * Nearest: torch's legacy rule `s = min(floor(d * in / out), in - 1)` (not `nearest-exact`).
//!
//! Both axes are filtered separably (width first, then height). On `u8` images the result is
//! rounded, as torchvision does (torch's dedicated `uint8` antialias kernel uses fixed-point
//! weights and may differ from that by one grey level).

use serde::{Deserialize, Serialize};

use crate::augment::{Cast, Depth, Image};
use crate::codec::Bitmap;
/// The size torchvision gives `resize(img, [short])` (defined beside the decoder, which
/// resizes with it too).
pub use crate::codec::shorter_side_size;

/// Interpolation mode, torchvision's `InterpolationMode` (`NEAREST`, `BILINEAR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Nearest neighbour (torch's legacy `nearest`).
    Nearest,
    /// Bilinear.
    #[default]
    Bilinear,
}

/// One output sample along an axis: the first source index and the weights from there on.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

fn axis_taps(input: usize, output: usize, interp: Interpolation, antialias: bool) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    (0..output)
        .map(|d| match interp {
            Interpolation::Nearest => {
                let s = ((d as f32) * (input as f32 / output as f32)).floor() as usize;
                Taps {
                    start: s.min(input - 1),
                    weights: vec![1.0],
                }
            }
            Interpolation::Bilinear if antialias && scale > 1.0 => {
                let support = scale;
                let center = scale * (d as f64 + 0.5);
                let invscale = 1.0 / scale;
                let xmin = ((center - support + 0.5).trunc().max(0.0)) as usize;
                let xmax = ((center + support + 0.5).trunc() as usize).min(input);
                let raw: Vec<f64> = (xmin..xmax)
                    .map(|j| {
                        let x = ((j as f64 - center + 0.5) * invscale).abs();
                        if x < 1.0 { 1.0 - x } else { 0.0 }
                    })
                    .collect();
                let total: f64 = raw.iter().sum();
                Taps {
                    start: xmin,
                    weights: raw.iter().map(|w| (w / total) as f32).collect(),
                }
            }
            Interpolation::Bilinear => {
                let s = ((d as f64 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(input - 1);
                let l1 = (s - i0 as f64) as f32;
                if i0 + 1 < input {
                    Taps {
                        start: i0,
                        weights: vec![1.0 - l1, l1],
                    }
                } else {
                    Taps {
                        start: i0,
                        weights: vec![1.0],
                    }
                }
            }
        })
        .collect()
}

/// Resizes to `[height, width]` (torchvision `resize(img, [h, w], interpolation, antialias)`).
///
/// # Panics
/// If the image or the target size is empty.
pub fn resize(
    img: &Image,
    [out_h, out_w]: [usize; 2],
    interp: Interpolation,
    antialias: bool,
) -> Image {
    assert!(
        img.height > 0 && img.width > 0 && out_h > 0 && out_w > 0,
        "resize: cannot resize a {}x{} image to {out_h}x{out_w}",
        img.height,
        img.width
    );
    if [out_h, out_w] == [img.height, img.width] {
        return img.clone();
    }
    let (c, h, w) = (img.channels, img.height, img.width);
    let xt = axis_taps(w, out_w, interp, antialias);
    // Width pass, row by row: c x h x out_w.
    let mut tmp = vec![0f32; c * h * out_w];
    for (row_in, row_out) in img.data.chunks_exact(w).zip(tmp.chunks_exact_mut(out_w)) {
        for (o, t) in row_out.iter_mut().zip(&xt) {
            *o = t
                .weights
                .iter()
                .zip(&row_in[t.start..])
                .fold(0.0, |acc, (wt, v)| acc + wt * v);
        }
    }
    height_pass(&tmp, [c, h, out_w], out_h, interp, antialias, img.depth)
}

/// Resizes the `[top, left, h, w]` window of a decoded [`Bitmap`] (channels interleaved) to
/// `[height, width]`, giving the `u8` image that `resize(crop(img))` gives, without converting
/// the whole picture (the crop is read straight into the column-major planes the width pass
/// wants).
///
/// # Panics
/// If the buffer does not match its shape, the window leaves the picture, or a size is empty.
pub fn resized_crop_interleaved(
    bitmap: &Bitmap,
    [top, left, h, w]: [usize; 4],
    [out_h, out_w]: [usize; 2],
    interp: Interpolation,
    antialias: bool,
) -> Image {
    let (pixels, [channels, height, width]) = (&bitmap.pixels, bitmap.shape());
    assert!(
        pixels.len() == height * width * channels
            && top + h <= height
            && left + w <= width
            && h > 0
            && w > 0
            && out_h > 0
            && out_w > 0,
        "resized_crop_interleaved: window {:?} of a {channels}x{height}x{width} picture ({} \
         bytes) to {out_h}x{out_w}",
        [top, left, h, w],
        pixels.len()
    );
    if [out_h, out_w] == [h, w] {
        return Image::from_bitmap_window(bitmap, [top, left, h, w]);
    }
    // column-major planes: channel c, column x, row y at (c * w + x) * h + y, filled in bands
    // of rows so that both the reads and the writes stay in cache
    const BAND: usize = 16;
    let mut columns = vec![0f32; channels * h * w];
    let stride = width * channels;
    for y0 in (0..h).step_by(BAND) {
        let rows = BAND.min(h - y0);
        let first = (top + y0) * stride + left * channels;
        for x in 0..w {
            for c in 0..channels {
                let dst = &mut columns[(c * w + x) * h + y0..][..rows];
                let src = &pixels[first + x * channels + c..];
                for (k, d) in dst.iter_mut().enumerate() {
                    *d = src[k * stride] as f32;
                }
            }
        }
    }
    resize_columns(
        &columns,
        [channels, h, w],
        [out_h, out_w],
        interp,
        antialias,
        Depth::U8,
    )
}

/// `dst = src^T` for a row-major `rows x cols` plane, in cache-sized tiles.
fn transpose(src: &[f32], dst: &mut [f32], rows: usize, cols: usize) {
    const TILE: usize = 16;
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            for c in c0..(c0 + TILE).min(cols) {
                let out = &mut dst[c * rows + r0..c * rows + r1];
                for (k, o) in out.iter_mut().enumerate() {
                    *o = src[(r0 + k) * cols + c];
                }
            }
        }
    }
}

/// The separable resize from column-major planes (`channels x w x h`): the width pass sums
/// whole source columns into output columns (`out[x] = sum_k w_k * in[start + k]`, each a
/// vectorized multiply-add over the `h` rows, in the same order of taps as a per-pixel dot
/// product, so the same bits), then the planes go back to row-major for the height pass.
/// The result has `depth` (rounded on `u8`).
fn resize_columns(
    columns: &[f32],
    [c, h, w]: [usize; 3],
    [out_h, out_w]: [usize; 2],
    interp: Interpolation,
    antialias: bool,
    depth: Depth,
) -> Image {
    let xt = axis_taps(w, out_w, interp, antialias);
    // Width pass: c x out_w x h (column-major), then back to row-major c x h x out_w.
    let mut wide = vec![0f32; out_w * h];
    let mut tmp = vec![0f32; c * h * out_w];
    for (src, dst) in columns
        .chunks_exact(w * h)
        .zip(tmp.chunks_exact_mut(h * out_w))
    {
        for (col_out, t) in wide.chunks_exact_mut(h).zip(&xt) {
            col_out.fill(0.0);
            for (k, wt) in t.weights.iter().enumerate() {
                let col_in = &src[(t.start + k) * h..(t.start + k + 1) * h];
                multiply_add(col_out, *wt, col_in);
            }
        }
        transpose(&wide, dst, out_w, h);
    }
    height_pass(&tmp, [c, h, out_w], out_h, interp, antialias, depth)
}

/// The height pass of the separable resize, on row-major planes `c x h x out_w`: each output
/// row is a weighted sum of whole input rows. The result has `depth` (rounded on `u8`).
fn height_pass(
    tmp: &[f32],
    [c, h, out_w]: [usize; 3],
    out_h: usize,
    interp: Interpolation,
    antialias: bool,
    depth: Depth,
) -> Image {
    let yt = axis_taps(h, out_h, interp, antialias);
    let mut out = vec![0f32; c * out_h * out_w];
    for (src, dst) in tmp
        .chunks_exact(h * out_w)
        .zip(out.chunks_exact_mut(out_h * out_w))
    {
        for (row_out, t) in dst.chunks_exact_mut(out_w).zip(&yt) {
            for (k, wt) in t.weights.iter().enumerate() {
                let row_in = &src[(t.start + k) * out_w..(t.start + k + 1) * out_w];
                multiply_add(row_out, *wt, row_in);
            }
        }
    }
    Image::zeros([c, 0, 0], depth).with_data(out, [c, out_h, out_w], Cast::Round)
}

/// `acc += wt * x`, element-wise (a separate multiply and add: no fused multiply-add, so every
/// target gives the same bits); multiversioned for AVX2.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn multiply_add(acc: &mut [f32], wt: f32, x: &[f32]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += wt * v;
    }
}

/// Resizes so that the shorter side is `short`, keeping the aspect ratio
/// (torchvision `resize(img, [short])`).
///
/// # Panics
/// If the image is empty or `short` is 0.
pub fn resize_shorter(img: &Image, short: usize, interp: Interpolation, antialias: bool) -> Image {
    resize(
        img,
        shorter_side_size([img.height, img.width], short),
        interp,
        antialias,
    )
}
