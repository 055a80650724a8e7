//! Data: readers for image folders, CSV label files, IDX (MNIST) and CIFAR binaries; splits and
//! k-folds (scikit-learn's assignment); long-tailed subsets.
//!
//! Every reader returns an [`ImageDataset`], whose items decode (with [`crate::codec`]) to
//! [`ImageItem`]s holding an 8-bit [`Bitmap`](crate::codec::Bitmap); the
//! [`loader`](crate::loader) turns them into batches. `data` imports neither the augmentations
//! nor the loader.
//!
//! | podium | scikit-learn / pandas / torchvision |
//! |---|---|
//! | [`ImageDataset::from_folder`] | torchvision `ImageFolder` |
//! | [`ImageDataset::from_csv`] | `pd.read_csv(path, names=["filename", "label"])` |
//! | [`ImageDataset::from_csv_columns`] ([`CsvColumns`]) | `df = pd.read_csv(path)`; `df[id]`, `df[label]`, `groups=df[group]` |
//! | [`ImageDataset::groups`] | the `groups` argument of `GroupKFold.split` |
//! | [`stratified_kfold`], [`group_kfold`], [`kfold`] | `StratifiedKFold`, `GroupKFold`, `KFold` |

mod cifar;
mod dataset;
mod digits;
mod folder;
mod folds;
mod idx;
mod item;
mod long_tail;
mod split;

pub use cifar::{CIFAR10_CLASSES, CifarLabel, read_cifar10, read_cifar100};
pub use dataset::{CorruptPolicy, ImageDataset};
pub use digits::{DIGITS_IMAGES_IDX, DIGITS_LABELS_IDX, digits};
pub use folder::{CsvColumns, IMAGE_EXTENSIONS};
pub use folds::{Folds, OofStore, group_kfold, kfold, stratified_kfold};
pub use idx::{IdxArray, MAX_IDX_DATA_BYTES, parse_idx, read_idx, read_idx_dataset};
pub use item::ImageItem;
pub use long_tail::{ImbalanceProfile, long_tailed_counts};
pub use split::{random_split_indices, stratified_split_indices};
