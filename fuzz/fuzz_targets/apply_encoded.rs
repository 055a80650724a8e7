//! `Pipeline::apply_encoded`: encoded bytes decoded and augmented, behind a leading
//! `random_resized_crop` (partial PNG decoding) or another first transform (whole decoding).
//! The first byte picks the pipeline and the seed.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use burn_podium::augment::{Pipeline, PipelineConfig};
use libfuzzer_sys::fuzz_target;

fn pipelines() -> &'static [Pipeline; 2] {
    static PIPELINES: OnceLock<[Pipeline; 2]> = OnceLock::new();
    PIPELINES.get_or_init(|| {
        let build = |json: &str| PipelineConfig::from_json(json).unwrap().init().unwrap();
        [
            build(
                r#"{"transforms": [{"name": "random_resized_crop", "size": [12, 10]},
                                   {"name": "horizontal_flip"}]}"#,
            ),
            build(
                r#"{"transforms": [{"name": "resize", "size": [9, 9]},
                                   {"name": "center_crop", "size": [8, 8]}]}"#,
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let pipeline = &pipelines()[(pick & 1) as usize];
    let shape = if pick & 1 == 0 {
        [3, 12, 10]
    } else {
        [3, 8, 8]
    };
    if let Ok(views) = pipeline.apply_encoded(bytes, Path::new("fuzz.img"), pick as u64, 0, 1) {
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].shape(), shape);
    }
});
