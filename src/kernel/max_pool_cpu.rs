//! The slice kernels of [`super::max_pool`] (formulas there): the forward over whole window rows
//! with torch's `v > m || isnan(v)` selects, the window position of each maximum kept in one byte
//! when a gradient is needed, and the backward that adds each `dy` at that position; parallel
//! over the `B * C` planes.

use rayon::prelude::*;

/// The geometry of one max pool over `planes = B * C` maps of `h x w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    /// Images.
    pub batch: usize,
    /// Channels per image.
    pub channels: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Padding before the first row and column (top, left).
    pub pad: [usize; 2],
    /// Output rows.
    pub oh: usize,
    /// Output columns.
    pub ow: usize,
}

impl PoolGeom {
    /// The range `[lo, hi)` of output positions `o < n_out` whose input position
    /// `o * stride + k - pad` lies in `[0, n_in)`.
    fn valid(n_out: usize, n_in: usize, stride: usize, k: usize, pad: usize) -> (usize, usize) {
        super::conv_gemm::Geom::valid_range(n_out, n_in, stride, k as isize - pad as isize)
    }
}

/// The forward over every plane: `y` (`[planes, oh, ow]`) and, when `track`, the window position
/// `ki * kw + kj` of each output's maximum.
pub(super) fn forward(x: &[f32], g: &PoolGeom, track: bool) -> (Vec<f32>, Vec<u8>) {
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    let planes = g.batch * g.channels;
    let mut arg = if track {
        vec![0u8; planes * plane_out]
    } else {
        Vec::new()
    };
    let y = super::written_vec(planes * plane_out, |y| {
        let rows = y.par_chunks_mut(plane_out).zip(x.par_chunks(plane_in));
        if track {
            rows.zip(arg.par_chunks_mut(plane_out))
                .for_each(|((y, x), a)| plane_forward(x, g, y, Some(a)));
        } else {
            rows.for_each(|(y, x)| plane_forward(x, g, y, None));
        }
    });
    (y, arg)
}

/// One plane of [`forward`]: output row by output row, window row by window row, window column by
/// window column, each a select over the row's valid outputs.
fn plane_forward(x: &[f32], g: &PoolGeom, y: &mut [f32], mut arg: Option<&mut [u8]>) {
    let ([kh, kw], [sh, sw], [ph, pw]) = (g.kernel, g.stride, g.pad);
    // the row's window positions (in f32 lanes, exact below 2^24, beside the values), narrowed to
    // bytes when the row is done
    let mut pos = vec![0f32; if arg.is_some() { g.ow } else { 0 }];
    for oy in 0..g.oh {
        let out = &mut y[oy * g.ow..][..g.ow];
        out.fill(f32::NEG_INFINITY);
        // torch's start: the window's first position inside the input (where a window of -inf
        // values sends its gradient)
        let ki0 = ph.saturating_sub(oy * sh);
        for (ox, p) in pos.iter_mut().enumerate() {
            *p = (ki0 * kw + pw.saturating_sub(ox * sw)) as f32;
        }
        for ki in 0..kh {
            let iy = oy * sh + ki;
            if iy < ph || iy - ph >= g.h {
                continue;
            }
            let row = &x[(iy - ph) * g.w..][..g.w];
            for kj in 0..kw {
                let (lo, hi) = PoolGeom::valid(g.ow, g.w, sw, kj, pw);
                let k = (ki * kw + kj) as f32;
                // input column of output ox: ox * sw + kj - pw
                let first = lo * sw + kj - pw;
                if hi <= lo {
                    continue;
                }
                // the window column's inputs row[first + o * sw], o < hi - lo (valid range)
                let src = &row[first..=first + (hi - lo - 1) * sw];
                if pos.is_empty() {
                    for (o, m) in out[lo..hi].iter_mut().enumerate() {
                        let v = src[o * sw];
                        *m = if (v > *m) | v.is_nan() { v } else { *m };
                    }
                } else {
                    for (o, (m, p)) in out[lo..hi].iter_mut().zip(&mut pos[lo..hi]).enumerate() {
                        let v = src[o * sw];
                        let take = (v > *m) | v.is_nan();
                        *m = if take { v } else { *m };
                        *p = if take { k } else { *p };
                    }
                }
            }
        }
        if let Some(arg) = arg.as_deref_mut() {
            for (a, &p) in arg[oy * g.ow..][..g.ow].iter_mut().zip(&pos) {
                *a = p as u8;
            }
        }
    }
}

/// The input gradient: `dx[argmax] += dy` for every output, from the window positions that
/// [`forward`] kept; returns `[planes, h, w]`.
pub(super) fn backward(dy: &[f32], arg: &[u8], g: &PoolGeom) -> Vec<f32> {
    let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
    let planes = g.batch * g.channels;
    let ([_, kw], [sh, sw], [ph, pw]) = (g.kernel, g.stride, g.pad);
    let mut dx = vec![0.0f32; planes * plane_in];
    dx.par_chunks_mut(plane_in)
        .zip(dy.par_chunks(plane_out).zip(arg.par_chunks(plane_out)))
        .for_each(|(dx, (dy, arg))| {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let o = oy * g.ow + ox;
                    let k = usize::from(arg[o]);
                    // the forward only records positions inside the input
                    let iy = oy * sh + k / kw - ph;
                    let ix = ox * sw + k % kw - pw;
                    dx[iy * g.w + ix] += dy[o];
                }
            }
        });
    dx
}
