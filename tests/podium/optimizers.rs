//! Cases of `optim.json`: optimizers step by step on the quadratic objective, torch's gradient
//! clipping, and gradient accumulation.

use burn::module::{Module, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use burn_podium::optim::*;

use crate::reference::{Case, load_topic};

#[derive(Module, Debug)]
struct Quad {
    w: Param<Tensor<2>>,
    v: Param<Tensor<1>>,
}

fn objective(q: &Quad, a: &Tensor<2>, b: &Tensor<1>) -> Tensor<1> {
    let [r, c] = q.w.dims();
    let [m] = q.v.dims();
    let n = r * c + m;
    let theta = Tensor::cat(vec![q.w.val().reshape([r * c]), q.v.val()], 0);
    let quad = theta
        .clone()
        .reshape([1, n])
        .matmul(a.clone())
        .matmul(theta.clone().reshape([n, 1]));
    quad.reshape([1]) * 0.5 + (theta * b.clone()).sum()
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn betas(case: &Case) -> (f64, f64) {
    let b = case.params["betas"].as_array().unwrap();
    (b[0].as_f64().unwrap(), b[1].as_f64().unwrap())
}

fn opt_f64(case: &Case, key: &str, default: f64) -> f64 {
    if case.has_param(key) {
        case.f64(key)
    } else {
        default
    }
}

fn run(case: &Case, optim: ModuleOptimizer) {
    run_clipped(case, optim, None);
}

fn run_clipped(case: &Case, mut optim: ModuleOptimizer, max_norm: Option<f64>) {
    let d = crate::test_device().autodiff();
    let a = case.input("A").float::<2>(&d);
    let b = case.input("b").float::<1>(&d);
    let mut q = Quad {
        w: Param::from_tensor(case.input("W0").float::<2>(&d)),
        v: Param::from_tensor(case.input("v0").float::<1>(&d)),
    };
    let steps = case.usize("n_steps");
    let lr = case.f64("lr");
    let (mut w, mut v, mut gw, mut gv, mut loss) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..steps {
        let l = objective(&q, &a, &b);
        loss.extend(floats(l.clone()));
        let grads = l.backward();
        gw.extend(floats(q.w.grad(&grads).unwrap()));
        gv.extend(floats(q.v.grad(&grads).unwrap()));
        let mut gp = GradientsParams::from_grads(grads, &q);
        if let Some(max_norm) = max_norm {
            clip_grad_norm(&q, &mut gp, max_norm, GradNorm::L2).unwrap();
        }
        q = optim.step(lr, q, gp);
        w.extend(floats(q.w.val()));
        v.extend(floats(q.v.val()));
    }
    let [r, c] = q.w.dims();
    let [m] = q.v.dims();
    case.assert_close("loss", &loss, &[steps]);
    case.assert_close("grad_W", &gw, &[steps, r, c]);
    case.assert_close("grad_v", &gv, &[steps, m]);
    case.assert_close("W", &w, &[steps, r, c]);
    case.assert_close("v", &v, &[steps, m]);
}

#[test]
fn torch_sgd_matches() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("sgd") {
        let o = SgdConfig::new()
            .with_momentum(case.f64("momentum"))
            .with_dampening(opt_f64(case, "dampening", 0.0))
            .with_weight_decay(case.f64("weight_decay"))
            .with_nesterov(case.bool("nesterov"))
            .init()
            .unwrap();
        run(case, o.into());
    }
}

#[test]
fn burns_adam_and_adamw_match_torch_with_torch_eps() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("adam") {
        let (b1, b2) = betas(case);
        let wd = opt_f64(case, "weight_decay", 0.0);
        let mut c = AdamConfig::new()
            .with_beta_1(b1 as f32)
            .with_beta_2(b2 as f32)
            .with_epsilon(case.f64("eps") as f32)
            .with_amsgrad(case.has_param("amsgrad") && case.bool("amsgrad"));
        if wd > 0.0 {
            c = c.with_weight_decay(Some(WeightDecayConfig::new(wd as f32)));
        }
        run(case, c.init());
    }
    for case in topic.cases_of("adamw") {
        let (b1, b2) = betas(case);
        let c = AdamWConfig::new()
            .with_beta_1(b1 as f32)
            .with_beta_2(b2 as f32)
            .with_epsilon(case.f64("eps") as f32)
            .with_weight_decay(case.f64("weight_decay") as f32);
        run(case, c.init());
    }
}

