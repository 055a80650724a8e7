//! podium's vectorized `exp`/`ln` against libm (f64, rounded to f32) over dense sweeps and the
//! edge cases, and the fused softmax losses against Burn's own ops on random inputs: values and
//! gradients, on flex (the fused kernels) and on a non-f32 dtype (the composed fallback).
//!
//! Tolerances: `exp` and `ln` within their stated `EXP_MAX_ULP` / `LN_MAX_ULP`; losses within
//! `1e-4` absolute (values of about `log C` summed in f32), gradients within `2e-6` absolute
//! (entries at most 1 in size).

use burn::tensor::activation::log_softmax;
use burn::tensor::{DType, Device, Distribution, Int, Tensor};
use burn_podium::kernel::{self, math, softmax};
use burn_podium::loss::{CrossEntropyLossConfig, SoftTargetCrossEntropy};

/// Distance in representable f32 values (0 when both are NaN or equal, including +-0).
fn ulp_distance(a: f32, b: f32) -> u32 {
    if a.is_nan() && b.is_nan() || a == b {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u32::MAX;
    }
    let ordered = |v: f32| {
        let bits = v.to_bits() as i32;
        if bits < 0 { i32::MIN - bits } else { bits }
    };
    (ordered(a) as i64 - ordered(b) as i64).unsigned_abs() as u32
}

fn libm_exp(x: f32) -> f32 {
    (x as f64).exp() as f32
}

fn libm_ln(x: f32) -> f32 {
    (x as f64).ln() as f32
}

/// Every `stride`-th f32 bit pattern, both signs, plus the given extra values.
fn sweep(stride: u32, extra: &[f32]) -> Vec<f32> {
    let mut v: Vec<f32> = (0..=u32::MAX / stride)
        .map(|i| f32::from_bits(i * stride))
        .collect();
    v.extend_from_slice(extra);
    v
}

fn max_ulp(
    values: &[f32],
    ours: impl Fn(&mut [f32]),
    reference: impl Fn(f32) -> f32,
) -> (u32, f32) {
    let mut out = values.to_vec();
    ours(&mut out);
    values
        .iter()
        .zip(&out)
        .map(|(&x, &y)| (ulp_distance(y, reference(x)), x))
        .max_by_key(|&(d, _)| d)
        .expect("values")
}

const EXP_EDGES: [f32; 14] = [
    0.0,
    -0.0,
    1.0,
    f32::MIN_POSITIVE,
    1.0e-45,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    88.722_83,   // largest finite result
    88.722_84,   // overflows to +inf
    -87.336_55,  // smallest normal result
    -103.972_08, // smallest denormal result
    -103.972_09, // rounds to 0
    -104.5,
];

#[test]
fn exp_is_within_its_stated_ulp_of_libm_everywhere() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // about 33 million inputs over all of f32 (every 127th bit pattern) and a dense walk over the
    // interesting range [-104, 89]
    let mut values = sweep(127, &EXP_EDGES);
    values.extend((0..2_000_000).map(|i| -104.0 + 193.0 * i as f32 / 2_000_000.0));
    let (worst, at) = max_ulp(&values, math::exp_in_place, libm_exp);
    eprintln!(
        "exp: worst {worst} ulp at {at:e} over {} inputs",
        values.len()
    );
    assert!(
        worst <= math::EXP_MAX_ULP,
        "exp: {worst} ulp at {at:e} (stated {})",
        math::EXP_MAX_ULP
    );
}

#[test]
fn exp_edge_cases_follow_libm_exactly() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let mut v = EXP_EDGES.to_vec();
    math::exp_in_place(&mut v);
    assert_eq!(v[0], 1.0);
    assert_eq!(v[1], 1.0);
    assert_eq!(v[5], f32::INFINITY);
    assert_eq!(v[6], 0.0);
    assert!(v[7].is_nan());
    assert!(
        v[8].is_finite() && v[8] > 3.4e38,
        "exp(88.72283) = {}",
        v[8]
    );
    assert_eq!(v[9], f32::INFINITY);
    assert!(
        v[10] >= f32::MIN_POSITIVE * 0.99,
        "exp(-87.33655) = {:e}",
        v[10]
    );
    assert!(v[11] > 0.0, "exp(-103.97208) = {:e}", v[11]);
    assert_eq!(v[12], 0.0);
    assert_eq!(v[13], 0.0);
    // the scalar form gives the same bits as the vectorized one
    for (&x, &y) in EXP_EDGES.iter().zip(&v) {
        assert_eq!(math::exp_scalar(x).to_bits(), y.to_bits(), "exp({x})");
    }
}

