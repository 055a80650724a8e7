//! `device_from_name` and `default_device`: the names, the typed errors when a backend's cargo
//! feature is off, and (in the wgpu test mode) one kernel on the wgpu device.

use burn::tensor::{Device, Tensor};
use burn_podium::PodiumError;
use burn_podium::device::{default_device, device_from_name};

fn config_error(name: &str) -> (String, String, String) {
    match device_from_name(name) {
        Err(PodiumError::Config { key, value, reason }) => (key, value, reason),
        other => panic!("{name}: expected a config error, got {other:?}"),
    }
}

#[test]
fn unknown_names_are_typed_errors_that_list_the_names() {
    for name in ["gpu", "wgpu:tpu", "wgpu:gpu:x", "cuda:one", "vulkan:0"] {
        let (key, value, reason) = config_error(name);
        assert_eq!(key, "device");
        assert_eq!(value, name);
        assert!(
            reason.contains("wgpu:cpu") && reason.contains("vulkan") && reason.contains("flex"),
            "{name}: {reason}"
        );
    }
}

#[cfg(feature = "flex")]
#[test]
fn flex_names_and_the_default() {
    assert_eq!(device_from_name(" CPU ").unwrap(), Device::flex());
    assert_eq!(device_from_name("flex").unwrap(), Device::flex());
    assert_eq!(device_from_name("auto").unwrap(), default_device());
}

#[cfg(not(feature = "wgpu"))]
#[test]
fn wgpu_names_need_the_wgpu_feature() {
    for name in ["wgpu", "wgpu:cpu", "wgpu:gpu:1"] {
        let (_, value, reason) = config_error(name);
        assert_eq!(value, name);
        assert!(reason.contains("`wgpu` feature"), "{reason}");
    }
    assert_eq!(default_device(), Device::flex());
}

#[cfg(not(feature = "vulkan"))]
#[test]
fn vulkan_needs_the_vulkan_feature() {
    let (_, value, reason) = config_error("vulkan");
    assert_eq!(value, "vulkan");
    assert!(reason.contains("`vulkan` feature"), "{reason}");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_needs_the_cuda_feature() {
    let (_, value, reason) = config_error("cuda:1");
    assert_eq!(value, "cuda:1");
    assert!(reason.contains("`cuda` feature"), "{reason}");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_names_map_to_wgpu_device_kinds() {
    use burn::tensor::DeviceKind;
    assert_eq!(
        device_from_name("wgpu").unwrap(),
        Device::wgpu(DeviceKind::DefaultDevice)
    );
    assert_eq!(
        device_from_name("WGPU:CPU").unwrap(),
        Device::wgpu(DeviceKind::Cpu)
    );
    assert_eq!(
        device_from_name("wgpu:gpu").unwrap(),
        Device::wgpu(DeviceKind::DiscreteGpu(0))
    );
    assert_eq!(
        device_from_name("wgpu:gpu:2").unwrap(),
        Device::wgpu(DeviceKind::DiscreteGpu(2))
    );
    // A software adapter is never the default: a discrete GPU or flex.
    let d = default_device();
    assert!(
        d == Device::wgpu(DeviceKind::DiscreteGpu(0)) || d == Device::flex(),
        "{d:?}"
    );
}

/// In the wgpu test mode, one elementwise kernel, one reduction and one matmul on the device.
#[test]
fn the_test_device_computes() {
    let d = crate::test_device();
    let a = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &d);
    let b = Tensor::<2>::from_floats([[0.5, -1.0], [2.0, 0.25]], &d);
    let sum: Vec<f32> = (a.clone() + b.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(sum, vec![1.5, 1.0, 5.0, 4.25]);
    let mm: Vec<f32> = a.clone().matmul(b).into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(mm, vec![4.5, -0.5, 9.5, -2.0]);
    let total: Vec<f32> = a.sum().into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(total, vec![10.0]);
}
