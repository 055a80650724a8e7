//! Row-wise L2 normalization on plain `f32` slices (row-major `[N, D]`), rayon over blocks of
//! rows: `y_i = x_i / max(||x_i||, eps)` (`torch.nn.functional.normalize(x, dim=1)`), forward
//! in one pass per row (a vectorized dot product, then a scaling) keeping `1 / max(||x_i||, eps)`,
//! and the backward in one pass:
//!
//! | row | `dx_i` for upstream `g_i` |
//! |---|---|
//! | `||x_i|| >= eps` | `(g_i - y_i (g_i . y_i)) / ||x_i||` |
//! | `||x_i|| < eps` (the clamp holds) | `g_i / eps` |

use rayon::prelude::*;

use super::math;

/// torch's default `eps` of `F.normalize`.
pub const EPS: f32 = 1e-12;

/// Rows per rayon task: enough work per task to pay for the split.
fn rows_per_task(d: usize) -> usize {
    (16 * 1024 / d.max(1)).max(1)
}

/// Writes `y_i = x_i / max(||x_i||, EPS)` and `inv[i] = 1 / max(||x_i||, EPS)`, negated where
/// the clamp holds (the backward's flag; the scale is its absolute value).
///
/// # Panics
/// If `y` is not `x.len()` long or `x` is not `inv.len()` rows of `D`.
pub fn l2_normalize_rows(x: &[f32], d: usize, y: &mut [f32], inv: &mut [f32]) {
    let n = inv.len();
    assert_eq!(
        x.len(),
        n * d,
        "l2_normalize_rows: {} values for [{n}, {d}]",
        x.len()
    );
    assert_eq!(y.len(), x.len(), "l2_normalize_rows: output buffer length");
    if x.is_empty() {
        inv.iter_mut().for_each(|v| *v = -1.0 / EPS);
        return;
    }
    let rpt = rows_per_task(d);
    y.par_chunks_mut(rpt * d)
        .zip(x.par_chunks(rpt * d).zip(inv.par_chunks_mut(rpt)))
        .for_each(|(yb, (xb, ib))| {
            for ((yr, xr), iv) in yb.chunks_mut(d).zip(xb.chunks(d)).zip(ib) {
                let norm = math::dot(xr, xr).sqrt();
                let active = norm >= EPS;
                let s = 1.0 / if active { norm } else { EPS };
                for (o, &v) in yr.iter_mut().zip(xr) {
                    *o = v * s;
                }
                *iv = if active { s } else { -s };
            }
        });
}

/// The backward of [`l2_normalize_rows`] from its output `y` and `inv`: writes `dx` (see the
/// module table).
///
/// # Panics
/// If `g`, `y` and `dx` differ in length or are not `inv.len()` rows of `D`.
pub fn l2_normalize_rows_backward(g: &[f32], y: &[f32], inv: &[f32], d: usize, dx: &mut [f32]) {
    let n = inv.len();
    assert_eq!(
        g.len(),
        n * d,
        "l2_normalize_rows_backward: gradient of {} values for [{n}, {d}]",
        g.len()
    );
    assert_eq!(
        y.len(),
        g.len(),
        "l2_normalize_rows_backward: output length"
    );
    assert_eq!(
        dx.len(),
        g.len(),
        "l2_normalize_rows_backward: buffer length"
    );
    if g.is_empty() {
        return;
    }
    let rpt = rows_per_task(d);
    dx.par_chunks_mut(rpt * d)
        .zip(g.par_chunks(rpt * d).zip(y.par_chunks(rpt * d)))
        .zip(inv.par_chunks(rpt))
        .for_each(|((db, (gb, yb)), ib)| {
            for (((dr, gr), yr), &iv) in
                db.chunks_mut(d).zip(gb.chunks(d)).zip(yb.chunks(d)).zip(ib)
            {
                if iv > 0.0 {
                    let gy = math::dot(gr, yr);
                    for ((o, &gv), &yv) in dr.iter_mut().zip(gr).zip(yr) {
                        *o = (gv - yv * gy) * iv;
                    }
                } else {
                    let s = -iv;
                    for (o, &gv) in dr.iter_mut().zip(gr) {
                        *o = gv * s;
                    }
                }
            }
        });
}
