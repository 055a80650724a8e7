//! The shared body of the allocator benches (`alloc_system`, `alloc_mimalloc`,
//! `alloc_jemalloc`): one SimpleCnn (width 32) training step on an MNIST-sized batch,
//! 1x28x28, batch 128, AdamW (forward, backward, update). Each bench binary sets its own global
//! allocator, so the three differ only in that.

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Distribution, Int, Tensor};
use burn::train::TrainStep;
use burn_podium::learner::Classification;
use burn_podium::loader::ClassificationBatch;
use burn_podium::model::SimpleCnnConfig;
use burn_podium::optim::AdamWConfig;
use criterion::{Criterion, Throughput};

const BATCH: usize = 128;

/// Benchmarks the step as `train_step_simplecnn_mnist_b128_adamw/<allocator>`.
pub fn mnist_step(c: &mut Criterion, allocator: &str) {
    let device = Device::default();
    let ad = device.clone().autodiff();
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .init(&device)
        .expect("simple cnn");
    let model = Classification::with_cross_entropy(model).train().fork(&ad);
    let batch = ClassificationBatch {
        images: Tensor::random([BATCH, 1, 28, 28], Distribution::Normal(0.0, 1.0), &ad),
        targets: Tensor::<1, Int>::random([BATCH], Distribution::Uniform(0.0, 10.0), &ad),
        indices: (0..BATCH).collect(),
        mix: None,
    };
    let mut optim: ModuleOptimizer = AdamWConfig::new().init().expect("adamw").into();
    let mut model = Some(model);
    let mut group = c.benchmark_group("train_step_simplecnn_mnist_b128_adamw");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(allocator, |b| {
        b.iter(|| {
            let m = model.take().expect("model");
            let out = TrainStep::step(&m, batch.clone());
            model = Some(m.optimize(&mut optim, 1e-3.into(), out.grads));
        })
    });
    group.finish();
}
