//! Augmentation pipeline JSON through `PipelineConfig::from_json` and `init`; a pipeline that
//! builds and keeps a small 3x16x16 input small is applied to it.
#![no_main]

use burn_podium::augment::{Depth, Image, PipelineConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = PipelineConfig::from_json(text) else {
        return;
    };
    let Ok(pipeline) = config.init() else {
        return;
    };
    let Ok(shape) = pipeline.output_shape([3, 16, 16]) else {
        return;
    };
    if shape.iter().product::<usize>() <= 3 * 64 * 64 {
        let img = Image::new(vec![0.25; 3 * 16 * 16], [3, 16, 16], Depth::F32);
        for view in pipeline.apply(img, 7, 0, 3) {
            assert_eq!(view.shape(), shape);
        }
    }
});
