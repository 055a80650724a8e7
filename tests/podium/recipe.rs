//! Recipes: TOML and JSON to the same LearnerConfig, every section, unknown keys with their
//! suggestion, `--set` overrides and their errors, wrong types, the saved copy.

use std::path::{Path, PathBuf};

use burn_podium::PodiumError;
use burn_podium::learner::{EarlyStoppingConfig, LearnerConfig, Monitor};
use burn_podium::loss::LossConfig;
use burn_podium::metrics::Metric;
use burn_podium::model::GlobalPool;
use burn_podium::optim::{ClipGrad, OptimizerConfig};
use burn_podium::recipe::{
    AugmentSpec, OptimizerSpec, Recipe, RecipeFormat, closest, edit_distance, parse_literal,
};
use burn_podium::sample::SamplerConfig;
use burn_podium::schedule::ScheduleConfig;

use crate::fixtures::config_key;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/recipes/digits.toml")
}

fn toml(text: &str) -> burn_podium::Result<Recipe> {
    Recipe::from_str_with_format(text, RecipeFormat::Toml)
}

/// The `(key, value, reason)` of a config error.
fn config_error<T: std::fmt::Debug>(r: burn_podium::Result<T>) -> (String, String, String) {
    match r {
        Err(PodiumError::Config { key, value, reason }) => (key, value, reason),
        other => panic!("expected a config error, got {other:?}"),
    }
}

const BASE: &str = r#"
[data]
train_dir = "train"
[model]
name = "resnet18"
"#;

#[test]
fn the_example_recipe_reads_and_maps_to_the_learner_config() {
    let recipe = Recipe::from_file(example()).unwrap();
    recipe.validate().unwrap();
    assert_eq!(recipe.data.size, 28);
    assert_eq!(recipe.data.channels, 1);
    assert_eq!(recipe.train.folds, 5);
    let config = recipe.learner_config().unwrap();
    assert_eq!(config.epochs, 5);
    assert_eq!(config.lr, 3e-3);
    assert_eq!(config.label_smoothing, 0.1);
    assert_eq!(config.run_dir, "runs/digits");
    assert_eq!(config.monitor, Monitor::Metric(Metric::Accuracy));
    // timm's adamw (weight decay 0) with the recipe's weight decay
    match &config.optimizer {
        OptimizerConfig::AdamW(c) => assert_eq!(c.weight_decay, 0.01),
        other => panic!("{other:?}"),
    }
    // [schedule.OneCycle] gave one field; the rest are OneCycleConfig's defaults
    match &config.schedule {
        ScheduleConfig::OneCycle(c) => {
            assert_eq!(c.pct_start, 0.25);
            assert_eq!(c.div_factor, 25.0);
        }
        other => panic!("{other:?}"),
    }
    // [mixup] gave two fields (burn's Config derive alone would require all seven)
    let mix = config.mixup.as_ref().unwrap();
    assert_eq!(
        (mix.mixup_alpha, mix.prob, mix.switch_prob),
        (0.2, 0.5, 0.5)
    );
}

#[test]
fn toml_and_json_give_the_same_learner_config() {
    let from_toml = Recipe::from_file(example()).unwrap();
    let json = serde_json::to_string(&from_toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    std::fs::write(&path, json).unwrap();
    let from_json = Recipe::from_file(&path).unwrap();
    assert_eq!(
        from_toml.learner_config().unwrap().to_string(),
        from_json.learner_config().unwrap().to_string()
    );
    // a hand-written JSON recipe too
    let text = r#"{"data": {"train_dir": "train"}, "model": {"name": "resnet18"},
                   "train": {"epochs": 3, "lr": 0.01}}"#;
    let a = Recipe::from_str_with_format(text, RecipeFormat::Json).unwrap();
    let b = toml(&format!("{BASE}[train]\nepochs = 3\nlr = 0.01\n")).unwrap();
    assert_eq!(
        a.learner_config().unwrap().to_string(),
        b.learner_config().unwrap().to_string()
    );
}

