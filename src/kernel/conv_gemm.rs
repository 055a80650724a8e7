//! Dense (`groups == 1`) 2-D convolution on plain `f32` slices in NCHW layout: forward, input
//! gradient and weight gradient as im2col/col2im + one `gemm` 0.19 call per image (or per tile
//! of output pixels), parallel with rayon; the bias gradient as a reduction. The `f32` 3x3
//! "same" convolutions of 16 to 256 channels go to [`super::conv_winograd`] instead (forward,
//! input gradient through the transposed convolution below, weight gradient).
//!
//! With `K = C_in * kh * kw` and `P = OH * OW` (the im2col matrix `col` of one image is
//! `[K, P]`, row `(c, ki, kj)`, column `(oy, ox)`):
//!
//! | quantity | formula | PyTorch / Caffe equivalent |
//! |---|---|---|
//! | forward | `y[b] = W[C_out, K] · col(x[b]) + bias` | `torch.nn.functional.conv2d` |
//! | input gradient | `dx[b] = col2im(Wᵀ[K, C_out] · dy[b])` | `torch.nn.grad.conv2d_input` |
//! | weight gradient | `dW = Σ_b dy[b][C_out, P] · col(x[b])ᵀ` | `torch.nn.grad.conv2d_weight` |
//! | bias gradient | `db[c] = Σ_{b,p} dy[b, c, p]` | autograd of `+ bias` |
//!
//! Maps of fewer than 512 output pixels put several images' columns side by side in one gemm
//! (`[K, n * P]`), so late layers (`P = 16` in ResNet-18 at 112x112) do not run gemms with an
//! inner dimension of 16. A 1x1 convolution with stride 1 and no padding skips im2col
//! (`col(x[b]) = x[b]`) when one image is one gemm. The weight
//! `[C_out, C_in, kh, kw]` is already the row-major `[C_out, K]` matrix, so nothing is re-laid out
//! per call. Temporaries live in per-thread buffers that are reused across calls. With stride 1,
//! dilation 1 and `OW = W` (3x3 "same" convolutions), each row of `col` is the input plane
//! shifted by a constant, so im2col is one copy per row and col2im one add per row
//! ([`im2col_shifted`], [`col2im_shifted`]) instead of one per output row.
//!
//! The gemms run in [`Geom::arith`] ([`matmul`]): `f32`, or, inside a `bf16` autocast region,
//! bfloat16 products summed in `f32`, each output (`y`, `dx`, `dW`, `db`) rounded to bfloat16
//! once at the end, as torch's autocast convolution hands back `bf16` tensors.
//!
//! On a CPU with AVX-512 F, BW and BF16 (AMD Zen 4 and later, Intel Cooper Lake, Sapphire Rapids
//! and later) the forward and the weight gradient never materialize `col`, in `f32` as in
//! `bf16`: the AVX-512 gemm packs its panels straight from the images ([`Im2col`],
//! [`matmul::gemm_with`]; the "implicit GEMM" of cuDNN and oneDNN), without writing and reading
//! back `K x P` values per image (in `bf16` the same panels, hence the same result bit for bit;
//! im2col took 13.6% of a ResNet-18 bf16 training step and 9% of an `f32` one before).
//! There, with stride 1, the input gradient is a forward convolution of `dy` with the flipped,
//! transposed weight (padding `k - 1 - p`), which needs no col2im either:
//! `dx[ci, y, x] = Σ W[co, ci, ki, kj] dy[co, y + ph - ki, x + pw - kj]`
//! (`torch.nn.grad.conv2d_input` is the transposed convolution).

use std::cell::RefCell;

use rayon::prelude::*;

use super::SendPtr;
pub(crate) use super::conv_geom::Geom;
use super::conv_winograd;
use super::matmul::{self, Arith, Im2col, Rhs};

