//! Sampling for imbalanced data: class-aware sampling probabilities (instance-, class-,
//! square-root- and progressively balanced), weighted random sampling with torch's semantics,
//! a distributed shard sampler, and effective-number class weights.
//!
//! A [`Sampler`] decides which dataset items an epoch visits, in which order; give one to an
//! [`ImageLoader`](crate::loader::ImageLoader) with `sampler(...)`, wrap any burn dataset in a
//! [`SampledDataset`] for burn's own `DataLoaderBuilder`, or give one to the
//! [`Learner`](crate::learner::Learner) through [`SamplerConfig`] (whose
//! [`init`](SamplerConfig::init) builds the sampler from the training labels).
//!
//! | podium | torch / paper |
//! |---|---|
//! | [`WeightedRandomSampler`] | `torch.utils.data.WeightedRandomSampler` |
//! | [`DistributedShardSampler`] | `torch.utils.data.DistributedSampler` |
//! | [`ClassAwareSampler`], [`class_sampling_probs`] | Kang et al. 2020, instance- / class- / square-root-balanced sampling |
//! | [`ProgressivelyBalancedSampler`], [`progressive_balanced_probs`] | Kang et al. 2020, progressively balanced sampling |
//! | [`effective_number`] | Cui et al. 2019, class-balanced weights |

mod dataset;
mod probs;
mod samplers;

pub use dataset::SampledDataset;
pub use probs::{
    EffectiveNumber, class_sampling_probs, effective_number, progressive_balanced_probs,
    sample_weights,
};
pub use samplers::{
    ClassAwareSampler, DistributedShardSampler, ProgressivelyBalancedSampler, Sampler,
    SamplerConfig, WeightedRandomSampler,
};
