//! Winograd's minimal filtering `F(2x2, 3x3)` for the dense 3x3 convolutions with stride 1,
//! dilation 1 and padding 1 (ResNet's and the SimpleCnn's "same" 3x3 layers) in `f32`: the
//! forward; the input gradient, which [`super::conv_gemm`] computes as the forward
//! convolution of `dy` with the flipped, transposed weight (also 3x3, stride 1, padding 1); and
//! the weight gradient as `F(3x3, 2x2)`, the same algorithm transposed ([`backward_weight`]).
//! Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016); the algorithm
//! of NNPACK, oneDNN's `convolution_winograd` and cuDNN's `WINOGRAD` convolutions.
//!
//! Each 2x2 block of outputs (a *tile*; `⌈H/2⌉ x ⌈W/2⌉` per image) reads a 4x4 input patch
//! `d` (rows `2ty - 1 ..= 2ty + 2`, zero outside the image); with
//!
//! ```text
//!       | 1  0 -1  0 |         | 1    0    0  |
//! Bᵀ =  | 0  1  1  0 |    G =  | 1/2  1/2  1/2 |    Aᵀ = | 1  1  1  0 |
//!       | 0 -1  1  0 |         | 1/2 -1/2  1/2 |         | 0  1 -1 -1 |
//!       | 0  1  0 -1 |         | 0    0    1  |
//! ```
//!
//! `y[k] (2x2) = Aᵀ [ Σ_c (G g[k, c] Gᵀ) ⊙ (Bᵀ d[c] B) ] A + bias[k]`: with
//! `U_ξ[k, c] = (G g[k, c] Gᵀ)_ξ` and `V_ξ[c, t] = (Bᵀ d[c, t] B)_ξ` for the 16 positions `ξ`
//! of a 4x4 patch, the sum is 16 matrix products `M_ξ = U_ξ · V_ξ` (podium's gemm,
//! [`matmul::gemm`]), 16 multiplications per tile and channel pair where the direct convolution
//! makes 36: 2.25x fewer. The transforms only add and halve.
//!
//! For the weight gradient the roles turn (Lavin & Gray's transposition): the 2x2 tile of `dy`
//! is the filter and the 3x3 kernel the output, `dW[k, c] = Σ_t Gᵀ [(A dy[k, t] Aᵀ) ⊙
//! (Bᵀ d[c, t] B)] G`, i.e. 16 products `M_ξ = Σ_t U'_ξ[k, t] V_ξ[c, t]` over all tiles, with
//! the forward's `V`, then `Gᵀ M G`.
//!
//! The tiles run in blocks of whole images, sized so that a block's `V` and
//! `M` (`16 (C_in + C_out)` values per tile) stay near 1.5 MiB (and at least `max(C_in, C_out)`
//! tiles), in parallel with rayon; the weight transform runs once per call. Within a block the
//! transforms are vector loops over all of its tiles: each input plane is first split into the
//! four polyphase planes of the padded image, in which every patch value of every tile is a
//! constant shift.
//!
//! Measured (2-core Sapphire Rapids VM, `f32`, batch 32, ResNet-18 at 112x112): layer 1 (64
//! channels, 28x28) forward + weight gradient 17.9 -> 14.4 ms, forward + input gradient 15.8 ->
//! 12.4 ms; layer 2 (128, 14x14) 15.5 -> 13.5 and 13.7 -> 11.6 ms; the 7x7 maps of layer 3
//! were slower (64 outputs computed for 49, see `MAX_WASTE`) and stay direct.
//!
//! Rounding: the result differs from the direct convolution's by a few units in the last place
//! of the largest terms (the transforms add up to four inputs before the products, and the
//! output transforms up to nine products' sums); podium's convolution tests hold it to the same
//! `1e-4` relative tolerance against Burn's convolution as the direct kernels. Where the
//! direct convolution's exact sums are wanted, [`crate::kernel::conv::set_winograd_conv2d`]
//! turns this path off. `bf16` autocast regions never take it (their products are rounded to
//! bfloat16 first, and the transforms would add to that error).
//!
//! | podium | PyTorch / oneDNN |
//! |---|---|
//! | 3x3, stride 1, padding 1, `16 ≤ C_in, C_out ≤ 256`, `f32`, forward and both gradients, on by default ([`crate::kernel::conv::set_winograd_conv2d`]) | oneDNN's `convolution_winograd` (PyTorch's CPU convolutions use `convolution_direct`); NNPACK's `F(6x6, 3x3)` forward on some builds; cuDNN's `WINOGRAD` and `WINOGRAD_NONFUSED` |

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::SendPtr;
use super::conv_geom::{Arith, Geom};
use super::matmul;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the Winograd path on or off for the whole process (on by default).
pub(crate) fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether the Winograd path is on (see [`set_enabled`]).
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Fewest channels (in and out) for which the transforms pay: below, the gemms' inner
/// dimension is too small to amortize them.
const MIN_CHANNELS: usize = 16;
/// Most channels (in or out): beyond, a block's weights (`16 C_in C_out` values packed once per
/// block) outweigh its products.
const MAX_CHANNELS: usize = 256;
/// Values of `V` and `M` per block (1.5 MiB).
const BLOCK_VALUES: usize = 3 << 17;
/// Fewest tiles per block (the gemms' column count); at least `max(C_in, C_out)`, so that a
/// block's products outweigh packing its 16 weight matrices.
const MIN_TILES: usize = 64;

