//! A tour of training objectives on the embedded digits: the quickstart CNN trained with plain
//! cross-entropy, with label smoothing, with mixup + CutMix on label-smoothed soft targets (timm's recipe), and with a
//! focal loss mixed the fastai way. Prints test accuracy for each.
//!
//! ```sh
//! cargo run --release --example losses_tour
//! ```

use burn_podium::prelude::*;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let device = default_device();
    let seed = 42;
    let (train, test) = digits()?.split_stratified(0.2, seed)?;
    let (train, valid) = train.split_stratified(0.1, seed)?;

    let mixing = MixupConfig::new()
        .with_mixup_alpha(0.2)
        .with_cutmix_alpha(1.0);
    // (name, loss, mixing, the run's label smoothing: the Learner gives it to the loss, or to
    // the mixed soft targets when the loss trains on them)
    let recipes: Vec<(&str, LossConfig, Option<MixupConfig>, f64)> = vec![
        ("cross-entropy", LossConfig::default(), None, 0.0),
        ("label smoothing 0.1", LossConfig::default(), None, 0.1),
        (
            "mixup + cutmix, soft-target CE",
            LossConfig::default(),
            Some(mixing.clone()),
            0.1,
        ),
        (
            "mixup + cutmix, focal (fastai mixing)",
            LossConfig::Focal {
                gamma: 2.0,
                alpha: None,
            },
            Some(mixing),
            0.0,
        ),
    ];

    let mut results = Vec::new();
    for (name, loss, mixup, label_smoothing) in recipes {
        let config = LearnerConfig::new()
            .with_epochs(30)
            .with_batch_size(32)
            .with_lr(3e-3)
            .with_seed(seed)
            .with_loss(loss)
            .with_label_smoothing(label_smoothing)
            .with_mixup(mixup)
            .with_progress(ProgressMode::Quiet)
            .with_run_dir(
                fresh_run_dir(format!(
                    "runs/losses_tour/{}",
                    name.replace([' ', ',', '+'], "_")
                ))
                .to_string_lossy()
                .into_owned(),
            );
        let learner = Learner::new(config, &device);
        let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
        let fitted = learner.fit(model, train.clone(), valid.clone())?;
        let report = fitted.evaluate(&test)?;
        println!("{name:<40} test accuracy: {:.2}%", report.accuracy);
        results.push((name, report.accuracy));
    }
    println!("\n| objective | test accuracy |\n|---|---|");
    for (name, acc) in results {
        println!("| {name} | {acc:.2}% |");
    }
    Ok(())
}
