//! Fine-tuning controls in fastai's style: freeze the first layer groups (optionally keeping
//! BatchNorm trainable, fastai's `train_bn`), unfreeze, and geometric learning-rate spreads for
//! discriminative training (fastai's `slice(lo, hi)`).

use burn::module::ParamGroup;

use super::ImageClassifier;

/// Paths of BatchNorm parameters in podium's models (`bn1.gamma`, `downsample.bn.beta`, ...).
const BN_PATHS: &str = r"(^|\.)bn\d*\.";

/// Freezes the first `n` of the model's [layer groups](ImageClassifier::layer_groups): their
/// parameters stop requiring gradients and their training behaviour stops (burn's
/// `freeze_group`: BatchNorm then uses and keeps its running statistics). With `train_bn`
/// (fastai's default) the BatchNorm layers inside the frozen groups stay trainable: their
/// affine parameters keep learning and their statistics keep updating.
///
/// # Panics
/// If `n` is larger than the number of layer groups.
pub fn freeze_groups<M: ImageClassifier>(model: M, n: usize, train_bn: bool) -> M {
    let groups = model.layer_groups();
    assert!(
        n <= groups.len(),
        "freeze_groups: {n} groups asked, the model has {}",
        groups.len()
    );
    let bn = ParamGroup::from_regex(BN_PATHS).expect("a valid regex");
    groups.into_iter().take(n).fold(model, |m, (_, group)| {
        let group = if train_bn {
            group.exclude(bn.clone())
        } else {
            group
        };
        m.freeze_group(group)
    })
}

/// Freezes every layer group but the last (the head), fastai's `learn.freeze()`.
pub fn freeze_backbone<M: ImageClassifier>(model: M, train_bn: bool) -> M {
    let n = model.layer_groups().len().saturating_sub(1);
    freeze_groups(model, n, train_bn)
}

/// Makes every parameter trainable again, fastai's `learn.unfreeze()`.
pub fn unfreeze<M: ImageClassifier>(model: M) -> M {
    model.unfreeze()
}

/// `n` learning rates from `lo` to `hi` in geometric progression, fastai's `even_mults`
/// (`slice(lo, hi)` over `n` layer groups): `lo * (hi / lo)^(i / (n - 1))`.
pub fn even_mults(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![hi],
        _ => {
            let step = (hi / lo).powf(1.0 / (n - 1) as f64);
            (0..n).map(|i| lo * step.powi(i as i32)).collect()
        }
    }
}
