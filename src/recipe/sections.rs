//! [`Recipe`]: the whole experiment as one serde value, read from TOML or JSON, checked key by
//! key, overridden by dotted paths, and turned into the library's configs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::{check_known, parse_literal, set_path, set_weight_decay, short};
use super::parse::{parse_tree, typed, untagged_error, value, with_defaults};
use crate::augment::{Normalize, PipelineConfig, TransformConfig};
use crate::average::ModelEmaConfig;
use crate::codec::{ColorMode, DecodeOptions};
use crate::data::{CsvColumns, ImageDataset};
use crate::error::{PodiumError, Result};
use crate::learner::{
    EarlyStoppingConfig, FineTuneConfig, LearnerConfig, Monitor, NanPolicy, Precision,
};
use crate::loss::LossConfig;
use crate::metrics::Metric;
use crate::mix::MixupConfig;
use crate::model::{GlobalPool, ModelConfig};
use crate::optim::{ClipGrad, OptimizerConfig, SamConfig};
use crate::sample::SamplerConfig;
use crate::schedule::ScheduleConfig;
use crate::util::write_atomic;

/// The file name [`Recipe::save`] writes in a run directory.
pub const RECIPE_FILE: &str = "recipe.toml";

/// `[data]`: where the training images are and how they are decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSection {
    /// A CSV of `filename,label` rows ([`ImageDataset::from_csv`]); give this or `train_dir`.
    pub train_csv: Option<PathBuf>,
    /// A folder with one sub-folder per class ([`ImageDataset::from_folder`]).
    pub train_dir: Option<PathBuf>,
    /// The folder holding `train_csv`'s files (required with `train_csv`).
    pub images: Option<PathBuf>,
    /// Square input size: every image is decoded at `size x size` (timm's `--input-size`).
    /// Default 224.
    pub size: usize,
    /// 3 (RGB) or 1 (grayscale, timm's `--in-chans 1`). Default 3.
    pub channels: usize,
    /// Follow each photo's EXIF orientation, as PIL's `ImageOps.exif_transpose` and
    /// torchvision's `decode_image(apply_exif_orientation=True)` do
    /// ([`DecodeOptions::exif_orientation`]); `false` decodes pixels as stored, as timm's
    /// `Image.open().convert("RGB")` does. Default `true`.
    pub exif_orientation: bool,
    /// `train_csv`'s column of image ids or file names, read by name from its header row
    /// ([`ImageDataset::from_csv_columns`]); unset with `label_column` and `group_column` too,
    /// the CSV is read as `filename,label` rows ([`ImageDataset::from_csv`]). Default `id`.
    pub id_column: Option<String>,
    /// `train_csv`'s column of labels, by name. Default `label`.
    pub label_column: Option<String>,
    /// `train_csv`'s column of groups (a patient, a video): group k-fold (scikit-learn's
    /// `GroupKFold`), no group in two folds.
    pub group_column: Option<String>,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            train_csv: None,
            train_dir: None,
            images: None,
            size: 224,
            channels: 3,
            exif_orientation: true,
            id_column: None,
            label_column: None,
            group_column: None,
        }
    }
}

/// `[model]`: the network, by timm's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSection {
    /// One of [`ModelConfig::NAMES`] (required).
    pub name: Option<String>,
    /// Pretrained weights (torchvision `.pth` or timm `.safetensors`) loaded under a new head
    /// for the data's classes ([`AnyModel::load_backbone`](crate::model::AnyModel::load_backbone));
    /// inputs are then normalized with the ImageNet statistics.
    pub pretrained: Option<PathBuf>,
    /// Global pooling: `avg` (default), `max`, `avgmax`, `catavgmax`, `gem` (p = 3) or `gem=P`.
    pub pool: String,
    /// Dropout before the classifier (timm's `--drop`); default the architecture's.
    pub drop_rate: Option<f64>,
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            name: None,
            pretrained: None,
            pool: "avg".into(),
            drop_rate: None,
        }
    }
}

