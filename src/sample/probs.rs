//! Class sampling probabilities and class weights from class counts, in f64.

use crate::error::{PodiumError, Result};

fn validate_counts(counts: &[usize]) -> Result<()> {
    if counts.is_empty() {
        return Err(PodiumError::config(
            "class_counts",
            "[]",
            "needs one count per class",
        ));
    }
    if let Some(c) = counts.iter().position(|&n| n == 0) {
        return Err(PodiumError::config(
            format!("class_counts[{c}]"),
            0,
            "every class needs at least one sample",
        ));
    }
    Ok(())
}

/// Class sampling probabilities `p_j = n_j^q / sum_i n_i^q` (Kang et al. 2020, "Decoupling
/// Representation and Classifier"): `q = 1` instance-balanced (the data's own frequencies),
/// `q = 0` class-balanced, `q = 1/2` square-root sampling.
///
/// # Errors
/// [`PodiumError::Config`] for an empty count list, a zero count, or a `q` that is not finite.
pub fn class_sampling_probs(counts: &[usize], q: f64) -> Result<Vec<f64>> {
    validate_counts(counts)?;
    if !q.is_finite() {
        return Err(PodiumError::config("q", q, "must be finite"));
    }
    let raw: Vec<f64> = counts.iter().map(|&n| (n as f64).powf(q)).collect();
    let sum: f64 = raw.iter().sum();
    Ok(raw.iter().map(|r| r / sum).collect())
}

/// Progressively balanced probabilities at epoch `t` of `total` (Kang et al. 2020):
/// `p_j(t) = (1 - t / T) p_j^IB + (t / T) p_j^CB`, from instance- to class-balanced; `t` past
/// `T` stays class-balanced.
///
/// # Errors
/// As [`class_sampling_probs`], and `total = 0`.
pub fn progressive_balanced_probs(counts: &[usize], t: usize, total: usize) -> Result<Vec<f64>> {
    if total == 0 {
        return Err(PodiumError::config("total_epochs", 0, "must be at least 1"));
    }
    let ib = class_sampling_probs(counts, 1.0)?;
    let cb = class_sampling_probs(counts, 0.0)?;
    let a = t.min(total) as f64 / total as f64;
    Ok(ib
        .iter()
        .zip(&cb)
        .map(|(i, c)| (1.0 - a) * i + a * c)
        .collect())
}

/// The weight each sample of class `j` gets in a weighted random sampler so that class `j` is
/// drawn with probability `p_j`: `p_j / n_j` (weights need not sum to 1).
///
/// # Panics
/// If the lengths differ.
pub fn sample_weights(counts: &[usize], probs: &[f64]) -> Vec<f64> {
    assert_eq!(
        counts.len(),
        probs.len(),
        "sample_weights: {} counts for {} probabilities",
        counts.len(),
        probs.len()
    );
    counts
        .iter()
        .zip(probs)
        .map(|(&n, p)| p / n as f64)
        .collect()
}

/// Effective numbers of samples and the class weights derived from them (Cui et al. 2019).
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveNumber {
    /// `E_j = (1 - beta^n_j) / (1 - beta)`.
    pub effective_num: Vec<f64>,
    /// `1 / E_j`.
    pub w_raw: Vec<f64>,
    /// `w_raw` rescaled to sum to the number of classes (the class-balanced loss's weights).
    pub w_norm: Vec<f64>,
}

/// Effective-number class weights from counts, in f64 (in f32, `1 - beta^n` loses up to 1e-3
/// relative precision for `beta = 0.9999` and small `n`).
///
/// # Errors
/// [`PodiumError::Config`] for an empty count list, a zero count, or `beta` outside `[0, 1)`.
pub fn effective_number(counts: &[usize], beta: f64) -> Result<EffectiveNumber> {
    validate_counts(counts)?;
    if !(0.0..1.0).contains(&beta) {
        return Err(PodiumError::config("beta", beta, "must be in [0, 1)"));
    }
    let effective_num: Vec<f64> = counts
        .iter()
        .map(|&n| (1.0 - beta.powf(n as f64)) / (1.0 - beta))
        .collect();
    let w_raw: Vec<f64> = counts
        .iter()
        .map(|&n| (1.0 - beta) / (1.0 - beta.powf(n as f64)))
        .collect();
    let sum: f64 = w_raw.iter().sum();
    let c = counts.len() as f64;
    let w_norm = w_raw.iter().map(|w| w / sum * c).collect();
    Ok(EffectiveNumber {
        effective_num,
        w_raw,
        w_norm,
    })
}
