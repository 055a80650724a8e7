//! Every case of `pooling_and_misc.json`: timm's avgmax / catavgmax pooling, GeM,
//! Gumbel-softmax (soft and straight-through, with gradients) and convolution output sizes.

use burn::tensor::Tensor;
use burn_podium::model::{GlobalPool, adaptive_avgmax_pool2d, adaptive_catavgmax_pool2d, gem};
use burn_podium::util::{conv2d_output_size, gumbel_softmax};

use crate::reference::{Case, load_topic};

fn size(case: &Case) -> [usize; 2] {
    let v = case.params["output_size"].as_array().unwrap();
    [
        v[0].as_u64().unwrap() as usize,
        v[1].as_u64().unwrap() as usize,
    ]
}

#[test]
fn pooling_matches_timm() {
    let topic = load_topic("pooling_and_misc.json");
    let d = crate::test_device();
    for case in topic.cases_of("adaptive_avgmax_pool2d") {
        case.assert_tensor(
            "y",
            adaptive_avgmax_pool2d(case.input("x").float(&d), size(case)),
        );
    }
    for case in topic.cases_of("adaptive_catavgmax_pool2d") {
        case.assert_tensor(
            "y",
            adaptive_catavgmax_pool2d(case.input("x").float(&d), size(case)),
        );
    }
    for case in topic.cases_of("gem") {
        case.assert_tensor(
            "y",
            gem(case.input("x").float(&d), case.f64("p"), case.f64("eps")),
        );
    }
    // the head flattens to features; catavgmax doubles them
    let x = Tensor::<4>::ones([2, 3, 4, 4], &d);
    assert_eq!(GlobalPool::CatAvgMax.forward(x.clone()).dims(), [2, 6]);
    assert_eq!(GlobalPool::Gem { p: 3.0 }.forward(x).dims(), [2, 3]);
}

#[test]
fn gumbel_softmax_matches_torch_with_the_straight_through_gradient() {
    let topic = load_topic("pooling_and_misc.json");
    let d = crate::test_device().autodiff();
    for case in topic.cases_of("gumbel_softmax") {
        let logits = case.input("logits").float::<2>(&d).require_grad();
        let u = case.input("u").float::<2>(&d);
        let w = case.input("w").float::<2>(&d);
        let (y, g) = gumbel_softmax(logits.clone(), u, case.f64("tau"), case.bool("hard"));
        case.assert_tensor("gumbels", g);
        let grads = (y.clone() * w).sum().backward();
        case.assert_tensor("expected_grad_logits", logits.grad(&grads).unwrap());
        case.assert_tensor("y", y);
    }
}

#[test]
fn conv_output_sizes_match_torch() {
    let topic = load_topic("pooling_and_misc.json");
    for case in topic.cases_of("conv2d_output_size") {
        let table = case.input("table").usizes();
        let out: Vec<f64> = table
            .chunks(5)
            .map(|r| conv2d_output_size(r[0], r[1], r[2], r[3], r[4]).expect("valid row") as f64)
            .collect();
        case.assert_close("out", &out, &[out.len()]);
    }
    assert_eq!(conv2d_output_size(3, 5, 0, 1, 1), None);
    assert_eq!(conv2d_output_size(8, 3, 1, 0, 1), None);
}

#[test]
fn simple_cnn_takes_a_dual_pooling_head() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    use burn_podium::model::{ImageClassifier, SimpleCnnConfig};
    let d = crate::test_device();
    let m = SimpleCnnConfig::new(4)
        .with_in_channels(1)
        .with_width(8)
        .with_pool(GlobalPool::CatAvgMax)
        .init(&d)
        .unwrap();
    let x = Tensor::<4>::ones([2, 1, 8, 8], &d);
    assert_eq!(m.forward_features(x.clone()).dims(), [2, 32]);
    assert_eq!(m.forward(x).dims(), [2, 4]);
}
