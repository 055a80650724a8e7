//! Row kernels of the fused softmax losses, on plain `f32` slices (row-major `[B, C]`), rayon over
//! blocks of rows. One pass over a row (held in L1) computes its max, `sum exp(x - max)` with the
//! vectorized [`exp`](super::math::exp_shifted_sum), the log-sum-exp, the loss and, when a
//! gradient is wanted, `softmax - target`; the backward then only scales each row by the
//! upstream gradient.
//!
//! | kernel | per-row loss `l_i` | `d l_i / d x_ic` |
//! |---|---|---|
//! | [`cross_entropy_hard`] | `lse_i - (1 - eps) x_{i,y_i} - (eps / C) sum_c x_ic` | `p_ic - (1 - eps) [c = y_i] - eps / C` |
//! | [`cross_entropy_soft`] | `lse_i sum_c t_ic - sum_c t_ic x_ic` | `p_ic sum_c t_ic - t_ic` |
//! | [`log_sum_exp`] | `lse_i = log sum_c exp(x_ic)` | `p_ic` |
//!
//! with `p = softmax(x)` (torch's `cross_entropy(label_smoothing=eps)`,
//! timm's `SoftTargetCrossEntropy`, `torch.logsumexp`).
//!
//! The row-wise maps (`[B, C]` out, torch's `log_softmax(x, 1)` / `softmax(x, 1)`) keep
//! `softmax(x)` for their backward:
//!
//! | kernel | forward `y_ic` | backward `dx_ic` for upstream `g` |
//! |---|---|---|
//! | [`log_softmax`], [`log_softmax_backward`] | `x_ic - lse_i` | `g_ic - p_ic sum_k g_ik` |
//! | [`softmax`], [`softmax_backward`] | `p_ic` | `p_ic (g_ic - sum_k g_ik p_ik)` |

use rayon::prelude::*;

use super::math;

/// Rows per rayon task: enough work per task to pay for the split.
const ROW_BLOCK_ELEMS: usize = 16 * 1024;

fn rows_per_task(c: usize) -> usize {
    (ROW_BLOCK_ELEMS / c.max(1)).max(1)
}

/// `(max, sum exp(x - max), lse)` of one row, writing `exp(x - max)` into `e`.
#[inline]
fn row_lse(x: &[f32], e: &mut [f32]) -> (f32, f32) {
    let m = math::max(x);
    // a row of -inf (or empty) has lse -inf; keep the shift finite so no NaN comes of -inf + inf
    let shift = if m.is_finite() { m } else { 0.0 };
    let s = math::exp_shifted_sum(x, shift, e);
    (s, math::ln_scalar(s) + shift)
}

/// Panics naming `op` unless `len == b * c` (a `[b, c]` matrix of `what`).
fn check_matrix(op: &str, what: &str, len: usize, [b, c]: [usize; 2]) {
    assert_eq!(len, b * c, "{op}: {what} of {len} values for [{b}, {c}]");
}

/// Panics naming `op` unless `len` values are whole rows of `c`.
fn check_rows(op: &str, len: usize, c: usize) {
    assert_eq!(len % c.max(1), 0, "{op}: {len} values are not rows of {c}");
}

/// Cross-entropy against class indices with label smoothing `eps`, per row: writes `loss[i]` and,
/// with `grad`, `d loss_i / d x_i` (see the module table). A target outside `0..C` panics.
///
/// # Panics
/// If `x.len() != loss.len() * C`, `targets.len() != loss.len()`, `grad` is not `x.len()` long,
/// or a target is not a class index.
pub fn cross_entropy_hard(
    x: &[f32],
    c: usize,
    targets: &[i64],
    eps: f32,
    loss: &mut [f32],
    grad: Option<&mut [f32]>,
) {
    let b = loss.len();
    check_matrix("cross_entropy_hard", "logits", x.len(), [b, c]);
    assert_eq!(
        targets.len(),
        b,
        "cross_entropy_hard: {} targets for {b} rows",
        targets.len()
    );
    let on = 1.0 - eps;
    let off = eps / c as f32;
    let row = |xr: &[f32], y: i64, l: &mut f32, e: &mut [f32]| {
        assert!(
            (0..c as i64).contains(&y),
            "cross_entropy_hard: target {y} is not a class index for {c} classes"
        );
        let y = y as usize;
        let (s, lse) = row_lse(xr, e);
        let smooth = if eps != 0.0 { off * math::sum(xr) } else { 0.0 };
        *l = lse - on * xr[y] - smooth;
        s
    };
    let rpt = rows_per_task(c);
    match grad {
        Some(g) => {
            assert_eq!(
                g.len(),
                x.len(),
                "cross_entropy_hard: gradient buffer length"
            );
            g.par_chunks_mut(rpt * c)
                .zip(x.par_chunks(rpt * c))
                .zip(loss.par_chunks_mut(rpt).zip(targets.par_chunks(rpt)))
                .for_each(|((gb, xb), (lb, tb))| {
                    for (((gr, xr), l), &y) in gb.chunks_mut(c).zip(xb.chunks(c)).zip(lb).zip(tb) {
                        let s = row(xr, y, l, gr);
                        let inv = 1.0 / s;
                        for v in gr.iter_mut() {
                            *v = *v * inv - off;
                        }
                        gr[y as usize] -= on;
                    }
                });
        }
        None => {
            x.par_chunks(rpt * c)
                .zip(loss.par_chunks_mut(rpt).zip(targets.par_chunks(rpt)))
                .for_each(|(xb, (lb, tb))| {
                    let mut e = vec![0.0f32; c];
                    for ((xr, l), &y) in xb.chunks(c).zip(lb).zip(tb) {
                        row(xr, y, l, &mut e);
                    }
                });
        }
    }
}