thread_local! {
    static COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer resized to `len` (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COL.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// Rounds a finished output block to bfloat16 when `g.arith` is `Bf16` (the dtype an autocast
/// convolution hands back: torch rounds its `bf16` outputs and gradients once, after the `f32`
/// accumulation); nothing in `f32`.
fn finish(g: &Geom, out: &mut [f32]) {
    if g.arith == Arith::Bf16 {
        matmul::round_bf16_slice(out);
    }
}

/// Fills `col` (`K` rows of `p1 - p0` values, row stride `ld`) with the im2col columns `p0..p1`
/// of one image `x_img` (`[C_in, H, W]`).
fn im2col(x_img: &[f32], g: &Geom, [p0, p1]: [usize; 2], col: &mut [f32], ld: usize) {
    if g.stride == [1, 1] && g.dilation == [1, 1] && g.ow == g.w {
        return im2col_shifted(x_img, g, [p0, p1], col, ld);
    }
    let n = p1 - p0;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.pad;
    let [dh, dw] = g.dilation;
    for c in 0..g.c_in {
        let plane = &x_img[c * g.h * g.w..][..g.h * g.w];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = &mut col[((c * g.kh + ki) * g.kw + kj) * ld..][..n];
                let off_x = (kj * dw) as isize - pw as isize;
                let (lo, hi) = Geom::valid_range(g.ow, g.w, sw, off_x);
                let mut p = p0;
                while p < p1 {
                    let (oy, ox0) = (p / g.ow, p % g.ow);
                    let ox1 = (ox0 + (p1 - p)).min(g.ow);
                    let dst = &mut row[p - p0..][..ox1 - ox0];
                    let iy = (oy * sh + ki * dh) as isize - ph as isize;
                    if iy < 0 || iy >= g.h as isize {
                        dst.fill(0.0);
                    } else {
                        let src = &plane[iy as usize * g.w..][..g.w];
                        let (a, b) = (lo.clamp(ox0, ox1), hi.clamp(ox0, ox1));
                        dst[..a - ox0].fill(0.0);
                        dst[b - ox0..].fill(0.0);
                        let valid = &mut dst[a - ox0..b - ox0];
                        if sw == 1 {
                            let s = (a as isize + off_x) as usize;
                            valid.copy_from_slice(&src[s..s + (b - a)]);
                        } else {
                            for (i, v) in valid.iter_mut().enumerate() {
                                *v = src[(((a + i) * sw) as isize + off_x) as usize];
                            }
                        }
                    }
                    p += ox1 - ox0;
                }
            }
        }
    }
}

/// [`im2col`] for stride 1 and dilation 1 when an output row is as wide as an input row
/// (`OW = W`: "same" padding, as every 3x3 convolution with padding 1 in ResNet and the
/// SimpleCnn): row `(c, ki, kj)` of `col` is then the plane of channel `c` shifted by
/// `s = (ki - ph) W + (kj - pw)`, `col[p] = x[p + s]`, except the `|kj - pw|` columns of each
/// output row that wrap around to the neighbouring input row and the rows above or below the
/// image, which are zero. One copy per row of `col` and a fix-up of the wrapped columns replace
/// one short copy per output row (28 values per call in the SimpleCnn).
fn im2col_shifted(x_img: &[f32], g: &Geom, [p0, p1]: [usize; 2], col: &mut [f32], ld: usize) {
    let n = p1 - p0;
    let hw = g.h * g.w;
    for c in 0..g.c_in {
        let plane = &x_img[c * hw..][..hw];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = &mut col[((c * g.kh + ki) * g.kw + kj) * ld..][..n];
                let r = ShiftedRow::new(g, ki, kj, [p0, p1]);
                // outside a..b: padding rows and sources off the plane, zero
                row[..r.a - p0].fill(0.0);
                row[r.b - p0..].fill(0.0);
                if r.a == r.b {
                    continue;
                }
                let s0 = (r.a as isize + r.shift) as usize;
                row[r.a - p0..r.b - p0].copy_from_slice(&plane[s0..s0 + (r.b - r.a)]);
                r.for_each_wrapped(g.ow, |p| row[p - p0] = 0.0);
            }
        }
    }
}

/// Row `(ki, kj)` of the shifted geometry of [`im2col_shifted`] / [`col2im_shifted`] over the
/// output positions `p0..p1`: the source shift `s = (ki - ph) W + (kj - pw)`, the positions
/// `a..b` of the output rows inside the image whose shifted source `p + s` lies in the plane,
/// and the output columns `xlo..xhi` whose input column exists.
struct ShiftedRow {
    shift: isize,
    a: usize,
    b: usize,
    xlo: usize,
    xhi: usize,
}

impl ShiftedRow {
    fn new(g: &Geom, ki: usize, kj: usize, [p0, p1]: [usize; 2]) -> Self {
        let hw = g.h * g.w;
        let off_y = ki as isize - g.pad[0] as isize;
        let off_x = kj as isize - g.pad[1] as isize;
        let (ylo, yhi) = Geom::valid_range(g.oh, g.h, 1, off_y);
        let (xlo, xhi) = Geom::valid_range(g.ow, g.w, 1, off_x);
        let shift = off_y * g.w as isize + off_x;
        let a = (ylo * g.ow).clamp(p0, p1);
        let b = (yhi * g.ow).clamp(p0, p1).max(a);
        let a = a.max((-shift).max(0) as usize).min(b);
        let b = b.min((hw as isize - shift).max(0) as usize).max(a);
        Self {
            shift,
            a,
            b,
            xlo,
            xhi,
        }
    }

    /// Calls `f` with each position in `a..b` whose column wrapped around to the neighbouring
    /// input row (the `|kj - pw|` columns at an edge of each output row).
    fn for_each_wrapped(&self, ow: usize, mut f: impl FnMut(usize)) {
        if self.a == self.b || (self.xlo == 0 && self.xhi == ow) {
            return;
        }
        for oy in self.a / ow..self.b.div_ceil(ow) {
            for ox in (0..self.xlo).chain(self.xhi..ow) {
                let p = oy * ow + ox;
                if (self.a..self.b).contains(&p) {
                    f(p);
                }
            }
        }
    }
}

