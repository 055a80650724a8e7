//! Forward + backward of each loss on a `[256, 1000]` batch (the issue's size), on the default
//! device with autodiff. `benches/compare_losses.py` times the same ops in PyTorch and prints
//! both, with the ratio.
//!
//! ```sh
//! cargo bench --bench losses
//! python3 benches/compare_losses.py      # needs torch and timm-free numpy; reads criterion's output
//! ```

use burn::tensor::{Device, Distribution, Int, Tensor};
use burn_podium::loss::*;
use criterion::{Criterion, criterion_group, criterion_main};

// The pooling allocator README "Memory" tells a user's binary to set (the `podium` binary and
// the examples do): without it glibc returns each step's large temporaries to the system and
// faults them back in on the next step (BENCHMARKS.md "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const B: usize = 256;
const C: usize = 1000;

fn setup(device: &Device) -> (Tensor<2>, Tensor<1, Int>, Tensor<2>) {
    device.seed(0);
    let logits = Tensor::<2>::random([B, C], Distribution::Normal(0.0, 3.0), device);
    let targets = Tensor::<1, Int>::random([B], Distribution::Uniform(0.0, C as f64), device);
    let multi = Tensor::<2>::random([B, C], Distribution::Bernoulli(0.01), device);
    (logits, targets, multi)
}

fn bench_loss(
    c: &mut Criterion,
    name: &str,
    logits: &Tensor<2>,
    f: impl Fn(Tensor<2>) -> Tensor<1>,
) {
    c.bench_function(&format!("loss_fwd_bwd/{name}"), |b| {
        b.iter(|| {
            let x = logits.clone().require_grad();
            let loss = f(x.clone());
            let grads = loss.backward();
            std::hint::black_box(x.grad(&grads).expect("gradient"))
        })
    });
}

fn losses(c: &mut Criterion) {
    burn_podium::util::keep_freed_memory();
    let device = Device::default().autodiff();
    let (logits, y, t) = setup(&device);
    let soft = burn::tensor::activation::softmax(logits.clone().detach() * 0.5, 1);

    let ce = CrossEntropyLossConfig::new().init().unwrap();
    bench_loss(c, "cross_entropy", &logits, |x| ce.forward(x, y.clone()));
    let ce_ls = CrossEntropyLossConfig::new()
        .with_label_smoothing(0.1)
        .init()
        .unwrap();
    bench_loss(c, "cross_entropy_smoothing", &logits, |x| {
        ce_ls.forward(x, y.clone())
    });
    bench_loss(c, "soft_target_cross_entropy", &logits, |x| {
        SoftTargetCrossEntropy.forward(x, soft.clone())
    });
    let bce = BceWithLogitsLossConfig::new().init().unwrap();
    bench_loss(c, "bce_with_logits", &logits, |x| bce.forward(x, t.clone()));
    let sfl = SigmoidFocalLossConfig::new().init().unwrap();
    bench_loss(c, "sigmoid_focal", &logits, |x| sfl.forward(x, t.clone()));
    let mfl = SoftmaxFocalLossConfig::new().init().unwrap();
    bench_loss(c, "softmax_focal", &logits, |x| mfl.forward(x, y.clone()));
    let counts: Vec<usize> = (0..C)
        .map(|i| 1 + (1000.0 * 0.99f64.powi(i as i32)) as usize)
        .collect();
    let cb = ClassBalancedLossConfig::new(counts).init().unwrap();
    bench_loss(c, "class_balanced_focal", &logits, |x| {
        cb.forward(x, y.clone())
    });
    let topk = TopKLossConfig::new(B / 2).init().unwrap();
    bench_loss(c, "topk", &logits, |x| topk.forward(x, y.clone()));
    let poly = Poly1CrossEntropyConfig::new().init().unwrap();
    bench_loss(c, "poly1_cross_entropy", &logits, |x| {
        poly.forward(x, y.clone())
    });
    let asl = AsymmetricLossMultiLabelConfig::new().init().unwrap();
    bench_loss(c, "asymmetric_multilabel", &logits, |x| {
        asl.forward(x, t.clone())
    });
    let asl1 = AsymmetricLossSingleLabelConfig::new().init().unwrap();
    bench_loss(c, "asymmetric_single_label", &logits, |x| {
        asl1.forward(x, y.clone())
    });
    let jsd = JsdCrossEntropyConfig::new().init().unwrap();
    let y3 = y.clone().narrow(0, 0, B / 3);
    let l3 = logits.clone().slice([0..3 * (B / 3), 0..C]);
    bench_loss(c, "jsd_cross_entropy", &l3, |x| jsd.forward(x, y3.clone()));
    let kd = KnowledgeDistillationLossConfig::new().init().unwrap();
    // torch's flip copies: the teacher is materialized once, as in benches/compare_losses.py
    let teacher = Tensor::<2>::from_data(logits.clone().detach().flip([0]).into_data(), &device);
    bench_loss(c, "knowledge_distillation", &logits, |x| {
        kd.forward(x, teacher.clone(), y.clone()).loss
    });
    let f1 = SoftFBetaLossConfig::new().init().unwrap();
    bench_loss(c, "soft_f1", &logits, |x| f1.forward(x, t.clone()));
    let embed = Tensor::<2>::random([B, 512], Distribution::Normal(0.0, 1.0), &device);
    let arc = MarginHeadConfig::arcface(512, C).init(&device).unwrap();
    bench_loss(c, "arcface_512d", &embed, |x| arc.loss(x, y.clone()));
    let cos = MarginHeadConfig::cosface(512, C).init(&device).unwrap();
    bench_loss(c, "cosface_512d", &embed, |x| cos.loss(x, y.clone()));
    // Lovasz hinge on 256 x 1000 pixel logits seen as 16 images of 100 x 160, per image
    let masks = Tensor::<2>::random([B, C], Distribution::Bernoulli(0.3), &device)
        .int()
        .reshape([16, 100, 160]);
    bench_loss(c, "lovasz_hinge_per_image", &logits, |x| {
        lovasz_hinge(x.reshape([16, 100, 160]), masks.clone(), true)
    });
}

criterion_group!(benches, losses);
criterion_main!(benches);
