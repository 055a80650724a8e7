//! Throughput of the standard training pipeline: decode, RandomResizedCrop to 224, horizontal
//! flip, ColorJitter(0.4, 0.4, 0.4, 0.1), normalize to a float `C x H x W` buffer, over the six
//! photos of `../shared/data/images` (held in memory as encoded bytes), with 1 and 2 threads.
//! `benches/compare_augment.py` runs the same pipeline in torchvision v2 and albumentations.
//! A second group times the transforms alone, from decoded photos, a third the decoding of each
//! photo alone.
//!
//! ```sh
//! cargo bench --bench augment && python3 benches/compare_augment.py
//! ```

use std::path::{Path, PathBuf};

use burn_podium::augment::functional as F;
use burn_podium::augment::{Pipeline, PipelineConfig};
use burn_podium::codec::{Bitmap, DecodeOptions, decode_bytes};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

/// Images per measured iteration (each photo 8 times).
const ROUNDS: usize = 8;

fn photos() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/images");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).expect("read photo");
            (f, bytes)
        })
        .collect()
}

fn pipeline() -> Pipeline {
    PipelineConfig::from_json(
        r#"{"transforms": [
            {"name": "random_resized_crop", "size": [224, 224]},
            {"name": "horizontal_flip"},
            {"name": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}
        ]}"#,
    )
    .expect("config")
    .init()
    .expect("pipeline")
}

/// One image as the loader makes it: decoded by the pipeline (a PNG only down to the crop's
/// last row), augmented, normalized.
fn one(pipeline: &Pipeline, (path, bytes): &(PathBuf, Vec<u8>), k: u64) -> Vec<f32> {
    let out = pipeline
        .apply_encoded(bytes, path, 7, 0, k)
        .expect("decode")
        .remove(0);
    F::normalize(&out, &[0.485, 0.456, 0.406], &[0.229, 0.224, 0.225]).data
}

fn standard_pipeline(c: &mut Criterion) {
    let files = photos();
    let pipeline = pipeline();
    let mut group = c.benchmark_group("augment_pipeline_224");
    group.throughput(Throughput::Elements((files.len() * ROUNDS) as u64));
    group.sample_size(20);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        group.bench_function(format!("threads_{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    (0..files.len() * ROUNDS)
                        .into_par_iter()
                        .map(|k| one(&pipeline, &files[k % files.len()], k as u64).len())
                        .sum::<usize>()
                })
            })
        });
    }
    group.finish();
    // the JPEG photos alone, whose decoding is where podium and OpenCV are closest
    let jpegs: Vec<_> = files
        .iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "jpg"))
        .cloned()
        .collect();
    let mut group = c.benchmark_group("augment_pipeline_224_jpeg");
    group.throughput(Throughput::Elements((jpegs.len() * ROUNDS) as u64));
    group.sample_size(20);
    group.bench_function("threads_1", |b| {
        b.iter(|| {
            (0..jpegs.len() * ROUNDS)
                .map(|k| one(&pipeline, &jpegs[k % jpegs.len()], k as u64).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// The same transforms from already decoded photos: what the pipeline itself costs.
fn transforms_only(c: &mut Criterion) {
    let decoded: Vec<Bitmap> = photos()
        .iter()
        .map(|(path, bytes)| decode_bytes(bytes, path, &DecodeOptions::default()).expect("decode"))
        .collect();
    let pipeline = pipeline();
    let mut group = c.benchmark_group("augment_transforms_224");
    group.throughput(Throughput::Elements((decoded.len() * ROUNDS) as u64));
    group.sample_size(20);
    group.bench_function("threads_1", |b| {
        b.iter(|| {
            (0..decoded.len() * ROUNDS)
                .map(|k| {
                    let bitmap = &decoded[k % decoded.len()];
                    let out = pipeline.apply_interleaved(bitmap, 7, 0, k as u64).remove(0);
                    F::normalize(&out, &[0.485, 0.456, 0.406], &[0.229, 0.224, 0.225])
                        .data
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

/// Single ops on a 224 x 224 u8 photo crop, to see where the transform chain spends its time.
fn single_ops(c: &mut Criterion) {
    let (path, bytes) = &photos()[2];
    let bitmap = decode_bytes(bytes, path, &DecodeOptions::default()).expect("decode");
    let photo = burn_podium::augment::Image::from_bitmap(&bitmap);
    let small = F::resize(&photo, [224, 224], F::Interpolation::Bilinear, true);
    let mut group = c.benchmark_group("augment_ops_224");
    group.sample_size(30);
    group.bench_function("resize_aa_from_photo", |b| {
        b.iter(|| F::resize(&photo, [224, 224], F::Interpolation::Bilinear, true))
    });
    group.bench_function("adjust_brightness", |b| {
        b.iter(|| F::adjust_brightness(&small, 1.2))
    });
    group.bench_function("adjust_contrast", |b| {
        b.iter(|| F::adjust_contrast(&small, 1.2))
    });
    group.bench_function("adjust_saturation", |b| {
        b.iter(|| F::adjust_saturation(&small, 1.2))
    });
    group.bench_function("adjust_hue", |b| b.iter(|| F::adjust_hue(&small, 0.05)));
    group.finish();
}

/// Decoding alone, one photo at a time (the script times OpenCV's `imdecode` beside it).
fn decode_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("augment_decode");
    group.sample_size(30);
    for (path, bytes) in photos() {
        let name = path.file_name().expect("file name").to_string_lossy();
        group.bench_function(name.replace('.', "_"), |b| {
            b.iter(|| decode_bytes(&bytes, &path, &DecodeOptions::default()).expect("decode"))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    standard_pipeline,
    transforms_only,
    single_ops,
    decode_only
);
criterion_main!(benches);
