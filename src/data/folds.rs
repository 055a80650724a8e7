//! Cross-validation folds with scikit-learn's exact assignment (`KFold`, `StratifiedKFold`,
//! `GroupKFold`), and an out-of-fold prediction store.

use std::collections::HashMap;
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::util::write_atomic_text;

/// A fold assignment: `test_fold[i]` is the fold in which sample `i` is a test (validation)
/// sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folds {
    /// The fold of each sample.
    pub test_fold: Vec<usize>,
    /// Number of folds.
    pub n_splits: usize,
}

impl Folds {
    /// `(train, test)` indices of fold `k`, each sorted.
    ///
    /// # Panics
    /// If `k >= n_splits`.
    pub fn split(&self, k: usize) -> (Vec<usize>, Vec<usize>) {
        assert!(k < self.n_splits, "fold {k} of {}", self.n_splits);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (i, &f) in self.test_fold.iter().enumerate() {
            if f == k {
                test.push(i);
            } else {
                train.push(i);
            }
        }
        (train, test)
    }

    /// All folds' `(train, test)` indices.
    pub fn splits(&self) -> Vec<(Vec<usize>, Vec<usize>)> {
        (0..self.n_splits).map(|k| self.split(k)).collect()
    }
}

fn validate_splits(n_splits: usize, n_samples: usize) -> Result<()> {
    if n_splits < 2 {
        return Err(PodiumError::config(
            "n_splits",
            n_splits,
            "must be at least 2",
        ));
    }
    if n_samples < n_splits {
        return Err(PodiumError::config(
            "n_splits",
            n_splits,
            format!("cannot exceed the number of samples ({n_samples})"),
        ));
    }
    Ok(())
}

/// scikit-learn's `KFold(n_splits, shuffle)`: fold `k` tests the `k`-th consecutive block of the
/// (optionally seeded-shuffled) indices; the first `n % n_splits` folds have `n / n_splits + 1`
/// samples, the others `n / n_splits`. With `shuffle = None` the assignment is sklearn's, index
/// for index; a seeded shuffle uses podium's RNG (not numpy's).
///
/// # Errors
/// [`PodiumError::Config`] for fewer than 2 splits or more splits than samples.
pub fn kfold(n_samples: usize, n_splits: usize, shuffle: Option<u64>) -> Result<Folds> {
    validate_splits(n_splits, n_samples)?;
    let mut order: Vec<usize> = (0..n_samples).collect();
    if let Some(seed) = shuffle {
        order.shuffle(&mut StdRng::seed_from_u64(seed));
    }
    let mut test_fold = vec![0; n_samples];
    let (base, extra) = (n_samples / n_splits, n_samples % n_splits);
    let mut start = 0;
    for k in 0..n_splits {
        let size = base + usize::from(k < extra);
        for &i in &order[start..start + size] {
            test_fold[i] = k;
        }
        start += size;
    }
    Ok(Folds {
        test_fold,
        n_splits,
    })
}

