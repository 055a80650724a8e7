//! Lovasz hinge and Lovasz-softmax (Berman, Rannen Triki and Blaschko 2018, "The Lovasz-Softmax
//! loss"), following the authors' `lovasz_losses.py`: differentiable surrogates of the Jaccard
//! index (IoU) for binary and multi-class masks.

use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Int, Tensor, TensorData};

/// The gradient of the Lovasz extension of the Jaccard loss with respect to errors sorted in
/// decreasing order, given the ground truth sorted alike (1 for foreground):
/// `J_k = 1 - (G - cumsum(gt)_k) / (G + cumsum(1 - gt)_k)` with `G = sum gt`, and the result is
/// `[J_1, J_2 - J_1, ..., J_p - J_{p-1}]`. Computed in f64.
pub fn lovasz_grad(gt_sorted: &[f32]) -> Vec<f32> {
    let g: f64 = gt_sorted.iter().map(|&v| v as f64).sum();
    let (mut cum_gt, mut cum_bg) = (0f64, 0f64);
    let mut prev = 0f64;
    gt_sorted
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            cum_gt += v as f64;
            cum_bg += 1.0 - v as f64;
            let jaccard = 1.0 - (g - cum_gt) / (g + cum_bg);
            let out = if k == 0 { jaccard } else { jaccard - prev };
            prev = jaccard;
            out as f32
        })
        .collect()
}

/// `dot(values sorted by decreasing errors, lovasz_grad(gt sorted alike))`, differentiable in
/// `values` (which may be a function of `errors`).
fn sorted_dot(
    errors: Tensor<1>,
    values_of_sorted: impl FnOnce(Tensor<1>) -> Tensor<1>,
    gt: &[f32],
) -> Tensor<1> {
    let device = errors.device();
    let (_, perm) = errors.clone().detach().sort_descending_with_indices(0);
    let perm_host: Vec<i64> = perm
        .clone()
        .try_into_vec_as::<i64>()
        .expect("read permutation");
    let gt_sorted: Vec<f32> = perm_host.iter().map(|&i| gt[i as usize]).collect();
    let grad = lovasz_grad(&gt_sorted);
    let n = grad.len();
    let grad = Tensor::<1>::from_data(TensorData::new(grad, [n]), &device);
    (values_of_sorted(errors.gather(0, perm)) * grad).sum()
}

fn hinge_flat(logits: Tensor<1>, labels: &[f32]) -> Tensor<1> {
    let [p] = logits.dims();
    if p == 0 {
        return logits.sum() * 0.0;
    }
    let device = logits.device();
    let signs: Vec<f32> = labels.iter().map(|&l| 2.0 * l - 1.0).collect();
    let signs = Tensor::<1>::from_data(TensorData::new(signs, [p]), &device);
    let errors = (logits * signs).neg() + 1.0;
    sorted_dot(errors, relu, labels)
}

fn host_labels<const D: usize>(labels: Tensor<D, Int>) -> Vec<i64> {
    labels.try_into_vec_as::<i64>().expect("read labels")
}

/// Binary Lovasz hinge for logits `[B, H, W]` and binary labels `[B, H, W]` (0 or 1).
///
/// Per flattened image (`per_image`, then the mean over images) or over the whole flattened
/// batch: `signs = 2 t - 1`, `e = 1 - x signs`, sorted decreasingly, and
/// `loss = dot(relu(e_sorted), lovasz_grad(t_sorted))`.
///
/// # Panics
/// If logits and labels differ in shape.
pub fn lovasz_hinge(logits: Tensor<3>, labels: Tensor<3, Int>, per_image: bool) -> Tensor<1> {
    assert_eq!(
        logits.dims(),
        labels.dims(),
        "lovasz_hinge: logits {:?} against labels {:?}",
        logits.dims(),
        labels.dims()
    );
    let [b, h, w] = logits.dims();
    let gt: Vec<f32> = host_labels(labels).into_iter().map(|l| l as f32).collect();
    if per_image {
        let n = h * w;
        (0..b)
            .map(|i| {
                let x = logits.clone().slice([i..i + 1, 0..h, 0..w]).reshape([n]);
                hinge_flat(x, &gt[i * n..(i + 1) * n])
            })
            .reduce(|a, l| a + l)
            .expect("a non-empty batch")
            / b as f64
    } else {
        hinge_flat(logits.reshape([b * h * w]), &gt)
    }
}

fn softmax_flat(probas: Tensor<2>, labels: &[i64]) -> Tensor<1> {
    let [p, c] = probas.dims();
    let device = probas.device();
    let mut losses = Vec::new();
    for class in 0..c {
        let fg: Vec<f32> = labels
            .iter()
            .map(|&l| f32::from(l == class as i64))
            .collect();
        if !fg.iter().any(|&v| v > 0.0) {
            continue; // classes = 'present'
        }
        let fg_t = Tensor::<1>::from_data(TensorData::new(fg.clone(), [p]), &device);
        let column = probas.clone().slice([0..p, class..class + 1]).reshape([p]);
        let errors = (fg_t - column).abs();
        losses.push(sorted_dot(errors, |e| e, &fg));
    }
    let n = losses.len();
    match losses.into_iter().reduce(|a, l| a + l) {
        Some(sum) => sum / n as f64,
        None => probas.sum() * 0.0,
    }
}

/// Lovasz-softmax for logits `[B, C, H, W]` and class labels `[B, H, W]`, over the classes
/// present in the labels (`classes='present'`).
///
/// `probas = softmax(x, dim 1)`, pixels flattened; for each present class `c`:
/// `e = |[y == c] - probas_c|` sorted decreasingly, `loss_c = dot(e_sorted, lovasz_grad(fg_sorted))`;
/// the loss is the mean over present classes (per image, then over images, with `per_image`).
///
/// # Panics
/// If the labels are not `[B, H, W]` for logits `[B, C, H, W]`.
pub fn lovasz_softmax(logits: Tensor<4>, labels: Tensor<3, Int>, per_image: bool) -> Tensor<1> {
    let [b, c, h, w] = logits.dims();
    assert_eq!(
        labels.dims(),
        [b, h, w],
        "lovasz_softmax: logits {:?} against labels {:?}",
        logits.dims(),
        labels.dims()
    );
    let probas = softmax(logits, 1).permute([0, 2, 3, 1]);
    let labels = host_labels(labels);
    if per_image {
        let n = h * w;
        (0..b)
            .map(|i| {
                let p = probas
                    .clone()
                    .slice([i..i + 1, 0..h, 0..w, 0..c])
                    .reshape([n, c]);
                softmax_flat(p, &labels[i * n..(i + 1) * n])
            })
            .reduce(|a, l| a + l)
            .expect("a non-empty batch")
            / b as f64
    } else {
        softmax_flat(probas.reshape([b * h * w, c]), &labels)
    }
}
