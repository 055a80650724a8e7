//! Per-step overhead of SAM and of an EMA update, against a plain training step, on the
//! SimpleCnn (width 32) with a batch of 64 RGB 32x32 images (CIFAR-sized); and the SimpleCnn's
//! MNIST-shaped training step (batch 128 of 1x28x28, AdamW) that `benches/compare_models.py
//! --table` sets beside PyTorch (BENCHMARKS.md "CPU training against PyTorch").
//!
//! ```sh
//! cargo bench --bench steps
//! ```

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Int, Tensor};
use burn::train::TrainStep;
use burn_podium::average::ModelEmaConfig;
use burn_podium::learner::Classification;
use burn_podium::loader::ClassificationBatch;
use burn_podium::model::SimpleCnnConfig;
use burn_podium::optim::{AdamWConfig, OptimizerConfig, SamConfig, SgdConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

// The pooling allocator README "Memory" tells a user's binary to set (the `podium` binary and
// the examples do): without it glibc returns each step's large temporaries to the system and
// faults them back in on the next step (BENCHMARKS.md "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn batch(device: &Device) -> ClassificationBatch {
    ClassificationBatch {
        images: Tensor::random([64, 3, 32, 32], Distribution::Normal(0.0, 1.0), device),
        targets: Tensor::<1, Int>::random([64], Distribution::Uniform(0.0, 10.0), device),
        indices: (0..64).collect(),
        mix: None,
    }
}

fn steps(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let device = Device::default();
    let ad = device.clone().autodiff();
    let model = Classification::with_cross_entropy(
        SimpleCnnConfig::new(10).init(&device).expect("simple cnn"),
    )
    .train()
    .fork(&ad);
    let b = batch(&ad);
    let mut optim: ModuleOptimizer = SgdConfig::new()
        .with_momentum(0.9)
        .init()
        .expect("sgd")
        .into();
    let mut group = c.benchmark_group("train_step_simplecnn_b64_32px");
    group.sample_size(20);
    group.bench_function("plain", |bench| {
        bench.iter(|| {
            let out = TrainStep::step(&model, b.clone());
            std::hint::black_box(model.clone().optimize(&mut optim, 0.01.into(), out.grads))
        })
    });
    let sam = SamConfig::new().init().expect("sam");
    group.bench_function("sam", |bench| {
        bench.iter(|| {
            let first = model.forward_train(b.clone());
            let grads = GradientsParams::from_grads(first.loss.backward(), &model);
            let perturbed = sam.perturb(&model, &grads);
            let second = perturbed.forward_train(b.clone());
            let grads2 = GradientsParams::from_grads(second.loss.backward(), &perturbed);
            std::hint::black_box(optim.step(0.01, model.clone(), grads2))
        })
    });
    let mut ema = ModelEmaConfig::v3(0.999).init(&model.model).expect("ema");
    group.bench_function("ema_update_only", |bench| {
        bench.iter(|| std::hint::black_box(ema.step(&model.model)))
    });
    group.finish();
}

/// One training step (forward, cross-entropy, backward, AdamW) of the SimpleCnn (width 32) on a
/// batch of 128 grayscale 28x28 images: issue 16's MNIST-shaped workload.
fn mnist_step(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    const B: usize = 128;
    let device = Device::default();
    let ad = device.clone().autodiff();
    let model = Classification::with_cross_entropy(
        SimpleCnnConfig::new(10)
            .with_in_channels(1)
            .init(&device)
            .expect("simple cnn"),
    )
    .train()
    .fork(&ad);
    let batch = ClassificationBatch {
        images: Tensor::random([B, 1, 28, 28], Distribution::Normal(0.0, 1.0), &ad),
        targets: Tensor::<1, Int>::random([B], Distribution::Uniform(0.0, 10.0), &ad),
        indices: (0..B).collect(),
        mix: None,
    };
    let mut optim = OptimizerConfig::AdamW(AdamWConfig::new())
        .init(None)
        .expect("adamw");
    let mut group = c.benchmark_group("train_step_simplecnn_28_b128_adamw");
    group.sample_size(20);
    group.throughput(Throughput::Elements(B as u64));
    group.bench_function("podium", |bench| {
        bench.iter(|| {
            let out = TrainStep::step(&model, batch.clone());
            std::hint::black_box(model.clone().optimize(&mut optim, 1e-3.into(), out.grads))
        })
    });
    group.finish();
}

criterion_group!(benches, steps, mnist_step);
criterion_main!(benches);
