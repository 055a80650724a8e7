//! Mixed soft targets (timm's `mixup_target`).

use burn::tensor::{Device, Tensor, TensorData};

/// timm's `mixup_target` for class indices: with `off = smoothing / C` and
/// `on = 1 - smoothing + off`, `y1` is the one-hot of `labels` with on/off values, `y2` the same
/// for the flipped batch, and the target is `lam_i y1 + (1 - lam_i) y2` (one `lam` per sample; a
/// batch-wide lam is the same value repeated). Computed in f64, returned as f32 `[B, C]`.
///
/// # Panics
/// If `lam` does not have one value per label, or a label is not below `num_classes`.
pub fn mixup_target(
    labels: &[usize],
    num_classes: usize,
    lam: &[f64],
    smoothing: f64,
    device: &Device,
) -> Tensor<2> {
    assert_eq!(
        labels.len(),
        lam.len(),
        "mixup_target: {} labels but {} lam values",
        labels.len(),
        lam.len()
    );
    let b = labels.len();
    let off = smoothing / num_classes as f64;
    let on = 1.0 - smoothing + off;
    let mut out = vec![0f32; b * num_classes];
    for i in 0..b {
        let (y1, y2) = (labels[i], labels[b - 1 - i]);
        assert!(
            y1 < num_classes,
            "mixup_target: label {y1} for {num_classes} classes"
        );
        for c in 0..num_classes {
            let v1 = if c == y1 { on } else { off };
            let v2 = if c == y2 { on } else { off };
            out[i * num_classes + c] = (v1 * lam[i] + v2 * (1.0 - lam[i])) as f32;
        }
    }
    Tensor::from_data(TensorData::new(out, [b, num_classes]), device)
}

/// timm's `mixup_target` for dense multi-label targets `[B, C]` (values in `[0, 1]`, row-major):
/// `y1 = t (1 - smoothing) + smoothing / 2`, `y2 = y1` flipped over the batch, target
/// `lam_i y1 + (1 - lam_i) y2`.
///
/// # Panics
/// If `targets.len()` is not `lam.len() * num_classes`.
pub fn mixup_target_multi_label(
    targets: &[f32],
    num_classes: usize,
    lam: &[f64],
    smoothing: f64,
    device: &Device,
) -> Tensor<2> {
    let b = lam.len();
    assert_eq!(
        targets.len(),
        b * num_classes,
        "mixup_target_multi_label: {} values for {b} x {num_classes} targets",
        targets.len()
    );
    let y = |i: usize, c: usize| {
        targets[i * num_classes + c] as f64 * (1.0 - smoothing) + 0.5 * smoothing
    };
    let mut out = vec![0f32; b * num_classes];
    for i in 0..b {
        for c in 0..num_classes {
            out[i * num_classes + c] = (y(i, c) * lam[i] + y(b - 1 - i, c) * (1.0 - lam[i])) as f32;
        }
    }
    Tensor::from_data(TensorData::new(out, [b, num_classes]), device)
}
