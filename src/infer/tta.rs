//! Test-time augmentation (TTA): the views, their spec, and the merge of their predictions.
//!
//! Each image is seen under several deterministic views (flips, rotations, crops, scales); the
//! softmax probabilities of the views are merged per item, then optionally blended with the
//! plain prediction as fastai's `Learner.tta` does.
//!
//! | podium | fastai / torchvision / timm |
//! |---|---|
//! | [`TtaView::HFlip`], [`TtaView::VFlip`] | torchvision `F.horizontal_flip`, `F.vertical_flip` |
//! | [`TtaView::Rot90`] | `torch.rot90(x, k, dims=[-2, -1])` (counter-clockwise) |
//! | [`TtaView::Transpose`], [`TtaView::AntiTranspose`] | the two diagonal mirrors of the dihedral group (fastai's `dihedral` 8 views) |
//! | [`TtaView::Crop`] | one image of torchvision `F.five_crop` / `F.ten_crop` |
//! | [`TtaView::Scale`] with [`ScaleMode::ShorterThenCenterCrop`] | `Resize(s)` + `CenterCrop(s)` (multi-scale TTA) |
//! | [`TtaView::Scale`] with [`ScaleMode::Resize`] | `Resize((s, s))`: FixRes's larger test size (Touvron et al. 2019) |
//! | [`TtaMerge::Mean`] + `beta` | fastai `Learner.tta(beta=0.25)`: `torch.lerp(aug_preds, preds, beta)` |
//! | [`TtaMerge::Max`] | fastai `Learner.tta(use_max=True)`: `max(preds, aug_preds.max(0))` |
//! | [`TtaMerge::GeometricMean`] | the normalised geometric mean of the views' probabilities |
//!
//! Views that change the image size (crops, scales, rotations of non-square images) need a
//! model with global pooling, as every model of [`crate::model`] has.

use serde::{Deserialize, Serialize};

use crate::augment::Image;
use crate::augment::functional::{
    Interpolation, center_crop, crop, hflip, resize, resize_shorter, rot90, vflip,
};
use crate::error::{PodiumError, Result};

/// Probabilities below this are clipped before a logarithm (geometric means), as
/// scikit-learn's `log_loss` clips at `eps`.
pub const LOG_CLIP: f64 = 1e-12;

/// Which of torchvision's five crops ([`five_crop`](crate::augment::functional::five_crop)
/// order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CropPosition {
    /// The top-left corner.
    TopLeft,
    /// The top-right corner.
    TopRight,
    /// The bottom-left corner.
    BottomLeft,
    /// The bottom-right corner.
    BottomRight,
    /// The centre ([`center_crop`]).
    Center,
}

impl CropPosition {
    /// The five positions in torchvision's `five_crop` order.
    pub const ALL: [CropPosition; 5] = [
        CropPosition::TopLeft,
        CropPosition::TopRight,
        CropPosition::BottomLeft,
        CropPosition::BottomRight,
        CropPosition::Center,
    ];
}

/// How a [`TtaView::Scale`] view reaches its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScaleMode {
    /// Resize the shorter side to `s` (keeping the aspect ratio), then take the centre `s x s`
    /// crop: torchvision `Resize(s)` + `CenterCrop(s)`.
    ShorterThenCenterCrop,
    /// Resize the whole image to `s x s`: FixRes-style larger test resolution.
    Resize,
}

/// One deterministic test-time view of an image. All resizing is bilinear with antialias
/// (torchvision's default), on the 8-bit image, so the result is an 8-bit image as a decoded
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TtaView {
    /// The image as decoded (the plain prediction).
    Identity,
    /// Mirrored left to right.
    HFlip,
    /// Mirrored top to bottom.
    VFlip,
    /// Rotated `k * 90` degrees counter-clockwise (`torch.rot90(x, k)`), `k` in 1..=3.
    Rot90 {
        /// Number of quarter turns.
        k: usize,
    },
    /// Mirrored across the main diagonal: `out[i][j] = in[j][i]` (`vflip(rot90(x, 1))`).
    Transpose,
    /// Mirrored across the anti-diagonal: `out[i][j] = in[W-1-j][H-1-i]` (`hflip(rot90(x, 1))`).
    AntiTranspose,
    /// A `size x size` crop at one of the five positions, of the image or (with `flipped`) of
    /// its horizontal mirror: item `position` (plus 5 when flipped) of torchvision
    /// `ten_crop(img, size)`.
    Crop {
        /// Side of the square crop.
        size: usize,
        /// Where the crop is taken.
        position: CropPosition,
        /// Whether the crop is taken from the horizontally flipped image.
        flipped: bool,
    },
    /// The image brought to `size x size` (see [`ScaleMode`]).
    Scale {
        /// Target side.
        size: usize,
        /// How the size is reached.
        mode: ScaleMode,
    },
}

