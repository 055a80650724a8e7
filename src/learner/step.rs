//! [`Classification`]: wraps an [`ImageClassifier`] with its training objective so burn-train
//! can train and validate it.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

use crate::data::ClassificationBatch;
use crate::loss::{CrossEntropyLossConfig, LossConfig, Objective};
use crate::model::ImageClassifier;

/// A classifier with its training objective (a [`LossConfig`] built for the training data).
///
/// It implements burn-train's [`TrainStep`] (forward, loss, backward; a batch mixed by the
/// loader trains with [`Objective::forward_mixed`]) and [`InferenceStep`] (forward and plain
/// cross-entropy, so validation losses compare across recipes). A
/// `burn::train::Learner<Classification<M>>` trains it.
#[derive(Module, Debug)]
pub struct Classification<M> {
    /// The network.
    pub model: M,
    #[module(skip)]
    objective: Objective,
}

impl<M: ImageClassifier> Classification<M> {
    /// Wraps `model` with a training objective.
    pub fn new(model: M, objective: Objective) -> Self {
        Self { model, objective }
    }

    /// Wraps `model` with plain cross-entropy.
    pub fn with_cross_entropy(model: M) -> Self {
        let objective = LossConfig::default()
            .init(&[])
            .expect("plain cross-entropy needs no class counts");
        Self::new(model, objective)
    }

    /// The training objective.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// Logits and the training loss of a batch (mixed or not).
    pub fn forward_train(&self, batch: ClassificationBatch) -> ClassificationOutput {
        let logits = self.model.forward(batch.images);
        let loss = match &batch.mix {
            Some(mix) => self
                .objective
                .forward_mixed(logits.clone(), batch.targets.clone(), mix),
            None => self
                .objective
                .forward(logits.clone(), batch.targets.clone()),
        };
        ClassificationOutput::new(loss, logits, batch.targets)
    }

    /// Logits and the plain mean cross-entropy of a batch.
    pub fn forward_eval(&self, batch: ClassificationBatch) -> ClassificationOutput {
        let logits = self.model.forward(batch.images);
        let loss = plain_cross_entropy(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

fn plain_cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init()
        .expect("default config")
        .forward(logits, targets)
}

impl<M: ImageClassifier> TrainStep for Classification<M> {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_train(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<M: ImageClassifier> InferenceStep for Classification<M> {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> ClassificationOutput {
        self.forward_eval(batch)
    }
}
