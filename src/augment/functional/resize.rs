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

use crate::augment::{Cast, Image};

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
    let xt = axis_taps(img.width, out_w, interp, antialias);
    let yt = axis_taps(img.height, out_h, interp, antialias);
    let (c, h, w) = (img.channels, img.height, img.width);
    // Width pass: c x h x out_w.
    let mut tmp = vec![0f32; c * h * out_w];
    for (row_in, row_out) in img.data.chunks_exact(w).zip(tmp.chunks_exact_mut(out_w)) {
        for (o, t) in row_out.iter_mut().zip(&xt) {
            *o = t
                .weights
                .iter()
                .zip(&row_in[t.start..])
                .map(|(wt, v)| wt * v)
                .sum();
        }
    }
    // Height pass: c x out_h x out_w.
    let mut out = vec![0f32; c * out_h * out_w];
    for ch in 0..c {
        let src = &tmp[ch * h * out_w..(ch + 1) * h * out_w];
        let dst = &mut out[ch * out_h * out_w..(ch + 1) * out_h * out_w];
        for (row_out, t) in dst.chunks_exact_mut(out_w).zip(&yt) {
            for (k, wt) in t.weights.iter().enumerate() {
                let row_in = &src[(t.start + k) * out_w..(t.start + k + 1) * out_w];
                for (o, v) in row_out.iter_mut().zip(row_in) {
                    *o += wt * v;
                }
            }
        }
    }
    img.with_data(out, [c, out_h, out_w], Cast::Round)
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
