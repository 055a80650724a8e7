//! podium's fused row-wise L2 normalization (`kernel::l2_normalize`) against Burn's composed
//! `x / clamp_min(sqrt(sum x^2), 1e-12)` (torch's `F.normalize(x, dim=1)`) on random inputs:
//! values and gradients under a random upstream gradient, with a row whose norm is below `eps`
//! (the clamp holds) included, without autodiff, and in f64 (the composed fallback). An all-zero
//! row (where Burn's `sqrt` backward gives NaN and torch's norm gives the subgradient 0) is
//! checked on the row kernel: `dx = g / eps`, as torch.
//!
//! Tolerances: values within `1e-6` absolute (entries at most 1), gradients within `1e-5`
//! relative to the row's `1 / max(||x||, eps)` scale plus `1e-6` absolute.

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use burn_podium::kernel::{self, normalize};

use crate::fixtures::value_and_grad;

const N: usize = 23;
const D: usize = 131;

fn reference(x: Tensor<2>) -> Tensor<2> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    x / norm
}

/// Random rows, row 0 scaled to a norm below `eps`.
fn inputs(device: &Device, seed: u64) -> (Tensor<2>, Tensor<2>) {
    device.seed(seed);
    let x = Tensor::<2>::random([N, D], Distribution::Normal(0.0, 2.0), device);
    let mut v = x.into_data().try_into_vec_as::<f32>().expect("f32");
    v[..D].iter_mut().for_each(|e| *e *= 1e-15);
    let x = Tensor::<2>::from_data(TensorData::new(v, [N, D]), device);
    let g = Tensor::<2>::random([N, D], Distribution::Uniform(-1.0, 1.0), device);
    (x, g)
}

fn assert_close(
    what: &str,
    x: &Tensor<2>,
    (v, dx): (Vec<f32>, Vec<f32>),
    (vr, dxr): (Vec<f32>, Vec<f32>),
) {
    let xs = x.clone().into_data().try_into_vec_as::<f32>().expect("f32");
    for i in 0..v.len() {
        assert!(
            (v[i] - vr[i]).abs() <= 1e-6,
            "{what}: value {i}: {} vs {}",
            v[i],
            vr[i]
        );
        let row = &xs[(i / D) * D..(i / D + 1) * D];
        let norm = row.iter().map(|e| e * e).sum::<f32>().sqrt().max(1e-12);
        let tol = 1e-5 / norm + 1e-6;
        assert!(
            (dx[i] - dxr[i]).abs() <= tol,
            "{what}: gradient {i}: {} vs {} (tolerance {tol:e})",
            dx[i],
            dxr[i]
        );
    }
}

#[test]
fn fused_l2_normalize_matches_burn_values_and_gradients() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    for seed in [1, 2] {
        let (x, g) = inputs(&device, seed);
        assert_close(
            "l2_normalize",
            &x,
            value_and_grad(&x, &g, kernel::l2_normalize),
            value_and_grad(&x, &g, reference),
        );
    }
}

#[test]
fn fused_l2_normalize_without_autodiff_and_in_f64() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let (x, g) = inputs(&device, 3);
    let plain = x.clone().inner();
    let v = kernel::l2_normalize(plain.clone())
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32");
    let vr = reference(plain)
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32");
    assert!(v.iter().zip(&vr).all(|(a, b)| (a - b).abs() <= 1e-6));
    let x64 = x.clone().cast(DType::F64);
    let y64 = kernel::l2_normalize(x64.clone());
    assert_eq!(y64.dtype(), DType::F64);
    assert_close(
        "l2_normalize f64",
        &x,
        value_and_grad(&x64, &g.clone().cast(DType::F64), kernel::l2_normalize),
        value_and_grad(&x, &g, reference),
    );
}

#[test]
fn row_kernel_flags_clamped_rows_and_scales_their_gradient_by_one_over_eps() {
    let x = [3.0f32, 4.0, 0.0, 0.0];
    let (mut y, mut inv) = ([0.0f32; 4], [0.0f32; 2]);
    normalize::l2_normalize_rows(&x, 2, &mut y, &mut inv);
    assert_eq!(y, [0.6, 0.8, 0.0, 0.0]);
    assert_eq!(inv[0], 0.2);
    assert_eq!(inv[1], -1.0 / normalize::EPS);
    let g = [1.0f32, 0.0, 1.0, 2.0];
    let mut dx = [0.0f32; 4];
    normalize::l2_normalize_rows_backward(&g, &y, &inv, 2, &mut dx);
    // (g - y (g . y)) / 5 = ([1, 0] - 0.6 [0.6, 0.8]) / 5 = [0.128, -0.096]
    assert!(
        (dx[0] - 0.128).abs() < 1e-7 && (dx[1] + 0.096).abs() < 1e-7,
        "{dx:?}"
    );
    assert_eq!(dx[2], 1.0 / normalize::EPS);
    assert_eq!(dx[3], 2.0 / normalize::EPS);
}
