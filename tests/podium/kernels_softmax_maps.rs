//! podium's fused row maps `log_softmax` / `softmax` (`kernel::log_softmax`, `kernel::softmax`)
//! against Burn's own `activation::log_softmax` / `softmax` on random inputs: values and
//! gradients under a random upstream gradient, with and without autodiff, on flex (the fused
//! kernels), on a non-contiguous input, and in f64 (the composed fallback); the slice kernels
//! directly against an f64 evaluation.
//!
//! Tolerances: values within `2e-5` absolute (log-probabilities up to about 30 in size, f32),
//! gradients within `2e-6` absolute plus `1e-6` relative (log-softmax's `g - p sum(g)` reaches
//! the row's upstream sum, about 15 here, where f32's ulp is 1e-6).

use burn::tensor::activation;
use burn::tensor::{DType, Device, Distribution, Tensor};
use burn_podium::kernel::{self, softmax};

const B: usize = 29;
const C: usize = 317;
const VALUE_TOL: f32 = 2e-5;
const GRAD_TOL: f32 = 2e-6;

/// The largest `|a - b| - 1e-6 |b|` (the relative share of the gradient tolerance removed).
fn max_grad_excess(a: Tensor<2>, b: Tensor<2>) -> f32 {
    let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
    let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() - 1e-6 * y.abs())
        .fold(0.0, f32::max)
}

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
    let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Value and gradient of `sum(upstream * f(x))` at `x`.
fn value_and_grad(
    x: &Tensor<2>,
    upstream: &Tensor<2>,
    f: impl Fn(Tensor<2>) -> Tensor<2>,
) -> (Tensor<2>, Tensor<2>) {
    let x = x.clone().detach().require_grad();
    let y = f(x.clone());
    let grads = (y.clone() * upstream.clone()).sum().backward();
    (
        y.detach(),
        x.grad(&grads).expect("gradient").cast(DType::F32),
    )
}

fn inputs(device: &Device, seed: u64) -> (Tensor<2>, Tensor<2>) {
    device.seed(seed);
    let x = Tensor::<2>::random([B, C], Distribution::Normal(0.0, 5.0), device);
    let g = Tensor::<2>::random([B, C], Distribution::Uniform(-1.0, 1.0), device);
    (x, g)
}

fn assert_close(what: &str, (v, g): (Tensor<2>, Tensor<2>), (vr, gr): (Tensor<2>, Tensor<2>)) {
    let dv = max_abs_diff(v, vr);
    let dg = max_grad_excess(g, gr);
    assert!(dv <= VALUE_TOL, "{what}: values differ by {dv:e}");
    assert!(
        dg <= GRAD_TOL,
        "{what}: gradients differ by {dg:e} beyond the relative share"
    );
}

#[test]
fn fused_log_softmax_matches_burn_values_and_gradients() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    for seed in [1, 2] {
        let (x, g) = inputs(&device, seed);
        assert_close(
            "log_softmax",
            value_and_grad(&x, &g, kernel::log_softmax),
            value_and_grad(&x, &g, |x| activation::log_softmax(x, 1)),
        );
    }
}

#[test]
fn fused_softmax_matches_burn_values_and_gradients() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    for seed in [3, 4] {
        let (x, g) = inputs(&device, seed);
        assert_close(
            "softmax",
            value_and_grad(&x, &g, kernel::softmax),
            value_and_grad(&x, &g, |x| activation::softmax(x, 1)),
        );
    }
}

#[test]
fn fused_maps_take_strided_inputs_and_plain_tensors() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    // a transposed (non-contiguous) input, without autodiff
    let device = Device::default();
    device.seed(5);
    let xt = Tensor::<2>::random([C, B], Distribution::Normal(0.0, 3.0), &device).transpose();
    let v = kernel::log_softmax(xt.clone());
    assert!(max_abs_diff(v, activation::log_softmax(xt.clone(), 1)) <= VALUE_TOL);
    let v = kernel::softmax(xt.clone());
    assert!(max_abs_diff(v, activation::softmax(xt, 1)) <= VALUE_TOL);
}

#[test]
fn fused_maps_in_another_dtype_take_burns_ops() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let (x, g) = inputs(&device, 6);
    let x64 = x.clone().cast(DType::F64);
    let g64 = g.clone().cast(DType::F64);
    let (v, gr) = value_and_grad(&x64, &g64, kernel::log_softmax);
    assert_eq!(v.dtype(), DType::F64);
    let reference = value_and_grad(&x, &g, |x| activation::log_softmax(x, 1));
    assert_close("log_softmax f64", (v.cast(DType::F32), gr), reference);
    let (v, gr) = value_and_grad(&x64, &g64, kernel::softmax);
    assert_eq!(v.dtype(), DType::F64);
    let reference = value_and_grad(&x, &g, |x| activation::softmax(x, 1));
    assert_close("softmax f64", (v.cast(DType::F32), gr), reference);
}

#[test]
fn row_kernels_match_an_f64_evaluation() {
    let c = 7;
    let x: Vec<f32> = (0..3 * c)
        .map(|i| ((i * 13) % 17) as f32 * 1.7 - 12.0)
        .collect();
    let g: Vec<f32> = (0..3 * c)
        .map(|i| ((i * 5) % 11) as f32 * 0.2 - 1.0)
        .collect();
    let mut logp = vec![0.0; x.len()];
    let mut probs = vec![0.0; x.len()];
    softmax::log_softmax(&x, c, &mut logp, Some(&mut probs));
    let mut p_only = vec![0.0; x.len()];
    softmax::softmax(&x, c, &mut p_only);
    assert_eq!(
        p_only, probs,
        "softmax and log_softmax's probabilities agree"
    );
    let mut d_log = probs.clone();
    softmax::log_softmax_backward(&g, c, &mut d_log);
    let mut d_p = probs.clone();
    softmax::softmax_backward(&g, c, &mut d_p);
    for r in 0..3 {
        let xr: Vec<f64> = x[r * c..(r + 1) * c].iter().map(|&v| v as f64).collect();
        let gr: Vec<f64> = g[r * c..(r + 1) * c].iter().map(|&v| v as f64).collect();
        let lse = xr.iter().map(|v| v.exp()).sum::<f64>().ln();
        let p: Vec<f64> = xr.iter().map(|v| (v - lse).exp()).collect();
        let sg: f64 = gr.iter().sum();
        let gp: f64 = gr.iter().zip(&p).map(|(a, b)| a * b).sum();
        for k in 0..c {
            let i = r * c + k;
            assert!((logp[i] as f64 - (xr[k] - lse)).abs() < 1e-5, "logp[{i}]");
            assert!((probs[i] as f64 - p[k]).abs() < 1e-6, "p[{i}]");
            assert!(
                (d_log[i] as f64 - (gr[k] - p[k] * sg)).abs() < 1e-6,
                "dlogp[{i}]"
            );
            assert!(
                (d_p[i] as f64 - p[k] * (gr[k] - gp)).abs() < 1e-6,
                "dp[{i}]"
            );
        }
    }
}

#[test]
#[should_panic(expected = "log_softmax: output buffer length")]
fn a_short_output_buffer_panics() {
    let x = [0.0f32; 6];
    let mut out = [0.0f32; 5];
    softmax::log_softmax(&x, 3, &mut out, None);
}
