//! The numbers of fastai's learning-rate finder (`LRFinder` + `Recorder`, fastai 2.x): the
//! exponential sweep, the debiased smoothed loss with its divergence stop, and the suggestions
//! `valley` (default), `steep`, `minimum` and `slide`.

use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};

/// The sweep's learning rates, fastai's way: `lr_i = start (end / start)^(i / num_it)` for
/// `i = 0..num_it` (the last one is not `end`).
pub fn lr_find_schedule(start: f64, end: f64, num_it: usize) -> Vec<f64> {
    (0..num_it)
        .map(|i| start * (end / start).powf(i as f64 / num_it as f64))
        .collect()
}

/// The sweep with the last rate at `end` (torch-lr-finder's convention):
/// `lr_i = start (end / start)^(i / (num_it - 1))`.
pub fn lr_find_schedule_inclusive(start: f64, end: f64, num_it: usize) -> Vec<f64> {
    let d = num_it.saturating_sub(1).max(1) as f64;
    (0..num_it)
        .map(|i| start * (end / start).powf(i as f64 / d))
        .collect()
}

/// fastai's `AvgSmoothLoss` with the finder's divergence stop: `avg_i = lerp(loss_i, avg, beta)`
/// in f32, `smooth_i = avg_i / (1 - beta^(i + 1))`; after recording step `i`, stop when
/// `smooth_i > stop_div_factor * best`.
#[derive(Clone, Debug, PartialEq)]
pub struct SmoothedLoss {
    beta: f32,
    stop_div_factor: f64,
    avg: f32,
    count: i32,
    best: f64,
    /// The recorded `(lr, smoothed loss)` pairs.
    pub recorded: Vec<(f64, f64)>,
}

impl SmoothedLoss {
    /// fastai's defaults are `beta = 0.98`, `stop_div_factor = 4`.
    pub fn new(beta: f32, stop_div_factor: f64) -> Self {
        Self {
            beta,
            stop_div_factor,
            avg: 0.0,
            count: 0,
            best: f64::INFINITY,
            recorded: Vec::new(),
        }
    }

    /// Records the loss of the step run at `lr`; returns `true` when the sweep should stop.
    pub fn record(&mut self, lr: f64, loss: f32) -> bool {
        // torch.lerp(loss, avg, beta) = loss + beta (avg - loss)
        self.avg = loss + self.beta * (self.avg - loss);
        self.count += 1;
        let smooth = self.avg as f64 / (1.0 - (self.beta as f64).powi(self.count));
        self.recorded.push((lr, smooth));
        if smooth < self.best {
            self.best = smooth;
        }
        smooth > self.stop_div_factor * self.best || !smooth.is_finite()
    }
}

/// A learning-rate suggestion from a finder curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum Suggestion {
    /// fastai's default (>= 2.5): the rate a third-and-a-half into the longest decreasing run
    /// of the loss curve.
    #[default]
    Valley,
    /// The rate of the steepest descent.
    Steep,
    /// A tenth of the rate at the lowest loss.
    Minimum,
    /// fastai's `slide`: walk left from the end while the loss gradient changes by more than
    /// `0.005` over 15 points.
    Slide,
}

/// The trimmed curve the suggestions use: fastai drops the first `num_it / 10` and the last 5
/// recorded points.
fn trimmed(recorded: &[(f64, f64)], num_it: usize) -> Result<(usize, Vec<f64>, Vec<f64>)> {
    let start = num_it / 10;
    let end = recorded.len().saturating_sub(5);
    if end <= start + 1 {
        return Err(PodiumError::config(
            "lr_find",
            format!("{} recorded points", recorded.len()),
            format!("too few to suggest a rate (need more than {})", start + 6),
        ));
    }
    let lrs = recorded[start..end]
        .iter()
        .map(|p| p.0 as f32 as f64)
        .collect();
    let losses = recorded[start..end].iter().map(|p| p.1).collect();
    Ok((start, lrs, losses))
}

/// A suggestion's index into the recorded curve and its learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suggested {
    /// Index into the full recorded curve.
    pub index: usize,
    /// The suggested learning rate.
    pub lr: f64,
}

/// Computes a suggestion from the recorded `(lr, smoothed loss)` curve of a sweep of `num_it`
/// steps (fastai's formulas; learning rates are rounded to f32 as fastai's tensors hold them).
///
/// # Errors
/// [`PodiumError::Config`] when the curve is too short for fastai's trimming.
pub fn suggest(recorded: &[(f64, f64)], num_it: usize, which: Suggestion) -> Result<Suggested> {
    let (offset, lrs, s) = trimmed(recorded, num_it)?;
    let n = s.len();
    let at = |idx: usize, lr: f64| Suggested {
        index: idx + offset,
        lr,
    };
    Ok(match which {
        Suggestion::Steep => {
            let mut best = (0, f64::INFINITY);
            for j in 0..n - 1 {
                let g = (s[j + 1] - s[j]) / (lrs[j + 1].ln() - lrs[j].ln());
                if g < best.1 {
                    best = (j, g);
                }
            }
            at(best.0, lrs[best.0])
        }
        Suggestion::Minimum => {
            let idx = (0..n).fold(0, |b, i| if s[i] < s[b] { i } else { b });
            at(idx, lrs[idx] / 10.0)
        }
        Suggestion::Valley => {
            let mut lds = vec![1usize; n];
            let (mut max_start, mut max_end) = (0usize, 0usize);
            for i in 1..n {
                for j in 0..i {
                    if s[i] < s[j] && lds[i] < lds[j] + 1 {
                        lds[i] = lds[j] + 1;
                    }
                    if lds[max_end] < lds[i] {
                        max_end = i;
                        max_start = max_end - lds[max_end];
                    }
                }
            }
            let sections = (max_end - max_start) as f64 / 3.0;
            let idx = max_start + sections as usize + (sections / 2.0) as usize;
            at(idx, lrs[idx])
        }
        Suggestion::Slide => {
            let grad: Vec<f64> = (0..n)
                .map(|i| match i {
                    0 => s[1] - s[0],
                    i if i == n - 1 => s[n - 1] - s[n - 2],
                    i => (s[i + 1] - s[i - 1]) / 2.0,
                })
                .collect();
            let (lr_diff, thresh) = (15usize, 0.005);
            let mut r = n as isize - 1;
            let mut l = r - lr_diff as isize;
            let mut local = if l >= 0 { l as usize } else { 0 };
            while l >= 0 && (grad[r as usize] - grad[l as usize]).abs() > thresh {
                local = l as usize;
                r -= 1;
                l -= 1;
            }
            at(local, lrs[local])
        }
    })
}