/// `train.optimizer`: a timm name (`"adamw"`, `"lookahead_radam"`, see
/// [`OptimizerConfig::from_name`]) or the library's [`OptimizerConfig`] as a table
/// (`[train.optimizer.Sgd]` with `momentum = 0.9`, ...; omitted fields take the config's
/// defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptimizerSpec {
    /// A timm name.
    Name(String),
    /// A full config.
    Config(OptimizerConfig),
}

/// `augment`: the library's pipeline ([`PipelineConfig`], `[[augment.transforms]]` tables), or
/// a timm auto-augment string (`"rand-m9-mstd0.5"`, `"augmix-m3"`, `"trivial"`, `"autoaug"`;
/// [`TransformConfig::from_timm`]), which makes a pipeline of that one transform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AugmentSpec {
    /// A timm string.
    Timm(String),
    /// A pipeline.
    Pipeline(PipelineConfig),
}

impl AugmentSpec {
    /// The pipeline.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`augment`) for an unknown timm string.
    pub fn pipeline(&self) -> Result<PipelineConfig> {
        match self {
            Self::Timm(s) => Ok(PipelineConfig::new(vec![
                TransformConfig::from_timm(s).map_err(|e| e.map_key(|_| "augment".into()))?,
            ])),
            Self::Pipeline(p) => Ok(p.clone()),
        }
    }
}

/// `[train]`: the run's scalar settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainSection {
    /// Epochs. Default 10.
    pub epochs: usize,
    /// Batch size. Default 64.
    pub batch_size: usize,
    /// Peak learning rate. Default 1e-3.
    pub lr: f64,
    /// Discriminative rates: the first layer group peaks at `lr_min` ([`LearnerConfig::lr_min`]).
    pub lr_min: Option<f64>,
    /// The optimizer. Default `"adamw"`.
    pub optimizer: OptimizerSpec,
    /// Weight decay, set on the optimizer (timm's `--weight-decay`); default the optimizer's.
    pub weight_decay: Option<f64>,
    /// Gradient accumulation steps. Default 1.
    pub grad_accumulation: usize,
    /// Label smoothing. Default 0.
    pub label_smoothing: f64,
    /// The run seed. Default 42.
    pub seed: u64,
    /// Folds: 2 or more for k-fold cross-validation, 0 or 1 for one stratified holdout split of
    /// `valid_fraction`. Default 5.
    pub folds: usize,
    /// Holdout fraction (with `folds` 0 or 1). Default 0.2.
    pub valid_fraction: f64,
    /// The competition metric. Default accuracy.
    pub metric: Metric,
    /// The run directory (one `fold-K` sub-directory per fold). Default `runs/podium`.
    pub output: PathBuf,
    /// Best checkpoints kept. Default 1.
    pub keep_best: usize,
    /// Decoding threads (0: all cores). Default 0.
    pub num_workers: usize,
    /// The device ([`device_from_name`](crate::device::device_from_name)): `auto`,
    /// `flex`/`cpu`, `ndarray`, `cuda`, `cuda:N`, `wgpu`, `wgpu:cpu`, `wgpu:gpu:N`, `vulkan`
    /// (each with its cargo feature). Default `auto`.
    pub device: String,
    /// timm's `crop_pct` for validation, out-of-fold and test images
    /// ([`LearnerConfig::crop_pct`]): resize to `floor(size / crop_pct)`, center-crop `size`.
    /// Default 0.875 (timm's) with `model.pretrained`, so the weights see what they were
    /// evaluated on; without pretrained weights the default is none (evaluation images resized
    /// to `size` as the training images are, which a model trained from scratch on resized
    /// images expects).
    pub crop_pct: Option<f64>,
    /// Weight decay on biases and normalization weights too; default off (timm's
    /// `param_groups_weight_decay`, [`LearnerConfig::weight_decay_norm_bias`]).
    pub weight_decay_norm_bias: bool,
    /// A NaN or infinite training loss or gradient: `"stop"` the run (default) or `"skip"` the
    /// step's update ([`LearnerConfig::nan_policy`]).
    pub nan_policy: NanPolicy,
    /// Data-parallel training on several devices (`["cuda:0", "cuda:1"]`), each a `device` name;
    /// empty (the default) trains on `device` ([`LearnerConfig::devices`]: `batch_size` stays
    /// the global batch).
    pub devices: Vec<String>,
    /// Mixed precision: `"f32"` (default), `"f16-mixed"` or `"bf16-mixed"`
    /// ([`LearnerConfig::precision`]).
    pub precision: Precision,
}

