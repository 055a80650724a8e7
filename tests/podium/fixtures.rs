//! Test data made from the real files in `../shared/data`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/data`, or a panic saying where it looked.
pub fn shared_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        dir.is_dir(),
        "{} not found: the tests need shared/ beside the crate",
        dir.display()
    );
    dir
}

/// The six real photos, sorted by name.
pub fn photos() -> Vec<PathBuf> {
    let dir = shared_data().join("images");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "expected six photos in {}", dir.display());
    files
}

/// Writes `root/<class>/<n>.<ext>` crops of the photos: class `k` takes crops of photo `k`, so
/// classes are visually distinct. Returns the class names.
pub fn photo_folder(root: &Path, classes: usize, per_class: usize, size: u32) -> Vec<String> {
    let photos = photos();
    let mut names = Vec::new();
    for k in 0..classes {
        let img = image::open(&photos[k % photos.len()])
            .expect("photo")
            .to_rgb8();
        let name = format!("class_{k}");
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let (w, h) = img.dimensions();
        for i in 0..per_class {
            let side = (w.min(h) / 2).max(size);
            let x = (i as u32 * 37) % (w - side);
            let y = (i as u32 * 23) % (h - side);
            let crop = image::imageops::crop_imm(&img, x, y, side, side).to_image();
            let small =
                image::imageops::resize(&crop, size, size, image::imageops::FilterType::Triangle);
            let ext = if i % 2 == 0 { "jpg" } else { "png" };
            small.save(dir.join(format!("{i:03}.{ext}"))).unwrap();
        }
        names.push(name);
    }
    names
}

/// Writes a corrupt JPEG at `path`: a real photo with a run of its bytes overwritten, as a
/// damaged download or disk leaves it.
pub fn corrupt_jpeg(path: &Path) {
    let mut bytes = std::fs::read(shared_data().join("images/china.jpg")).unwrap();
    for b in &mut bytes[700..5000] {
        *b = 0x55;
    }
    std::fs::write(path, &bytes).unwrap();
}

/// The key of a [`PodiumError::Config`](burn_podium::PodiumError::Config), or a panic naming
/// what came back instead.
pub fn config_key<T: std::fmt::Debug>(r: Result<T, burn_podium::PodiumError>) -> String {
    match r {
        Err(burn_podium::PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    }
}

/// The embedded digits as a competition folder under `root`: `train/dNNNN.png` (8 x 8 gray),
/// `train.csv` (`id,label`), and `recipe.toml` holding `recipe`.
pub fn digits_competition(root: &Path, recipe: &str) {
    let data = burn_podium::data::digits().unwrap();
    std::fs::create_dir_all(root.join("train")).unwrap();
    let mut csv = String::from("id,label\n");
    for i in 0..data.len() {
        let bitmap = data.decode(i).unwrap().image;
        assert_eq!(bitmap.channels, 1);
        let (w, h) = (bitmap.width as u32, bitmap.height as u32);
        let img = image::GrayImage::from_raw(w, h, bitmap.pixels).unwrap();
        let name = format!("d{i:04}");
        img.save(root.join("train").join(format!("{name}.png")))
            .unwrap();
        csv.push_str(&format!("{name},{}\n", data.label(i).unwrap()));
    }
    std::fs::write(root.join("train.csv"), csv).unwrap();
    std::fs::write(root.join("recipe.toml"), recipe).unwrap();
}

/// Every number of `metrics.csv` rows but the wall time, as text to compare runs by.
pub fn metric_numbers(rows: &[burn_podium::learner::EpochMetrics]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} {} {:.6} {:.4} {:.4} {:.6e} {:.6}",
                r.epoch, r.split, r.loss, r.accuracy, r.top5_accuracy, r.lr, r.score
            )
        })
        .collect()
}

/// The temporary files (`*.tmp`, as `util::write_atomic*` name them) left anywhere under `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if path.to_string_lossy().ends_with(".tmp") {
            found.push(path.display().to_string());
        }
    }
    found
}

/// A quiet Learner run into `dir`: `epochs` epochs, batch 64, seed 3 (the probe runs of the
/// NaN-policy and mixed-precision tests).
pub fn quiet_config(dir: &Path, epochs: usize) -> burn_podium::learner::LearnerConfig {
    burn_podium::learner::LearnerConfig::new()
        .with_run_dir(dir.to_string_lossy().into_owned())
        .with_progress(burn_podium::learner::ProgressMode::Quiet)
        .with_epochs(epochs)
        .with_batch_size(64)
        .with_seed(3)
}

