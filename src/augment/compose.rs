//! [`Compose`] and [`Pipeline`]: a list of transforms built from a serializable config, with
//! per-sample randomness that does not depend on threads, and AugMix-style splits.

use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::{Image, Normalize, RandomResizedCrop, Transform, TransformConfig};
use crate::codec::{Bitmap, DecodeOptions, MAX_IMAGE_PIXELS, decode_bytes, decode_top_rows};
use crate::error::{PodiumError, Result};
use crate::util::derive_seed;

/// Refuses an intermediate image of more than [`MAX_IMAGE_PIXELS`] pixels (found by the
/// `pipeline_json` fuzz target: a `random_resized_crop` to `[96, 8663332]` allocated 10 GB).
fn check_size(shape: [usize; 3]) -> Result<[usize; 3]> {
    let pixels = shape[1] as u64 * shape[2] as u64;
    if pixels > MAX_IMAGE_PIXELS {
        return Err(PodiumError::config(
            "size",
            format!("[{}, {}]", shape[1], shape[2]),
            format!("{pixels} pixels is over MAX_IMAGE_PIXELS ({MAX_IMAGE_PIXELS})"),
        ));
    }
    Ok(shape)
}

/// A checked list of transforms applied in order (torchvision's `Compose`).
#[derive(Clone, Debug, PartialEq)]
pub struct Compose {
    transforms: Vec<TransformConfig>,
}

impl Compose {
    /// Checks every transform's parameters.
    ///
    /// # Errors
    /// The first [`PodiumError::Config`] of [`Transform::validate`], its key prefixed with the
    /// transform's position and name (`transforms[2].random_resized_crop.scale`); a transform
    /// whose fixed output size is over [`MAX_IMAGE_PIXELS`] (key `size`).
    pub fn new(transforms: Vec<TransformConfig>) -> Result<Self> {
        for (i, t) in transforms.iter().enumerate() {
            t.validate().map_err(|e| prefix(e, i, t))?;
            if let Ok(shape) = t.output_shape([3, 1, 1]) {
                check_size(shape).map_err(|e| prefix(e, i, t))?;
            }
        }
        Ok(Self { transforms })
    }

    /// The transforms.
    pub fn transforms(&self) -> &[TransformConfig] {
        &self.transforms
    }

    /// The shape of the output for an input of `shape` (`[c, h, w]`).
    ///
    /// # Errors
    /// The first transform that cannot take its input (see [`Transform::output_shape`]), its
    /// key prefixed as in [`Self::new`]; a transform giving more than [`MAX_IMAGE_PIXELS`]
    /// pixels (key `size`), which would allocate gigabytes per image.
    pub fn output_shape(&self, shape: [usize; 3]) -> Result<[usize; 3]> {
        self.transforms
            .iter()
            .enumerate()
            .try_fold(shape, |s, (i, t)| {
                t.output_shape(s)
                    .and_then(check_size)
                    .map_err(|e| prefix(e, i, t))
            })
    }

    /// Applies the transforms in order.
    pub fn apply(&self, img: Image, rng: &mut StdRng) -> Image {
        self.apply_from(img, 0, rng)
    }

    fn apply_from(&self, img: Image, start: usize, rng: &mut StdRng) -> Image {
        self.transforms[start..]
            .iter()
            .fold(img, |img, t| t.apply(img, rng))
    }
}

/// The last `normalize` of `transforms`.
fn last_normalize(transforms: &[TransformConfig]) -> Option<Normalize> {
    transforms.iter().rev().find_map(|t| match t {
        TransformConfig::Normalize(n) => Some(n.clone()),
        _ => None,
    })
}

fn prefix(e: PodiumError, i: usize, t: &TransformConfig) -> PodiumError {
    match e {
        PodiumError::Config { key, value, reason } => PodiumError::Config {
            key: format!("transforms[{i}].{}.{key}", t.name()),
            value,
            reason,
        },
        other => other,
    }
}

/// Extra augmented views of each image, for the Jensen-Shannon consistency loss of AugMix
/// (timm's `AugMixDataset` with `num_splits`): view 0 is the image after the pipeline's
/// transforms, views `1..num_splits` pass it through `transforms` as well.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitsConfig {
    /// Views per image, at least 2 (timm's default for AugMix: 3).
    pub num_splits: usize,
    /// Transforms of the augmented views, e.g. `[{"name": "aug_mix", ...}]`.
    pub transforms: Vec<TransformConfig>,
}

