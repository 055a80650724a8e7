//! The `podium` command: a Kaggle-style competition from a folder of images to a k-fold,
//! TTA-ensembled submission. Each subcommand is one library function of
//! [`burn_podium::recipe`]; errors print as `error: <message>` and exit with 2 for bad input
//! (a recipe, a key, a file, a value) and 1 for a failure while training or predicting (a NaN
//! or infinite loss under `train.nan_policy = "stop"` among them).
//!
//! `podium train` stops cleanly on the first SIGINT (Ctrl-C) or SIGTERM
//! ([`StopSignal::on_terminate`]): the epoch under way is abandoned, the last complete epoch's
//! checkpoints stay, the command to continue with `--resume` is printed, and the exit code is
//! 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process the signal ended. A second signal
//! ends the process at once, with the same code.

use std::path::PathBuf;
use std::process::ExitCode;

use burn_podium::PodiumError;
use burn_podium::infer::EnsembleMode;
use burn_podium::learner::StopSignal;
use burn_podium::recipe::{self, PredictOptions, Recipe, TrainOptions};
use clap::{Parser, Subcommand};

// A pooling allocator: training steps reuse their large temporaries instead of returning them to
// the system and faulting them back in (BENCHMARKS.md "Memory").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Image classification for competitions: train with cross-validation, evaluate, predict.
#[derive(Parser, Debug)]
#[command(name = "podium", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the recipe: every fold not done yet (then the CV files), or one fold.
    Train {
        /// The recipe (TOML or JSON).
        #[arg(long, value_name = "RECIPE")]
        config: PathBuf,
        /// Override a key by its dotted path, e.g. `--set train.lr=1e-3` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Train only fold K (a job-array task writing to a shared output directory).
        #[arg(long, value_name = "K")]
        fold: Option<usize>,
        /// Continue an interrupted run or fold.
        #[arg(long)]
        resume: bool,
    },
    /// Write the evaluation report of a run (or of the out-of-fold predictions of a k-fold run).
    Evaluate {
        /// The run directory (`train.output`).
        run_dir: PathBuf,
    },
    /// Predict a test folder with one or more runs (all folds of a k-fold run) and write the
    /// submission.
    Predict {
        /// Run directories; their members' probabilities are averaged.
        #[arg(required = true, value_name = "RUN_DIR")]
        run_dirs: Vec<PathBuf>,
        /// The folder of test images.
        #[arg(long, value_name = "DIR")]
        test_dir: PathBuf,
        /// The competition's sample submission: its header, ids and row order are kept.
        #[arg(long, value_name = "CSV")]
        sample_submission: Option<PathBuf>,
        /// Test-time augmentation, e.g. `hflip`, `flips`, `d4`, `tencrop=224`, `scales=224,256`.
        #[arg(long, value_name = "SPEC")]
        tta: Option<String>,
        /// The submission file (default submission.csv); probabilities go beside it.
        #[arg(long, value_name = "CSV")]
        out: Option<PathBuf>,
        /// How members merge: `mean` of probabilities, `geometric` mean, or `rank` average.
        #[arg(long, value_name = "MODE", default_value = "mean")]
        ensemble: String,
        /// One weight per RUN_DIR, comma-separated (every fold of a run gets its run's weight).
        #[arg(long, value_name = "W,W,...", value_delimiter = ',')]
        weights: Option<Vec<f64>>,
        /// Test-time input size (FixRes: larger than training often scores better).
        #[arg(long, value_name = "PIXELS")]
        size: Option<usize>,
    },
    /// fastai's learning-rate finder on the recipe: prints a suggestion, saves the plot.
    LrFind {
        /// The recipe (TOML or JSON).
        #[arg(long, value_name = "RECIPE")]
        config: PathBuf,
        /// Override a key by its dotted path (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

/// A failure and its exit code: 2 for the user's input, 1 for the run, `128 + signal` for an
/// interrupted run.
struct Failure {
    error: PodiumError,
    code: u8,
}

impl From<PodiumError> for Failure {
    fn from(error: PodiumError) -> Self {
        let run_failed = matches!(
            error,
            PodiumError::Training(_)
                | PodiumError::Checkpoint { .. }
                | PodiumError::NonFinite { .. }
                | PodiumError::Interrupted { .. }
        );
        Self {
            error,
            code: if run_failed { 1 } else { 2 },
        }
    }
}

/// This command line with `--resume` (added when missing), to continue an interrupted run.
fn resume_command() -> String {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--resume") {
        args.push("--resume".into());
    }
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "\"'$`\\".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect();
    format!("podium {}", quoted.join(" "))
}

fn load(config: &PathBuf, set: &[String]) -> Result<Recipe, Failure> {
    let mut recipe = Recipe::from_file(config)?;
    recipe.set_all(set)?;
    recipe.validate()?;
    Ok(recipe)
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Train {
            config,
            set,
            fold,
            resume,
        } => {
            let recipe = load(&config, &set)?;
            let stop = StopSignal::on_terminate()?;
            let options = TrainOptions {
                fold,
                resume,
                stop: Some(stop.clone()),
            };
            recipe::train(&recipe, &options).map_err(|error| match error {
                PodiumError::Interrupted { .. } => Failure {
                    error,
                    code: stop.exit_code().unwrap_or(130),
                },
                error => Failure::from(error),
            })?;
        }
        Command::Evaluate { run_dir } => {
            recipe::evaluate(&run_dir)?;
        }
        Command::Predict {
            run_dirs,
            test_dir,
            sample_submission,
            tta,
            out,
            ensemble,
            weights,
            size,
        } => {
            let options = PredictOptions {
                sample_submission,
                tta,
                out,
                ensemble: EnsembleMode::from_name(&ensemble)?,
                weights,
                size,
            };
            recipe::predict(&run_dirs, &test_dir, &options)?;
        }
        Command::LrFind { config, set } => {
            let recipe = load(&config, &set)?;
            recipe::lr_find(&recipe)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // mimalloc keeps the steps' freed temporaries (README "Memory").
    burn_podium::util::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.error);
            if matches!(f.error, PodiumError::Interrupted { .. }) {
                eprintln!("continue with: {}", resume_command());
            }
            ExitCode::from(f.code)
        }
    }
}
