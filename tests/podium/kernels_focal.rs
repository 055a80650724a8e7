//! podium's fused sigmoid focal loss (`kernel::sigmoid_focal`) against torchvision's
//! `sigmoid_focal_loss` formula composed of Burn's ops (`sigmoid`, the stable BCE, `powf`) on
//! random logits, for binary and soft targets, with integer, zero and fractional gammas, with
//! and without alpha: values and gradients under a random upstream gradient; and the f64
//! (composed) path.
//!
//! Tolerances: values and gradients within `1e-5` relative plus `2e-6` absolute.

use burn::tensor::activation::sigmoid;
use burn::tensor::{DType, Device, Tensor};
use burn_podium::kernel;

use crate::fixtures::{assert_value_grad_close, element_inputs, value_and_grad};

const B: usize = 31;
const C: usize = 223;

/// torchvision's formula: `alpha_t (1 - p_t)^gamma BCE(x, t)`.
fn reference(x: Tensor<2>, t: Tensor<2>, gamma: f32, alpha: Option<f32>) -> Tensor<2> {
    let p = sigmoid(x.clone());
    let bce = x.clone().clamp_min(0.0) - x.clone() * t.clone()
        + x.abs().neg().exp().add_scalar(1.0).log();
    let p_t = p.clone() * t.clone() + (p.neg() + 1.0) * (t.clone().neg() + 1.0);
    let loss = bce * (p_t.neg() + 1.0).powf_scalar(gamma);
    match alpha {
        Some(a) => {
            let a = a as f64;
            loss * (t.clone() * a + (t.neg() + 1.0) * (1.0 - a))
        }
        None => loss,
    }
}

#[test]
fn fused_sigmoid_focal_matches_torchvisions_formula() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let [x, up, binary, soft] = element_inputs(&device, 21, [B, C]);
    for (gamma, alpha) in [
        (2.0, Some(0.25)),
        (0.0, None),
        (1.5, Some(0.6)),
        (3.0, None),
    ] {
        for (name, t) in [("binary", &binary), ("soft", &soft)] {
            assert_value_grad_close(
                &format!("gamma {gamma}, alpha {alpha:?}, {name} targets"),
                value_and_grad(&x, &up, |x| {
                    kernel::sigmoid_focal(x, t.clone(), gamma, alpha)
                }),
                value_and_grad(&x, &up, |x| reference(x, t.clone(), gamma, alpha)),
            );
        }
    }
}

#[test]
fn sigmoid_focal_in_f64_takes_the_composed_path() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let [x, up, t, _] = element_inputs(&device, 22, [B, C]);
    let (t64, up64) = (t.clone().cast(DType::F64), up.clone().cast(DType::F64));
    let y = kernel::sigmoid_focal(x.clone().cast(DType::F64), t64.clone(), 2.0, Some(0.25));
    assert_eq!(y.dtype(), DType::F64);
    assert_value_grad_close(
        "f64",
        value_and_grad(&x.clone().cast(DType::F64), &up64, |x| {
            kernel::sigmoid_focal(x, t64.clone(), 2.0, Some(0.25))
        }),
        value_and_grad(&x, &up, |x| reference(x, t.clone(), 2.0, Some(0.25))),
    );
}