/// Adds the im2col matrix `col` (`K` rows of `P` values, row stride `ld`) of one image back into
/// `dx_img` (`[C_in, H, W]`).
fn col2im(col: &mut [f32], ld: usize, g: &Geom, dx_img: &mut [f32]) {
    if g.stride == [1, 1] && g.dilation == [1, 1] && g.ow == g.w {
        return col2im_shifted(col, ld, g, dx_img);
    }
    let n = g.p();
    let [sh, sw] = g.stride;
    let [ph, pw] = g.pad;
    let [dh, dw] = g.dilation;
    for c in 0..g.c_in {
        let plane = &mut dx_img[c * g.h * g.w..][..g.h * g.w];
        for ki in 0..g.kh {
            let off_y = (ki * dh) as isize - ph as isize;
            let (ylo, yhi) = Geom::valid_range(g.oh, g.h, sh, off_y);
            for kj in 0..g.kw {
                let row = &col[((c * g.kh + ki) * g.kw + kj) * ld..][..n];
                let off_x = (kj * dw) as isize - pw as isize;
                let (lo, hi) = Geom::valid_range(g.ow, g.w, sw, off_x);
                if lo >= hi {
                    continue;
                }
                for oy in ylo..yhi {
                    let iy = (oy as isize * sh as isize + off_y) as usize;
                    let dst = &mut plane[iy * g.w..][..g.w];
                    let src = &row[oy * g.ow..][lo..hi];
                    if sw == 1 {
                        let s = (lo as isize + off_x) as usize;
                        for (d, v) in dst[s..s + (hi - lo)].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (i, v) in src.iter().enumerate() {
                            dst[(((lo + i) * sw) as isize + off_x) as usize] += v;
                        }
                    }
                }
            }
        }
    }
}

/// [`col2im`] in the geometry of [`im2col_shifted`]: `x[p + s] += col[p]` over the output
/// positions whose rows lie inside the image, as one long add per row of `col`, after zeroing
/// (in the scratch `col`) the wrapped columns that have no input position.
fn col2im_shifted(col: &mut [f32], ld: usize, g: &Geom, dx_img: &mut [f32]) {
    let (n, hw) = (g.p(), g.h * g.w);
    for c in 0..g.c_in {
        let plane = &mut dx_img[c * hw..][..hw];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = &mut col[((c * g.kh + ki) * g.kw + kj) * ld..][..n];
                let r = ShiftedRow::new(g, ki, kj, [0, n]);
                if r.a == r.b {
                    continue;
                }
                r.for_each_wrapped(g.ow, |p| row[p] = 0.0);
                let s0 = (r.a as isize + r.shift) as usize;
                for (d, v) in plane[s0..s0 + (r.b - r.a)].iter_mut().zip(&row[r.a..r.b]) {
                    *d += v;
                }
            }
        }
    }
}

/// Most output pixels per forward task (one im2col tile of `[K, TILE]`).
const TILE: usize = 1024;

/// The forward tile width for maps of `p` pixels: `p` split into `⌈p / TILE⌉` near-equal tiles,
/// rounded up to a multiple of 16 (one AVX-512 vector), so that no tile is a thin remainder
/// (ResNet's 56x56 stem output is four tiles of 784, not three of 1024 and one of 64).
fn tile_width(p: usize) -> usize {
    p.div_ceil(p.div_ceil(TILE)).next_multiple_of(16).min(p)
}

/// Below this many output pixels per image, several images share one gemm (their im2col
/// columns side by side), so that no gemm has a dimension as small as a late layer's `P`
/// (ResNet-18 at 112x112 ends with `P = 16`).
const SMALL: usize = 512;

/// Images per gemm for a thread's share of `per` images: 1 for maps of at least [`SMALL`]
/// pixels; else `per / d` for the largest divisor `d` of `per` that leaves at least `SMALL`
/// columns per gemm (`per` itself when it has fewer), so that the gemms split every thread's
/// share evenly. ResNet-18 at 112x112, batch 32 on 2 threads: 7x7 maps take 16 images per gemm
/// (two gemms, not 11 + 11 + 10 on two threads), 14x14 maps 4 (eight gemms, not 3 x 10 + 2).
fn images_per_gemm(g: &Geom, per: usize) -> usize {
    let per = per.max(1);
    if g.p() >= SMALL {
        return 1;
    }
    let most = (per / SMALL.div_ceil(g.p())).max(1);
    let d = (1..=most)
        .rev()
        .find(|d| per.is_multiple_of(*d))
        .unwrap_or(1);
    per / d
}

/// Copies `dy` of images `b0..b0 + count` (`[count, C_out, P]`) into `dst` as `[C_out, count * P]`.
fn gather_dy(dy: &[f32], g: &Geom, b0: usize, count: usize, dst: &mut [f32]) {
    let (p, n) = (g.p(), count * g.p());
    for i in 0..count {
        for co in 0..g.c_out {
            dst[co * n + i * p..][..p].copy_from_slice(&dy[((b0 + i) * g.c_out + co) * p..][..p]);
        }
    }
}

