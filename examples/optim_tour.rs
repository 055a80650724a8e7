//! A tour of the optimization tools on the embedded digits: the LR finder's plot and
//! suggestion, then a one-cycle run at that rate with SAM and an EMA of the weights, printing
//! test accuracy with and without the EMA.
//!
//! ```sh
//! cargo run --release --example optim_tour
//! ```

use burn_podium::average::ModelEmaConfig;
use burn_podium::learner::LrFinderConfig;
use burn_podium::optim::SamConfig;
use burn_podium::prelude::*;
use burn_podium::schedule::{OneCycleConfig, Suggestion};

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let device = default_device();
    let seed = 42;
    let (train, test) = digits()?.split_stratified(0.2, seed)?;
    let (train, valid) = train.split_stratified(0.1, seed)?;
    let base = || {
        LearnerConfig::new()
            .with_epochs(20)
            .with_batch_size(32)
            .with_seed(seed)
            .with_progress(ProgressMode::Quiet)
    };

    // 1. The LR finder, on a copy of the model.
    let learner = Learner::new(
        base().with_run_dir(
            fresh_run_dir("runs/optim_tour/lr_find")
                .to_string_lossy()
                .into_owned(),
        ),
        &device,
    );
    let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
    let sweep = learner.lr_find(&model, &train, &LrFinderConfig::default())?;
    std::fs::create_dir_all("runs/optim_tour")
        .map_err(|e| PodiumError::io("runs/optim_tour", e))?;
    sweep.write_csv("runs/optim_tour/lr_find.csv")?;
    sweep.plot_png("runs/optim_tour/lr_find.png")?;
    let valley = sweep.suggest(Suggestion::Valley)?;
    let steep = sweep.suggest(Suggestion::Steep)?;
    println!(
        "lr_find: {} points; valley {:.2e}, steep {:.2e} (plot: runs/optim_tour/lr_find.png)",
        sweep.recorded.len(),
        valley.lr,
        steep.lr
    );

    // 2. One-cycle at the valley rate (x10 for the peak, fastai's habit), SAM, and an EMA.
    let config = base()
        .with_lr(valley.lr * 10.0)
        .with_schedule(ScheduleConfig::OneCycle(OneCycleConfig::new()))
        .with_sam(Some(SamConfig::new().with_rho(0.05)))
        .with_ema(Some(ModelEmaConfig::v3(0.99)))
        .with_run_dir(
            fresh_run_dir("runs/optim_tour/one_cycle_sam_ema")
                .to_string_lossy()
                .into_owned(),
        );
    let learner = Learner::new(config, &device);
    let model = SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?;
    let fitted = learner.fit(model, train, valid)?;
    let with_ema = fitted.evaluate(&test)?;
    let live_path = fitted
        .run_dir
        .join(format!("checkpoint/model-{}.bpk", fitted.info.best_epoch));
    let live = load_checkpoint(
        SimpleCnnConfig::new(10).with_in_channels(1).init(&device)?,
        live_path,
    )?;
    let without = evaluate(&live, &test, &fitted.info.normalize, 256, &device)?;
    println!("best epoch {}", fitted.info.best_epoch);
    println!("test accuracy without EMA: {:.2}%", without.accuracy);
    println!("test accuracy with EMA:    {:.2}%", with_ema.accuracy);
    Ok(())
}