/// Most output values computed per output value kept: tiles cover `2⌈H/2⌉ x 2⌈W/2⌉` outputs,
/// and on small odd maps the extra row and column cost more than the transforms save (ResNet-18's
/// 7x7 maps: 64 computed for 49, measured slower than the direct convolution).
const MAX_WASTE: f64 = 1.15;

/// Whether [`forward_into`] can compute this convolution: 3x3, stride 1, dilation 1, padding 1,
/// `f32`.
fn computes(g: &Geom) -> bool {
    g.arith == Arith::F32
        && [g.kh, g.kw] == [3, 3]
        && g.stride == [1, 1]
        && g.dilation == [1, 1]
        && g.pad == [1, 1]
        && [g.oh, g.ow] == [g.h, g.w]
}

/// Whether the convolution takes this path: the path on, [`computes`], `MIN_CHANNELS ≤ C_in,
/// C_out ≤ MAX_CHANNELS`, at most [`MAX_WASTE`] outputs computed per output kept, and at least
/// one image per rayon thread (the blocks are whole images; a smaller batch, such as one image
/// at inference, takes the direct path, which splits an image's pixels among the threads).
pub(crate) fn applies(g: &Geom) -> bool {
    let computed = (4 * g.h.div_ceil(2) * g.w.div_ceil(2)) as f64;
    enabled()
        && computes(g)
        && g.batch >= rayon::current_num_threads()
        && g.c_in.min(g.c_out) >= MIN_CHANNELS
        && g.c_in.max(g.c_out) <= MAX_CHANNELS
        && computed <= MAX_WASTE * (g.h * g.w) as f64
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `y = conv(x, weight) + bias` for a geometry where [`computes`] holds: `x` is
/// `[B, C_in, H, W]`, `weight` `[C_out, C_in, 3, 3]`, `y` `[B, C_out, H, W]` (every element
/// written).
pub(crate) fn forward_into(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &Geom,
    y: &mut [f32],
) {
    debug_assert!(computes(g));
    let (c, k) = (g.c_in, g.c_out);
    let u = transform_weight(weight, c, k);
    let tiles = [g.h.div_ceil(2), g.w.div_ceil(2)];
    let per_img = tiles[0] * tiles[1];
    let per = block_images(g, per_img);
    let out = SendPtr(y.as_mut_ptr());
    (0..g.batch.div_ceil(per)).into_par_iter().for_each(|blk| {
        with_block(x, g, [per, per_img], tiles, blk, |imgs, nb, v, m, tmp| {
            for xi in 0..16 {
                // SAFETY: U_ξ is [k, c] (row stride c), V_ξ [c, nb], M_ξ [k, nb], all inside
                // their buffers; M does not alias U or V.
                unsafe {
                    matmul::gemm(
                        Arith::F32,
                        [k, nb, c],
                        m[xi * k * nb..].as_mut_ptr(),
                        [nb as isize, 1],
                        false,
                        u[xi * k * c..].as_ptr(),
                        [c as isize, 1],
                        v[xi * c * nb..].as_ptr(),
                        [nb as isize, 1],
                    )
                }
            }
            // SAFETY: this block writes the output planes of its images only, which no other
            // block writes.
            unsafe { transform_output(m, g, bias, imgs, tiles, nb, out, tmp) };
        })
    });
}

/// Runs `f(imgs, nb, v, w, tmp)` for block `blk` (images `imgs = [blk per, ..)`, `nb` tiles) in
/// this thread's scratch: `v` the block's input transform `V_ξ[c, t]` (`[16, C_in, nb]`,
/// filled), `w` room for `[16, C_out, nb]`, `tmp` the transforms' rows.
fn with_block<R>(
    x: &[f32],
    g: &Geom,
    [per, per_img]: [usize; 2],
    tiles: [usize; 2],
    blk: usize,
    f: impl FnOnce([usize; 2], usize, &[f32], &mut [f32], &mut [f32]) -> R,
) -> R {
    let imgs = [blk * per, ((blk + 1) * per).min(g.batch)];
    let nb = (imgs[1] - imgs[0]) * per_img;
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        let len = 16 * (g.c_in + g.c_out) * nb + scratch_len(tiles, nb);
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        let (v, rest) = buf.split_at_mut(16 * g.c_in * nb);
        let (w, tmp) = rest.split_at_mut(16 * g.c_out * nb);
        transform_input(x, g, imgs, tiles, v, nb, tmp);
        f(imgs, nb, v, w, tmp)
    })
}