#[test]
fn podiums_torch_adam_and_adamw_match_torch() {
    let topic = load_topic("optim.json");
    let adam = |case: &Case| {
        let (b1, b2) = betas(case);
        burn_podium::optim::AdamConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(opt_f64(case, "weight_decay", 0.0))
            .with_amsgrad(case.has_param("amsgrad") && case.bool("amsgrad"))
    };
    for case in topic.cases_of("adam") {
        run(case, adam(case).init().unwrap().into());
    }
    for case in topic.cases_of("adamw") {
        let (b1, b2) = betas(case);
        let o = burn_podium::optim::AdamWConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_amsgrad(case.has_param("amsgrad") && case.bool("amsgrad"))
            .init()
            .unwrap();
        run(case, o.into());
    }
    // a hyper-parameter handle that holds the configured beta1 changes nothing
    let case = topic.cases_of("adam")[0];
    let hyper = HyperParams::new();
    hyper.set_momentum(betas(case).0);
    let o = adam(case).init().unwrap().with_hyper_params(hyper);
    if !(case.has_param("amsgrad") && case.bool("amsgrad")) {
        run(case, o.into());
    }
}

#[test]
fn radam_nadam_adamax_adabelief_match() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("radam") {
        let (b1, b2) = betas(case);
        let o = RAdamConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(case.f64("weight_decay"))
            .init()
            .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("nadam") {
        let (b1, b2) = betas(case);
        let o = NAdamConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(opt_f64(case, "weight_decay", 0.0))
            .with_momentum_decay(case.f64("momentum_decay"))
            .init()
            .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("adamax") {
        let (b1, b2) = betas(case);
        let o = AdamaxConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(opt_f64(case, "weight_decay", 0.0))
            .init()
            .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("adabelief") {
        let (b1, b2) = betas(case);
        let o = AdaBeliefConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_decoupled_decay(case.bool("decoupled_decay"))
            .with_rectify(case.bool("rectify"))
            .with_degenerated_to_sgd(
                !case.has_param("degenerated_to_sgd") || case.bool("degenerated_to_sgd"),
            )
            .init()
            .unwrap();
        run(case, o.into());
    }
}

/// The case's gradient tensors `g0, g1, ...` (as many as it has), flattened, with their names.
fn grads_of(case: &Case, d: &Device) -> (Vec<String>, Vec<Tensor<1>>) {
    case.numbered_inputs("g")
        .into_iter()
        .map(|(k, t)| {
            (
                k.to_string(),
                Tensor::<1>::from_floats(t.f32s().as_slice(), d),
            )
        })
        .unzip()
}

#[test]
fn gradient_clipping_matches_torch() {
    let topic = load_topic("optim.json");
    let d = crate::test_device();
    for case in topic.cases_of("clip_grad_norm") {
        let norm = match case.str("norm_type") {
            "1" => GradNorm::L1,
            "2" => GradNorm::L2,
            "inf" => GradNorm::Inf,
            other => panic!("{other}"),
        };
        let (names, grads) = grads_of(case, &d);
        let (clipped, total) = clip_grad_norm_tensors(grads, case.f64("max_norm"), norm).unwrap();
        case.assert_close("total_norm", &[total], &[]);
        assert_eq!(clipped.len(), names.len());
        for (k, g) in names.iter().zip(clipped) {
            let shape = case.expected(k).shape.clone();
            case.assert_close(k, &floats(g), &shape);
        }
    }
    for case in topic.cases_of("clip_grad_value") {
        let (names, grads) = grads_of(case, &d);
        let clipped = clip_grad_value_tensors(grads, case.f64("clip_value")).unwrap();
        assert_eq!(clipped.len(), names.len());
        for (k, g) in names.iter().zip(clipped) {
            let shape = case.expected(k).shape.clone();
            case.assert_close(k, &floats(g), &shape);
        }
    }
    assert!(clip_grad_norm_tensors(vec![], 0.0, GradNorm::L2).is_err());
    assert!(clip_grad_value_tensors(vec![], -1.0).is_err());
}

#[test]
fn module_level_clipping_uses_one_global_norm() {
    let d = crate::test_device().autodiff();
    let q = Quad {
        w: Param::from_tensor(Tensor::<2>::from_floats([[3.0, 0.0]], &d)),
        v: Param::from_tensor(Tensor::<1>::from_floats([4.0], &d)),
    };
    // loss = sum(w^2)/2 + sum(v^2)/2: gradients are w and v, global L2 norm 5
    let loss = q.w.val().powf_scalar(2.0).sum() * 0.5 + q.v.val().powf_scalar(2.0).sum() * 0.5;
    let mut gp = GradientsParams::from_grads(loss.backward(), &q);
    let total = clip_grad_norm(&q, &mut gp, 1.0, GradNorm::L2).unwrap();
    assert!((total - 5.0).abs() < 1e-6);
    let gw = floats(gp.get::<2>(q.w.id).unwrap());
    let gv = floats(gp.get::<1>(q.v.id).unwrap());
    assert!(
        (gw[0] - 0.6).abs() < 1e-5 && (gv[0] - 0.8).abs() < 1e-5,
        "{gw:?} {gv:?}"
    );
}

#[derive(Module, Debug)]
struct LinearModel {
    w: Param<Tensor<1>>,
    c: Param<Tensor<1>>,
}

#[test]
fn weighted_accumulation_reproduces_the_full_batch_gradient() {
    let topic = load_topic("optim.json");
    let d = crate::test_device().autodiff();
    for case in topic.cases_of("grad_accumulation") {
        let x = case.input("X").float::<2>(&d);
        let y = case.input("y").float::<1>(&d);
        let [n, k] = x.dims();
        let model = LinearModel {
            w: Param::from_tensor(case.input("w").float::<1>(&d)),
            c: Param::from_tensor(case.input("c").float::<1>(&d)),
        };
        let loss_of = |xs: Tensor<2>, ys: Tensor<1>| {
            let [b, _] = xs.dims();
            let pred = xs.matmul(model.w.val().reshape([k, 1])).reshape([b]) + model.c.val();
            (pred - ys).powf_scalar(2.0).mean()
        };
        let sizes: Vec<usize> = case.params["micro_batch_sizes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let count = sizes.len() as f64;
        let (mut plain, mut weighted) = (
            WeightedGradAccumulator::new(),
            WeightedGradAccumulator::new(),
        );
        let mut start = 0;
        for &s in &sizes {
            let micro = || {
                loss_of(
                    x.clone().slice([start..start + s, 0..k]),
                    y.clone().narrow(0, start, s),
                )
            };
            plain.add(
                &model,
                GradientsParams::from_grads(micro().backward(), &model),
                1.0 / count,
            );
            weighted.add(
                &model,
                GradientsParams::from_grads(micro().backward(), &model),
                s as f64 / n as f64,
            );
            start += s;
        }
        let full = GradientsParams::from_grads(loss_of(x.clone(), y.clone()).backward(), &model);
        let check = |gp: &GradientsParams, prefix: &str| {
            case.assert_close(
                &format!("{prefix}_grad_w"),
                &floats(gp.get::<1>(model.w.id).unwrap()),
                &[k],
            );
            case.assert_close(
                &format!("{prefix}_grad_c"),
                &floats(gp.get::<1>(model.c.id).unwrap()),
                &[1],
            );
        };
        check(&full, "full");
        check(&plain.finish(&model), "accumulated");
        check(&weighted.finish(&model), "weighted");
    }
}

#[test]
fn bad_optimizer_values_are_typed_errors() {
    assert!(SgdConfig::new().with_nesterov(true).init().is_err());
    assert!(RAdamConfig::new().with_beta1(1.0).init().is_err());
    assert!(NAdamConfig::new().with_eps(-1.0).init().is_err());
    assert!(AdamaxConfig::new().with_weight_decay(-0.1).init().is_err());
    assert!(AdaBeliefConfig::new().with_beta2(1.5).init().is_err());
}

#[test]
fn burns_lion_and_adan_match_timm() {
    use burn::optim::{AdanConfig, LionConfig};
    let topic = load_topic("optim.json");
    for case in topic.cases_of("lion") {
        let (b1, b2) = betas(case);
        let c = LionConfig::new()
            .with_beta_1(b1 as f32)
            .with_beta_2(b2 as f32)
            .with_weight_decay(case.f64("weight_decay") as f32);
        run(case, c.init());
    }
    for case in topic.cases_of("adan") {
        let b = case.params["betas"].as_array().unwrap();
        let c = AdanConfig::new()
            .with_beta_1(b[0].as_f64().unwrap() as f32)
            .with_beta_2(b[1].as_f64().unwrap() as f32)
            .with_beta_3(b[2].as_f64().unwrap() as f32)
            .with_epsilon(case.f64("eps") as f32)
            .with_weight_decay(case.f64("weight_decay") as f32)
            .with_no_prox(case.bool("no_prox"));
        run(case, c.init());
    }
}

#[test]
fn lookahead_matches_timm_and_the_paper_init() {
    let topic = load_topic("optim.json");
    let adam = |case: &Case| {
        let (b1, b2) = betas(case);
        burn::optim::AdamConfig::new()
            .with_beta_1(b1 as f32)
            .with_beta_2(b2 as f32)
            .with_epsilon(opt_f64(case, "eps", 1e-8) as f32)
            .with_weight_decay(
                Some(opt_f64(case, "weight_decay", 0.0))
                    .filter(|&wd| wd > 0.0)
                    .map(|wd| WeightDecayConfig::new(wd as f32)),
            )
            .build()
    };
    let lookahead = |case: &Case| {
        LookaheadConfig::new()
            .with_alpha(case.f64("alpha"))
            .with_k(case.usize("k"))
    };
    for case in topic.cases_of("lookahead_adam") {
        let o = lookahead(case).init(adam(case)).unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("lookahead_adam_paper_init") {
        let o = lookahead(case)
            .with_paper_init(true)
            .init(adam(case))
            .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("lookahead_radam") {
        let (b1, b2) = betas(case);
        let radam = RAdamConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(opt_f64(case, "weight_decay", 0.0));
        let o = lookahead(case).init(radam.init().unwrap()).unwrap();
        run(case, o.into());
        // Ranger is the same optimizer
        let ranger = RangerConfig::new()
            .with_radam(radam)
            .with_lookahead(lookahead(case))
            .init()
            .unwrap();
        run(case, ranger.into());
    }
    let radam = || RAdamConfig::new().init().unwrap();
    assert!(
        LookaheadConfig::new()
            .with_alpha(1.5)
            .init(radam())
            .is_err()
    );
    assert!(LookaheadConfig::new().with_k(0).init(radam()).is_err());
}

#[test]
fn sam_and_asam_match_the_reference_implementation() {
    let topic = load_topic("optim.json");
    let d = crate::test_device().autodiff();
    for case in topic.cases_of("sam") {
        let a = case.input("A").float::<2>(&d);
        let b = case.input("b").float::<1>(&d);
        let mut q = Quad {
            w: Param::from_tensor(case.input("W0").float::<2>(&d)),
            v: Param::from_tensor(case.input("v0").float::<1>(&d)),
        };
        let sam = SamConfig::new()
            .with_rho(case.f64("rho"))
            .with_adaptive(case.bool("adaptive"))
            .init()
            .unwrap();
        let mut optim: ModuleOptimizer = SgdConfig::new()
            .with_momentum(case.f64("momentum"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_nesterov(case.bool("nesterov"))
            .init()
            .unwrap()
            .into();
        let steps = case.usize("n_steps");
        let mut out: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for _ in 0..steps {
            let l = objective(&q, &a, &b);
            out.entry("loss").or_default().extend(floats(l.clone()));
            let grads = l.backward();
            out.entry("grad_W")
                .or_default()
                .extend(floats(q.w.grad(&grads).unwrap()));
            out.entry("grad_v")
                .or_default()
                .extend(floats(q.v.grad(&grads).unwrap()));
            let gp = GradientsParams::from_grads(grads, &q);
            let perturbed = sam.perturb(&q, &gp);
            out.entry("W_perturbed")
                .or_default()
                .extend(floats(perturbed.w.val()));
            out.entry("v_perturbed")
                .or_default()
                .extend(floats(perturbed.v.val()));
            let l2 = objective(&perturbed, &a, &b);
            out.entry("loss_perturbed")
                .or_default()
                .extend(floats(l2.clone()));
            let grads2 = l2.backward();
            out.entry("grad_W_perturbed")
                .or_default()
                .extend(floats(perturbed.w.grad(&grads2).unwrap()));
            out.entry("grad_v_perturbed")
                .or_default()
                .extend(floats(perturbed.v.grad(&grads2).unwrap()));
            let gp2 = GradientsParams::from_grads(grads2, &perturbed);
            q = optim.step(case.f64("lr"), q, gp2);
            out.entry("W").or_default().extend(floats(q.w.val()));
            out.entry("v").or_default().extend(floats(q.v.val()));
        }
        for (key, values) in &out {
            let shape = case.expected(key).shape.clone();
            case.assert_close(key, values, &shape);
        }
    }
    assert!(SamConfig::new().with_rho(-0.1).init().is_err());
}

#[test]
fn lars_lamb_and_novograd_match_timm() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("lars") {
        let o = LarsConfig::new()
            .with_momentum(case.f64("momentum"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_trust_coeff(case.f64("trust_coeff"))
            .with_eps(case.f64("eps"))
            .with_trust_clip(case.bool("trust_clip"))
            .with_nesterov(case.bool("nesterov"))
            .init()
            .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("nvnovograd") {
        let (b1, b2) = betas(case);
        let o = NvNovoGradConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_grad_averaging(case.bool("grad_averaging"))
            .init()
            .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("lamb") {
        let (b1, b2) = betas(case);
        assert!(case.bool("bias_correction"));
        let o = LambConfig::new()
            .with_beta1(b1)
            .with_beta2(b2)
            .with_eps(case.f64("eps"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_trust_clip(case.bool("trust_clip"))
            .with_grad_averaging(case.bool("grad_averaging"))
            .init()
            .unwrap();
        // timm's Lamb clips the global gradient norm first
        run_clipped(case, o.into(), Some(case.f64("max_grad_norm")));
    }
}

#[test]
fn madgrad_matches_timm() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("madgrad") {
        let o = MadgradConfig::new()
            .with_momentum(case.f64("momentum"))
            .with_weight_decay(case.f64("weight_decay"))
            .with_eps(case.f64("eps"))
            .init()
            .unwrap();
        run(case, o.into());
    }
    assert!(MadgradConfig::new().with_momentum(1.0).init().is_err());
}

#[test]
fn sgd_takes_its_momentum_from_a_hyper_parameter_handle() {
    use burn::optim::Optimizer;
    use burn::tensor::TensorData;
    let d = crate::test_device();
    let t = |v: [f32; 2]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [2]), &d);
    let hyper = HyperParams::new();
    let config = SgdConfig::new().with_momentum(0.9);
    let sgd = config.init().unwrap().with_hyper_params(hyper.clone());
    let (g1, g2) = ([1.0f32, -2.0], [0.5f32, 0.25]);
    let lr = 0.1;
    // no value yet: the configured 0.9; the first buffer is the gradient either way
    let (p1, s1) = sgd.step(lr, t([0.0, 0.0]), t(g1), None);
    hyper.set_momentum(0.5);
    let (p2, _) = sgd.step(lr, p1.clone(), t(g2), s1.clone());
    // buf2 = 0.5 * g1 + g2; p2 = p1 - lr * buf2
    let expected: Vec<f64> = (0..2)
        .map(|i| (-(lr as f32) * g1[i] - lr as f32 * (0.5 * g1[i] + g2[i])) as f64)
        .collect();
    for (a, e) in floats(p2).iter().zip(&expected) {
        assert!((a - e).abs() < 1e-6, "{a} vs {e}");
    }
    let plain = config.init().unwrap();
    let (q2, _) = plain.step(lr, p1, t(g2), s1);
    assert!(
        (floats(q2)[0] - expected[0]).abs() > 1e-3,
        "the handle's momentum is the one used"
    );
}

#[test]
fn adam_family_optimizers_read_beta1_from_a_hyper_parameter_handle() {
    use burn::optim::Optimizer;
    use burn::tensor::TensorData;
    let topic = load_topic("optim.json");
    // holding the configured beta1, the handle changes nothing (the reference still matches)
    let case = topic.cases_of("radam")[0];
    let (b1, b2) = betas(case);
    let hyper = HyperParams::new();
    hyper.set_momentum(b1);
    let o = RAdamConfig::new()
        .with_beta1(b1)
        .with_beta2(b2)
        .with_eps(case.f64("eps"))
        .with_weight_decay(opt_f64(case, "weight_decay", 0.0))
        .init()
        .unwrap()
        .with_hyper_params(hyper.clone());
    run(case, o.into());
    // another value is the one used
    let d = crate::test_device();
    let t = |v: f32| Tensor::<1>::from_data(TensorData::new(vec![v], [1]), &d);
    let nadam = NAdamConfig::new().init().unwrap();
    let cycled = nadam.clone().with_hyper_params(hyper.clone());
    hyper.set_momentum(0.5);
    let (p, s) = nadam.step(0.1, t(1.0), t(0.3), None);
    let (q, r) = cycled.step(0.1, t(1.0), t(0.3), None);
    let (p2, _) = nadam.step(0.1, p, t(-0.2), s);
    let (q2, _) = cycled.step(0.1, q, t(-0.2), r);
    assert_ne!(floats(p2), floats(q2));
    let lars = OptimizerConfig::Lars(LarsConfig::new().with_momentum(0.9).with_trust_coeff(0.001));
    assert!(!lars.cycles_momentum());
    assert!(OptimizerConfig::default().cycles_momentum());
}

#[test]
fn timm_names_give_timms_optimizers() {
    let sgd = |momentum, nesterov| {
        OptimizerConfig::Sgd(
            SgdConfig::new()
                .with_momentum(momentum)
                .with_nesterov(nesterov),
        )
    };
    let name = |n: &str| OptimizerConfig::from_name(n).unwrap();
    // timm's `sgd` is Nesterov; its factory passes momentum 0.9 and weight decay 0
    assert_eq!(name("sgd"), sgd(0.9, true));
    assert_eq!(name("nesterov"), sgd(0.9, true));
    assert_eq!(name("momentum"), sgd(0.9, false));
    assert_eq!(
        name("AdamW"),
        OptimizerConfig::AdamW(burn_podium::optim::AdamWConfig::new().with_weight_decay(0.0))
    );
    assert_eq!(
        name("larc"),
        OptimizerConfig::Lars(LarsConfig::new().with_momentum(0.9).with_trust_clip(true))
    );
    assert_eq!(
        name("radabelief"),
        OptimizerConfig::AdaBelief(AdaBeliefConfig::new().with_rectify(true))
    );
    assert_eq!(
        name("adabelief"),
        OptimizerConfig::AdaBelief(AdaBeliefConfig::new().with_rectify(false))
    );
    assert_eq!(name("nvnovograd"), name("novograd"));
    assert_eq!(
        name("lookahead_radam"),
        OptimizerConfig::Lookahead {
            base: Box::new(OptimizerConfig::RAdam(RAdamConfig::new())),
            lookahead: LookaheadConfig::new().with_alpha(0.5).with_k(6),
        }
    );
    assert_eq!(name("ranger"), OptimizerConfig::Ranger(RangerConfig::new()));
    let lookaheads = ["lookahead_sgd", "lookahead_adamw", "lookahead_lamb"];
    for n in OptimizerConfig::NAMES.into_iter().chain(lookaheads) {
        let config = name(n);
        config.validate().unwrap_or_else(|e| panic!("{n}: {e}"));
        // the recipe format round-trips
        let json = serde_json::to_string(&config).unwrap();
        let back: OptimizerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config, "{json}");
    }
    for bad in ["adamq", "lookahead_ranger", "lookahead_", ""] {
        match OptimizerConfig::from_name(bad) {
            Err(burn_podium::PodiumError::Config { key, reason, .. }) => {
                assert_eq!(key, "optimizer");
                assert!(reason.contains("lookahead_radam") || reason.contains("madgrad"));
            }
            other => panic!("{bad}: expected a config error, got {other:?}"),
        }
    }
}

#[test]
fn optimizer_recipes_are_tagged_by_variant_and_keys_name_the_path() {
    let json = serde_json::to_value(OptimizerConfig::default()).unwrap();
    assert_eq!(json["AdamW"]["weight_decay"], 0.01);
    assert_eq!(json["AdamW"]["eps"], 1e-8);
    let recipe = r#"{"Lookahead": {"base": {"Sgd": {"momentum": 0.9, "dampening": 0.0,
        "weight_decay": 0.0, "nesterov": true}}, "lookahead": {"alpha": 0.5, "k": 6,
        "paper_init": false}}}"#;
    let parsed: OptimizerConfig = serde_json::from_str(recipe).unwrap();
    assert_eq!(parsed, OptimizerConfig::from_name("lookahead_sgd").unwrap());
    let key = |c: OptimizerConfig| match c.validate() {
        Err(burn_podium::PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    assert_eq!(
        key(LionConfig::new().with_beta2(1.0).into()),
        "optimizer.beta2"
    );
    assert_eq!(
        key(OptimizerConfig::Lookahead {
            base: Box::new(SgdConfig::new().with_weight_decay(-1.0).into()),
            lookahead: LookaheadConfig::new(),
        }),
        "optimizer.base.weight_decay"
    );
    assert_eq!(
        key(RangerConfig::new()
            .with_radam(RAdamConfig::new().with_eps(-1.0))
            .into()),
        "optimizer.radam.eps"
    );
    assert_eq!(
        key(MadgradConfig::new().with_momentum(1.0).into()),
        "optimizer.momentum"
    );
    let clip = ClipGrad::Norm {
        max_norm: 0.0,
        norm: GradNorm::L2,
    };
    assert!(matches!(
        clip.validate(),
        Err(burn_podium::PodiumError::Config { key, .. }) if key == "max_norm"
    ));
    assert!(ClipGrad::Value { clip: -1.0 }.validate().is_err());
    assert!(ClipGrad::Value { clip: 0.5 }.validate().is_ok());
}
