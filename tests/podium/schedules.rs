//! Every case of `schedules.json`: timm's and torch's schedules step by step, the plateau state
//! machines, and fastai's LR-finder numbers; plus the burn-train adapter.

use std::sync::Arc;

use burn::optim::lr_scheduler::LrScheduler;
use burn_podium::schedule::*;

use crate::reference::{Case, load_topic};

fn opt_f64(case: &Case, key: &str, default: f64) -> f64 {
    if case.has_param(key) {
        case.f64(key)
    } else {
        default
    }
}

fn opt_usize(case: &Case, key: &str, default: usize) -> usize {
    if case.has_param(key) {
        case.usize(key)
    } else {
        default
    }
}

fn usizes(case: &Case, key: &str) -> Vec<usize> {
    case.params[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

fn timm_schedule(case: &Case, kind: TimmKind) -> TimmSchedule {
    TimmScheduleConfig::new(kind)
        .with_t_initial(opt_usize(case, "t_initial", 0))
        .with_lr_min(opt_f64(case, "lr_min", 0.0))
        .with_cycle_mul(opt_f64(case, "cycle_mul", 1.0))
        .with_cycle_decay(opt_f64(case, "cycle_decay", 1.0))
        .with_cycle_limit(opt_usize(case, "cycle_limit", 1))
        .with_k_decay(opt_f64(case, "k_decay", 1.0))
        .with_warmup_t(opt_usize(case, "warmup_t", 0))
        .with_warmup_lr_init(opt_f64(case, "warmup_lr_init", 0.0))
        .with_warmup_prefix(case.has_param("warmup_prefix") && case.bool("warmup_prefix"))
        .init(case.f64("base_lr"))
        .unwrap()
}

fn check_lrs(case: &Case, s: &dyn Schedule) {
    let n = case.usize("n");
    let lrs: Vec<f64> = (0..n).map(|t| s.lr(t)).collect();
    case.assert_close("lr", &lrs, &[n]);
}

#[test]
fn timm_schedules_match() {
    let topic = load_topic("schedules.json");
    for case in topic.cases_of("timm_cosine") {
        check_lrs(case, &timm_schedule(case, TimmKind::Cosine));
    }
    for case in topic.cases_of("timm_poly") {
        check_lrs(
            case,
            &timm_schedule(
                case,
                TimmKind::Poly {
                    power: case.f64("power"),
                },
            ),
        );
    }
    for case in topic.cases_of("timm_tanh") {
        check_lrs(
            case,
            &timm_schedule(
                case,
                TimmKind::Tanh {
                    lb: case.f64("lb"),
                    ub: case.f64("ub"),
                },
            ),
        );
    }
    for case in topic.cases_of("timm_step") {
        let kind = TimmKind::Step {
            decay_t: case.usize("decay_t"),
            decay_rate: case.f64("decay_rate"),
        };
        check_lrs(case, &timm_schedule(case, kind));
    }
    for case in topic.cases_of("timm_multistep") {
        let kind = TimmKind::MultiStep {
            decay_t: usizes(case, "decay_t"),
            decay_rate: case.f64("decay_rate"),
        };
        check_lrs(case, &timm_schedule(case, kind));
    }
}

#[test]
fn torch_schedules_match() {
    let topic = load_topic("schedules.json");
    let check = |case: &Case, config: TorchScheduleConfig| {
        check_lrs(case, &config.init(case.f64("base_lr")).unwrap());
    };
    for case in topic.cases_of("torch_step_lr") {
        let config = TorchScheduleConfig::Step {
            step_size: case.usize("step_size"),
            gamma: case.f64("gamma"),
        };
        check(case, config);
    }
    for case in topic.cases_of("torch_multistep_lr") {
        let config = TorchScheduleConfig::MultiStep {
            milestones: usizes(case, "milestones"),
            gamma: case.f64("gamma"),
        };
        check(case, config);
    }
    for case in topic.cases_of("torch_exponential_lr") {
        let config = TorchScheduleConfig::Exponential {
            gamma: case.f64("gamma"),
        };
        check(case, config);
    }
    for case in topic.cases_of("torch_cosine_annealing_lr") {
        let config = TorchScheduleConfig::CosineAnnealing {
            t_max: case.usize("T_max"),
            eta_min: case.f64("eta_min"),
        };
        check(case, config);
    }
    for case in topic.cases_of("torch_cosine_warm_restarts") {
        let config = TorchScheduleConfig::CosineWarmRestarts {
            t_0: case.usize("T_0"),
            t_mult: case.usize("T_mult"),
            eta_min: case.f64("eta_min"),
        };
        check(case, config);
    }
    for case in topic.cases_of("torch_linear_lr") {
        let config = TorchScheduleConfig::Linear {
            start_factor: case.f64("start_factor"),
            end_factor: case.f64("end_factor"),
            total_iters: case.usize("total_iters"),
        };
        check(case, config);
    }
    for case in topic.cases_of("torch_one_cycle_lr") {
        let s = OneCycleConfig::new()
            .with_pct_start(case.f64("pct_start"))
            .with_anneal_strategy(match case.str("anneal_strategy") {
                "cos" => AnnealStrategy::Cos,
                _ => AnnealStrategy::Linear,
            })
            .with_div_factor(case.f64("div_factor"))
            .with_final_div_factor(case.f64("final_div_factor"))
            .with_three_phase(case.bool("three_phase"))
            .with_cycle_momentum(case.bool("cycle_momentum"))
            .with_base_momentum(case.f64("base_momentum"))
            .with_max_momentum(case.f64("max_momentum"))
            .init(case.f64("max_lr"), case.usize("total_steps"))
            .unwrap();
        check_lrs(case, &s);
        let n = case.usize("n");
        let m: Vec<f64> = (0..n).map(|i| s.momentum(i).unwrap()).collect();
        let key = if case.expected.contains_key("beta1") {
            "beta1"
        } else {
            "momentum"
        };
        case.assert_close(key, &m, &[n]);
        // the runner publishes the same curve, step by step, to the optimizer's handle
        let hyper = burn_podium::optim::HyperParams::new();
        assert_eq!(hyper.momentum(), None);
        let mut runner =
            ScheduleRunner::new(Arc::new(s), StepUnit::Update).with_hyper_params(hyper.clone());
        let published: Vec<f64> = (0..n)
            .map(|_| {
                runner.step();
                hyper.momentum().unwrap()
            })
            .collect();
        case.assert_close(key, &published, &[n]);
    }
}

fn mode(case: &Case) -> PlateauMode {
    if case.str("mode") == "min" {
        PlateauMode::Min
    } else {
        PlateauMode::Max
    }
}

fn threshold_mode(case: &Case) -> ThresholdMode {
    if case.str("threshold_mode") == "rel" {
        ThresholdMode::Rel
    } else {
        ThresholdMode::Abs
    }
}

#[test]
fn reduce_on_plateau_matches_torch_state_by_state() {
    let topic = load_topic("schedules.json");
    for case in topic.cases_of("torch_reduce_lr_on_plateau") {
        let mut s = PlateauConfig::new()
            .with_factor(case.f64("factor"))
            .with_patience(case.usize("patience"))
            .with_threshold(case.f64("threshold"))
            .with_threshold_mode(threshold_mode(case))
            .with_cooldown(case.usize("cooldown"))
            .with_min_lr(case.f64("min_lr"))
            .init(case.f64("base_lr"), mode(case))
            .unwrap();
        let metric = case.input("metric").data.clone();
        let (mut lr, mut best, mut bad, mut cd) = (vec![], vec![], vec![], vec![]);
        for (e, &m) in metric.iter().enumerate() {
            lr.push(s.step(e + 1, m));
            let state = s.state();
            best.push(state.best);
            bad.push(state.num_bad_epochs as f64);
            cd.push(state.cooldown_counter as f64);
        }
        let n = metric.len();
        case.assert_close("lr", &lr, &[n]);
        case.assert_close("best", &best, &[n]);
        case.assert_close("num_bad_epochs", &bad, &[n]);
        case.assert_close("cooldown_counter", &cd, &[n]);
    }
    for case in topic.cases_of("timm_plateau") {
        let config = PlateauConfig::new()
            .with_factor(case.f64("decay_rate"))
            .with_patience(case.usize("patience_t"))
            .with_threshold(case.f64("threshold"))
            .with_threshold_mode(threshold_mode(case))
            .with_cooldown(case.usize("cooldown_t"))
            .with_min_lr(case.f64("lr_min"))
            .with_warmup_epochs(opt_usize(case, "warmup_t", 0))
            .with_warmup_lr_init(opt_f64(case, "warmup_lr_init", 0.0));
        let mut s = config.init(case.f64("base_lr"), mode(case)).unwrap();
        let metric = case.input("metric").data.clone();
        let mut lrs = Vec::new();
        for (e, &m) in metric.iter().enumerate() {
            lrs.push(s.lr());
            s.step(e + 1, m);
        }
        case.assert_close("lr", &lrs, &[metric.len()]);
        // the driver the Learner feeds walks the same rates, and is the scheduler applying them
        let mut driver = PlateauDriver::new(config.init(case.f64("base_lr"), mode(case)).unwrap());
        let mut applied = Vec::new();
        for (e, &m) in metric.iter().enumerate() {
            applied.push(driver.step());
            driver.observe(e + 1, m);
        }
        case.assert_close("lr", &applied, &[metric.len()]);
    }
}

#[test]
fn lr_finder_numbers_match_fastai() {
    let topic = load_topic("schedules.json");
    for case in topic.cases_of("lr_find") {
        let (start, end, num_it) = (
            case.f64("start_lr"),
            case.f64("end_lr"),
            case.usize("num_it"),
        );
        assert_eq!(case.usize("trim_start"), num_it / 10);
        let lrs = lr_find_schedule(start, end, num_it);
        case.assert_close("lrs", &lrs, &[num_it]);
        case.assert_close(
            "lrs_inclusive",
            &lr_find_schedule_inclusive(start, end, num_it),
            &[num_it],
        );
        let mut smooth = SmoothedLoss::new(case.f64("beta") as f32, case.f64("stop_div_factor"));
        for (lr, &loss) in lrs.iter().zip(&case.input("raw_loss").data) {
            if smooth.record(*lr, loss as f32) && case.bool("stop_div") {
                break;
            }
        }
        let n = smooth.recorded.len();
        let s: Vec<f64> = smooth.recorded.iter().map(|p| p.1).collect();
        case.assert_close("smoothed_loss", &s, &[n]);
        case.assert_close("n_recorded", &[n as f64], &[]);
        let steep = suggest(&smooth.recorded, num_it, Suggestion::Steep).unwrap();
        let valley = suggest(&smooth.recorded, num_it, Suggestion::Valley).unwrap();
        let minimum = suggest(&smooth.recorded, num_it, Suggestion::Minimum).unwrap();
        // the suggestions skip fastai's first num_it / 10 points (asserted above)
        let trim = case.usize("trim_start");
        case.assert_close("steep_index", &[(steep.index - trim) as f64], &[]);
        case.assert_close("steep_index_full", &[steep.index as f64], &[]);
        case.assert_close("steep_lr", &[steep.lr], &[]);
        case.assert_close("valley_index", &[(valley.index - trim) as f64], &[]);
        case.assert_close("valley_index_full", &[valley.index as f64], &[]);
        case.assert_close("valley_lr", &[valley.lr], &[]);
        case.assert_close("minimum_index", &[(minimum.index - trim) as f64], &[]);
        case.assert_close("minimum_suggestion", &[minimum.lr], &[]);
        let inclusive = lr_find_schedule_inclusive(start, end, num_it);
        case.assert_close("steep_lr_inclusive", &[inclusive[steep.index]], &[]);
        case.assert_close("valley_lr_inclusive", &[inclusive[valley.index]], &[]);
    }
}

#[test]
fn slide_finds_the_end_of_the_flat_stretch_and_short_curves_are_errors() {
    // flat, then a steady descent, then a blow-up: slide stops where the gradient settles
    let lrs = lr_find_schedule(1e-5, 1.0, 100);
    let recorded: Vec<(f64, f64)> = lrs
        .iter()
        .enumerate()
        .map(|(i, &lr)| {
            let loss = if i < 40 {
                2.0
            } else if i < 80 {
                2.0 - 0.04 * (i - 40) as f64
            } else {
                0.4 + 0.5 * (i - 80) as f64
            };
            (lr, loss)
        })
        .collect();
    let slide = suggest(&recorded, 100, Suggestion::Slide).unwrap();
    assert!((10..95).contains(&slide.index), "{slide:?}");
    assert!(matches!(
        suggest(&recorded[..12], 100, Suggestion::Valley),
        Err(burn_podium::PodiumError::Config { .. })
    ));
}

#[test]
fn runner_steps_per_update_or_per_epoch_and_resumes() {
    let step = TorchScheduleConfig::Step {
        step_size: 1,
        gamma: 0.5,
    };
    let s: Arc<dyn Schedule> = Arc::new(step.init(1.0).unwrap());
    let mut per_update = ScheduleRunner::new(s.clone(), StepUnit::Update);
    let a: Vec<f64> = (0..4).map(|_| per_update.step()).collect();
    assert_eq!(a, vec![1.0, 0.5, 0.25, 0.125]);
    let mut per_epoch = ScheduleRunner::new(
        s.clone(),
        StepUnit::Epoch {
            updates_per_epoch: 3,
        },
    );
    let b: Vec<f64> = (0..7).map(|_| per_epoch.step()).collect();
    assert_eq!(b, vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
    let mut resumed = ScheduleRunner::new(s, StepUnit::Update);
    resumed.load_record(per_update.to_record());
    assert_eq!(resumed.step(), 0.0625);
}

#[test]
fn bad_schedule_values_are_typed_errors() {
    let key = |r: burn_podium::Result<()>| match r {
        Err(burn_podium::PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    let cosine = TimmScheduleConfig::new(TimmKind::Cosine);
    assert_eq!(key(cosine.init(0.1).map(drop)), "t_initial");
    assert_eq!(
        key(cosine.clone().with_t_initial(10).init(0.0).map(drop)),
        "base_lr"
    );
    let step = TimmScheduleConfig::new(TimmKind::Step {
        decay_t: 0,
        decay_rate: 0.5,
    });
    assert_eq!(key(step.init(0.1).map(drop)), "decay_t");
    let c = OneCycleConfig::new().with_pct_start(1.5);
    assert_eq!(key(c.init(0.1, 100).map(drop)), "pct_start");
    assert!(
        PlateauConfig::new()
            .with_factor(1.5)
            .with_patience(2)
            .init(0.1, PlateauMode::Min)
            .is_err()
    );
}

#[test]
fn schedule_configs_build_each_schedule_for_a_run() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let (lr, epochs, per_epoch) = (0.1, 3, 4);
    let total = epochs * per_epoch;
    let run = |config: &ScheduleConfig, ctx: &ScheduleContext| {
        let mut scheduler = config.init(ctx).unwrap();
        (0..total)
            .map(|_| scheduler.step().base())
            .collect::<Vec<f64>>()
    };
    let ctx = || ScheduleContext::new(lr, epochs, per_epoch);
    let per_epoch_of = |s: &dyn Schedule| (0..total).map(|k| s.lr(k / per_epoch)).collect();
    let per_update_of = |s: &dyn Schedule| (0..total).map(|k| s.lr(k)).collect::<Vec<_>>();

    assert_eq!(run(&ScheduleConfig::Constant, &ctx()), vec![lr; total]);
    // torch's and timm's schedules step per epoch from the run's rate
    let sgdr = TorchScheduleConfig::CosineWarmRestarts {
        t_0: 1,
        t_mult: 2,
        eta_min: 0.0,
    };
    let expected: Vec<f64> = per_epoch_of(&sgdr.init(lr).unwrap());
    assert_eq!(run(&ScheduleConfig::Torch(sgdr), &ctx()), expected);
    let timm = TimmScheduleConfig::new(TimmKind::Cosine).with_t_initial(epochs);
    let expected: Vec<f64> = per_epoch_of(&timm.init(lr).unwrap());
    assert_eq!(run(&ScheduleConfig::Timm(timm), &ctx()), expected);
    // cosine with warm-up per update
    let cosine = WarmupCosineConfig::new().with_warmup_epochs(1);
    let mut standalone = cosine.init(lr, epochs, per_epoch).unwrap();
    let expected: Vec<f64> = (0..total).map(|_| standalone.step()).collect();
    assert_eq!(run(&ScheduleConfig::Cosine(cosine), &ctx()), expected);
    // one-cycle over every update, writing its momentum into the handle
    let one_cycle = OneCycleConfig::new();
    let standalone = one_cycle.init(lr, total).unwrap();
    let config = ScheduleConfig::OneCycle(one_cycle.clone());
    assert!(config.cycles_momentum());
    assert!(!ScheduleConfig::OneCycle(one_cycle.with_cycle_momentum(false)).cycles_momentum());
    let hyper = burn_podium::optim::HyperParams::new();
    let mut scheduler = config
        .init(&ctx().with_hyper_params(Some(hyper.clone())))
        .unwrap();
    for k in 0..total {
        assert_eq!(scheduler.step().base(), standalone.lr(k));
        assert_eq!(hyper.momentum(), standalone.momentum(k));
    }
    assert_eq!(run(&config, &ctx()), per_update_of(&standalone));
    // a plateau schedule applies the rate of the driver it is given
    let plateau = ScheduleConfig::Plateau(PlateauConfig::new().with_patience(0));
    assert!(
        ScheduleConfig::Constant
            .plateau(lr, PlateauMode::Min)
            .unwrap()
            .is_none()
    );
    let driver = plateau.plateau(lr, PlateauMode::Max).unwrap().unwrap();
    let mut scheduler = plateau
        .init(&ctx().with_plateau(Some(driver.clone())))
        .unwrap();
    assert_eq!(scheduler.step().base(), lr);
    driver.observe(1, 0.5);
    driver.observe(2, 0.4);
    assert!((scheduler.step().base() - lr * 0.1).abs() < 1e-15);
    match plateau.init(&ctx()) {
        Err(burn_podium::PodiumError::Config { key, .. }) => assert_eq!(key, "schedule"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
    // the recipe format round-trips
    for config in [
        ScheduleConfig::Constant,
        ScheduleConfig::default(),
        ScheduleConfig::Torch(TorchScheduleConfig::MultiStep {
            milestones: vec![2, 4],
            gamma: 0.1,
        }),
        ScheduleConfig::OneCycle(OneCycleConfig::new()),
        ScheduleConfig::Plateau(PlateauConfig::new()),
        ScheduleConfig::Timm(
            TimmScheduleConfig::new(TimmKind::Poly { power: 0.5 }).with_t_initial(5),
        ),
    ] {
        let json = serde_json::to_string(&config).unwrap();
        let back: ScheduleConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config, "{json}");
        config.validate().unwrap();
    }
    let json = serde_json::to_value(ScheduleConfig::default()).unwrap();
    assert_eq!(json["Cosine"]["warmup_epochs"], 0);
    // values are checked without a run, keys name the field
    let bad = ScheduleConfig::Torch(TorchScheduleConfig::Step {
        step_size: 0,
        gamma: 0.1,
    });
    assert!(matches!(
        bad.validate(),
        Err(burn_podium::PodiumError::Config { key, .. }) if key == "step_size"
    ));
}