#[test]
fn every_section_is_accepted() {
    let text = format!(
        r#"{BASE}
[train]
optimizer = "lookahead_radam"
metric = "macro_f1"
grad_accumulation = 2
lr_min = 1e-5
keep_best = 2
num_workers = 1
[augment]
transforms = [{{ name = "horizontal_flip" }}]
[mixup]
cutmix_alpha = 1.0
[loss.Focal]
gamma = 2.0
[sampler.ClassAware]
q = 0.5
[schedule.Cosine]
warmup_epochs = 2
[ema.V3]
decay = 0.999
[sam]
rho = 0.1
[clip_grad.Value]
clip = 1.0
[early_stopping]
patience = 3
[fine_tune]
epochs = 2
"#
    );
    let mut recipe = toml(&text).unwrap();
    recipe.set("train.folds", "0").unwrap();
    recipe.validate().unwrap();
    let config = recipe.learner_config().unwrap();
    assert!(matches!(
        config.optimizer,
        OptimizerConfig::Lookahead { .. }
    ));
    assert_eq!(config.grad_accumulation, 2);
    assert_eq!(config.lr_min, Some(1e-5));
    assert_eq!(config.keep_best, 2);
    assert_eq!(config.augment.unwrap().transforms.len(), 1);
    assert_eq!(config.mixup.unwrap().cutmix_alpha, 1.0);
    assert!(matches!(config.loss, LossConfig::Focal { gamma, .. } if gamma == 2.0));
    assert_eq!(config.sampler, SamplerConfig::ClassAware { q: 0.5 });
    assert!(matches!(config.schedule, ScheduleConfig::Cosine(c) if c.warmup_epochs == 2));
    assert_eq!(
        config.ema.unwrap(),
        burn_podium::average::ModelEmaConfig::v3(0.999)
    );
    assert_eq!(config.sam.unwrap().rho, 0.1);
    assert_eq!(config.clip_grad, Some(ClipGrad::Value { clip: 1.0 }));
    assert_eq!(config.early_stopping, Some(EarlyStoppingConfig::new(3)));
    let ft = recipe.fine_tune.as_ref().unwrap();
    assert_eq!((ft.epochs, ft.freeze_epochs), (2, 1));
    assert_eq!(recipe.train.metric, Metric::MacroF1);
    // fine_tune needs a holdout run
    recipe.set("train.folds", "5").unwrap();
    assert_eq!(config_key(recipe.validate()), "fine_tune");
}

#[test]
fn a_timm_augment_string_and_an_optimizer_table_are_accepted() {
    let recipe = toml(&format!(
        "augment = \"rand-m9-n2-mstd0.5\"\n{BASE}[train.optimizer.Sgd]\nmomentum = 0.8\n"
    ))
    .unwrap();
    assert!(matches!(recipe.augment, Some(AugmentSpec::Timm(_))));
    let config = recipe.learner_config().unwrap();
    assert_eq!(config.augment.unwrap().transforms[0].name(), "rand_augment");
    match config.optimizer {
        OptimizerConfig::Sgd(c) => assert_eq!((c.momentum, c.nesterov), (0.8, false)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(recipe.train.optimizer, OptimizerSpec::Config(_)));
    // an unknown timm string names augment
    let bad = toml(&format!("augment = \"randaug\"\n{BASE}")).unwrap();
    assert_eq!(config_key(bad.learner_config()), "augment");
    // a bad field inside an optimizer table is named, not "no variant matched"
    let (key, value, _) = config_error(toml(&format!(
        "{BASE}[train.optimizer.Sgd]\nmomentum = \"high\"\n"
    )));
    assert_eq!(key, "train.optimizer.Sgd.momentum");
    assert_eq!(value, "\"high\"");
}

#[test]
fn an_unknown_key_names_its_path_and_the_closest_valid_key() {
    let (key, value, reason) = config_error(toml(&format!("{BASE}[train]\nepoch = 10\n")));
    assert_eq!(key, "train.epoch");
    assert_eq!(value, "10");
    assert!(reason.contains("did you mean `train.epochs`"), "{reason}");
    let (key, _, reason) = config_error(toml(&format!("{BASE}[mixup]\nprb = 0.5\n")));
    assert_eq!(key, "mixup.prb");
    assert!(reason.contains("`mixup.prob`"), "{reason}");
    let (key, _, reason) = config_error(toml(&format!("{BASE}[trian]\nepochs = 1\n")));
    assert_eq!(key, "trian");
    assert!(reason.contains("`train`"), "{reason}");
    // nothing close: the valid keys are listed
    let (key, _, reason) = config_error(toml(
        "[data]\ntrain_dir = \"t\"\nzzzzzzzz = 1\n[model]\nname = \"resnet18\"\n",
    ));
    assert_eq!(key, "data.zzzzzzzz");
    assert!(reason.contains("train_csv"), "{reason}");
    // inside a pipeline's transform list
    let (key, _, _) = config_error(toml(&format!(
        "{BASE}[augment]\ntransforms = [{{ name = \"horizontal_flip\", pp = 0.5 }}]\n"
    )));
    assert!(key.starts_with("augment.transforms"), "{key}");
}

#[test]
fn a_wrong_type_names_the_key_and_the_value() {
    let (key, value, reason) = config_error(toml(&format!("{BASE}[train]\nepochs = \"ten\"\n")));
    assert_eq!(key, "train.epochs");
    assert_eq!(value, "\"ten\"");
    assert!(reason.contains("invalid type"), "{reason}");
    let (key, _, _) = config_error(toml(&format!("{BASE}[train]\nmetric = \"acc\"\n")));
    assert_eq!(key, "train.metric");
    let (key, _, _) = config_error(toml("data = 3\n"));
    assert_eq!(key, "data");
}

#[test]
fn set_overrides_nested_keys_and_checks_them() {
    let mut recipe = Recipe::from_file(example()).unwrap();
    recipe.set("train.lr", "1e-3").unwrap();
    recipe.set("train.optimizer", "sgd").unwrap();
    recipe.set("mixup.prob", "0.25").unwrap();
    recipe.set("schedule.OneCycle.div_factor", "10").unwrap();
    recipe.set("model.pool", "gem").unwrap();
    recipe.set("sam.rho", "0.2").unwrap(); // a section the file does not have
    let config = recipe.learner_config().unwrap();
    assert_eq!(config.lr, 1e-3);
    assert!(matches!(config.optimizer, OptimizerConfig::Sgd(_)));
    assert_eq!(config.mixup.unwrap().prob, 0.25);
    assert!(matches!(config.schedule, ScheduleConfig::OneCycle(c) if c.div_factor == 10.0));
    assert_eq!(config.sam.unwrap().rho, 0.2);
    assert_eq!(
        recipe.model_config(3).unwrap().to_string(),
        recipe
            .model_config(3)
            .unwrap()
            .with_pool(GlobalPool::Gem { p: 3.0 })
            .to_string()
    );
    // errors leave the recipe unchanged
    let before = serde_json::to_string(&recipe).unwrap();
    let (key, _, reason) = config_error(recipe.set("train.epoch", "3"));
    assert_eq!(key, "train.epoch");
    assert!(reason.contains("`train.epochs`"), "{reason}");
    let (key, value, _) = config_error(recipe.set("train.batch_size", "big"));
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("train.batch_size", "\"big\"")
    );
    let (key, _, _) = config_error(recipe.set("train.lr.x", "1"));
    assert_eq!(key, "train.lr");
    assert_eq!(config_key(recipe.set_all(&["train.lr"])), "--set");
    assert_eq!(config_key(recipe.set("", "1")), "");
    assert_eq!(serde_json::to_string(&recipe).unwrap(), before);
    recipe
        .set_all(&["train.epochs=2", "data.size = 32"])
        .unwrap();
    assert_eq!((recipe.train.epochs, recipe.data.size), (2, 32));
}

