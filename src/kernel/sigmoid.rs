//! Element-wise kernels of the logistic losses, on plain `f32` slices, rayon over blocks: one
//! vectorized pass (podium's [`exp`](super::math::exp_scalar) / [`ln`](super::math::ln_scalar))
//! writes the value and, when wanted, its local derivative; the backward then only multiplies by
//! the upstream gradient ([`mul_in_place`]).
//!
//! With `z = exp(-|x|)` and `sigmoid(x) = (x >= 0 ? 1 : z) / (1 + z)`:
//!
//! | kernel | value | `d value / d x` | follows |
//! |---|---|---|---|
//! | [`bce_with_logits`] | `max(x, 0) - x t + log1p(z)` | `sigmoid(x) - t` | `F.binary_cross_entropy_with_logits` |
//! | [`bce_with_logits_row_sums`] | `sum_c` of the above per row of `[B, C]` | `sigmoid(x) - t` | the same, summed |
//! | [`log_sigmoid`] | `-(max(-x, 0) + log1p(z))` | `1 - sigmoid(x)` | `F.logsigmoid` |
//! | [`sigmoid`] | `sigmoid(x)` | `sigmoid(x) (1 - sigmoid(x))` | `torch.sigmoid` |
//!
//! `log1p(z)` is computed as `ln(u) z / (u - 1)` with `u = 1 + z` (and `z` where `u` rounds to
//! 1), which keeps the relative accuracy of `ln` for the small `z` of large `|x|`.

use rayon::prelude::*;

use super::math;

/// Elements per rayon task.
const BLOCK: usize = 16 * 1024;

