//! A NaN or infinite loss or gradient: `nan_policy = "stop"` ends the run naming the epoch and
//! the step and keeps the last complete epoch; `"skip"` skips and counts the poisoned updates,
//! leaving the weights as they were. A [`StopSignal`] abandons the epoch under way.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn_podium::PodiumError;
use burn_podium::data::{ImageDataset, digits};
use burn_podium::learner::{
    Learner, LearnerConfig, NanPolicy, RunInfo, StopSignal, load_checkpoint, read_metrics_csv,
};
use burn_podium::model::ImageClassifier;

use crate::fixtures::{quiet_config as config, skipped_column, temp_files};

/// What a [`Probe`] does at given training forwards (numbered from 1 over the process's run),
/// and the weights it saw at each.
#[derive(Debug, Default)]
struct Poison {
    calls: AtomicUsize,
    /// Forwards whose logits (so the loss) become NaN.
    nan_loss: Vec<usize>,
    /// Forwards whose loss stays finite but whose gradients become NaN (`0 * sqrt'(0)`).
    nan_grad: Vec<usize>,
    /// A forward that sets the stop signal.
    stop_at: Option<(usize, StopSignal)>,
    /// The weights each training forward saw, in order.
    weights: Mutex<Vec<Vec<f32>>>,
}

