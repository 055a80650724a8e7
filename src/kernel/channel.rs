//! Per-channel maps of `[B, C, H, W]` feature maps, the two halves of a squeeze-and-excitation
//! block (Hu et al. 2018; timm's `SqueezeExcite`): the global average pool
//! `s[b, c] = (1 / HW) Σ_{h,w} x[b, c, h, w]` and the channel scaling
//! `y[b, c, h, w] = x[b, c, h, w] · s[b, c]`. Their gradients:
//!
//! | map | `dx` | `ds` |
//! |---|---|---|
//! | [`global_avg_pool`](super::global_avg_pool) | `g[b, c] / HW` on every pixel | — |
//! | [`scale_channels`](super::scale_channels) | `g[b, c, h, w] · s[b, c]` | `Σ_{h,w} g[b, c, h, w] · x[b, c, h, w]` |
//!
//! Burn composes them from `mean_dim` and a broadcast `mul`, which flex runs on one thread (with
//! a broadcast gradient summed by two more reductions); on flex in `f32` podium runs each as one
//! pass over the planes, rayon over planes, forward and backward (`ChannelKernels`, a backend
//! extension like the other kernels, entry points [`global_avg_pool`](super::global_avg_pool) and
//! [`scale_channels`](super::scale_channels)).
//! Every other backend and dtype composes Burn's ops. The slice kernels below are the flex
//! path's arithmetic; sums run in `f32` over 16 interleaved
//! partial sums, as vectorized reductions do (the pool is within a few `f32` ulps of torch's
//! `x.mean((2, 3), keepdim=True)`).

use super::{GRAIN, for_blocks};

/// Planes per rayon task for planes of `hw` values.
fn planes_per_task(hw: usize) -> usize {
    (GRAIN / hw.max(1)).max(1)
}

/// `Σ v` (or `Σ v · w`) in `f32` over 16 interleaved partial sums, then pairwise; compiled per
/// CPU (AVX-512, AVX2, SSE4.1; chosen once at run time), the same operations in the same order
/// on every target (no fused multiply-add), so the same bits everywhere.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn sum16(v: &[f32], w: Option<&[f32]>) -> f32 {
    let mut acc = [0.0f32; 16];
    match w {
        None => {
            let mut chunks = v.chunks_exact(16);
            for c in &mut chunks {
                for (a, x) in acc.iter_mut().zip(c) {
                    *a += x;
                }
            }
            for (a, x) in acc.iter_mut().zip(chunks.remainder()) {
                *a += x;
            }
        }
        Some(w) => {
            let (mut cv, mut cw) = (v.chunks_exact(16), w.chunks_exact(16));
            for (c, d) in (&mut cv).zip(&mut cw) {
                for ((a, x), y) in acc.iter_mut().zip(c).zip(d) {
                    *a += x * y;
                }
            }
            for ((a, x), y) in acc.iter_mut().zip(cv.remainder()).zip(cw.remainder()) {
                *a += x * y;
            }
        }
    }
    let mut n = 16;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            acc[i] += acc[i + n];
        }
    }
    acc[0]
}

/// The plane means: `out[i] = (1 / hw) Σ x[i hw .. (i + 1) hw]` for `out.len()` planes.
///
/// # Panics
/// If `x` does not hold `out.len()` planes of `hw` values.
pub fn plane_means(x: &[f32], hw: usize, out: &mut [f32]) {
    assert_eq!(x.len(), out.len() * hw, "plane_means: {} values", x.len());
    let per = planes_per_task(hw);
    let scale = 1.0 / hw as f32;
    for_blocks(out, per, x.len(), |i, out| {
        for (o, plane) in out.iter_mut().zip(x[i * per * hw..].chunks_exact(hw)) {
            *o = sum16(plane, None) * scale;
        }
    });
}

/// The gradient of [`plane_means`]: `dx[i hw + j] = g[i] / hw`.
///
/// # Panics
/// If `dx` does not hold `g.len()` planes of `hw` values.
pub fn plane_means_backward(g: &[f32], hw: usize, dx: &mut [f32]) {
    assert_eq!(
        dx.len(),
        g.len() * hw,
        "plane_means_backward: {} values",
        dx.len()
    );
    let per = planes_per_task(hw);
    let scale = 1.0 / hw as f32;
    for_blocks(dx, per * hw, dx.len(), |i, dx| {
        for (plane, &g) in dx.chunks_exact_mut(hw).zip(&g[i * per..]) {
            plane.fill(g * scale);
        }
    });
}

/// The channel scaling: `y[i hw + j] = x[i hw + j] · s[i]`.
///
/// # Panics
/// If `x` and `y` do not hold `s.len()` planes of `hw` values.
pub fn scale_planes(x: &[f32], s: &[f32], hw: usize, y: &mut [f32]) {
    assert!(
        x.len() == s.len() * hw && y.len() == x.len(),
        "scale_planes: {} values, {} scales of {hw}",
        x.len(),
        s.len()
    );
    let per = planes_per_task(hw);
    for_blocks(y, per * hw, x.len(), |i, y| {
        scale_block(y, &x[i * per * hw..], &s[i * per..], hw)
    });
}

/// One task of [`scale_planes`]: `y[i hw + j] = x[i hw + j] · s[i]` over the planes of `y`;
/// compiled per CPU as [`sum16`].
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn scale_block(y: &mut [f32], x: &[f32], s: &[f32], hw: usize) {
    for ((y, x), &s) in y.chunks_exact_mut(hw).zip(x.chunks_exact(hw)).zip(s) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = x * s;
        }
    }
}

/// The scales' gradient of [`scale_planes`] under `g`: `ds[i] = Σ_j g[i hw + j] · x[i hw + j]`
/// (the input's is [`scale_planes`] of `g`: `dx = g · s[i]`).
///
/// # Panics
/// If `g` and `x` do not hold `ds.len()` planes of `hw` values.
pub fn scale_planes_backward(g: &[f32], x: &[f32], hw: usize, ds: &mut [f32]) {
    assert!(
        g.len() == ds.len() * hw && x.len() == g.len(),
        "scale_planes_backward: {} values, {} scales of {hw}",
        g.len(),
        ds.len()
    );
    let per = planes_per_task(hw);
    for_blocks(ds, per, g.len(), |i, ds| {
        let planes = g[i * per * hw..].chunks_exact(hw);
        for ((d, g), x) in ds
            .iter_mut()
            .zip(planes)
            .zip(x[i * per * hw..].chunks_exact(hw))
        {
            *d = sum16(g, Some(x));
        }
    });
}
