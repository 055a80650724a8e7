//! podium's squeeze-and-excitation maps (`kernel::global_avg_pool`, `kernel::scale_channels`)
//! against Burn's composed `mean_dim(2).mean_dim(3)` and broadcast `mul` on random inputs:
//! values and the gradients of every input under a random upstream gradient, with autodiff and
//! without, planes shorter and longer than one 16-value partial sum and more planes than one
//! rayon task; the composed fallback in `f64`; the shape check.
//!
//! Tolerances: `1e-5` relative plus `1e-6` absolute (the fused sums add in another order than
//! Burn's two reductions).

use burn::tensor::{DType, Device, Distribution, Tensor};
use burn_podium::kernel::{global_avg_pool, scale_channels};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().expect("f32")
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 + 1e-5 * w.abs(),
            "{what}: element {i}: {g} vs {w}"
        );
    }
}

/// `[B, C, H, W]` cases: one pixel, planes of 7x5 (tail only) and 9x9, and 3 x 400 planes of
/// 6x6 (several rayon tasks).
const SHAPES: [[usize; 4]; 4] = [[2, 3, 1, 1], [2, 5, 7, 5], [3, 4, 9, 9], [3, 400, 6, 6]];

#[test]
fn global_avg_pool_matches_burns_mean_values_and_gradients() {
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    device.seed(11);
    for shape in SHAPES {
        let [b, c, _, _] = shape;
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.5, 2.0), &device);
        let up = Tensor::<4>::random([b, c, 1, 1], Distribution::Uniform(-1.0, 1.0), &device);
        let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
            let x = x.clone().detach().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * up.clone()).sum().backward();
            (values(y), values(x.grad(&grads).expect("gradient")))
        };
        let (v, g) = run(&|x| global_avg_pool(x));
        let (vr, gr) = run(&|x| x.mean_dim(2).mean_dim(3));
        assert_close(&format!("pool {shape:?}: value"), &v, &vr);
        assert_close(&format!("pool {shape:?}: gradient"), &g, &gr);
        let plain = global_avg_pool(x.clone().inner());
        assert_close(&format!("pool {shape:?}: untracked"), &values(plain), &vr);
    }
}

#[test]
fn scale_channels_matches_burns_broadcast_product_values_and_gradients() {
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    device.seed(12);
    for shape in SHAPES {
        let [b, c, _, _] = shape;
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 2.0), &device);
        let s = Tensor::<4>::random([b, c, 1, 1], Distribution::Uniform(0.0, 1.0), &device);
        let up = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
        let run = |f: &dyn Fn(Tensor<4>, Tensor<4>) -> Tensor<4>| {
            let (x, s) = (
                x.clone().detach().require_grad(),
                s.clone().detach().require_grad(),
            );
            let y = f(x.clone(), s.clone());
            let grads = (y.clone() * up.clone()).sum().backward();
            (
                values(y),
                values(x.grad(&grads).expect("dx")),
                values(s.grad(&grads).expect("ds")),
            )
        };
        let (v, dx, ds) = run(&|x, s| scale_channels(x, s));
        let (vr, dxr, dsr) = run(&|x, s| x * s);
        assert_close(&format!("scale {shape:?}: value"), &v, &vr);
        assert_close(&format!("scale {shape:?}: dx"), &dx, &dxr);
        assert_close(&format!("scale {shape:?}: ds"), &ds, &dsr);
        // Only one input tracked: the gate of a frozen excitation, or a detached input.
        let s_only = {
            let s = s.clone().detach().require_grad();
            let grads = (scale_channels(x.clone().detach(), s.clone()) * up.clone())
                .sum()
                .backward();
            values(s.grad(&grads).expect("ds"))
        };
        assert_close(&format!("scale {shape:?}: ds alone"), &s_only, &dsr);
        let plain = scale_channels(x.clone().inner(), s.clone().inner());
        assert_close(&format!("scale {shape:?}: untracked"), &values(plain), &vr);
    }
}

#[test]
fn channel_maps_fall_back_to_burns_ops_in_f64() {
    let _guard = crate::learner::lock();
    let device = Device::default();
    device.seed(13);
    let x =
        Tensor::<4>::random([2, 3, 4, 5], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
    let s =
        Tensor::<4>::random([2, 3, 1, 1], Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
    let pooled = global_avg_pool(x.clone());
    assert_eq!(pooled.dtype(), DType::F64);
    assert_eq!(
        pooled.into_data(),
        x.clone().mean_dim(2).mean_dim(3).into_data()
    );
    let scaled = scale_channels(x.clone(), s.clone());
    assert_eq!(scaled.dtype(), DType::F64);
    assert_eq!(scaled.into_data(), (x * s).into_data());
}

#[test]
#[should_panic(
    expected = "scale_channels: x of shape [2, 3, 4, 4] needs scales of shape [2, 3, 1, 1], got [2, 4, 1, 1]"
)]
fn scale_channels_panics_naming_both_shapes() {
    let device = Device::default();
    let x = Tensor::<4>::zeros([2, 3, 4, 4], &device);
    let s = Tensor::<4>::zeros([2, 4, 1, 1], &device);
    let _ = scale_channels(x, s);
}