/// A whole augmentation recipe as one serializable value (JSON file or part of a training
/// config).
///
/// ```
/// use burn_podium::augment::PipelineConfig;
/// let json = r#"{"transforms": [
///     {"name": "random_resized_crop", "size": [224, 224]},
///     {"name": "horizontal_flip"},
///     {"name": "rand_augment", "magnitude": 9, "num_ops": 2, "magnitude_std": 0.5,
///      "magnitude_max": 10, "p": 0.5, "increasing": false, "interpolation": "bilinear",
///      "fill": [0.486, 0.455, 0.408]}
/// ]}"#;
/// let pipeline = PipelineConfig::from_json(json)?.init()?;
/// assert_eq!(pipeline.output_shape([3, 480, 640])?, [3, 224, 224]);
/// # Ok::<(), burn_podium::PodiumError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct PipelineConfig {
    /// The transforms, in order.
    pub transforms: Vec<TransformConfig>,
    /// Optional AugMix splits.
    #[serde(default)]
    pub splits: Option<SplitsConfig>,
}

impl PipelineConfig {
    /// A pipeline of these transforms, without splits.
    pub fn new(transforms: Vec<TransformConfig>) -> Self {
        Self {
            transforms,
            splits: None,
        }
    }

    /// Adds AugMix splits.
    pub fn with_splits(mut self, num_splits: usize, transforms: Vec<TransformConfig>) -> Self {
        self.splits = Some(SplitsConfig {
            num_splits,
            transforms,
        });
        self
    }

    /// Parses a JSON config.
    ///
    /// # Errors
    /// [`PodiumError::Config`] (key `augment`) with serde's message (which names the unknown
    /// transform or field).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| PodiumError::config("augment", "<json>", e.to_string()))
    }

    /// Reads a JSON config file.
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming the file, or [`PodiumError::Config`] naming the file and
    /// serde's message.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| PodiumError::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| PodiumError::config("augment", path.display(), e.to_string()))
    }

    /// The normalization the pipeline built from this config ends with
    /// ([`Pipeline::normalization`]), read from the config without building it.
    pub fn normalization(&self) -> Option<Normalize> {
        last_normalize(&self.transforms)
    }

    /// Checks every transform and builds the pipeline.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the transform and key at fault, or `num_splits` below 2.
    pub fn init(&self) -> Result<Pipeline> {
        let splits = match &self.splits {
            None => None,
            Some(s) if s.num_splits < 2 => {
                return Err(PodiumError::config(
                    "splits.num_splits",
                    s.num_splits,
                    "must be at least 2",
                ));
            }
            Some(s) => Some((s.num_splits, Compose::new(s.transforms.clone())?)),
        };
        Ok(Pipeline {
            transforms: Compose::new(self.transforms.clone())?,
            splits,
        })
    }
}

/// A built [`PipelineConfig`]: applies its transforms to one image with randomness seeded from
/// `(seed, epoch, index)`, so a sample's augmentation is the same whatever thread runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    transforms: Compose,
    splits: Option<(usize, Compose)>,
}

impl Pipeline {
    /// Number of views per image: 1, or `num_splits` with AugMix splits.
    pub fn views(&self) -> usize {
        self.splits.as_ref().map_or(1, |(n, _)| *n)
    }

    /// The output shape for inputs of `shape` (`[c, h, w]`), the same for every view.
    ///
    /// # Errors
    /// The first transform that cannot take its input, or split views of another shape.
    pub fn output_shape(&self, shape: [usize; 3]) -> Result<[usize; 3]> {
        let out = self.transforms.output_shape(shape)?;
        if let Some((_, split)) = &self.splits {
            let view = split.output_shape(out)?;
            if view != out {
                return Err(PodiumError::config(
                    "splits.transforms",
                    format!("{view:?}"),
                    format!("augmented views must keep the shape {out:?} of the clean view"),
                ));
            }
        }
        Ok(out)
    }

    /// The generator of sample `index` in epoch `epoch`: `derive_seed(seed, [epoch, index])`.
    pub fn rng(seed: u64, epoch: u64, index: u64) -> StdRng {
        StdRng::seed_from_u64(derive_seed(seed, &[epoch, index]))
    }

