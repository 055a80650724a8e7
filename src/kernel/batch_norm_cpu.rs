//! Slice kernels of the fused batch norm ([`super::batch_norm`]) on contiguous `f32` NCHW data
//! seen as `B * C` blocks of `S = H * W` values (any rank `[B, C, ...]`), rayon over groups of
//! blocks. Two passes each way:
//!
//! | pass | reads | writes | per channel |
//! |---|---|---|---|
//! | [`moments`] (training forward) | `x` | — | `mean`, biased `var` from `f64` sums of `x` and `x^2` |
//! | [`normalize`] (forward) | `x` | `y = act((x - mean) * gamma / sqrt(var + eps) + beta)` | — |
//! | [`backward_sums`] (backward) | `x`, `dy` | `g = dy * act'(z)` | `sum g`, `sum g (x - mean)` in `f64` |
//! | [`backward_dx`] (backward) | `x`, `g` | `dx = k g + kx (x - mean) + k0` in place | — |
//!
//! with `z` the normalized value before the activation, recomputed from `x` (nothing but `x` is
//! kept for the backward, as burn-autodiff's batch-norm op keeps it). The per-block loops are
//! compiled per CPU with the `multiversion` crate (AVX-512, AVX2, SSE4.1, plain x86-64; chosen
//! once at run time); each is the same operations in the same order on every target (no fused
//! multiply-add, the sums in fixed lanes), so every target gives the same bits.

use rayon::prelude::*;

use super::batch_norm::Activation as Act;
use super::math;

/// Elements per rayon task: enough work to pay for the split.
const TASK_ELEMS: usize = 32 * 1024;

/// Blocks per rayon task for blocks of `s` values.
fn blocks_per_task(s: usize) -> usize {
    (TASK_ELEMS / s.max(1)).max(1)
}

/// `f64` lanes of the per-block sums: four AVX-512 vectors per sum, so that four independent
/// addition chains hide the adder's latency.
const LANES: usize = 32;

/// `(sum x, sum x^2)` of one block in [`LANES`] `f64` lanes (then 8 lanes, then one, for the
/// tail; compiled per CPU, module docs).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn block_sums(x: &[f32]) -> (f64, f64) {
    lane_sums(x, x, |v, _| (v as f64, v as f64 * v as f64))
}

/// `(Σ a_i, Σ b_i)` over `(a_i, b_i) = f(x_i, y_i)`: [`LANES`] lanes, then 8 lanes, then one,
/// the lanes reduced in a fixed order (the same bits on every target). Inlined into its
/// callers' per-CPU versions.
#[inline(always)]
fn lane_sums(x: &[f32], y: &[f32], f: impl Fn(f32, f32) -> (f64, f64)) -> (f64, f64) {
    let mut s = [0.0f64; LANES];
    let mut q = [0.0f64; LANES];
    let wide = x.len() / LANES * LANES;
    for (xa, ya) in x[..wide]
        .chunks_exact(LANES)
        .zip(y[..wide].chunks_exact(LANES))
    {
        for l in 0..LANES {
            let (a, b) = f(xa[l], ya[l]);
            s[l] += a;
            q[l] += b;
        }
    }
    let narrow = wide + (x.len() - wide) / 8 * 8;
    for (xa, ya) in x[wide..narrow]
        .chunks_exact(8)
        .zip(y[wide..narrow].chunks_exact(8))
    {
        for l in 0..8 {
            let (a, b) = f(xa[l], ya[l]);
            s[l] += a;
            q[l] += b;
        }
    }
    let (mut s, mut q) = (s.iter().sum::<f64>(), q.iter().sum::<f64>());
    for (&xv, &yv) in x[narrow..].iter().zip(&y[narrow..]) {
        let (a, b) = f(xv, yv);
        s += a;
        q += b;
    }
    (s, q)
}

/// Per-channel mean and biased variance (`sum (x - mean)^2 / (B S)`, what Burn's
/// `batch_norm_train` returns) of `x` `[B, C, S]`, from `f64` sums.
///
/// # Panics
/// If `x.len()` is not a multiple of `c * s` or is zero.
pub fn moments(x: &[f32], c: usize, s: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(
        c * s > 0 && !x.is_empty() && x.len().is_multiple_of(c * s),
        "batch_norm moments: {} values for [B, {c}, {s}]",
        x.len()
    );
    let partial: Vec<(f64, f64)> = x
        .par_chunks(s)
        .with_min_len(blocks_per_task(s))
        .map(block_sums)
        .collect();
    let n = (x.len() / c) as f64;
    let mut sums = vec![(0.0f64, 0.0f64); c];
    for (i, (ps, pq)) in partial.into_iter().enumerate() {
        let t = &mut sums[i % c];
        t.0 += ps;
        t.1 += pq;
    }
    sums.into_iter()
        .map(|(ps, pq)| {
            let mean = ps / n;
            (mean, (pq / n - mean * mean).max(0.0))
        })
        .unzip()
}

