//! Global and adaptive pooling heads as timm names them: `avg`, `max`, `avgmax`, `catavgmax`
//! (the "dual pooling" of competition solutions) and GeM.

use burn::nn::{Linear, LinearConfig};
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{PodiumError, Result};

/// The bins of an adaptive pool: output index `i` of `out` over an input of `n` covers
/// `floor(i n / out) .. ceil((i + 1) n / out)` (torch's rule; bins overlap when `n` is not a
/// multiple of `out`).
fn bins(n: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|i| ((i * n) / out, ((i + 1) * n).div_ceil(out)))
        .collect()
}

/// `torch.nn.functional.adaptive_max_pool2d` for `[B, C, H, W]` to `[B, C, oh, ow]`.
///
/// # Panics
/// If an output size is 0 or larger than the input's.
pub fn adaptive_max_pool2d(x: Tensor<4>, [oh, ow]: [usize; 2]) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    assert!(
        oh > 0 && ow > 0 && oh <= h && ow <= w,
        "adaptive_max_pool2d: output {:?} for input {:?}",
        [oh, ow],
        x.dims()
    );
    if oh == 1 && ow == 1 {
        return x.reshape([b, c, h * w]).max_dim(2).reshape([b, c, 1, 1]);
    }
    let rows: Vec<Tensor<4>> = bins(h, oh)
        .into_iter()
        .map(|(h0, h1)| {
            let cols: Vec<Tensor<4>> = bins(w, ow)
                .into_iter()
                .map(|(w0, w1)| {
                    x.clone()
                        .slice([0..b, 0..c, h0..h1, w0..w1])
                        .max_dim(3)
                        .max_dim(2)
                })
                .collect();
            Tensor::cat(cols, 3)
        })
        .collect();
    Tensor::cat(rows, 2)
}

/// timm's `adaptive_avgmax_pool2d`: `(adaptive_avg + adaptive_max) / 2`.
///
/// # Panics
/// As [`adaptive_max_pool2d`].
pub fn adaptive_avgmax_pool2d(x: Tensor<4>, output_size: [usize; 2]) -> Tensor<4> {
    (adaptive_avg_pool2d(x.clone(), output_size) + adaptive_max_pool2d(x, output_size)) * 0.5
}

/// timm's `adaptive_catavgmax_pool2d`: `cat([adaptive_avg, adaptive_max], dim 1)` (channels
/// doubled, average first).
///
/// # Panics
/// As [`adaptive_max_pool2d`].
pub fn adaptive_catavgmax_pool2d(x: Tensor<4>, output_size: [usize; 2]) -> Tensor<4> {
    Tensor::cat(
        vec![
            adaptive_avg_pool2d(x.clone(), output_size),
            adaptive_max_pool2d(x, output_size),
        ],
        1,
    )
}

/// Generalized-mean pooling (Radenovic et al. 2018): `(mean_{H,W} clamp(x, eps)^p)^(1/p)`,
/// `[B, C, H, W]` to `[B, C, 1, 1]`; `p = 1` is average pooling, large `p` tends to max pooling.
pub fn gem(x: Tensor<4>, p: f64, eps: f64) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.clamp_min(eps)
        .powf_scalar(p)
        .reshape([b, c, h * w])
        .mean_dim(2)
        .powf_scalar(1.0 / p)
        .reshape([b, c, 1, 1])
}

/// A global pooling choice for a classifier head, by timm's names.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum GlobalPool {
    /// Average pooling (`avg`, the default).
    #[default]
    Avg,
    /// Max pooling (`max`).
    Max,
    /// Mean of average and max (`avgmax`).
    AvgMax,
    /// Average and max concatenated (`catavgmax`): twice the features.
    CatAvgMax,
    /// Generalized mean with a fixed `p` (3 is the usual choice).
    Gem {
        /// The exponent.
        p: f64,
    },
}

impl GlobalPool {
    /// Pools `[B, C, H, W]` to features `[B, C]` (`[B, 2C]` for `CatAvgMax`).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let pooled = match *self {
            GlobalPool::Avg => adaptive_avg_pool2d(x, [1, 1]),
            GlobalPool::Max => adaptive_max_pool2d(x, [1, 1]),
            GlobalPool::AvgMax => adaptive_avgmax_pool2d(x, [1, 1]),
            GlobalPool::CatAvgMax => adaptive_catavgmax_pool2d(x, [1, 1]),
            GlobalPool::Gem { p } => gem(x, p, 1e-6),
        };
        pooled.flatten(1, 3)
    }

    /// The linear classifier behind this pooling: `channels * feature_multiplier()` inputs,
    /// `num_classes` outputs.
    pub fn classifier(&self, channels: usize, num_classes: usize, device: &Device) -> Linear {
        LinearConfig::new(channels * self.feature_multiplier(), num_classes).init(device)
    }

    /// Checks the pooling's parameter (GeM's `p`).
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming `pool.p` for a GeM exponent that is not a finite number
    /// `> 0`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            GlobalPool::Gem { p } if !(p > 0.0 && p.is_finite()) => Err(PodiumError::config(
                "pool.p",
                p,
                "the GeM exponent must be a finite number > 0",
            )),
            _ => Ok(()),
        }
    }

    /// Features per input channel (2 for `CatAvgMax`, else 1).
    pub fn feature_multiplier(&self) -> usize {
        if matches!(self, GlobalPool::CatAvgMax) {
            2
        } else {
            1
        }
    }
}
