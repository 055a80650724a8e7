//! podium's own compute kernels for Burn's flex CPU backend, reached through Burn's
//! backend-extension mechanism (`#[backend_extension]`, Burn's `extension` feature) and falling
//! back to Burn's ops on every other backend. The bottom layer of the crate: it imports nothing
//! from podium above `util`/`error`.
//!
//! | podium | Burn | PyTorch |
//! |---|---|---|
//! | [`conv::conv2d`], [`conv::conv2d_with`] | `Conv2d::forward`, `module::conv2d` | `nn.Conv2d`, `F.conv2d` |

pub mod conv;
#[cfg(feature = "flex")]
mod conv_depthwise;
#[cfg(feature = "flex")]
mod conv_flex;
#[cfg(feature = "flex")]
mod conv_gemm;