/// Cross-entropy against dense targets `t` (`[B, C]`), per row: writes `loss[i]` and, with
/// `grad`, `d loss_i / d x_i` (see the module table).
///
/// # Panics
/// If `x`, `t` (and `grad`) are not all `loss.len() * C` long.
pub fn cross_entropy_soft(
    x: &[f32],
    c: usize,
    t: &[f32],
    loss: &mut [f32],
    grad: Option<&mut [f32]>,
) {
    let b = loss.len();
    check_matrix("cross_entropy_soft", "logits", x.len(), [b, c]);
    check_matrix("cross_entropy_soft", "targets", t.len(), [b, c]);
    let row = |xr: &[f32], tr: &[f32], l: &mut f32, e: &mut [f32]| {
        let (s, lse) = row_lse(xr, e);
        let mass = math::sum(tr);
        *l = lse * mass - math::dot(tr, xr);
        (s, mass)
    };
    let rpt = rows_per_task(c);
    match grad {
        Some(g) => {
            assert_eq!(
                g.len(),
                x.len(),
                "cross_entropy_soft: gradient buffer length"
            );
            g.par_chunks_mut(rpt * c)
                .zip(x.par_chunks(rpt * c).zip(t.par_chunks(rpt * c)))
                .zip(loss.par_chunks_mut(rpt))
                .for_each(|((gb, (xb, tb)), lb)| {
                    for (((gr, xr), tr), l) in
                        gb.chunks_mut(c).zip(xb.chunks(c)).zip(tb.chunks(c)).zip(lb)
                    {
                        let (s, mass) = row(xr, tr, l, gr);
                        let scale = mass / s;
                        for (v, &tv) in gr.iter_mut().zip(tr) {
                            *v = *v * scale - tv;
                        }
                    }
                });
        }
        None => {
            x.par_chunks(rpt * c)
                .zip(t.par_chunks(rpt * c))
                .zip(loss.par_chunks_mut(rpt))
                .for_each(|((xb, tb), lb)| {
                    let mut e = vec![0.0f32; c];
                    for ((xr, tr), l) in xb.chunks(c).zip(tb.chunks(c)).zip(lb) {
                        row(xr, tr, l, &mut e);
                    }
                });
        }
    }
}

/// `lse_i = log sum_c exp(x_ic)` per row into `lse` and, with `probs`, `softmax(x)` (the
/// gradient of `lse_i`).
///
/// # Panics
/// If `x` (and `probs`) are not `lse.len() * C` long.
pub fn log_sum_exp(x: &[f32], c: usize, lse: &mut [f32], probs: Option<&mut [f32]>) {
    let b = lse.len();
    check_matrix("log_sum_exp", "logits", x.len(), [b, c]);
    let rpt = rows_per_task(c);
    match probs {
        Some(p) => {
            assert_eq!(p.len(), x.len(), "log_sum_exp: probability buffer length");
            p.par_chunks_mut(rpt * c)
                .zip(x.par_chunks(rpt * c))
                .zip(lse.par_chunks_mut(rpt))
                .for_each(|((pb, xb), lb)| {
                    for ((pr, xr), l) in pb.chunks_mut(c).zip(xb.chunks(c)).zip(lb) {
                        let (s, v) = row_lse(xr, pr);
                        *l = v;
                        let inv = 1.0 / s;
                        for q in pr.iter_mut() {
                            *q *= inv;
                        }
                    }
                });
        }
        None => {
            x.par_chunks(rpt * c)
                .zip(lse.par_chunks_mut(rpt))
                .for_each(|(xb, lb)| {
                    let mut e = vec![0.0f32; c];
                    for (xr, l) in xb.chunks(c).zip(lb) {
                        *l = row_lse(xr, &mut e).1;
                    }
                });
        }
    }
}

/// Multiplies row `i` of `values` (`[B, C]`) by `scale[i]`: the backward of the kernels above.
///
/// # Panics
/// If `values` is not `scale.len() * C` long.
pub fn scale_rows(values: &mut [f32], c: usize, scale: &[f32]) {
    assert_eq!(
        values.len(),
        scale.len() * c,
        "scale_rows: {} values for {} rows of {c}",
        values.len(),
        scale.len()
    );
    let rpt = rows_per_task(c);
    values
        .par_chunks_mut(rpt * c)
        .zip(scale.par_chunks(rpt))
        .for_each(|(vb, sb)| {
            for (vr, &s) in vb.chunks_mut(c).zip(sb) {
                for v in vr.iter_mut() {
                    *v *= s;
                }
            }
        });
}

