//! fastai's learning-rate finder on a model and a training set.

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::train::TrainStep;
use serde::{Deserialize, Serialize};

use super::prepare::prepare;
use super::{Classification, Learner};
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::model::ImageClassifier;
use crate::optim::no_weight_decay_params;
use crate::schedule::{SmoothedLoss, Suggested, Suggestion, lr_find_schedule, suggest};
use crate::util::{save_png_atomic, write_atomic_text};

/// Settings of [`Learner::lr_find`], with fastai's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrFinderConfig {
    /// First learning rate (1e-7).
    pub start_lr: f64,
    /// The sweep ends below this rate (10).
    pub end_lr: f64,
    /// Number of steps (100).
    pub num_it: usize,
    /// Smoothing of the loss (0.98).
    pub beta: f32,
    /// Stop when the smoothed loss exceeds `stop_div_factor` times its best (true, 4).
    pub stop_div: bool,
    /// The divergence factor (4).
    pub stop_div_factor: f64,
}

impl Default for LrFinderConfig {
    fn default() -> Self {
        Self {
            start_lr: 1e-7,
            end_lr: 10.0,
            num_it: 100,
            beta: 0.98,
            stop_div: true,
            stop_div_factor: 4.0,
        }
    }
}

/// The recorded curve of a sweep and its suggestions.
#[derive(Clone, Debug, PartialEq)]
pub struct LrFinderResult {
    /// `(learning rate, smoothed loss)` per recorded step.
    pub recorded: Vec<(f64, f64)>,
    /// The sweep's planned length.
    pub num_it: usize,
}

impl LrFinderResult {
    /// A suggestion from the curve (fastai's `valley` is the default).
    ///
    /// # Errors
    /// [`PodiumError::Config`] when the sweep stopped too early to suggest.
    pub fn suggest(&self, which: Suggestion) -> Result<Suggested> {
        suggest(&self.recorded, self.num_it, which)
    }

    /// Draws the curve (smoothed loss against the learning rate on a log axis) with the valley,
    /// steep and minimum suggestions marked, as a PNG of 800 x 500 pixels (written to a
    /// temporary file, then renamed). Text uses the embedded DejaVu Sans Mono font.
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming the file; [`PodiumError::Config`] when the sweep recorded
    /// fewer than two points.
    pub fn plot_png(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        use plotters::prelude::*;
        let path = path.as_ref();
        if self.recorded.len() < 2 {
            return Err(PodiumError::config(
                "lr_find",
                format!("{} points", self.recorded.len()),
                "need at least 2 recorded points to plot",
            ));
        }
        crate::util::register_font();
        let (w, h) = (800u32, 500u32);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        let plot_err = |e: &dyn std::fmt::Display| PodiumError::format(path, format!("plot: {e}"));
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| plot_err(&e))?;
            let lo = self.recorded.first().map_or(1e-7, |p| p.0);
            let hi = self.recorded.last().map_or(1.0, |p| p.0);
            let losses: Vec<f64> = self
                .recorded
                .iter()
                .map(|p| p.1)
                .filter(|l| l.is_finite())
                .collect();
            let ymin = losses.iter().copied().fold(f64::INFINITY, f64::min);
            // the divergence at the end would squash the interesting part: cap at 3x the start
            let ymax = losses
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                .min(losses[0] * 3.0)
                .max(ymin + 1e-6);
            let mut chart = ChartBuilder::on(&root)
                .caption("learning-rate finder", ("sans-serif", 22))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(65)
                .build_cartesian_2d((lo..hi).log_scale(), ymin..ymax)
                .map_err(|e| plot_err(&e))?;
            chart
                .configure_mesh()
                .x_desc("learning rate (log scale)")
                .y_desc("smoothed loss")
                .x_label_formatter(&|v| format!("{v:.0e}"))
                .draw()
                .map_err(|e| plot_err(&e))?;
            chart
                .draw_series(LineSeries::new(
                    self.recorded.iter().map(|&(lr, l)| (lr, l.min(ymax))),
                    BLUE.stroke_width(2),
                ))
                .map_err(|e| plot_err(&e))?;
            for (which, color) in [
                (Suggestion::Valley, RED),
                (Suggestion::Steep, GREEN),
                (Suggestion::Minimum, MAGENTA),
            ] {
                let Ok(s) = self.suggest(which) else { continue };
                let loss = self.recorded[s.index].1.min(ymax);
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (s.lr, loss),
                        6,
                        color.filled(),
                    )))
                    .map_err(|e| plot_err(&e))?
                    .label(format!("{which:?}: {:.2e}", s.lr))
                    .legend(move |(x, y)| Circle::new((x, y), 5, color.filled()));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| plot_err(&e))?;
            root.present().map_err(|e| plot_err(&e))?;
        }
        save_png_atomic(path, w, h, buf)
    }

    /// Writes the curve as `lr,smoothed_loss` rows (through a temporary file and a rename), for
    /// plotting.
    ///
    /// # Errors
    /// [`PodiumError::Io`] naming the file.
    pub fn write_csv(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        write_atomic_text(path.as_ref(), |f| {
            writeln!(f, "lr,smoothed_loss")?;
            for (lr, loss) in &self.recorded {
                writeln!(f, "{lr:e},{loss}")?;
            }
            Ok(())
        })
    }
}