/// The weight gradient `dW[k, c] = Σ_t Gᵀ [(A dy[k, t] Aᵀ) ⊙ (Bᵀ d[c, t] B)] G` of a
/// geometry where [`computes`] holds (`x` `[B, C_in, H, W]`, `dy` `[B, C_out, H, W]`; returns
/// `[C_out, C_in, 3, 3]`): Winograd's `F(3x3, 2x2)`, the transpose of the forward's algorithm
/// (the 2x2 output-gradient tile is the filter, the 3x3 kernel the output), with the forward's
/// input transform `V`. Per block of images the 16 products `M_ξ += U'_ξ · V_ξᵀ` (`[C_out, nb]`
/// by `[nb, C_in]`) accumulate over the block's tiles; each thread sums its fixed share of the
/// blocks and the shares are added in order ([`super::sum_over_shares`], as the direct weight
/// gradient: the same bits on every run with the same thread count), and `Gᵀ M G` gives the
/// 3x3 kernels.
pub(crate) fn backward_weight(x: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    debug_assert!(computes(g));
    let (c, k) = (g.c_in, g.c_out);
    let tiles = [g.h.div_ceil(2), g.w.div_ceil(2)];
    let per_img = tiles[0] * tiles[1];
    let per = block_images(g, per_img);
    let m = super::sum_over_shares(g.batch.div_ceil(per), 16 * k * c, |[lo, hi], acc| {
        for blk in lo..hi {
            with_block(x, g, [per, per_img], tiles, blk, |imgs, nb, v, u, tmp| {
                transform_dy(dy, g, imgs, tiles, u, nb, tmp);
                for xi in 0..16 {
                    // SAFETY: U'_ξ is [k, nb], V_ξᵀ [nb, c] (V_ξ is [c, nb]), M_ξ [k, c],
                    // all inside their buffers; acc does not alias the scratch.
                    unsafe {
                        matmul::gemm(
                            Arith::F32,
                            [k, c, nb],
                            acc[xi * k * c..].as_mut_ptr(),
                            [c as isize, 1],
                            true,
                            u[xi * k * nb..].as_ptr(),
                            [nb as isize, 1],
                            v[xi * c * nb..].as_ptr(),
                            [1, nb as isize],
                        )
                    }
                }
            });
        }
    });
    let plane = k * c;
    super::written_vec(plane * 9, |dw| {
        dw.par_chunks_mut(c * 9).enumerate().for_each(|(co, out)| {
            for (ci, w) in out.chunks_exact_mut(9).enumerate() {
                let at = |xi: usize| m[xi * plane + co * c + ci];
                // Gᵀ down the columns, then along the rows
                let cols: [[f32; 3]; 4] =
                    std::array::from_fn(|j| g_t([at(j), at(4 + j), at(8 + j), at(12 + j)]));
                for ki in 0..3 {
                    let row = g_t([cols[0][ki], cols[1][ki], cols[2][ki], cols[3][ki]]);
                    w[3 * ki..3 * ki + 3].copy_from_slice(&row);
                }
            }
        })
    })
}

