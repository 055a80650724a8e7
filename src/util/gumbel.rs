//! Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017), as
//! `torch.nn.functional.gumbel_softmax`, with the random draw passed in.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

/// `gumbel_softmax(logits, tau, hard)` over the last dimension, given uniform noise `u` in
/// `(0, 1)` of the same shape: `g = -log(-log(u))`, `y = softmax((logits + g) / tau)`; with
/// `hard`, the one-hot of the argmax in value with the soft gradient (straight-through:
/// `y_hard - detach(y_soft) + y_soft`). Returns `(y, g)`.
///
/// # Panics
/// If `u` and `logits` differ in shape.
pub fn gumbel_softmax(
    logits: Tensor<2>,
    u: Tensor<2>,
    tau: f64,
    hard: bool,
) -> (Tensor<2>, Tensor<2>) {
    assert_eq!(
        logits.dims(),
        u.dims(),
        "gumbel_softmax: logits {:?} against noise {:?}",
        logits.dims(),
        u.dims()
    );
    let g = u.log().neg().log().neg();
    let y_soft = softmax((logits + g.clone()) / tau, 1);
    if !hard {
        return (y_soft, g);
    }
    let [_, c] = y_soft.dims();
    let index = y_soft.clone().detach().argmax(1).squeeze_dim::<1>(1);
    let y_hard = index.one_hot::<2>(c).float();
    (y_hard - y_soft.clone().detach() + y_soft, g)
}

/// The spatial output size of a convolution: `floor((w + 2p - d(f - 1) - 1) / s) + 1` for input
/// size `w`, kernel `f`, padding `p`, stride `s` and dilation `d` (what
/// `torch.nn.functional.conv2d` produces); `None` when the kernel does not fit or `s = 0`.
pub fn conv2d_output_size(w: usize, f: usize, p: usize, s: usize, d: usize) -> Option<usize> {
    let span = d * f.checked_sub(1)? + 1;
    let padded = w + 2 * p;
    if s == 0 || padded < span {
        return None;
    }
    Some((padded - span) / s + 1)
}
