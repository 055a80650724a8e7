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
    let d = Device::default().autodiff();
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
        let o = TorchSgd::new(
            case.f64("momentum"),
            opt_f64(case, "dampening", 0.0),
            case.f64("weight_decay"),
            case.bool("nesterov"),
        )
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
    for case in topic.cases_of("adam") {
        let (b1, b2) = betas(case);
        let amsgrad = case.has_param("amsgrad") && case.bool("amsgrad");
        let o = TorchAdam::adam(
            b1,
            b2,
            case.f64("eps"),
            opt_f64(case, "weight_decay", 0.0),
            amsgrad,
        )
        .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("adamw") {
        let (b1, b2) = betas(case);
        let amsgrad = case.has_param("amsgrad") && case.bool("amsgrad");
        let o =
            TorchAdam::adamw(b1, b2, case.f64("eps"), case.f64("weight_decay"), amsgrad).unwrap();
        run(case, o.into());
    }
    // a beta1 cell that holds the configured value changes nothing
    let case = topic.cases_of("adam")[0];
    let (b1, b2) = betas(case);
    let cell = burn_podium::schedule::MomentumCell::new();
    cell.set(b1);
    let o = TorchAdam::adam(
        b1,
        b2,
        case.f64("eps"),
        opt_f64(case, "weight_decay", 0.0),
        false,
    )
    .unwrap()
    .with_beta1_cell(cell);
    if !(case.has_param("amsgrad") && case.bool("amsgrad")) {
        run(case, o.into());
    }
}

#[test]
fn radam_nadam_adamax_adabelief_match() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("radam") {
        let (b1, b2) = betas(case);
        run(
            case,
            RAdam::new(b1, b2, case.f64("eps"), case.f64("weight_decay"))
                .unwrap()
                .into(),
        );
    }
    for case in topic.cases_of("nadam") {
        let (b1, b2) = betas(case);
        let o = NAdam::new(
            b1,
            b2,
            case.f64("eps"),
            opt_f64(case, "weight_decay", 0.0),
            case.f64("momentum_decay"),
        )
        .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("adamax") {
        let (b1, b2) = betas(case);
        run(
            case,
            Adamax::new(b1, b2, case.f64("eps"), opt_f64(case, "weight_decay", 0.0))
                .unwrap()
                .into(),
        );
    }
    for case in topic.cases_of("adabelief") {
        let (b1, b2) = betas(case);
        let o = AdaBelief::new(
            b1,
            b2,
            case.f64("eps"),
            case.f64("weight_decay"),
            case.bool("decoupled_decay"),
            case.bool("rectify"),
            !case.has_param("degenerated_to_sgd") || case.bool("degenerated_to_sgd"),
        )
        .unwrap();
        run(case, o.into());
    }
}

fn grads3(case: &Case, d: &Device) -> Vec<Tensor<1>> {
    ["g0", "g1", "g2"]
        .iter()
        .map(|k| {
            let t = case.input(k);
            Tensor::<1>::from_floats(t.f32s().as_slice(), d)
        })
        .collect()
}

#[test]
fn gradient_clipping_matches_torch() {
    let topic = load_topic("optim.json");
    let d = Device::default();
    for case in topic.cases_of("clip_grad_norm") {
        let norm = match case.str("norm_type") {
            "1" => GradNorm::L1,
            "2" => GradNorm::L2,
            "inf" => GradNorm::Inf,
            other => panic!("{other}"),
        };
        let (clipped, total) =
            clip_grad_norm_tensors(grads3(case, &d), case.f64("max_norm"), norm).unwrap();
        case.assert_close("total_norm", &[total], &[]);
        for (k, g) in ["g0", "g1", "g2"].iter().zip(clipped) {
            let shape = case.expected(k).shape.clone();
            case.assert_close(k, &floats(g), &shape);
        }
    }
    for case in topic.cases_of("clip_grad_value") {
        let clipped = clip_grad_value_tensors(grads3(case, &d), case.f64("clip_value")).unwrap();
        for (k, g) in ["g0", "g1", "g2"].iter().zip(clipped) {
            let shape = case.expected(k).shape.clone();
            case.assert_close(k, &floats(g), &shape);
        }
    }
    assert!(clip_grad_norm_tensors(vec![], 0.0, GradNorm::L2).is_err());
    assert!(clip_grad_value_tensors(vec![], -1.0).is_err());
}

