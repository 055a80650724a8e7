//! podium's flex convolution kernels (`kernel::conv`) against Burn's reference `conv2d` on the
//! same device: forward values and the gradients of x, weight and bias over a grid of shapes
//! (kernel 1/3/5/7, stride 1/2, symmetric and asymmetric padding, dilation, dense and
//! depthwise, batch 1 and more, output maps larger than one forward tile). Tolerance: the
//! largest absolute difference is at most `1e-4 * max(1, max |reference|)`. Inside a `bf16`
//! autocast region the dense kernels are checked against Burn's `f32` convolution of the
//! bfloat16-rounded operands, within one bfloat16 rounding (`2^-8 * max(1, max |reference|)`).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, FloatDType, Tensor};
use burn_podium::kernel::autocast::autocast;
use burn_podium::kernel::conv::{
    conv2d, conv2d_padding, conv2d_with, fast_conv2d_calls, set_winograd_conv2d,
};

const TOL: f32 = 1e-4;

/// Largest `|a - b|` over `max(1, max |b|)`.
fn rel_err<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.into_data().try_to_vec::<f32>().unwrap();
    let b = b.into_data().try_to_vec::<f32>().unwrap();
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

struct Case {
    name: &'static str,
    batch: usize,
    c_in: usize,
    c_out: usize,
    hw: [usize; 2],
    k: usize,
    stride: usize,
    /// `((top, bottom), (left, right))`.
    pad: [(usize, usize); 2],
    dilation: usize,
    groups: usize,
    bias: bool,
    x_grad: bool,
}

#[allow(clippy::too_many_arguments)]
const fn case(
    name: &'static str,
    batch: usize,
    [c_in, c_out]: [usize; 2],
    hw: [usize; 2],
    k: usize,
    stride: usize,
    pad: usize,
    groups: usize,
    bias: bool,
) -> Case {
    Case {
        name,
        batch,
        c_in,
        c_out,
        hw,
        k,
        stride,
        pad: [(pad, pad), (pad, pad)],
        dilation: 1,
        groups,
        bias,
        x_grad: true,
    }
}

/// The Winograd `F(2x2, 3x3)` cases: 3x3, stride 1, padding 1, 16 to 256 channels, tiles
/// covering at most 1.15 outputs per output (even maps, and odd ones from 15x15).
fn winograd_cases() -> Vec<Case> {
    vec![
        case(
            "winograd 3x3/1 pad 1, bias",
            3,
            [16, 24],
            [10, 12],
            3,
            1,
            1,
            1,
            true,
        ),
        case(
            "winograd 3x3/1 pad 1, odd 15x17",
            2,
            [32, 16],
            [15, 17],
            3,
            1,
            1,
            1,
            false,
        ),
    ]
}