/// Forward: `y[b, co, p] = bias[co] + Σ_r W[co, r] · col(x[b])[r, p]`; returns `[B, C_out, P]`.
pub(crate) fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geom) -> Vec<f32> {
    // Every element is written below: by the copy-out loop for small maps, by gemm (which
    // overwrites without a bias, adds to the bias fill with one) for the tiles.
    super::written_vec(g.batch * g.c_out * g.p(), |y| {
        forward_into(x, weight, bias, g, y)
    })
}

/// [`forward`] into `y` (`[B, C_out, P]`, every element overwritten).
fn forward_into(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geom, y: &mut [f32]) {
    if conv_winograd::applies(g) {
        return conv_winograd::forward_into(x, weight, bias, g, y);
    }
    let (k, p) = (g.k(), g.p());
    let img = g.c_in * g.h * g.w;
    if p < SMALL {
        let nb = images_per_gemm(g, g.batch.div_ceil(rayon::current_num_threads()));
        y.par_chunks_mut(nb * g.c_out * p)
            .enumerate()
            .for_each(|(ci, y_chunk)| {
                let (b0, count) = (ci * nb, y_chunk.len() / (g.c_out * p));
                let n = count * p;
                let xs = &x[b0 * img..][..count * img];
                let implicit = Im2col::new(xs, g, 0);
                let col_len = if implicit.is_some() { 0 } else { k * n };
                with_scratch(col_len + g.c_out * n, |buf| {
                    let (col, tmp) = buf.split_at_mut(col_len);
                    let rhs = implicit.map_or_else(
                        || {
                            for i in 0..count {
                                let xi = &xs[i * img..][..img];
                                im2col(xi, g, [0, p], &mut col[i * p..], n);
                            }
                            Rhs::Strided(col.as_ptr(), [n as isize, 1])
                        },
                        Rhs::Im2col,
                    );
                    // SAFETY: weight is [C_out, K], rhs [K, n], tmp [C_out, n]; no aliasing.
                    unsafe {
                        matmul::gemm_with(
                            g.arith,
                            [g.c_out, n, k],
                            tmp.as_mut_ptr(),
                            [n as isize, 1],
                            false,
                            weight.as_ptr(),
                            [k as isize, 1],
                            rhs,
                        )
                    };
                    for i in 0..count {
                        for co in 0..g.c_out {
                            let dst = &mut y_chunk[(i * g.c_out + co) * p..][..p];
                            let src = &tmp[co * n + i * p..][..p];
                            let add = bias.map_or(0.0, |b| b[co]);
                            for (d, s) in dst.iter_mut().zip(src) {
                                *d = s + add;
                            }
                        }
                    }
                });
                finish(g, y_chunk);
            });
        return;
    }
    let tw = tile_width(p);
    let tiles = p.div_ceil(tw);
    let out = SendPtr(y.as_mut_ptr());
    (0..g.batch * tiles).into_par_iter().for_each(|task| {
        let (b, t) = (task / tiles, task % tiles);
        let (p0, p1) = (t * tw, ((t + 1) * tw).min(p));
        let x_img = &x[b * img..][..img];
        // SAFETY: the task writes columns p0..p1 of image b's [C_out, P] block only.
        let dst = unsafe { out.get().add(b * g.c_out * p + p0) };
        if let Some(bias) = bias {
            for (co, &v) in bias.iter().enumerate() {
                // SAFETY: row co, columns p0..p1 of this task's block.
                unsafe { std::slice::from_raw_parts_mut(dst.add(co * p), p1 - p0) }.fill(v);
            }
        }
        let run = |rhs: Rhs| {
            // SAFETY: weight is [C_out, K], rhs is [K, p1 - p0], dst is [C_out, p1 - p0] with
            // row stride P inside y; no aliasing.
            unsafe {
                matmul::gemm_with(
                    g.arith,
                    [g.c_out, p1 - p0, k],
                    dst,
                    [p as isize, 1],
                    bias.is_some(),
                    weight.as_ptr(),
                    [k as isize, 1],
                    rhs,
                )
            }
        };
        if g.is_pointwise() {
            run(Rhs::Strided(x_img[p0..].as_ptr(), [p as isize, 1]));
        } else if let Some(col) = Im2col::new(x_img, g, p0) {
            run(Rhs::Im2col(col));
        } else {
            with_scratch(k * (p1 - p0), |col| {
                im2col(x_img, g, [p0, p1], col, p1 - p0);
                run(Rhs::Strided(col.as_ptr(), [(p1 - p0) as isize, 1]));
            });
        }
        for co in 0..g.c_out {
            // SAFETY: row co, columns p0..p1 of this task's block, written by the gemm above.
            finish(g, unsafe {
                std::slice::from_raw_parts_mut(dst.add(co * p), p1 - p0)
            });
        }
    });
}