/// scikit-learn's `StratifiedKFold(n_splits, shuffle)` (the algorithm of sklearn >= 0.22):
/// classes are encoded in order of first appearance; with `y_order` the sorted encoded labels,
/// fold `f` gets `allocation[f, k]` = the number of class-`k` entries in `y_order[f::n_splits]`,
/// and class `k`'s samples, in index order, take fold ids in blocks (`0` repeated
/// `allocation[0, k]` times, then `1` ...). With `shuffle = Some(seed)` each class's fold ids are
/// shuffled with podium's RNG. A class with fewer members than `n_splits` only logs a warning,
/// as sklearn does.
///
/// # Errors
/// [`PodiumError::Config`] for fewer than 2 splits, more splits than samples, or when every class
/// has fewer than `n_splits` members.
pub fn stratified_kfold(labels: &[i64], n_splits: usize, shuffle: Option<u64>) -> Result<Folds> {
    validate_splits(n_splits, labels.len())?;
    let mut code: HashMap<i64, usize> = HashMap::new();
    let encoded: Vec<usize> = labels
        .iter()
        .map(|&l| {
            let next = code.len();
            *code.entry(l).or_insert(next)
        })
        .collect();
    let n_classes = code.len();
    let mut counts = vec![0usize; n_classes];
    for &e in &encoded {
        counts[e] += 1;
    }
    if counts.iter().all(|&c| n_splits > c) {
        return Err(PodiumError::config(
            "n_splits",
            n_splits,
            "cannot be greater than the number of members in each class",
        ));
    }
    if let Some(&min) = counts.iter().min()
        && min < n_splits
    {
        log::warn!(
            "the least populated class has only {min} members, fewer than n_splits = {n_splits}"
        );
    }
    let mut y_order = encoded.clone();
    y_order.sort_unstable();
    // allocation[k][f]: class-k entries of y_order[f::n_splits]
    let mut allocation = vec![vec![0usize; n_splits]; n_classes];
    for (i, &k) in y_order.iter().enumerate() {
        allocation[k][i % n_splits] += 1;
    }
    let mut rng = shuffle.map(StdRng::seed_from_u64);
    let mut test_fold = vec![0; labels.len()];
    for (k, per_fold) in allocation.iter().enumerate() {
        let mut folds_for_class: Vec<usize> = per_fold
            .iter()
            .enumerate()
            .flat_map(|(f, &n)| std::iter::repeat_n(f, n))
            .collect();
        if let Some(rng) = rng.as_mut() {
            folds_for_class.shuffle(rng);
        }
        let members = encoded
            .iter()
            .enumerate()
            .filter(|(_, e)| **e == k)
            .map(|(i, _)| i);
        for (i, f) in members.zip(folds_for_class) {
            test_fold[i] = f;
        }
    }
    Ok(Folds {
        test_fold,
        n_splits,
    })
}

/// scikit-learn's `GroupKFold(n_splits)`: samples of a group stay in one fold. Groups (sorted
/// ascending) are taken largest first (among equal sizes the larger group value first, as
/// `argsort(sizes, kind='stable')[::-1]`), each into the fold with the fewest samples so far
/// (the first such fold).
///
/// # Errors
/// [`PodiumError::Config`] for fewer than 2 splits or fewer groups than splits.
pub fn group_kfold(groups: &[i64], n_splits: usize) -> Result<Folds> {
    validate_splits(n_splits, groups.len())?;
    let mut unique: Vec<i64> = groups.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() < n_splits {
        return Err(PodiumError::config(
            "n_splits",
            n_splits,
            format!("cannot exceed the number of groups ({})", unique.len()),
        ));
    }
    let index: HashMap<i64, usize> = unique.iter().enumerate().map(|(i, &g)| (g, i)).collect();
    let group_of: Vec<usize> = groups.iter().map(|g| index[g]).collect();
    let mut sizes = vec![0usize; unique.len()];
    for &g in &group_of {
        sizes[g] += 1;
    }
    let mut order: Vec<usize> = (0..unique.len()).collect();
    order.sort_by_key(|&g| sizes[g]); // stable
    order.reverse();
    let mut fold_size = vec![0usize; n_splits];
    let mut fold_of_group = vec![0usize; unique.len()];
    for g in order {
        let f = (0..n_splits)
            .min_by_key(|&f| fold_size[f])
            .expect("at least 2 folds");
        fold_size[f] += sizes[g];
        fold_of_group[g] = f;
    }
    Ok(Folds {
        test_fold: group_of.iter().map(|&g| fold_of_group[g]).collect(),
        n_splits,
    })
}

