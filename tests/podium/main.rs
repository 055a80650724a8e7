//! podium's integration tests, in one binary (one link of burn, not one per file).
//!
//! The parity suites (losses, mixing, pooling, optimizers, averaging, models) and the Learner
//! tests take their device from [`test_device`]: `PODIUM_TEST_DEVICE=wgpu:cpu` runs them on
//! burn's CubeCL/wgpu code path (README "Backends").

mod augment;
mod augment_ops;
mod averaging;
mod bad_inputs;
mod cli;
mod cross_validation;
mod csv_columns;
mod data_files;
mod devices;
mod eval_crop;
mod examples;
mod exif_orientation;
mod faults;
mod fixtures;
mod fuzz_regressions;
mod infer_tta;
mod interrupt;
mod kernels_asymmetric;
mod kernels_axpby;
mod kernels_bn;
mod kernels_channel;
mod kernels_conv;
mod kernels_focal;
mod kernels_normalize;
mod kernels_pool;
mod kernels_sigmoid;
mod kernels_softmax;
mod kernels_softmax_maps;
mod kill_resume;
mod learner;
mod loader;
mod losses;
mod make_competition;
mod memory;
mod metrics;
mod mixing;
mod models;
mod multi_device;
mod nan_policy;
mod optimizers;
mod pooling;
mod precision;
mod recipe;
mod reference;
mod reference_harness;
mod report;
mod resume;
mod sampling;
mod schedules;
mod splits;
mod weight_decay;

/// The device the parity suites and the Learner tests run on: the `device_from_name` name in
/// `PODIUM_TEST_DEVICE` (e.g. `wgpu`, `wgpu:cpu`; needs the matching cargo feature), else
/// `default_device()` (flex on a machine without a GPU).
///
/// # Panics
/// When `PODIUM_TEST_DEVICE` holds a name `device_from_name` rejects (the message names it).
pub fn test_device() -> burn::tensor::Device {
    match test_device_name() {
        Some(name) => burn_podium::device::device_from_name(&name)
            .unwrap_or_else(|e| panic!("PODIUM_TEST_DEVICE={name}: {e}")),
        None => burn_podium::device::default_device(),
    }
}

/// The device name in `PODIUM_TEST_DEVICE`, if set and not blank ([`test_device`]).
pub fn test_device_name() -> Option<String> {
    std::env::var("PODIUM_TEST_DEVICE")
        .ok()
        .filter(|name| !name.trim().is_empty())
}