#[test]
fn ln_is_within_its_stated_ulp_of_libm_everywhere() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // every 61st positive bit pattern (denormals included) plus every denormal power of two
    let mut values: Vec<f32> = (0..=0x7f80_0000u32 / 61)
        .map(|i| f32::from_bits(i * 61))
        .collect();
    values.extend((0..23).map(|k| f32::from_bits(1 << k)));
    values.extend((1..2_000_000).map(|i| 0.5 + i as f32 / 1_000_000.0));
    let (worst, at) = max_ulp(&values, math::ln_in_place, libm_ln);
    eprintln!(
        "ln: worst {worst} ulp at {at:e} over {} inputs",
        values.len()
    );
    assert!(
        worst <= math::LN_MAX_ULP,
        "ln: {worst} ulp at {at:e} (stated {})",
        math::LN_MAX_ULP
    );
}

#[test]
fn ln_edge_cases_follow_libm() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0e-45,
        f32::MIN_POSITIVE,
        f32::MAX,
    ];
    math::ln_in_place(&mut v);
    assert_eq!(v[0], f32::NEG_INFINITY);
    assert_eq!(v[1], f32::NEG_INFINITY);
    assert_eq!(v[2], 0.0);
    assert!(v[3].is_nan() && v[5].is_nan() && v[6].is_nan());
    assert_eq!(v[4], f32::INFINITY);
    assert_eq!(v[7], libm_ln(1.0e-45));
    assert_eq!(v[8], libm_ln(f32::MIN_POSITIVE));
    assert!(ulp_distance(v[9], libm_ln(f32::MAX)) <= math::LN_MAX_ULP);
}

#[test]
fn slice_helpers_match_scalar_sums() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let x: Vec<f32> = (0..1003)
        .map(|i| ((i * 37) % 101) as f32 * 0.1 - 5.0)
        .collect();
    let m = math::max(&x);
    assert_eq!(m, x.iter().copied().fold(f32::NEG_INFINITY, f32::max));
    let mut e = vec![0.0; x.len()];
    let s = math::exp_shifted_sum(&x, m, &mut e);
    let s_ref: f64 = x.iter().map(|&v| ((v - m) as f64).exp()).sum();
    assert!(((s as f64) - s_ref).abs() < 1e-5 * s_ref, "{s} vs {s_ref}");
    let d = math::dot(&x, &e);
    let d_ref: f64 = x.iter().zip(&e).map(|(&a, &b)| a as f64 * b as f64).sum();
    assert!(
        ((d as f64) - d_ref).abs() < 1e-4 * d_ref.abs().max(1.0),
        "{d} vs {d_ref}"
    );
    let t = math::sum(&x);
    let t_ref: f64 = x.iter().map(|&v| v as f64).sum();
    assert!(((t as f64) - t_ref).abs() < 1e-3, "{t} vs {t_ref}");
}

fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
    let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const B: usize = 37;
const C: usize = 203;
const VALUE_TOL: f32 = 1e-4;
const GRAD_TOL: f32 = 2e-6;

struct Inputs {
    x: Tensor<2>,
    y: Tensor<1, Int>,
    soft: Tensor<2>,
    upstream: Tensor<1>,
}

fn inputs(device: &Device, seed: u64) -> Inputs {
    device.seed(seed);
    let x = Tensor::<2>::random([B, C], Distribution::Normal(0.0, 4.0), device);
    let y = Tensor::<1, Int>::random([B], Distribution::Uniform(0.0, C as f64), device);
    let soft = burn::tensor::activation::softmax(
        Tensor::<2>::random([B, C], Distribution::Normal(0.0, 2.0), device),
        1,
    ) * 1.5;
    let upstream = Tensor::<1>::random([B], Distribution::Uniform(-1.0, 1.0), device);
    Inputs {
        x,
        y,
        soft,
        upstream,
    }
}