#[test]
fn values_are_checked_with_their_section() {
    let mut recipe = toml(BASE).unwrap();
    recipe.validate().unwrap();
    recipe.set("train.lr", "-1").unwrap();
    assert_eq!(config_key(recipe.validate()), "train.lr");
    let mut recipe = toml(BASE).unwrap();
    recipe.set("mixup.prob", "2").unwrap();
    assert_eq!(config_key(recipe.validate()), "mixup.prob");
    let mut recipe = toml(BASE).unwrap();
    recipe.set("model.name", "resnet19").unwrap();
    assert_eq!(config_key(recipe.validate()), "model.name");
    let mut recipe = toml(BASE).unwrap();
    recipe.set("train.optimizer", "adamz").unwrap();
    assert_eq!(config_key(recipe.validate()), "train.optimizer");
    let mut recipe = toml(BASE).unwrap();
    recipe.set("train.optimizer", "lion").unwrap();
    recipe.set("train.weight_decay", "0.1").unwrap();
    recipe.validate().unwrap();
    let recipe = toml("[model]\nname = \"resnet18\"\n").unwrap();
    assert_eq!(config_key(recipe.validate()), "data.train_csv");
    let recipe = toml("[data]\ntrain_csv = \"t.csv\"\n[model]\nname = \"resnet18\"\n").unwrap();
    assert_eq!(config_key(recipe.validate()), "data.images");
    let recipe = toml("[data]\ntrain_dir = \"t\"\nchannels = 2\n[model]\nname = \"resnet18\"\n");
    assert_eq!(config_key(recipe.unwrap().validate()), "data.channels");
    let recipe = toml("[data]\ntrain_dir = \"t\"\n").unwrap();
    assert_eq!(config_key(recipe.validate()), "model.name");
    let mut recipe = toml(BASE).unwrap();
    recipe.set("model.pool", "mean").unwrap();
    assert_eq!(config_key(recipe.validate()), "model.pool");
}

