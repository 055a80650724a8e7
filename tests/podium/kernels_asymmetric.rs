//! podium's fused multi-label asymmetric loss (`kernel::asymmetric_multilabel`) against timm's
//! formula composed of Burn's ops (`sigmoid`, clamps, `log`, `powf` with a per-element exponent)
//! on random logits, for binary and soft targets, with and without the clip, with integer,
//! zero and fractional gammas: values and gradients under a random upstream gradient; and the
//! f64 (composed) path.
//!
//! Tolerances: values within `1e-5` relative plus `2e-6` absolute, gradients within `1e-5`
//! relative plus `2e-6` absolute (entries of a few units at most).

use burn::tensor::activation::sigmoid;
use burn::tensor::{DType, Device, Tensor};
use burn_podium::kernel::{self, asymmetric::AslParams};

use crate::fixtures::{assert_value_grad_close, element_inputs, value_and_grad};

const B: usize = 37;
const C: usize = 211;

/// timm's `AsymmetricLossMultiLabel` before the sum, composed of Burn's ops.
fn reference(x: Tensor<2>, t: Tensor<2>, c: AslParams) -> Tensor<2> {
    let p = sigmoid(x);
    let mut q = p.clone().neg() + 1.0;
    if c.clip > 0.0 {
        q = (q + c.clip as f64).clamp_max(1.0);
    }
    let anti = t.clone().neg() + 1.0;
    let eps = c.eps as f64;
    let l =
        t.clone() * p.clone().clamp_min(eps).log() + anti.clone() * q.clone().clamp_min(eps).log();
    if c.gamma_pos == 0.0 && c.gamma_neg == 0.0 {
        return l.neg();
    }
    let pt = p * t.clone() + q * anti.clone();
    let g = t * c.gamma_pos as f64 + anti * c.gamma_neg as f64;
    (l * (pt.neg() + 1.0).powf(g)).neg()
}

const PARAMS: [AslParams; 4] = [
    // timm's defaults
    AslParams {
        gamma_pos: 1.0,
        gamma_neg: 4.0,
        clip: 0.05,
        eps: 1e-8,
    },
    AslParams {
        gamma_pos: 0.0,
        gamma_neg: 0.0,
        clip: 0.0,
        eps: 1e-8,
    },
    AslParams {
        gamma_pos: 1.5,
        gamma_neg: 2.5,
        clip: 0.0,
        eps: 1e-6,
    },
    AslParams {
        gamma_pos: 0.0,
        gamma_neg: 2.0,
        clip: 0.2,
        eps: 1e-8,
    },
];

#[test]
fn fused_asymmetric_loss_matches_timms_formula_for_binary_and_soft_targets() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let [x, up, binary, soft] = element_inputs(&device, 11, [B, C]);
    for (k, c) in PARAMS.into_iter().enumerate() {
        for (name, t) in [("binary", &binary), ("soft", &soft)] {
            assert_value_grad_close(
                &format!("params {k}, {name} targets"),
                value_and_grad(&x, &up, |x| kernel::asymmetric_multilabel(x, t.clone(), c)),
                value_and_grad(&x, &up, |x| reference(x, t.clone(), c)),
            );
        }
    }
}

#[test]
fn asymmetric_loss_in_f64_takes_the_composed_path() {
    // the flex RNG is process-wide: seeded tests take turns (see learner::lock)
    let _guard = crate::learner::lock();
    let device = Device::default().autodiff();
    let [x, up, t, _] = element_inputs(&device, 12, [B, C]);
    let c = PARAMS[0];
    let (t64, up64) = (t.clone().cast(DType::F64), up.clone().cast(DType::F64));
    let y = kernel::asymmetric_multilabel(x.clone().cast(DType::F64), t64.clone(), c);
    assert_eq!(y.dtype(), DType::F64);
    assert_value_grad_close(
        "f64",
        value_and_grad(&x.clone().cast(DType::F64), &up64, |x| {
            kernel::asymmetric_multilabel(x, t64.clone(), c)
        }),
        value_and_grad(&x, &up, |x| reference(x, t.clone(), c)),
    );
}