fn reference_hard(x: Tensor<2>, y: Tensor<1, Int>, eps: f64) -> Tensor<1> {
    let logp = log_softmax(x, 1);
    let nll = logp.clone().gather(1, y.reshape([B, 1])).reshape([B]).neg();
    let smooth = logp.mean_dim(1).reshape([B]).neg();
    nll * (1.0 - eps) + smooth * eps
}

fn reference_soft(x: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
    (log_softmax(x, 1) * t).sum_dim(1).reshape([B]).neg()
}

fn reference_lse(x: Tensor<2>) -> Tensor<2> {
    let m = x.clone().detach().max_dim(1);
    (x - m.clone()).exp().sum_dim(1).log() + m
}

/// Value and gradient (of `sum_i upstream_i l_i`) of `f` at `x`.
fn value_and_grad(
    x: &Tensor<2>,
    upstream: &Tensor<1>,
    f: impl Fn(Tensor<2>) -> Tensor<1>,
) -> (Tensor<1>, Tensor<2>) {
    let x = x.clone().detach().require_grad();
    let l = f(x.clone());
    let grads = (l.clone() * upstream.clone()).sum().backward();
    (l.detach(), x.grad(&grads).expect("gradient"))
}

fn assert_close(
    what: &str,
    (v, g): (Tensor<1>, Tensor<2>),
    (v_ref, g_ref): (Tensor<1>, Tensor<2>),
) {
    let dv = max_abs_diff(v, v_ref);
    let dg = max_abs_diff(g, g_ref);
    assert!(dv <= VALUE_TOL, "{what}: values differ by {dv:e}");
    assert!(dg <= GRAD_TOL, "{what}: gradients differ by {dg:e}");
}

#[test]
fn fused_cross_entropy_matches_burn_ops_with_and_without_smoothing() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::default().autodiff();
    for (seed, eps) in [(1, 0.0), (2, 0.1), (3, 0.35)] {
        let i = inputs(&device, seed);
        let fused = value_and_grad(&i.x, &i.upstream, |x| {
            kernel::cross_entropy_hard(x, i.y.clone(), eps as f32)
        });
        let reference = value_and_grad(&i.x, &i.upstream, |x| reference_hard(x, i.y.clone(), eps));
        assert_close(&format!("cross_entropy_hard eps {eps}"), fused, reference);
    }
}

#[test]
fn fused_soft_target_cross_entropy_matches_burn_ops() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::default().autodiff();
    let i = inputs(&device, 4);
    let fused = value_and_grad(&i.x, &i.upstream, |x| {
        kernel::cross_entropy_soft(x, i.soft.clone())
    });
    let reference = value_and_grad(&i.x, &i.upstream, |x| reference_soft(x, i.soft.clone()));
    assert_close("cross_entropy_soft", fused, reference);
}

#[test]
fn fused_log_sum_exp_matches_burn_ops() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::default().autodiff();
    let i = inputs(&device, 5);
    let f =
        |g: fn(Tensor<2>) -> Tensor<2>| value_and_grad(&i.x, &i.upstream, |x| g(x).reshape([B]));
    assert_close("log_sum_exp", f(kernel::log_sum_exp), f(reference_lse));
}

#[test]
fn fused_kernels_without_autodiff_give_the_same_values() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let ad = Device::default().autodiff();
    let i = inputs(&ad, 6);
    let plain = |t: Tensor<2>| t.inner();
    let x = plain(i.x.clone());
    let y = i.y.clone().inner();
    let v = kernel::cross_entropy_hard(x.clone(), y.clone(), 0.1);
    let v_ref = reference_hard(i.x.clone(), i.y.clone(), 0.1).inner();
    assert!(max_abs_diff(v, v_ref) <= VALUE_TOL);
    let v = kernel::cross_entropy_soft(x.clone(), plain(i.soft.clone()));
    let v_ref = reference_soft(i.x.clone(), i.soft.clone()).inner();
    assert!(max_abs_diff(v, v_ref) <= VALUE_TOL);
    let v = kernel::log_sum_exp(x.clone());
    assert!(max_abs_diff(v, reference_lse(x)) <= VALUE_TOL);
}

