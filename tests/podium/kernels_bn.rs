//! podium's fused batch norm + activation (`kernel::batch_norm`) against Burn's reference
//! `BatchNorm::forward` followed by Burn's `relu` / `silu`, on the flex device: forward values,
//! the gradients of the input, gamma and beta, and the running statistics after a training
//! step, over a grid of shapes (ranks 2 to 4, batch 1 and more, blocks shorter and longer than
//! a rayon task, each activation), in training mode, in evaluation mode without autodiff and
//! with a frozen layer on an autodiff device. Inputs come from a fixed generator, so no run can
//! land a value on ReLU's kink differently from another.
//!
//! Tolerances: the largest absolute difference over `max(1, max |reference|)` is at most
//! `1e-5` for values and running statistics and `1e-4` for gradients (sums over up to 9,800
//! values per channel, accumulated in `f64` here and in `f32` by Burn).

use burn::module::{Param, RunningState};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use burn_podium::kernel::batch_norm::{Activation, batch_norm, fast_batch_norm_calls};

const TOL_VALUE: f32 = 1e-5;
const TOL_GRAD: f32 = 1e-4;

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

/// `n` values of a fixed linear congruential generator, uniform in `[lo, hi)`.
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn tensor<const D: usize>(shape: [usize; D], seed: u64, lo: f32, hi: f32, d: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed, lo, hi), shape), d)
}

/// A batch norm of `c` features with non-trivial parameters and running statistics.
fn layer(c: usize, momentum: f64, d: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(c)
        .with_momentum(momentum)
        .with_epsilon(1e-3)
        .init(d);
    bn.gamma = Param::from_tensor(tensor([c], 1, 0.5, 1.5, d));
    bn.beta = Param::from_tensor(tensor([c], 2, -0.5, 0.5, d));
    bn.running_mean = RunningState::new(tensor([c], 3, -1.0, 1.0, d));
    bn.running_var = RunningState::new(tensor([c], 4, 0.5, 2.0, d));
    bn
}

const ACTS: [Activation; 3] = [Activation::Identity, Activation::Relu, Activation::Silu];

/// Output, gradients `(x, gamma, beta)` of `sum(y * r)`, and the running statistics after.
struct Run<const D: usize> {
    y: Tensor<D>,
    dx: Tensor<D>,
    dgamma: Tensor<1>,
    dbeta: Tensor<1>,
    running: [Tensor<1>; 2],
}

fn train<const D: usize>(
    fast: bool,
    shape: [usize; D],
    act: Activation,
    momentum: f64,
    seed: u64,
) -> Run<D> {
    let d = Device::flex().autodiff();
    let bn = layer(shape[1], momentum, &d);
    // a per-channel offset and scale, as convolution outputs have
    let x = tensor(shape, seed, -2.0, 2.5, &d).detach().require_grad();
    let r = tensor(shape, seed + 7, -1.0, 1.0, &d);
    let y = if fast {
        batch_norm(&bn, x.clone(), act)
    } else {
        act.apply(bn.forward(x.clone()))
    };
    let grads = (y.clone() * r).sum().backward();
    Run {
        y: y.inner(),
        dx: x.grad(&grads).unwrap(),
        dgamma: bn.gamma.val().grad(&grads).unwrap(),
        dbeta: bn.beta.val().grad(&grads).unwrap(),
        running: [
            bn.running_mean.value_sync().inner(),
            bn.running_var.value_sync().inner(),
        ],
    }
}

fn check_train<const D: usize>(shape: [usize; D], momentum: f64, seed: u64) {
    for act in ACTS {
        let name = format!("{shape:?} {act:?} momentum {momentum}");
        let before = fast_batch_norm_calls();
        let fast = train(true, shape, act, momentum, seed);
        assert!(
            fast_batch_norm_calls() > before,
            "{name}: fast path not taken"
        );
        let reference = train(false, shape, act, momentum, seed);
        let e = rel_err(fast.y, reference.y);
        assert!(e <= TOL_VALUE, "{name}: forward error {e}");
        let e = rel_err(fast.dx, reference.dx);
        assert!(e <= TOL_GRAD, "{name}: x-gradient error {e}");
        let e = rel_err(fast.dgamma, reference.dgamma);
        assert!(e <= TOL_GRAD, "{name}: gamma-gradient error {e}");
        let e = rel_err(fast.dbeta, reference.dbeta);
        assert!(e <= TOL_GRAD, "{name}: beta-gradient error {e}");
        let [m, v] = fast.running;
        let [m0, v0] = reference.running;
        let e = rel_err(m, m0);
        assert!(e <= TOL_VALUE, "{name}: running mean error {e}");
        let e = rel_err(v, v0);
        assert!(e <= TOL_VALUE, "{name}: running variance error {e}");
    }
}

#[test]
fn batch_norm_training_matches_burn_values_gradients_and_running_stats() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // ResNet-like maps: many channels, small blocks (several per rayon task)
    check_train([4, 16, 7, 7], 0.1, 11);
    // few channels, blocks longer than a rayon task
    check_train([2, 3, 140, 140], 0.1, 12);
    // batch 1, odd sizes, another momentum
    check_train([1, 5, 9, 11], 0.3, 13);
    // momentum 1 replaces the running statistics, 0 keeps them
    check_train([3, 4, 5, 5], 1.0, 14);
    check_train([3, 4, 5, 5], 0.0, 15);
    // ranks 3 and 2 (BatchNorm1d)
    check_train([4, 6, 33], 0.1, 16);
    check_train([32, 8], 0.1, 17);
}

