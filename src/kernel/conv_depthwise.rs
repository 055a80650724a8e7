//! Depthwise 2-D convolution (`groups == C_in == C_out`, weight `[C, 1, kh, kw]`) on plain `f32`
//! slices in NCHW layout, as direct kernels: one output plane per task for the forward and the
//! input gradient, one channel per task for the weight gradient (EfficientNet's `conv_dw`).
//!
//! | quantity | formula (`iy = oy·s + ki·d − pad`, `ix = ox·s + kj·d − pad`) | PyTorch |
//! |---|---|---|
//! | forward | `y[b,c,oy,ox] = bias[c] + Σ_{ki,kj} w[c,ki,kj] · x[b,c,iy,ix]` | `conv2d(groups=C)` |
//! | input gradient | `dx[b,c,iy,ix] = Σ_{ki,kj} w[c,ki,kj] · dy[b,c,oy,ox]` over the taps that reach `(iy,ix)` | `conv2d_input` |
//! | weight gradient | `dw[c,ki,kj] = Σ_{b,oy,ox} dy[b,c,oy,ox] · x[b,c,iy,ix]` | `conv2d_weight` |
//!
//! Padding positions contribute zero. Each plane is first copied into a zero-padded
//! *polyphase* layout ([`Layout`]): the padded plane split into `sh·sw` phase planes (row
//! `r = ry·sh + pr`, column `c = cx·sw + pc` goes to phase `(pr, pc)` at `(ry, cx)`), all with
//! one row pitch `wps`. In it every kernel tap of a convolution of any stride is a constant
//! shift of one phase plane, so a whole output plane, written with row pitch `wps` (the
//! columns past `OW` are computed and dropped), is one flat loop: 64 outputs held in
//! registers while all taps accumulate into them, without per-row bounds, for the 4x4 and 7x7
//! planes of EfficientNet's last stages as for its 56x56 ones (the same idea as the polyphase
//! decomposition of strided convolutions in signal processing, and as oneDNN's padded
//! depthwise kernels). The input gradient runs the same loop per phase plane with the shifts
//! negated over a zero-margined copy of `dy`; the weight gradient is one dot product per tap
//! over the padded planes.
//!
//! The flat loops are compiled per CPU with the `multiversion` crate (AVX-512, AVX2, SSE4.1,
//! plain x86-64; chosen once at run time), a product and a sum per term in a fixed order on
//! each (no fused multiply-add), so every target gives the same bits; the forward and the input
//! gradient add the taps in kernel order from the bias (or zero), as a direct loop does.

use rayon::prelude::*;

use super::conv_geom::Geom;
use super::math;

/// Outputs per register block of the flat loops (four AVX-512 vectors).
const BLOCK: usize = 64;

/// The flat planes' granularity: one AVX-512 vector (the last block of a plane may be this
/// short, so a 4x4 plane is not computed as 64 outputs), the lanes of [`math::sum_lanes`].
const LANES: usize = math::LANES;

/// The zero-padded polyphase layout of one input plane of a convolution (see the module docs).
#[derive(Debug)]
struct Layout {
    /// Row pitch of every phase plane (and of the flat output plane).
    wps: usize,
    /// Floats per phase plane, zero slack included (so every flat read is in bounds).
    len: usize,
    /// Flat output positions computed per plane: `OH · wps` rounded up to [`LANES`].
    n: usize,
    /// Positions per phase plane of the input-gradient loop: `hps · wps` rounded up to
    /// [`LANES`].
    m: usize,
    /// Per tap `(ki, kj)` in kernel order: its phase plane (`pr · sw + pc`) and its shift
    /// inside that plane.
    taps: Vec<(usize, usize)>,
    /// The largest shift of any tap inside its phase plane.
    max_shift: usize,
}