/// `Gᵀ · [m0, m1, m2, m3]ᵀ = [m0 + (m1 + m2) / 2, (m1 - m2) / 2, (m1 + m2) / 2 + m3]`.
fn g_t([m0, m1, m2, m3]: [f32; 4]) -> [f32; 3] {
    let (sum, diff) = (0.5 * (m1 + m2), 0.5 * (m1 - m2));
    [m0 + sum, diff, sum + m3]
}

/// `U'_ξ[k, t] = (A dy[k, t] Aᵀ)_ξ` for the tiles of images `imgs` (`[16, C_out, nb]`), with
/// `A = Aᵀ` of the forward transposed, `A dy = [dy0, dy0 + dy1, dy0 - dy1, -dy1]` per column;
/// output rows and columns past the image are zero.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn transform_dy(
    dy: &[f32],
    g: &Geom,
    imgs: [usize; 2],
    [th, tw]: [usize; 2],
    u: &mut [f32],
    nb: usize,
    tmp: &mut [f32],
) {
    let (h, w) = (g.h, g.w);
    let per_xi = g.c_out * nb;
    // the four values of each tile: rows 0 and 1, columns 0 and 1
    let (y0, y1) = tmp[..4 * nb].split_at_mut(2 * nb);
    let (y00, y01) = y0.split_at_mut(nb);
    let (y10, y11) = y1.split_at_mut(nb);
    for k in 0..g.c_out {
        for (bi, b) in (imgs[0]..imgs[1]).enumerate() {
            let plane = &dy[(b * g.c_out + k) * h * w..][..h * w];
            for ty in 0..th {
                let t0 = bi * th * tw + ty * tw;
                for (r, (ya, yb)) in [(&mut *y00, &mut *y01), (&mut *y10, &mut *y11)]
                    .into_iter()
                    .enumerate()
                {
                    let (ya, yb) = (&mut ya[t0..][..tw], &mut yb[t0..][..tw]);
                    let oy = 2 * ty + r;
                    if oy >= h {
                        ya.fill(0.0);
                        yb.fill(0.0);
                        continue;
                    }
                    let src = &plane[oy * w..][..w];
                    for ((pair, a), b) in src.chunks_exact(2).zip(ya.iter_mut()).zip(yb.iter_mut())
                    {
                        *a = pair[0];
                        *b = pair[1];
                    }
                    if w % 2 == 1 {
                        ya[w / 2] = src[w - 1];
                        yb[w / 2] = 0.0;
                    }
                }
            }
        }
        // row i of A dy: y0· c0 + y1· c1, then A along it
        for (i, [c0, c1]) in [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [0.0, -1.0]]
            .into_iter()
            .enumerate()
        {
            let out = |j: usize| (4 * i + j) * per_xi + k * nb;
            let (o0, rest) = u[out(0)..].split_at_mut(per_xi);
            let (o1, rest) = rest.split_at_mut(per_xi);
            let (o2, o3) = rest.split_at_mut(per_xi);
            let (y00, y01, y10, y11) = (&y00[..nb], &y01[..nb], &y10[..nb], &y11[..nb]);
            let (o0, o1, o2, o3) = (&mut o0[..nb], &mut o1[..nb], &mut o2[..nb], &mut o3[..nb]);
            for f in 0..nb {
                let a = y00[f] * c0 + y10[f] * c1;
                let b = y01[f] * c0 + y11[f] * c1;
                o0[f] = a;
                o1[f] = a + b;
                o2[f] = a - b;
                o3[f] = -b;
            }
        }
    }
}

