//! Train/validation splits: seeded random, seeded stratified, or a fixed list of names.

use std::collections::HashSet;
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::ImageDataset;
use crate::error::{PodiumError, Result};

fn validate_fraction(valid_fraction: f64) -> Result<()> {
    if !(valid_fraction > 0.0 && valid_fraction < 1.0) {
        return Err(PodiumError::config(
            "valid_fraction",
            valid_fraction,
            "must be in (0, 1)",
        ));
    }
    Ok(())
}

/// Seeded random split of `0..n` into `(train, valid)` index lists, each in increasing order;
/// the validation part has `round(n * valid_fraction)` items, at least 1 and at most `n - 1`.
///
/// # Errors
/// [`PodiumError::Config`] if `valid_fraction` is not in `(0, 1)` or `n < 2`.
pub fn random_split_indices(
    n: usize,
    valid_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    validate_fraction(valid_fraction)?;
    if n < 2 {
        return Err(PodiumError::config(
            "dataset length",
            n,
            "need at least 2 items to split",
        ));
    }
    let n_valid = ((n as f64 * valid_fraction).round() as usize).clamp(1, n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut valid = order[..n_valid].to_vec();
    let mut train = order[n_valid..].to_vec();
    valid.sort_unstable();
    train.sort_unstable();
    Ok((train, valid))
}

/// Seeded stratified split: within each class, `round(count * valid_fraction)` items chosen at
/// random go to validation (at least one when the class has two or more items), so both parts
/// keep the class proportions. Index lists are in increasing order.
///
/// # Errors
/// [`PodiumError::Config`] if `valid_fraction` is not in `(0, 1)`; [`PodiumError::Dataset`]-like
/// config error if an item has no label.
pub fn stratified_split_indices(
    labels: &[Option<usize>],
    valid_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    validate_fraction(valid_fraction)?;
    let mut by_class: Vec<Vec<usize>> = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let l = l.ok_or_else(|| {
            PodiumError::config(
                "labels",
                format!("item {i}"),
                "a stratified split needs every item labelled",
            )
        })?;
        if by_class.len() <= l {
            by_class.resize_with(l + 1, Vec::new);
        }
        by_class[l].push(i);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for mut members in by_class {
        let n = members.len();
        if n == 0 {
            continue;
        }
        let mut n_valid = (n as f64 * valid_fraction).round() as usize;
        if n >= 2 {
            n_valid = n_valid.clamp(1, n - 1);
        }
        members.shuffle(&mut rng);
        valid.extend_from_slice(&members[..n_valid]);
        train.extend_from_slice(&members[n_valid..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    Ok((train, valid))
}

impl ImageDataset {
    /// Seeded random `(train, valid)` split (see [`random_split_indices`]).
    ///
    /// # Errors
    /// As [`random_split_indices`].
    pub fn split_random(&self, valid_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let (t, v) = random_split_indices(self.len(), valid_fraction, seed)?;
        Ok((self.subset(&t), self.subset(&v)))
    }

    /// Seeded stratified `(train, valid)` split (see [`stratified_split_indices`]).
    ///
    /// # Errors
    /// As [`stratified_split_indices`].
    pub fn split_stratified(&self, valid_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let (t, v) = stratified_split_indices(&self.labels(), valid_fraction, seed)?;
        Ok((self.subset(&t), self.subset(&v)))
    }

    /// Fixed split: items whose [name](ImageDataset::name) (file name, with or without its
    /// extension) is in `valid_names` form the validation part, the rest the training part.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the first entry of `valid_names` that matches no item, or
    /// when either part would be empty.
    pub fn split_by_names<S: AsRef<str>>(&self, valid_names: &[S]) -> Result<(Self, Self)> {
        let wanted: HashSet<&str> = valid_names.iter().map(|s| s.as_ref()).collect();
        let mut found: HashSet<&str> = HashSet::new();
        let (mut train, mut valid) = (Vec::new(), Vec::new());
        let names: Vec<String> = (0..self.len()).map(|i| self.name(i)).collect();
        for (i, name) in names.iter().enumerate() {
            let stem = Path::new(name)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(name);
            let hit = [name.as_str(), stem]
                .into_iter()
                .find(|k| wanted.contains(k));
            match hit {
                Some(k) => {
                    found.insert(wanted.get(k).copied().unwrap_or(k));
                    valid.push(i);
                }
                None => train.push(i),
            }
        }
        if let Some(missing) = valid_names
            .iter()
            .map(|s| s.as_ref())
            .find(|s| !found.contains(s))
        {
            return Err(PodiumError::config(
                "valid_names",
                format!("`{missing}`"),
                format!("names no item of {}", self.origin().display()),
            ));
        }
        if train.is_empty() || valid.is_empty() {
            return Err(PodiumError::config(
                "valid_names",
                format!("{} names", valid_names.len()),
                "the split leaves one part empty",
            ));
        }
        Ok((self.subset(&train), self.subset(&valid)))
    }

    /// Fixed split from a text file listing one validation file name per line (blank lines and
    /// `#` comments ignored).
    ///
    /// # Errors
    /// [`PodiumError::Io`] if the file cannot be read, then as [`Self::split_by_names`].
    pub fn split_by_list_file(&self, list: impl AsRef<Path>) -> Result<(Self, Self)> {
        let list = list.as_ref();
        let text = std::fs::read_to_string(list).map_err(|e| PodiumError::io(list, e))?;
        let names: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        self.split_by_names(&names)
    }
}
