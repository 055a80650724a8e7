//! PyTorch checkpoint bytes (`torch.save` zip or legacy pickle) or SafeTensors bytes through
//! `load_weights` into a tiny `SimpleCnn`: a loaded model or a typed error. The first byte picks
//! the format (even: `.pth`, odd: `.safetensors`, the extension `load_weights` goes by); the rest
//! is the file. The model is built once and cloned per input; the file lives in `/dev/shm` when
//! there is one, so an execution costs the parse, not the disk.
#![no_main]

use std::sync::OnceLock;

use burn_podium::model::{LoadSpec, SimpleCnn, SimpleCnnConfig, load_weights};
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
thread_local! {
    static MODEL: SimpleCnn = SimpleCnnConfig::new(2)
        .with_in_channels(1)
        .with_width(1)
        .init(&burn_podium::device::default_device())
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some((&format, body)) = data.split_first() else {
        return;
    };
    let dir = DIR
        .get_or_init(|| tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap())
        .path();
    let file = dir.join(if format % 2 == 0 { "weights.pth" } else { "weights.safetensors" });
    std::fs::write(&file, body).unwrap();
    let model = MODEL.with(SimpleCnn::clone);
    let _ = load_weights(model, &file, &LoadSpec::default());
});