/// Per-channel constants of the normalization: `z = (x - mean) * scale + beta`.
#[derive(Clone, Debug)]
pub struct Affine {
    /// `mean_c`.
    pub mean: Vec<f32>,
    /// `gamma_c / sqrt(var_c + eps)`.
    pub scale: Vec<f32>,
    /// `beta_c`.
    pub beta: Vec<f32>,
    /// `1 / sqrt(var_c + eps)`.
    pub inv_std: Vec<f32>,
}

impl Affine {
    /// The constants of `mean`, `var` (biased or running), `gamma`, `beta` and `eps`.
    ///
    /// # Panics
    /// If the four slices differ in length.
    pub fn new(mean: &[f64], var: &[f64], gamma: &[f32], beta: &[f32], eps: f64) -> Self {
        let c = mean.len();
        assert!(
            var.len() == c && gamma.len() == c && beta.len() == c,
            "batch_norm: {c} means, {} variances, {} gammas, {} betas",
            var.len(),
            gamma.len(),
            beta.len()
        );
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale: inv_std
                .iter()
                .zip(gamma)
                .map(|(i, &g)| (i * g as f64) as f32)
                .collect(),
            beta: beta.to_vec(),
            inv_std: inv_std.iter().map(|&i| i as f32).collect(),
        }
    }

    fn channels(&self) -> usize {
        self.mean.len()
    }
}

/// `y = act((x - mean) * scale + beta)` over `x` `[B, C, S]` into `y`.
///
/// # Panics
/// If `x` and `y` differ in length or are not a multiple of `C * S` long.
pub fn normalize(x: &[f32], s: usize, a: &Affine, act: Act, y: &mut [f32]) {
    let c = a.channels();
    assert!(
        x.len() == y.len() && x.len().is_multiple_of(c * s),
        "batch_norm normalize: {} inputs, {} outputs for [B, {c}, {s}]",
        x.len(),
        y.len()
    );
    let bpt = blocks_per_task(s);
    y.par_chunks_mut(bpt * s)
        .zip(x.par_chunks(bpt * s))
        .enumerate()
        .for_each(|(task, (yt, xt))| {
            for (j, (yb, xb)) in yt.chunks_mut(s).zip(xt.chunks(s)).enumerate() {
                let ch = (task * bpt + j) % c;
                let mkb = [a.mean[ch], a.scale[ch], a.beta[ch]];
                normalize_block(xb, mkb, act, yb);
            }
        });
}

/// One block of [`normalize`]: `y = act((x - m) k + b)` (compiled per CPU, module docs).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn normalize_block(xb: &[f32], [m, k, b]: [f32; 3], act: Act, yb: &mut [f32]) {
    match act {
        Act::Identity => {
            for (o, &v) in yb.iter_mut().zip(xb) {
                *o = (v - m) * k + b;
            }
        }
        Act::Relu => {
            for (o, &v) in yb.iter_mut().zip(xb) {
                *o = ((v - m) * k + b).max(0.0);
            }
        }
        Act::Silu => {
            for (o, &v) in yb.iter_mut().zip(xb) {
                let z = (v - m) * k + b;
                *o = z / (1.0 + math::exp_scalar(-z));
            }
        }
    }
}

/// First backward pass: writes `g = dy * act'(z)` into `g` and returns per channel
/// `(sum g, sum g (x - mean))` (in `f64`).
///
/// # Panics
/// If `x`, `dy` and `g` differ in length or are not a multiple of `C * S` long.
pub fn backward_sums(
    x: &[f32],
    dy: &[f32],
    s: usize,
    a: &Affine,
    act: Act,
    g: &mut [f32],
) -> Vec<(f64, f64)> {
    let c = a.channels();
    assert!(
        x.len() == dy.len() && x.len() == g.len() && x.len().is_multiple_of(c * s),
        "batch_norm backward: {} inputs, {} output gradients for [B, {c}, {s}]",
        x.len(),
        dy.len()
    );
    let bpt = blocks_per_task(s);
    let partial: Vec<Vec<(f64, f64)>> = g
        .par_chunks_mut(bpt * s)
        .zip(x.par_chunks(bpt * s).zip(dy.par_chunks(bpt * s)))
        .enumerate()
        .map(|(task, (gt, (xt, dyt)))| {
            let mut out = Vec::with_capacity(bpt);
            for (j, (gb, (xb, dyb))) in gt
                .chunks_mut(s)
                .zip(xt.chunks(s).zip(dyt.chunks(s)))
                .enumerate()
            {
                let ch = (task * bpt + j) % c;
                let mkb = [a.mean[ch], a.scale[ch], a.beta[ch]];
                out.push(gradient_sums(xb, dyb, mkb, act, gb));
            }
            out
        })
        .collect();
    let mut sums = vec![(0.0f64, 0.0f64); c];
    for (i, p) in partial.into_iter().flatten().enumerate() {
        let t = &mut sums[i % c];
        t.0 += p.0;
        t.1 += p.1;
    }
    sums
}