impl Layout {
    fn new(g: &Geom) -> Self {
        let [sh, sw] = g.stride;
        let [dh, dw] = g.dilation;
        // Rows: the image after its leading padding (the windows' reads past it land in the
        // zero slack of `len`). Columns: also as far as the last output's window reaches (the
        // trailing padding), so that every valid output's taps stay inside its phase row
        // (`ow − 1 + shift < wps`) and, in the input gradient, shifts that run off a row's
        // start land on the zero columns past `OW` of the row before.
        let hp = g.h + g.pad[0];
        let wp = (g.w + g.pad[1]).max((g.ow - 1) * sw + (g.kw - 1) * dw + 1);
        let (hps, wps) = (hp.div_ceil(sh), wp.div_ceil(sw));
        let taps: Vec<(usize, usize)> = (0..g.kh)
            .flat_map(|ki| (0..g.kw).map(move |kj| (ki * dh, kj * dw)))
            .map(|(r, c)| ((r % sh) * sw + c % sw, (r / sh) * wps + c / sw))
            .collect();
        let max_shift = taps.iter().map(|t| t.1).max().unwrap_or(0);
        let n = (g.oh * wps).next_multiple_of(LANES);
        let m = (hps * wps).next_multiple_of(LANES);
        Self {
            wps,
            len: (hps * wps).max(n + max_shift),
            n,
            m,
            taps,
            max_shift,
        }
    }

    /// Phase planes per plane: `sh · sw`.
    fn phases(g: &Geom) -> usize {
        g.stride[0] * g.stride[1]
    }

    /// Calls `f(row, ix0, base)` for every input row `iy` and column phase `pc` that holds
    /// pixels of it: the row starts at `row = iy · W` of the plane, its pixels `ix0, ix0 + sw,
    /// …` land at `base, base + 1, …` of phase planes `plane` floats apart.
    #[inline(always)]
    fn for_each_phase_row(&self, g: &Geom, plane: usize, mut f: impl FnMut(usize, usize, usize)) {
        let [sh, sw] = g.stride;
        for iy in 0..g.h {
            let r = iy + g.pad[0];
            for pc in 0..sw {
                let ix0 = (pc + sw - g.pad[1] % sw) % sw;
                if ix0 >= g.w {
                    continue;
                }
                let base =
                    ((r % sh) * sw + pc) * plane + (r / sh) * self.wps + (ix0 + g.pad[1]) / sw;
                f(iy * g.w, ix0, base);
            }
        }
    }

    /// Copies the input plane `src` (`[H, W]`) into the phase planes `dst` (`phases · len`,
    /// zero wherever no pixel lands: only pixel positions are written).
    #[inline(always)]
    fn scatter(&self, g: &Geom, src: &[f32], dst: &mut [f32]) {
        let sw = g.stride[1];
        if sw == 1 {
            return self.for_each_phase_row(g, self.len, |row, _, base| {
                dst[base..][..g.w].copy_from_slice(&src[row..][..g.w]);
            });
        }
        self.for_each_phase_row(g, self.len, |row, ix0, base| {
            let pixels = src[row + ix0..row + g.w].iter().step_by(sw);
            for (d, s) in dst[base..].iter_mut().zip(pixels) {
                *d = *s;
            }
        });
    }

    /// Reads the input plane `dst` (`[H, W]`) back out of phase planes of `m` floats each.
    #[inline(always)]
    fn gather(&self, g: &Geom, src: &[f32], dst: &mut [f32]) {
        let sw = g.stride[1];
        if sw == 1 {
            return self.for_each_phase_row(g, self.m, |row, _, base| {
                dst[row..][..g.w].copy_from_slice(&src[base..][..g.w]);
            });
        }
        self.for_each_phase_row(g, self.m, |row, ix0, base| {
            let pixels = dst[row + ix0..row + g.w].iter_mut().step_by(sw);
            for (d, s) in pixels.zip(&src[base..]) {
                *d = *s;
            }
        });
    }

    /// Copies the output plane `dy` (`[OH, OW]`) into `dst` at `offset` with row pitch `wps`
    /// (the columns past `OW` are never written, so they stay zero).
    #[inline(always)]
    fn scatter_output(&self, g: &Geom, dy: &[f32], dst: &mut [f32], offset: usize) {
        for (oy, row) in dy.chunks_exact(g.ow).enumerate() {
            dst[offset + oy * self.wps..][..g.ow].copy_from_slice(row);
        }
    }
}

/// `out[q] = init + Σ_t w_t · src[q + off_t]` for every `q < out.len()` (a multiple of
/// [`LANES`]), the taps added in the order given, [`BLOCK`] outputs (then [`LANES`] at the end)
/// held in registers (a product and a sum per term). Inlined into its callers' per-CPU
/// versions.
#[inline(always)]
fn shifted_sums(src: &[f32], taps: &[(usize, f32)], init: f32, out: &mut [f32]) {
    let whole = out.len() / BLOCK * BLOCK;
    let (blocks, rest) = out.split_at_mut(whole);
    for (i, o) in blocks.chunks_exact_mut(BLOCK).enumerate() {
        shifted_block::<BLOCK>(src, taps, init, i * BLOCK, o);
    }
    for (i, o) in rest.chunks_exact_mut(LANES).enumerate() {
        shifted_block::<LANES>(src, taps, init, whole + i * LANES, o);
    }
}