impl ImageDataset {
    /// Stratified k-fold `(train, valid)` datasets ([`stratified_kfold`] on the labels).
    ///
    /// # Errors
    /// As [`stratified_kfold`], and an unlabelled item.
    pub fn stratified_kfold(
        &self,
        n_splits: usize,
        shuffle: Option<u64>,
    ) -> Result<Vec<(Self, Self)>> {
        let labels = self
            .labels()
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.map(|l| l as i64).ok_or_else(|| {
                    PodiumError::config("labels", self.name(i), "k-folds need labels")
                })
            })
            .collect::<Result<Vec<i64>>>()?;
        let folds = stratified_kfold(&labels, n_splits, shuffle)?;
        Ok(folds
            .splits()
            .into_iter()
            .map(|(t, v)| (self.subset(&t), self.subset(&v)))
            .collect())
    }
}

/// Out-of-fold predictions: each sample's class probabilities from the fold in which it was a
/// validation sample, gathered into one array for CV scores and stacking.
#[derive(Clone, Debug, PartialEq)]
pub struct OofStore {
    num_classes: usize,
    rows: Vec<Option<(usize, Vec<f32>)>>,
}

impl OofStore {
    /// An empty store for `n_samples` samples of `num_classes` classes.
    pub fn new(n_samples: usize, num_classes: usize) -> Self {
        Self {
            num_classes,
            rows: vec![None; n_samples],
        }
    }

    /// Records fold `fold`'s probabilities for the samples at `indices` (positions in the full
    /// dataset).
    ///
    /// # Errors
    /// [`PodiumError::Config`] if the lengths differ, an index is out of range or already
    /// recorded, or a row does not have `num_classes` values.
    pub fn record(
        &mut self,
        fold: usize,
        indices: &[usize],
        probabilities: &[Vec<f32>],
    ) -> Result<()> {
        if indices.len() != probabilities.len() {
            return Err(PodiumError::config(
                "probabilities",
                probabilities.len(),
                format!("one row per index ({})", indices.len()),
            ));
        }
        for (&i, p) in indices.iter().zip(probabilities) {
            if i >= self.rows.len() {
                return Err(PodiumError::config(
                    "index",
                    i,
                    format!("below {}", self.rows.len()),
                ));
            }
            if p.len() != self.num_classes {
                return Err(PodiumError::config(
                    format!("probabilities[{i}]"),
                    p.len(),
                    format!("{} classes", self.num_classes),
                ));
            }
            if let Some((f, _)) = &self.rows[i] {
                return Err(PodiumError::config(
                    "index",
                    i,
                    format!("already recorded by fold {f}"),
                ));
            }
            self.rows[i] = Some((fold, p.clone()));
        }
        Ok(())
    }

    /// Samples with no prediction yet.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| self.rows[i].is_none())
            .collect()
    }

    /// Out-of-fold top-1 accuracy, percent, over the recorded samples.
    pub fn accuracy(&self, labels: &[usize]) -> f64 {
        let (mut hit, mut n) = (0usize, 0usize);
        for (row, &y) in self.rows.iter().zip(labels) {
            if let Some((_, p)) = row {
                n += 1;
                let top = p
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                    )
                    .0;
                hit += usize::from(top == y);
            }
        }
        100.0 * hit as f64 / n.max(1) as f64
    }

    /// Writes `index,fold,label,p_0..p_{C-1}` rows (recorded samples only) atomically
    /// ([`write_atomic_text`]).
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming the file.
    pub fn write_csv(&self, path: impl AsRef<Path>, labels: &[usize]) -> Result<()> {
        write_atomic_text(path.as_ref(), |f| {
            write!(f, "index,fold,label")?;
            for c in 0..self.num_classes {
                write!(f, ",p_{c}")?;
            }
            writeln!(f)?;
            for (i, row) in self.rows.iter().enumerate() {
                if let Some((fold, p)) = row {
                    write!(f, "{i},{fold},{}", labels.get(i).copied().unwrap_or(0))?;
                    for v in p {
                        write!(f, ",{v}")?;
                    }
                    writeln!(f)?;
                }
            }
            Ok(())
        })
    }
}
