//! Gaussian blur with torchvision's kernel and border handling.

use super::geometry::{PaddingMode, pad};
use crate::augment::{Cast, Image};

/// torchvision's 1-D kernel: `exp(-x^2 / (2 sigma^2))` at `x = -(k-1)/2 ..= (k-1)/2`, normalised.
pub fn gaussian_kernel(size: usize, sigma: f32) -> Vec<f32> {
    let half = (size as f64 - 1.0) * 0.5;
    let raw: Vec<f64> = (0..size)
        .map(|i| {
            let x = i as f64 - half;
            (-0.5 * (x / sigma as f64).powi(2)).exp()
        })
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|v| (v / total) as f32).collect()
}

/// Blurs with a `kernel_size = [kx, ky]` Gaussian of `sigma = [sx, sy]` (both given x first, as
/// torchvision's `gaussian_blur`), after reflect padding by half the kernel; rounded on `u8`.
///
/// # Panics
/// If a kernel size is even or zero, a sigma is not positive, or the padding is not smaller than
/// the image side (reflect padding's rule).
pub fn gaussian_blur(img: &Image, [kx, ky]: [usize; 2], [sx, sy]: [f32; 2]) -> Image {
    assert!(
        kx % 2 == 1 && ky % 2 == 1,
        "gaussian_blur: kernel size {:?} must be odd and positive",
        [kx, ky]
    );
    assert!(
        sx > 0.0 && sy > 0.0,
        "gaussian_blur: sigma {:?} must be positive",
        [sx, sy]
    );
    let (wx, wy) = (gaussian_kernel(kx, sx), gaussian_kernel(ky, sy));
    let (px, py) = (kx / 2, ky / 2);
    let padded = pad(img, [px, py, px, py], PaddingMode::Reflect, &[0.0]);
    let (h, w, pw) = (img.height, img.width, padded.width);
    let ph = padded.height;
    let mut out = vec![0f32; img.data.len()];
    let mut tmp = vec![0f32; ph * w];
    for c in 0..img.channels {
        let src = padded.plane(c);
        for y in 0..ph {
            let row = &src[y * pw..(y + 1) * pw];
            for x in 0..w {
                tmp[y * w + x] = wx.iter().zip(&row[x..x + kx]).map(|(a, b)| a * b).sum();
            }
        }
        let dst = &mut out[c * h * w..(c + 1) * h * w];
        for y in 0..h {
            for (k, wt) in wy.iter().enumerate() {
                let row = &tmp[(y + k) * w..(y + k + 1) * w];
                for (o, v) in dst[y * w..(y + 1) * w].iter_mut().zip(row) {
                    *o += wt * v;
                }
            }
        }
    }
    img.with_data(out, img.shape(), Cast::Round)
}
