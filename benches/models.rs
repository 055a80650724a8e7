//! ResNet-18 and EfficientNet-B0 on CPU: inference at 224x224 with a batch of 32, and one
//! ResNet-18 training step (forward, backward, SGD update) with a batch of 32 at 224x224, plus
//! an EMA update of the ResNet-18 weights (the share of a step issue "optimizers" asks about).
//! `benches/compare_models.py` times torchvision / timm on the same shapes.
//!
//! ```sh
//! cargo bench --bench models && python3 benches/compare_models.py
//! ```

use std::time::Duration;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Distribution, Int, Tensor};
use burn::train::TrainStep;
use burn_podium::average::ModelEmaConfig;
use burn_podium::learner::Classification;
use burn_podium::loader::ClassificationBatch;
use burn_podium::model::{EfficientNetConfig, ImageClassifier, ResNetConfig};
use burn_podium::optim::SgdConfig;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

// The pooling allocator README "Memory" tells a user's binary to set (the `podium` binary and
// the examples do): without it glibc returns each step's large temporaries to the system and
// faults them back in on the next step (BENCHMARKS.md "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 32;

fn images(device: &Device) -> Tensor<4> {
    Tensor::random([BATCH, 3, 224, 224], Distribution::Normal(0.0, 1.0), device)
}

fn inference(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let device = Device::default();
    let x = images(&device);
    let mut group = c.benchmark_group("inference_224_b32");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));
    let resnet = ResNetConfig::new(18).init(&device).expect("resnet");
    group.bench_function("resnet18", |b| {
        b.iter(|| std::hint::black_box(resnet.forward(x.clone()).into_data()))
    });
    let effnet = EfficientNetConfig::new(0).init(&device).expect("effnet");
    group.bench_function("efficientnet_b0", |b| {
        b.iter(|| std::hint::black_box(effnet.forward(x.clone()).into_data()))
    });
    group.finish();
}

fn training(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let device = Device::default();
    let ad = device.clone().autodiff();
    let model = ResNetConfig::new(18).init(&device).expect("resnet");
    let model = Classification::with_cross_entropy(model).train().fork(&ad);
    let batch = ClassificationBatch {
        images: images(&ad),
        targets: Tensor::<1, Int>::random([BATCH], Distribution::Uniform(0.0, 1000.0), &ad),
        indices: (0..BATCH).collect(),
        mix: None,
    };
    let mut optim: ModuleOptimizer = SgdConfig::new()
        .with_momentum(0.9)
        .init()
        .expect("sgd")
        .into();
    let mut group = c.benchmark_group("train_step_resnet18_224_b32");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("sgd_step", |b| {
        b.iter(|| {
            let out = TrainStep::step(&model, batch.clone());
            std::hint::black_box(model.clone().optimize(&mut optim, 0.01.into(), out.grads))
        })
    });
    let mut ema = ModelEmaConfig::v3(0.999).init(&model.model).expect("ema");
    group.bench_function("ema_update_only", |b| {
        b.iter(|| std::hint::black_box(ema.step(&model.model)))
    });
    group.finish();
}

criterion_group!(benches, inference, training);
criterion_main!(benches);
