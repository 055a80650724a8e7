//! The scaled sum `a x + b y` of two tensors of one shape, in one pass: BLAS's `axpby`, torch's
//! `torch.add(b * y, x, alpha=a)` / the `_foreach_mul_` + `_foreach_add_` pair of its optimizers.
//!
//! Optimizer updates and weight averages are chains of such sums over every weight of the model
//! (SGD with momentum: `buf = mu buf + (1 - dampening) g`, then `p = p - lr buf`; timm's
//! `ModelEmaV2`: `ema = decay ema + (1 - decay) p`). Burn's composed ops take three passes for
//! each (two scalings and a sum) and flex runs them on one thread; on flex in `f32` [`axpby`]
//! runs one pass, rayon over blocks, writing into `x`'s buffer when `x` owns it alone. The value
//! is the composed ops' to the bit on every backend: `a x` and `b y` each rounded to `f32`, then
//! their sum (no fused multiply-add), with `a` and `b` taken as `f32` as Burn's scalar ops take
//! them.

use burn::tensor::Tensor;

/// `a x + b y`, element-wise (module docs): one parallel pass on flex in `f32`, Burn's
/// `x * a + y * b` on every other backend and dtype and for tracked (autodiff) tensors.
///
/// # Panics
/// If `x` and `y` have different shapes (naming both).
pub fn axpby<const D: usize>(a: f64, x: Tensor<D>, b: f64, y: Tensor<D>) -> Tensor<D> {
    let (dx, dy) = (x.dims(), y.dims());
    assert!(
        dx == dy,
        "axpby: x of shape {dx:?} and y of shape {dy:?} differ"
    );
    #[cfg(feature = "flex")]
    if flex::applies(&x) && flex::applies(&y) {
        return flex::axpby(a, x, b, y);
    }
    x * a + y * b
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::tensor::{DType, Tensor};

    use super::super::flex_autodiff::{contiguous, flex_f32};
    use super::super::{GRAIN, for_blocks};

    /// Whether `t` is an untracked flex `f32` tensor.
    pub(super) fn applies<const D: usize>(t: &Tensor<D>) -> bool {
        t.dtype() == DType::F32 && t.clone().try_into_primitive::<Flex>().is_ok()
    }

    /// [`super::axpby`] on flex `f32` tensors ([`applies`] to both): in `x`'s buffer when `x`
    /// is its sole, contiguous owner, else into a new one.
    pub(super) fn axpby<const D: usize>(a: f64, x: Tensor<D>, b: f64, y: Tensor<D>) -> Tensor<D> {
        let flex =
            |t: Tensor<D>| contiguous(t.try_into_primitive::<Flex>().expect("a flex tensor"));
        let (mut px, py) = (flex(x), flex(y));
        let (a, b) = (a as f32, b as f32);
        let ys = py.as_slice::<f32>().expect("contiguous");
        let n = ys.len();
        let in_place = px.layout().start_offset() == 0;
        if let Some(xs) = px
            .try_storage_mut::<f32>()
            .filter(|xs| in_place && xs.len() == n)
        {
            for_blocks(xs, GRAIN, n, |i, xs| {
                for (x, &y) in xs.iter_mut().zip(&ys[i * GRAIN..]) {
                    *x = a * *x + b * y;
                }
            });
            return Tensor::from_primitive::<Flex>(px);
        }
        let xs = px.as_slice::<f32>().expect("contiguous");
        let out = crate::kernel::written_vec(n, |out| {
            for_blocks(out, GRAIN, n, |i, out| {
                let (xs, ys) = (&xs[i * GRAIN..], &ys[i * GRAIN..]);
                for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
                    *o = a * x + b * y;
                }
            })
        });
        Tensor::from_primitive::<Flex>(flex_f32(out, px.layout().shape().clone()))
    }
}