#[test]
fn batch_norm_evaluation_uses_the_running_stats_without_and_with_autodiff() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let shape = [3, 6, 10, 10];
    for act in ACTS {
        // no autodiff: evaluation mode whatever the flag
        let d = Device::flex();
        let bn = layer(6, 0.1, &d);
        let x = tensor(shape, 21, -2.0, 2.0, &d);
        let before = fast_batch_norm_calls();
        let y = batch_norm(&bn, x.clone(), act);
        assert!(
            fast_batch_norm_calls() > before,
            "{act:?}: fast path not taken"
        );
        let e = rel_err(y, act.apply(bn.forward(x)));
        assert!(e <= TOL_VALUE, "{act:?}: evaluation error {e}");

        // autodiff with the layer's training flag off (a frozen layer): running statistics,
        // gradients through x, gamma and beta, statistics unchanged
        let d = Device::flex().autodiff();
        let run = |fast: bool| {
            let mut bn = layer(6, 0.1, &d);
            bn.training = Param::from_bool(false);
            let x = tensor(shape, 22, -2.0, 2.0, &d).require_grad();
            let r = tensor(shape, 23, -1.0, 1.0, &d);
            let y = if fast {
                batch_norm(&bn, x.clone(), act)
            } else {
                act.apply(bn.forward(x.clone()))
            };
            let g = (y.clone() * r).sum().backward();
            (
                y.inner(),
                x.grad(&g).unwrap(),
                bn.gamma.val().grad(&g).unwrap(),
                bn.beta.val().grad(&g).unwrap(),
                bn.running_mean.value_sync().inner(),
            )
        };
        let (y, dx, dg, db, rm) = run(true);
        let (y0, dx0, dg0, db0, _) = run(false);
        assert!(rel_err(y, y0) <= TOL_VALUE, "{act:?}: frozen forward");
        assert!(rel_err(dx, dx0) <= TOL_GRAD, "{act:?}: frozen x-gradient");
        assert!(
            rel_err(dg, dg0) <= TOL_GRAD,
            "{act:?}: frozen gamma-gradient"
        );
        assert!(
            rel_err(db, db0) <= TOL_GRAD,
            "{act:?}: frozen beta-gradient"
        );
        assert_eq!(
            rm.into_data().try_to_vec::<f32>().unwrap(),
            tensor::<1>([6], 3, -1.0, 1.0, &Device::flex())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
            "{act:?}: a frozen layer's running mean moved"
        );
    }
}

#[test]
fn batch_norm_training_stats_are_exact_for_a_large_offset() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    // mean 1000, standard deviation 1: the f64 sums keep the variance exact where naive f32
    // sums of x^2 would lose it
    let d = Device::flex().autodiff();
    let bn = layer(2, 1.0, &d);
    let x = tensor([8, 2, 16, 16], 31, 998.0, 1002.0, &d);
    let _ = batch_norm(&bn, x, Activation::Identity);
    let v = values(8 * 2 * 256, 31, 998.0, 1002.0);
    let mut sums = [[0.0f64; 2]; 2];
    for (i, &x) in v.iter().enumerate() {
        let ch = (i / 256) % 2;
        sums[ch][0] += x as f64;
    }
    let mean = sums.map(|s| s[0] / 2048.0);
    for (i, &x) in v.iter().enumerate() {
        let ch = (i / 256) % 2;
        sums[ch][1] += (x as f64 - mean[ch]).powi(2);
    }
    let var = [sums[0][1] / 2048.0, sums[1][1] / 2048.0];
    let got_mean = bn
        .running_mean
        .value_sync()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let got_var = bn
        .running_var
        .value_sync()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for ch in 0..2 {
        assert!((got_mean[ch] as f64 - mean[ch]).abs() <= 1e-4, "mean {ch}");
        let e = (got_var[ch] as f64 - var[ch]).abs() / var[ch];
        assert!(
            e <= 1e-5,
            "channel {ch}: variance {} against {}",
            got_var[ch],
            var[ch]
        );
    }
}

#[test]
#[should_panic]
fn batch_norm_with_the_wrong_channel_count_panics_as_burn_does() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let d = Device::flex();
    let bn = BatchNormConfig::new(3).init(&d);
    let _ = batch_norm(&bn, Tensor::<4>::zeros([2, 4, 5, 5], &d), Activation::Relu);
}

#[test]
fn resnet18_and_efficientnet_batch_norms_run_through_the_kernels() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    use burn_podium::model::{EfficientNetConfig, ResNetConfig};
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    // ResNet-18: the stem, 16 block batch norms and 3 downsample batch norms.
    let resnet = ResNetConfig::new(18)
        .with_num_classes(4)
        .init(&device)
        .unwrap();
    let before = fast_batch_norm_calls();
    let _ = resnet.forward_features(x.clone());
    assert!(fast_batch_norm_calls() - before >= 20);
    // EfficientNet-B0: the stem, the head and at least two per block in 16 blocks.
    let effnet = EfficientNetConfig::new(0)
        .with_num_classes(4)
        .init(&device)
        .unwrap();
    let before = fast_batch_norm_calls();
    let _ = effnet.forward_features(x);
    assert!(fast_batch_norm_calls() - before >= 2 + 16 * 2);
}
