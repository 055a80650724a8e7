//! podium's flex convolution kernels (`kernel::conv`) against Burn 0.22's, in one build
//! (`kernel::conv::set_fast_conv2d` switches between them): ResNet-18 and EfficientNet-B0
//! training steps at 3x112x112 with a batch of 32 (forward, cross-entropy, backward, SGD with
//! momentum) with Burn's convolutions and batch norms, podium's convolutions and Burn's batch
//! norms (`kernel::batch_norm::set_fast_batch_norm(false)`), podium's convolutions and fused
//! batch norms, and the same in `bf16-mixed` precision (`podium_bf16`); and ResNet-18's
//! convolution shapes at that size one by one (forward only, forward with the weight gradient,
//! forward with the input gradient; Burn's op, podium's kernels, podium's in a `bf16` autocast
//! region), and ResNet-18's stem max pool with podium's and Burn's
//! kernels (`max_pool_resnet18_stem_b32`). `benches/compare_conv.py` times PyTorch on the same
//! steps.
//!
//! ```sh
//! cargo bench --bench conv && /work/venv-torch/bin/python benches/compare_conv.py
//! ```

use std::time::Duration;

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2dConfig;
use burn::optim::ModuleOptimizer;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, FloatDType, Int, Tensor};
use burn::train::TrainStep;
use burn_podium::kernel::autocast::autocast;
use burn_podium::kernel::batch_norm::set_fast_batch_norm;
use burn_podium::kernel::conv::{conv2d_with, set_fast_conv2d};
use burn_podium::kernel::max_pool::max_pool2d;
use burn_podium::learner::{Classification, Precision};
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
const SIZE: usize = 112;

/// `(name, C_in, C_out, input side, kernel, stride, padding)` of ResNet-18 at 112x112.
const LAYERS: [(&str, usize, usize, usize, usize, usize, usize); 6] = [
    ("stem_7x7s2_3to64_112", 3, 64, 112, 7, 2, 3),
    ("l1_3x3_64_28", 64, 64, 28, 3, 1, 1),
    ("l2_3x3_128_14", 128, 128, 14, 3, 1, 1),
    ("l3_3x3_256_7", 256, 256, 7, 3, 1, 1),
    ("l4_3x3_512_4", 512, 512, 4, 3, 1, 1),
    ("l2_down_1x1s2_64to128_28", 64, 128, 28, 1, 2, 0),
];

fn layers(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let ad = Device::default().autodiff();
    let normal = Distribution::Normal(0.0, 1.0);
    let mut group = c.benchmark_group("conv_layers_resnet18_112_b32");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for (name, cin, cout, side, k, s, p) in LAYERS {
        let x = Tensor::<4>::random([BATCH, cin, side, side], normal, &ad);
        let w = Tensor::<4>::random([cout, cin, k, k], normal, &ad);
        let options = ConvOptions::new([s, s], [p, p], [1, 1], 1);
        // Burn's op, podium's kernels, podium's kernels in a bf16 autocast region (bfloat16
        // gemm operands, im2col packed straight into the gemm panels for the forward and weight
        // gradient where the CPU has AVX512-BF16)
        for (which, fast, low) in [
            ("burn", false, None),
            ("podium", true, None),
            ("podium_bf16", true, Some(FloatDType::BF16)),
        ] {
            let run = |xg: bool, wg: bool| {
                set_fast_conv2d(fast);
                let x = if xg {
                    x.clone().require_grad()
                } else {
                    x.clone()
                };
                let w = if wg {
                    w.clone().require_grad()
                } else {
                    w.clone()
                };
                let y = autocast(low, || conv2d_with(x, w, None, options.clone()));
                if xg || wg {
                    let grads = y.sum().backward();
                    std::hint::black_box(grads);
                } else {
                    std::hint::black_box(y.into_data());
                }
            };
            group.bench_function(format!("{name}/{which}/forward"), |b| {
                b.iter(|| run(false, false))
            });
            group.bench_function(format!("{name}/{which}/forward_wgrad"), |b| {
                b.iter(|| run(false, true))
            });
            group.bench_function(format!("{name}/{which}/forward_xgrad"), |b| {
                b.iter(|| run(true, false))
            });
        }
    }
    set_fast_conv2d(true);
    group.finish();
}