impl Default for TrainSection {
    fn default() -> Self {
        let l = LearnerConfig::new();
        Self {
            epochs: l.epochs,
            batch_size: l.batch_size,
            lr: l.lr,
            lr_min: None,
            optimizer: OptimizerSpec::Name("adamw".into()),
            weight_decay: None,
            grad_accumulation: l.grad_accumulation,
            label_smoothing: l.label_smoothing,
            seed: l.seed,
            folds: 5,
            valid_fraction: 0.2,
            metric: Metric::Accuracy,
            output: PathBuf::from(l.run_dir),
            keep_best: l.keep_best,
            num_workers: l.num_workers,
            device: "auto".into(),
            crop_pct: None,
            weight_decay_norm_bias: l.weight_decay_norm_bias,
            nan_policy: l.nan_policy,
            devices: l.devices,
            precision: l.precision,
        }
    }
}

/// The whole experiment (see the [module docs](super) for every key).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Recipe {
    /// `[data]`.
    pub data: DataSection,
    /// `[model]`.
    pub model: ModelSection,
    /// `[train]`.
    pub train: TrainSection,
    /// Training augmentation ([`LearnerConfig::augment`]).
    pub augment: Option<AugmentSpec>,
    /// Batch mixing ([`LearnerConfig::mixup`]).
    pub mixup: Option<MixupConfig>,
    /// The loss ([`LearnerConfig::loss`]); default cross-entropy.
    pub loss: Option<LossConfig>,
    /// The sampler ([`LearnerConfig::sampler`]); default shuffle.
    pub sampler: Option<SamplerConfig>,
    /// The schedule ([`LearnerConfig::schedule`]); default cosine.
    pub schedule: Option<ScheduleConfig>,
    /// Weight EMA ([`LearnerConfig::ema`]).
    pub ema: Option<ModelEmaConfig>,
    /// SAM ([`LearnerConfig::sam`]).
    pub sam: Option<SamConfig>,
    /// Gradient clipping ([`LearnerConfig::clip_grad`]).
    pub clip_grad: Option<ClipGrad>,
    /// Early stopping ([`LearnerConfig::early_stopping`]).
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// fastai's `fine_tune` ([`FineTuneConfig`]) instead of one plain fit (holdout runs only).
    pub fine_tune: Option<FineTuneConfig>,
}

