//! Colour and tone operations with torchvision's semantics on `u8` and float images.
//!
//! Most are a blend `clamp(f * x + (1 - f) * y, 0, bound)` with a degenerate image `y`
//! (torchvision's `_blend`), truncated back to integers on `u8` images:
//! brightness (`y = 0`), contrast (`y` = mean of the grayscale image), saturation (`y` =
//! grayscale), sharpness (`y` = a 3x3 smoothed image on the interior pixels).

use crate::augment::image::floor_fast;
use crate::augment::{Cast, Depth, Image};

/// The second image of a blend.
enum Degenerate<'a> {
    /// A constant (0 for brightness, the grayscale mean for contrast).
    Value(f32),
    /// One plane shared by every channel (the grayscale image for saturation).
    Plane(&'a [f32]),
    /// A full image of the same shape (the smoothed image for sharpness).
    Full(&'a [f32]),
}

/// `x.trunc()` for `0 <= x < 2^22` (the values cast back to `u8`), as [`floor_fast`].
#[inline(always)]
fn trunc_fast(x: f32) -> f32 {
    floor_fast(x)
}

/// torchvision's `_blend` in place: `clamp(f * x + (1 - f) * y, 0, bound)`, truncated on `u8`.
fn blend_in_place(mut img: Image, degenerate: Degenerate<'_>, f: f32) -> Image {
    let bound = img.depth.bound();
    let n = img.plane_len();
    // Two monomorphic loops (u8, float) so that each vectorizes.
    fn run(data: &mut [f32], n: usize, degenerate: &Degenerate<'_>, one: impl Fn(f32, f32) -> f32) {
        match degenerate {
            Degenerate::Value(y) => data.iter_mut().for_each(|v| *v = one(*v, *y)),
            Degenerate::Plane(gray) => {
                for plane in data.chunks_exact_mut(n) {
                    plane
                        .iter_mut()
                        .zip(gray.iter())
                        .for_each(|(v, &y)| *v = one(*v, y));
                }
            }
            Degenerate::Full(other) => data
                .iter_mut()
                .zip(other.iter())
                .for_each(|(v, &y)| *v = one(*v, y)),
        }
    }
    if img.depth == Depth::U8 {
        run(&mut img.data, n, &degenerate, |x, y| {
            trunc_fast((f * x + (1.0 - f) * y).max(0.0).min(bound))
        });
    } else {
        run(&mut img.data, n, &degenerate, |x, y| {
            (f * x + (1.0 - f) * y).max(0.0).min(bound)
        });
    }
    img
}

fn assert_factor(name: &str, f: f32) {
    assert!(
        f >= 0.0 && f.is_finite(),
        "{name}: factor {f} must be a non-negative number"
    );
}

fn assert_rgb(name: &str, img: &Image) {
    assert!(
        img.channels == 3,
        "{name}: needs an RGB image (3 channels), got {}",
        img.channels
    );
}

/// `clamp(f * x, 0, bound)` (torchvision `adjust_brightness`).
///
/// # Panics
/// If `f` is negative or not finite.
pub fn adjust_brightness(img: &Image, f: f32) -> Image {
    adjust_brightness_owned(img.clone(), f)
}

/// [`adjust_brightness`] on an owned image, in place.
pub(crate) fn adjust_brightness_owned(img: Image, f: f32) -> Image {
    assert_factor("adjust_brightness", f);
    blend_in_place(img, Degenerate::Value(0.0), f)
}

/// The luma plane `0.2989 R + 0.587 G + 0.114 B` as floats (not truncated).
fn luma(img: &Image) -> Vec<f32> {
    if img.channels == 1 {
        return img.data.clone();
    }
    assert_rgb("grayscale", img);
    let (r, g, b) = (img.plane(0), img.plane(1), img.plane(2));
    let mut out = vec![0f32; r.len()];
    for (((o, r), g), b) in out.iter_mut().zip(r).zip(g).zip(b) {
        *o = r * 0.2989 + g * 0.587 + b * 0.114;
    }
    out
}

/// Blends towards the mean of the grayscale image (torchvision `adjust_contrast`; on `u8` the
/// grayscale is floored before the mean).
///
/// # Panics
/// If `f` is negative or the image has neither 1 nor 3 channels.
pub fn adjust_contrast(img: &Image, f: f32) -> Image {
    adjust_contrast_owned(img.clone(), f)
}

/// [`adjust_contrast`] on an owned image, in place.
pub(crate) fn adjust_contrast_owned(img: Image, f: f32) -> Image {
    assert_factor("adjust_contrast", f);
    let mut gray = luma(&img);
    if img.depth == Depth::U8 && img.channels == 3 {
        gray.iter_mut().for_each(|v| *v = floor_fast(*v));
    }
    let mean = (gray.iter().map(|&v| v as f64).sum::<f64>() / gray.len().max(1) as f64) as f32;
    blend_in_place(img, Degenerate::Value(mean), f)
}

/// Blends towards the grayscale image (torchvision `adjust_saturation`; 0 gives gray, 1 the
/// image, 2 doubles the saturation). One-channel images are returned unchanged.
///
/// # Panics
/// If `f` is negative or the image has neither 1 nor 3 channels.
pub fn adjust_saturation(img: &Image, f: f32) -> Image {
    adjust_saturation_owned(img.clone(), f)
}

/// [`adjust_saturation`] on an owned image, in place.
pub(crate) fn adjust_saturation_owned(img: Image, f: f32) -> Image {
    assert_factor("adjust_saturation", f);
    if img.channels == 1 {
        return img;
    }
    let mut gray = luma(&img);
    if img.depth == Depth::U8 {
        gray.iter_mut().for_each(|v| *v = floor_fast(*v));
    }
    blend_in_place(img, Degenerate::Plane(&gray), f)
}

/// Grayscale `0.2989 R + 0.587 G + 0.114 B` with 1 or 3 output channels (torchvision
/// `rgb_to_grayscale`; truncated on `u8`).
///
/// # Panics
/// If the image has neither 1 nor 3 channels, or `num_output_channels` is not 1 or 3.
pub fn rgb_to_grayscale(img: &Image, num_output_channels: usize) -> Image {
    assert!(
        num_output_channels == 1 || num_output_channels == 3,
        "rgb_to_grayscale: num_output_channels {num_output_channels} must be 1 or 3"
    );
    let gray: Vec<f32> = luma(img)
        .into_iter()
        .map(|v| img.cast(v, Cast::Trunc))
        .collect();
    let n = gray.len();
    let mut data = Vec::with_capacity(n * num_output_channels);
    for _ in 0..num_output_channels {
        data.extend_from_slice(&gray);
    }
    Image::new(
        data,
        [num_output_channels, img.height, img.width],
        img.depth,
    )
}

/// Lanes of the hue kernel: pixels are converted in groups of this many, every step written
/// lane by lane without branches so that the compiler turns each into one vector instruction.
const HUE_LANES: usize = 8;

/// `if c { a } else { b }`, a vector select once the lane loops are vectorized.
#[inline(always)]
fn pick(c: bool, a: f32, b: f32) -> f32 {
    if c { a } else { b }
}

/// torchvision's `_rgb_to_hsv`, `h = (h + f) mod 1` and `_hsv_to_rgb` on [`HUE_LANES`] pixels,
/// with the same arithmetic in the same order (the sector selects are torchvision's one-hot
/// mask sums, which pick one term exactly); `back` maps each result channel to the output
/// scale.
#[inline(always)]
fn shift_hue_lanes(
    [r, g, b]: [&mut [f32; HUE_LANES]; 3],
    scale: f32,
    f: f32,
    back: impl Fn(f32) -> f32,
) {
    let (mut h, mut s, mut v) = ([0f32; HUE_LANES], [0f32; HUE_LANES], [0f32; HUE_LANES]);
    for l in 0..HUE_LANES {
        let (r, g, b) = (r[l] * scale, g[l] * scale, b[l] * scale);
        let maxc = r.max(g).max(b);
        let minc = r.min(g).min(b);
        let eqc = maxc == minc;
        let range = maxc - minc;
        s[l] = range / pick(eqc, 1.0, maxc);
        let div = pick(eqc, 1.0, range);
        let (rc, gc, bc) = ((maxc - r) / div, (maxc - g) / div, (maxc - b) / div);
        let hr = bc - gc;
        let hg = 2.0 + rc - bc;
        let hb = 4.0 + gc - rc;
        let hh = pick(maxc == r, hr, pick(maxc == g, hg, hb));
        // fmod(h / 6 + 1, 1) for an argument in [0, 2): subtracting the integer part is exact.
        let hh = hh / 6.0 + 1.0;
        h[l] = hh - floor_fast(hh);
        v[l] = maxc;
    }
    for l in 0..HUE_LANES {
        // torch.remainder(h + f, 1) for an argument in (-0.5, 1.5), exactly.
        let shifted = h[l] + f;
        let h6 = (shifted - floor_fast(shifted)) * 6.0;
        let (s, v) = (s[l], v[l]);
        let i = floor_fast(h6);
        let fr = h6 - i;
        // the sector, 0..=5 (torch's `remainder(i, 6)`), kept as a float for vector selects
        let i = i - 6.0 * floor_fast(i / 6.0);
        let sxv = s * v;
        let w = v - sxv;
        let q = v - sxv * fr;
        let t = sxv * fr + w;
        let rr = pick(
            (i == 0.0) | (i == 5.0),
            v,
            pick(i == 1.0, q, pick(i == 4.0, t, w)),
        );
        let gg = pick(
            i == 0.0,
            t,
            pick((i == 1.0) | (i == 2.0), v, pick(i == 3.0, q, w)),
        );
        let bb = pick(
            i == 2.0,
            t,
            pick((i == 3.0) | (i == 4.0), v, pick(i == 5.0, q, w)),
        );
        (r[l], g[l], b[l]) = (back(rr), back(gg), back(bb));
    }
}

/// Runs [`shift_hue_lanes`] over whole planes (the tail padded to a full group).
#[inline(always)]
fn shift_hue_planes(
    r: &mut [f32],
    g: &mut [f32],
    b: &mut [f32],
    scale: f32,
    f: f32,
    back: impl Fn(f32) -> f32 + Copy,
) {
    let full = r.len() / HUE_LANES * HUE_LANES;
    let groups = r[..full]
        .chunks_exact_mut(HUE_LANES)
        .zip(g[..full].chunks_exact_mut(HUE_LANES))
        .zip(b[..full].chunks_exact_mut(HUE_LANES));
    for ((r, g), b) in groups {
        let lanes = [r, g, b].map(|c| <&mut [f32; HUE_LANES]>::try_from(c).expect("full group"));
        shift_hue_lanes(lanes, scale, f, back);
    }
    let rest = r.len() - full;
    if rest > 0 {
        let mut tail = [[0f32; HUE_LANES]; 3];
        for (t, c) in tail.iter_mut().zip([&*r, &*g, &*b]) {
            t[..rest].copy_from_slice(&c[full..]);
        }
        let [tr, tg, tb] = &mut tail;
        shift_hue_lanes([tr, tg, tb], scale, f, back);
        for (t, c) in tail.iter().zip([r, g, b]) {
            c[full..].copy_from_slice(&t[..rest]);
        }
    }
}

/// The hue shift of a `u8` image (values 0..=255), back to `u8` as torchvision's
/// `to_dtype(uint8, scale=True)` does. Compiled for AVX2 as well and picked at run time
/// (the `multiversion` crate); no fused multiply-add is formed, so every target gives the same
/// bits.
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+sse4.1"))]
fn shift_hue_u8(r: &mut [f32], g: &mut [f32], b: &mut [f32], f: f32) {
    shift_hue_planes(r, g, b, 1.0 / 255.0, f, |x| {
        trunc_fast((x * (256.0 - 1e-3)).clamp(0.0, 255.0))
    });
}

/// The hue shift of a float image in `[0, 1]`, multiversioned as [`shift_hue_u8`].
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+sse4.1"))]
fn shift_hue_float(r: &mut [f32], g: &mut [f32], b: &mut [f32], f: f32) {
    shift_hue_planes(r, g, b, 1.0, f, |x| x);
}

/// Shifts the hue by `f` turns, `f` in `[-0.5, 0.5]` (torchvision `adjust_hue`: RGB to HSV in
/// float32, `h = (h + f) mod 1`, back to RGB; a `u8` image goes through float and back as
/// `to_dtype(scale=True)` does). One-channel images are returned unchanged.
///
/// # Panics
/// If `f` is outside `[-0.5, 0.5]` or the image has neither 1 nor 3 channels.
pub fn adjust_hue(img: &Image, f: f32) -> Image {
    adjust_hue_owned(img.clone(), f)
}

/// [`adjust_hue`] on an owned image, in place.
pub(crate) fn adjust_hue_owned(mut img: Image, f: f32) -> Image {
    assert!(
        (-0.5..=0.5).contains(&f),
        "adjust_hue: hue factor {f} is not in [-0.5, 0.5]"
    );
    if img.channels == 1 {
        return img;
    }
    assert_rgb("adjust_hue", &img);
    let n = img.plane_len();
    let u8_depth = img.depth == Depth::U8;
    let (r, rest) = img.data.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    if u8_depth {
        shift_hue_u8(r, g, b, f);
    } else {
        shift_hue_float(r, g, b, f);
    }
    img
}

/// `bound - x` (torchvision `invert`).
pub fn invert(img: &Image) -> Image {
    let bound = img.depth.bound();
    img.map(Cast::Round, |v| bound - v)
}

/// `bound - x` where `x >= threshold` (torchvision `solarize`; the threshold is on the image's
/// scale, 0..=255 for `u8`).
pub fn solarize(img: &Image, threshold: f32) -> Image {
    let bound = img.depth.bound();
    img.map(Cast::Round, |v| if v >= threshold { bound - v } else { v })
}

/// Keeps the top `bits` bits of each `u8` value, `x & (((1 << bits) - 1) << (8 - bits))`
/// (torchvision `posterize`); a float image is quantised the same way through `u8`.
///
/// # Panics
/// If `bits > 8`.
pub fn posterize(img: &Image, bits: u32) -> Image {
    assert!(bits <= 8, "posterize: bits {bits} must be at most 8");
    let mask: u32 = ((1u32 << bits) - 1) << (8 - bits);
    match img.depth {
        Depth::U8 => img.map(Cast::Round, |v| ((v as u32) & mask) as f32),
        depth => Image {
            depth,
            ..posterize(&img.to_u8_depth(), bits).to_f32_depth()
        },
    }
}

/// Stretches each channel to the full range, `trunc(clamp((x - min) / ((max - min) / bound), 0,
/// bound))`; channels with `max == min` are unchanged (torchvision `autocontrast`).
pub fn autocontrast(img: &Image) -> Image {
    let bound = img.depth.bound();
    let n = img.plane_len();
    let mut data = Vec::with_capacity(img.data.len());
    for c in 0..img.channels {
        let plane = img.plane(c);
        let (lo, hi) = plane
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (lo, inv_scale) = if hi == lo || n == 0 {
            (0.0, 1.0)
        } else {
            (lo, (hi - lo) * (1.0 / bound))
        };
        data.extend(
            plane
                .iter()
                .map(|&v| img.cast(((v - lo) / inv_scale).clamp(0.0, bound), Cast::Trunc)),
        );
    }
    Image::new(data, img.shape(), img.depth)
}

/// Histogram equalization per channel, PIL's scheme as torchvision implements it: with
/// `cum = cumsum(hist)`, `step = (N - hist[last non-zero bin]) // 255`, the lookup table is
/// `lut[0] = 0`, `lut[k] = min((cum[k-1] + step // 2) // step, 255)`; channels with `step == 0`
/// are unchanged. Float images are equalized through `u8`.
pub fn equalize(img: &Image) -> Image {
    if img.depth != Depth::U8 {
        return Image {
            depth: img.depth,
            ..equalize(&img.to_u8_depth()).to_f32_depth()
        };
    }
    let n = img.plane_len();
    let mut data = Vec::with_capacity(img.data.len());
    for c in 0..img.channels {
        let plane = img.plane(c);
        let mut hist = [0usize; 256];
        for &v in plane {
            hist[v as usize] += 1;
        }
        let last = hist.iter().rposition(|&h| h > 0).unwrap_or(0);
        let step = (n - hist[last]) / 255;
        if step == 0 {
            data.extend_from_slice(plane);
            continue;
        }
        let mut lut = [0f32; 256];
        let mut cum = 0usize;
        for k in 1..256 {
            cum += hist[k - 1];
            lut[k] = ((cum + step / 2) / step).min(255) as f32;
        }
        data.extend(plane.iter().map(|&v| lut[v as usize]));
    }
    Image::new(data, img.shape(), img.depth)
}

/// Blends with a smoothed copy, `f * x + (1 - f) * blur(x)` on interior pixels (borders kept),
/// `blur` the 3x3 kernel `[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13` (rounded on `u8`), then
/// clamped and truncated (torchvision `adjust_sharpness`; 0 blurs, 1 keeps, 2 sharpens).
///
/// # Panics
/// If `f` is negative or not finite.
pub fn adjust_sharpness(img: &Image, f: f32) -> Image {
    assert_factor("adjust_sharpness", f);
    let (h, w) = (img.height, img.width);
    if h <= 2 || w <= 2 {
        return img.clone();
    }
    let mut degenerate = img.data.clone();
    for c in 0..img.channels {
        let p = img.plane(c);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let mut s = 0f32;
                for dy in 0..3 {
                    for dx in 0..3 {
                        let wt = if dy == 1 && dx == 1 { 5.0 } else { 1.0 };
                        s += wt * p[(y + dy - 1) * w + x + dx - 1];
                    }
                }
                degenerate[(c * h + y) * w + x] = img.cast(s / 13.0, Cast::Round);
            }
        }
    }
    blend_in_place(img.clone(), Degenerate::Full(&degenerate), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_floor_and_trunc_equal_the_library_ones() {
        let mut x = -4_194_303.5f32;
        while x < 4_194_304.0 {
            assert_eq!(floor_fast(x), x.floor(), "floor({x})");
            if x >= 0.0 {
                assert_eq!(trunc_fast(x), x.trunc(), "trunc({x})");
            }
            x += 1_234.567;
        }
        for k in -4096..4096 {
            let x = k as f32 / 64.0;
            assert_eq!(floor_fast(x), x.floor(), "floor({x})");
            let below = x.next_down();
            assert_eq!(floor_fast(below), below.floor(), "floor({below})");
        }
    }

    /// torchvision's `_rgb_to_hsv`, hue shift and `_hsv_to_rgb` for one `u8` pixel, written
    /// with branches as in the formula, for the lane kernel to be checked against.
    fn hue_pixel(rgb: [f32; 3], f: f32) -> [f32; 3] {
        let [r, g, b] = rgb.map(|v| v * (1.0 / 255.0));
        let maxc = r.max(g).max(b);
        let minc = r.min(g).min(b);
        let range = maxc - minc;
        let s = if maxc == minc { range } else { range / maxc };
        let div = if maxc == minc { 1.0 } else { range };
        let (rc, gc, bc) = ((maxc - r) / div, (maxc - g) / div, (maxc - b) / div);
        let h = if maxc == r {
            bc - gc
        } else if maxc == g {
            2.0 + rc - bc
        } else {
            4.0 + gc - rc
        };
        let h = (h / 6.0 + 1.0).rem_euclid(1.0);
        let h = (h + f).rem_euclid(1.0);
        let (i, frac) = ((h * 6.0).floor(), h * 6.0 - (h * 6.0).floor());
        let (v, sxv) = (maxc, s * maxc);
        let (w, q, t) = (v - sxv, v - sxv * frac, sxv * frac + (v - sxv));
        let out = match (i as i32).rem_euclid(6) {
            0 => [v, t, w],
            1 => [q, v, w],
            2 => [w, v, t],
            3 => [w, q, v],
            4 => [t, w, v],
            _ => [v, w, q],
        };
        out.map(|x| (x * (256.0 - 1e-3)).clamp(0.0, 255.0).trunc())
    }

    #[test]
    fn the_hue_lanes_equal_the_per_pixel_formula_on_the_u8_cube() {
        // every third level of each channel (85^3 colours), a count that is not a multiple of
        // the lane width, so the padded tail runs too
        let levels: Vec<f32> = (0..255).step_by(3).map(|v| v as f32).collect();
        let mut planes = [Vec::new(), Vec::new(), Vec::new()];
        for &r in &levels {
            for &g in &levels {
                for &b in &levels {
                    planes[0].push(r);
                    planes[1].push(g);
                    planes[2].push(b);
                }
            }
        }
        assert_ne!(planes[0].len() % HUE_LANES, 0);
        for f in [-0.5, -0.27, 0.0, 0.1, 0.5] {
            let [mut r, mut g, mut b] = planes.clone();
            shift_hue_u8(&mut r, &mut g, &mut b, f);
            for k in 0..r.len() {
                let want = hue_pixel([planes[0][k], planes[1][k], planes[2][k]], f);
                assert_eq!([r[k], g[k], b[k]], want, "pixel {k}, hue factor {f}");
            }
        }
    }
}