impl Learner {
    /// fastai's `lr_find`: trains a copy of `model` for up to `num_it` steps with the learning
    /// rate growing exponentially from `start_lr` towards `end_lr`, records the debiased smoothed
    /// loss and stops once it diverges. `model` itself is not changed (the sweep works on a copy
    /// with its own BatchNorm statistics). It is [`Learner::fit`]'s training with the rate
    /// swept: the same [`prepare`](super::prepare()) (loader with augmentation, mixing and
    /// sampler; the objective), optimizer, gradient clipping and SAM step.
    ///
    /// # Errors
    /// The config's and the data's errors, as [`Learner::fit`]; [`PodiumError::Config`] for an
    /// empty range or no steps.
    pub fn lr_find<M: ImageClassifier>(
        &self,
        model: &M,
        train: &ImageDataset,
        finder: &LrFinderConfig,
    ) -> Result<LrFinderResult> {
        let cfg = self.config();
        if !(finder.start_lr > 0.0 && finder.end_lr > finder.start_lr) {
            return Err(PodiumError::config(
                "lr_find.start_lr/end_lr",
                format!("{}/{}", finder.start_lr, finder.end_lr),
                "need 0 < start_lr < end_lr",
            ));
        }
        if finder.num_it == 0 {
            return Err(PodiumError::config(
                "lr_find.num_it",
                0,
                "must be at least 1",
            ));
        }
        // The sweep trains on the batches fit would train on: the same loader (augmentation,
        // mixing, sampler), objective, clipping and SAM step.
        let prepared = prepare(cfg, train.clone(), None)?;
        let device = self.device().clone();
        let loader = prepared.train_on(&device.clone().autodiff());
        // timm's param_groups_weight_decay, as fit's optimizer
        let no_decay = (!cfg.weight_decay_norm_bias).then(|| no_weight_decay_params(model));
        let mut optim = cfg.optimizer.init_with_no_decay(None, no_decay)?;
        let sam = cfg.sam.map(|s| s.init()).transpose()?;
        let mut wrapped = Classification::new(model.clone(), prepared.objective)
            .with_clip_grad(cfg.clip_grad)
            .with_sam(sam)
            .train()
            .fork(&device.clone().autodiff());
        let lrs = lr_find_schedule(finder.start_lr, finder.end_lr, finder.num_it);
        let mut smooth = SmoothedLoss::new(finder.beta, finder.stop_div_factor);
        let mut step = 0;
        'sweep: loop {
            for batch in loader.iter() {
                let batch = batch.map_err(|e| PodiumError::Training(e.to_string()))?;
                let lr = lrs[step];
                let out = TrainStep::step(&wrapped, batch);
                let loss = out
                    .item
                    .loss
                    .try_into_vec_as::<f32>()
                    .map_err(|e| PodiumError::Training(e.to_string()))?[0];
                wrapped = TrainStep::optimize(wrapped, &mut optim, lr.into(), out.grads);
                let diverged = smooth.record(lr, loss);
                step += 1;
                if (finder.stop_div && diverged) || step == finder.num_it {
                    break 'sweep;
                }
            }
        }
        Ok(LrFinderResult {
            recorded: smooth.recorded,
            num_it: finder.num_it,
        })
    }
}