fn grid() -> Vec<Case> {
    vec![
        Case {
            x_grad: false,
            ..case(
                "resnet stem 7x7/2, image input",
                2,
                [3, 8],
                [20, 20],
                7,
                2,
                3,
                1,
                false,
            )
        },
        case(
            "3x3/1 pad 1, bias, non-square",
            3,
            [8, 16],
            [11, 9],
            3,
            1,
            1,
            1,
            true,
        ),
        case("3x3/2 pad 1", 2, [8, 8], [10, 10], 3, 2, 1, 1, false),
        case(
            "1x1/1 pointwise, bias",
            2,
            [16, 8],
            [7, 7],
            1,
            1,
            0,
            1,
            true,
        ),
        case("1x1/2 downsample", 2, [8, 16], [9, 9], 1, 2, 0, 1, false),
        case(
            "3x3/1 batch 1, 1600 pixels (two tiles)",
            1,
            [4, 6],
            [40, 40],
            3,
            1,
            1,
            1,
            true,
        ),
        case(
            "5x5/1 pad 2, 1200 pixels (two tiles, shifted rows)",
            2,
            [3, 5],
            [40, 30],
            5,
            1,
            2,
            1,
            false,
        ),
        Case {
            pad: [(1, 2), (2, 1)],
            ..case(
                "4x4/1 asymmetric 'same' padding (shifted rows)",
                2,
                [3, 4],
                [9, 7],
                4,
                1,
                0,
                1,
                true,
            )
        },
        Case {
            pad: [(0, 1), (0, 1)],
            ..case(
                "3x3/2 asymmetric (SAME on even input)",
                2,
                [4, 4],
                [8, 8],
                3,
                2,
                0,
                1,
                true,
            )
        },
        Case {
            dilation: 2,
            ..case(
                "3x3/1 dilation 2 pad 2",
                2,
                [4, 5],
                [9, 9],
                3,
                1,
                2,
                1,
                false,
            )
        },
        case(
            "depthwise 3x3/1 pad 1, bias",
            2,
            [8, 8],
            [9, 9],
            3,
            1,
            1,
            8,
            true,
        ),
        case(
            "depthwise 5x5/2 pad 2",
            2,
            [6, 6],
            [12, 12],
            5,
            2,
            2,
            6,
            false,
        ),
        case(
            "depthwise 3x3/2 pad 1 batch 1 odd",
            1,
            [5, 5],
            [9, 7],
            3,
            2,
            1,
            5,
            false,
        ),
        case(
            "depthwise 5x5/1 pad 2 on 4x4 (kernel wider than the image)",
            2,
            [6, 6],
            [4, 4],
            5,
            1,
            2,
            6,
            true,
        ),
        case(
            "depthwise 5x5/2 pad 2 on 7x7",
            3,
            [4, 4],
            [7, 7],
            5,
            2,
            2,
            4,
            false,
        ),
        case(
            "depthwise 3x3/1 pad 1 on 40x33, 1320 pixels (many register blocks)",
            1,
            [3, 3],
            [40, 33],
            3,
            1,
            1,
            3,
            true,
        ),
        Case {
            dilation: 2,
            ..case(
                "depthwise 3x3/2 dilation 2 pad 2",
                2,
                [5, 5],
                [11, 10],
                3,
                2,
                2,
                5,
                false,
            )
        },
        Case {
            pad: [(0, 1), (1, 0)],
            ..case(
                "depthwise 3x3/2 asymmetric padding, odd sides",
                2,
                [4, 4],
                [9, 8],
                3,
                2,
                0,
                4,
                true,
            )
        },
        Case {
            pad: [(2, 1), (1, 2)],
            ..case(
                "depthwise 4x4/1 asymmetric 'same' padding, more on the right",
                2,
                [3, 3],
                [6, 7],
                4,
                1,
                0,
                3,
                false,
            )
        },
        case(
            "depthwise 3x3/3 pad 1",
            2,
            [3, 3],
            [10, 11],
            3,
            3,
            1,
            3,
            false,
        ),
        case(
            "grouped 3x3 groups 2 (Burn's op)",
            2,
            [8, 8],
            [6, 6],
            3,
            1,
            1,
            2,
            true,
        ),
    ]
}

/// The output shape `[B, C_out, OH, OW]` of a case.
fn output_shape(c: &Case) -> [usize; 4] {
    let span = c.dilation * (c.k - 1) + 1;
    let out = |n: usize, (p0, p1): (usize, usize)| (n + p0 + p1 - span) / c.stride + 1;
    [
        c.batch,
        c.c_out,
        out(c.hw[0], c.pad[0]),
        out(c.hw[1], c.pad[1]),
    ]
}

/// A case's random input, weight, bias (when it has one) and upstream gradient `r` (the shape of
/// the output), drawn in that order.
fn inputs(c: &Case, device: &Device) -> (Tensor<4>, Tensor<4>, Option<Tensor<1>>, Tensor<4>) {
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::<4>::random([c.batch, c.c_in, c.hw[0], c.hw[1]], normal, device);
    let w = Tensor::<4>::random([c.c_out, c.c_in / c.groups, c.k, c.k], normal, device);
    let b = c
        .bias
        .then(|| Tensor::<1>::random([c.c_out], normal, device));
    let r = Tensor::<4>::random(output_shape(c), normal, device);
    (x, w, b, r)
}

/// The forward value and the gradients `(x, weight, bias)` of `sum(conv(x) * r)`.
fn run(
    fast: bool,
    c: &Case,
    x: &Tensor<4>,
    w: &Tensor<4>,
    b: &Option<Tensor<1>>,
    r: &Tensor<4>,
) -> (Tensor<4>, Option<Tensor<4>>, Tensor<4>, Option<Tensor<1>>) {
    let x = if c.x_grad {
        x.clone().detach().require_grad()
    } else {
        x.clone().detach()
    };
    let w = w.clone().detach().require_grad();
    let b = b.clone().map(|b| b.detach().require_grad());
    let options = ConvOptions::new_with_padding([c.stride; 2], c.pad, [c.dilation; 2], c.groups);
    let y = if fast {
        conv2d_with(x.clone(), w.clone(), b.clone(), options)
    } else {
        burn::tensor::module::conv2d(x.clone(), w.clone(), b.clone(), options)
    };
    let grads = (y.clone() * r.clone()).sum().backward();
    (
        y.inner(),
        x.grad(&grads),
        w.grad(&grads).unwrap(),
        b.map(|b| b.grad(&grads).unwrap()),
    )
}