/// One block of [`shifted_sums`]: `out[l] = init + Σ_t w_t · src[q + off_t + l]`, `l < N`.
#[inline(always)]
fn shifted_block<const N: usize>(
    src: &[f32],
    taps: &[(usize, f32)],
    init: f32,
    q: usize,
    out: &mut [f32],
) {
    let mut acc = [init; N];
    for &(off, w) in taps {
        let s: &[f32; N] = src[q + off..][..N].try_into().expect("one block");
        for l in 0..N {
            acc[l] += w * s[l];
        }
    }
    out.copy_from_slice(&acc);
}

/// `acc[t][l] += Σ_j a[j·LANES + l] · b[j·LANES + l + off_t]` over `a` (a multiple of
/// [`LANES`] long) for every tap `t`: per-lane partial sums of the shifted dot products, kept
/// across a channel's images and reduced once at the end ([`math::sum_lanes`]). Inlined into its
/// caller's per-CPU versions.
#[inline(always)]
fn shifted_dots(a: &[f32], b: &[f32], offs: &[usize], acc: &mut [[f32; LANES]]) {
    for (&off, acc) in offs.iter().zip(acc.iter_mut()) {
        let mut sums = *acc;
        for (x, y) in a
            .chunks_exact(LANES)
            .zip(b[off..][..a.len()].chunks_exact(LANES))
        {
            for l in 0..LANES {
                sums[l] += x[l] * y[l];
            }
        }
        *acc = sums;
    }
}

/// Forward: returns `[B, C, OH, OW]`.
pub(crate) fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geom) -> Vec<f32> {
    super::written_vec(g.batch * g.c_out * g.p(), |y| {
        forward_into(x, weight, bias, g, y)
    })
}

/// [`forward`] into `y` (`[B, C, OH, OW]`, every element overwritten).
fn forward_into(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geom, y: &mut [f32]) {
    let (hw, p, kk) = (g.h * g.w, g.p(), g.kh * g.kw);
    let lay = Layout::new(g);
    let scratch = || {
        (
            vec![0.0f32; Layout::phases(g) * lay.len],
            vec![0.0f32; lay.n],
            Vec::with_capacity(kk),
        )
    };
    y.par_chunks_mut(p)
        .enumerate()
        .for_each_init(scratch, |(phases, flat, taps), (plane, out)| {
            let c = plane % g.c_out;
            let (src, w) = (&x[plane * hw..][..hw], &weight[c * kk..][..kk]);
            let init = bias.map_or(0.0, |b| b[c]);
            forward_plane(&lay, g, src, w, init, phases, flat, taps, out);
        });
}

/// One plane of [`forward`]: `src` into the phase planes, all taps' shifted sums into the
/// flat plane (row pitch `wps`), its first `OW` columns into `out`. Compiled per CPU
/// (AVX-512, AVX2, SSE4.1; chosen once at run time); a product and a sum per term on every
/// target, so the same bits everywhere.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn forward_plane(
    lay: &Layout,
    g: &Geom,
    src: &[f32],
    w: &[f32],
    init: f32,
    phases: &mut [f32],
    flat: &mut [f32],
    taps: &mut Vec<(usize, f32)>,
    out: &mut [f32],
) {
    lay.scatter(g, src, phases);
    taps.clear();
    taps.extend(
        lay.taps
            .iter()
            .zip(w)
            .map(|(&(ph, s), &w)| (ph * lay.len + s, w)),
    );
    shifted_sums(phases, taps, init, flat);
    for (oy, row) in out.chunks_exact_mut(g.ow).enumerate() {
        row.copy_from_slice(&flat[oy * lay.wps..][..g.ow]);
    }
}

/// Input gradient: returns `[B, C, H, W]`.
pub(crate) fn backward_x(weight: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    let hw = g.h * g.w;
    super::written_vec(g.batch * g.c_in * hw, |dx| {
        backward_x_into(weight, dy, g, dx)
    })
}

