//! PyTorch checkpoint bytes (`torch.save` zip or legacy pickle) through `load_weights` into a
//! tiny `SimpleCnn`: a loaded model or a typed error.
#![no_main]

use std::sync::OnceLock;

use burn_podium::model::{LoadSpec, SimpleCnnConfig, load_weights};
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
    let file = dir.join("weights.pth");
    std::fs::write(&file, data).unwrap();
    let device = burn_podium::device::default_device();
    let model = SimpleCnnConfig::new(2)
        .with_in_channels(1)
        .with_width(1)
        .init(&device)
        .unwrap();
    let _ = load_weights(model, &file, &LoadSpec::default());
});