#[test]
fn conv2d_matches_burn_values_and_gradients_over_a_grid() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::flex().autodiff();
    for c in grid().into_iter().chain(winograd_cases()) {
        let (x, w, b, r) = inputs(&c, &device);

        let before = fast_conv2d_calls();
        let (y, dx, dw, db) = run(true, &c, &x, &w, &b, &r);
        let took_fast_path = fast_conv2d_calls() > before;
        assert_eq!(
            took_fast_path,
            c.groups == 1 || c.groups == c.c_in,
            "{}",
            c.name
        );
        let (y0, dx0, dw0, db0) = run(false, &c, &x, &w, &b, &r);

        assert_eq!(y.dims(), output_shape(&c), "{}", c.name);
        let e = rel_err(y, y0);
        assert!(e <= TOL, "{}: forward error {e}", c.name);
        match (dx, dx0) {
            (Some(dx), Some(dx0)) => {
                let e = rel_err(dx, dx0);
                assert!(e <= TOL, "{}: x-gradient error {e}", c.name);
            }
            (None, None) => assert!(!c.x_grad, "{}", c.name),
            _ => panic!("{}: x-gradient present on one side only", c.name),
        }
        let e = rel_err(dw, dw0);
        assert!(e <= TOL, "{}: weight-gradient error {e}", c.name);
        if let (Some(db), Some(db0)) = (db, db0) {
            let e = rel_err(db, db0);
            assert!(e <= TOL, "{}: bias-gradient error {e}", c.name);
        } else {
            assert!(!c.bias, "{}: bias gradient missing", c.name);
        }
    }
}

/// The Winograd path runs where it applies (switching it off changes the last bits of the forward
/// and of both gradients) and both paths are within [`TOL`] of Burn's.
#[test]
fn winograd_conv2d_is_switchable_and_within_tolerance() {
    let _g = crate::learner::lock(); // the flex RNG and the switch are process-wide
    let device = Device::flex().autodiff();
    for c in winograd_cases() {
        let (x, w, b, r) = inputs(&c, &device);
        let (y, dx, dw, _) = run(true, &c, &x, &w, &b, &r);
        set_winograd_conv2d(false);
        let direct = run(true, &c, &x, &w, &b, &r);
        set_winograd_conv2d(true);
        let (y0, dx0, dw0, _) = run(false, &c, &x, &w, &b, &r);
        let (dx, dx_direct) = (dx.expect("x gradient"), direct.1.expect("x gradient"));
        assert!(
            rel_err(y.clone(), direct.0.clone()) > 0.0,
            "{}: forward unchanged",
            c.name
        );
        assert!(
            rel_err(dx.clone(), dx_direct.clone()) > 0.0,
            "{}: dx unchanged",
            c.name
        );
        assert!(
            rel_err(dw.clone(), direct.2.clone()) > 0.0,
            "{}: dW unchanged",
            c.name
        );
        for (what, e) in [
            ("forward", rel_err(y, y0.clone())),
            ("direct forward", rel_err(direct.0, y0)),
            ("x-gradient", rel_err(dx, dx0.clone().expect("x gradient"))),
            (
                "direct x-gradient",
                rel_err(dx_direct, dx0.expect("x gradient")),
            ),
            ("weight gradient", rel_err(dw, dw0.clone())),
            ("direct weight gradient", rel_err(direct.2, dw0)),
        ] {
            assert!(e <= TOL, "{}: {what} error {e}", c.name);
        }
    }
}

/// `t` rounded to bfloat16 and back to `f32`.
fn bf16<const D: usize>(t: &Tensor<D>) -> Tensor<D> {
    t.clone().cast(FloatDType::BF16).cast(FloatDType::F32)
}

/// Whether every value of `t` is a bfloat16 value.
fn is_bf16<const D: usize>(t: &Tensor<D>) -> bool {
    t.clone().into_data().try_to_vec::<f32>().unwrap()
        == bf16(t).into_data().try_to_vec::<f32>().unwrap()
}

/// What [`run`] returns: the value and the gradients of x, weight and bias.
type Outputs = (Tensor<4>, Option<Tensor<4>>, Tensor<4>, Option<Tensor<1>>);

