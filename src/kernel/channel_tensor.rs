//! The `Tensor` entry points of the per-channel maps ([`super::channel`]): `ChannelKernels` on
//! flex in `f32` (with or without autodiff), Burn's composed ops on every other backend and
//! dtype, chosen at run time.

#[cfg(feature = "flex")]
use burn::backend::Dispatch;
#[cfg(feature = "flex")]
use burn::tensor::DType;
use burn::tensor::Tensor;

#[cfg(feature = "flex")]
use super::channel_flex::ChannelKernels;

/// Whether the flex kernels take `t`: an `f32` tensor on the flex device.
#[cfg(feature = "flex")]
fn on_flex_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32 && super::flex_autodiff::on_flex(t.device())
}

/// Global average pooling, `[B, C, H, W]` to `[B, C, 1, 1]`
/// ([`channel`](super::channel) docs): torch's `x.mean((2, 3), keepdim=True)`,
/// `nn.AdaptiveAvgPool2d(1)`. One parallel pass forward and backward on flex in `f32`; Burn's
/// `mean_dim` elsewhere.
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if on_flex_f32(&x) {
        return Tensor::from_dispatch(Dispatch::podium_global_avg_pool(x.into_dispatch()));
    }
    x.mean_dim(2).mean_dim(3)
}

/// `x · s` with `s` `[B, C, 1, 1]` broadcast over the pixels of `x` `[B, C, H, W]`
/// ([`channel`](super::channel) docs): the excitation of timm's `SqueezeExcite`
/// (`x * self.gate(x_se)`). One parallel pass forward and backward on flex in `f32`; Burn's
/// broadcast `mul` elsewhere.
///
/// # Panics
/// If `s` is not `[B, C, 1, 1]` for `x` `[B, C, H, W]` (naming both shapes).
pub fn scale_channels(x: Tensor<4>, s: Tensor<4>) -> Tensor<4> {
    let ([b, c, _, _], sd) = (x.dims(), s.dims());
    assert!(
        sd == [b, c, 1, 1],
        "scale_channels: x of shape {:?} needs scales of shape [{b}, {c}, 1, 1], got {sd:?}",
        x.dims()
    );
    #[cfg(feature = "flex")]
    if on_flex_f32(&x) && on_flex_f32(&s) && x.device() == s.device() {
        return Tensor::from_dispatch(Dispatch::podium_scale_channels(
            x.into_dispatch(),
            s.into_dispatch(),
        ));
    }
    x * s
}
