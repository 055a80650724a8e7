//! [`SampledDataset`]: any burn [`Dataset`] seen through a [`Sampler`], for burn's own
//! `DataLoaderBuilder`.

use std::sync::{Arc, RwLock};

use burn::data::dataset::{Dataset, DatasetError};

use super::Sampler;

/// A burn [`Dataset`] whose item `i` is item `sampler.indices(epoch)[i]` of the wrapped dataset,
/// so class-aware or weighted sampling works with burn's `DataLoaderBuilder` (build the loader
/// without `shuffle`: the sampler orders the epoch). Call [`SampledDataset::set_epoch`] before
/// each epoch to draw its indices.
pub struct SampledDataset<I> {
    inner: Arc<dyn Dataset<I>>,
    sampler: Arc<dyn Sampler>,
    indices: RwLock<Vec<usize>>,
}

impl<I> std::fmt::Debug for SampledDataset<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampledDataset")
            .field("sampler", &self.sampler)
            .field("len", &self.sampler.len())
            .finish()
    }
}

impl<I> SampledDataset<I> {
    /// Wraps `inner`; the indices of epoch 0 are drawn at once.
    ///
    /// # Panics
    /// If the sampler yields an index outside `inner` (a sampler built for another dataset).
    pub fn new(inner: Arc<dyn Dataset<I>>, sampler: Arc<dyn Sampler>) -> Self {
        let dataset = Self {
            inner,
            sampler,
            indices: RwLock::new(Vec::new()),
        };
        dataset.set_epoch(0);
        dataset
    }

    /// Draws the indices of `epoch`.
    ///
    /// # Panics
    /// As [`Self::new`].
    pub fn set_epoch(&self, epoch: u64) {
        let indices = self.sampler.indices(epoch);
        let n = self.inner.len();
        if let Some(bad) = indices.iter().find(|&&i| i >= n) {
            panic!("SampledDataset: sampler index {bad} for a dataset of {n} items");
        }
        *self.indices.write().expect("indices lock") = indices;
    }
}

impl<I> Dataset<I> for SampledDataset<I> {
    fn get(&self, index: usize) -> Result<I, DatasetError> {
        let i = self.indices.read().expect("indices lock")[index];
        self.inner.get(i)
    }

    fn len(&self) -> usize {
        self.indices.read().expect("indices lock").len()
    }
}