/// Values of the per-thread scratch past `V` and `M` for blocks of `nb` tiles: the input
/// transform's polyphase planes and rows, the output transform's rows, the output-gradient
/// transform's tiles.
fn scratch_len([th, tw]: [usize; 2], nb: usize) -> usize {
    let pitch = tw + 1;
    let n_pad = (th * pitch).next_multiple_of(LANES);
    (4 * ((th + 1) * pitch + 1 + LANES) + 24 * n_pad + 8 * LANES).max(12 * nb)
}

/// Images per block: about [`BLOCK_VALUES`] values of `V` and `M` (at least [`MIN_TILES`]
/// tiles), and at least two blocks per thread where the batch allows.
fn block_images(g: &Geom, per_img: usize) -> usize {
    let tiles = (BLOCK_VALUES / (16 * (g.c_in + g.c_out)))
        .max(MIN_TILES)
        .max(g.c_in.max(g.c_out));
    let per = tiles.div_ceil(per_img);
    let spread = g.batch.div_ceil(2 * rayon::current_num_threads());
    per.min(spread).max(1)
}

/// `U_ξ[k, c] = (G g[k, c] Gᵀ)_ξ`, returned as `[16, C_out, C_in]`.
fn transform_weight(weight: &[f32], c: usize, k: usize) -> Vec<f32> {
    let plane = k * c;
    super::written_vec(16 * plane, |u| {
        let out = SendPtr(u.as_mut_ptr());
        (0..k).into_par_iter().for_each(|co| {
            for ci in 0..c {
                let w = &weight[(co * c + ci) * 9..][..9];
                let t = [0, 1, 2].map(|j| half_sums([w[j], w[3 + j], w[6 + j]]));
                let rows: [[f32; 4]; 4] =
                    std::array::from_fn(|i| half_sums([t[0][i], t[1][i], t[2][i]]));
                for (i, row) in rows.iter().enumerate() {
                    for (j, &value) in row.iter().enumerate() {
                        // SAFETY: (ξ, co, ci) is inside the [16, k, c] output; each task writes
                        // its own co.
                        unsafe { *out.get().add((4 * i + j) * plane + co * c + ci) = value };
                    }
                }
            }
        })
    })
}

/// `G · [a, b, e]ᵀ = [a, (a + b + e) / 2, (a - b + e) / 2, e]`.
fn half_sums([a, b, e]: [f32; 3]) -> [f32; 4] {
    [a, 0.5 * (a + b + e), 0.5 * (a - b + e), e]
}