    /// Applies the pipeline to one image with the given generator; returns [`Self::views`]
    /// images.
    pub fn apply_with(&self, img: Image, rng: &mut StdRng) -> Vec<Image> {
        self.finish(img, 0, rng)
    }

    fn finish(&self, img: Image, start: usize, rng: &mut StdRng) -> Vec<Image> {
        let clean = self.transforms.apply_from(img, start, rng);
        match &self.splits {
            None => vec![clean],
            Some((n, split)) => {
                let mut views = Vec::with_capacity(*n);
                for _ in 1..*n {
                    views.push(split.apply(clean.clone(), rng));
                }
                views.insert(0, clean);
                views
            }
        }
    }

    /// Applies the pipeline to sample `index` of epoch `epoch` under run seed `seed`.
    pub fn apply(&self, img: Image, seed: u64, epoch: u64, index: u64) -> Vec<Image> {
        self.apply_with(img, &mut Self::rng(seed, epoch, index))
    }

    /// The normalization the pipeline's images leave it with: the last `normalize` of its
    /// transforms (the transforms after it, such as timm's `random_erasing`, work on the
    /// normalized values), `None` when the images leave it unnormalized (then the batcher
    /// normalizes them). The views of [`SplitsConfig`] pass through the same transforms first.
    ///
    /// A trainer gives validation and inference batches this normalization
    /// ([`ClassificationBatcher`](crate::loader::ClassificationBatcher)), so that the model sees
    /// the same input scale in training and at test time.
    pub fn normalization(&self) -> Option<Normalize> {
        last_normalize(&self.transforms.transforms)
    }

    /// [`Self::apply`] on a decoded [`Bitmap`]: the same result as on
    /// [`Image::from_bitmap`], but a leading `random_resized_crop` converts only its window to
    /// planar floats ([`RandomResizedCrop::apply_window`]), which saves most of the conversion
    /// on large photos.
    pub fn apply_interleaved(
        &self,
        bitmap: &Bitmap,
        seed: u64,
        epoch: u64,
        index: u64,
    ) -> Vec<Image> {
        let mut rng = Self::rng(seed, epoch, index);
        match self.leading_crop() {
            Some(crop) => {
                let window = crop.window(bitmap.height, bitmap.width, &mut rng);
                self.finish(crop.apply_window(bitmap, window), 1, &mut rng)
            }
            None => self.finish(Image::from_bitmap(bitmap), 0, &mut rng),
        }
    }

    /// A leading `random_resized_crop`, which the bitmap and encoded entry points apply to the
    /// decoded bytes directly.
    fn leading_crop(&self) -> Option<&RandomResizedCrop> {
        match self.transforms.transforms.first()? {
            TransformConfig::RandomResizedCrop(crop) => Some(crop),
            _ => None,
        }
    }

    /// Decodes an encoded RGB picture (`origin` names it in errors) and applies the pipeline:
    /// the same views as [`decode_bytes`] followed by [`Self::apply_interleaved`], but behind a
    /// leading `random_resized_crop` the crop is drawn from the picture's size first and a PNG
    /// is decoded only down to the crop's last row ([`decode_top_rows`]), which skips about 15%
    /// of the decoding on average for the default scale range. The picture is made upright
    /// first (its EXIF orientation followed, as [`DecodeOptions::default`] decodes it), and the
    /// crop is drawn from the upright size.
    ///
    /// # Errors
    /// [`PodiumError::Decode`] naming `origin` when the bytes are not a supported or intact
    /// image.
    pub fn apply_encoded(
        &self,
        bytes: &[u8],
        origin: &Path,
        seed: u64,
        epoch: u64,
        index: u64,
    ) -> Result<Vec<Image>> {
        let mut rng = Self::rng(seed, epoch, index);
        match self.leading_crop() {
            Some(crop) => {
                let mut window = [0; 4];
                let top = decode_top_rows(bytes, origin, |h, w| {
                    window = crop.window(h, w, &mut rng);
                    window[0] + window[2]
                })?;
                Ok(self.finish(crop.apply_window(&top.rows, window), 1, &mut rng))
            }
            None => {
                let bitmap = decode_bytes(bytes, origin, &DecodeOptions::default())?;
                Ok(self.finish(Image::from_bitmap(&bitmap), 0, &mut rng))
            }
        }
    }
}