#[test]
fn module_level_clipping_uses_one_global_norm() {
    let d = Device::default().autodiff();
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
    let d = Device::default().autodiff();
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
    assert!(TorchSgd::new(0.0, 0.0, 0.0, true).is_err());
    assert!(RAdam::new(1.0, 0.999, 1e-8, 0.0).is_err());
    assert!(NAdam::new(0.9, 0.999, -1.0, 0.0, 4e-3).is_err());
    assert!(Adamax::new(0.9, 0.999, 1e-8, -0.1).is_err());
    assert!(AdaBelief::new(0.9, 1.5, 1e-16, 0.0, true, false, true).is_err());
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
            .build()
    };
    for case in topic.cases_of("lookahead_adam") {
        let o = Lookahead::new(adam(case), case.f64("alpha"), case.usize("k")).unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("lookahead_adam_paper_init") {
        let o = Lookahead::new(adam(case), case.f64("alpha"), case.usize("k"))
            .unwrap()
            .with_paper_init(true);
        run(case, o.into());
    }
    for case in topic.cases_of("lookahead_radam") {
        let (b1, b2) = betas(case);
        let o = Lookahead::new(
            RAdam::new(b1, b2, case.f64("eps"), 0.0).unwrap(),
            case.f64("alpha"),
            case.usize("k"),
        )
        .unwrap();
        run(case, o.into());
    }
    assert!(Lookahead::new(RAdam::torch_default(), 1.5, 6).is_err());
    assert!(Lookahead::new(RAdam::torch_default(), 0.5, 0).is_err());
}