#[test]
fn files_are_named_in_their_errors_and_the_saved_copy_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    match Recipe::from_file(&missing) {
        Err(PodiumError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let yaml = dir.path().join("r.yaml");
    std::fs::write(&yaml, "a: 1").unwrap();
    assert!(
        matches!(Recipe::from_file(&yaml), Err(PodiumError::Format { path, .. }) if path == yaml)
    );
    let broken = dir.path().join("r.toml");
    std::fs::write(&broken, "[train\nepochs = 1").unwrap();
    assert!(
        matches!(Recipe::from_file(&broken), Err(PodiumError::Format { path, .. }) if path == broken)
    );
    let recipe = Recipe::from_file(example()).unwrap();
    let saved = recipe.save(dir.path().join("run")).unwrap();
    assert_eq!(saved, dir.path().join("run/recipe.toml"));
    let back = Recipe::from_file(&saved).unwrap();
    assert_eq!(back.to_toml().unwrap(), recipe.to_toml().unwrap());
    assert_eq!(
        back.learner_config().unwrap().to_string(),
        recipe.learner_config().unwrap().to_string()
    );
    let default_config = LearnerConfig::new();
    let bare = toml(BASE).unwrap().learner_config().unwrap();
    assert_eq!(bare.epochs, default_config.epochs);
    assert_eq!(bare.batch_size, default_config.batch_size);
}

#[test]
fn literals_and_suggestions() {
    assert_eq!(parse_literal("1e-3"), serde_json::json!(1e-3));
    assert_eq!(parse_literal("10"), serde_json::json!(10));
    assert_eq!(parse_literal("true"), serde_json::json!(true));
    assert_eq!(parse_literal("[1, 2]"), serde_json::json!([1, 2]));
    assert_eq!(parse_literal("adamw"), serde_json::json!("adamw"));
    assert_eq!(parse_literal("runs/exp2"), serde_json::json!("runs/exp2"));
    assert_eq!(edit_distance("epoch", "epochs"), 1);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("trian", "train"), 1); // a swap counts once
    assert_eq!(closest("lr_mn", ["lr", "lr_min", "seed"]), Some("lr_min"));
    assert_eq!(closest("xyz", ["epochs", "seed"]), None);
}

#[test]
fn named_csv_columns_give_groups_and_the_recipe_maps_metric_crop_and_decay_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("img")).unwrap();
    let mut csv = String::from("patient,file,diagnosis\n");
    for i in 0..8 {
        image::GrayImage::from_pixel(4, 4, image::Luma([i as u8 * 30]))
            .save(root.join("img").join(format!("a{i}.png")))
            .unwrap();
        csv.push_str(&format!("p{},a{i},{}\n", i / 2, i % 2));
    }
    std::fs::write(root.join("labels.csv"), csv).unwrap();
    let text = format!(
        r#"
[data]
train_csv = "{csv}"
images = "{img}"
size = 4
channels = 1
id_column = "file"
label_column = "diagnosis"
group_column = "patient"
[model]
name = "simple_cnn"
pretrained = "weights.pth"
[train]
metric = "auc"
weight_decay_norm_bias = true
"#,
        csv = root.join("labels.csv").display(),
        img = root.join("img").display()
    );
    let recipe = toml(&text).unwrap();
    let data = recipe.dataset().unwrap();
    assert_eq!(data.len(), 8);
    assert_eq!(data.groups().unwrap(), vec![0, 0, 1, 1, 2, 2, 3, 3]);
    let config = recipe.learner_config().unwrap();
    assert_eq!(config.monitor, Monitor::Metric(Metric::Auc));
    // timm's crop_pct with pretrained weights, none without
    assert_eq!(config.crop_pct, Some(0.875));
    assert!(config.weight_decay_norm_bias);
    let mut scratch = recipe.clone();
    scratch.model.pretrained = None;
    assert_eq!(scratch.learner_config().unwrap().crop_pct, None);
    // a column the header lacks is an error naming it
    let bad = text.replace("\"patient\"", "\"ward\"");
    let err = toml(&bad).unwrap().dataset().unwrap_err();
    assert!(err.to_string().contains("ward"), "{err}");
}

#[test]
fn the_exif_orientation_key_reaches_the_decoder() {
    let upright = toml(BASE).unwrap();
    assert!(upright.data.exif_orientation);
    assert!(upright.decode_options().exif_orientation);
    let mut stored = toml(&BASE.replace("[model]", "exif_orientation = false\n[model]")).unwrap();
    assert!(!stored.data.exif_orientation);
    assert!(!stored.decode_options().exif_orientation);
    stored.set("data.exif_orientation", "true").unwrap();
    assert!(stored.decode_options().exif_orientation);
}
