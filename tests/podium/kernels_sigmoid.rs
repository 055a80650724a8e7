//! podium's fused logistic kernels (`kernel::bce_with_logits`, its per-row sums
//! `kernel::bce_with_logits_rows`, `kernel::log_sigmoid`, `kernel::sigmoid`) against Burn's
//! composed ops and `activation::{log_sigmoid, sigmoid}` on random inputs (logits up to about +-40, saturating both tails): values and gradients under a
//! random upstream gradient, on flex (the fused kernels), without autodiff, and in f64 (the
//! composed fallback); the slice kernels directly against an f64 evaluation.
//!
//! Tolerances: values within `1e-5` absolute plus `1e-6` relative (BCE values reach 40),
//! gradients within `1e-6` absolute (entries at most 1 in size); row sums within `1e-3` absolute
//! plus `1e-6` relative (sums of 263 values up to 40, f32 rounding of the composed sum).

use burn::tensor::activation;
use burn::tensor::{DType, Device, Distribution, Tensor};
use burn_podium::kernel::{self, sigmoid};

const B: usize = 41;
const C: usize = 263;
const GRAD_TOL: f32 = 1e-6;

fn assert_values_close(what: &str, a: Tensor<2>, b: Tensor<2>) {
    let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
    let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-6 * y.abs(),
            "{what}: value {i} is {x}, reference {y}"
        );
    }
}

fn assert_grads_close(what: &str, a: Tensor<2>, b: Tensor<2>) {
    let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
    let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
    let d = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(d <= GRAD_TOL, "{what}: gradients differ by {d:e}");
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

struct Inputs {
    x: Tensor<2>,
    t: Tensor<2>,
    g: Tensor<2>,
}

fn inputs(device: &Device, seed: u64) -> Inputs {
    device.seed(seed);
    Inputs {
        x: Tensor::<2>::random([B, C], Distribution::Normal(0.0, 12.0), device),
        // soft targets in [0, 1], not only 0 and 1
        t: Tensor::<2>::random([B, C], Distribution::Uniform(0.0, 1.0), device),
        g: Tensor::<2>::random([B, C], Distribution::Uniform(-1.0, 1.0), device),
    }
}

/// torch's formula composed of Burn's ops: `max(x, 0) - x t + log(1 + exp(-|x|))`.
fn reference_bce(x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
    x.clone().clamp_min(0.0) - x.clone() * t + x.abs().neg().exp().add_scalar(1.0).log()
}

fn check(what: &str, fused: (Tensor<2>, Tensor<2>), reference: (Tensor<2>, Tensor<2>)) {
    assert_values_close(what, fused.0, reference.0);
    assert_grads_close(what, fused.1, reference.1);
}

#[test]
fn fused_bce_with_logits_matches_the_composed_formula() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    for seed in [1, 2] {
        let i = inputs(&device, seed);
        check(
            "bce_with_logits",
            value_and_grad(&i.x, &i.g, |x| kernel::bce_with_logits(x, i.t.clone())),
            value_and_grad(&i.x, &i.g, |x| reference_bce(x, i.t.clone())),
        );
    }
}

#[test]
fn fused_bce_row_sums_match_the_composed_formula_summed() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let i = inputs(&device, 7);
    let up = Tensor::<1>::random([B], Distribution::Uniform(-1.0, 1.0), &device);
    let run = |f: &dyn Fn(Tensor<2>) -> Tensor<1>| {
        let x = i.x.clone().detach().require_grad();
        let y = f(x.clone());
        let grads = (y.clone() * up.clone()).sum().backward();
        (y.detach(), x.grad(&grads).expect("gradient"))
    };
    let (v, g) = run(&|x| kernel::bce_with_logits_rows(x, i.t.clone()));
    let (vr, gr) = run(&|x| reference_bce(x, i.t.clone()).sum_dim(1).reshape([B]));
    // row sums of C values of up to 40: 1e-6 relative of the sum
    let v = v.into_data().try_into_vec_as::<f32>().expect("f32");
    let vr = vr.into_data().try_into_vec_as::<f32>().expect("f32");
    for (a, b) in v.iter().zip(&vr) {
        assert!((a - b).abs() <= 1e-3 + 1e-6 * b.abs(), "row sum {a} vs {b}");
    }
    assert_grads_close("bce row sums", g, gr);
    // without autodiff, the same values
    let plain = kernel::bce_with_logits_rows(i.x.clone().inner(), i.t.clone().inner())
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32");
    assert_eq!(plain, v);
}

#[test]
fn fused_log_sigmoid_and_sigmoid_match_burn() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let i = inputs(&device, 3);
    check(
        "log_sigmoid",
        value_and_grad(&i.x, &i.g, kernel::log_sigmoid),
        value_and_grad(&i.x, &i.g, activation::log_sigmoid),
    );
    check(
        "sigmoid",
        value_and_grad(&i.x, &i.g, kernel::sigmoid),
        value_and_grad(&i.x, &i.g, activation::sigmoid),
    );
}

