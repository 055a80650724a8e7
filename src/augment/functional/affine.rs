//! Rotation and affine warps with torchvision's semantics.
//!
//! torchvision builds the inverse of `T * C * R * S * Sh * C^-1` (translation, centre, rotation,
//! scale, shear) with `_get_inverse_affine_matrix`, maps each output pixel, expressed relative
//! to the image centre, through it, and samples the input with `grid_sample(padding_mode="zeros",
//! align_corners=False)`. With a `fill`, a validity mask is sampled too and the result is
//! `mask * img + (1 - mask) * fill` (bilinear) or `fill` where `mask < 0.5` (nearest), which
//! darkens bilinear borders further than plain zero padding: `fill = None` and `fill = 0`
//! differ. `u8` results are rounded.

use super::resize::Interpolation;
use crate::augment::{Cast, Image};

/// The inverse affine matrix `[a, b, c, d, e, f]` of torchvision's `_get_inverse_affine_matrix`
/// (angles in degrees; `center` relative to the image centre).
fn inverse_affine_matrix(
    center: [f64; 2],
    angle: f64,
    translate: [f64; 2],
    scale: f64,
    shear: [f64; 2],
) -> [f64; 6] {
    let rot = angle.to_radians();
    let (sx, sy) = (shear[0].to_radians(), shear[1].to_radians());
    let [cx, cy] = center;
    let [tx, ty] = translate;
    let a = (rot - sy).cos() / sy.cos();
    let b = -(rot - sy).cos() * sx.tan() / sy.cos() - rot.sin();
    let c = (rot - sy).sin() / sy.cos();
    let d = -(rot - sy).sin() * sx.tan() / sy.cos() + rot.cos();
    let mut m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0];
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
    m
}