impl TtaView {
    /// The 8 views of the dihedral group D4: identity, the three rotations, the two flips and
    /// the two diagonal mirrors.
    pub fn d4() -> Vec<TtaView> {
        vec![
            TtaView::Identity,
            TtaView::Rot90 { k: 1 },
            TtaView::Rot90 { k: 2 },
            TtaView::Rot90 { k: 3 },
            TtaView::HFlip,
            TtaView::VFlip,
            TtaView::Transpose,
            TtaView::AntiTranspose,
        ]
    }

    /// torchvision's `five_crop(img, size)` as five views, in its order.
    pub fn five_crop(size: usize) -> Vec<TtaView> {
        Self::crops(size, false)
    }

    /// torchvision's `ten_crop(img, size)` as ten views, in its order (the five crops, then the
    /// five crops of the horizontal mirror).
    pub fn ten_crop(size: usize) -> Vec<TtaView> {
        let mut v = Self::crops(size, false);
        v.extend(Self::crops(size, true));
        v
    }

    fn crops(size: usize, flipped: bool) -> Vec<TtaView> {
        CropPosition::ALL
            .iter()
            .map(|&position| TtaView::Crop {
                size,
                position,
                flipped,
            })
            .collect()
    }

    /// Checks the view's parameters.
    ///
    /// # Errors
    /// [`PodiumError::Config`] with key `tta` for a rotation `k` outside 1..=3, or a zero
    /// crop or scale size.
    pub fn validate(&self) -> Result<()> {
        match *self {
            TtaView::Rot90 { k } if !(1..=3).contains(&k) => Err(PodiumError::config(
                "tta",
                format!("rot90 k={k}"),
                "k must be 1, 2 or 3",
            )),
            TtaView::Crop { size: 0, .. } | TtaView::Scale { size: 0, .. } => Err(
                PodiumError::config("tta", format!("{self:?}"), "the size must be at least 1"),
            ),
            _ => Ok(()),
        }
    }