#[test]
fn fused_kernels_without_autodiff_and_on_strided_inputs() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default();
    device.seed(4);
    let x = Tensor::<2>::random([C, B], Distribution::Normal(0.0, 6.0), &device).transpose();
    let t = Tensor::<2>::random([B, C], Distribution::Uniform(0.0, 1.0), &device);
    assert_values_close(
        "bce plain",
        kernel::bce_with_logits(x.clone(), t.clone()),
        reference_bce(x.clone(), t),
    );
    assert_values_close(
        "log_sigmoid plain",
        kernel::log_sigmoid(x.clone()),
        activation::log_sigmoid(x.clone()),
    );
    assert_values_close(
        "sigmoid plain",
        kernel::sigmoid(x.clone()),
        activation::sigmoid(x),
    );
}

#[test]
fn other_dtypes_take_the_composed_path() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let i = inputs(&device, 5);
    let (x64, t64, g64) = (
        i.x.clone().cast(DType::F64),
        i.t.clone().cast(DType::F64),
        i.g.clone().cast(DType::F64),
    );
    let (v, g) = value_and_grad(&x64, &g64, |x| kernel::bce_with_logits(x, t64.clone()));
    assert_eq!(v.dtype(), DType::F64);
    check(
        "bce f64",
        (v.cast(DType::F32), g),
        value_and_grad(&i.x, &i.g, |x| reference_bce(x, i.t.clone())),
    );
    let (v, g) = value_and_grad(&x64, &g64, kernel::sigmoid);
    check(
        "sigmoid f64",
        (v.cast(DType::F32), g),
        value_and_grad(&i.x, &i.g, activation::sigmoid),
    );
}

#[test]
fn tracked_targets_get_their_gradient() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    // targets carrying a gradient take the composed path: d loss / d t = -x
    let device = Device::default().autodiff();
    let i = inputs(&device, 6);
    let t = i.t.clone().require_grad();
    let grads = kernel::bce_with_logits(i.x.clone(), t.clone())
        .sum()
        .backward();
    assert_grads_close(
        "target gradient",
        t.grad(&grads).expect("target gradient"),
        i.x.clone().neg().inner(),
    );
}

#[test]
fn slice_kernels_match_an_f64_evaluation_in_both_tails() {
    let x: Vec<f32> = (0..2001).map(|i| -100.0 + i as f32 * 0.1).collect();
    let t: Vec<f32> = (0..x.len()).map(|i| (i % 5) as f32 * 0.25).collect();
    let n = x.len();
    let (mut loss, mut grad) = (vec![0.0; n], vec![0.0; n]);
    sigmoid::bce_with_logits(&x, &t, &mut loss, Some(&mut grad));
    let (mut ls, mut dls) = (vec![0.0; n], vec![0.0; n]);
    sigmoid::log_sigmoid(&x, &mut ls, Some(&mut dls));
    let (mut p, mut dp) = (vec![0.0; n], vec![0.0; n]);
    sigmoid::sigmoid(&x, &mut p, Some(&mut dp));
    for i in 0..n {
        let (xv, tv) = (x[i] as f64, t[i] as f64);
        let s = 1.0 / (1.0 + (-xv).exp());
        let sp = (-xv.abs()).exp().ln_1p();
        let bce = xv.max(0.0) - xv * tv + sp;
        let lsig = -((-xv).max(0.0) + sp);
        let close = |a: f32, b: f64, what: &str| {
            assert!(
                (a as f64 - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{what} at x = {xv}: {a} vs {b}"
            );
        };
        close(loss[i], bce, "bce");
        close(grad[i], s - tv, "bce gradient");
        close(ls[i], lsig, "log_sigmoid");
        close(dls[i], 1.0 - s, "log_sigmoid derivative");
        close(p[i], s, "sigmoid");
        close(dp[i], s * (1.0 - s), "sigmoid derivative");
    }
    // log1p keeps its relative accuracy where exp(-|x|) is tiny
    let mut v = [0.0f32];
    sigmoid::log_sigmoid(&[30.0], &mut v, None);
    let want = -(-30.0f64).exp().ln_1p();
    assert!(
        ((v[0] as f64 - want) / want).abs() < 1e-5,
        "{} vs {want}",
        v[0]
    );
    // the backward helper
    let mut a = vec![2.0f32; 5];
    sigmoid::mul_in_place(&mut a, &[1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(a, vec![2.0, 4.0, 6.0, 8.0, 10.0]);
}

#[test]
#[should_panic(expected = "bce_with_logits: targets of 3 values for 4 inputs")]
fn mismatched_slices_panic_naming_the_lengths() {
    let mut loss = [0.0f32; 4];
    sigmoid::bce_with_logits(&[0.0; 4], &[0.0; 3], &mut loss, None);
}
