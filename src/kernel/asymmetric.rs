//! The element-wise multi-label asymmetric loss (Ridnik et al. 2021, timm's
//! `AsymmetricLossMultiLabel` before its sum) on plain `f32` slices, with its derivative, in one
//! vectorized pass (podium's `exp` / `ln`), rayon over blocks. For logits `x` and targets `t` in
//! `[0, 1]`:
//!
//! | quantity | value | `d / d x` |
//! |---|---|---|
//! | `p` | `sigmoid(x)` | `p (1 - p)` |
//! | `q` | `min(1 - p + clip, 1)` (`1 - p` when `clip = 0`) | `-p (1 - p)`, 0 where the `min` takes 1 |
//! | `L` | `t max(log sigmoid(x), log eps) + (1 - t) log max(q, eps)` | `t (1 - p) + (1 - t) q' / q`, each 0 where its clamp holds |
//! | `w` | `(1 - p_t)^g`, `p_t = p t + q (1 - t)`, `g = gamma_pos t + gamma_neg (1 - t)` | `-g (1 - p_t)^(g - 1) p_t'` (0 where `g = 0` or `p_t' = 0`, as torch's `pow` and clamps) |
//! | loss | `-L w` (`-L` when both gammas are 0) | `-(L' w + L w')` |
//!
//! Powers with an integer exponent up to 8 are repeated products; others `exp(g ln b)`.

use super::math;
use super::sigmoid::{binary_block, par_binary};

/// The hyper-parameters of the asymmetric loss, in the logits' precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AslParams {
    /// Focusing exponent of positives.
    pub gamma_pos: f32,
    /// Focusing exponent of negatives.
    pub gamma_neg: f32,
    /// Probability margin shifted off negatives (0 disables).
    pub clip: f32,
    /// Floor of the probabilities inside the logs.
    pub eps: f32,
}

/// Whether `g` is an integer in `0..=8`, the exponents [`pow_int`] takes.
#[inline(always)]
pub(super) fn is_small_int(g: f32) -> bool {
    g == g.trunc() && (0.0..=8.0).contains(&g)
}

/// `b^g` for an integer `g` in `0..=8` (see [`is_small_int`]): repeated products, written with a
/// fixed trip count so that a loop over elements still vectorizes.
#[inline(always)]
pub(super) fn pow_int(b: f32, g: f32) -> f32 {
    let n = g as i32;
    let mut r = 1.0f32;
    for k in 0..8 {
        if k < n {
            r *= b;
        }
    }
    r
}

/// `b^g = exp(g ln b)` for `b >= 0` and `g != 0` (`0^g` is 0 for `g > 0`, `+inf` for `g < 0`).
#[inline(always)]
pub(super) fn pow_exp(b: f32, g: f32) -> f32 {
    math::exp_scalar(g * math::ln_scalar(b))
}

/// Loss and derivative of one element, with `pow` for the powers (the caller picks [`pow_int`]
/// or the general form once per block, so that the loop has no per-element branch to it).
#[inline(always)]
fn element(
    x: f32,
    t: f32,
    c: AslParams,
    log_eps: f32,
    pow: impl Fn(f32, f32) -> f32,
) -> (f32, f32) {
    let z = math::exp_scalar(-x.abs());
    let u = 1.0 + z;
    // ln is taken unconditionally so that the choice is a select and the loop vectorizes
    let ln_u = math::ln_scalar(u);
    let du = u - 1.0;
    let log1p = if du == 0.0 { z } else { ln_u * (z / du) };
    let p = (if x >= 0.0 { 1.0 } else { z }) / u;
    let dp = p * (1.0 - p);
    let log_sig = -((-x).max(0.0) + log1p);
    let (log_p, d_log_p) = if log_sig >= log_eps {
        (log_sig, 1.0 - p)
    } else {
        (log_eps, 0.0)
    };
    let q_raw = 1.0 - p + c.clip;
    let (q, dq) = if c.clip > 0.0 && q_raw > 1.0 {
        (1.0, 0.0)
    } else {
        (q_raw, -dp)
    };
    // ln(max(q, eps)) unconditionally: a select, not a branch around ln
    let log_q = math::ln_scalar(q.max(c.eps));
    let d_log_q = if q >= c.eps { dq / q } else { 0.0 };
    let a = 1.0 - t;
    let l = t * log_p + a * log_q;
    let dl = t * d_log_p + a * d_log_q;
    // no branch on the gammas: both 0 give w = 1, dw = 0
    let pt = p * t + q * a;
    let dpt = t * dp + a * dq;
    let b = 1.0 - pt;
    let g = c.gamma_pos * t + c.gamma_neg * a;
    let w = pow(b, g);
    // torch's pow backward is 0 where g = 0, and its clamps stop an infinite factor
    let dw_raw = -g * pow(b, g - 1.0) * dpt;
    let dw = if g == 0.0 || dpt == 0.0 { 0.0 } else { dw_raw };
    (-(l * w), -(dl * w + l * dw))
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn block(x: &[f32], t: &[f32], c: AslParams, loss: &mut [f32], grad: Option<&mut [f32]>) {
    let log_eps = math::ln_scalar(c.eps);
    // with binary targets and integer gammas every exponent (and exponent - 1) is a small
    // integer: one check over the block picks the product form for all of it
    // (a fold without early exit, so that it vectorizes)
    let int = t.iter().fold(true, |all, &tv| {
        all & is_small_int(c.gamma_pos * tv + c.gamma_neg * (1.0 - tv))
    });
    let general = |b: f32, g: f32| {
        if is_small_int(g) {
            pow_int(b, g)
        } else {
            pow_exp(b, g)
        }
    };
    if int {
        binary_block!(x, t, loss, grad, |xv, tv| {
            element(xv, tv, c, log_eps, pow_int)
        });
    } else {
        binary_block!(x, t, loss, grad, |xv, tv| {
            element(xv, tv, c, log_eps, general)
        });
    }
}

/// The element-wise asymmetric loss of logits `x` against targets `t` into `loss` and, with
/// `grad`, its derivative (see the module table).
///
/// # Panics
/// If `t`, `loss` (and `grad`) are not `x.len()` long.
pub fn asymmetric_multilabel(
    x: &[f32],
    t: &[f32],
    params: AslParams,
    loss: &mut [f32],
    grad: Option<&mut [f32]>,
) {
    par_binary("asymmetric_multilabel", x, t, loss, grad, |x, t, l, g| {
        block(x, t, params, l, g)
    });
}
