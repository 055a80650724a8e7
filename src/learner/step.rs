//! [`Classification`]: wraps an [`ImageClassifier`] so burn-train can train and validate it.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

use crate::data::ClassificationBatch;
use crate::model::ImageClassifier;

/// Mean cross-entropy of `logits` `[B, C]` against class indices `targets` `[B]`, with label
/// smoothing `eps` (torch's `cross_entropy(..., label_smoothing=eps)`):
/// `l_i = (1 - eps) * (-log p_{i,y_i}) + (eps / C) * sum_c (-log p_{i,c})`, averaged over the batch.
/// Returns a `[1]` tensor.
///
/// # Panics
/// If `logits` is not `[B, C]` with `B` equal to the length of `targets` (burn's shape check).
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>, eps: f32) -> Tensor<1> {
    let [b, _] = logits.dims();
    let [t] = targets.dims();
    assert_eq!(
        b,
        t,
        "cross_entropy: logits {:?} against targets {:?}",
        logits.dims(),
        targets.dims()
    );
    let smoothing = (eps > 0.0).then_some(eps);
    CrossEntropyLossConfig::new()
        .with_smoothing(smoothing)
        .init(&logits.device())
        .forward(logits, targets)
}

/// A classifier with its training objective: cross-entropy with optional label smoothing
/// (Szegedy et al. 2016: the target distribution is `(1 - eps) * one_hot + eps / C`).
///
/// It implements burn-train's [`TrainStep`] (forward, loss, backward) and [`InferenceStep`]
/// (forward and loss), so a `burn::train::Learner<Classification<M>>` trains it.
#[derive(Module, Debug)]
pub struct Classification<M> {
    /// The network.
    pub model: M,
    /// Label smoothing of the training loss (`0` for none).
    pub label_smoothing: f32,
}

impl<M: ImageClassifier> Classification<M> {
    /// Wraps `model` with cross-entropy smoothed by `label_smoothing`.
    pub fn new(model: M, label_smoothing: f32) -> Self {
        Self {
            model,
            label_smoothing,
        }
    }

    /// Logits and mean cross-entropy of a batch.
    pub fn forward_classification(
        &self,
        batch: ClassificationBatch,
        label_smoothing: f32,
    ) -> ClassificationOutput {
        let logits = self.model.forward(batch.images);
        let loss = cross_entropy(logits.clone(), batch.targets.clone(), label_smoothing);
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<M: ImageClassifier> TrainStep for Classification<M> {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch, self.label_smoothing);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<M: ImageClassifier> InferenceStep for Classification<M> {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    /// Validation reports the plain cross-entropy (no smoothing), comparable across recipes.
    fn step(&self, batch: ClassificationBatch) -> ClassificationOutput {
        self.forward_classification(batch, 0.0)
    }
}