#[test]
fn sam_and_asam_match_the_reference_implementation() {
    let topic = load_topic("optim.json");
    let d = Device::default().autodiff();
    for case in topic.cases_of("sam") {
        let a = case.input("A").float::<2>(&d);
        let b = case.input("b").float::<1>(&d);
        let mut q = Quad {
            w: Param::from_tensor(case.input("W0").float::<2>(&d)),
            v: Param::from_tensor(case.input("v0").float::<1>(&d)),
        };
        let sam = Sam::new(case.f64("rho"), case.bool("adaptive")).unwrap();
        let mut optim: ModuleOptimizer = TorchSgd::new(
            case.f64("momentum"),
            0.0,
            case.f64("weight_decay"),
            case.bool("nesterov"),
        )
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
    assert!(Sam::new(-0.1, false).is_err());
}

#[test]
fn lars_lamb_and_novograd_match_timm() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("lars") {
        let o = Lars::new(
            case.f64("momentum"),
            case.f64("weight_decay"),
            case.f64("trust_coeff"),
            case.f64("eps"),
            case.bool("trust_clip"),
            case.bool("nesterov"),
        )
        .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("nvnovograd") {
        let (b1, b2) = betas(case);
        let o = NvNovoGrad::new(
            b1,
            b2,
            case.f64("eps"),
            case.f64("weight_decay"),
            case.bool("grad_averaging"),
        )
        .unwrap();
        run(case, o.into());
    }
    for case in topic.cases_of("lamb") {
        let (b1, b2) = betas(case);
        assert!(case.bool("bias_correction"));
        let o = Lamb::new(
            b1,
            b2,
            case.f64("eps"),
            case.f64("weight_decay"),
            case.bool("trust_clip"),
            case.bool("grad_averaging"),
        )
        .unwrap();
        // timm's Lamb clips the global gradient norm first
        run_clipped(case, o.into(), Some(case.f64("max_grad_norm")));
    }
}

#[test]
fn madgrad_matches_timm() {
    let topic = load_topic("optim.json");
    for case in topic.cases_of("madgrad") {
        let o = Madgrad::new(
            case.f64("momentum"),
            case.f64("weight_decay"),
            case.f64("eps"),
            false,
        )
        .unwrap();
        run(case, o.into());
    }
    assert!(Madgrad::new(1.0, 0.0, 1e-6, false).is_err());
}

#[test]
fn sgd_takes_its_momentum_from_a_cycling_cell() {
    use burn::optim::Optimizer;
    use burn::tensor::TensorData;
    use burn_podium::schedule::MomentumCell;
    let d = Device::default();
    let t = |v: [f32; 2]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [2]), &d);
    let cell = MomentumCell::new();
    let sgd = TorchSgd::new(0.9, 0.0, 0.0, false)
        .unwrap()
        .with_momentum_cell(cell.clone());
    let (g1, g2) = ([1.0f32, -2.0], [0.5f32, 0.25]);
    let lr = 0.1;
    // no value yet: the configured 0.9; the first buffer is the gradient either way
    let (p1, s1) = sgd.step(lr, t([0.0, 0.0]), t(g1), None);
    cell.set(0.5);
    let (p2, _) = sgd.step(lr, p1.clone(), t(g2), s1.clone());
    // buf2 = 0.5 * g1 + g2; p2 = p1 - lr * buf2
    let expected: Vec<f64> = (0..2)
        .map(|i| (-(lr as f32) * g1[i] - lr as f32 * (0.5 * g1[i] + g2[i])) as f64)
        .collect();
    for (a, e) in floats(p2).iter().zip(&expected) {
        assert!((a - e).abs() < 1e-6, "{a} vs {e}");
    }
    let plain = TorchSgd::new(0.9, 0.0, 0.0, false).unwrap();
    let (q2, _) = plain.step(lr, p1, t(g2), s1);
    assert!(
        (floats(q2)[0] - expected[0]).abs() > 1e-3,
        "the cell's momentum is the one used"
    );
}

#[test]
fn adam_family_optimizers_read_beta1_from_a_cell() {
    use burn::optim::Optimizer;
    use burn::tensor::TensorData;
    use burn_podium::learner::OptimizerConfig;
    use burn_podium::schedule::MomentumCell;
    let topic = load_topic("optim.json");
    // holding the configured beta1, the cell changes nothing (the reference still matches)
    let case = topic.cases_of("radam")[0];
    let (b1, b2) = betas(case);
    let cell = MomentumCell::new();
    cell.set(b1);
    let o = RAdam::new(b1, b2, case.f64("eps"), opt_f64(case, "weight_decay", 0.0))
        .unwrap()
        .with_beta1_cell(cell.clone());
    run(case, o.into());
    // another value is the one used
    let d = Device::default();
    let t = |v: f32| Tensor::<1>::from_data(TensorData::new(vec![v], [1]), &d);
    let nadam = NAdam::torch_default();
    let cycled = NAdam::torch_default().with_beta1_cell(cell.clone());
    cell.set(0.5);
    let (p, s) = nadam.step(0.1, t(1.0), t(0.3), None);
    let (q, r) = cycled.step(0.1, t(1.0), t(0.3), None);
    let (p2, _) = nadam.step(0.1, p, t(-0.2), s);
    let (q2, _) = cycled.step(0.1, q, t(-0.2), r);
    assert_ne!(floats(p2), floats(q2));
    let lars = OptimizerConfig::Lars {
        momentum: 0.9,
        weight_decay: 0.0,
        trust_coeff: 0.001,
        trust_clip: false,
    };
    assert!(!lars.cycles_momentum());
    assert!(OptimizerConfig::adamw().cycles_momentum());
}
