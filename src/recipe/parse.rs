//! Reading a recipe's key tree into the typed [`Recipe`](super::Recipe): the file formats, the
//! library defaults laid under partial sections, and errors naming the dotted path.

use serde::Serialize;
use serde_json::Value;

use super::keys::{get_path, overlay, overlay_variant, short};
use super::sections::RecipeFormat;
use crate::augment::PipelineConfig;
use crate::average::ModelEmaConfig;
use crate::error::{PodiumError, Result};
use crate::learner::FineTuneConfig;
use crate::mix::MixupConfig;
use crate::optim::{
    AdaBeliefConfig, AdamConfig, AdamWConfig, AdamaxConfig, LambConfig, LarsConfig, LionConfig,
    LookaheadConfig, MadgradConfig, NAdamConfig, NvNovoGradConfig, OptimizerConfig, RAdamConfig,
    RangerConfig, SamConfig, SgdConfig,
};
use crate::schedule::{OneCycleConfig, PlateauConfig, ScheduleConfig, WarmupCosineConfig};

pub(super) fn value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("library configs serialize to JSON")
}

/// The library section defaults laid under a file's values before deserializing: burn's
/// `#[derive(Config)]` types require every field, so a recipe may give only what it changes.
pub(super) fn with_defaults(tree: &Value) -> Value {
    let mut tree = tree.clone();
    let Value::Object(top) = &mut tree else {
        return tree;
    };
    let mut fine_tune = value(FineTuneConfig::new(0));
    if let Value::Object(t) = &mut fine_tune {
        t.remove("epochs"); // required: the unfrozen phase's length
    }
    let structs = [
        ("mixup", value(MixupConfig::new())),
        ("sam", value(SamConfig::new())),
        ("fine_tune", fine_tune),
    ];
    for (key, defaults) in structs {
        if let Some(user @ Value::Object(_)) = top.get(key) {
            let merged = overlay(&defaults, user);
            top.insert(key.into(), merged);
        }
    }
    let variants: [(&str, Vec<Value>); 2] = [
        ("ema", vec![value(ModelEmaConfig::v3(0.9999))]),
        (
            "schedule",
            vec![
                value(ScheduleConfig::Cosine(WarmupCosineConfig::new())),
                value(ScheduleConfig::OneCycle(OneCycleConfig::new())),
                value(ScheduleConfig::Plateau(PlateauConfig::new())),
            ],
        ),
    ];
    for (key, defaults) in variants {
        if let Some(user) = top.get(key) {
            let merged = overlay_variant(&defaults, user);
            top.insert(key.into(), merged);
        }
    }
    if let Some(Value::Object(train)) = top.get_mut("train")
        && let Some(opt) = train.get("optimizer")
    {
        let merged = optimizer_defaults(opt);
        train.insert("optimizer".into(), merged);
    }
    tree
}

/// An optimizer table over its variant's defaults (a Lookahead's base recursively).
fn optimizer_defaults(user: &Value) -> Value {
    let variants: Vec<Value> = [
        OptimizerConfig::from(SgdConfig::new()),
        AdamConfig::new().into(),
        AdamWConfig::new().into(),
        RAdamConfig::new().into(),
        NAdamConfig::new().into(),
        AdamaxConfig::new().into(),
        AdaBeliefConfig::new().into(),
        LambConfig::new().into(),
        LarsConfig::new().into(),
        MadgradConfig::new().into(),
        NvNovoGradConfig::new().into(),
        LionConfig::new().into(),
        RangerConfig::new().into(),
    ]
    .into_iter()
    .map(value)
    .collect();
    let mut merged = overlay_variant(&variants, user);
    if let Some(Value::Object(la)) = merged.get_mut("Lookahead") {
        let defaults = value(LookaheadConfig::new());
        let user_la = la.get("lookahead").cloned().unwrap_or(Value::Null);
        la.insert(
            "lookahead".into(),
            if user_la.is_null() {
                defaults
            } else {
                overlay(&defaults, &user_la)
            },
        );
        if let Some(base) = la.get("base") {
            let base = optimizer_defaults(base);
            la.insert("base".into(), base);
        }
    }
    merged
}

/// The precise error of an untagged section given as a table (`train.optimizer`, `augment`):
/// serde only says that no variant matched.
pub(super) fn untagged_error(tree: &Value) -> Option<PodiumError> {
    let filled = with_defaults(tree);
    let table = |key: &str| {
        get_path(tree, key)
            .filter(|v| v.is_object())
            .and(get_path(&filled, key))
    };
    if let Some(inner) = table("train.optimizer")
        && let Err(e) = typed::<OptimizerConfig>(inner, tree, "train.optimizer")
    {
        return Some(e);
    }
    if let Some(inner) = table("augment")
        && let Err(e) = typed::<PipelineConfig>(inner, tree, "augment")
    {
        return Some(e);
    }
    None
}

/// Deserializes `T` from `tree`, an error naming the dotted path of the value at fault.
pub(super) fn typed<T: serde::de::DeserializeOwned>(
    tree: &Value,
    given: &Value,
    prefix: &str,
) -> Result<T> {
    serde_path_to_error::deserialize(tree.clone()).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix.is_empty(), inner.as_str()) {
            (_, ".") => prefix.to_string(),
            (true, _) => inner,
            (false, _) => format!("{prefix}.{inner}"),
        };
        let shown = get_path(given, &path).map_or_else(|| "(missing)".into(), short);
        PodiumError::config(path, shown, e.into_inner().to_string())
    })
}

pub(super) fn parse_tree(text: &str, format: RecipeFormat) -> std::result::Result<Value, String> {
    match format {
        RecipeFormat::Toml => toml::from_str::<toml::Table>(text)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())),
        RecipeFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
    }
}