impl Poison {
    fn loss_at(steps: &[usize]) -> Arc<Self> {
        Arc::new(Self {
            nan_loss: steps.to_vec(),
            ..Self::default()
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn weights(&self) -> Vec<Vec<f32>> {
        self.weights.lock().unwrap().clone()
    }
}

/// A linear probe on the 8 x 8 digits that a [`Poison`] drives.
#[derive(Module, Debug)]
struct Probe {
    fc: Linear,
    #[module(skip)]
    poison: Arc<Poison>,
}

fn probe(poison: Arc<Poison>) -> Probe {
    let device = burn_podium::device::default_device();
    Probe {
        fc: LinearConfig::new(64, 10).init(&device),
        poison,
    }
}

fn weights_of(p: &Probe) -> Vec<f32> {
    p.fc.weight.val().into_data().try_to_vec::<f32>().unwrap()
}

impl ImageClassifier for Probe {
    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let logits = self.fc.forward(images.flatten(1, 3));
        let w = self.fc.weight.val();
        if !w.is_require_grad() {
            return logits; // validation
        }
        let p = &self.poison;
        let n = p.calls.fetch_add(1, Ordering::SeqCst) + 1;
        p.weights
            .lock()
            .unwrap()
            .push(w.clone().into_data().try_to_vec::<f32>().unwrap());
        if let Some((at, stop)) = &p.stop_at
            && *at == n
        {
            stop.stop();
        }
        if p.nan_loss.contains(&n) {
            return logits.mul_scalar(f32::NAN);
        }
        if p.nan_grad.contains(&n) {
            // 0 in the forward pass, NaN in the backward one
            let zero = (w.abs() * 0.0).sqrt().sum().reshape([1, 1]);
            return logits + zero;
        }
        logits
    }
}

fn learner(config: LearnerConfig) -> Learner {
    Learner::new(config, &burn_podium::device::default_device())
}

fn data() -> (ImageDataset, ImageDataset, usize) {
    let (train, valid) = digits().unwrap().split_stratified(0.2, 0).unwrap();
    // drop_last (the default): whole batches only
    let per_epoch = train.len() / 64;
    (train, valid, per_epoch)
}

fn valid_epochs(dir: &Path) -> Vec<usize> {
    read_metrics_csv(dir.join("metrics.csv"))
        .unwrap()
        .iter()
        .filter(|r| r.split == "valid")
        .map(|r| r.epoch)
        .collect()
}

#[test]
fn a_nan_loss_stops_the_run_naming_epoch_and_step_and_keeps_the_last_checkpoint() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let (train, valid, per_epoch) = data();
    let poison = Poison::loss_at(&[per_epoch + 3]);
    let cfg = config(dir.path(), 3);
    assert_eq!(cfg.nan_policy, NanPolicy::Stop, "the default");
    let err = learner(cfg.clone())
        .fit(probe(poison.clone()), train.clone(), valid.clone())
        .unwrap_err();
    match &err {
        PodiumError::NonFinite {
            epoch,
            step,
            what,
            value,
            last_complete_epoch,
            run_dir,
        } => {
            assert_eq!((*epoch, *step, *last_complete_epoch), (2, 3, 1));
            assert_eq!((what.as_str(), value.as_str()), ("loss", "NaN"));
            assert_eq!(run_dir, dir.path());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("epoch 2, step 3") && msg.contains("nan_policy"),
        "{msg}"
    );
    // the run stopped at that step
    assert_eq!(poison.calls(), per_epoch + 3);
    // epoch 2 was neither validated nor checkpointed; epoch 1's checkpoint loads and holds the
    // weights the first epoch ended with
    assert_eq!(valid_epochs(dir.path()), [1]);
    let ckpt = dir.path().join("checkpoint");
    assert!(!ckpt.join("model-2.bpk").exists());
    let loaded = load_checkpoint(probe(Arc::default()), ckpt.join("model-1.bpk")).unwrap();
    assert_eq!(weights_of(&loaded), poison.weights()[per_epoch]);
    assert!(temp_files(dir.path()).is_empty());

    // resumed with nan_policy = "skip" (a key that may change on resume), the same batch (the
    // third of epoch 2) is skipped and counted, and the run ends
    let again = Poison::loss_at(&[3]);
    let fitted = learner(cfg.with_resume(true).with_nan_policy(NanPolicy::Skip))
        .fit(probe(again.clone()), train, valid)
        .unwrap();
    assert_eq!(again.calls(), 2 * per_epoch);
    assert_eq!(fitted.info.skipped_steps, 1);
    assert_eq!(RunInfo::load(dir.path()).unwrap().skipped_steps, 1);
    assert_eq!(valid_epochs(dir.path()), [1, 2, 3]);
    let skipped: Vec<(String, String, String)> = skipped_column(dir.path());
    let train_rows: Vec<&str> = skipped
        .iter()
        .filter(|r| r.1 == "train")
        .map(|r| r.2.as_str())
        .collect();
    assert_eq!(train_rows, ["0", "1", "0"]);
}

#[test]
fn a_nan_gradient_with_a_finite_loss_stops_the_run_too() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let (train, valid, _) = data();
    let poison = Arc::new(Poison {
        nan_grad: vec![4],
        ..Poison::default()
    });
    let err = learner(config(dir.path(), 2))
        .fit(probe(poison.clone()), train, valid)
        .unwrap_err();
    match err {
        PodiumError::NonFinite {
            epoch,
            step,
            what,
            last_complete_epoch,
            ..
        } => {
            assert_eq!((epoch, step, what.as_str()), (1, 4, "gradient"));
            assert_eq!(last_complete_epoch, 0);
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert_eq!(poison.calls(), 4);
    // nothing complete to keep: no checkpoint was written
    assert!(!dir.path().join("checkpoint/model-1.bpk").exists());
}

#[test]
fn skip_counts_poisoned_updates_and_leaves_the_weights_as_they_were() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let (train, valid, per_epoch) = data();
    let poison = Arc::new(Poison {
        nan_loss: vec![2, per_epoch + 5],
        nan_grad: vec![per_epoch + 6],
        ..Poison::default()
    });
    let fitted = learner(config(dir.path(), 2).with_nan_policy(NanPolicy::Skip))
        .fit(probe(poison.clone()), train, valid)
        .unwrap();
    assert_eq!(poison.calls(), 2 * per_epoch);
    assert_eq!(fitted.info.skipped_steps, 3);
    assert_eq!(RunInfo::load(dir.path()).unwrap().skipped_steps, 3);
    // forward n saw weights[n - 1]: a skipped update n leaves forward n + 1 the same weights,
    // an applied one changes them
    let weights = poison.weights();
    for n in [2, per_epoch + 5, per_epoch + 6] {
        assert_eq!(weights[n], weights[n - 1], "update {n} was skipped");
    }
    for n in [1, 3, per_epoch + 7] {
        assert_ne!(weights[n], weights[n - 1], "update {n} was applied");
    }
    // the optimizer state took no NaN: every later weight is finite, validation too
    assert!(weights.iter().flatten().all(|w| w.is_finite()));
    assert!(
        fitted
            .history
            .iter()
            .filter(|r| r.split == "valid")
            .all(|r| r.loss.is_finite())
    );
    assert_eq!(
        skipped_column(dir.path()),
        [
            ("1".into(), "train".into(), "1".into()),
            ("1".into(), "valid".into(), String::new()),
            ("2".into(), "train".into(), "2".into()),
            ("2".into(), "valid".into(), String::new()),
        ]
    );
    // a file of the previous layout (no skipped_steps column) reads to the same rows
    let csv = dir.path().join("metrics.csv");
    let rows = read_metrics_csv(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let older: String = text
        .lines()
        .map(|l| format!("{}\n", &l[..l.rfind(',').unwrap()]))
        .collect();
    assert!(older.starts_with("epoch,split,loss,accuracy,top5_accuracy,lr,seconds,score\n"));
    std::fs::write(&csv, older).unwrap();
    assert_eq!(
        format!("{:?}", read_metrics_csv(&csv).unwrap()),
        format!("{rows:?}")
    );
}

#[test]
fn a_stop_signal_abandons_the_epoch_and_resume_finishes_the_run() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let (train, valid, per_epoch) = data();
    let stop = StopSignal::new();
    let poison = Arc::new(Poison {
        stop_at: Some((per_epoch + 2, stop.clone())),
        ..Poison::default()
    });
    let cfg = config(dir.path(), 3);
    let err = learner(cfg.clone())
        .with_stop_signal(stop.clone())
        .fit(probe(poison.clone()), train.clone(), valid.clone())
        .unwrap_err();
    match &err {
        PodiumError::Interrupted {
            reason,
            last_complete_epoch,
            ..
        } => assert_eq!(
            (reason.as_str(), *last_complete_epoch),
            ("stop requested", 1)
        ),
        other => panic!("expected Interrupted, got {other:?}"),
    }
    assert!(err.to_string().contains("resume"), "{err}");
    assert_eq!((stop.signal(), stop.exit_code()), (None, None));
    // the step that saw the stop was the last
    assert_eq!(poison.calls(), per_epoch + 2);
    assert_eq!(valid_epochs(dir.path()), [1]);
    assert!(!dir.path().join("checkpoint/model-2.bpk").exists());
    assert!(temp_files(dir.path()).is_empty());

    // a run asked to stop before it starts trains nothing
    let idle = Arc::new(Poison::default());
    let err = learner(cfg.clone().with_resume(true))
        .with_stop_signal(stop)
        .fit(probe(idle.clone()), train.clone(), valid.clone())
        .unwrap_err();
    assert!(matches!(
        err,
        PodiumError::Interrupted {
            last_complete_epoch: 1,
            ..
        }
    ));
    assert_eq!(idle.calls(), 0);

    // resumed, it ends with every epoch once
    let fitted = learner(cfg.with_resume(true))
        .with_stop_signal(StopSignal::new())
        .fit(probe(Arc::default()), train, valid)
        .unwrap();
    assert_eq!(fitted.epochs_run(), 3);
    assert_eq!(valid_epochs(dir.path()), [1, 2, 3]);
}
