//! timm's `Mixup`: mixup and CutMix per batch, per pair or per sample.

use burn::config::Config;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use super::{MixTargets, cutmix_bbox, cutmix_corrected_lam, mixup_target};
use crate::error::{PodiumError, Result};

/// How draws are shared across a batch (timm's `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MixMode {
    /// One lam, one mixup/CutMix choice and one box for the whole batch.
    #[default]
    Batch,
    /// One draw per pair `(i, B - 1 - i)`; both members mix symmetrically.
    Pair,
    /// One draw per sample; sample `i` mixes with the unmodified sample `B - 1 - i`.
    Elem,
}

/// Configuration of a [`Mixup`], with timm's defaults. The class count comes from the data
/// and label smoothing from the run (set once, in the Learner's config), both given to
/// [`Self::init`].
///
/// | podium | timm `Mixup(...)` |
/// |---|---|
/// | `mixup_alpha`, `cutmix_alpha`, `cutmix_minmax`, `prob`, `switch_prob`, `mode`, `correct_lam` | same names |
/// | `init(num_classes, label_smoothing, seed)` | `num_classes`, `label_smoothing` |
#[derive(Config, Debug)]
pub struct MixupConfig {
    /// `alpha` of mixup's `Beta(alpha, alpha)` (0 disables mixup). Default 1.
    #[config(default = 1.0)]
    pub mixup_alpha: f64,
    /// `alpha` of CutMix's `Beta(alpha, alpha)` (0 disables CutMix). Default 0.
    #[config(default = 0.0)]
    pub cutmix_alpha: f64,
    /// CutMix box size bounds as fractions of the image `[min, max]`; when set, the box size is
    /// drawn uniformly instead of from lam (and lam is always corrected); as in timm, this
    /// enables CutMix with alpha 1.
    pub cutmix_minmax: Option<[f64; 2]>,
    /// Probability of mixing a batch (or pair, or sample). Default 1.
    #[config(default = 1.0)]
    pub prob: f64,
    /// Probability of CutMix rather than mixup when both are enabled. Default 0.5.
    #[config(default = 0.5)]
    pub switch_prob: f64,
    /// Batch, pair or element mode. Default batch.
    #[config(default = "MixMode::Batch")]
    pub mode: MixMode,
    /// Recompute lam from the clipped CutMix box area. Default true.
    #[config(default = true)]
    pub correct_lam: bool,
}

impl MixupConfig {
    /// Checks the hyper-parameters (without the data).
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key for negative alphas, both alphas 0 without minmax,
    /// probabilities outside `[0, 1]`, or a minmax outside `0 < min < max <= 1`.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("mixup_alpha", self.mixup_alpha),
            ("cutmix_alpha", self.cutmix_alpha),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(PodiumError::config(key, v, "must be a finite number >= 0"));
            }
        }
        if let Some([lo, hi]) = self.cutmix_minmax
            && !(lo > 0.0 && lo < hi && hi <= 1.0)
        {
            return Err(PodiumError::config(
                "cutmix_minmax",
                format!("[{lo}, {hi}]"),
                "must satisfy 0 < min < max <= 1",
            ));
        }
        if self.mixup_alpha == 0.0 && self.cutmix_alpha == 0.0 && self.cutmix_minmax.is_none() {
            return Err(PodiumError::config(
                "mixup_alpha/cutmix_alpha",
                "0/0",
                "at least one of mixup or CutMix must be enabled",
            ));
        }
        for (key, v) in [("prob", self.prob), ("switch_prob", self.switch_prob)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(PodiumError::config(key, v, "must be in [0, 1]"));
            }
        }
        Ok(())
    }

    /// Checks the values and builds a mixer of soft targets over `num_classes` classes (the
    /// data's), smoothed by `label_smoothing` (timm's `label_smoothing`, folded into the
    /// targets), whose draws come from `seed`.
    ///
    /// # Errors
    /// As [`Self::validate`], and [`PodiumError::Config`] for zero classes (`num_classes`) or a
    /// smoothing outside `[0, 1)` (`label_smoothing`).
    pub fn init(&self, num_classes: usize, label_smoothing: f64, seed: u64) -> Result<Mixup> {
        if num_classes == 0 {
            return Err(PodiumError::config("num_classes", 0, "must be at least 1"));
        }
        self.validate()?;
        if !(0.0..1.0).contains(&label_smoothing) {
            return Err(PodiumError::config(
                "label_smoothing",
                label_smoothing,
                "must be in [0, 1)",
            ));
        }
        let mut config = self.clone();
        if config.cutmix_minmax.is_some() {
            // as timm: minmax boxes do not depend on lam, whose draw uses alpha 1
            config.cutmix_alpha = 1.0;
        }
        Ok(Mixup {
            config,
            num_classes,
            label_smoothing,
            rng: StdRng::seed_from_u64(seed),
        })
    }
}