#[test]
fn other_dtypes_take_the_composed_path_with_the_same_result() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // f64 logits are not the fused kernel's dtype: the Tensor functions compose Burn's ops
    let device = Device::default().autodiff();
    let i = inputs(&device, 7);
    let x64 = i.x.clone().cast(DType::F64);
    let v = kernel::cross_entropy_hard(x64.clone(), i.y.clone(), 0.1);
    assert_eq!(v.dtype(), DType::F64);
    let v_ref = reference_hard(i.x.clone(), i.y.clone(), 0.1);
    assert!(max_abs_diff(v, v_ref) <= VALUE_TOL);
    let v = kernel::cross_entropy_soft(x64.clone(), i.soft.clone().cast(DType::F64));
    let v_ref = reference_soft(i.x.clone(), i.soft.clone());
    assert!(max_abs_diff(v, v_ref) <= VALUE_TOL);
}

#[test]
fn tracked_soft_targets_get_their_gradient() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // targets that carry a gradient take the composed path, so d loss / d t = -log p
    let device = Device::default().autodiff();
    let i = inputs(&device, 8);
    let t = i.soft.clone().detach().require_grad();
    let l = kernel::cross_entropy_soft(i.x.clone(), t.clone()).sum();
    let grads = l.backward();
    let expected = log_softmax(i.x.clone(), 1).neg().inner();
    let got = t.grad(&grads).expect("target gradient");
    assert!(max_abs_diff(got, expected) <= 1e-5);
}

#[test]
fn losses_reduce_the_fused_values_as_torch_does() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // the mean reduction of CrossEntropyLoss and SoftTargetCrossEntropy, through the kernels:
    // gradient = (softmax - target) / B
    let device = Device::default().autodiff();
    let i = inputs(&device, 9);
    let ce = CrossEntropyLossConfig::new()
        .with_label_smoothing(0.2)
        .init()
        .expect("ce");
    let x = i.x.clone().require_grad();
    let g = x
        .grad(&ce.forward(x.clone(), i.y.clone()).backward())
        .expect("grad");
    let x2 = i.x.clone().require_grad();
    let g_ref = x2
        .grad(
            &reference_hard(x2.clone(), i.y.clone(), 0.2)
                .mean()
                .backward(),
        )
        .expect("grad");
    assert!(max_abs_diff(g, g_ref) <= GRAD_TOL);
    let x = i.x.clone().require_grad();
    let g = x
        .grad(
            &SoftTargetCrossEntropy
                .forward(x.clone(), i.soft.clone())
                .backward(),
        )
        .expect("grad");
    let x2 = i.x.clone().require_grad();
    let g_ref = x2
        .grad(&reference_soft(x2.clone(), i.soft.clone()).mean().backward())
        .expect("grad");
    assert!(max_abs_diff(g, g_ref) <= GRAD_TOL);
}

#[test]
#[should_panic(expected = "is not a class index")]
fn a_target_outside_the_classes_panics_naming_it() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let x = vec![0.0f32; 2 * 3];
    let mut loss = vec![0.0f32; 2];
    softmax::cross_entropy_hard(&x, 3, &[0, 3], 0.0, &mut loss, None);
}

#[test]
fn row_kernels_handle_rows_of_minus_infinity_and_single_classes() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // a row with one finite logit: loss 0 at that class, gradient 0
    let x = [f32::NEG_INFINITY, 2.0, f32::NEG_INFINITY, 5.0];
    let mut loss = [0.0f32; 2];
    let mut grad = [0.0f32; 4];
    softmax::cross_entropy_hard(&x, 2, &[1, 1], 0.0, &mut loss, Some(&mut grad));
    assert_eq!(loss, [0.0, 0.0]);
    assert_eq!(grad, [0.0, 0.0, 0.0, 0.0]);
    let mut lse = [0.0f32; 1];
    softmax::log_sum_exp(&[f32::NEG_INFINITY; 4], 4, &mut lse, None);
    assert_eq!(lse[0], f32::NEG_INFINITY);
}
