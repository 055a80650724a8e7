//! Colour and tone operations with torchvision's semantics on `u8` and float images.
//!
//! Most are a blend `clamp(f * x + (1 - f) * y, 0, bound)` with a degenerate image `y`
//! (torchvision's `_blend`), truncated back to integers on `u8` images:
//! brightness (`y = 0`), contrast (`y` = mean of the grayscale image), saturation (`y` =
//! grayscale), sharpness (`y` = a 3x3 smoothed image on the interior pixels).

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

/// `x.trunc()` for `|x| < 2^31` through an integer conversion, which baseline x86-64 (SSE2)
/// vectorizes, where `f32::trunc` is a libm call without SSE4.1.
#[inline(always)]
fn trunc_fast(x: f32) -> f32 {
    x as i32 as f32
}

/// `x.floor()` for `|x| < 2^31`, vectorizable as [`trunc_fast`].
#[inline(always)]
fn floor_fast(x: f32) -> f32 {
    let t = trunc_fast(x);
    if t > x { t - 1.0 } else { t }
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

fn check_factor(name: &str, f: f32) {
    assert!(
        f >= 0.0 && f.is_finite(),
        "{name}: factor {f} must be a non-negative number"
    );
}

fn check_rgb(name: &str, img: &Image) {
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
    check_factor("adjust_brightness", f);
    blend_in_place(img, Degenerate::Value(0.0), f)
}

/// The luma plane `0.2989 R + 0.587 G + 0.114 B` as floats (not truncated).
fn luma(img: &Image) -> Vec<f32> {
    if img.channels == 1 {
        return img.data.clone();
    }
    check_rgb("grayscale", img);
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
    check_factor("adjust_contrast", f);
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
    check_factor("adjust_saturation", f);
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

/// torchvision's `_rgb_to_hsv` for one pixel. Written with selects rather than branches (the
/// same arithmetic, in the same order) so the pixel loop vectorizes.
#[inline(always)]
fn rgb_to_hsv(r: f32, g: f32, b: f32) -> [f32; 3] {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let eqc = maxc == minc;
    let range = maxc - minc;
    let s = range / if eqc { 1.0 } else { maxc };
    let div = if eqc { 1.0 } else { range };
    let (rc, gc, bc) = ((maxc - r) / div, (maxc - g) / div, (maxc - b) / div);
    let hr = bc - gc;
    let hg = 2.0 + rc - bc;
    let hb = 4.0 + gc - rc;
    let h = if maxc == r {
        hr
    } else if maxc == g {
        hg
    } else {
        hb
    };
    // fmod(h / 6 + 1, 1) for an argument in [0, 2): subtracting the integer part is exact.
    let h = h / 6.0 + 1.0;
    [h - floor_fast(h), s, maxc]
}

/// torchvision's `_hsv_to_rgb` for one pixel (selects on the hue sector, see [`rgb_to_hsv`]).
#[inline(always)]
fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h6 = h * 6.0;
    let i = floor_fast(h6);
    let f = h6 - i;
    // the sector, 0..=5 (torch's `remainder(i, 6)`), kept as a float for vector selects
    let i = i - 6.0 * floor_fast(i / 6.0);
    let sxv = s * v;
    let w = v - sxv;
    let q = v - sxv * f;
    let t = sxv * f + w;
    let r = if i == 0.0 || i == 5.0 {
        v
    } else if i == 1.0 {
        q
    } else if i == 4.0 {
        t
    } else {
        w
    };
    let g = if i == 0.0 {
        t
    } else if i == 1.0 || i == 2.0 {
        v
    } else if i == 3.0 {
        q
    } else {
        w
    };
    let b = if i == 2.0 {
        t
    } else if i == 3.0 || i == 4.0 {
        v
    } else if i == 5.0 {
        q
    } else {
        w
    };
    [r, g, b]
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
    check_rgb("adjust_hue", &img);
    let n = img.plane_len();
    let scale = 1.0 / img.depth.bound();
    let u8_depth = img.depth == Depth::U8;
    let (r, rest) = img.data.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    if u8_depth {
        // back to u8 as torchvision's `to_dtype(uint8, scale=True)` does
        shift_hue(r, g, b, scale, f, |x| {
            trunc_fast((x * (256.0 - 1e-3)).clamp(0.0, 255.0))
        });
    } else {
        shift_hue(r, g, b, scale, f, |x| x);
    }
    img
}

/// The per-pixel hue shift, monomorphic in `back` so the loop inlines and vectorizes.
#[inline(always)]
fn shift_hue(
    r: &mut [f32],
    g: &mut [f32],
    b: &mut [f32],
    scale: f32,
    f: f32,
    back: impl Fn(f32) -> f32,
) {
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        let [h, s, v] = rgb_to_hsv(*r * scale, *g * scale, *b * scale);
        // torch.remainder(h + f, 1) for an argument in (-0.5, 1.5), exactly.
        let shifted = h + f;
        let rgb = hsv_to_rgb(shifted - floor_fast(shifted), s, v);
        (*r, *g, *b) = (back(rgb[0]), back(rgb[1]), back(rgb[2]));
    }
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
    check_factor("adjust_sharpness", f);
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