/// One mixing decision, for the batch (batch mode), a pair or a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MixOp {
    /// Left as it is (lam = 1).
    Keep,
    /// `x lam + partner (1 - lam)`.
    Mixup {
        /// The weight of the sample itself.
        lam: f64,
    },
    /// The box `[y0, y1, x0, x1]` (end-exclusive) taken from the partner.
    CutMix {
        /// The lam the targets use (corrected from the box area when configured).
        lam: f64,
        /// `[y0, y1, x0, x1]`.
        bbox: [usize; 4],
    },
}

impl MixOp {
    /// The op for a given draw, as timm turns one: lam 1 keeps the sample; CutMix builds the box
    /// around `center` (`(cy, cx)`) with [`cutmix_bbox`] and, with `correct_lam`, takes lam from
    /// its area.
    ///
    /// # Panics
    /// If `use_cutmix` is set without a centre.
    pub fn from_draw(
        lam: f64,
        use_cutmix: bool,
        center: Option<[usize; 2]>,
        image_hw: [usize; 2],
        correct_lam: bool,
    ) -> Self {
        if lam == 1.0 {
            return MixOp::Keep;
        }
        if !use_cutmix {
            return MixOp::Mixup { lam };
        }
        let center = center.expect("MixOp::from_draw: a CutMix draw needs its box centre");
        let bbox = cutmix_bbox(image_hw, lam, center);
        let lam = if correct_lam {
            cutmix_corrected_lam(image_hw, bbox)
        } else {
            lam
        };
        MixOp::CutMix { lam, bbox }
    }

    /// The lam this op gives the targets.
    pub fn lam(&self) -> f64 {
        match *self {
            MixOp::Keep => 1.0,
            MixOp::Mixup { lam } | MixOp::CutMix { lam, .. } => lam,
        }
    }

    fn rounded(self) -> Self {
        let r = |l: f64| l as f32 as f64;
        match self {
            MixOp::Keep => MixOp::Keep,
            MixOp::Mixup { lam } => MixOp::Mixup { lam: r(lam) },
            MixOp::CutMix { lam, bbox } => MixOp::CutMix { lam: r(lam), bbox },
        }
    }
}

/// The draws for one batch: one op (batch mode), one per pair (pair mode) or one per sample
/// (elem mode).
#[derive(Clone, Debug, PartialEq)]
pub struct MixPlan {
    /// The mode the ops are laid out for.
    pub mode: MixMode,
    /// The ops.
    pub ops: Vec<MixOp>,
}

impl MixPlan {
    /// One op per sample, in order, with the lam values rounded to f32 as timm's per-sample
    /// arrays hold them (pair and elem modes).
    fn per_sample(&self, batch: usize) -> Vec<MixOp> {
        match self.mode {
            MixMode::Batch => vec![self.ops[0]; batch],
            MixMode::Elem => self.ops.iter().map(|o| o.rounded()).collect(),
            MixMode::Pair => {
                let half: Vec<MixOp> = self.ops.iter().map(|o| o.rounded()).collect();
                half.iter().chain(half.iter().rev()).copied().collect()
            }
        }
    }
}