/// [`backward_x`] into `dx` (`[B, C, H, W]`, every element overwritten): per phase plane `ph`,
/// `dxp[q] = Σ_{t in ph} w_t · dyp[q − shift_t]`, the transpose of the forward's shifts, then
/// the image's pixels read back out of the phase planes.
fn backward_x_into(weight: &[f32], dy: &[f32], g: &Geom, dx: &mut [f32]) {
    let (hw, p, kk) = (g.h * g.w, g.p(), g.kh * g.kw);
    let lay = Layout::new(g);
    let phases = Layout::phases(g);
    // `dy` with row pitch `wps` after a zero margin as long as the largest shift, so that
    // `q − shift_t` is never negative
    let margin = lay.max_shift;
    let scratch = || {
        (
            vec![0.0f32; margin + lay.n.max(lay.m)],
            vec![0.0f32; phases * lay.m],
            Vec::with_capacity(kk),
        )
    };
    dx.par_chunks_mut(hw)
        .enumerate()
        .for_each_init(scratch, |(dyp, dxp, taps), (plane, out)| {
            let c = plane % g.c_in;
            let (grad, w) = (&dy[plane * p..][..p], &weight[c * kk..][..kk]);
            backward_x_plane(&lay, g, grad, w, dyp, dxp, taps, out);
        });
}

/// One plane of [`backward_x`]: `grad` into `dyp` after the zero margin, each phase plane's
/// shifted sums into `dxp`, the image's pixels out of them into `out`. Compiled per CPU as
/// [`forward_plane`].
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn backward_x_plane(
    lay: &Layout,
    g: &Geom,
    grad: &[f32],
    w: &[f32],
    dyp: &mut [f32],
    dxp: &mut [f32],
    taps: &mut Vec<(usize, f32)>,
    out: &mut [f32],
) {
    let margin = lay.max_shift;
    lay.scatter_output(g, grad, dyp, margin);
    for (ph, dst) in dxp.chunks_exact_mut(lay.m).enumerate() {
        taps.clear();
        let mine = lay.taps.iter().zip(w).filter(|((tp, _), _)| *tp == ph);
        taps.extend(mine.map(|(&(_, s), &w)| (margin - s, w)));
        shifted_sums(dyp, taps, 0.0, dst);
    }
    lay.gather(g, dxp, out);
}

/// Weight gradient: returns `[C, 1, kh, kw]`.
pub(crate) fn backward_weight(x: &[f32], dy: &[f32], g: &Geom) -> Vec<f32> {
    let kk = g.kh * g.kw;
    let lay = Layout::new(g);
    let offs: Vec<usize> = lay.taps.iter().map(|&(ph, s)| ph * lay.len + s).collect();
    let scratch = || {
        (
            vec![0.0f32; Layout::phases(g) * lay.len],
            vec![0.0f32; lay.n],
            vec![[0.0f32; LANES]; kk],
        )
    };
    let mut dw = vec![0.0f32; g.c_out * kk];
    dw.par_chunks_mut(kk)
        .enumerate()
        .for_each_init(scratch, |(phases, dyp, acc), (c, out)| {
            backward_weight_channel(&lay, g, x, dy, c, &offs, phases, dyp, acc, out)
        });
    dw
}

/// Channel `c` of [`backward_weight`] into `out` (`[kh, kw]`): per image, its `x` plane into
/// the phase planes, its `dy` plane into `dyp` (row pitch `wps`), the shifted dot products'
/// per-lane sums into `acc` (one row per tap); then each tap's lanes reduced. Compiled per CPU
/// as [`forward_plane`].
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn backward_weight_channel(
    lay: &Layout,
    g: &Geom,
    x: &[f32],
    dy: &[f32],
    c: usize,
    offs: &[usize],
    phases: &mut [f32],
    dyp: &mut [f32],
    acc: &mut [[f32; LANES]],
    out: &mut [f32],
) {
    let (hw, p) = (g.h * g.w, g.p());
    acc.fill([0.0; LANES]);
    for b in 0..g.batch {
        let plane = b * g.c_in + c;
        lay.scatter(g, &x[plane * hw..][..hw], phases);
        lay.scatter_output(g, &dy[plane * p..][..p], dyp, 0);
        shifted_dots(dyp, phases, offs, acc);
    }
    for (o, a) in out.iter_mut().zip(acc.iter()) {
        *o = math::sum_lanes(*a);
    }
}
