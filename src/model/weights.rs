//! Loading PyTorch state dicts (`.pth`/`.pt` written by `torch.save`, and `.safetensors`) into
//! podium's models through burn-store, with the key remapping each architecture needs and
//! every mismatch reported as a typed error naming the key.

use std::path::Path;

use burn::module::Module;
use burn::store::{
    ApplyError, ApplyResult, ModuleSnapshot, PathFilter, PyTorchToBurnAdapter, PytorchStore,
    SafetensorsStore,
};

use crate::error::{PodiumError, Result};

/// How to read a weight file into a model.
#[derive(Clone, Debug, Default)]
pub struct LoadSpec<'a> {
    /// `(regex, replacement)` renames from the file's keys to the model's paths, applied in
    /// order (for example torchvision's `downsample.0.` to podium's `downsample.conv.`).
    pub remap: &'a [(&'a str, &'a str)],
    /// A regex over the model's paths that keep their current values (the classifier, to
    /// train a new one for another number of classes, as
    /// [`ResNet::load_backbone`](super::ResNet::load_backbone) does); their keys are not
    /// checked against the file.
    pub exclude: Option<&'a str>,
}

/// Loads `path` into `model`: `.safetensors` through burn's `SafetensorsStore`, anything else
/// as a PyTorch checkpoint through `PytorchStore`, both with PyTorch's layout adapted to
/// burn's (linear weights transposed, BatchNorm `weight`/`bias` to `gamma`/`beta`).
/// `num_batches_tracked` counters are ignored.
///
/// # Errors
/// [`PodiumError::Io`] when the file cannot be read, [`PodiumError::Format`] when it is not a
/// weight file, and [`PodiumError::Weights`] naming the key for a missing key, an unexpected
/// key or a shape mismatch (with both shapes).
pub fn load_weights<M: Module>(mut model: M, path: &Path, spec: &LoadSpec<'_>) -> Result<M> {
    if !path.is_file() {
        return Err(PodiumError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such weight file"),
        ));
    }
    let exclude = spec
        .exclude
        .map(|e| regex::Regex::new(e).expect("a valid exclusion regex"));
    let keep = |p: &str| exclude.as_ref().is_none_or(|re| !re.is_match(p));
    // The excluded tensors as they are now, put back after loading.
    let kept = spec
        .exclude
        .map(|e| model.collect(Some(PathFilter::new().with_regex(e)), None, false));
    let is_safetensors = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    let result: ApplyResult = if is_safetensors {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .validate(false)
            .allow_partial(true);
        for (from, to) in spec.remap {
            store = store.with_key_remapping(*from, *to);
        }
        model
            .load_from(&mut store)
            .map_err(|e| PodiumError::format(path, e.to_string()))?
    } else {
        let mut store = PytorchStore::from_file(path)
            .validate(false)
            .allow_partial(true);
        for (from, to) in spec.remap {
            store = store.with_key_remapping(*from, *to);
        }
        model
            .load_from(&mut store)
            .map_err(|e| PodiumError::format(path, e.to_string()))?
    };
    validate_applied(&result, path, &keep)?;
    if let Some(kept) = kept {
        model.apply(kept, None, None, false);
    }
    Ok(model)
}

fn validate_applied(result: &ApplyResult, path: &Path, keep: &dyn Fn(&str) -> bool) -> Result<()> {
    let err = |key: &str, reason: String| PodiumError::Weights {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason,
    };
    for e in &result.errors {
        match e {
            ApplyError::ShapeMismatch {
                path: key,
                expected,
                found,
            } if keep(key) => {
                return Err(err(
                    key,
                    format!(
                        "the file has shape {:?}, the model expects {:?}",
                        found.as_slice(),
                        expected.as_slice()
                    ),
                ));
            }
            ApplyError::ShapeMismatch { .. } => {}
            other => return Err(err(&other.to_string(), other.to_string())),
        }
    }
    if let Some((key, _)) = result.missing.iter().find(|(k, _)| keep(k)) {
        return Err(err(key, "missing from the file".into()));
    }
    if let Some(key) = result
        .unused
        .iter()
        .find(|k| !k.ends_with("num_batches_tracked") && keep(k))
    {
        return Err(err(
            key,
            "in the file but not in the model (unexpected key)".into(),
        ));
    }
    Ok(())
}
