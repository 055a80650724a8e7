//! [`ImageDataset`]: a labelled (or unlabelled) list of images, in memory or on disk, that
//! decodes one item at a time and implements burn's [`Dataset`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ImageItem;
use crate::codec::{Bitmap, ColorMode, DecodeOptions, decode_file};
use crate::error::{PodiumError, Result};

/// Where the pixels of a dataset live.
#[derive(Debug)]
enum Store {
    /// Raw 8-bit images of one size, `n x h x w x c` (channels interleaved), as IDX and CIFAR
    /// files hold them.
    Memory {
        pixels: Vec<u8>,
        channels: usize,
        height: usize,
        width: usize,
    },
    /// Encoded image files, decoded on demand.
    Files { paths: Vec<PathBuf> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    key: usize,
    label: Option<usize>,
    /// Index into [`ImageDataset::group_names`], when groups were given.
    group: Option<usize>,
}

/// What to do with an image file that does not decode, when a dataset is checked before training
/// ([`ImageDataset::verify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CorruptPolicy {
    /// Stop with an error that names the first corrupt file (the default).
    #[default]
    Fail,
    /// Drop corrupt files from the dataset, log a warning for each, and go on.
    Skip,
}

/// A list of images with class labels, cheap to clone and to split (items share one store).
///
/// Build one from files with [`ImageDataset::from_folder`], [`ImageDataset::from_csv`] or
/// [`ImageDataset::from_unlabelled_folder`], from binary sets with [`crate::data::read_idx_dataset`]
/// and [`crate::data::read_cifar10`], or take the embedded digits with [`crate::data::digits`].
///
/// `get(i)` (burn's [`Dataset`]) decodes item `i` into an [`ImageItem`]; a decoding failure is
/// a [`DatasetError`] wrapping a [`PodiumError`] that names the file.
#[derive(Clone, Debug)]
pub struct ImageDataset {
    store: Arc<Store>,
    entries: Arc<Vec<Entry>>,
    classes: Arc<Vec<String>>,
    group_names: Arc<Vec<String>>,
    decode: DecodeOptions,
    origin: Arc<PathBuf>,
}

impl ImageDataset {
    /// A dataset over raw 8-bit images of one shape `[channels, height, width]` held in
    /// memory: `n * h * w * c` bytes, each image's pixels row-major with interleaved channels
    /// (as [`Bitmap`]s).
    ///
    /// # Errors
    /// [`PodiumError::Dataset`] (naming `origin`) if the buffer size does not match, the label
    /// count is not `n`, or a label is not below `classes.len()`.
    pub fn from_memory(
        origin: impl Into<PathBuf>,
        pixels: Vec<u8>,
        [channels, height, width]: [usize; 3],
        labels: Vec<Option<usize>>,
        classes: Vec<String>,
    ) -> Result<Self> {
        let origin = origin.into();
        let n = labels.len();
        if pixels.len() != n * height * width * channels {
            return Err(PodiumError::Dataset {
                path: origin,
                reason: format!(
                    "{} bytes of pixels do not hold {n} images of {channels}x{height}x{width}",
                    pixels.len()
                ),
            });
        }
        if channels != 1 && channels != 3 {
            return Err(PodiumError::Dataset {
                path: origin,
                reason: format!("{channels} channels; podium reads 1 or 3"),
            });
        }
        validate_labels(&origin, &labels, classes.len())?;
        let color = if channels == 1 {
            ColorMode::Gray
        } else {
            ColorMode::Rgb
        };
        Ok(Self {
            store: Arc::new(Store::Memory {
                pixels,
                channels,
                height,
                width,
            }),
            entries: Arc::new(entries_from(labels)),
            classes: Arc::new(classes),
            group_names: Arc::new(Vec::new()),
            decode: DecodeOptions::default().with_color(color),
            origin: Arc::new(origin),
        })
    }

