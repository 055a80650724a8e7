//! Weight averaging: exponential moving averages of a model's weights (timm's `ModelEmaV2` and
//! `ModelEmaV3`, and the TensorFlow-style warm-up), and stochastic weight averaging (torch's
//! `AveragedModel`), on any burn [`Module`](burn::module::Module).
//!
//! Tensors are paired by parameter id: the average starts as `model.valid()` (an independent
//! copy, BatchNorm running statistics included, without autodiff) and each update reads the
//! current model's tensors. BatchNorm running statistics (`running_*` fields) are averaged like
//! parameters by the EMAs (timm V2/V3 iterate the whole state dict) and, for SWA, copied or
//! averaged as `use_buffers` says.
//!
//! | podium | timm / torch |
//! |---|---|
//! | `ModelEmaConfig::V2 { decay }.init(&model)` | `timm.utils.ModelEmaV2(model, decay=0.9999)` |
//! | `ModelEmaConfig::v3(decay).init(&model)`, `ModelEmaConfig::V3 { .. }` | `timm.utils.ModelEmaV3(model, decay=0.9999, min_decay=0, use_warmup=False, warmup_gamma=1, warmup_power=2/3, update_after_step=0)` |
//! | `ModelEmaConfig::TfStyle { decay }` | TensorFlow's `ExponentialMovingAverage(decay, num_updates)` |
//! | [`ModelEma::step`] / [`ModelEma::update`] | `ema.update(model, step=t)` / `ema.update(model)` |
//! | `AveragedModelConfig::new().with_use_buffers(b).init(&model)` | `torch.optim.swa_utils.AveragedModel(model, use_buffers=False)` |
//! | [`update_bn`] | `torch.optim.swa_utils.update_bn(loader, model)` |

mod ema;
mod state;
mod swa;

pub use ema::{ModelEma, ModelEmaConfig};
pub use swa::{AveragedModel, AveragedModelConfig, update_bn};
