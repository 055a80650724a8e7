//! Data-layer throughput: decoding photos, and one epoch of the loader over the embedded digits.
//!
//! ```sh
//! cargo bench --bench data
//! ```

use std::path::Path;

use burn::data::dataloader::DataLoader;
use burn_podium::augment::Normalize;
use burn_podium::codec::{DecodeOptions, decode_file};
use burn_podium::data::{ImageDataset, digits};
use burn_podium::loader::{ClassificationBatcher, ImageLoader};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn photos() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/images");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

fn decode(c: &mut Criterion) {
    let files = photos();
    let options = DecodeOptions::rgb(224, 224);
    let mut group = c.benchmark_group("decode_resize_224");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.bench_function("six_photos", |b| {
        b.iter(|| {
            for f in &files {
                std::hint::black_box(decode_file(f, &options).expect("decode"));
            }
        })
    });
    group.finish();
}

fn loader(c: &mut Criterion) {
    let data = digits().expect("digits");
    let n = data.len();
    let loader = ImageLoader::new(data, ClassificationBatcher::new(Normalize::unit(1)), 64)
        .expect("loader")
        .shuffle(0);
    let mut group = c.benchmark_group("loader_epoch");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("digits_batch64", |b| {
        b.iter(|| {
            for batch in loader.iter() {
                std::hint::black_box(batch.expect("batch"));
            }
        })
    });
    let files = photos();
    let labels = vec![Some(0); files.len()];
    let folder = ImageDataset::from_files("photos", files, labels, vec!["photo".into()])
        .expect("dataset")
        .with_decode(DecodeOptions::rgb(224, 224));
    let photos = ImageLoader::new(folder, ClassificationBatcher::new(Normalize::imagenet()), 6)
        .expect("loader");
    group.throughput(Throughput::Elements(6));
    group.bench_function("photos_224_batch6", |b| {
        b.iter(|| {
            for batch in photos.iter() {
                std::hint::black_box(batch.expect("batch"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode, loader);
criterion_main!(benches);