    /// A dataset over encoded image files (decoded on demand with the dataset's
    /// [`DecodeOptions`], RGB at the image's own size unless set with [`Self::with_decode`]).
    ///
    /// # Errors
    /// [`PodiumError::Dataset`] if `paths` and `labels` differ in length or a label is out of range.
    pub fn from_files(
        origin: impl Into<PathBuf>,
        paths: Vec<PathBuf>,
        labels: Vec<Option<usize>>,
        classes: Vec<String>,
    ) -> Result<Self> {
        let origin = origin.into();
        if paths.len() != labels.len() {
            return Err(PodiumError::Dataset {
                path: origin,
                reason: format!("{} files but {} labels", paths.len(), labels.len()),
            });
        }
        validate_labels(&origin, &labels, classes.len())?;
        Ok(Self {
            store: Arc::new(Store::Files { paths }),
            entries: Arc::new(entries_from(labels)),
            classes: Arc::new(classes),
            group_names: Arc::new(Vec::new()),
            decode: DecodeOptions::default(),
            origin: Arc::new(origin),
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dataset has no item.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets how items are decoded (colour mode and target size).
    pub fn with_decode(mut self, decode: DecodeOptions) -> Self {
        self.decode = decode;
        self
    }

    /// The dataset decoded as a model of input `[height, width]` `size` is evaluated with timm's
    /// `crop_pct` (validation, out-of-fold and test images): with `Some(p)`, each item is
    /// resized to cover `floor(target / p)` and centre-cropped to the target
    /// ([`DecodeOptions::crop_pct`]), the target being the dataset's own
    /// [`DecodeOptions::size`] when it has one, else `size`. With `None` the dataset is returned
    /// as it is (decoded as its [`DecodeOptions`] say).
    ///
    /// # Errors
    /// [`PodiumError::Config`] with key `crop_pct` for a value outside `(0, 1]`.
    pub fn with_eval_crop(self, crop_pct: Option<f64>, size: [usize; 2]) -> Result<Self> {
        let Some(p) = crop_pct else {
            return Ok(self);
        };
        let decode = self
            .decode
            .with_size(Some(self.decode.size.unwrap_or(size)))
            .with_crop_pct(Some(p));
        decode.validate()?;
        Ok(self.with_decode(decode))
    }

    /// How items are decoded.
    pub fn decode_options(&self) -> DecodeOptions {
        self.decode
    }

    /// The file or folder this dataset was read from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Class names, indexed by label.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Label of every item, in order (`None` for unlabelled items).
    pub fn labels(&self) -> Vec<Option<usize>> {
        self.entries.iter().map(|e| e.label).collect()
    }

    /// Gives each item a group (a patient, a photographer, a video: images that must stay in
    /// one fold), one name per item in order, as a CSV's group column does
    /// ([`ImageDataset::from_csv_columns`]). Groups are numbered by first appearance
    /// ([`Self::groups`]); subsets keep them.
    ///
    /// # Errors
    /// [`PodiumError::Dataset`] (naming the dataset's origin) when the count differs from
    /// [`Self::len`] or a name is empty (naming its item).
    pub fn with_groups<S: AsRef<str>>(mut self, groups: &[S]) -> Result<Self> {
        if groups.len() != self.len() {
            return Err(PodiumError::Dataset {
                path: self.origin.to_path_buf(),
                reason: format!("{} groups for {} items", groups.len(), self.len()),
            });
        }
        let mut names: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut entries = self.entries.to_vec();
        for (i, (entry, group)) in entries.iter_mut().zip(groups).enumerate() {
            let group = group.as_ref();
            if group.is_empty() {
                return Err(PodiumError::Dataset {
                    path: self.origin.to_path_buf(),
                    reason: format!("item {i} ({}) has an empty group", self.name(i)),
                });
            }
            let id = *index.entry(group.to_string()).or_insert_with(|| {
                names.push(group.to_string());
                names.len() - 1
            });
            entry.group = Some(id);
        }
        self.entries = Arc::new(entries);
        self.group_names = Arc::new(names);
        Ok(self)
    }

    /// The group of every item, in order, as numbers for
    /// [`group_kfold`](crate::data::group_kfold) and
    /// [`Learner::cv_folds`](crate::learner::Learner::cv_folds) (an index into
    /// [`Self::group_names`]); `None` unless every item has a group ([`Self::with_groups`]).
    pub fn groups(&self) -> Option<Vec<i64>> {
        self.entries
            .iter()
            .map(|e| e.group.map(|g| g as i64))
            .collect()
    }

    /// The group names, numbered as [`Self::groups`] numbers them (in order of first
    /// appearance in the dataset they were given to).
    pub fn group_names(&self) -> &[String] {
        &self.group_names
    }

    /// Label of item `index`.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn label(&self, index: usize) -> Option<usize> {
        self.entries[index].label
    }

    /// Number of items of each class (unlabelled items are not counted).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for e in self.entries.iter() {
            if let Some(l) = e.label {
                counts[l] += 1;
            }
        }
        counts
    }