/// `V_ξ[c, t] = (Bᵀ d[c, t] B)_ξ` for the tiles of images `imgs` (`[16, C_in, nb]`, tile
/// `t = (b - imgs[0]) th tw + ty tw + tx`). Each plane is first split into the four polyphase
/// planes of the zero-padded image (`Q_ab[y', x'] = xpad[2y' + a, 2x' + b]`, row pitch
/// `P = tw + 1`), in which every patch value `d[i, j]` of all tiles is one plane shifted by the
/// constant `(i / 2) P + j / 2`: the transform is then one vector loop over the whole plane (in
/// pitch `P`), and its rows are copied into `V`.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn transform_input(
    x: &[f32],
    g: &Geom,
    imgs: [usize; 2],
    [th, tw]: [usize; 2],
    v: &mut [f32],
    nb: usize,
    tmp: &mut [f32],
) {
    let (h, w) = (g.h, g.w);
    let pitch = tw + 1;
    let n_pad = (th * pitch).next_multiple_of(LANES);
    let q_len = (th + 1) * pitch + 1 + LANES;
    let (q, t) = tmp[..4 * q_len + 24 * n_pad + 8 * LANES].split_at_mut(4 * q_len);
    let per_xi = g.c_in * nb;
    for c in 0..g.c_in {
        for b in imgs[0]..imgs[1] {
            let plane = &x[(b * g.c_in + c) * h * w..][..h * w];
            q.fill(0.0);
            for (iy, src) in plane.chunks_exact(w).enumerate() {
                // padded row iy + 1: phase a, row y'; column ix + 1: even ix -> b = 1, x' = ix / 2;
                // odd ix -> b = 0, x' = (ix + 1) / 2
                let padded = iy + 1;
                let (a, y) = (padded % 2, padded / 2);
                let (q0, q1) = q[2 * a * q_len..][..2 * q_len].split_at_mut(q_len);
                let (q0, q1) = (&mut q0[y * pitch + 1..][..tw], &mut q1[y * pitch..][..tw]);
                for ((pair, odd), even) in src.chunks_exact(2).zip(q1.iter_mut()).zip(q0) {
                    *odd = pair[0];
                    *even = pair[1];
                }
                if w % 2 == 1 {
                    q1[w / 2] = src[w - 1];
                }
            }
            // Bᵀ down the columns of each column phase p (patch columns p and p + 2, the second
            // one vector index further), then along each resulting row i
            let (cols, t) = t.split_at_mut(8 * (n_pad + LANES));
            let col_len = n_pad + LANES;
            for p in 0..2 {
                let d = |a: usize, down: usize| &q[(2 * a + p) * q_len + down * pitch..];
                let (c0, rest) = cols[4 * p * col_len..].split_at_mut(col_len);
                let (c1, rest) = rest.split_at_mut(col_len);
                let (c2, c3) = rest.split_at_mut(col_len);
                b_t(
                    [d(0, 0), d(1, 0), d(0, 1), d(1, 1)],
                    [c0, c1, c2, c3],
                    n_pad + 1,
                );
            }
            for i in 0..4 {
                // patch column j: phase j % 2, one further for j >= 2
                let col = |j: usize| &cols[(4 * (j % 2) + i) * col_len + j / 2..];
                let (o0, rest) = t[4 * i * n_pad..].split_at_mut(n_pad);
                let (o1, rest) = rest.split_at_mut(n_pad);
                let (o2, o3) = rest.split_at_mut(n_pad);
                b_t([col(0), col(1), col(2), col(3)], [o0, o1, o2, o3], n_pad);
            }
            let base = c * nb + (b - imgs[0]) * th * tw;
            for xi in 0..16 {
                let dst = &mut v[xi * per_xi + base..][..th * tw];
                copy_rows(dst, &t[xi * n_pad..16 * n_pad], [th, tw], pitch);
            }
        }
    }
}

/// Copies `rows` rows of `cols` values from `src` (row pitch `pitch`) into `dst` (row pitch
/// `cols`), a whole vector per row where the next row or the source's end leaves room
/// (the overhang is overwritten by the next row), the last row exactly.
#[inline(always)]
fn copy_rows(dst: &mut [f32], src: &[f32], [rows, cols]: [usize; 2], pitch: usize) {
    let wide = cols.next_multiple_of(LANES);
    for r in 0..rows {
        let (at, from) = (r * cols, r * pitch);
        if r + 1 < rows && at + wide <= dst.len() && from + wide <= src.len() {
            for l in (0..wide).step_by(LANES) {
                let v: [f32; LANES] = src[from + l..][..LANES].try_into().expect("a vector");
                dst[at + l..][..LANES].copy_from_slice(&v);
            }
        } else {
            dst[at..][..cols].copy_from_slice(&src[from..][..cols]);
        }
    }
}

