//! Samplers: which dataset items an epoch visits.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{class_sampling_probs, progressive_balanced_probs, sample_weights};
use crate::error::{PodiumError, Result};
use crate::util::derive_seed;

/// Decides the items (dataset indices, repeats allowed) and their order for each epoch.
/// Epoch `e`'s draws come from `derive_seed(seed, [e])`, so they are reproducible and do not
/// depend on threads.
pub trait Sampler: Send + Sync + std::fmt::Debug {
    /// The indices epoch `epoch` (from 0) visits, in order.
    fn indices(&self, epoch: u64) -> Vec<usize>;
    /// Number of indices per epoch.
    fn len(&self) -> usize;
    /// Whether an epoch is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `torch.utils.data.WeightedRandomSampler`: index `i` is drawn with probability proportional
/// to `weights[i]`; with replacement, `num_samples` independent draws; without, successive draws
/// without replacement (Efraimidis and Spirakis 2006 keys `u^(1/w)`, the same distribution as
/// `torch.multinomial(replacement=False)`).
#[derive(Clone, Debug)]
pub struct WeightedRandomSampler {
    weights: Vec<f64>,
    cumulative: Vec<f64>,
    num_samples: usize,
    replacement: bool,
    seed: u64,
}

impl WeightedRandomSampler {
    /// A sampler over per-sample `weights`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a negative or non-finite weight, all weights zero, or (without
    /// replacement) more samples than positive weights.
    pub fn new(
        weights: Vec<f64>,
        num_samples: usize,
        replacement: bool,
        seed: u64,
    ) -> Result<Self> {
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(PodiumError::config(
                format!("weights[{i}]"),
                w,
                "must be finite and >= 0",
            ));
        }
        let positive = weights.iter().filter(|w| **w > 0.0).count();
        if positive == 0 {
            return Err(PodiumError::config(
                "weights",
                "all zero",
                "need a positive weight",
            ));
        }
        if !replacement && num_samples > positive {
            return Err(PodiumError::config(
                "num_samples",
                num_samples,
                format!("without replacement at most {positive} (the positive weights)"),
            ));
        }
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        Ok(Self {
            weights,
            cumulative,
            num_samples,
            replacement,
            seed,
        })
    }

    fn draw(&self, rng: &mut StdRng) -> Vec<usize> {
        if self.replacement {
            let total = *self.cumulative.last().expect("non-empty");
            (0..self.num_samples)
                .map(|_| {
                    let u = rng.random::<f64>() * total;
                    let i = self.cumulative.partition_point(|&c| c <= u);
                    i.min(self.weights.len() - 1)
                })
                .collect()
        } else {
            let mut keyed: Vec<(f64, usize)> = self
                .weights
                .iter()
                .enumerate()
                .filter(|(_, w)| **w > 0.0)
                .map(|(i, &w)| (rng.random::<f64>().ln() / w, i))
                .collect();
            keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
            keyed.truncate(self.num_samples);
            keyed.into_iter().map(|(_, i)| i).collect()
        }
    }
}

impl Sampler for WeightedRandomSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        self.draw(&mut StdRng::seed_from_u64(derive_seed(self.seed, &[epoch])))
    }

    fn len(&self) -> usize {
        self.num_samples
    }
}

fn class_counts(labels: &[usize], num_classes: usize) -> Result<Vec<usize>> {
    let mut counts = vec![0; num_classes];
    for (i, &l) in labels.iter().enumerate() {
        if l >= num_classes {
            return Err(PodiumError::config(
                "labels",
                format!("item {i} has label {l}"),
                format!("expected below {num_classes}"),
            ));
        }
        counts[l] += 1;
    }
    Ok(counts)
}

/// Per-sample weights that draw class `j` with probability `probs` over the present classes.
fn weights_for(labels: &[usize], counts: &[usize], present_probs: &[f64]) -> Vec<f64> {
    let present: Vec<usize> = counts.iter().copied().filter(|&n| n > 0).collect();
    let per_class = sample_weights(&present, present_probs);
    let mut by_class = vec![0.0; counts.len()];
    for (w, c) in per_class
        .into_iter()
        .zip(counts.iter().enumerate().filter(|(_, n)| **n > 0))
    {
        by_class[c.0] = w;
    }
    labels.iter().map(|&l| by_class[l]).collect()
}

/// Class-aware sampling with `p_j = n_j^q / sum n^q` over the classes present: `q = 1`
/// instance-balanced, `q = 0` class-balanced, `q = 1/2` square-root (Kang et al. 2020). Draws
/// `N` items per epoch with replacement.
#[derive(Clone, Debug)]
pub struct ClassAwareSampler {
    inner: WeightedRandomSampler,
    probs: Vec<f64>,
}

impl ClassAwareSampler {
    /// A sampler for items with `labels` (`< num_classes`).
    ///
    /// # Errors
    /// [`PodiumError::Config`] for no items, a label out of range, or a non-finite `q`.
    pub fn new(labels: &[usize], num_classes: usize, q: f64, seed: u64) -> Result<Self> {
        let counts = class_counts(labels, num_classes)?;
        let present: Vec<usize> = counts.iter().copied().filter(|&n| n > 0).collect();
        let probs = class_sampling_probs(&present, q)?;
        let weights = weights_for(labels, &counts, &probs);
        Ok(Self {
            inner: WeightedRandomSampler::new(weights, labels.len(), true, seed)?,
            probs,
        })
    }

    /// The sampling probability of each present class.
    pub fn class_probs(&self) -> &[f64] {
        &self.probs
    }
}