    /// The file of item `index`, for file-backed datasets.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn path(&self, index: usize) -> Option<&Path> {
        match &*self.store {
            Store::Files { paths } => Some(&paths[self.entries[index].key]),
            Store::Memory { .. } => None,
        }
    }

    /// A name for item `index`: the file name (with extension) for file-backed datasets, the
    /// position in the source file for in-memory ones. Submission files use it as the id.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn name(&self, index: usize) -> String {
        match self.path(index) {
            Some(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            None => self.entries[index].key.to_string(),
        }
    }

    /// The items at `indices` (in that order), sharing this dataset's store.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let len = self.entries.len();
        let entries = indices
            .iter()
            .map(|&i| {
                assert!(i < len, "subset index {i} out of range for {len} items");
                self.entries[i]
            })
            .collect();
        Self {
            entries: Arc::new(entries),
            ..self.clone()
        }
    }

    /// The `[channels, height, width]` every item decodes to, when it is fixed: in-memory
    /// datasets, or files with a target size ([`DecodeOptions::size`]).
    pub fn item_shape(&self) -> Option<[usize; 3]> {
        let c = self.decode.color.channels();
        match (&*self.store, self.decode.size) {
            (_, Some([h, w])) => Some([c, h, w]),
            (Store::Memory { height, width, .. }, None) => Some([c, *height, *width]),
            (Store::Files { .. }, None) => None,
        }
    }

    /// The file behind item `index` when the dataset decodes files as they are (RGB at their
    /// own size, EXIF orientation followed: [`DecodeOptions::default`]): then a reader of the raw bytes (an augmentation
    /// pipeline's `apply_encoded`, [`crate::augment`]) decodes the same pixels as
    /// [`Self::decode`].
    ///
    /// # Panics
    /// If `index >= len()`.
    pub(crate) fn plain_file(&self, index: usize) -> Option<&Path> {
        match &*self.store {
            Store::Files { paths } if self.decode == DecodeOptions::default() => {
                Some(&paths[self.entries[index].key])
            }
            _ => None,
        }
    }

    /// Decodes item `index`.
    ///
    /// # Errors
    /// [`PodiumError::Io`] or [`PodiumError::Decode`] naming the file.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn decode(&self, index: usize) -> Result<ImageItem> {
        let entry = self.entries[index];
        let image = match &*self.store {
            Store::Memory {
                pixels,
                channels,
                height,
                width,
            } => {
                let size = channels * height * width;
                let raw = pixels[entry.key * size..(entry.key + 1) * size].to_vec();
                let raw =
                    Bitmap::new(raw, [*channels, *height, *width]).into_color(self.decode.color);
                self.decode.fit(raw)
            }
            Store::Files { paths } => decode_file(&paths[entry.key], &self.decode)?,
        };
        Ok(ImageItem {
            image,
            label: entry.label,
            index,
        })
    }

    /// Checks, before training, that every image decodes and that all decoded images share one
    /// size (so they can be batched). Files are decoded in parallel.
    ///
    /// With [`CorruptPolicy::Fail`] the first bad file (in dataset order) is the error; with
    /// [`CorruptPolicy::Skip`] bad files are dropped, logged as warnings and returned beside the
    /// cleaned dataset. In-memory datasets always pass.
    ///
    /// # Errors
    /// [`PodiumError::Decode`]/[`PodiumError::Io`] for a corrupt or unreadable file under `Fail`;
    /// [`PodiumError::Dataset`] when decoded sizes differ and no target size is set, or when
    /// `Skip` leaves no image.
    pub fn verify(&self, policy: CorruptPolicy) -> Result<(Self, Vec<PodiumError>)> {
        self.verify_with(policy, true)
    }

    /// [`Self::verify`] without the one-size rule: for training sets whose augmentation
    /// crops or resizes every image to one size (a leading `random_resized_crop`), so photos
    /// of any size can be decoded at full resolution.
    ///
    /// # Errors
    /// As [`Self::verify`], less the size mismatch.
    pub fn verify_decoding(&self, policy: CorruptPolicy) -> Result<(Self, Vec<PodiumError>)> {
        self.verify_with(policy, false)
    }

    fn verify_with(
        &self,
        policy: CorruptPolicy,
        same_size: bool,
    ) -> Result<(Self, Vec<PodiumError>)> {
        if matches!(&*self.store, Store::Memory { .. }) {
            return Ok((self.clone(), Vec::new()));
        }
        let results: Vec<Result<[usize; 2]>> = (0..self.len())
            .into_par_iter()
            .map(|i| self.decode(i).map(|it| [it.image.height, it.image.width]))
            .collect();
        let mut keep = Vec::with_capacity(results.len());
        let mut skipped = Vec::new();
        let mut first_size: Option<([usize; 2], usize)> = None;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(size) => {
                    match first_size {
                        None => first_size = Some((size, i)),
                        Some((s, j)) if same_size && s != size => {
                            return Err(PodiumError::Dataset {
                                path: self.path(i).unwrap_or(&self.origin).to_path_buf(),
                                reason: format!(
                                    "decodes to {}x{} but {} is {}x{}; set a target size \
                                     (DecodeOptions::size) to batch images of different sizes",
                                    size[0],
                                    size[1],
                                    self.name(j),
                                    s[0],
                                    s[1]
                                ),
                            });
                        }
                        _ => {}
                    }
                    keep.push(i);
                }
                Err(e) => match policy {
                    CorruptPolicy::Fail => return Err(e),
                    CorruptPolicy::Skip => {
                        log::warn!("skipping corrupt image: {e}");
                        skipped.push(e);
                    }
                },
            }
        }
        if keep.is_empty() && !self.is_empty() {
            return Err(PodiumError::Dataset {
                path: self.origin.to_path_buf(),
                reason: "no image decodes".into(),
            });
        }
        Ok((self.subset(&keep), skipped))
    }
}

impl Dataset<ImageItem> for ImageDataset {
    fn get(&self, index: usize) -> std::result::Result<ImageItem, DatasetError> {
        self.decode(index).map_err(DatasetError::new)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

fn entries_from(labels: Vec<Option<usize>>) -> Vec<Entry> {
    labels
        .into_iter()
        .enumerate()
        .map(|(key, label)| Entry {
            key,
            label,
            group: None,
        })
        .collect()
}

fn validate_labels(origin: &Path, labels: &[Option<usize>], num_classes: usize) -> Result<()> {
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.filter(|&l| l >= num_classes).map(|l| (i, l)))
    {
        return Err(PodiumError::Dataset {
            path: origin.to_path_buf(),
            reason: format!("item {i} has label {l}, but there are only {num_classes} classes"),
        });
    }
    Ok(())
}
