//! Flips, crops, padding, erasing and normalization, as in
//! `torchvision.transforms.v2.functional` (pure data movement except `normalize`).

use serde::{Deserialize, Serialize};

use crate::augment::{Depth, Image};

/// Mirrors left to right (torchvision `horizontal_flip`).
pub fn hflip(img: &Image) -> Image {
    let mut out = img.clone();
    for row in out.data.chunks_exact_mut(img.width) {
        row.reverse();
    }
    out
}

/// Mirrors top to bottom (torchvision `vertical_flip`).
pub fn vflip(img: &Image) -> Image {
    let mut out = Vec::with_capacity(img.data.len());
    for c in 0..img.channels {
        for row in img.plane(c).chunks_exact(img.width).rev() {
            out.extend_from_slice(row);
        }
    }
    Image::new(out, img.shape(), img.depth)
}

/// Crops the `height x width` window whose top-left corner is `(top, left)` (torchvision
/// `crop`); parts of the window outside the image are zero, as torchvision pads them.
pub fn crop(img: &Image, top: isize, left: isize, height: usize, width: usize) -> Image {
    let mut out = vec![0f32; img.channels * height * width];
    let (h, w) = (img.height as isize, img.width as isize);
    let x0 = left.clamp(0, w);
    let x1 = (left + width as isize).clamp(0, w);
    for c in 0..img.channels {
        let src = img.plane(c);
        for y in 0..height {
            let sy = top + y as isize;
            if sy < 0 || sy >= h || x1 <= x0 {
                continue;
            }
            let row = &src[(sy * w) as usize..((sy + 1) * w) as usize];
            let dst = (c * height + y) * width + (x0 - left) as usize;
            out[dst..dst + (x1 - x0) as usize].copy_from_slice(&row[x0 as usize..x1 as usize]);
        }
    }
    Image::new(out, [img.channels, height, width], img.depth)
}

/// Crops the centre `height x width` window (torchvision `center_crop`): the anchor is
/// `round((H - h) / 2)` with round half to even, and a crop larger than the image is first
/// zero-padded by `(h - H) // 2` before and `(h - H + 1) // 2` after.
pub fn center_crop(img: &Image, [height, width]: [usize; 2]) -> Image {
    let pad_before = |crop: usize, size: usize| crop.saturating_sub(size) / 2;
    let pad_after = |crop: usize, size: usize| crop.saturating_sub(size).div_ceil(2);
    let (pt, pl) = (pad_before(height, img.height), pad_before(width, img.width));
    let ph = img.height + pt + pad_after(height, img.height);
    let pw = img.width + pl + pad_after(width, img.width);
    let anchor = |size: usize, crop: usize| ((size as f64 - crop as f64) / 2.0).round_ties_even();
    let top = anchor(ph, height) as isize - pt as isize;
    let left = anchor(pw, width) as isize - pl as isize;
    crop(img, top, left, height, width)
}

/// The four corner crops and the centre crop, in torchvision's order (top-left, top-right,
/// bottom-left, bottom-right, centre).
///
/// # Panics
/// If the crop is larger than the image.
pub fn five_crop(img: &Image, [height, width]: [usize; 2]) -> [Image; 5] {
    assert!(
        height <= img.height && width <= img.width,
        "five_crop: crop {height}x{width} is larger than the {}x{} image",
        img.height,
        img.width
    );
    let (b, r) = ((img.height - height) as isize, (img.width - width) as isize);
    [
        crop(img, 0, 0, height, width),
        crop(img, 0, r, height, width),
        crop(img, b, 0, height, width),
        crop(img, b, r, height, width),
        center_crop(img, [height, width]),
    ]
}

/// [`five_crop`] of the image, then of its horizontal (or, with `vertical_flip`, vertical) flip
/// (torchvision `ten_crop`).
///
/// # Panics
/// If the crop is larger than the image.
pub fn ten_crop(img: &Image, size: [usize; 2], vertical_flip: bool) -> Vec<Image> {
    let flipped = if vertical_flip {
        vflip(img)
    } else {
        hflip(img)
    };
    five_crop(img, size)
        .into_iter()
        .chain(five_crop(&flipped, size))
        .collect()
}

/// How [`pad`] fills the border, torchvision's `padding_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    /// A constant value.
    #[default]
    Constant,
    /// The edge pixel repeated.
    Edge,
    /// Mirrored without repeating the edge (`[2, 1] 0 1 2`).
    Reflect,
    /// Mirrored with the edge repeated (`[1, 0] 0 1 2`).
    Symmetric,
}

