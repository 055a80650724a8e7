//! Long-tailed subsets of balanced datasets (Cao et al. 2019, "LDAM-DRW", the
//! `IMBALANCECIFAR10/100.get_img_num_per_cls` profiles).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::ImageDataset;
use crate::error::{PodiumError, Result};

/// How the per-class counts fall from the head class to the tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ImbalanceProfile {
    /// `n_i = int(n_max * imb_factor^(i / (C - 1)))`.
    #[default]
    Exponential,
    /// The first `C / 2` classes keep `n_max`, the rest `int(n_max * imb_factor)`.
    Step,
}

/// Per-class counts of a long-tailed profile (f64 power, truncation toward zero, as the
/// reference code).
///
/// # Errors
/// [`PodiumError::Config`] for no classes or an `imb_factor` outside `(0, 1]`.
pub fn long_tailed_counts(
    num_classes: usize,
    n_max: usize,
    imb_factor: f64,
    profile: ImbalanceProfile,
) -> Result<Vec<usize>> {
    if num_classes == 0 {
        return Err(PodiumError::config("num_classes", 0, "must be at least 1"));
    }
    if !(imb_factor > 0.0 && imb_factor <= 1.0) {
        return Err(PodiumError::config(
            "imb_factor",
            imb_factor,
            "must be in (0, 1]",
        ));
    }
    Ok(match profile {
        ImbalanceProfile::Exponential => (0..num_classes)
            .map(|i| {
                let e = if num_classes == 1 {
                    0.0
                } else {
                    i as f64 / (num_classes as f64 - 1.0)
                };
                (n_max as f64 * imb_factor.powf(e)) as usize
            })
            .collect(),
        ImbalanceProfile::Step => (0..num_classes)
            .map(|i| {
                if i < num_classes / 2 {
                    n_max
                } else {
                    (n_max as f64 * imb_factor) as usize
                }
            })
            .collect(),
    })
}

impl ImageDataset {
    /// A long-tailed subset: class `i` keeps `counts[i]` of its items from
    /// [`long_tailed_counts`] with `n_max` = the smallest class count (so every class can give
    /// its share), chosen by a seeded shuffle and kept in dataset order. Class 0 is the head.
    ///
    /// # Errors
    /// As [`long_tailed_counts`], and an unlabelled item or an empty class.
    pub fn long_tailed(
        &self,
        imb_factor: f64,
        profile: ImbalanceProfile,
        seed: u64,
    ) -> Result<Self> {
        let counts = self.class_counts();
        if let Some(i) = self.labels().iter().position(Option::is_none) {
            return Err(PodiumError::config(
                "labels",
                self.name(i),
                "needs labelled items",
            ));
        }
        let n_max = counts.iter().copied().min().unwrap_or(0);
        if n_max == 0 {
            return Err(PodiumError::config(
                "class_counts",
                format!("{counts:?}"),
                "every class needs items",
            ));
        }
        let keep = long_tailed_counts(counts.len(), n_max, imb_factor, profile)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut chosen = Vec::new();
        for (class, &k) in keep.iter().enumerate() {
            let mut members: Vec<usize> = (0..self.len())
                .filter(|&i| self.label(i) == Some(class))
                .collect();
            members.shuffle(&mut rng);
            chosen.extend_from_slice(&members[..k]);
        }
        chosen.sort_unstable();
        Ok(self.subset(&chosen))
    }
}
