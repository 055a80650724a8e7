//! Recipes and the competition workflow: one file for the whole experiment ([`Recipe`]) and the
//! steps of the `podium` command as library functions ([`train`], [`evaluate`], [`predict`],
//! [`lr_find`]), the top of the data flow (it uses every other module; none uses it).
//!
//! ```no_run
//! use burn_podium::recipe::{Recipe, TrainOptions, evaluate, train};
//! # fn main() -> burn_podium::Result<()> {
//! let mut recipe = Recipe::from_file("examples/recipes/digits.toml")?;
//! recipe.set("train.lr", "1e-3")?;
//! train(&recipe, &TrainOptions::default())?;
//! evaluate(&recipe.train.output)?;
//! # Ok(()) }
//! ```
//!
//! A recipe is TOML (or JSON, by the file's extension) with the sections `[data]`, `[model]`,
//! `[train]` and optional library sections. Every key is checked: an unknown key is an error
//! naming its dotted path and the closest valid key (`train.epoch`: did you mean
//! `train.epochs`?), a value of the wrong type names the key and the value. `--set key=value`
//! ([`Recipe::set`]) overrides any key by its dotted path, the value read as a TOML literal.
//! `docs/recipe.md` lists every key with its default.
//!
//! | recipe key | timm `train.py` | note |
//! |---|---|---|
//! | `data.train_csv` + `data.images` / `data.train_dir` | `--data-dir` (ImageFolder) | a competition's `filename,label` CSV, or class folders |
//! | `data.size` | `--input-size` / `--img-size` | square |
//! | `data.channels` | `--in-chans` | 1 or 3 |
//! | `model.name` | `--model` | [`ModelConfig::NAMES`](crate::model::ModelConfig::NAMES) |
//! | `model.pretrained` | `--pretrained` / `--initial-checkpoint` | a file; the head is new |
//! | `model.pool` | `--gp` | `avg`, `max`, `avgmax`, `catavgmax`, `gem` |
//! | `model.drop_rate` | `--drop` | |
//! | `train.epochs` | `--epochs` | |
//! | `train.batch_size` | `--batch-size` | |
//! | `train.lr` | `--lr` | the peak rate |
//! | `train.lr_min` | - | fastai's discriminative rates `slice(lr_min, lr)` |
//! | `train.optimizer` | `--opt` | timm's names, or an [`OptimizerConfig`](crate::optim::OptimizerConfig) table |
//! | `train.weight_decay` | `--weight-decay` | |
//! | `train.grad_accumulation` | `--grad-accum-steps` | |
//! | `train.label_smoothing` | `--smoothing` | |
//! | `train.seed` | `--seed` | |
//! | `train.folds`, `train.valid_fraction` | - | k-fold CV ([`Learner::fit_folds`](crate::learner::Learner::fit_folds)) or a stratified holdout |
//! | `train.metric` | `--eval-metric` | a competition [`Metric`](crate::metrics::Metric) |
//! | `train.output` | `--output` + `--experiment` | the run directory |
//! | `train.keep_best` | `--checkpoint-hist` | |
//! | `train.num_workers` | `--workers` | |
//! | `train.device` | `--device` | `auto`, `cpu`, `cuda:N` |
//! | `train.devices` | - (`torchrun --nproc-per-node`) | data parallel over several devices, `batch_size` the global batch ([`LearnerConfig::devices`](crate::learner::LearnerConfig::devices)) |
//! | `train.nan_policy` | - | `"stop"` (default) or `"skip"` a step with a NaN/inf loss or gradient ([`NanPolicy`](crate::learner::NanPolicy), `GradScaler`'s skip) |
//! | `train.precision` | `--amp`, `--amp-dtype` | `"f32"` (default), `"f16-mixed"`, `"bf16-mixed"` ([`Precision`](crate::learner::Precision): `torch.autocast` + `GradScaler`) |
//! | `augment` | `--aa`, `--reprob`, ... | a [`PipelineConfig`](crate::augment::PipelineConfig) or a timm `--aa` string |
//! | `mixup` | `--mixup`, `--cutmix`, `--mixup-prob`, ... | [`MixupConfig`](crate::mix::MixupConfig) |
//! | `loss` | `--bce-loss`, ... | [`LossConfig`](crate::loss::LossConfig) |
//! | `sampler` | - | [`SamplerConfig`](crate::sample::SamplerConfig) |
//! | `schedule` | `--sched`, `--warmup-epochs`, `--min-lr`, ... | [`ScheduleConfig`](crate::schedule::ScheduleConfig) |
//! | `ema` | `--model-ema`, `--model-ema-decay` | [`ModelEmaConfig`](crate::average::ModelEmaConfig) |
//! | `sam` | - | [`SamConfig`](crate::optim::SamConfig) |
//! | `clip_grad` | `--clip-grad`, `--clip-mode` | [`ClipGrad`](crate::optim::ClipGrad) |
//! | `early_stopping` | - | [`EarlyStoppingConfig`](crate::learner::EarlyStoppingConfig) |
//! | `fine_tune` | - | fastai's `fine_tune` ([`FineTuneConfig`](crate::learner::FineTuneConfig)) |
//!
//! The library sections take the library's types in their serde form (externally tagged enums:
//! `[schedule.OneCycle]`, `[loss.Focal]`); fields left out take the config's defaults where it
//! has them (`[mixup]`, `[sam]`, `[fine_tune]`, `[ema.V3]`, the `Cosine`, `OneCycle` and
//! `Plateau` schedules, every optimizer table).
//!
//! A run directory: `recipe.toml` (the recipe with absolute paths), then either the files of a
//! [`Learner::fit`](crate::learner::Learner::fit) run plus `oof.csv` (the validation
//! predictions) for a holdout, or `fold-K/` per fold plus `oof.csv` and `cv.json` for k-fold
//! ([`crate::learner`]'s cross-validation). [`evaluate`] adds `report/`; [`predict`] merges
//! every fold of a k-fold run.

mod keys;
mod oof;
mod outputs;
mod parse;
mod sections;
mod workflow;

pub use keys::{closest, edit_distance, parse_literal};
pub use oof::OofRows;
pub use outputs::{EvaluateOutcome, PredictOptions, PredictOutcome, evaluate, members_of, predict};
pub use sections::{
    AugmentSpec, DataSection, ModelSection, OptimizerSpec, RECIPE_FILE, Recipe, RecipeFormat,
    TrainSection, parse_pool,
};
pub use workflow::{
    LrFindOutcome, TrainOptions, TrainOutcome, build_model, holdout_run_dir, holdout_split,
    lr_find, train,
};
