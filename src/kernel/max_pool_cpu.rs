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
                if hi <= lo {
                    continue;
                }
                let k = (ki * kw + kj) as f32;
                // input column of output ox: ox * sw + kj - pw (>= 0 from lo on)
                let first = lo * sw + kj - pw;
                // the window column's inputs row[first + o * sw], o < hi - lo (valid range)
                let src = &row[first..=first + (hi - lo - 1) * sw];
                let pos = (!pos.is_empty()).then(|| &mut pos[lo..hi]);
                select_row(&mut out[lo..hi], pos, src, sw, k);
            }
        }
        if let Some(arg) = arg.as_deref_mut() {
            for (a, &p) in arg[oy * g.ow..][..g.ow].iter_mut().zip(&pos) {
                *a = p as u8;
            }
        }
    }
}

/// `m[o] = v` (and `pos[o] = k`) where `v = src[o * sw]` wins torch's rule `v > m[o] || isnan(v)`,
/// for every `o < m.len()`: one window column of one output row. AVX-512 (runtime detection)
/// does 16 outputs per step with masked compares and stores (a gather for strides above 1); other
/// CPUs run the same rule one output at a time.
fn select_row(m: &mut [f32], pos: Option<&mut [f32]>, src: &[f32], sw: usize, k: f32) {
    debug_assert!(m.is_empty() || src.len() > (m.len() - 1) * sw);
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        // SAFETY: the CPU has AVX-512F; src holds every src[o * sw], o < m.len() (the caller's
        // valid range, checked when src was sliced).
        unsafe { avx512::select_row(m, pos, src, sw, k) };
        return;
    }
    select_row_scalar(m, pos, src, sw, k);
}

/// [`select_row`] one output at a time (CPUs without AVX-512).
fn select_row_scalar(m: &mut [f32], pos: Option<&mut [f32]>, src: &[f32], sw: usize, k: f32) {
    match pos {
        None => {
            for (o, m) in m.iter_mut().enumerate() {
                let v = src[o * sw];
                *m = if (v > *m) | v.is_nan() { v } else { *m };
            }
        }
        Some(pos) => {
            for (o, (m, p)) in m.iter_mut().zip(pos).enumerate() {
                let v = src[o * sw];
                let take = (v > *m) | v.is_nan();
                *m = if take { v } else { *m };
                *p = if take { k } else { *p };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The AVX-512 [`super::select_row`].

    use std::arch::x86_64::*;

    /// Whether this CPU has AVX-512F, checked once.
    pub(super) fn available() -> bool {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f"))
    }

    /// [`super::select_row`] 16 outputs at a time.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `src[o * sw]` is inside `src` for every `o < m.len()`, and `pos`
    /// (if any) is as long as `m`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn select_row(
        m: &mut [f32],
        mut pos: Option<&mut [f32]>,
        src: &[f32],
        sw: usize,
        k: f32,
    ) {
        let n = m.len();
        let offsets = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(sw as i32),
        );
        let kv = _mm512_set1_ps(k);
        for o in (0..n).step_by(16) {
            let lanes: __mmask16 = ((1u32 << (n - o).min(16)) - 1) as __mmask16;
            // SAFETY: lanes o .. o + 16 masked to o < n: m[o + i] and src[(o + i) * sw] are
            // inside their slices (the caller's contract).
            unsafe {
                let at = src.as_ptr().add(o * sw);
                let v = if sw == 1 {
                    _mm512_maskz_loadu_ps(lanes, at)
                } else {
                    _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), lanes, offsets, at)
                };
                let cur = _mm512_maskz_loadu_ps(lanes, m.as_ptr().add(o));
                let take = lanes
                    & (_mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, cur)
                        | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v));
                _mm512_mask_storeu_ps(m.as_mut_ptr().add(o), take, v);
                if let Some(pos) = pos.as_deref_mut() {
                    _mm512_mask_storeu_ps(pos.as_mut_ptr().add(o), take, kv);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatching [`select_row`] (AVX-512 where the CPU has it) and the scalar one agree on
    /// values and positions, NaN and ties included, for strides 1 to 3 and lengths that leave a
    /// partial vector.
    #[test]
    fn select_row_paths_agree() {
        for sw in 1..=3 {
            for n in [1, 15, 16, 17, 40] {
                let src: Vec<f32> = (0..(n - 1) * sw + 1)
                    .map(|i| match i % 7 {
                        3 => f32::NAN,
                        5 => 0.5,
                        _ => ((i * 37) % 11) as f32 / 10.0 - 0.5,
                    })
                    .collect();
                let start: Vec<f32> = (0..n)
                    .map(|o| {
                        if o % 5 == 4 {
                            f32::NAN
                        } else {
                            0.5 - (o % 3) as f32 * 0.3
                        }
                    })
                    .collect();
                let (mut m1, mut m2) = (start.clone(), start.clone());
                let (mut p1, mut p2) = (vec![1.0f32; n], vec![1.0f32; n]);
                select_row(&mut m1, Some(&mut p1), &src, sw, 7.0);
                select_row_scalar(&mut m2, Some(&mut p2), &src, sw, 7.0);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&m1), bits(&m2), "values, stride {sw}, n {n}");
                assert_eq!(p1, p2, "positions, stride {sw}, n {n}");
                // both outcomes occur, so the comparison above means something
                assert!(
                    n < 15 || (p1.contains(&7.0) && p1.contains(&1.0)),
                    "stride {sw}, n {n}"
                );
                let mut m3 = start.clone();
                select_row(&mut m3, None, &src, sw, 7.0);
                assert_eq!(
                    bits(&m3),
                    bits(&m1),
                    "without positions, stride {sw}, n {n}"
                );
            }
        }
    }
}
