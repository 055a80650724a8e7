//! The loader: from a dataset to training batches. It sits above [`data`](crate::data)
//! (datasets, decoded items), [`augment`](crate::augment) (pipelines), [`mix`](crate::mix)
//! (batch mixing) and [`sample`](crate::sample) (samplers), and is the one place where they
//! meet.
//!
//! - [`ClassificationBatcher`]: a burn [`Batcher`](burn::data::dataloader::batcher::Batcher)
//!   from [`ImageItem`](crate::data::ImageItem)s (or augmented views) to normalized
//!   `[B, C, H, W]` tensors: the only place that normalizes plain images, with a
//!   [`Normalize`](crate::augment::Normalize) given, estimated from the data
//!   ([`Normalize::estimate`](crate::augment::Normalize::estimate)) or taken from the training
//!   pipeline ([`Pipeline::normalization`](crate::augment::Pipeline::normalization)).
//! - [`ImageLoader`]: a burn [`DataLoader`](burn::data::dataloader::DataLoader) with a
//!   reproducible batch order, parallel decoding, augmentation, mixing and sampling, whose
//!   batches are [`ClassificationBatch`]es (with [`MixTargets`](crate::mix::MixTargets) when
//!   mixed).
//!
//! | podium | torch / torchvision |
//! |---|---|
//! | [`ImageLoader`] | `torch.utils.data.DataLoader(dataset, batch_size, shuffle, sampler, drop_last, num_workers, prefetch_factor)` |
//! | [`ImageLoader::augment`] | the dataset's `transform` |
//! | [`ImageLoader::mixing`] | timm's `Mixup` called on each batch |
//! | [`ImageLoader::corrupt_images`]`(CorruptPolicy::Skip)`, [`ImageLoader::skipped`] | a `collate_fn` dropping the items whose `__getitem__` failed (timm's `ImageDataset` returns the next item instead) |
//! | [`ClassificationBatcher`] | `collate_fn` with `ToTensor()` + `Normalize(mean, std)` |

mod batcher;
mod image_loader;
mod normalize;
mod skip;

pub use batcher::{ClassificationBatch, ClassificationBatcher};
pub use image_loader::ImageLoader;
pub use skip::SkippedImage;