/// `metrics.csv`'s `(epoch, split, skipped_steps)` in the run `dir`, by the header's column
/// names.
pub fn skipped_column(dir: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (e, s, k) = (col("epoch"), col("split"), col("skipped_steps"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[e].to_string(), f[s].to_string(), f[k].to_string())
        })
        .collect()
}

/// A `Linear` `[d_in -> d_out]` whose weight and bias are drawn (uniform in `±1/sqrt(d_in)`,
/// Burn's and torch's default bound) from the test's own generator seeded with `seed`, not from
/// the process-wide flex RNG that concurrently running tests also draw from: tests that compare
/// two runs from "the same" initial weights need them equal whatever else runs.
pub fn seeded_linear(
    d_in: usize,
    d_out: usize,
    seed: u64,
    device: &burn::tensor::Device,
) -> burn::nn::Linear {
    use burn::module::Param;
    use burn::tensor::{Tensor, TensorData};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    let bound = 1.0 / (d_in as f32).sqrt();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
    let mut fc = burn::nn::LinearConfig::new(d_in, d_out).init(device);
    let weight = TensorData::new(draw(d_in * d_out), [d_in, d_out]);
    let bias = TensorData::new(draw(d_out), [d_out]);
    fc.weight = Param::from_tensor(Tensor::<2>::from_data(weight, device));
    fc.bias = Some(Param::from_tensor(Tensor::<1>::from_data(bias, device)));
    fc
}

/// Inputs for an element-wise logistic kernel, drawn from the flex RNG seeded with `seed`, in
/// this order: logits `x ~ N(0, 4)`, an upstream gradient `up ~ U(-1, 1)`, binary targets
/// (`Bernoulli(0.2)`) and soft targets (`U(0, 1)`), all of `shape` (`kernels_focal`,
/// `kernels_asymmetric`; hold `learner::lock()` while drawing).
pub fn element_inputs(
    device: &burn::tensor::Device,
    seed: u64,
    shape: [usize; 2],
) -> [burn::tensor::Tensor<2>; 4] {
    use burn::tensor::{Distribution, Tensor};
    device.seed(seed);
    [
        Distribution::Normal(0.0, 4.0),
        Distribution::Uniform(-1.0, 1.0),
        Distribution::Bernoulli(0.2),
        Distribution::Uniform(0.0, 1.0),
    ]
    .map(|d| Tensor::<2>::random(shape, d, device))
}

/// The values of `f(x)` and the gradient of `sum(f(x) * up)` with respect to `x` (`x` a fresh
/// leaf), as plain vectors: an element kernel's forward and backward under a random upstream
/// gradient (`kernels_focal`, `kernels_asymmetric`, `kernels_normalize`).
pub fn value_and_grad(
    x: &burn::tensor::Tensor<2>,
    up: &burn::tensor::Tensor<2>,
    f: impl Fn(burn::tensor::Tensor<2>) -> burn::tensor::Tensor<2>,
) -> (Vec<f32>, Vec<f32>) {
    let x = x.clone().detach().require_grad();
    let y = f(x.clone());
    let grads = (y.clone() * up.clone()).sum().backward();
    let v = y.into_data().try_into_vec_as::<f32>().expect("values");
    let g = x.grad(&grads).expect("gradient");
    (v, g.into_data().try_into_vec_as::<f32>().expect("gradient"))
}

/// Asserts that values and gradients agree within `1e-5` relative plus `2e-6` absolute, naming
/// `what` and the first index that does not.
pub fn assert_value_grad_close(
    what: &str,
    (v, g): (Vec<f32>, Vec<f32>),
    (vr, gr): (Vec<f32>, Vec<f32>),
) {
    for i in 0..v.len() {
        assert!(
            (v[i] - vr[i]).abs() <= 2e-6 + 1e-5 * vr[i].abs(),
            "{what}: value {i}: {} vs {}",
            v[i],
            vr[i]
        );
        assert!(
            (g[i] - gr[i]).abs() <= 2e-6 + 1e-5 * gr[i].abs(),
            "{what}: gradient {i}: {} vs {}",
            g[i],
            gr[i]
        );
    }
}