/// ResNet-18's stem max pool (3x3, stride 2, padding 1) after the stem convolution, batch 32:
/// `podium` (`kernel::max_pool::max_pool2d`) against `burn` (`MaxPool2d::forward`), inference
/// on the 112x112 map of a 224x224 input, and forward + backward on the 56x56 map of the 112x112
/// training input.
fn pools(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let ad = Device::default().autodiff();
    let normal = Distribution::Normal(0.0, 1.0);
    let pool = MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init();
    let mut group = c.benchmark_group("max_pool_resnet18_stem_b32");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    let map112 = Tensor::<4>::random([BATCH, 64, 112, 112], normal, &ad).inner();
    let map56 = Tensor::<4>::random([BATCH, 64, 56, 56], normal, &ad);
    for fast in [false, true] {
        let which = if fast { "podium" } else { "burn" };
        let run = |x: Tensor<4>| {
            if fast {
                max_pool2d(&pool, x)
            } else {
                pool.forward(x)
            }
        };
        group.bench_function(format!("inference_224/{which}"), |b| {
            b.iter(|| std::hint::black_box(run(map112.clone()).into_data()))
        });
        group.bench_function(format!("train_112/{which}"), |b| {
            b.iter(|| {
                let x = map56.clone().require_grad();
                std::hint::black_box(run(x).sum().backward())
            })
        });
    }
    group.finish();
}

fn step_of<M: ImageClassifier>(c: &mut Criterion, label: &str, model: M) {
    let device = Device::default();
    let ad = device.clone().autodiff();
    let model = Classification::with_cross_entropy(model).train().fork(&ad);
    let batch = ClassificationBatch {
        images: Tensor::random([BATCH, 3, SIZE, SIZE], Distribution::Normal(0.0, 1.0), &ad),
        targets: Tensor::<1, Int>::random([BATCH], Distribution::Uniform(0.0, 1000.0), &ad),
        indices: (0..BATCH).collect(),
        mix: None,
    };
    let mut optim: ModuleOptimizer = SgdConfig::new()
        .with_momentum(0.9)
        .init()
        .expect("sgd")
        .into();
    let mut group = c.benchmark_group(format!("train_step_{label}_112_b32"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));
    // Burn's convolutions and batch norms; podium's convolutions with Burn's batch norms;
    // podium's convolutions and fused batch norms (the default); the same in a bf16 autocast
    // region (`precision = "bf16-mixed"`: the convolutions' gemms in bf16 with AVX512-BF16)
    for (label, fast_conv, fast_bn, precision) in [
        ("burn", false, false, Precision::F32),
        ("podium_conv_burn_bn", true, false, Precision::F32),
        ("podium", true, true, Precision::F32),
        ("podium_bf16", true, true, Precision::Bf16Mixed),
    ] {
        let model = model.clone().with_precision(precision, None);
        group.bench_function(label, |b| {
            set_fast_conv2d(fast_conv);
            set_fast_batch_norm(fast_bn);
            b.iter(|| {
                let out = TrainStep::step(&model, batch.clone());
                std::hint::black_box(model.clone().optimize(&mut optim, 0.01.into(), out.grads))
            })
        });
    }
    set_fast_conv2d(true);
    set_fast_batch_norm(true);
    group.finish();
}

fn steps(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let device = Device::default();
    step_of(
        c,
        "resnet18",
        ResNetConfig::new(18).init(&device).expect("resnet"),
    );
    step_of(
        c,
        "efficientnet_b0",
        EfficientNetConfig::new(0).init(&device).expect("effnet"),
    );
}

criterion_group!(benches, layers, pools, steps);
criterion_main!(benches);
