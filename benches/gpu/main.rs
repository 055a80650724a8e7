//! Training throughput of podium's ResNet-50 and EfficientNet-B0 on a CubeCL device (wgpu or
//! vulkan): synthetic images, cross-entropy, SGD with momentum 0.9, `--warmup` untimed steps
//! (JIT compilation, autotune) then `--steps` timed ones, the device synchronized after every
//! step (`benches/gpu/torch_bench.py` does the same on PyTorch's side). Prints one JSON line per
//! model. `benches/gpu/run.sh` builds it with `--features wgpu` and with `--features vulkan`
//! and runs it beside PyTorch; see BENCHMARKS.md "GPU".
//!
//! ```sh
//! cargo bench --features wgpu --bench gpu -- --device wgpu --models resnet50,efficientnet_b0
//! ```

use std::time::Instant;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Distribution, Int, Tensor};
use burn::train::TrainStep;
use burn_podium::device::device_from_name;
use burn_podium::learner::{Classification, Precision};
use burn_podium::loader::ClassificationBatch;
use burn_podium::model::{AnyModel, ModelConfig};
use burn_podium::optim::SgdConfig;
use clap::Parser;

/// Options (`--help` lists them).
#[derive(Parser, Debug)]
#[command(about = "podium training img/s on a CubeCL device (BENCHMARKS.md \"GPU\")")]
struct Args {
    /// A `device_from_name` name: `wgpu` (wgpu's best adapter), `wgpu:gpu:0`, `wgpu:cpu`
    /// (lavapipe), `vulkan`.
    #[arg(long, default_value = "wgpu")]
    device: String,
    /// Comma-separated `ModelConfig::from_name` names.
    #[arg(long, default_value = "resnet50,efficientnet_b0")]
    models: String,
    /// Image side in pixels.
    #[arg(long, default_value_t = 224)]
    size: usize,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Untimed steps first (kernel compilation and autotune happen here).
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Classes of the head (ImageNet's 1000).
    #[arg(long, default_value_t = 1000)]
    classes: usize,
    /// Training precision: `f32`, `f16-mixed` or `bf16-mixed` (`LearnerConfig::precision`:
    /// autocast convolutions and linear layers, f16 with the dynamic loss scaler).
    #[arg(long, default_value = "f32")]
    precision: String,
    /// A label for the build (`wgpu`, `vulkan`) copied into the output.
    #[arg(long, default_value = "")]
    build: String,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn batch(args: &Args, device: &Device) -> ClassificationBatch {
    let n = args.batch;
    ClassificationBatch {
        images: Tensor::random(
            [n, 3, args.size, args.size],
            Distribution::Normal(0.0, 1.0),
            device,
        ),
        targets: Tensor::<1, Int>::random(
            [n],
            Distribution::Uniform(0.0, args.classes as f64),
            device,
        ),
        indices: (0..n).collect(),
        mix: None,
    }
}

/// Seconds per timed step of `name` (mean over `args.steps`, after `args.warmup`).
fn time_model(
    args: &Args,
    name: &str,
    precision: Precision,
    device: &Device,
) -> Result<f64, String> {
    let ad = device.clone().autodiff();
    let model = ModelConfig::from_name(name, args.classes)
        .and_then(|c| c.init(device))
        .map_err(|e| format!("model {name}: {e}"))?;
    precision.check_device(device).map_err(|e| e.to_string())?;
    let mut model = Classification::with_cross_entropy(model)
        .with_precision(precision, None)
        .train()
        .fork(&ad);
    let mut optim: ModuleOptimizer = SgdConfig::new()
        .with_momentum(0.9)
        .init()
        .map_err(|e| e.to_string())?
        .into();
    let data = batch(args, &ad);
    let sync = |d: &Device| d.sync().map_err(|e| format!("device sync: {e:?}"));
    let mut step = |model: Classification<AnyModel>| {
        // autocast and the loss scale inside the step, unscaling in `optimize`
        let out = TrainStep::step(&model, data.clone());
        model.optimize(&mut optim, 0.01.into(), out.grads)
    };
    for _ in 0..args.warmup {
        model = step(model);
        sync(&ad)?;
    }
    let start = Instant::now();
    for _ in 0..args.steps {
        model = step(model);
        sync(&ad)?;
    }
    Ok(start.elapsed().as_secs_f64() / args.steps.max(1) as f64)
}

fn main() {
    let args = Args::parse();
    let precision: Precision = args.precision.parse().unwrap_or_else(|e| {
        eprintln!("gpu bench: {e}");
        std::process::exit(2)
    });
    if args.steps == 0 || args.batch == 0 || args.size < 32 {
        eprintln!("gpu bench: --steps and --batch must be positive and --size at least 32");
        std::process::exit(2);
    }
    let device = device_from_name(&args.device).unwrap_or_else(|e| {
        eprintln!("gpu bench: {e}");
        std::process::exit(2)
    });
    for name in args
        .models
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match time_model(&args, name, precision, &device) {
            Ok(seconds) => println!(
                "{{\"side\":\"podium\",\"build\":{:?},\"device\":{:?},\"model\":{:?},\
                 \"precision\":{:?},\"size\":{},\"batch\":{},\"steps\":{},\
                 \"step_ms\":{:.3},\"img_per_s\":{:.2}}}",
                args.build,
                args.device,
                name,
                precision.name(),
                args.size,
                args.batch,
                args.steps,
                seconds * 1e3,
                args.batch as f64 / seconds
            ),
            Err(e) => {
                eprintln!("gpu bench: {e}");
                std::process::exit(1);
            }
        }
    }
}