/// Input gradient: `dx[b] = col2im(Wᵀ · dy[b])`, several images per gemm for small maps;
/// returns `[B, C_in, H, W]`.
pub(crate) fn backward_x(weight: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    match transposed(weight, g, dy) {
        Some((flipped, gt)) => forward(dy, &flipped, None, &gt),
        None => backward_x_col2im(weight, dy, g),
    }
}

/// [`backward_x`] as `col2im(Wᵀ · dy)`.
fn backward_x_col2im(weight: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    let img = g.c_in * g.h * g.w;
    let nb = images_per_gemm(g, g.batch.div_ceil(rayon::current_num_threads()));
    // Each chunk is zeroed by the task that owns it before col2im accumulates into it.
    super::written_vec(g.batch * img, |dx| {
        dx.par_chunks_mut(nb * img)
            .enumerate()
            .for_each(|(ci, dx_chunk)| backward_x_chunk(weight, dy, g, nb, ci, dx_chunk))
    })
}

/// For stride 1 and dilation 1 where the gemm packs im2col implicitly, the input
/// gradient as a forward convolution of `dy` with the flipped, transposed weight
/// `W'[ci, co, ki, kj] = W[co, ci, kh - 1 - ki, kw - 1 - kj]` and padding `k - 1 - p`:
/// `dx[ci, y, x] = Σ W[co, ci, ki, kj] dy[co, y + ph - ki, x + pw - kj]`, which needs no col2im.
fn transposed(weight: &[f32], g: &Geom, dy: &[f32]) -> Option<(Vec<f32>, Geom)> {
    if g.stride != [1, 1] || g.dilation != [1, 1] || g.pad[0] >= g.kh || g.pad[1] >= g.kw {
        return None;
    }
    let gt = Geom {
        c_in: g.c_out,
        h: g.oh,
        w: g.ow,
        c_out: g.c_in,
        pad: [g.kh - 1 - g.pad[0], g.kw - 1 - g.pad[1]],
        oh: g.h,
        ow: g.w,
        ..*g
    };
    if !conv_winograd::applies(&gt) {
        Im2col::new(&dy[..g.c_out * g.p()], &gt, 0)?;
    }
    let kk = g.kh * g.kw;
    // One input channel's `[C_out, kh, kw]` block per task, written in order: the kernel
    // window of (co, ci) reversed (rayon: the flip is a pass over every weight, each step).
    let flipped = super::written_vec(weight.len(), |flipped| {
        super::for_blocks(flipped, g.c_out * kk, weight.len(), |ci, block| {
            for (co, dst) in block.chunks_exact_mut(kk).enumerate() {
                let src = &weight[(co * g.c_in + ci) * kk..][..kk];
                for (d, &s) in dst.iter_mut().zip(src.iter().rev()) {
                    *d = s;
                }
            }
        })
    });
    Some((flipped, gt))
}

/// Images `ci * nb..` of [`backward_x`] into `dx_chunk` (zeroed here, then accumulated).
fn backward_x_chunk(
    weight: &[f32],
    dy: &[f32],
    g: &Geom,
    nb: usize,
    ci: usize,
    dx_chunk: &mut [f32],
) {
    let (k, p) = (g.k(), g.p());
    let img = g.c_in * g.h * g.w;
    let (b0, count) = (ci * nb, dx_chunk.len() / img);
    let n = count * p;
    let run = |dst: *mut f32, rhs: *const f32| {
        // SAFETY: Wᵀ is [K, C_out] (row stride 1, column stride K) inside weight, rhs is
        // [C_out, n] row-major, dst is [K, n] row-major; no aliasing.
        unsafe {
            matmul::gemm(
                g.arith,
                [k, n, g.c_out],
                dst,
                [n as isize, 1],
                false,
                weight.as_ptr(),
                [1, k as isize],
                rhs,
                [n as isize, 1],
            )
        }
    };
    let dy_chunk = &dy[b0 * g.c_out * p..][..count * g.c_out * p];
    if count == 1 && g.is_pointwise() {
        // gemm overwrites dx_chunk.
        run(dx_chunk.as_mut_ptr(), dy_chunk.as_ptr());
    } else if count == 1 {
        dx_chunk.fill(0.0);
        with_scratch(k * p, |col| {
            run(col.as_mut_ptr(), dy_chunk.as_ptr());
            col2im(col, p, g, dx_chunk);
        });
    } else {
        dx_chunk.fill(0.0);
        with_scratch((k + g.c_out) * n, |buf| {
            let (col, dyc) = buf.split_at_mut(k * n);
            gather_dy(dy, g, b0, count, dyc);
            run(col.as_mut_ptr(), dyc.as_ptr());
            for i in 0..count {
                col2im(&mut col[i * p..], n, g, &mut dx_chunk[i * img..][..img]);
            }
        });
    }
    finish(g, dx_chunk);
}

