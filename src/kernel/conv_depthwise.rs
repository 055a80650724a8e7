//! Depthwise 2-D convolution (`groups == C_in == C_out`, weight `[C, 1, kh, kw]`) on plain `f32`
//! slices in NCHW layout, as direct kernels: one output plane per task for the forward and the
//! input gradient, one channel per task for the weight gradient (EfficientNet's `conv_dw`).
//!
//! | quantity | formula (`iy = oy·s + ki·d − pad`, `ix = ox·s + kj·d − pad`) | PyTorch |
//! |---|---|---|
//! | forward | `y[b,c,oy,ox] = bias[c] + Σ_{ki,kj} w[c,ki,kj] · x[b,c,iy,ix]` | `conv2d(groups=C)` |
//! | input gradient | `dx[b,c,iy,ix] += w[c,ki,kj] · dy[b,c,oy,ox]` | `conv2d_input` |
//! | weight gradient | `dw[c,ki,kj] = Σ_{b,oy,ox} dy[b,c,oy,ox] · x[b,c,iy,ix]` | `conv2d_weight` |
//!
//! Padding positions contribute zero. Each inner loop runs over a contiguous range of `ox`
//! (clipped once per kernel column, no per-pixel bounds checks). The per-plane and per-channel
//! loops are compiled per CPU with the `multiversion` crate (AVX-512, AVX2, SSE4.1, plain
//! x86-64; chosen once at run time), a product and a sum per term on each, so every target
//! gives the same bits.

use rayon::prelude::*;

use super::conv_gemm::Geom;

/// Calls `f(oy, iy, lo, hi, off_x)` for every output row `oy` whose input row `iy` is inside
/// the image, for kernel tap `(ki, kj)`; `lo..hi` is the valid `ox` range and the input column
/// is `ox * stride_w + off_x`. Inlined into its callers' per-CPU versions.
#[inline(always)]
fn for_each_tap_row(
    g: &Geom,
    ki: usize,
    kj: usize,
    mut f: impl FnMut(usize, usize, usize, usize, isize),
) {
    let off_y = (ki * g.dilation[0]) as isize - g.pad[0] as isize;
    let off_x = (kj * g.dilation[1]) as isize - g.pad[1] as isize;
    let (ylo, yhi) = Geom::valid_range(g.oh, g.h, g.stride[0], off_y);
    let (lo, hi) = Geom::valid_range(g.ow, g.w, g.stride[1], off_x);
    if lo >= hi {
        return;
    }
    for oy in ylo..yhi {
        let iy = (oy as isize * g.stride[0] as isize + off_y) as usize;
        f(oy, iy, lo, hi, off_x);
    }
}

/// Forward: returns `[B, C, OH, OW]`.
pub(crate) fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geom) -> Vec<f32> {
    // Each plane is filled (bias or zero) before its taps accumulate, on the task that owns it.
    super::written_vec(g.batch * g.c_out * g.p(), |y| {
        forward_into(x, weight, bias, g, y)
    })
}

/// [`forward`] into `y` (`[B, C, OH, OW]`, every element overwritten).
fn forward_into(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geom, y: &mut [f32]) {
    let (hw, p, kk) = (g.h * g.w, g.p(), g.kh * g.kw);
    y.par_chunks_mut(p).enumerate().for_each(|(plane, out)| {
        let c = plane % g.c_out;
        let src = &x[plane * hw..][..hw];
        let w = &weight[c * kk..][..kk];
        out.fill(bias.map_or(0.0, |b| b[c]));
        forward_plane(g, src, w, out);
    });
}

/// One plane of [`forward`]: `out += Σ_taps w · shifted src`, compiled per CPU (AVX-512,
/// AVX2, SSE4.1; chosen once at run time) so the row loops use the widest vectors; a product
/// and a sum per term on every target (no fused multiply-add), so every target gives the same
/// bits.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn forward_plane(g: &Geom, src: &[f32], w: &[f32], out: &mut [f32]) {
    let sw = g.stride[1];
    for ki in 0..g.kh {
        for kj in 0..g.kw {
            let wv = w[ki * g.kw + kj];
            for_each_tap_row(g, ki, kj, |oy, iy, lo, hi, off_x| {
                let row = &src[iy * g.w..][..g.w];
                let dst = &mut out[oy * g.ow..][lo..hi];
                if sw == 1 {
                    let s = (lo as isize + off_x) as usize;
                    for (d, v) in dst.iter_mut().zip(&row[s..s + (hi - lo)]) {
                        *d += wv * v;
                    }
                } else {
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d += wv * row[(((lo + i) * sw) as isize + off_x) as usize];
                    }
                }
            });
        }
    }
}

