//! `kernel::axpby` (`a x + b y` in one parallel pass on flex) against Burn's composed
//! `x * a + y * b`, to the bit: with `x` owning its buffer (updated in place), with `x` shared
//! (which must stay unchanged), with a transposed (non-contiguous) `x`, across rayon blocks and
//! with a short tail; the composed fallback in `f64` and for tracked tensors (gradient `a` and
//! `b`); and the shape check.

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};
use burn_podium::kernel::axpby;

fn bits(t: Tensor<2>) -> Vec<u32> {
    let v = t.into_data().try_into_vec_as::<f32>().expect("f32");
    v.iter().map(|e| e.to_bits()).collect()
}

/// A tensor that owns its buffer alone (built from its values).
fn owned(t: &Tensor<2>) -> Tensor<2> {
    Tensor::from_data(t.to_data(), &t.device())
}

const SCALARS: [(f64, f64); 4] = [(0.9, 0.1), (1.0, -0.05), (-2.5, 3.25), (0.0, 1.0)];

#[test]
fn axpby_is_burns_scaled_sum_to_the_bit() {
    let _guard = crate::learner::lock();
    let device = Device::default();
    device.seed(7);
    // One element, a short row, and 3 x 40_001 values (several rayon blocks and a tail).
    for shape in [[1, 1], [3, 17], [3, 40_001]] {
        let x = Tensor::<2>::random(shape, Distribution::Normal(0.0, 3.0), &device);
        let y = Tensor::<2>::random(shape, Distribution::Normal(0.0, 1e-3), &device);
        let before = bits(x.clone());
        for (a, b) in SCALARS {
            let want = bits(x.clone() * a + y.clone() * b);
            let what = format!("{shape:?}, a = {a}, b = {b}");
            assert_eq!(
                bits(axpby(a, owned(&x), b, y.clone())),
                want,
                "owned x: {what}"
            );
            assert_eq!(
                bits(axpby(a, x.clone(), b, y.clone())),
                want,
                "shared x: {what}"
            );
            assert_eq!(bits(x.clone()), before, "shared x was written: {what}");
            let xt = owned(&x.clone().transpose()).transpose();
            assert_eq!(
                bits(axpby(a, xt, b, y.clone())),
                want,
                "transposed x: {what}"
            );
        }
    }
}

#[test]
fn axpby_falls_back_to_burns_ops_in_f64_and_under_autodiff() {
    let _guard = crate::learner::lock();
    let device = Device::default();
    device.seed(8);
    let x = Tensor::<2>::random([4, 9], Distribution::Normal(0.0, 1.0), &device);
    let y = Tensor::<2>::random([4, 9], Distribution::Normal(0.0, 1.0), &device);
    let (x64, y64) = (x.clone().cast(DType::F64), y.clone().cast(DType::F64));
    let got = axpby(0.3, x64.clone(), -1.7, y64.clone());
    assert_eq!(got.dtype(), DType::F64);
    assert_eq!(bits(got), bits(x64 * 0.3 + y64 * -1.7));

    let ad = device.autodiff();
    let (xa, ya) = (
        Tensor::<2>::from_data(x.to_data(), &ad).require_grad(),
        Tensor::<2>::from_data(y.to_data(), &ad).require_grad(),
    );
    let (a, b) = (0.25, -4.0);
    let grads = axpby(a, xa.clone(), b, ya.clone()).sum().backward();
    for (t, scale) in [(&xa, a), (&ya, b)] {
        let g = t.grad(&grads).expect("tracked").into_data();
        let want = TensorData::new(vec![scale as f32; 36], [4, 9]);
        assert_eq!(g, want, "d/d{{x, y}} of sum(a x + b y)");
    }
}

#[test]
#[should_panic(expected = "axpby: x of shape [2, 3] and y of shape [3, 2] differ")]
fn axpby_panics_naming_both_shapes() {
    let device = Device::default();
    let x = Tensor::<2>::zeros([2, 3], &device);
    let y = Tensor::<2>::zeros([3, 2], &device);
    let _ = axpby(1.0, x, 1.0, y);
}