/// One block of [`backward_sums`]: `g = dy act'(z)` ([`activation_gradient`]) and its
/// [`centered_sums`], the block still in L1/L2 for the second loop (compiled per CPU, module
/// docs).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn gradient_sums(xb: &[f32], dyb: &[f32], mkb: [f32; 3], act: Act, gb: &mut [f32]) -> (f64, f64) {
    activation_gradient(xb, dyb, mkb, act, gb);
    centered_sums(gb, xb, mkb[0])
}

/// `g = dy act'(z)`, `z = (x - m) k + b` over one block. Inlined into [`gradient_sums`]' per-CPU
/// versions.
#[inline(always)]
fn activation_gradient(xb: &[f32], dyb: &[f32], [m, k, b]: [f32; 3], act: Act, gb: &mut [f32]) {
    match act {
        Act::Identity => gb.copy_from_slice(dyb),
        Act::Relu => {
            for ((o, &v), &d) in gb.iter_mut().zip(xb).zip(dyb) {
                *o = if (v - m) * k + b > 0.0 { d } else { 0.0 };
            }
        }
        Act::Silu => {
            for ((o, &v), &d) in gb.iter_mut().zip(xb).zip(dyb) {
                let z = (v - m) * k + b;
                let sig = 1.0 / (1.0 + math::exp_scalar(-z));
                *o = d * sig * (1.0 + z * (1.0 - sig));
            }
        }
    }
}

/// `(sum g, sum g (x - m))` of one block in [`LANES`] `f64` lanes (then 8, then one). Inlined
/// into [`gradient_sums`]' per-CPU versions.
#[inline(always)]
fn centered_sums(g: &[f32], x: &[f32], m: f32) -> (f64, f64) {
    lane_sums(g, x, |gv, xv| (gv as f64, gv as f64 * (xv - m) as f64))
}

/// Per-channel coefficients of `dx = k g + kx (x - mean) + k0` from the sums of
/// [`backward_sums`] over `n = B S` values. Training (batch statistics):
/// `dx = gamma inv_std (g - mean(g) - xhat mean(g xhat))`, so `k = gamma inv_std`,
/// `kx = -k inv_std^2 sum(g (x - mean)) / n`, `k0 = -k sum(g) / n`; evaluation (running
/// statistics, constants): `dx = k g`.
pub fn dx_coefficients(a: &Affine, sums: &[(f64, f64)], n: usize, train: bool) -> Vec<[f32; 3]> {
    let n = n as f64;
    sums.iter()
        .enumerate()
        .map(|(ch, &(sg, sgx))| {
            let k = a.scale[ch] as f64;
            let inv = a.inv_std[ch] as f64;
            if train {
                [
                    k as f32,
                    (-k * inv * inv * sgx / n) as f32,
                    (-k * sg / n) as f32,
                ]
            } else {
                [k as f32, 0.0, 0.0]
            }
        })
        .collect()
}

/// Second backward pass: `g <- k g + kx (x - mean) + k0` in place (see [`dx_coefficients`]).
///
/// # Panics
/// If `x` and `g` differ in length or are not a multiple of `C * S` long.
pub fn backward_dx(x: &[f32], s: usize, a: &Affine, coef: &[[f32; 3]], g: &mut [f32]) {
    let c = a.channels();
    assert!(
        x.len() == g.len() && x.len().is_multiple_of(c * s) && coef.len() == c,
        "batch_norm backward: {} inputs, {} gradients for [B, {c}, {s}]",
        x.len(),
        g.len()
    );
    let bpt = blocks_per_task(s);
    g.par_chunks_mut(bpt * s)
        .zip(x.par_chunks(bpt * s))
        .enumerate()
        .for_each(|(task, (gt, xt))| {
            for (j, (gb, xb)) in gt.chunks_mut(s).zip(xt.chunks(s)).enumerate() {
                let ch = (task * bpt + j) % c;
                dx_block(xb, coef[ch], a.mean[ch], gb);
            }
        });
}

/// One block of [`backward_dx`]: `g <- k g + kx (x - m) + k0` (compiled per CPU, module docs).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "x86_64+sse4.1",
))]
fn dx_block(xb: &[f32], [k, kx, k0]: [f32; 3], m: f32, gb: &mut [f32]) {
    for (o, &v) in gb.iter_mut().zip(xb) {
        *o = k * *o + kx * (v - m) + k0;
    }
}