/// timm's `Mixup` with its own seeded RNG (see [`MixupConfig`]).
#[derive(Debug)]
pub struct Mixup {
    config: MixupConfig,
    num_classes: usize,
    label_smoothing: f64,
    rng: StdRng,
}

impl Mixup {
    /// The configuration.
    pub fn config(&self) -> &MixupConfig {
        &self.config
    }

    /// Number of classes of the soft targets.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Label smoothing folded into the soft targets.
    pub fn label_smoothing(&self) -> f64 {
        self.label_smoothing
    }

    fn beta(&mut self, alpha: f64) -> f64 {
        Beta::new(alpha, alpha)
            .expect("alpha checked at init")
            .sample(&mut self.rng)
    }

    /// One `(lam, use_cutmix)` draw, as timm's `_params_per_batch` (and per element).
    fn draw_one(&mut self) -> (f64, bool) {
        let c = &self.config;
        let (mixup_alpha, cutmix_alpha, switch_prob, prob) =
            (c.mixup_alpha, c.cutmix_alpha, c.switch_prob, c.prob);
        if self.rng.random::<f64>() >= prob {
            return (1.0, false);
        }
        if mixup_alpha > 0.0 && cutmix_alpha > 0.0 {
            let use_cutmix = self.rng.random::<f64>() < switch_prob;
            let alpha = if use_cutmix {
                cutmix_alpha
            } else {
                mixup_alpha
            };
            (self.beta(alpha), use_cutmix)
        } else if mixup_alpha > 0.0 {
            (self.beta(mixup_alpha), false)
        } else {
            (self.beta(cutmix_alpha), true)
        }
    }

    fn op(&mut self, image_hw: [usize; 2]) -> MixOp {
        let (lam, use_cutmix) = self.draw_one();
        if lam == 1.0 {
            return MixOp::Keep;
        }
        if !use_cutmix {
            return MixOp::Mixup { lam };
        }
        let [h, w] = image_hw;
        match self.config.cutmix_minmax {
            Some([lo, hi]) => {
                let draw = |rng: &mut StdRng, n: usize| {
                    let (a, b) = ((n as f64 * lo) as usize, (n as f64 * hi) as usize);
                    if b > a { rng.random_range(a..b) } else { a }
                };
                let cut_h = draw(&mut self.rng, h);
                let cut_w = draw(&mut self.rng, w);
                let y0 = self.rng.random_range(0..=h - cut_h);
                let x0 = self.rng.random_range(0..=w - cut_w);
                let bbox = super::cutmix_bbox_minmax(image_hw, [cut_h, cut_w], [y0, x0]);
                MixOp::CutMix {
                    lam: cutmix_corrected_lam(image_hw, bbox),
                    bbox,
                }
            }
            None => {
                let center = [self.rng.random_range(0..h), self.rng.random_range(0..w)];
                MixOp::from_draw(lam, true, Some(center), image_hw, self.config.correct_lam)
            }
        }
    }

    /// Draws the plan for a batch of `batch` images of `image_hw` (`[H, W]`).
    ///
    /// # Errors
    /// [`PodiumError::Config`] for an odd batch size (timm's `Mixup` requires even batches: use
    /// `drop_last`).
    pub fn draw(&mut self, batch: usize, image_hw: [usize; 2]) -> Result<MixPlan> {
        if !batch.is_multiple_of(2) {
            return Err(PodiumError::config(
                "batch_size",
                batch,
                "batch mixing needs an even batch size (drop the last batch of an epoch)",
            ));
        }
        let n = match self.config.mode {
            MixMode::Batch => 1,
            MixMode::Pair => batch / 2,
            MixMode::Elem => batch,
        };
        let ops = (0..n).map(|_| self.op(image_hw)).collect();
        Ok(MixPlan {
            mode: self.config.mode,
            ops,
        })
    }

