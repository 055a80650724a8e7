//! Choosing the device a run uses. Library code never names a backend: it takes a [`Device`];
//! the cargo features `flex` (default), `ndarray` and `cuda` decide which devices exist.

use burn::tensor::Device;

use crate::error::{PodiumError, Result};

/// The best device the enabled features offer: CUDA device 0 with `cuda`, else burn's flex CPU
/// backend with `flex` (the default), else ndarray.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    {
        Device::cuda(0)
    }
    #[cfg(all(not(feature = "cuda"), feature = "flex"))]
    {
        Device::flex()
    }
    #[cfg(all(not(feature = "cuda"), not(feature = "flex"), feature = "ndarray"))]
    #[allow(deprecated)]
    {
        Device::ndarray()
    }
    #[cfg(not(any(feature = "cuda", feature = "flex", feature = "ndarray")))]
    {
        Device::default()
    }
}

/// Parses a device name as a command line gives it: `auto`, `flex` (or `cpu`), `ndarray`,
/// `cuda` or `cuda:N`.
///
/// # Errors
/// [`PodiumError::Config`] for an unknown name or a backend whose cargo feature is off.
pub fn device_from_name(name: &str) -> Result<Device> {
    let unavailable = |feature: &str| {
        PodiumError::config(
            "device",
            name,
            format!("podium was built without the `{feature}` feature"),
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
            let index = match s.strip_prefix("cuda:") {
                Some(i) => i.parse::<usize>().map_err(|_| {
                    PodiumError::config("device", name, "expected cuda:<index>, e.g. cuda:0")
                })?,
                None => 0,
            };
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
        _ => Err(PodiumError::config(
            "device",
            name,
            "expected auto, flex, cpu, ndarray, cuda or cuda:N",
        )),
    }
}