fn source_index(i: isize, n: isize, mode: PaddingMode) -> Option<usize> {
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let idx = match mode {
        PaddingMode::Constant => return None,
        PaddingMode::Edge => i.clamp(0, n - 1),
        PaddingMode::Reflect => {
            if n == 1 {
                0
            } else {
                let period = 2 * (n - 1);
                let m = i.rem_euclid(period);
                if m < n { m } else { period - m }
            }
        }
        PaddingMode::Symmetric => {
            let period = 2 * n;
            let m = i.rem_euclid(period);
            if m < n { m } else { period - 1 - m }
        }
    };
    Some(idx as usize)
}

/// Pads by `[left, top, right, bottom]` pixels (torchvision `pad`); `fill` is the constant of
/// [`PaddingMode::Constant`] (one value, or one per channel).
///
/// # Panics
/// If `fill` has neither 1 nor `channels` values, or if a reflect padding is not smaller than
/// the image side (torch's rule).
pub fn pad(
    img: &Image,
    [left, top, right, bottom]: [usize; 4],
    mode: PaddingMode,
    fill: &[f32],
) -> Image {
    if mode == PaddingMode::Reflect {
        assert!(
            left.max(right) < img.width && top.max(bottom) < img.height,
            "pad: reflect padding {:?} must be smaller than the {}x{} image",
            [left, top, right, bottom],
            img.height,
            img.width
        );
    }
    let fill = channel_values(fill, img.channels, "pad fill");
    let (oh, ow) = (img.height + top + bottom, img.width + left + right);
    let xs: Vec<Option<usize>> = (0..ow)
        .map(|x| source_index(x as isize - left as isize, img.width as isize, mode))
        .collect();
    let mut out = Vec::with_capacity(img.channels * oh * ow);
    for (c, &f) in fill.iter().enumerate() {
        let src = img.plane(c);
        for y in 0..oh {
            match source_index(y as isize - top as isize, img.height as isize, mode) {
                Some(sy) => {
                    let row = &src[sy * img.width..(sy + 1) * img.width];
                    out.extend(xs.iter().map(|x| x.map_or(f, |x| row[x])));
                }
                None => out.extend(std::iter::repeat_n(f, ow)),
            }
        }
    }
    Image::new(out, [img.channels, oh, ow], img.depth)
}

/// One value per channel from a list of 1 or `channels` values.
pub(crate) fn channel_values(values: &[f32], channels: usize, what: &str) -> Vec<f32> {
    match values.len() {
        1 => vec![values[0]; channels],
        n if n == channels => values.to_vec(),
        n => panic!("{what}: {n} values for a {channels}-channel image (give 1 or {channels})"),
    }
}

/// Writes `value` into the `h x w` window at `(top, left)` (torchvision `erase`): `value` holds
/// one number per channel, or `channels * h * w` numbers (random erasing's noise).
///
/// # Panics
/// If the window leaves the image or `value` has another length.
pub fn erase(img: &Image, top: usize, left: usize, h: usize, w: usize, value: &[f32]) -> Image {
    assert!(
        top + h <= img.height && left + w <= img.width,
        "erase: window {h}x{w} at ({top}, {left}) leaves the {}x{} image",
        img.height,
        img.width
    );
    let full = value.len() == img.channels * h * w;
    let per_channel = if full {
        Vec::new()
    } else {
        channel_values(value, img.channels, "erase value")
    };
    let mut out = img.clone();
    for c in 0..img.channels {
        for y in 0..h {
            let row = (c * img.height + top + y) * img.width + left;
            let dst = &mut out.data[row..row + w];
            if full {
                dst.copy_from_slice(&value[(c * h + y) * w..(c * h + y + 1) * w]);
            } else {
                dst.fill(per_channel[c]);
            }
        }
    }
    out
}

/// `(x - mean[c]) / std[c]` per channel (torchvision `normalize`); a `u8` image is first scaled
/// to `[0, 1]` (as `ToDtype(float32, scale=True)` before `Normalize`). The result is a float
/// image outside `[0, 1]`.
///
/// # Panics
/// If `mean` or `std` has neither 1 nor `channels` values.
pub fn normalize(img: &Image, mean: &[f32], std: &[f32]) -> Image {
    let mean = channel_values(mean, img.channels, "normalize mean");
    let std = channel_values(std, img.channels, "normalize std");
    let scale = 1.0 / img.depth.bound();
    let n = img.plane_len();
    let mut data = img.data.clone();
    for (c, plane) in data.chunks_exact_mut(n).enumerate() {
        for v in plane {
            *v = (*v * scale - mean[c]) / std[c];
        }
    }
    Image::new(data, img.shape(), Depth::F32)
}