/// Output size `[height, width]` of an expanded rotation (torchvision
/// `_compute_affine_output_size`, PIL's rule, with its 1e-4 truncation).
fn expanded_size(m: &[f64; 6], w: usize, h: usize) -> [usize; 2] {
    let (hw, hh) = (0.5 * w as f64, 0.5 * h as f64);
    let pts = [[-hw, -hh], [-hw, hh], [hw, hh], [hw, -hh]];
    let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for [x, y] in pts {
        let p = [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
        for k in 0..2 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    let tol = 1e-4;
    let half = [hw, hh];
    let size: Vec<usize> = (0..2)
        .map(|k| {
            let cmax = (((max[k] + half[k]) / tol).trunc() * tol).ceil();
            let cmin = (((min[k] + half[k]) / tol).trunc() * tol).floor();
            (cmax - cmin) as usize
        })
        .collect();
    [size[1], size[0]]
}

/// Samples `img` at the points `m * (x, y, 1)` of an `oh x ow` output grid whose coordinates are
/// relative to the output centre (torchvision `_affine_grid` + `_apply_grid_transform`).
fn warp(
    img: &Image,
    m: &[f64; 6],
    [oh, ow]: [usize; 2],
    interp: Interpolation,
    fill: Option<&[f32]>,
) -> Image {
    let (h, w) = (img.height, img.width);
    let fill = fill.map(|f| super::geometry::channel_values(f, img.channels, "fill"));
    let n_out = oh * ow;
    let mut out = vec![0f32; img.channels * n_out];
    let (ox, oy) = ((ow as f64 - 1.0) * 0.5, (oh as f64 - 1.0) * 0.5);
    let (icx, icy) = ((w as f64 - 1.0) * 0.5, (h as f64 - 1.0) * 0.5);
    let inside = |x: isize, y: isize| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h;
    for i in 0..oh {
        for j in 0..ow {
            let (x, y) = (j as f64 - ox, i as f64 - oy);
            let sx = m[0] * x + m[1] * y + m[2] + icx;
            let sy = m[3] * x + m[4] * y + m[5] + icy;
            // (source offset, weight) pairs of this output pixel.
            let mut taps: [(usize, f64); 4] = [(0, 0.0); 4];
            let mut mask = 0.0;
            match interp {
                Interpolation::Nearest => {
                    let (nx, ny) = (sx.round_ties_even() as isize, sy.round_ties_even() as isize);
                    if inside(nx, ny) {
                        taps[0] = (ny as usize * w + nx as usize, 1.0);
                        mask = 1.0;
                    }
                }
                Interpolation::Bilinear => {
                    let (x0, y0) = (sx.floor(), sy.floor());
                    let (fx, fy) = (sx - x0, sy - y0);
                    let (x0, y0) = (x0 as isize, y0 as isize);
                    let corners = [
                        (x0, y0, (1.0 - fx) * (1.0 - fy)),
                        (x0 + 1, y0, fx * (1.0 - fy)),
                        (x0, y0 + 1, (1.0 - fx) * fy),
                        (x0 + 1, y0 + 1, fx * fy),
                    ];
                    for (k, (cx, cy, wt)) in corners.into_iter().enumerate() {
                        if inside(cx, cy) {
                            taps[k] = (cy as usize * w + cx as usize, wt);
                            mask += wt;
                        }
                    }
                }
            }
            for c in 0..img.channels {
                let plane = img.plane(c);
                let v: f64 = taps.iter().map(|&(o, wt)| wt * plane[o] as f64).sum();
                let v = match (&fill, interp) {
                    (None, _) => v,
                    (Some(f), Interpolation::Nearest) => {
                        if mask < 0.5 {
                            f[c] as f64
                        } else {
                            v
                        }
                    }
                    (Some(f), Interpolation::Bilinear) => (v - f[c] as f64) * mask + f[c] as f64,
                };
                out[c * n_out + i * ow + j] = v as f32;
            }
        }
    }
    img.with_data(out, [img.channels, oh, ow], Cast::Round)
}

/// Affine warp about the centre (or `center`, in pixels): rotation by `angle` degrees
/// (counter-clockwise), `translate` `[x, y]` pixels, `scale`, `shear` `[x, y]` degrees
/// (torchvision `affine`). `fill = None` is plain zero padding; see the module docs.
///
/// # Panics
/// If `scale <= 0` or `fill` has neither 1 nor `channels` values.
#[allow(clippy::too_many_arguments)]
pub fn affine(
    img: &Image,
    angle: f32,
    translate: [f32; 2],
    scale: f32,
    shear: [f32; 2],
    interp: Interpolation,
    fill: Option<&[f32]>,
    center: Option<[f32; 2]>,
) -> Image {
    assert!(scale > 0.0, "affine: scale {scale} must be positive");
    let center = center.map_or([0.0, 0.0], |[x, y]| {
        [
            x as f64 - 0.5 * img.width as f64,
            y as f64 - 0.5 * img.height as f64,
        ]
    });
    let m = inverse_affine_matrix(
        center,
        angle as f64,
        [translate[0] as f64, translate[1] as f64],
        scale as f64,
        [shear[0] as f64, shear[1] as f64],
    );
    warp(img, &m, [img.height, img.width], interp, fill)
}

/// Rotates by `angle` degrees counter-clockwise about the centre (or `center`), keeping the size
/// unless `expand` (torchvision `rotate`). Multiples of 90 degrees about the centre that keep the
/// shape are exact transposes, as torchvision's fast path.
///
/// # Panics
/// If `fill` has neither 1 nor `channels` values.
pub fn rotate(
    img: &Image,
    angle: f32,
    interp: Interpolation,
    expand: bool,
    center: Option<[f32; 2]>,
    fill: Option<&[f32]>,
) -> Image {
    let angle = (angle as f64).rem_euclid(360.0);
    if center.is_none() {
        let square = img.width == img.height;
        match angle {
            0.0 => return img.clone(),
            180.0 => return rot90(img, 2),
            90.0 if expand || square => return rot90(img, 1),
            270.0 if expand || square => return rot90(img, 3),
            _ => {}
        }
    }
    let center = center.map_or([0.0, 0.0], |[x, y]| {
        [
            x as f64 - 0.5 * img.width as f64,
            y as f64 - 0.5 * img.height as f64,
        ]
    });
    let m = inverse_affine_matrix(center, -angle, [0.0, 0.0], 1.0, [0.0, 0.0]);
    let size = if expand {
        expanded_size(&m, img.width, img.height)
    } else {
        [img.height, img.width]
    };
    warp(img, &m, size, interp, fill)
}

/// `torch.rot90(img, k, dims=(-2, -1))`: `k` quarter turns counter-clockwise.
pub fn rot90(img: &Image, k: usize) -> Image {
    let (h, w) = (img.height, img.width);
    let k = k % 4;
    let (oh, ow) = if k % 2 == 1 { (w, h) } else { (h, w) };
    let mut out = Vec::with_capacity(img.data.len());
    for c in 0..img.channels {
        let p = img.plane(c);
        for i in 0..oh {
            for j in 0..ow {
                let v = match k {
                    0 => p[i * w + j],
                    1 => p[j * w + (w - 1 - i)],
                    2 => p[(h - 1 - i) * w + (w - 1 - j)],
                    _ => p[(h - 1 - j) * w + i],
                };
                out.push(v);
            }
        }
    }
    Image::new(out, [img.channels, oh, ow], img.depth)
}
