//! Knowledge distillation (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network").

use burn::config::Config;
use burn::tensor::{Int, Tensor};

use super::{
    CrossEntropyLoss, CrossEntropyLossConfig, assert_hard_targets, assert_same_shape,
    validate_positive,
};
use crate::error::{PodiumError, Result};
use crate::kernel;

/// Configuration of [`KnowledgeDistillationLoss`].
#[derive(Config, Debug)]
pub struct KnowledgeDistillationLossConfig {
    /// Softmax temperature `T > 0`. Default 4.
    #[config(default = 4.0)]
    pub temperature: f64,
    /// Weight `alpha` in `[0, 1]` of the distillation term. Default 0.5.
    #[config(default = 0.5)]
    pub alpha: f64,
    /// Label smoothing of the hard-label term. Default 0.
    #[config(default = 0.0)]
    pub label_smoothing: f64,
}

impl KnowledgeDistillationLossConfig {
    /// Checks the values and builds the loss.
    ///
    /// # Errors
    /// [`PodiumError::Config`] for a non-positive temperature, alpha outside `[0, 1]` or
    /// smoothing outside `[0, 1)`.
    pub fn init(&self) -> Result<KnowledgeDistillationLoss> {
        validate_positive("temperature", self.temperature)?;
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(PodiumError::config(
                "alpha",
                self.alpha,
                "must be in [0, 1]",
            ));
        }
        let ce = CrossEntropyLossConfig::new()
            .with_label_smoothing(self.label_smoothing)
            .init()?;
        Ok(KnowledgeDistillationLoss {
            temperature: self.temperature as f32,
            alpha: self.alpha as f32,
            ce,
        })
    }
}

/// The loss and its two terms.
#[derive(Clone, Debug)]
pub struct DistillationOutput {
    /// `alpha * kd_term + (1 - alpha) * ce_term`, `[1]`.
    pub loss: Tensor<1>,
    /// `T^2 * KL(softmax(teacher / T) || softmax(student / T))`, batch mean, `[1]`.
    pub kd_term: Tensor<1>,
    /// Cross-entropy of the student against the labels, `[1]`.
    pub ce_term: Tensor<1>,
}

/// `loss = alpha T^2 KL(softmax(z_t / T) || softmax(z_s / T)) + (1 - alpha) CE(z_s, y)` for
/// student and teacher logits `[B, C]` and labels `[B]`; the KL term is torch's
/// `kl_div(..., reduction='batchmean')` and the teacher gets no gradient. The temperature and
/// alpha are held in the logits' precision (f32). On flex in f32 every softmax runs through
/// podium's fused kernels ([`kernel::log_softmax`], [`kernel::softmax()`],
/// [`kernel::cross_entropy_soft`], [`kernel::cross_entropy_hard`]); Burn's ops elsewhere.
#[derive(Clone, Debug)]
pub struct KnowledgeDistillationLoss {
    temperature: f32,
    alpha: f32,
    ce: CrossEntropyLoss,
}

impl KnowledgeDistillationLoss {
    /// The loss and its terms.
    ///
    /// # Panics
    /// If student and teacher differ in shape, or the batch differs from the labels' length.
    pub fn forward(
        &self,
        student: Tensor<2>,
        teacher: Tensor<2>,
        targets: Tensor<1, Int>,
    ) -> DistillationOutput {
        assert_same_shape("KnowledgeDistillationLoss", &student, &teacher);
        assert_hard_targets("KnowledgeDistillationLoss", &student, &targets);
        let [b, _] = student.dims();
        let t = self.temperature as f64;
        let scaled = student.clone() / t;
        let teacher = teacher.detach() / t;
        // the teacher's log p and p: fused row passes on flex (no gradient is kept)
        let log_p = kernel::log_softmax(teacher.clone());
        let p = kernel::softmax(teacher);
        // sum_c p (log p - log q) = sum_c p log p + soft-target CE(q; p): the student's part
        // runs as one fused pass on flex
        let neg_entropy = (p.clone() * log_p).sum();
        let kl = (neg_entropy + kernel::cross_entropy_soft(scaled, p).sum()) / b as f64;
        let kd_term = kl * (t * t);
        let ce_term = self.ce.forward(student, targets);
        let a = self.alpha as f64;
        DistillationOutput {
            loss: kd_term.clone() * a + ce_term.clone() * (1.0 - a),
            kd_term,
            ce_term,
        }
    }
}