/// `y[b, k, 2ty + r, 2tx + s] = (Aᵀ M[·, k, t] A)[r, s] + bias[k]` for the tiles of images
/// `imgs`, the rows and columns inside the image: one vector loop over the block's tiles per
/// output channel, then the four values of each tile into their rows.
///
/// # Safety
/// `out` is the `[B, C_out, H, W]` output, and no other thread writes these images.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
unsafe fn transform_output(
    m: &[f32],
    g: &Geom,
    bias: Option<&[f32]>,
    imgs: [usize; 2],
    [th, tw]: [usize; 2],
    nb: usize,
    out: SendPtr,
    tmp: &mut [f32],
) {
    let (h, w) = (g.h, g.w);
    let per_xi = g.c_out * nb;
    let (cols, tmp) = tmp[..12 * nb].split_at_mut(8 * nb);
    let (y00, rest) = tmp.split_at_mut(nb);
    let (y01, rest) = rest.split_at_mut(nb);
    let (y10, y11) = rest.split_at_mut(nb);
    for k in 0..g.c_out {
        let add = bias.map_or(0.0, |b| b[k]);
        // Aᵀ down each column j, then along each output row r
        let at = |xi: usize| &m[xi * per_xi + k * nb..];
        for j in 0..4 {
            let (s0, s1) = cols[2 * j * nb..].split_at_mut(nb);
            a_t([at(j), at(4 + j), at(8 + j), at(12 + j)], [s0, s1], 0.0, nb);
        }
        let col = |j: usize, r: usize| &cols[(2 * j + r) * nb..];
        a_t(
            [col(0, 0), col(1, 0), col(2, 0), col(3, 0)],
            [&mut *y00, &mut *y01],
            add,
            nb,
        );
        a_t(
            [col(0, 1), col(1, 1), col(2, 1), col(3, 1)],
            [&mut *y10, &mut *y11],
            add,
            nb,
        );
        for (bi, b) in (imgs[0]..imgs[1]).enumerate() {
            // SAFETY: plane (b, k) is inside the output and this block's own.
            let plane = unsafe {
                std::slice::from_raw_parts_mut(out.get().add((b * g.c_out + k) * h * w), h * w)
            };
            for (oy, dst) in plane.chunks_exact_mut(w).enumerate() {
                let t0 = bi * th * tw + (oy / 2) * tw;
                let (ya, yb) = if oy % 2 == 0 {
                    (&*y00, &*y01)
                } else {
                    (&*y10, &*y11)
                };
                let (ya, yb) = (&ya[t0..][..tw], &yb[t0..][..tw]);
                for ((pair, a), b) in dst.chunks_exact_mut(2).zip(ya).zip(yb) {
                    pair[0] = *a;
                    pair[1] = *b;
                }
                if w % 2 == 1 {
                    dst[w - 1] = ya[w / 2];
                }
            }
        }
    }
}

/// Values per vector of the transforms (one AVX-512 register).
const LANES: usize = 16;

/// `Bᵀ` applied to four rows of `n` values: `[x0 - x2, x1 + x2, x2 - x1, x1 - x3]`.
#[inline(always)]
fn b_t([x0, x1, x2, x3]: [&[f32]; 4], [y0, y1, y2, y3]: [&mut [f32]; 4], n: usize) {
    let (x0, x1, x2, x3) = (&x0[..n], &x1[..n], &x2[..n], &x3[..n]);
    let (y0, y1, y2, y3) = (&mut y0[..n], &mut y1[..n], &mut y2[..n], &mut y3[..n]);
    for f in 0..n {
        y0[f] = x0[f] - x2[f];
        y1[f] = x1[f] + x2[f];
        y2[f] = x2[f] - x1[f];
        y3[f] = x1[f] - x3[f];
    }
}