impl Sampler for ClassAwareSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        self.inner.indices(epoch)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// Progressively balanced sampling (Kang et al. 2020): epoch `t` of `T` draws class `j` with
/// `p_j(t) = (1 - t / T) p_j^IB + (t / T) p_j^CB`, moving from the data's frequencies to
/// class-balanced; re-weighted each epoch, `N` draws with replacement.
#[derive(Clone, Debug)]
pub struct ProgressivelyBalancedSampler {
    labels: Vec<usize>,
    counts: Vec<usize>,
    total_epochs: usize,
    seed: u64,
}

impl ProgressivelyBalancedSampler {
    /// A sampler for items with `labels` over `total_epochs` epochs.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for no items, a label out of range, or `total_epochs = 0`.
    pub fn new(
        labels: &[usize],
        num_classes: usize,
        total_epochs: usize,
        seed: u64,
    ) -> Result<Self> {
        let counts = class_counts(labels, num_classes)?;
        let present: Vec<usize> = counts.iter().copied().filter(|&n| n > 0).collect();
        progressive_balanced_probs(&present, 0, total_epochs)?;
        Ok(Self {
            labels: labels.to_vec(),
            counts,
            total_epochs,
            seed,
        })
    }

    /// The class probabilities of epoch `epoch` (present classes).
    pub fn class_probs(&self, epoch: u64) -> Vec<f64> {
        let present: Vec<usize> = self.counts.iter().copied().filter(|&n| n > 0).collect();
        progressive_balanced_probs(&present, epoch as usize, self.total_epochs).expect("checked")
    }
}

impl Sampler for ProgressivelyBalancedSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        let weights = weights_for(&self.labels, &self.counts, &self.class_probs(epoch));
        WeightedRandomSampler::new(weights, self.labels.len(), true, self.seed)
            .expect("valid weights")
            .indices(epoch)
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// `torch.utils.data.DistributedSampler`: each of `num_replicas` ranks takes every
/// `num_replicas`-th index (from its `rank`) of one permutation shared by all ranks (seeded by
/// `(seed, epoch)`), so the shards are disjoint and together cover the data once per epoch.
/// Without `drop_last` the list is padded by repeating its start to a multiple of the replica
/// count; with it, the tail is dropped.
#[derive(Clone, Debug)]
pub struct DistributedShardSampler {
    len: usize,
    num_replicas: usize,
    rank: usize,
    shuffle: bool,
    drop_last: bool,
    seed: u64,
}

impl DistributedShardSampler {
    /// The shard of `rank` among `num_replicas` over a dataset of `len` items.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for zero replicas, `rank >= num_replicas` or an empty dataset.
    pub fn new(
        len: usize,
        num_replicas: usize,
        rank: usize,
        shuffle: bool,
        drop_last: bool,
        seed: u64,
    ) -> Result<Self> {
        if num_replicas == 0 {
            return Err(PodiumError::config("num_replicas", 0, "must be at least 1"));
        }
        if rank >= num_replicas {
            return Err(PodiumError::config(
                "rank",
                rank,
                format!("must be below {num_replicas}"),
            ));
        }
        if len == 0 {
            return Err(PodiumError::config("len", 0, "nothing to shard"));
        }
        Ok(Self {
            len,
            num_replicas,
            rank,
            shuffle,
            drop_last,
            seed,
        })
    }

    fn num_samples(&self) -> usize {
        if self.drop_last {
            self.len / self.num_replicas
        } else {
            self.len.div_ceil(self.num_replicas)
        }
    }
}

impl Sampler for DistributedShardSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len).collect();
        if self.shuffle {
            order.shuffle(&mut StdRng::seed_from_u64(derive_seed(self.seed, &[epoch])));
        }
        let total = self.num_samples() * self.num_replicas;
        let mut k = 0;
        while order.len() < total {
            order.push(order[k]);
            k += 1;
        }
        order.truncate(total);
        order
            .into_iter()
            .skip(self.rank)
            .step_by(self.num_replicas)
            .collect()
    }

    fn len(&self) -> usize {
        self.num_samples()
    }
}

/// The training sampler of a [`Learner`](crate::learner::Learner), by name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum SamplerConfig {
    /// Every item once per epoch, in a seeded random order (the default).
    #[default]
    Shuffle,
    /// [`ClassAwareSampler`] with `q = 1`.
    InstanceBalanced,
    /// [`ClassAwareSampler`] with `q = 0`.
    ClassBalanced,
    /// [`ClassAwareSampler`] with `q = 1/2`.
    SquareRoot,
    /// [`ClassAwareSampler`] with a given `q`.
    ClassAware {
        /// The exponent `q`.
        q: f64,
    },
    /// [`ProgressivelyBalancedSampler`] over the run's epochs.
    ProgressivelyBalanced,
}

impl SamplerConfig {
    /// Builds the sampler for items with `labels`; `None` for [`SamplerConfig::Shuffle`] (the
    /// loader's own shuffling).
    ///
    /// # Errors
    /// Those of the sampler.
    pub fn init(
        &self,
        labels: &[usize],
        num_classes: usize,
        epochs: usize,
        seed: u64,
    ) -> Result<Option<Arc<dyn Sampler>>> {
        let q = match *self {
            SamplerConfig::Shuffle => return Ok(None),
            SamplerConfig::InstanceBalanced => 1.0,
            SamplerConfig::ClassBalanced => 0.0,
            SamplerConfig::SquareRoot => 0.5,
            SamplerConfig::ClassAware { q } => q,
            SamplerConfig::ProgressivelyBalanced => {
                return Ok(Some(Arc::new(ProgressivelyBalancedSampler::new(
                    labels,
                    num_classes,
                    epochs,
                    seed,
                )?)));
            }
        };
        Ok(Some(Arc::new(ClassAwareSampler::new(
            labels,
            num_classes,
            q,
            seed,
        )?)))
    }
}