    /// Checks that the view applies to an image of `[height, width]`.
    ///
    /// # Errors
    /// [`PodiumError::Config`] with key `tta` naming `what` (the item) for a crop larger than
    /// the image.
    pub fn check_fits(&self, [height, width]: [usize; 2], what: &str) -> Result<()> {
        match *self {
            TtaView::Crop { size, .. } if size > height || size > width => {
                Err(PodiumError::config(
                    "tta",
                    format!("crop {size}"),
                    format!("larger than the {height}x{width} image {what}"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The view of `img`.
    ///
    /// # Panics
    /// If a crop is larger than the image (see [`TtaView::check_fits`]), or a size is 0.
    pub fn apply(&self, img: &Image) -> Image {
        match *self {
            TtaView::Identity => img.clone(),
            TtaView::HFlip => hflip(img),
            TtaView::VFlip => vflip(img),
            TtaView::Rot90 { k } => rot90(img, k),
            TtaView::Transpose => vflip(&rot90(img, 1)),
            TtaView::AntiTranspose => hflip(&rot90(img, 1)),
            TtaView::Crop {
                size,
                position,
                flipped,
            } => {
                assert!(
                    size <= img.height && size <= img.width,
                    "TtaView::Crop: crop {size} is larger than the {}x{} image",
                    img.height,
                    img.width
                );
                let flip;
                let src = if flipped {
                    flip = hflip(img);
                    &flip
                } else {
                    img
                };
                let (b, r) = ((img.height - size) as isize, (img.width - size) as isize);
                match position {
                    CropPosition::TopLeft => crop(src, 0, 0, size, size),
                    CropPosition::TopRight => crop(src, 0, r, size, size),
                    CropPosition::BottomLeft => crop(src, b, 0, size, size),
                    CropPosition::BottomRight => crop(src, b, r, size, size),
                    CropPosition::Center => center_crop(src, [size, size]),
                }
            }
            TtaView::Scale { size, mode } => match mode {
                ScaleMode::ShorterThenCenterCrop => center_crop(
                    &resize_shorter(img, size, Interpolation::Bilinear, true),
                    [size, size],
                ),
                ScaleMode::Resize => resize(img, [size, size], Interpolation::Bilinear, true),
            },
        }
    }
}

/// How the probabilities of the views are merged, per item and class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TtaMerge {
    /// `mean_v p_v` (fastai's default).
    #[default]
    Mean,
    /// `max_v p_v` (fastai's `use_max=True`); rows no longer sum to 1.
    Max,
    /// `exp(mean_v ln p_v)`, renormalised to sum to 1 (probabilities clipped at [`LOG_CLIP`]
    /// before the logarithm).
    GeometricMean,
}

/// Test-time augmentation settings: the views, how they merge, and the blend with the plain
/// prediction.
///
/// The final prediction of an item, with `a` the merge of the views and `p` the plain
/// (identity) prediction:
/// * `beta = None`: `a`.
/// * `beta = Some(b)` with [`TtaMerge::Mean`] or [`TtaMerge::GeometricMean`]:
///   `torch.lerp(a, p, b) = a + b * (p - a) = (1 - b) * a + b * p`, as fastai's
///   `Learner.tta(beta=0.25)` computes (fastai's `a` is the mean of its augmented passes).
/// * `beta = Some(_)` with [`TtaMerge::Max`]: `max(p, a)` element-wise, as fastai's
///   `use_max=True` returns (fastai ignores `beta` there).
///
/// The plain prediction is the [`TtaView::Identity`] view, computed once whether or not it is
/// also one of the views.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtaConfig {
    /// The views, each predicted separately (duplicates are not removed).
    pub views: Vec<TtaView>,
    /// How the views' probabilities merge. Default [`TtaMerge::Mean`].
    #[serde(default)]
    pub merge: TtaMerge,
    /// Weight of the plain prediction, in `[0, 1]`; `None` for no blend. Default `Some(0.25)`
    /// (fastai's).
    #[serde(default = "default_beta")]
    pub beta: Option<f64>,
}

fn default_beta() -> Option<f64> {
    Some(0.25)
}

const TOKENS: &str = "identity, hflip, vflip, flips, d4, fivecrop=S, tencrop=S, scales=S1,S2,.., \
                      resize=S1,S2,.., merge=mean|max|geometric, beta=B|none";

impl TtaConfig {
    /// The views, merged by mean, blended with `beta = 0.25`.
    pub fn new(views: Vec<TtaView>) -> Self {
        Self {
            views,
            merge: TtaMerge::Mean,
            beta: default_beta(),
        }
    }

    /// Sets the merge.
    pub fn with_merge(mut self, merge: TtaMerge) -> Self {
        self.merge = merge;
        self
    }

    /// Sets the blend weight of the plain prediction.
    pub fn with_beta(mut self, beta: Option<f64>) -> Self {
        self.beta = beta;
        self
    }

    /// Parses a short spec: tokens joined by `+`, their views concatenated in order with
    /// repeats dropped.
    ///
    /// | token | views |
    /// |---|---|
    /// | `identity` | identity |
    /// | `hflip` | identity, horizontal flip |
    /// | `vflip` | identity, vertical flip |
    /// | `flips` | identity, horizontal flip, vertical flip |
    /// | `d4` | the 8 dihedral views ([`TtaView::d4`]) |
    /// | `fivecrop=S` | torchvision `five_crop(S)` (5 views) |
    /// | `tencrop=S` | torchvision `ten_crop(S)` (10 views) |
    /// | `scales=S1,S2,..` | for each `S`: resize the shorter side to `S`, centre crop `S x S` |
    /// | `resize=S1,S2,..` | for each `S`: resize to `S x S` (FixRes) |
    /// | `merge=mean\|max\|geometric` | the merge (default mean) |
    /// | `beta=B\|none` | the blend weight (default 0.25) |
    ///
    /// For example `hflip+scales=224,256` gives identity, hflip and the two scales (4 views).
    ///
    /// # Errors
    /// [`PodiumError::Config`] with key `tta` whose value is the bad token: an unknown name, a
    /// size that is not a positive integer, a beta outside `[0, 1]`, or a spec without views.
    pub fn from_spec(spec: &str) -> Result<Self> {
        let mut config = Self::new(Vec::new());
        let bad = |token: &str, rule: String| PodiumError::config("tta", token, rule);
        for token in spec.split('+').map(str::trim) {
            let (name, value) = match token.split_once('=') {
                Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim())),
                None => (token.to_ascii_lowercase(), None),
            };
            let sizes = |v: Option<&str>| -> Result<Vec<usize>> {
                let v = v.ok_or_else(|| bad(token, format!("`{name}` needs sizes: {name}=S")))?;
                v.split(',')
                    .map(|s| match s.trim().parse::<usize>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(bad(token, format!("`{s}` is not a positive integer size"))),
                    })
                    .collect()
            };
            let one_size = |v: Option<&str>| -> Result<usize> {
                match sizes(v)?.as_slice() {
                    [s] => Ok(*s),
                    _ => Err(bad(token, format!("`{name}` takes one size"))),
                }
            };
            let views = match (name.as_str(), value) {
                ("identity", None) => vec![TtaView::Identity],
                ("hflip", None) => vec![TtaView::Identity, TtaView::HFlip],
                ("vflip", None) => vec![TtaView::Identity, TtaView::VFlip],
                ("flips", None) => vec![TtaView::Identity, TtaView::HFlip, TtaView::VFlip],
                ("d4", None) => TtaView::d4(),
                ("fivecrop", v) => TtaView::five_crop(one_size(v)?),
                ("tencrop", v) => TtaView::ten_crop(one_size(v)?),
                ("scales" | "resize", v) => {
                    let mode = if name == "scales" {
                        ScaleMode::ShorterThenCenterCrop
                    } else {
                        ScaleMode::Resize
                    };
                    sizes(v)?
                        .into_iter()
                        .map(|size| TtaView::Scale { size, mode })
                        .collect()
                }
                ("merge", Some(v)) => {
                    config.merge = match v.to_ascii_lowercase().as_str() {
                        "mean" => TtaMerge::Mean,
                        "max" => TtaMerge::Max,
                        "geometric" | "gmean" => TtaMerge::GeometricMean,
                        _ => return Err(bad(token, "merge is mean, max or geometric".into())),
                    };
                    Vec::new()
                }
                ("beta", Some(v)) => {
                    config.beta = match v.to_ascii_lowercase().as_str() {
                        "none" => None,
                        b => match b.parse::<f64>() {
                            Ok(b) if (0.0..=1.0).contains(&b) => Some(b),
                            _ => {
                                return Err(bad(
                                    token,
                                    "beta is a number in [0, 1] or none".into(),
                                ));
                            }
                        },
                    };
                    Vec::new()
                }
                _ => return Err(bad(token, format!("unknown TTA token; expected {TOKENS}"))),
            };
            for v in views {
                if !config.views.contains(&v) {
                    config.views.push(v);
                }
            }
        }
        config
            .validate()
            .map_err(|_| bad(spec, "the spec names no view".into()))?;
        Ok(config)
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`PodiumError::Config`]: key `tta` for no view or a bad view ([`TtaView::validate`]),
    /// key `beta` for a blend weight outside `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        if self.views.is_empty() {
            return Err(PodiumError::config(
                "tta",
                "[]",
                "at least one view is needed",
            ));
        }
        for v in &self.views {
            v.validate()?;
        }
        if let Some(b) = self.beta
            && !(0.0..=1.0).contains(&b)
        {
            return Err(PodiumError::config("beta", b, "must be in [0, 1]"));
        }
        Ok(())
    }

    /// Merges the views' probabilities of one item (`views[v][class]`) and blends the result
    /// with the plain prediction `plain` as the type docs say.
    ///
    /// # Panics
    /// If there is no view, or rows differ in length.
    pub fn merge_item(&self, views: &[Vec<f32>], plain: &[f32]) -> Vec<f32> {
        let merged = merge_views(views, self.merge);
        assert_eq!(
            merged.len(),
            plain.len(),
            "TtaConfig::merge_item: {} view classes, {} plain classes",
            merged.len(),
            plain.len()
        );
        match (self.beta, self.merge) {
            (None, _) => merged,
            (Some(_), TtaMerge::Max) => merged.iter().zip(plain).map(|(a, p)| a.max(*p)).collect(),
            (Some(b), _) => merged
                .iter()
                .zip(plain)
                .map(|(&a, &p)| (a as f64 + b * (p as f64 - a as f64)) as f32)
                .collect(),
        }
    }
}

