//! Weight averaging: exponential moving averages of a model's weights (timm's `ModelEmaV2` and
//! `ModelEmaV3`, and the TensorFlow-style warm-up), and stochastic weight averaging (torch's
//! `AveragedModel`), on any burn [`Module`](burn::module::Module).
//!
//! Tensors are paired by parameter id: the average starts as `model.valid()` (an independent
//! copy, BatchNorm running statistics included, without autodiff) and each update reads the
//! current model's tensors. BatchNorm running statistics (`running_*` fields) are averaged like
//! parameters by the EMAs (timm V2/V3 iterate the whole state dict) and, for SWA, copied or
//! averaged as `use_buffers` says.

mod ema;
mod state;
mod swa;

pub use ema::{EmaDecay, ModelEma};
pub use swa::{AveragedModel, update_bn};
