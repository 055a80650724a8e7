//! timm's weight-decay parameter groups: biases and normalization weights (`ndim <= 1`) train
//! without weight decay by default, switchable with `LearnerConfig::weight_decay_norm_bias`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Tensor};
use burn_podium::learner::{LearnerConfig, optimization};
use burn_podium::model::{ImageClassifier, SimpleCnnConfig};
use burn_podium::optim::{
    AdamWConfig, HyperParams, LookaheadConfig, OptimizerConfig, SgdConfig, no_weight_decay_params,
};

/// A conv weight, a bias and a norm scale.
#[derive(Module, Debug)]
struct Layer {
    conv: Param<Tensor<4>>,
    bias: Param<Tensor<1>>,
    gamma: Param<Tensor<1>>,
}

/// Every trainable float parameter as `(rank, values)`, in visiting order (BatchNorm's running
/// statistics, visited as parameters too, are left out).
#[derive(Default)]
struct Values(Vec<(usize, Vec<f64>)>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.val().is_require_grad() {
            return;
        }
        let v = param.val().try_into_vec_as::<f32>().unwrap();
        self.0.push((D, v.into_iter().map(f64::from).collect()));
    }
}

/// torch's SGD with momentum `mu` on a weight of 1 whose loss gradient is 0: `g = wd p`,
/// `buf = g` at the first step then `mu buf + g`, `p -= lr buf`.
fn sgd_momentum_decay(lr: f64, wd: f64, mu: f64, steps: usize) -> f64 {
    let (mut p, mut buf) = (1.0, None::<f64>);
    for _ in 0..steps {
        let g = wd * p;
        let b = buf.map_or(g, |b| mu * b + g);
        buf = Some(b);
        p -= lr * b;
    }
    p
}

fn values<M: Module>(m: &M) -> Vec<(usize, Vec<f64>)> {
    let mut v = Values::default();
    m.visit(&mut v);
    v.0
}

fn layer(device: &Device) -> Layer {
    let u = Distribution::Uniform(0.5, 1.5);
    Layer {
        conv: Param::from_tensor(Tensor::random([2, 1, 2, 2], u, device)),
        bias: Param::from_tensor(Tensor::random([2], u, device)),
        gamma: Param::from_tensor(Tensor::random([2], u, device)),
    }
}

/// `steps` updates with zero gradients (the loss times 0) at learning rate `lr`.
fn zero_grad_steps(mut l: Layer, optim: &mut ModuleOptimizer, lr: f64, steps: usize) -> Layer {
    for _ in 0..steps {
        let loss = (l.conv.val().sum() + l.bias.val().sum() + l.gamma.val().sum()) * 0.0;
        let grads = GradientsParams::from_grads(loss.backward(), &l);
        l = optim.step(lr, l, grads);
    }
    l
}

/// Asserts `after = before * factor` elementwise (f32 arithmetic, relative 1e-6).
fn assert_scaled(before: &[f64], after: &[f64], factor: f64, what: &str) {
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        let want = b * factor;
        assert!(
            (a - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{what}: {a} != {b} * {factor} = {want}"
        );
    }
}

#[test]
fn biases_and_norm_weights_keep_their_values_while_weights_decay() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::default().autodiff();
    let (lr, wd, steps) = (0.1f64, 0.5, 3);
    // decoupled (AdamW: p *= 1 - lr wd; the Adam step of a zero gradient is 0) and coupled
    // (SGD: p -= lr (0 + wd p)) decay both shrink a weight by (1 - lr wd) per step
    let decayed = (1.0 - lr * wd).powi(steps as i32);
    let configs: Vec<(OptimizerConfig, Option<HyperParams>, f64)> = vec![
        (
            AdamWConfig::new().with_weight_decay(wd).into(),
            None,
            decayed,
        ),
        (
            AdamWConfig::new().with_weight_decay(wd).into(),
            Some(HyperParams::new()),
            decayed,
        ),
        (SgdConfig::new().with_weight_decay(wd).into(), None, decayed),
        (
            SgdConfig::new()
                .with_momentum(0.9)
                .with_weight_decay(wd)
                .into(),
            Some(HyperParams::new()),
            sgd_momentum_decay(lr, wd, 0.9, steps),
        ),
    ];
    for (config, hyper, decayed) in configs {
        let l = layer(&device);
        let before = values(&l);
        assert_eq!(config.weight_decay(), wd);
        assert_eq!(config.without_weight_decay().weight_decay(), 0.0);
        let no_decay = no_weight_decay_params(&l);
        let mut optim = config
            .init_with_no_decay(hyper.as_ref(), Some(no_decay))
            .unwrap();
        let after = values(&zero_grad_steps(l, &mut optim, lr, steps));
        assert_scaled(&before[0].1, &after[0].1, decayed, "conv weight");
        assert_eq!(before[1], after[1], "{config:?}: the bias is untouched");
        assert_eq!(
            before[2], after[2],
            "{config:?}: the norm scale is untouched"
        );

        // without the groups every parameter decays, as torch given model.parameters()
        let l = layer(&device);
        let before = values(&l);
        let mut optim = config.init_with_no_decay(hyper.as_ref(), None).unwrap();
        let after = values(&zero_grad_steps(l, &mut optim, lr, steps));
        for (b, a) in before.iter().zip(&after) {
            assert_scaled(&b.1, &a.1, decayed, "every parameter");
        }
    }
    // a Lookahead hands its wrapped optimizer to the group too: the bias stays, the weight
    // shrinks
    let config = OptimizerConfig::Lookahead {
        base: Box::new(AdamWConfig::new().with_weight_decay(wd).into()),
        lookahead: LookaheadConfig::new().with_k(2),
    };
    let l = layer(&device);
    let before = values(&l);
    let mut optim = config
        .init_with_no_decay(None, Some(no_weight_decay_params(&l)))
        .unwrap();
    let after = values(&zero_grad_steps(l, &mut optim, lr, 4));
    assert_eq!(before[1], after[1]);
    assert!(after[0].1.iter().zip(&before[0].1).all(|(a, b)| a < b));
}

#[test]
fn the_learner_exempts_norm_and_bias_parameters_unless_told_not_to() {
    let _g = crate::learner::lock(); // the flex RNG is process-wide
    let device = Device::default().autodiff();
    let (lr, wd) = (0.1, 0.5);
    for decay_all in [false, true] {
        let model = SimpleCnnConfig::new(3).with_width(4).init(&device).unwrap();
        let before = values(&model);
        assert!(
            before.iter().any(|(rank, _)| *rank == 1),
            "a BatchNorm or bias"
        );
        assert!(before.iter().any(|(rank, _)| *rank == 4), "a conv weight");
        let config = LearnerConfig::new()
            .with_optimizer(AdamWConfig::new().with_weight_decay(wd).into())
            .with_weight_decay_norm_bias(decay_all);
        let mut optim = optimization(&config, &model, 1).unwrap().optimizer;
        let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device);
        let loss = model.forward(x).sum() * 0.0;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = optim.step(lr, model, grads);
        for ((rank, b), (_, a)) in before.iter().zip(&values(&model)) {
            if *rank <= 1 && !decay_all {
                assert_eq!(b, a, "rank-{rank} parameter");
            } else {
                assert_scaled(b, a, 1.0 - lr * wd, &format!("rank-{rank} parameter"));
            }
        }
    }
}