/// Merges probability rows (`rows[v][class]`) with `merge` ([`TtaMerge`]'s formulas), in f64.
///
/// # Panics
/// If `rows` is empty or rows differ in length.
pub fn merge_views(rows: &[Vec<f32>], merge: TtaMerge) -> Vec<f32> {
    assert!(!rows.is_empty(), "merge_views: no rows to merge");
    let c = rows[0].len();
    assert!(
        rows.iter().all(|r| r.len() == c),
        "merge_views: rows of lengths {:?}",
        rows.iter().map(Vec::len).collect::<Vec<_>>()
    );
    let n = rows.len() as f64;
    let column = |k: usize| rows.iter().map(move |r| r[k] as f64);
    match merge {
        TtaMerge::Mean => (0..c)
            .map(|k| (column(k).sum::<f64>() / n) as f32)
            .collect(),
        TtaMerge::Max => (0..c)
            .map(|k| column(k).fold(f64::NEG_INFINITY, f64::max) as f32)
            .collect(),
        TtaMerge::GeometricMean => {
            let logs: Vec<f64> = (0..c)
                .map(|k| column(k).map(|p| p.max(LOG_CLIP).ln()).sum::<f64>() / n)
                .collect();
            normalized_exp(&logs)
        }
    }
}

/// `exp(l_k - max l) / sum_j exp(l_j - max l)`: a softmax of log-values (renormalised
/// geometric means).
pub(crate) fn normalized_exp(logs: &[f64]) -> Vec<f32> {
    let m = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logs.iter().map(|l| (l - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}