/// The text formats a recipe is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipeFormat {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl Recipe {
    /// Reads a recipe file, TOML or JSON by its extension.
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming a file that cannot be read; [`PodiumError::Format`] naming the
    /// file for another extension or a syntax error; [`PodiumError::Config`] as
    /// [`Self::from_str_with_format`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => RecipeFormat::Toml,
            Some(e) if e.eq_ignore_ascii_case("json") => RecipeFormat::Json,
            _ => {
                return Err(PodiumError::format(
                    path,
                    "a recipe is a .toml or .json file",
                ));
            }
        };
        let text = std::fs::read_to_string(path).map_err(|e| PodiumError::io(path, e))?;
        let tree = parse_tree(&text, format).map_err(|reason| PodiumError::format(path, reason))?;
        Self::from_tree(&tree)
    }

    /// Reads a recipe from text.
    ///
    /// # Errors
    /// [`PodiumError::Format`] (path `<recipe>`) for a syntax error; [`PodiumError::Config`]
    /// naming the dotted key for an unknown key (with the closest valid key) or a value of the
    /// wrong type (with the value).
    pub fn from_str_with_format(text: &str, format: RecipeFormat) -> Result<Self> {
        let tree =
            parse_tree(text, format).map_err(|reason| PodiumError::format("<recipe>", reason))?;
        Self::from_tree(&tree)
    }

    /// Reads a recipe from its key tree (JSON values).
    ///
    /// # Errors
    /// As [`Self::from_str_with_format`].
    pub fn from_tree(tree: &Value) -> Result<Self> {
        if !tree.is_object() {
            return Err(PodiumError::config(
                "<recipe>",
                short(tree),
                "a recipe is a table of sections",
            ));
        }
        let recipe: Recipe =
            typed(&with_defaults(tree), tree, "").map_err(|e| untagged_error(tree).unwrap_or(e))?;
        check_known(tree, &value(&recipe), "")?;
        Ok(recipe)
    }

    /// Overrides one key by its dotted path (`train.lr`, `mixup.prob`, `data.size`): `value`
    /// is read as a TOML literal (`1e-3`, `true`, `[1, 2]`), else as a string.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key: unknown (with the closest valid key), of the
    /// wrong type (with the value), or under a value that is not a table. The recipe is
    /// unchanged on error.
    pub fn set(&mut self, key: &str, value_text: &str) -> Result<()> {
        let mut tree = value(&*self);
        set_path(&mut tree, key, parse_literal(value_text))?;
        *self = Self::from_tree(&tree)?;
        Ok(())
    }

    /// Applies `key=value` overrides in order ([`Self::set`]).
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`--set`) for an item without `=`; as [`Self::set`].
    pub fn set_all<S: AsRef<str>>(&mut self, items: &[S]) -> Result<()> {
        for item in items {
            let item = item.as_ref();
            let (key, v) = item.split_once('=').ok_or_else(|| {
                PodiumError::config("--set", item, "expected key=value, e.g. train.lr=1e-3")
            })?;
            self.set(key.trim(), v.trim())?;
        }
        Ok(())
    }

    /// The [`LearnerConfig`] of the run (run directory: `train.output`).
    ///
    /// The competition metric (`train.metric`) is the monitored metric
    /// ([`Monitor::Metric`]): it picks the best checkpoint, drives early stopping and the
    /// plateau schedule, and scores the folds and the report.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key: an unknown optimizer name, a `weight_decay` for
    /// an optimizer without one, an unknown timm augmentation string, and every check of
    /// [`LearnerConfig::validate`] (prefixed with its section).
    pub fn learner_config(&self) -> Result<LearnerConfig> {
        let t = &self.train;
        let mut optimizer = match &t.optimizer {
            OptimizerSpec::Name(n) => {
                OptimizerConfig::from_name(n).map_err(|e| e.in_section("train"))?
            }
            OptimizerSpec::Config(c) => c.clone(),
        };
        if let Some(wd) = t.weight_decay {
            let mut tree = value(&optimizer);
            if set_weight_decay(&mut tree, wd) == 0 {
                return Err(PodiumError::config(
                    "train.weight_decay",
                    wd,
                    "the optimizer has no weight decay",
                ));
            }
            optimizer = serde_json::from_value(tree)
                .map_err(|e| PodiumError::config("train.weight_decay", wd, e.to_string()))?;
        }
        let normalize = self.model.pretrained.as_ref().map(|_| {
            let n = Normalize::imagenet();
            if self.data.channels == 1 {
                Normalize {
                    mean: vec![n.mean.iter().sum::<f32>() / 3.0],
                    std: vec![n.std.iter().sum::<f32>() / 3.0],
                }
            } else {
                n
            }
        });
        let monitor = Monitor::Metric(t.metric);
        let crop_pct = t
            .crop_pct
            .or_else(|| self.model.pretrained.as_ref().map(|_| 0.875));
        let config = LearnerConfig::new()
            .with_epochs(t.epochs)
            .with_batch_size(t.batch_size)
            .with_lr(t.lr)
            .with_lr_min(t.lr_min)
            .with_optimizer(optimizer)
            .with_grad_accumulation(t.grad_accumulation)
            .with_label_smoothing(t.label_smoothing)
            .with_seed(t.seed)
            .with_keep_best(t.keep_best)
            .with_num_workers(t.num_workers)
            .with_run_dir(t.output.to_string_lossy().into_owned())
            .with_monitor(monitor)
            .with_crop_pct(crop_pct)
            .with_weight_decay_norm_bias(t.weight_decay_norm_bias)
            .with_nan_policy(t.nan_policy)
            .with_devices(t.devices.clone())
            .with_precision(t.precision)
            .with_normalize(normalize)
            .with_augment(
                self.augment
                    .as_ref()
                    .map(AugmentSpec::pipeline)
                    .transpose()?,
            )
            .with_mixup(self.mixup.clone())
            .with_loss(self.loss.clone().unwrap_or_default())
            .with_sampler(self.sampler.unwrap_or_default())
            .with_schedule(self.schedule.clone().unwrap_or_default())
            .with_ema(self.ema)
            .with_sam(self.sam)
            .with_clip_grad(self.clip_grad)
            .with_early_stopping(self.early_stopping);
        Ok(config)
    }

    /// Checks the whole recipe: the data source, the model name and pooling, the device, the
    /// folds and holdout fraction, and the [`LearnerConfig`].
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the dotted key at fault.
    pub fn validate(&self) -> Result<()> {
        let d = &self.data;
        match (&d.train_csv, &d.train_dir) {
            (Some(_), Some(dir)) => {
                return Err(PodiumError::config(
                    "data.train_dir",
                    dir.display(),
                    "give train_csv or train_dir, not both",
                ));
            }
            (None, None) => {
                return Err(PodiumError::config(
                    "data.train_csv",
                    "(missing)",
                    "give train_csv (with images) or train_dir",
                ));
            }
            (Some(csv), None) if d.images.is_none() => {
                return Err(PodiumError::config(
                    "data.images",
                    "(missing)",
                    format!("the folder holding {}'s images is required", csv.display()),
                ));
            }
            _ => {}
        }
        if d.size == 0 {
            return Err(PodiumError::config("data.size", 0, "must be at least 1"));
        }
        if d.channels != 1 && d.channels != 3 {
            return Err(PodiumError::config(
                "data.channels",
                d.channels,
                "must be 1 (grayscale) or 3 (RGB)",
            ));
        }
        self.model_config(2)?
            .validate()
            .map_err(|e| e.in_section("model"))?;
        let device = crate::device::device_from_name(&self.train.device)
            .map_err(|e| e.in_section("train"))?;
        self.train
            .precision
            .check_device(&device)
            .map_err(|e| e.in_section("train"))?;
        if self.train.folds < 2
            && !(self.train.valid_fraction > 0.0 && self.train.valid_fraction < 1.0)
        {
            return Err(PodiumError::config(
                "train.valid_fraction",
                self.train.valid_fraction,
                "must be in (0, 1) for a holdout run (folds 0 or 1)",
            ));
        }
        if self.fine_tune.is_some() && self.train.folds >= 2 {
            return Err(PodiumError::config(
                "fine_tune",
                "(set)",
                "fine_tune runs on a holdout split: set train.folds to 0 or 1",
            ));
        }
        self.learner_config()?.validate().map_err(|e| {
            e.map_key(|k| {
                let top = k.split('.').next().unwrap_or(k);
                match top {
                    "augment" | "mixup" | "loss" | "sampler" | "schedule" | "ema" | "sam"
                    | "clip_grad" | "early_stopping" => k.to_string(),
                    "run_dir" => "train.output".into(),
                    _ => format!("train.{k}"),
                }
            })
        })
    }

    /// The network for `num_classes` classes: `model.name` with `data.channels` inputs,
    /// `model.pool` and `model.drop_rate`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`model.name`, `model.pool`) for a missing or unknown name or
    /// pooling.
    pub fn model_config(&self, num_classes: usize) -> Result<ModelConfig> {
        let name = self.model.name.as_deref().ok_or_else(|| {
            PodiumError::config(
                "model.name",
                "(missing)",
                format!("required; one of {}", ModelConfig::NAMES.join(", ")),
            )
        })?;
        let mut config = ModelConfig::from_name(name, num_classes)
            .map_err(|e| e.in_section("model"))?
            .with_in_channels(self.data.channels)
            .with_pool(parse_pool(&self.model.pool)?);
        if let Some(p) = self.model.drop_rate {
            config = config.with_drop_rate(p);
        }
        Ok(config)
    }

    /// How images are decoded: `data.size` square, gray or RGB by `data.channels`, upright by
    /// their EXIF orientation unless `data.exif_orientation` is `false`.
    pub fn decode_options(&self) -> DecodeOptions {
        let color = if self.data.channels == 1 {
            ColorMode::Gray
        } else {
            ColorMode::Rgb
        };
        DecodeOptions::rgb(self.data.size, self.data.size)
            .with_color(color)
            .with_exif_orientation(self.data.exif_orientation)
    }

    /// The training images ([`ImageDataset::from_csv`] or [`ImageDataset::from_folder`]) with
    /// [`Self::decode_options`].
    ///
    /// # Errors
    /// [`PodiumError::Config`] as [`Self::validate`] for a missing source; the reader's errors
    /// naming the file.
    pub fn dataset(&self) -> Result<ImageDataset> {
        let d = &self.data;
        let data = match (&d.train_csv, &d.train_dir, &d.images) {
            (Some(csv), None, Some(images))
                if d.id_column.is_some()
                    || d.label_column.is_some()
                    || d.group_column.is_some() =>
            {
                let defaults = CsvColumns::new();
                let columns = CsvColumns::new()
                    .with_id(d.id_column.clone().unwrap_or(defaults.id))
                    .with_label(d.label_column.clone().unwrap_or(defaults.label))
                    .with_group(d.group_column.clone());
                columns.validate().map_err(|e| e.in_section("data"))?;
                ImageDataset::from_csv_columns(csv, images, None, &columns)?
            }
            (Some(csv), None, Some(images)) => ImageDataset::from_csv(csv, images, None)?,
            (None, Some(dir), None) => ImageDataset::from_folder(dir)?,
            _ => {
                self.validate()?;
                return Err(PodiumError::config(
                    "data.images",
                    "(set)",
                    "images goes with train_csv, not train_dir",
                ));
            }
        };
        Ok(data.with_decode(self.decode_options()))
    }

    /// The same recipe with its paths (data, weights, output) made absolute against the current
    /// directory, so that the copy saved in the run directory works from anywhere.
    ///
    /// # Errors
    /// [`PodiumError::Io`] if the current directory cannot be read.
    pub fn resolved(&self) -> Result<Self> {
        let cwd = std::env::current_dir().map_err(|e| PodiumError::io(".", e))?;
        let abs = |p: &mut Option<PathBuf>| {
            if let Some(p) = p {
                *p = cwd.join(&*p);
            }
        };
        let mut r = self.clone();
        abs(&mut r.data.train_csv);
        abs(&mut r.data.train_dir);
        abs(&mut r.data.images);
        abs(&mut r.model.pretrained);
        r.train.output = cwd.join(&r.train.output);
        Ok(r)
    }

    /// The recipe as TOML.
    ///
    /// # Errors
    /// [`PodiumError::Format`] if a value has no TOML form.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| PodiumError::format(RECIPE_FILE, e.to_string()))
    }

    /// Writes the recipe as `run_dir/recipe.toml` (through a temporary file and a rename).
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming the directory or the file.
    pub fn save(&self, run_dir: impl AsRef<Path>) -> Result<PathBuf> {
        let dir = run_dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| PodiumError::io(dir, e))?;
        let path = dir.join(RECIPE_FILE);
        write_atomic(&path, self.to_toml()?.as_bytes())?;
        Ok(path)
    }
}

/// Parses timm's `global_pool` names: `avg`, `max`, `avgmax`, `catavgmax`, `gem` (p = 3, the
/// usual choice) or `gem=P`.
///
/// # Errors
/// [`PodiumError::Config`] (`model.pool`) for another name or a bad exponent.
pub fn parse_pool(text: &str) -> Result<GlobalPool> {
    let bad = || {
        PodiumError::config(
            "model.pool",
            format!("{text:?}"),
            "expected avg, max, avgmax, catavgmax, gem or gem=P",
        )
    };
    let pool = match text.to_ascii_lowercase().as_str() {
        "avg" => GlobalPool::Avg,
        "max" => GlobalPool::Max,
        "avgmax" => GlobalPool::AvgMax,
        "catavgmax" => GlobalPool::CatAvgMax,
        "gem" => GlobalPool::Gem { p: 3.0 },
        other => match other.strip_prefix("gem=").map(str::parse::<f64>) {
            Some(Ok(p)) => GlobalPool::Gem { p },
            _ => return Err(bad()),
        },
    };
    pool.validate()
        .map_err(|e| e.map_key(|_| "model.pool".into()))?;
    Ok(pool)
}
