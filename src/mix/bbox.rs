//! CutMix boxes, timm's `rand_bbox`, `rand_bbox_minmax` and `cutmix_bbox_and_lam` with the
//! random draws passed in.

/// timm's `rand_bbox` for a given centre `(cy, cx)`: `ratio = sqrt(1 - lam)`,
/// `cut_h = int(H ratio)`, `cut_w = int(W ratio)` (truncated), and the box
/// `[clip(cy - cut_h / 2), clip(cy + (cut_h + 1) / 2), clip(cx - cut_w / 2), clip(cx + (cut_w + 1) / 2)]`
/// as `[y0, y1, x0, x1]`, end-exclusive, clipped to the image.
pub fn cutmix_bbox([h, w]: [usize; 2], lam: f64, [cy, cx]: [usize; 2]) -> [usize; 4] {
    let ratio = (1.0 - lam).max(0.0).sqrt();
    let cut_h = (h as f64 * ratio) as i64;
    let cut_w = (w as f64 * ratio) as i64;
    let (cy, cx, h, w) = (cy as i64, cx as i64, h as i64, w as i64);
    let clip = |v: i64, hi: i64| v.clamp(0, hi) as usize;
    [
        clip(cy - cut_h / 2, h),
        clip(cy + (cut_h + 1) / 2, h),
        clip(cx - cut_w / 2, w),
        clip(cx + (cut_w + 1) / 2, w),
    ]
}

/// timm's `rand_bbox_minmax` for a drawn size `(cut_h, cut_w)` and corner `(y0, x0)`:
/// `[y0, y0 + cut_h, x0, x0 + cut_w]`, clipped to the image.
pub fn cutmix_bbox_minmax(
    [h, w]: [usize; 2],
    [cut_h, cut_w]: [usize; 2],
    [y0, x0]: [usize; 2],
) -> [usize; 4] {
    [
        y0.min(h),
        (y0 + cut_h).min(h),
        x0.min(w),
        (x0 + cut_w).min(w),
    ]
}

/// The lam a box leaves: `1 - box area / (H W)`.
pub fn cutmix_corrected_lam([h, w]: [usize; 2], [y0, y1, x0, x1]: [usize; 4]) -> f64 {
    1.0 - ((y1 - y0) * (x1 - x0)) as f64 / (h * w) as f64
}
