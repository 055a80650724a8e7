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
    let mut s = TimmSchedule::new(kind, case.f64("base_lr"), opt_usize(case, "t_initial", 0));
    s.lr_min = opt_f64(case, "lr_min", 0.0);
    s.cycle_mul = opt_f64(case, "cycle_mul", 1.0);
    s.cycle_decay = opt_f64(case, "cycle_decay", 1.0);
    s.cycle_limit = opt_usize(case, "cycle_limit", 1);
    s.k_decay = opt_f64(case, "k_decay", 1.0);
    s.with_warmup(
        opt_usize(case, "warmup_t", 0),
        opt_f64(case, "warmup_lr_init", 0.0),
        case.has_param("warmup_prefix") && case.bool("warmup_prefix"),
    )
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
        let s = timm_schedule(case, TimmKind::Cosine);
        s.validate().unwrap();
        check_lrs(case, &s);
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
    let base = |c: &Case| c.f64("base_lr");
    for case in topic.cases_of("torch_step_lr") {
        check_lrs(
            case,
            &TorchSchedule::Step {
                base_lr: base(case),
                step_size: case.usize("step_size"),
                gamma: case.f64("gamma"),
            },
        );
    }
    for case in topic.cases_of("torch_multistep_lr") {
        check_lrs(
            case,
            &TorchSchedule::MultiStep {
                base_lr: base(case),
                milestones: usizes(case, "milestones"),
                gamma: case.f64("gamma"),
            },
        );
    }
    for case in topic.cases_of("torch_exponential_lr") {
        check_lrs(
            case,
            &TorchSchedule::Exponential {
                base_lr: base(case),
                gamma: case.f64("gamma"),
            },
        );
    }
    for case in topic.cases_of("torch_cosine_annealing_lr") {
        check_lrs(
            case,
            &TorchSchedule::CosineAnnealing {
                base_lr: base(case),
                t_max: case.usize("T_max"),
                eta_min: case.f64("eta_min"),
            },
        );
    }
    for case in topic.cases_of("torch_cosine_warm_restarts") {
        check_lrs(
            case,
            &TorchSchedule::CosineWarmRestarts {
                base_lr: base(case),
                t_0: case.usize("T_0"),
                t_mult: case.usize("T_mult"),
                eta_min: case.f64("eta_min"),
            },
        );
    }
    for case in topic.cases_of("torch_linear_lr") {
        check_lrs(
            case,
            &TorchSchedule::Linear {
                base_lr: base(case),
                start_factor: case.f64("start_factor"),
                end_factor: case.f64("end_factor"),
                total_iters: case.usize("total_iters"),
            },
        );
    }
    for case in topic.cases_of("torch_one_cycle_lr") {
        let mut c = OneCycle::new(case.f64("max_lr"), case.usize("total_steps"));
        c.pct_start = case.f64("pct_start");
        c.cos = case.str("anneal_strategy") == "cos";
        c.div_factor = case.f64("div_factor");
        c.final_div_factor = case.f64("final_div_factor");
        c.three_phase = case.bool("three_phase");
        c.base_momentum = case.f64("base_momentum");
        c.max_momentum = case.f64("max_momentum");
        c.validate().unwrap();
        let s = TorchSchedule::OneCycle(c.clone());
        check_lrs(case, &s);
        let n = case.usize("n");
        let m: Vec<f64> = (0..n).map(|i| s.momentum(i).unwrap()).collect();
        let key = if case.expected.contains_key("beta1") {
            "beta1"
        } else {
            "momentum"
        };
        case.assert_close(key, &m, &[n]);
        // the runner publishes the same curve, step by step, to the optimizer's cell
        let cell = MomentumCell::new();
        assert_eq!(cell.get(), None);
        let mut runner =
            ScheduleRunner::new(Arc::new(TorchSchedule::OneCycle(c)), StepUnit::Update)
                .with_momentum(cell.clone());
        let published: Vec<f64> = (0..n)
            .map(|_| {
                runner.step();
                cell.get().unwrap()
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
        let mut s = ReduceLrOnPlateau::new(case.f64("base_lr"), mode(case))
            .with(
                case.f64("factor"),
                case.usize("patience"),
                case.f64("threshold"),
                threshold_mode(case),
                case.usize("cooldown"),
                case.f64("min_lr"),
            )
            .unwrap();
        let metric = case.input("metric").data.clone();
        let (mut lr, mut best, mut bad, mut cd) = (vec![], vec![], vec![], vec![]);
        for &m in &metric {
            lr.push(s.step(m));
            best.push(s.best);
            bad.push(s.num_bad_epochs as f64);
            cd.push(s.cooldown_counter as f64);
        }
        let n = metric.len();
        case.assert_close("lr", &lr, &[n]);
        case.assert_close("best", &best, &[n]);
        case.assert_close("num_bad_epochs", &bad, &[n]);
        case.assert_close("cooldown_counter", &cd, &[n]);
    }
    for case in topic.cases_of("timm_plateau") {
        let inner = ReduceLrOnPlateau::new(case.f64("base_lr"), mode(case))
            .with(
                case.f64("decay_rate"),
                case.usize("patience_t"),
                case.f64("threshold"),
                threshold_mode(case),
                case.usize("cooldown_t"),
                case.f64("lr_min"),
            )
            .unwrap();
        let mut s = TimmPlateau::new(
            inner,
            opt_usize(case, "warmup_t", 0),
            opt_f64(case, "warmup_lr_init", 0.0),
        );
        let metric = case.input("metric").data.clone();
        let mut lrs = Vec::new();
        for (e, &m) in metric.iter().enumerate() {
            lrs.push(s.lr());
            s.step(e + 1, m);
        }
        case.assert_close("lr", &lrs, &[metric.len()]);
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
        let trim = num_it / 10;
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
    let s: Arc<dyn Schedule> = Arc::new(TorchSchedule::Step {
        base_lr: 1.0,
        step_size: 1,
        gamma: 0.5,
    });
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
    assert_eq!(
        key(TimmSchedule::new(TimmKind::Cosine, 0.1, 0).validate()),
        "t_initial"
    );
    assert_eq!(
        key(TimmSchedule::new(TimmKind::Cosine, 0.0, 10).validate()),
        "base_lr"
    );
    assert_eq!(
        key(TimmSchedule::new(
            TimmKind::Step {
                decay_t: 0,
                decay_rate: 0.5
            },
            0.1,
            0
        )
        .validate()),
        "decay_t"
    );
    let mut c = OneCycle::new(0.1, 100);
    c.pct_start = 1.5;
    assert_eq!(key(c.validate()), "pct_start");
    assert!(
        ReduceLrOnPlateau::new(0.1, PlateauMode::Min)
            .with(1.5, 2, 1e-4, ThresholdMode::Rel, 0, 0.0)
            .is_err()
    );
}
