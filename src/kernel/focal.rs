//! The element-wise sigmoid focal loss (Lin et al. 2017, `torchvision.ops.sigmoid_focal_loss`
//! before its reduction) on plain `f32` slices, with its derivative, in one vectorized pass
//! (podium's `exp` / `ln`), rayon over blocks. For logits `x` and targets `t`, with
//! `p = sigmoid(x)`:
//!
//! | quantity | value | `d / d x` |
//! |---|---|---|
//! | `bce` | `max(x, 0) - x t + log1p(exp(-|x|))` | `p - t` |
//! | `q = 1 - p_t` | `p (1 - 2 t) + t` | `(1 - 2 t) p (1 - p)` |
//! | `alpha_t` | `alpha t + (1 - alpha)(1 - t)` (1 without alpha) | 0 |
//! | loss | `alpha_t q^gamma bce` | `alpha_t (gamma q^(gamma - 1) q' bce + q^gamma (p - t))` (the first term 0 where `gamma = 0`) |
//!
//! Powers with an integer exponent up to 8 are repeated products; others `exp(g ln b)`.

use rayon::prelude::*;

use super::asymmetric::pow_nonneg;
use super::math;

/// Elements per rayon task.
const BLOCK: usize = 16 * 1024;

#[inline(always)]
fn element(x: f32, t: f32, gamma: f32, alpha: Option<f32>) -> (f32, f32) {
    let z = math::exp_scalar(-x.abs());
    let u = 1.0 + z;
    let log1p = if u == 1.0 {
        z
    } else {
        math::ln_scalar(u) * (z / (u - 1.0))
    };
    let p = (if x >= 0.0 { 1.0 } else { z }) / u;
    let bce = x.max(0.0) - x * t + log1p;
    let dbce = p - t;
    let s = 1.0 - 2.0 * t;
    let q = p * s + t;
    let (mut l, mut d) = if gamma == 0.0 {
        (bce, dbce)
    } else {
        let w = pow_nonneg(q, gamma);
        let dw = gamma * pow_nonneg(q, gamma - 1.0) * (s * p * (1.0 - p));
        (w * bce, dw * bce + w * dbce)
    };
    if let Some(a) = alpha {
        let at = a * t + (1.0 - a) * (1.0 - t);
        l *= at;
        d *= at;
    }
    (l, d)
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn block(
    x: &[f32],
    t: &[f32],
    gamma: f32,
    alpha: Option<f32>,
    loss: &mut [f32],
    grad: Option<&mut [f32]>,
) {
    match grad {
        Some(g) => {
            for (((&xv, &tv), l), gv) in x.iter().zip(t).zip(loss.iter_mut()).zip(g.iter_mut()) {
                let (v, d) = element(xv, tv, gamma, alpha);
                *l = v;
                *gv = d;
            }
        }
        None => {
            for ((&xv, &tv), l) in x.iter().zip(t).zip(loss.iter_mut()) {
                *l = element(xv, tv, gamma, alpha).0;
            }
        }
    }
}

/// The element-wise sigmoid focal loss of logits `x` against targets `t` (focusing `gamma >= 0`,
/// positive weight `alpha`, `None` for none) into `loss` and, with `grad`, its derivative (see
/// the module table).
///
/// # Panics
/// If `t`, `loss` (and `grad`) are not `x.len()` long.
pub fn sigmoid_focal(
    x: &[f32],
    t: &[f32],
    gamma: f32,
    alpha: Option<f32>,
    loss: &mut [f32],
    grad: Option<&mut [f32]>,
) {
    let n = x.len();
    assert_eq!(
        t.len(),
        n,
        "sigmoid_focal: {} targets for {n} logits",
        t.len()
    );
    assert_eq!(loss.len(), n, "sigmoid_focal: loss buffer length");
    match grad {
        Some(g) => {
            assert_eq!(g.len(), n, "sigmoid_focal: gradient buffer length");
            loss.par_chunks_mut(BLOCK)
                .zip(g.par_chunks_mut(BLOCK))
                .zip(x.par_chunks(BLOCK).zip(t.par_chunks(BLOCK)))
                .for_each(|((l, g), (x, t))| block(x, t, gamma, alpha, l, Some(g)));
        }
        None => loss
            .par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK).zip(t.par_chunks(BLOCK)))
            .for_each(|(l, (x, t))| block(x, t, gamma, alpha, l, None)),
    }
}
