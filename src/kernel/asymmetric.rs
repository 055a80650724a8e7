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

use rayon::prelude::*;

use super::math;

/// Elements per rayon task.
const BLOCK: usize = 16 * 1024;

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

/// `b^g` for `b >= 0`: repeated products for integer `g` in `1..=8`, 1 for `g = 0`,
/// `exp(g ln b)` otherwise.
#[inline(always)]
pub(super) fn pow_nonneg(b: f32, g: f32) -> f32 {
    let n = g as i32;
    if g == n as f32 && (0..=8).contains(&n) {
        let mut r = 1.0f32;
        for k in 0..8 {
            if k < n {
                r *= b;
            }
        }
        r
    } else {
        math::exp_scalar(g * math::ln_scalar(b))
    }
}

/// Loss and derivative of one element.
#[inline(always)]
fn element(x: f32, t: f32, c: AslParams, log_eps: f32) -> (f32, f32) {
    let z = math::exp_scalar(-x.abs());
    let u = 1.0 + z;
    let log1p = if u == 1.0 {
        z
    } else {
        math::ln_scalar(u) * (z / (u - 1.0))
    };
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
    let (log_q, d_log_q) = if q >= c.eps {
        (math::ln_scalar(q), dq / q)
    } else {
        (log_eps, 0.0)
    };
    let a = 1.0 - t;
    let l = t * log_p + a * log_q;
    let dl = t * d_log_p + a * d_log_q;
    if c.gamma_pos > 0.0 || c.gamma_neg > 0.0 {
        let pt = p * t + q * a;
        let dpt = t * dp + a * dq;
        let b = 1.0 - pt;
        let g = c.gamma_pos * t + c.gamma_neg * a;
        let w = pow_nonneg(b, g);
        // torch's pow backward is 0 where g = 0, and its clamps stop an infinite factor
        let dw = if g == 0.0 || dpt == 0.0 {
            0.0
        } else {
            -g * pow_nonneg(b, g - 1.0) * dpt
        };
        (-(l * w), -(dl * w + l * dw))
    } else {
        (-l, -dl)
    }
}

#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn block(x: &[f32], t: &[f32], c: AslParams, loss: &mut [f32], grad: Option<&mut [f32]>) {
    let log_eps = math::ln_scalar(c.eps);
    match grad {
        Some(g) => {
            for (((&xv, &tv), l), gv) in x.iter().zip(t).zip(loss.iter_mut()).zip(g.iter_mut()) {
                let (v, d) = element(xv, tv, c, log_eps);
                *l = v;
                *gv = d;
            }
        }
        None => {
            for ((&xv, &tv), l) in x.iter().zip(t).zip(loss.iter_mut()) {
                *l = element(xv, tv, c, log_eps).0;
            }
        }
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
    let n = x.len();
    assert_eq!(
        t.len(),
        n,
        "asymmetric_multilabel: {} targets for {n} logits",
        t.len()
    );
    assert_eq!(loss.len(), n, "asymmetric_multilabel: loss buffer length");
    match grad {
        Some(g) => {
            assert_eq!(g.len(), n, "asymmetric_multilabel: gradient buffer length");
            loss.par_chunks_mut(BLOCK)
                .zip(g.par_chunks_mut(BLOCK))
                .zip(x.par_chunks(BLOCK).zip(t.par_chunks(BLOCK)))
                .for_each(|((l, g), (x, t))| block(x, t, params, l, Some(g)));
        }
        None => loss
            .par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK).zip(t.par_chunks(BLOCK)))
            .for_each(|(l, (x, t))| block(x, t, params, l, None)),
    }
}
