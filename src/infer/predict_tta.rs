//! [`predict_tta`]: a dataset's predictions under the test-time views of a [`TtaConfig`]
//! (fastai's `Learner.tta` with the deterministic views of [`TtaView`]).

use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use super::tta::{TtaConfig, TtaView, merge_views};
use super::{Predictions, probability_rows};
use crate::augment::{Image, Normalize};
use crate::data::{ImageDataset, ImageItem};
use crate::error::{PodiumError, Result};
use crate::loader::ClassificationBatcher;
use crate::model::ImageClassifier;

/// Softmax probabilities of `model` for every item of `dataset` under the test-time views of
/// `config`, merged and blended per item ([`TtaConfig`]).
///
/// Each item is decoded as the dataset is configured (for a trained run's evaluation crop,
/// timm's `crop_pct`, pass [`RunInfo::eval_dataset`](crate::learner::RunInfo::eval_dataset) of
/// it, so the views start from what validation saw), turned into an 8-bit planar [`Image`], viewed ([`TtaView::apply`]),
/// and normalized with `normalize` exactly as [`predict`](super::predict) normalizes (the
/// [`ClassificationBatcher`]), so the identity view gives [`predict`](super::predict)'s
/// probabilities bit for bit. Every view is one forward pass per batch of `batch_size` items.
///
/// # Errors
/// [`PodiumError::Config`]: `batch_size` for 0, the errors of [`TtaConfig::validate`], key
/// `tta` for a crop larger than an image (naming the item); the decoding error of a bad image
/// ([`PodiumError::Io`] or [`PodiumError::Decode`] naming the file); [`PodiumError::Training`]
/// if the device cannot return the probabilities.
///
/// # Panics
/// As [`ClassificationBatcher::to_buffers`] when the items of a batch differ in shape after a
/// view, or their channels differ from the normalization's.
pub fn predict_tta<M: ImageClassifier>(
    model: &M,
    dataset: &ImageDataset,
    classes: &[String],
    normalize: &Normalize,
    batch_size: usize,
    device: &Device,
    config: &TtaConfig,
) -> Result<Predictions> {
    config.validate()?;
    if batch_size == 0 {
        return Err(PodiumError::config("batch_size", 0, "must be at least 1"));
    }
    let batcher = ClassificationBatcher::new(normalize.clone());
    // The passes: every view, then the plain prediction when a blend needs it and it is not a
    // view already.
    let mut passes = config.views.clone();
    let plain_at = config.beta.map(|_| {
        passes
            .iter()
            .position(|v| *v == TtaView::Identity)
            .unwrap_or_else(|| {
                passes.push(TtaView::Identity);
                passes.len() - 1
            })
    });
    let n = dataset.len();
    let mut probabilities = Vec::with_capacity(n);
    for start in (0..n).step_by(batch_size) {
        let end = (start + batch_size).min(n);
        let images: Vec<(Image, String)> = (start..end)
            .into_par_iter()
            .map(|i| {
                let item = dataset.decode(i)?;
                Ok((Image::from_bitmap(&item.image), dataset.name(i)))
            })
            .collect::<Result<_>>()?;
        // per_pass[p][row] = probabilities of item `start + row` under pass `p`.
        let mut per_pass: Vec<Vec<Vec<f32>>> = Vec::with_capacity(passes.len());
        for view in &passes {
            let items: Vec<ImageItem> = images
                .par_iter()
                .enumerate()
                .map(|(row, (img, name))| {
                    view.check_fits([img.height, img.width], name)?;
                    Ok(ImageItem {
                        image: view.apply(img).to_bitmap(),
                        label: None,
                        index: start + row,
                    })
                })
                .collect::<Result<_>>()?;
            let (data, shape, _) = batcher.to_buffers(&items);
            let logits = model.forward(Tensor::from_data(TensorData::new(data, shape), device));
            per_pass.push(probability_rows(logits)?);
        }
        for row in 0..end - start {
            let views: Vec<Vec<f32>> = per_pass[..config.views.len()]
                .iter()
                .map(|pass| pass[row].clone())
                .collect();
            probabilities.push(match plain_at {
                Some(p) => config.merge_item(&views, &per_pass[p][row]),
                None => merge_views(&views, config.merge),
            });
        }
    }
    Ok(Predictions {
        names: (0..n).map(|i| dataset.name(i)).collect(),
        classes: classes.to_vec(),
        probabilities,
    })
}
