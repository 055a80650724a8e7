//! Choosing the device a run uses. Library code never names a backend: it takes a [`Device`];
//! the cargo features `flex` (default), `ndarray`, `cuda`, `wgpu` and `vulkan` decide which
//! devices exist.
//!
//! | name (`device_from_name`) | feature | burn device |
//! |---|---|---|
//! | `auto`, `default` | any | [`default_device()`] |
//! | `flex`, `cpu` | `flex` | `Device::flex()` |
//! | `ndarray` | `ndarray` | `Device::ndarray()` |
//! | `cuda`, `cuda:N` | `cuda` | `Device::cuda(N)` |
//! | `wgpu` | `wgpu` | `Device::wgpu(DeviceKind::DefaultDevice)`: wgpu's best adapter, WGSL kernels |
//! | `wgpu:cpu` | `wgpu` | `Device::wgpu(DeviceKind::Cpu)`: the software adapter (Mesa's lavapipe) |
//! | `wgpu:gpu`, `wgpu:gpu:N` | `wgpu` | `Device::wgpu(DeviceKind::DiscreteGpu(N))` |
//! | `vulkan` | `vulkan` | `Device::vulkan(DeviceKind::DefaultDevice)`: pinned to Vulkan, SPIR-V kernels |

use burn::tensor::Device;

use crate::error::{PodiumError, Result};

/// Every name [`device_from_name`] accepts, for error messages.
const NAMES: &str = "auto, flex, cpu, ndarray, cuda, cuda:N, wgpu, wgpu:cpu, wgpu:gpu, wgpu:gpu:N \
                     or vulkan";

/// The best device the enabled features offer, in this order: CUDA device 0 with `cuda` when
/// the machine has a CUDA device; the first discrete GPU wgpu finds with `wgpu`; burn's flex CPU
/// backend with `flex` (the default); ndarray. A software adapter (lavapipe) is never chosen
/// here (flex is much faster on a CPU): name it with `device_from_name("wgpu:cpu")`.
///
/// The answer is computed once per process (looking for GPUs opens the graphics drivers).
pub fn default_device() -> Device {
    static DEVICE: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    DEVICE.get_or_init(pick_default_device).clone()
}

fn pick_default_device() -> Device {
    #[cfg(feature = "cuda")]
    {
        if !Device::enumerate(burn::tensor::DeviceType::Cuda).is_empty() {
            return Device::cuda(0);
        }
    }
    #[cfg(feature = "wgpu")]
    {
        let gpu = Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(0));
        if Device::enumerate(burn::tensor::DeviceType::Wgpu)
            .into_iter()
            .any(|d| d == gpu)
        {
            return gpu;
        }
    }
    cpu_default()
}

/// The CPU device of the enabled CPU features: flex, else ndarray, else burn's own default.
fn cpu_default() -> Device {
    #[cfg(feature = "flex")]
    {
        Device::flex()
    }
    #[cfg(all(not(feature = "flex"), feature = "ndarray"))]
    #[allow(deprecated)]
    {
        Device::ndarray()
    }
    #[cfg(not(any(feature = "flex", feature = "ndarray")))]
    {
        Device::default()
    }
}

/// Parses a device name as a command line gives it: `auto`, `flex` (or `cpu`), `ndarray`,
/// `cuda` or `cuda:N`, `wgpu` (wgpu's best adapter), `wgpu:cpu` (the software adapter, e.g.
/// Mesa's lavapipe), `wgpu:gpu` or `wgpu:gpu:N` (the N-th discrete GPU), `vulkan` (wgpu pinned
/// to Vulkan with CubeCL's SPIR-V compiler). Case and surrounding spaces are ignored.
///
/// Naming a device does not open it: a wgpu adapter that does not exist fails at the first
/// tensor operation (burn panics there).
///
/// # Errors
/// [`PodiumError::Config`] naming the value for an unknown name (listing the accepted ones) or
/// a backend whose cargo feature is off (naming the feature).
pub fn device_from_name(name: &str) -> Result<Device> {
    let unavailable = |feature: &str| {
        PodiumError::config(
            "device",
            name,
            format!(
                "podium was built without the `{feature}` feature \
                 (cargo build --features {feature}); names: {NAMES}"
            ),
        )
    };
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "auto" | "default" => Ok(default_device()),
        "flex" | "cpu" => {
            #[cfg(feature = "flex")]
            {
                Ok(Device::flex())
            }
            #[cfg(not(feature = "flex"))]
            {
                Err(unavailable("flex"))
            }
        }
        "ndarray" => {
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            {
                Ok(Device::ndarray())
            }
            #[cfg(not(feature = "ndarray"))]
            {
                Err(unavailable("ndarray"))
            }
        }
        s if s == "cuda" || s.starts_with("cuda:") => {
            let index = parse_index(name, s.strip_prefix("cuda:"), "cuda:<index>, e.g. cuda:0")?;
            #[cfg(feature = "cuda")]
            {
                Ok(Device::cuda(index))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = index;
                Err(unavailable("cuda"))
            }
        }
        s if s == "wgpu" || s.starts_with("wgpu:") => {
            let kind = match s {
                "wgpu" => WgpuKind::Default,
                "wgpu:cpu" => WgpuKind::Cpu,
                _ => match s.strip_prefix("wgpu:gpu") {
                    Some(rest) if rest.is_empty() || rest.starts_with(':') => WgpuKind::Gpu(
                        parse_index(name, rest.strip_prefix(':'), "wgpu:gpu:<index>")?,
                    ),
                    _ => {
                        return Err(PodiumError::config(
                            "device",
                            name,
                            format!(
                                "expected wgpu, wgpu:cpu, wgpu:gpu or wgpu:gpu:N; names: {NAMES}"
                            ),
                        ));
                    }
                },
            };
            #[cfg(feature = "wgpu")]
            {
                use burn::tensor::DeviceKind;
                Ok(Device::wgpu(match kind {
                    WgpuKind::Default => DeviceKind::DefaultDevice,
                    WgpuKind::Cpu => DeviceKind::Cpu,
                    WgpuKind::Gpu(i) => DeviceKind::DiscreteGpu(i),
                }))
            }
            #[cfg(not(feature = "wgpu"))]
            {
                let _ = kind;
                Err(unavailable("wgpu"))
            }
        }
        "vulkan" => {
            #[cfg(feature = "vulkan")]
            {
                Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice))
            }
            #[cfg(not(feature = "vulkan"))]
            {
                Err(unavailable("vulkan"))
            }
        }
        _ => Err(PodiumError::config(
            "device",
            name,
            format!("unknown device; expected {NAMES}"),
        )),
    }
}

/// Which wgpu adapter a `wgpu…` name asks for.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
enum WgpuKind {
    Default,
    Cpu,
    Gpu(usize),
}

/// The index after `cuda:` / `wgpu:gpu:` (0 when absent).
fn parse_index(name: &str, index: Option<&str>, expected: &str) -> Result<usize> {
    match index {
        None => Ok(0),
        Some(i) => i.parse::<usize>().map_err(|_| {
            PodiumError::config(
                "device",
                name,
                format!("expected {expected}; names: {NAMES}"),
            )
        }),
    }
}