/// `log_softmax(x)` per row into `out` (`y_ic = x_ic - lse_i`, one vectorized `exp` pass) and,
/// with `probs`, `softmax(x)` for the backward ([`log_softmax_backward`]).
///
/// # Panics
/// If `out` (and `probs`) are not `x.len()` long or `x.len()` is not a multiple of `C`.
pub fn log_softmax(x: &[f32], c: usize, out: &mut [f32], probs: Option<&mut [f32]>) {
    assert_eq!(out.len(), x.len(), "log_softmax: output buffer length");
    check_rows("log_softmax", x.len(), c);
    if x.is_empty() {
        return;
    }
    let rpt = rows_per_task(c);
    let write = |xr: &[f32], or: &mut [f32], lse: f32| {
        for (o, &v) in or.iter_mut().zip(xr) {
            *o = v - lse;
        }
    };
    match probs {
        Some(p) => {
            assert_eq!(p.len(), x.len(), "log_softmax: probability buffer length");
            out.par_chunks_mut(rpt * c)
                .zip(x.par_chunks(rpt * c).zip(p.par_chunks_mut(rpt * c)))
                .for_each(|(ob, (xb, pb))| {
                    for ((or, xr), pr) in ob.chunks_mut(c).zip(xb.chunks(c)).zip(pb.chunks_mut(c)) {
                        let (s, lse) = row_lse(xr, pr);
                        write(xr, or, lse);
                        let inv = 1.0 / s;
                        for q in pr.iter_mut() {
                            *q *= inv;
                        }
                    }
                });
        }
        None => {
            out.par_chunks_mut(rpt * c)
                .zip(x.par_chunks(rpt * c))
                .for_each(|(ob, xb)| {
                    for (or, xr) in ob.chunks_mut(c).zip(xb.chunks(c)) {
                        // the exp values only feed the sum: write them where the output goes
                        let (_, lse) = row_lse(xr, or);
                        write(xr, or, lse);
                    }
                });
        }
    }
}

/// `softmax(x)` per row into `p` (one vectorized `exp` pass and a scaling).
///
/// # Panics
/// If `p` is not `x.len()` long or `x.len()` is not a multiple of `C`.
pub fn softmax(x: &[f32], c: usize, p: &mut [f32]) {
    assert_eq!(p.len(), x.len(), "softmax: output buffer length");
    check_rows("softmax", x.len(), c);
    if x.is_empty() {
        return;
    }
    let rpt = rows_per_task(c);
    p.par_chunks_mut(rpt * c)
        .zip(x.par_chunks(rpt * c))
        .for_each(|(pb, xb)| {
            for (pr, xr) in pb.chunks_mut(c).zip(xb.chunks(c)) {
                let (s, _) = row_lse(xr, pr);
                let inv = 1.0 / s;
                for q in pr.iter_mut() {
                    *q *= inv;
                }
            }
        });
}

/// The backward of [`log_softmax`]: overwrites `probs` (`softmax(x)`, `[B, C]`) with
/// `dx_ic = g_ic - p_ic sum_k g_ik` for the upstream gradient `g`.
///
/// # Panics
/// If `g` and `probs` differ in length or are not rows of `C`.
pub fn log_softmax_backward(g: &[f32], c: usize, probs: &mut [f32]) {
    assert_eq!(g.len(), probs.len(), "log_softmax_backward: lengths differ");
    check_rows("log_softmax_backward", g.len(), c);
    if g.is_empty() {
        return;
    }
    let rpt = rows_per_task(c);
    probs
        .par_chunks_mut(rpt * c)
        .zip(g.par_chunks(rpt * c))
        .for_each(|(pb, gb)| {
            for (pr, gr) in pb.chunks_mut(c).zip(gb.chunks(c)) {
                let sg = math::sum(gr);
                for (q, &gv) in pr.iter_mut().zip(gr) {
                    *q = gv - *q * sg;
                }
            }
        });
}

/// The backward of [`softmax`]: overwrites `probs` (`[B, C]`) with
/// `dx_ic = p_ic (g_ic - sum_k g_ik p_ik)` for the upstream gradient `g`.
///
/// # Panics
/// If `g` and `probs` differ in length or are not rows of `C`.
pub fn softmax_backward(g: &[f32], c: usize, probs: &mut [f32]) {
    assert_eq!(g.len(), probs.len(), "softmax_backward: lengths differ");
    check_rows("softmax_backward", g.len(), c);
    if g.is_empty() {
        return;
    }
    let rpt = rows_per_task(c);
    probs
        .par_chunks_mut(rpt * c)
        .zip(g.par_chunks(rpt * c))
        .for_each(|(pb, gb)| {
            for (pr, gr) in pb.chunks_mut(c).zip(gb.chunks(c)) {
                let gp = math::dot(gr, pr);
                for (q, &gv) in pr.iter_mut().zip(gr) {
                    *q *= gv - gp;
                }
            }
        });
}