/// `Aᵀ` applied to four rows of `n` values, plus `add`: `[x0 + x1 + x2, x1 - x2 - x3] + add`.
#[inline(always)]
fn a_t([x0, x1, x2, x3]: [&[f32]; 4], [y0, y1]: [&mut [f32]; 2], add: f32, n: usize) {
    let (x0, x1, x2, x3) = (&x0[..n], &x1[..n], &x2[..n], &x3[..n]);
    let (y0, y1) = (&mut y0[..n], &mut y1[..n]);
    for f in 0..n {
        y0[f] = x0[f] + x1[f] + x2[f] + add;
        y1[f] = x1[f] - x2[f] - x3[f] + add;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_value as value;

    /// The direct 3x3 "same" convolution in `f64`.
    fn direct(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &Geom) -> Vec<f64> {
        let (c, k, h, wd) = (g.c_in, g.c_out, g.h, g.w);
        let mut y = vec![0.0f64; g.batch * k * h * wd];
        for b in 0..g.batch {
            for co in 0..k {
                for oy in 0..h {
                    for ox in 0..wd {
                        let mut acc = bias.map_or(0.0, |bs| bs[co] as f64);
                        for ci in 0..c {
                            for ki in 0..3 {
                                for kj in 0..3 {
                                    let (iy, ix) = (oy + ki, ox + kj);
                                    if iy == 0 || ix == 0 || iy > h || ix > wd {
                                        continue;
                                    }
                                    let xv = x[((b * c + ci) * h + iy - 1) * wd + ix - 1];
                                    acc += xv as f64 * w[((co * c + ci) * 3 + ki) * 3 + kj] as f64;
                                }
                            }
                        }
                        y[((b * k + co) * h + oy) * wd + ox] = acc;
                    }
                }
            }
        }
        y
    }

    /// The direct weight gradient in `f64`: `dW[k, c, ki, kj] = Σ dy[b, k, y, x] xpad[b, c, y + ki, x + kj]`.
    fn direct_dw(x: &[f32], dy: &[f32], g: &Geom) -> Vec<f64> {
        let (c, k, h, wd) = (g.c_in, g.c_out, g.h, g.w);
        let mut dw = vec![0.0f64; k * c * 9];
        for b in 0..g.batch {
            for co in 0..k {
                for ci in 0..c {
                    for ki in 0..3 {
                        for kj in 0..3 {
                            let mut acc = 0.0f64;
                            for oy in 0..h {
                                for ox in 0..wd {
                                    let (iy, ix) = (oy + ki, ox + kj);
                                    if iy == 0 || ix == 0 || iy > h || ix > wd {
                                        continue;
                                    }
                                    acc += dy[((b * k + co) * h + oy) * wd + ox] as f64
                                        * x[((b * c + ci) * h + iy - 1) * wd + ix - 1] as f64;
                                }
                            }
                            dw[((co * c + ci) * 3 + ki) * 3 + kj] += acc;
                        }
                    }
                }
            }
        }
        dw
    }

    /// Largest `|a - b|` over `max(1, max |b|)`.
    fn rel_err(a: &[f32], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let err = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((*x as f64 - y).abs()));
        err / scale
    }

    /// Winograd against the direct convolution in `f64`, within `1e-5` of the largest output,
    /// over even and odd sizes, a 1x1 image, blocks across images, with and without bias.
    #[test]
    fn winograd_equals_the_direct_convolution() {
        for (batch, c, k, h, w, with_bias) in [
            (2, 16, 16, 6, 6, false),
            (3, 16, 32, 7, 5, true),
            (1, 24, 16, 1, 1, true),
            (5, 32, 17, 3, 9, false),
            (4, 64, 64, 28, 28, true),
            (9, 256, 48, 7, 7, false),
        ] {
            let g = Geom {
                batch,
                c_in: c,
                h,
                w,
                c_out: k,
                kh: 3,
                kw: 3,
                stride: [1, 1],
                pad: [1, 1],
                dilation: [1, 1],
                oh: h,
                ow: w,
                arith: Arith::F32,
            };
            assert!(computes(&g));
            let x: Vec<f32> = (0..batch * c * h * w).map(|i| value(1, i)).collect();
            let wt: Vec<f32> = (0..k * c * 9).map(|i| value(2, i)).collect();
            let bias: Vec<f32> = (0..k).map(|i| value(3, i)).collect();
            let bias = with_bias.then_some(&bias[..]);
            let mut y = vec![f32::NAN; batch * k * h * w];
            forward_into(&x, &wt, bias, &g, &mut y);
            let err = rel_err(&y, &direct(&x, &wt, bias, &g));
            assert!(
                err <= 1e-5,
                "{batch}x{c}x{h}x{w} -> {k}: forward error {err}"
            );
            let dy: Vec<f32> = (0..batch * k * h * w).map(|i| value(4, i)).collect();
            let err = rel_err(&backward_weight(&x, &dy, &g), &direct_dw(&x, &dy, &g));
            assert!(
                err <= 1e-5,
                "{batch}x{c}x{h}x{w} -> {k}: weight-gradient error {err}"
            );
        }
    }
}