/// Weight gradient: `dW = Σ_b dy[b] · col(x[b])ᵀ`, the batch split into one contiguous range
/// per rayon thread, each accumulating its own `[C_out, K]` partial over gemms of one image (or,
/// for small maps, of several images side by side); partials are summed in range order, so the
/// result does not depend on scheduling.
pub(crate) fn backward_weight(x: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    if conv_winograd::applies(g) {
        return conv_winograd::backward_weight(x, dy, g);
    }
    let (k, p) = (g.k(), g.p());
    let img = g.c_in * g.h * g.w;
    let nb = images_per_gemm(g, super::share_len(g.batch));
    let mut dw = super::sum_over_shares(g.batch, g.c_out * k, |[lo, hi], dw| {
        let mut b = lo;
        while b < hi {
            let count = nb.min(hi - b);
            let n = count * p;
            let mut run = |lhs: *const f32, rhs: Rhs| {
                // SAFETY: lhs is dy as [C_out, n]; rhs is colᵀ [n, K]; dw is [C_out, K];
                // no aliasing.
                unsafe {
                    matmul::gemm_with(
                        g.arith,
                        [g.c_out, k, n],
                        dw.as_mut_ptr(),
                        [k as isize, 1],
                        b != lo,
                        lhs,
                        [n as isize, 1],
                        rhs,
                    )
                }
            };
            let xs = &x[b * img..][..count * img];
            let dy_img = &dy[b * g.c_out * p..][..g.c_out * p];
            let implicit = Im2col::new(xs, g, 0);
            if count == 1 && g.is_pointwise() {
                run(dy_img.as_ptr(), Rhs::Strided(xs.as_ptr(), [1, p as isize]));
            } else if let (1, Some(col)) = (count, implicit) {
                run(dy_img.as_ptr(), Rhs::Im2colT(col));
            } else if let Some(col) = implicit {
                with_scratch(g.c_out * n, |dyc| {
                    gather_dy(dy, g, b, count, dyc);
                    run(dyc.as_ptr(), Rhs::Im2colT(col));
                });
            } else if count == 1 {
                with_scratch(k * p, |col| {
                    im2col(xs, g, [0, p], col, p);
                    run(dy_img.as_ptr(), Rhs::Strided(col.as_ptr(), [1, p as isize]));
                });
            } else {
                with_scratch((k + g.c_out) * n, |buf| {
                    let (col, dyc) = buf.split_at_mut(k * n);
                    for i in 0..count {
                        im2col(&xs[i * img..][..img], g, [0, p], &mut col[i * p..], n);
                    }
                    gather_dy(dy, g, b, count, dyc);
                    run(dyc.as_ptr(), Rhs::Strided(col.as_ptr(), [1, n as isize]));
                });
            }
            b += count;
        }
    });
    finish(g, &mut dw);
    dw
}

