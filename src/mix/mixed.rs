//! [`MixTargets`]: what a mixed batch carries for the loss, and fastai's loss-mixing formula.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The targets of a mixed batch (the images themselves are mixed in place): timm's soft
/// targets, fastai's two label vectors and each sample's lam. One type for the mixer
/// ([`Mixup::apply`](super::Mixup::apply)), the loader's batches
/// ([`ClassificationBatch::mix`](crate::loader::ClassificationBatch::mix)) and the loss
/// ([`Objective::forward_mixed`](crate::loss::Objective::forward_mixed)).
#[derive(Clone, Debug)]
pub struct MixTargets {
    /// Soft targets `[B, C]` for
    /// [`SoftTargetCrossEntropy`](crate::loss::SoftTargetCrossEntropy) (timm's `mixup_target`,
    /// label smoothing included).
    pub soft_targets: Tensor<2>,
    /// Each sample's own label (fastai's `y_a`).
    pub labels_a: Vec<usize>,
    /// Each sample's partner's label (fastai's `y_b`).
    pub labels_b: Vec<usize>,
    /// Each sample's lam (the weight of `labels_a`).
    pub lam: Vec<f64>,
    /// Each sample's CutMix box `[y0, y1, x0, x1]`, `None` where it used mixup or was kept.
    pub bboxes: Vec<Option<[usize; 4]>>,
}

impl MixTargets {
    /// The partners' labels as a `[B]` tensor on `device`.
    pub fn targets_b(&self, device: &Device) -> Tensor<1, Int> {
        let labels: Vec<i64> = self.labels_b.iter().map(|&l| l as i64).collect();
        let b = labels.len();
        Tensor::from_data(TensorData::new(labels, [b]), device)
    }

    /// fastai's form for integer labels and any loss (`MixUp.lf`): given per-sample losses
    /// against `labels_a` and `labels_b` (`[B]` each), `mean_i(lam_i l_a,i + (1 - lam_i)
    /// l_b,i)`, `[1]`, with lam in `f32`.
    ///
    /// # Panics
    /// If the loss vectors do not have one value per sample.
    pub fn mix_losses(&self, loss_a: Tensor<1>, loss_b: Tensor<1>) -> Tensor<1> {
        let b = self.lam.len();
        assert_eq!(
            loss_a.dims(),
            [b],
            "mix_losses: loss_a {:?} for {b} samples",
            loss_a.dims()
        );
        assert_eq!(
            loss_b.dims(),
            [b],
            "mix_losses: loss_b {:?} for {b} samples",
            loss_b.dims()
        );
        let device = loss_a.device();
        let lam: Vec<f32> = self.lam.iter().map(|&l| l as f32).collect();
        let lam = Tensor::<1>::from_data(TensorData::new(lam, [b]), &device);
        (loss_a * lam.clone() + loss_b * (lam.neg() + 1.0)).mean()
    }
}
