//! podium's flex max-pool kernels (`kernel::max_pool`) against Burn's `MaxPool2d::forward` on
//! the same device: values (exactly: a maximum is one of the inputs) and input gradients (within
//! `1e-6 * max(1, max |reference|)`: overlapping windows add their gradients in another order)
//! over a grid of windows, strides and paddings, with and without autodiff; and torch's NaN rule
//! (a NaN in the window is the output and receives the gradient).

use burn::nn::PaddingConfig2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use burn_podium::kernel::max_pool::{fast_max_pool2d_calls, max_pool2d};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// `(name, input [B, C, H, W], pool)`.
fn grid() -> Vec<(&'static str, [usize; 4], MaxPool2d)> {
    let pool = |k: [usize; 2], s: [usize; 2], p: PaddingConfig2d| {
        MaxPool2dConfig::new(k)
            .with_strides(s)
            .with_padding(p)
            .init()
    };
    vec![
        (
            "ResNet stem 3x3/2 pad 1, even side",
            [2, 3, 12, 12],
            pool([3, 3], [2, 2], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        ),
        (
            "3x3/2 pad 1, odd non-square side",
            [1, 4, 11, 9],
            pool([3, 3], [2, 2], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        ),
        (
            "SimpleCnn 2x2/2, odd side drops the last row",
            [3, 2, 7, 8],
            pool([2, 2], [2, 2], PaddingConfig2d::Valid),
        ),
        (
            "3x3/1 pad 1 (dense overlap)",
            [2, 2, 6, 7],
            pool([3, 3], [1, 1], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        ),
        (
            "2x3 window, stride (1, 2), asymmetric padding",
            [1, 3, 5, 10],
            pool([2, 3], [1, 2], PaddingConfig2d::Explicit(1, 2, 0, 1)),
        ),
    ]
}

#[test]
fn max_pool2d_matches_burn_values_and_gradients_over_a_grid() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::flex().autodiff();
    for (name, shape, pool) in grid() {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let run = |fast: bool| {
            let x = x.clone().detach().require_grad();
            let before = fast_max_pool2d_calls();
            let y = if fast {
                max_pool2d(&pool, x.clone())
            } else {
                pool.forward(x.clone())
            };
            assert_eq!(
                fast_max_pool2d_calls() > before,
                fast,
                "{name}: kernel calls"
            );
            let r = Tensor::<4>::random(y.dims(), Distribution::Normal(0.0, 1.0), &device);
            let grads = (y.clone() * r).sum().backward();
            (y.inner(), x.grad(&grads).unwrap())
        };
        // the same upstream gradient on both sides: draw it after the same number of draws
        device.seed(11);
        let (y, dx) = run(true);
        device.seed(11);
        let (y0, dx0) = run(false);
        assert_eq!(y.dims(), y0.dims(), "{name}: output shape");
        assert_eq!(values(y), values(y0), "{name}: values");
        let (dx, dx0) = (values(dx), values(dx0));
        let scale = dx0.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let err = dx
            .iter()
            .zip(&dx0)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err <= 1e-6 * scale, "{name}: gradient error {err}");
        // without autodiff: the same values
        let plain = x.clone().inner();
        assert_eq!(
            values(max_pool2d(&pool, plain.clone())),
            values(pool.forward(plain)),
            "{name}: values without autodiff"
        );
    }
}

#[test]
fn a_nan_in_the_window_is_the_output_and_takes_the_gradient() {
    let device = Device::flex().autodiff();
    let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
    // one 4x4 plane: windows [0 1; 4 5], [2 3; 6 7], [8 9; 12 13], [10 11; 14 15]
    let mut v: Vec<f32> = (0..16).map(|i| i as f32).collect();
    v[1] = f32::NAN; // first window: NaN beside the maximum 5
    v[15] = -1.0; // last window: the maximum is 14, not 15
    let x = Tensor::<4>::from_data(TensorData::new(v, [1, 1, 4, 4]), &device).require_grad();
    let y = max_pool2d(&pool, x.clone());
    let out = values(y.clone().inner());
    assert!(out[0].is_nan(), "NaN window: {}", out[0]);
    assert_eq!(&out[1..], &[7.0, 13.0, 14.0]);
    let grads = y.sum().backward();
    let dx = values(x.grad(&grads).unwrap());
    let hot: Vec<usize> = (0..16).filter(|&i| dx[i] != 0.0).collect();
    assert_eq!(hot, vec![1, 7, 13, 14], "gradient positions {dx:?}");
}

#[test]
fn resnet_and_simple_cnn_pools_run_through_the_kernels() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    use burn_podium::model::{ResNetConfig, SimpleCnnConfig};
    let device = Device::flex();
    let resnet = ResNetConfig::new(18)
        .with_num_classes(3)
        .init(&device)
        .unwrap();
    let before = fast_max_pool2d_calls();
    let _ = resnet.forward_features(Tensor::zeros([1, 3, 32, 32], &device));
    assert_eq!(fast_max_pool2d_calls() - before, 1);
    let cnn = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .init(&device)
        .unwrap();
    let before = fast_max_pool2d_calls();
    let _ = cnn.forward_features(Tensor::zeros([1, 1, 28, 28], &device));
    assert_eq!(fast_max_pool2d_calls() - before, 1);
}