/// Bias gradient: `db[c] = Σ_{b, p} dy[b, c, p]` over `dy` of `[B, C_out, P]`; in `Bf16` the sum
/// of the bfloat16-rounded `dy` (the gradient torch's `bf16` convolution receives), rounded to
/// bfloat16 as the other gradients.
pub(crate) fn backward_bias(dy: &[f32], g: &Geom) -> Vec<f32> {
    let (channels, p) = (g.c_out, g.p());
    let low = g.arith == Arith::Bf16;
    let mut db: Vec<f32> = (0..channels)
        .into_par_iter()
        .map(|c| {
            (0..g.batch)
                .map(|b| {
                    let row = dy[(b * channels + c) * p..][..p].iter();
                    if low {
                        row.map(|&v| matmul::round_bf16(v)).sum::<f32>()
                    } else {
                        row.sum::<f32>()
                    }
                })
                .sum()
        })
        .collect();
    finish(g, &mut db);
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tiles cover `0..p` in `⌈p / TILE⌉` pieces of at most `TILE` pixels, each a multiple
    /// of 16 but the last, and the last is never a thin remainder (at least half the others).
    #[test]
    fn forward_tiles_are_near_equal_and_cover_the_map() {
        for p in [
            1, 15, 16, 17, 500, 1024, 1025, 1100, 2049, 3136, 12544, 50176,
        ] {
            let tw = tile_width(p);
            let tiles = p.div_ceil(tw);
            assert_eq!(tiles, p.div_ceil(TILE), "p = {p}: {tiles} tiles of {tw}");
            assert!(
                tw <= TILE.max(16) && (tw.is_multiple_of(16) || tw == p),
                "p = {p}: width {tw}"
            );
            let last = p - (tiles - 1) * tw;
            assert!(
                2 * last >= tw || tiles == 1,
                "p = {p}: last tile {last} of {tw}"
            );
        }
        assert_eq!(tile_width(3136), 784);
    }

    /// Small maps: the images per gemm divide a thread's share into equal gemms of at least
    /// [`SMALL`] columns where the share has such a divisor (every thread then runs the same
    /// number of equal gemms), and the fewest images reaching `SMALL` columns no other way.
    #[test]
    fn images_per_gemm_split_each_threads_share_evenly() {
        let geom = |side: usize| Geom {
            batch: 32,
            c_in: 8,
            h: side,
            w: side,
            c_out: 8,
            kh: 1,
            kw: 1,
            stride: [1, 1],
            pad: [0, 0],
            dilation: [1, 1],
            oh: side,
            ow: side,
            arith: Arith::F32,
        };
        for side in [1, 2, 4, 7, 10, 14, 15, 22, 23, 28, 56] {
            let g = geom(side);
            let p = g.p();
            for per in [1, 2, 3, 5, 8, 12, 16, 17, 32] {
                let nb = images_per_gemm(&g, per);
                if p >= SMALL {
                    assert_eq!(nb, 1, "p = {p}, per = {per}");
                    continue;
                }
                assert!(
                    (1..=per).contains(&nb) && per.is_multiple_of(nb),
                    "p = {p}, per = {per}: {nb} images per gemm"
                );
                assert!(
                    nb * p >= SMALL || nb == per,
                    "p = {p}, per = {per}: {nb} x {p} columns"
                );
                // No smaller divisor of `per` also reaches SMALL columns.
                assert!(
                    (1..nb).all(|m| !per.is_multiple_of(m) || m * p < SMALL),
                    "p = {p}, per = {per}: {nb} images per gemm"
                );
            }
        }
        // ResNet-18 at 112x112, batch 32 on two threads (16 images each).
        assert_eq!(images_per_gemm(&geom(7), 16), 16);
        assert_eq!(images_per_gemm(&geom(14), 16), 4);
    }

    /// A deterministic value in `[-2, 2)` for index `i` of stream `seed`.
    use super::super::test_value as value;

    /// The implicit im2col operand ([`Im2col`]) packs the same panels as the materialized
    /// matrix, so the forward (`W · col`) and weight-gradient (`dy · colᵀ`) products agree bit
    /// for bit, in `Bf16` and in `F32`, on each kernel that packs one (AMX, AVX-512): "same"
    /// 3x3 (contiguous loads), pointwise, strided, dilated, unpadded and stem-like 7x7/2
    /// geometries (gathers), odd `K`, `K` past one packed depth, runs of columns that start
    /// inside an image, span several images and pass one packed column block.
    #[test]
    fn implicit_im2col_equals_the_materialized_matrix() {
        for arith in [Arith::Bf16, Arith::F32] {
            implicit_im2col_case(arith);
        }
    }

    fn implicit_im2col_case(arith: Arith) {
        // (c_in, [h, w], kernel, stride, pad, dilation)
        let cases = [
            (40, [20, 20], 3, 1, 1, 1),
            (3, [23, 19], 7, 2, 3, 1),
            (8, [15, 17], 3, 2, 1, 1),
            (6, [12, 12], 3, 1, 2, 2),
            (16, [9, 9], 1, 1, 0, 1),
            (5, [10, 10], 5, 1, 0, 1),
            (4, [11, 11], 1, 2, 0, 1),
        ];
        for (c_in, [h, w], kk, s, pad, d) in cases {
            let out = |n: usize| (n + 2 * pad - d * (kk - 1) - 1) / s + 1;
            let g = Geom {
                batch: 4,
                c_in,
                h,
                w,
                c_out: 20,
                kh: kk,
                kw: kk,
                stride: [s, s],
                pad: [pad, pad],
                dilation: [d, d],
                oh: out(h),
                ow: out(w),
                arith,
            };
            let (k, p, img) = (g.k(), g.p(), c_in * h * w);
            let x: Vec<f32> = (0..g.batch * img).map(|i| value(1, i)).collect();
            if Im2col::new(&x, &g, 0).is_none() {
                assert!(
                    !is_x86_feature_detected!("avx512bf16"),
                    "no implicit im2col"
                );
                return; // no AVX512-BF16: conv_gemm always materializes im2col
            }
            let ld = g.batch * p;
            let mut col = vec![0.0f32; k * ld];
            for b in 0..g.batch {
                im2col(&x[b * img..][..img], &g, [0, p], &mut col[b * p..], ld);
            }
            let weight: Vec<f32> = (0..g.c_out * k).map(|i| value(2, i)).collect();
            // column runs: everything, from inside image 0 across the others, one image's tail
            let runs = [(0, ld), (p / 2 + 1, ld - p / 2 - 1), (ld - p + 3, p - 3)];
            // the kernels that pack an im2col matrix: AMX and AVX-512, where the CPU has them
            let kernels = matmul::Kernel::available();
            let kernels = kernels.iter().filter(|&&k| k != matmul::Kernel::Portable);
            for (kernel, (j0, n)) in kernels.flat_map(|&k| runs.map(|r| (k, r))) {
                let dy: Vec<f32> = (0..g.c_out * n).map(|i| value(3, i)).collect();
                let implicit = Im2col::new(&x, &g, j0).expect("available above");
                let mut got = vec![0.0f32; g.c_out * n];
                let mut want = got.clone();
                let mut dw_got = vec![0.0f32; g.c_out * k];
                let mut dw_want = dw_got.clone();
                // SAFETY: every operand is exactly its strided matrix; col[.., j0..] has n
                // columns at row stride ld.
                unsafe {
                    let colp = col[j0..].as_ptr();
                    let (nn, kk, ldi) = (n as isize, k as isize, ld as isize);
                    let fwd = [g.c_out, n, k];
                    let wgrad = [g.c_out, k, n];
                    let w = weight.as_ptr();
                    matmul::gemm_on(
                        kernel,
                        arith,
                        fwd,
                        got.as_mut_ptr(),
                        [nn, 1],
                        false,
                        w,
                        [kk, 1],
                        Rhs::Im2col(implicit),
                    );
                    matmul::gemm_on(
                        kernel,
                        arith,
                        fwd,
                        want.as_mut_ptr(),
                        [nn, 1],
                        false,
                        w,
                        [kk, 1],
                        Rhs::Strided(colp, [ldi, 1]),
                    );
                    matmul::gemm_on(
                        kernel,
                        arith,
                        wgrad,
                        dw_got.as_mut_ptr(),
                        [kk, 1],
                        false,
                        dy.as_ptr(),
                        [nn, 1],
                        Rhs::Im2colT(implicit),
                    );
                    matmul::gemm_on(
                        kernel,
                        arith,
                        wgrad,
                        dw_want.as_mut_ptr(),
                        [kk, 1],
                        false,
                        dy.as_ptr(),
                        [nn, 1],
                        Rhs::Strided(colp, [1, ldi]),
                    );
                }
                let what =
                    format!("{kernel:?} {c_in}x{h}x{w} k{kk} s{s} p{pad} d{d}, columns {j0}+{n}");
                assert!(want.iter().any(|&v| v != 0.0), "{what}: empty product");
                for (name, got, want) in [
                    ("forward", &got, &want),
                    ("weight gradient", &dw_got, &dw_want),
                ] {
                    let first = got
                        .iter()
                        .zip(want)
                        .position(|(a, b)| a.to_bits() != b.to_bits());
                    assert_eq!(
                        first, None,
                        "{what} {arith:?}: {name} differs (implicit, materialized)"
                    );
                }
            }
        }
    }
    /// For stride 1, the input gradient as a convolution of `dy` with the flipped weight
    /// ([`transposed`], no col2im) equals `col2im(Wᵀ · dy)` within one bfloat16 rounding of the
    /// result in `Bf16` (the same bfloat16 products, summed in another order), within `10^-5`
    /// of the largest value in `f32`: "same" 3x3 and 5x5, unpadded 3x3 (`OW < W`), 1x1, a 7x7
    /// with padding 3, large and small maps.
    #[test]
    fn input_gradient_as_a_convolution_equals_col2im() {
        for arith in [Arith::Bf16, Arith::F32] {
            input_gradient_case(arith);
        }
    }

    fn input_gradient_case(arith: Arith) {
        for (c_in, c_out, hw, kk, pad, batch) in [
            (24, 40, 28, 3, 1, 3),
            (9, 16, 12, 5, 2, 5),
            (16, 8, 10, 3, 0, 4),
            (32, 20, 6, 1, 0, 6),
            (3, 12, 17, 7, 3, 2),
        ] {
            let out = hw + 2 * pad - kk + 1;
            let g = Geom {
                batch,
                c_in,
                h: hw,
                w: hw,
                c_out,
                kh: kk,
                kw: kk,
                stride: [1, 1],
                pad: [pad, pad],
                dilation: [1, 1],
                oh: out,
                ow: out,
                arith,
            };
            let weight: Vec<f32> = (0..c_out * g.k()).map(|i| value(4, i)).collect();
            let dy: Vec<f32> = (0..batch * c_out * g.p()).map(|i| value(5, i)).collect();
            if transposed(&weight, &g, &dy).is_none() {
                assert!(!is_x86_feature_detected!("avx512bf16"), "not transposed");
                return; // no AVX512-BF16: backward_x always takes col2im
            }
            let got = backward_x(&weight, &dy, &g);
            let want = backward_x_col2im(&weight, &dy, &g);
            let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let err = got
                .iter()
                .zip(&want)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            let what = format!("{c_in}->{c_out} {hw}x{hw} k{kk} p{pad} batch {batch}");
            assert_eq!(got.len(), want.len(), "{what}");
            let tol = match arith {
                Arith::Bf16 => 2f32.powi(-8),
                Arith::F32 => 1e-5,
            };
            assert!(
                err <= scale * tol,
                "{what} {arith:?}: error {err} of {scale}"
            );
            assert!(
                arith == Arith::F32 || got.iter().all(|&v| matmul::round_bf16(v) == v),
                "{what}: not bf16"
            );
        }
    }
}