/// Input gradient: returns `[B, C, H, W]`.
pub(crate) fn backward_x(weight: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    let hw = g.h * g.w;
    // Each plane is zeroed by the task that owns it, then its taps accumulate.
    super::written_vec(g.batch * g.c_in * hw, |dx| {
        backward_x_into(weight, dy, g, dx)
    })
}

/// [`backward_x`] into `dx` (`[B, C, H, W]`, every element overwritten).
fn backward_x_into(weight: &[f32], dy: &[f32], g: &Geom, dx: &mut [f32]) {
    let (hw, p, kk) = (g.h * g.w, g.p(), g.kh * g.kw);
    dx.par_chunks_mut(hw).enumerate().for_each(|(plane, out)| {
        out.fill(0.0);
        let c = plane % g.c_in;
        let grad = &dy[plane * p..][..p];
        let w = &weight[c * kk..][..kk];
        backward_x_plane(g, grad, w, out);
    });
}

/// One plane of [`backward_x`]: `out += Σ_taps w · dy` scattered to the taps' input positions,
/// compiled per CPU as [`forward_plane`].
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn backward_x_plane(g: &Geom, grad: &[f32], w: &[f32], out: &mut [f32]) {
    let sw = g.stride[1];
    for ki in 0..g.kh {
        for kj in 0..g.kw {
            let wv = w[ki * g.kw + kj];
            for_each_tap_row(g, ki, kj, |oy, iy, lo, hi, off_x| {
                let src = &grad[oy * g.ow..][lo..hi];
                let row = &mut out[iy * g.w..][..g.w];
                if sw == 1 {
                    let s = (lo as isize + off_x) as usize;
                    for (d, v) in row[s..s + (hi - lo)].iter_mut().zip(src) {
                        *d += wv * v;
                    }
                } else {
                    for (i, v) in src.iter().enumerate() {
                        row[(((lo + i) * sw) as isize + off_x) as usize] += wv * v;
                    }
                }
            });
        }
    }
}

/// Weight gradient: returns `[C, 1, kh, kw]`.
pub(crate) fn backward_weight(x: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    let mut dw = vec![0.0f32; g.c_out * g.kh * g.kw];
    dw.par_chunks_mut(g.kh * g.kw)
        .enumerate()
        .for_each(|(c, out)| backward_weight_channel(x, dy, g, c, out));
    dw
}

/// Channel `c` of [`backward_weight`] into `out` (`[kh, kw]`), compiled per CPU as
/// [`forward_plane`].
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn backward_weight_channel(x: &[f32], dy: &[f32], g: &Geom, c: usize, out: &mut [f32]) {
    let (hw, p) = (g.h * g.w, g.p());
    let sw = g.stride[1];
    for b in 0..g.batch {
        let plane = b * g.c_in + c;
        let src = &x[plane * hw..][..hw];
        let grad = &dy[plane * p..][..p];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let mut acc = 0.0f32;
                for_each_tap_row(g, ki, kj, |oy, iy, lo, hi, off_x| {
                    let gr = &grad[oy * g.ow..][lo..hi];
                    let row = &src[iy * g.w..][..g.w];
                    if sw == 1 {
                        let s = (lo as isize + off_x) as usize;
                        acc += dot(gr, &row[s..s + (hi - lo)]);
                    } else {
                        for (i, v) in gr.iter().enumerate() {
                            acc += v * row[(((lo + i) * sw) as isize + off_x) as usize];
                        }
                    }
                });
                out[ki * g.kw + kj] += acc;
            }
        }
    }
}

/// `Σ a[i] · b[i]` with eight independent accumulators (so the compiler vectorises it; the
/// same sums in the same order on every target). Inlined into its caller's per-CPU versions.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}
