//! The long-tail results table on the embedded digits.
//!
//! A seeded stratified 80/20 split; the training part cut to imbalance factor 0.05 (Cao et al.'s
//! exponential profile: the head class keeps all its images, the tail class 5% of them); the
//! balanced test part kept. The quickstart CNN is trained with plain cross-entropy, three
//! samplers, effective-number class weights and the class-balanced focal loss, over 3 seeds,
//! and the table gives balanced test accuracy (mean per-class recall), mean and spread.
//!
//! ```sh
//! cargo run --release --example long_tail
//! ```

use burn_podium::loss::ClassBalancedLossType;
use burn_podium::prelude::*;
use burn_podium::sample::effective_number;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let device = default_device();
    let (train_full, test) = digits()?.split_stratified(0.2, 0)?;
    let train = train_full.long_tailed(0.05, ImbalanceProfile::Exponential, 0)?;
    let counts = train.class_counts();
    println!(
        "long-tailed training counts per class: {counts:?} ({} images)",
        train.len()
    );
    println!("balanced test set: {:?}\n", test.class_counts());

    let beta = 0.999;
    let cb_weights = effective_number(&counts, beta)?.w_norm;
    let recipes: Vec<(&str, LossConfig, SamplerConfig)> = vec![
        (
            "cross-entropy",
            LossConfig::default(),
            SamplerConfig::Shuffle,
        ),
        (
            "class-balanced sampler",
            LossConfig::default(),
            SamplerConfig::ClassBalanced,
        ),
        (
            "square-root sampler",
            LossConfig::default(),
            SamplerConfig::SquareRoot,
        ),
        (
            "progressively balanced sampler",
            LossConfig::default(),
            SamplerConfig::ProgressivelyBalanced,
        ),
        (
            "CE, effective-number weights (beta 0.999)",
            LossConfig::CrossEntropy {
                weight: Some(cb_weights),
            },
            SamplerConfig::Shuffle,
        ),
        (
            "class-balanced focal (beta 0.999, gamma 2)",
            LossConfig::ClassBalanced {
                beta,
                gamma: 2.0,
                loss_type: ClassBalancedLossType::Focal,
            },
            SamplerConfig::Shuffle,
        ),
    ];

    let seeds = [1u64, 2, 3];
    let mut rows = Vec::new();
    for (name, loss, sampler) in recipes {
        let mut scores = Vec::new();
        for &seed in &seeds {
            let (tr, valid) = train.split_stratified(0.15, seed)?;
            let config = LearnerConfig::new()
                .with_epochs(30)
                .with_batch_size(32)
                .with_lr(3e-3)
                .with_seed(seed)
                .with_loss(loss.clone())
                .with_sampler(sampler)
                .with_monitor(Monitor::ValidLoss)
                .with_progress(ProgressMode::Quiet)
                .with_run_dir(
                    fresh_run_dir(format!(
                        "runs/long_tail/{}-{seed}",
                        name.split(' ').next().unwrap_or("run")
                    ))
                    .to_string_lossy()
                    .into_owned(),
                );
            let learner = Learner::new(config, &device);
            let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
            let fitted = learner.fit(model, tr, valid)?;
            scores.push(fitted.evaluate(&test)?.balanced_accuracy());
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>()
            / (scores.len() - 1) as f64)
            .sqrt();
        println!("{name:<45} balanced accuracy {mean:.2}% +/- {std:.2} ({scores:.2?})");
        rows.push((name, mean, std));
    }
    println!("\n| recipe | balanced test accuracy (mean +/- std, 3 seeds) |\n|---|---|");
    for (name, mean, std) in rows {
        println!("| {name} | {mean:.2}% +/- {std:.2} |");
    }
    Ok(())
}