#[test]
fn bf16_autocast_runs_the_dense_kernels_on_bfloat16_operands() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::flex().autodiff();
    // one bfloat16 rounding of the result (half an ulp, 2^-9) plus f32 summation
    let tol = 2f32.powi(-8);
    for c in grid() {
        let dense = c.groups == 1;
        if !dense && c.groups != c.c_in {
            continue; // grouped: Burn's own op in bf16, not podium's kernels
        }
        let (x, w, b, r) = inputs(&c, &device);

        let before = fast_conv2d_calls();
        let low: Outputs = autocast(Some(FloatDType::BF16), || run(true, &c, &x, &w, &b, &r));
        assert!(
            fast_conv2d_calls() > before,
            "{}: fast path not taken",
            c.name
        );
        let full = run(true, &c, &x, &w, &b, &r);
        if !dense {
            // depthwise kernels stay f32 inside the region
            assert_eq!(rel_err(low.0, full.0), 0.0, "{}", c.name);
            assert_eq!(rel_err(low.2, full.2), 0.0, "{}", c.name);
            continue;
        }
        let reference = run(
            false,
            &c,
            &bf16(&x),
            &bf16(&w),
            &b.as_ref().map(bf16),
            &bf16(&r),
        );
        let outputs = [
            ("forward", Some(low.0), Some(reference.0), Some(full.0)),
            ("x-gradient", low.1, reference.1, full.1),
            (
                "weight-gradient",
                Some(low.2),
                Some(reference.2),
                Some(full.2),
            ),
        ];
        for (what, got, want, f32_result) in outputs {
            let (Some(got), Some(want), Some(f32_result)) = (got, want, f32_result) else {
                assert!(!c.x_grad, "{}: {what} missing", c.name);
                continue;
            };
            assert!(is_bf16(&got), "{}: {what} is not rounded to bf16", c.name);
            let e = rel_err(got.clone(), want);
            assert!(
                e <= tol,
                "{}: {what} error {e} against the rounded operands",
                c.name
            );
            let e = rel_err(got, f32_result);
            assert!(e > TOL, "{}: {what} equals the f32 result ({e})", c.name);
        }
        if let (Some(db), Some(db0)) = (low.3, reference.3) {
            assert!(
                is_bf16(&db),
                "{}: bias gradient is not rounded to bf16",
                c.name
            );
            let e = rel_err(db, db0);
            assert!(e <= tol, "{}: bias-gradient error {e}", c.name);
        }
    }
}

#[test]
fn conv2d_of_a_module_matches_its_forward_without_autodiff() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::flex();
    let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    for (padding, stride) in [
        (PaddingConfig2d::Same, 2),
        (PaddingConfig2d::Same, 1),
        (PaddingConfig2d::Valid, 1),
        (PaddingConfig2d::Explicit(1, 2, 1, 2), 1),
    ] {
        let conv = Conv2dConfig::new([3, 5], [3, 3])
            .with_stride([stride, stride])
            .with_padding(padding.clone())
            .init(&device);
        let before = fast_conv2d_calls();
        let fast = conv2d(&conv, x.clone());
        assert!(
            fast_conv2d_calls() > before,
            "{padding:?}: fast path not taken"
        );
        let e = rel_err(fast, conv.forward(x.clone()));
        assert!(e <= TOL, "{padding:?} stride {stride}: error {e}");
    }
}

#[test]
fn conv2d_padding_follows_burns_same_rule() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::flex();
    let conv = Conv2dConfig::new([1, 1], [3, 3])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    // out = ceil(8 / 2) = 4, needed = 3 * 2 + 3 - 8 = 1: nothing before, one after.
    assert_eq!(conv2d_padding(&conv, 8, 8), [(0, 1), (0, 1)]);
    // out = ceil(7 / 2) = 4, needed = 9 - 7 = 2: one on each side.
    assert_eq!(conv2d_padding(&conv, 7, 7), [(1, 1), (1, 1)]);
}

#[test]
#[should_panic]
fn conv2d_with_mismatched_channels_panics_as_burn_does() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::flex();
    let x = Tensor::<4>::zeros([1, 3, 5, 5], &device);
    let w = Tensor::<4>::zeros([4, 2, 3, 3], &device);
    let _ = conv2d_with(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
}

#[test]
fn resnet18_and_efficientnet_convolutions_run_through_the_kernels() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    use burn_podium::model::{EfficientNetConfig, ResNetConfig};
    let device = Device::flex();
    let x = Tensor::<4>::random([1, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    // ResNet-18: the stem, 16 block convolutions and 3 downsample convolutions.
    let resnet = ResNetConfig::new(18)
        .with_num_classes(4)
        .init(&device)
        .unwrap();
    let before = fast_conv2d_calls();
    let _ = resnet.forward_features(x.clone());
    assert!(fast_conv2d_calls() - before >= 20);
    // EfficientNet-B0: 16 blocks of at least a depthwise, a pointwise and two SE convolutions.
    let effnet = EfficientNetConfig::new(0)
        .with_num_classes(4)
        .init(&device)
        .unwrap();
    let before = fast_conv2d_calls();
    let _ = effnet.forward_features(x);
    assert!(fast_conv2d_calls() - before >= 16 * 4);
}