    /// Applies a plan to images `[B, C, H, W]` with class indices `labels`: the mixed images and
    /// their [`MixTargets`].
    ///
    /// Each pixel becomes `w x + (1 - w) partner` with `w = lam` for mixup, `0` inside a CutMix
    /// box and `1` elsewhere; partners are the original (unmixed) flipped batch. Soft targets
    /// are [`mixup_target`] with each sample's lam and the configured smoothing.
    ///
    /// # Panics
    /// If `labels` does not have `B` entries, a label is out of range, or the plan does not fit
    /// the batch (op count, box outside the image).
    pub fn apply(
        &self,
        images: Tensor<4>,
        labels: &[usize],
        plan: &MixPlan,
    ) -> (Tensor<4>, MixTargets) {
        let [b, _, h, w] = images.dims();
        assert_eq!(
            labels.len(),
            b,
            "Mixup::apply: {} labels for images {:?}",
            labels.len(),
            images.dims()
        );
        let expected_ops = match plan.mode {
            MixMode::Batch => 1,
            MixMode::Pair => b / 2,
            MixMode::Elem => b,
        };
        assert_eq!(
            plan.ops.len(),
            expected_ops,
            "Mixup::apply: {:?} plan of {} ops for a batch of {b}",
            plan.mode,
            plan.ops.len()
        );
        let ops = plan.per_sample(b);
        let batch_mode = plan.mode == MixMode::Batch;
        let plane = h * w;
        let mut own = vec![1f32; b * plane];
        let mut other = vec![0f32; b * plane];
        for (i, op) in ops.iter().enumerate() {
            let (o, p) = (
                &mut own[i * plane..(i + 1) * plane],
                &mut other[i * plane..(i + 1) * plane],
            );
            match *op {
                MixOp::Keep => {}
                MixOp::Mixup { lam } => {
                    let lam32 = lam as f32;
                    // timm: batch mode multiplies by the f64 lam and (1 - lam) cast to f32; the
                    // per-sample modes hold lam in f32 and compute 1 - lam in f32.
                    let rest = if batch_mode {
                        (1.0 - lam) as f32
                    } else {
                        1.0 - lam32
                    };
                    o.fill(lam32);
                    p.fill(rest);
                }
                MixOp::CutMix {
                    bbox: [y0, y1, x0, x1],
                    ..
                } => {
                    assert!(
                        y1 <= h && x1 <= w && y0 <= y1 && x0 <= x1,
                        "Mixup::apply: box {:?} outside a {h}x{w} image",
                        [y0, y1, x0, x1]
                    );
                    for y in y0..y1 {
                        o[y * w + x0..y * w + x1].fill(0.0);
                        p[y * w + x0..y * w + x1].fill(1.0);
                    }
                }
            }
        }
        let device: Device = images.device();
        let own = Tensor::<4>::from_data(TensorData::new(own, [b, 1, h, w]), &device);
        let other = Tensor::<4>::from_data(TensorData::new(other, [b, 1, h, w]), &device);
        let partner = images.clone().flip([0]);
        let mixed = images * own + partner * other;
        let lam: Vec<f64> = ops.iter().map(MixOp::lam).collect();
        let soft_targets = mixup_target(
            labels,
            self.num_classes,
            &lam,
            self.label_smoothing,
            &device,
        );
        let targets = MixTargets {
            soft_targets,
            labels_a: labels.to_vec(),
            labels_b: labels.iter().rev().copied().collect(),
            lam,
            bboxes: ops
                .iter()
                .map(|op| match op {
                    MixOp::CutMix { bbox, .. } => Some(*bbox),
                    _ => None,
                })
                .collect(),
        };
        (mixed, targets)
    }

    /// Draws a plan and applies it.
    ///
    /// # Errors
    /// As [`Self::draw`].
    ///
    /// # Panics
    /// As [`Self::apply`].
    pub fn mix(&mut self, images: Tensor<4>, labels: &[usize]) -> Result<(Tensor<4>, MixTargets)> {
        let [b, _, h, w] = images.dims();
        let plan = self.draw(b, [h, w])?;
        Ok(self.apply(images, labels, &plan))
    }
}