/// `(log1p(exp(-|x|)), sigmoid(x))` of one value.
#[inline(always)]
fn softplus_parts(x: f32) -> (f32, f32) {
    let z = math::exp_scalar(-x.abs());
    let u = 1.0 + z;
    // ln is taken unconditionally so that the choice is a select and the loop vectorizes
    let ln_u = math::ln_scalar(u);
    let du = u - 1.0;
    let log1p = if du == 0.0 { z } else { ln_u * (z / du) };
    let num = if x >= 0.0 { 1.0 } else { z };
    (log1p, num / u)
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn bce_block(x: &[f32], t: &[f32], loss: &mut [f32], grad: Option<&mut [f32]>) {
    binary_block!(x, t, loss, grad, |xv, tv| {
        let (lp, p) = softplus_parts(xv);
        (xv.max(0.0) - xv * tv + lp, p - tv)
    });
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn log_sigmoid_block(x: &[f32], out: &mut [f32], local: Option<&mut [f32]>) {
    match local {
        Some(d) => {
            for ((&xv, o), dv) in x.iter().zip(out.iter_mut()).zip(d.iter_mut()) {
                let (lp, p) = softplus_parts(xv);
                *o = -((-xv).max(0.0) + lp);
                *dv = 1.0 - p;
            }
        }
        None => {
            for (&xv, o) in x.iter().zip(out.iter_mut()) {
                let (lp, _) = softplus_parts(xv);
                *o = -((-xv).max(0.0) + lp);
            }
        }
    }
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn sigmoid_block(x: &[f32], out: &mut [f32], local: Option<&mut [f32]>) {
    match local {
        Some(d) => {
            for ((&xv, o), dv) in x.iter().zip(out.iter_mut()).zip(d.iter_mut()) {
                let (_, p) = softplus_parts(xv);
                *o = p;
                *dv = p * (1.0 - p);
            }
        }
        None => {
            for (&xv, o) in x.iter().zip(out.iter_mut()) {
                *o = softplus_parts(xv).1;
            }
        }
    }
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn mul_block(values: &mut [f32], by: &[f32]) {
    for (v, &b) in values.iter_mut().zip(by) {
        *v *= b;
    }
}

fn check(op: &str, n: usize, other: usize, what: &str) {
    assert_eq!(other, n, "{op}: {what} of {other} values for {n} inputs");
}

/// One block of a binary element kernel (logits `x`, targets `t`):
/// `binary_block!(x, t, loss, grad, |xv, tv| (value, derivative))` writes the value of each
/// element into `loss` and, when `grad` is `Some`, the derivative into it. A macro rather than
/// a function taking a closure: expanded inside each multiversioned block, the element code is
/// compiled (and vectorized) for that block's target; through a closure it would be compiled
/// for the baseline target (about 6x slower on AVX-512).
macro_rules! binary_block {
    ($x:expr, $t:expr, $loss:expr, $grad:expr, |$xv:ident, $tv:ident| $element:expr) => {
        match $grad {
            Some(g) => {
                for (((&$xv, &$tv), l), gv) in
                    $x.iter().zip($t).zip($loss.iter_mut()).zip(g.iter_mut())
                {
                    (*l, *gv) = $element;
                }
            }
            None => {
                for ((&$xv, &$tv), l) in $x.iter().zip($t).zip($loss.iter_mut()) {
                    *l = $element.0;
                }
            }
        }
    };
}
pub(super) use binary_block;

/// Runs `block(x, t, loss, grad)` of a binary element kernel over [`BLOCK`]-element chunks in
/// parallel (rayon), after checking the lengths.
///
/// # Panics
/// If `t`, `loss` (and `grad`) are not `x.len()` long, naming `op` and the lengths.
pub(super) fn par_binary(
    op: &str,
    x: &[f32],
    t: &[f32],
    loss: &mut [f32],
    grad: Option<&mut [f32]>,
    block: impl Fn(&[f32], &[f32], &mut [f32], Option<&mut [f32]>) + Sync,
) {
    let n = x.len();
    check(op, n, t.len(), "targets");
    check(op, n, loss.len(), "loss buffer");
    match grad {
        Some(g) => {
            check(op, n, g.len(), "gradient buffer");
            loss.par_chunks_mut(BLOCK)
                .zip(g.par_chunks_mut(BLOCK))
                .zip(x.par_chunks(BLOCK).zip(t.par_chunks(BLOCK)))
                .for_each(|((l, g), (x, t))| block(x, t, l, Some(g)));
        }
        None => loss
            .par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK).zip(t.par_chunks(BLOCK)))
            .for_each(|(l, (x, t))| block(x, t, l, None)),
    }
}

/// Per element `loss = max(x, 0) - x t + log1p(exp(-|x|))` and, with `grad`,
/// `sigmoid(x) - t` (see the module table).
///
/// # Panics
/// If `t`, `loss` (and `grad`) are not `x.len()` long.
pub fn bce_with_logits(x: &[f32], t: &[f32], loss: &mut [f32], grad: Option<&mut [f32]>) {
    par_binary("bce_with_logits", x, t, loss, grad, bce_block);
}

/// Per row of `[B, C]` the sum `sum_c max(x, 0) - x t + log1p(exp(-|x|))` into `sums` and,
/// with `grad`, the element-wise `sigmoid(x) - t` (the reduced BCE's local gradient: its backward
/// scales row `i` by the upstream gradient of `sums[i]`).
///
/// # Panics
/// If `x` and `t` (and `grad`) are not `sums.len() * C` long.
pub fn bce_with_logits_row_sums(
    x: &[f32],
    t: &[f32],
    c: usize,
    sums: &mut [f32],
    grad: Option<&mut [f32]>,
) {
    let n = sums.len() * c;
    check("bce_with_logits_row_sums", n, x.len(), "logits");
    check("bce_with_logits_row_sums", n, t.len(), "targets");
    if n == 0 {
        sums.iter_mut().for_each(|s| *s = 0.0);
        return;
    }
    let rpt = (BLOCK / c).max(1);
    match grad {
        Some(g) => {
            check("bce_with_logits_row_sums", n, g.len(), "gradient buffer");
            sums.par_chunks_mut(rpt)
                .zip(g.par_chunks_mut(rpt * c))
                .zip(x.par_chunks(rpt * c).zip(t.par_chunks(rpt * c)))
                .for_each(|((sb, gb), (xb, tb))| {
                    let mut scratch = vec![0.0f32; c];
                    for (((s, gr), xr), tr) in sb
                        .iter_mut()
                        .zip(gb.chunks_mut(c))
                        .zip(xb.chunks(c))
                        .zip(tb.chunks(c))
                    {
                        bce_block(xr, tr, &mut scratch, Some(gr));
                        *s = math::sum(&scratch);
                    }
                });
        }
        None => sums
            .par_chunks_mut(rpt)
            .zip(x.par_chunks(rpt * c).zip(t.par_chunks(rpt * c)))
            .for_each(|(sb, (xb, tb))| {
                let mut scratch = vec![0.0f32; c];
                for ((s, xr), tr) in sb.iter_mut().zip(xb.chunks(c)).zip(tb.chunks(c)) {
                    bce_block(xr, tr, &mut scratch, None);
                    *s = math::sum(&scratch);
                }
            }),
    }
}

/// Per element `log sigmoid(x) = -(max(-x, 0) + log1p(exp(-|x|)))` and, with `local`,
/// `1 - sigmoid(x)`.
///
/// # Panics
/// If `out` (and `local`) are not `x.len()` long.
pub fn log_sigmoid(x: &[f32], out: &mut [f32], local: Option<&mut [f32]>) {
    let n = x.len();
    check("log_sigmoid", n, out.len(), "output buffer");
    match local {
        Some(d) => {
            check("log_sigmoid", n, d.len(), "derivative buffer");
            out.par_chunks_mut(BLOCK)
                .zip(d.par_chunks_mut(BLOCK))
                .zip(x.par_chunks(BLOCK))
                .for_each(|((o, d), x)| log_sigmoid_block(x, o, Some(d)));
        }
        None => out
            .par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK))
            .for_each(|(o, x)| log_sigmoid_block(x, o, None)),
    }
}

/// Per element `sigmoid(x)` and, with `local`, `sigmoid(x) (1 - sigmoid(x))`.
///
/// # Panics
/// If `out` (and `local`) are not `x.len()` long.
pub fn sigmoid(x: &[f32], out: &mut [f32], local: Option<&mut [f32]>) {
    let n = x.len();
    check("sigmoid", n, out.len(), "output buffer");
    match local {
        Some(d) => {
            check("sigmoid", n, d.len(), "derivative buffer");
            out.par_chunks_mut(BLOCK)
                .zip(d.par_chunks_mut(BLOCK))
                .zip(x.par_chunks(BLOCK))
                .for_each(|((o, d), x)| sigmoid_block(x, o, Some(d)));
        }
        None => out
            .par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK))
            .for_each(|(o, x)| sigmoid_block(x, o, None)),
    }
}

/// `values[i] *= by[i]`: the backward of the kernels above (local derivative times upstream).
///
/// # Panics
/// If the lengths differ.
pub fn mul_in_place(values: &mut [f32], by: &[f32]) {
    check("mul_in_place", values.len(), by.len(), "factors");
    values
        .par_chunks_mut(BLOCK)
        .zip(by.par_chunks(BLOCK))
        .for_each(|(v, b)| mul_block(v, b));
}
