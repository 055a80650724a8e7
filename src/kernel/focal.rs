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

use super::asymmetric::{is_small_int, pow_exp, pow_int};
use super::math;
use super::sigmoid::{binary_block, par_binary};

/// Loss and derivative of one element, with `pow` for the powers of `q` (chosen once per call
/// from `gamma`, so that the loop has no per-element branch to it).
#[inline(always)]
fn element(
    x: f32,
    t: f32,
    gamma: f32,
    alpha: Option<f32>,
    pow: impl Fn(f32, f32) -> f32,
) -> (f32, f32) {
    let z = math::exp_scalar(-x.abs());
    let u = 1.0 + z;
    // ln is taken unconditionally so that the choice is a select and the loop vectorizes
    let ln_u = math::ln_scalar(u);
    let du = u - 1.0;
    let log1p = if du == 0.0 { z } else { ln_u * (z / du) };
    let p = (if x >= 0.0 { 1.0 } else { z }) / u;
    let bce = x.max(0.0) - x * t + log1p;
    let dbce = p - t;
    let s = 1.0 - 2.0 * t;
    let q = p * s + t;
    // no branch: gamma = 0 gives w = 1, dw = 0
    let w = pow(q, gamma);
    let dw = gamma * pow(q, gamma - 1.0) * (s * p * (1.0 - p));
    let (a1, a0) = alpha.map_or((1.0, 1.0), |a| (a, 1.0 - a));
    let at = a1 * t + a0 * (1.0 - t);
    (at * (w * bce), at * (dw * bce + w * dbce))
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
    // gamma and gamma - 1 are both small integers or (gamma - 1 = 0 aside) both not
    let int = is_small_int(gamma);
    let general = |b: f32, g: f32| {
        if g == 0.0 || g == 1.0 {
            pow_int(b, g)
        } else {
            pow_exp(b, g)
        }
    };
    if int {
        binary_block!(x, t, loss, grad, |xv, tv| {
            element(xv, tv, gamma, alpha, pow_int)
        });
    } else {
        binary_block!(x, t, loss, grad, |xv, tv| {
            element(xv, tv, gamma, alpha, general)
        });
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
    par_binary("sigmoid_focal", x, t, loss, grad, |x, t, l, g| {
        block(x, t, gamma, alpha, l, g)
    });
}
