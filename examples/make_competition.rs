//! Turns the MNIST IDX files into a Kaggle-style competition folder, the input of the
//! `podium` command and of [`ImageDataset::from_csv`](burn_podium::data::ImageDataset::from_csv):
//!
//! ```text
//! OUT/
//!   train/train_00000.png ...    28x28 grayscale PNGs
//!   train.csv                    id,label (one row per training image, labels 0..9)
//!   test/test_03141.png ...      the test images, ids in a seeded random order
//!   sample_submission.csv        id,label with the placeholder label 0, rows shuffled
//!   test_labels.csv              the hidden answers, id,label in the sample's order (for scoring)
//! ```
//!
//! ```sh
//! cargo run --release --example make_competition -- --out data/mnist_comp
//! cargo run --release --example make_competition -- --out /tmp/mnist_small --train 1000 --test 200
//! ```
//!
//! Every file is written atomically (a temporary file, then a rename); a folder that already
//! holds a `train.csv` is refused unless `--overwrite` is given. A missing or malformed IDX file,
//! or a count larger than the set, is an error naming the file or the option.

use std::path::{Path, PathBuf};

use burn_podium::data::{IdxArray, read_idx};
use burn_podium::util::write_atomic;
use burn_podium::{PodiumError, Result};
use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Make a Kaggle-style competition folder from the MNIST IDX files.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Folder with the four MNIST files (`train-images-idx3-ubyte.gz`, ...; gzipped or not).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist"))]
    mnist: PathBuf,
    /// The competition folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Number of training images (the first N of the training set; default all 60000).
    #[arg(long)]
    train: Option<usize>,
    /// Number of test images (the first N of the test set; default all 10000).
    #[arg(long)]
    test: Option<usize>,
    /// Seed of the test ids and of the sample submission's row order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write into a folder that already holds a competition.
    #[arg(long)]
    overwrite: bool,
}

/// One MNIST split: `[N, H, W]` images and their labels.
struct Split {
    images: IdxArray,
    labels: IdxArray,
}

impl Split {
    fn read(dir: &Path, prefix: &str) -> Result<Self> {
        let file = |kind: &str| {
            let gz = dir.join(format!("{prefix}-{kind}.gz"));
            if gz.exists() {
                gz
            } else {
                dir.join(format!("{prefix}-{kind}"))
            }
        };
        let (images_path, labels_path) = (file("images-idx3-ubyte"), file("labels-idx1-ubyte"));
        let images = read_idx(&images_path)?;
        let labels = read_idx(&labels_path)?;
        if images.dims.len() != 3 {
            return Err(PodiumError::format(
                &images_path,
                format!(
                    "expected [N, H, W] images, found dimensions {:?}",
                    images.dims
                ),
            ));
        }
        if labels.dims != images.dims[..1] {
            return Err(PodiumError::format(
                &labels_path,
                format!("{:?} labels for {} images", labels.dims, images.dims[0]),
            ));
        }
        Ok(Self { images, labels })
    }

    fn len(&self) -> usize {
        self.images.dims[0]
    }

    /// Checks a requested count against the split's size (all of it when `None`).
    fn count(&self, requested: Option<usize>, option: &str) -> Result<usize> {
        match requested {
            None => Ok(self.len()),
            Some(n) if n >= 1 && n <= self.len() => Ok(n),
            Some(n) => Err(PodiumError::config(
                option,
                n,
                format!("must be between 1 and {} (the set's size)", self.len()),
            )),
        }
    }

    /// Image `i` as PNG bytes (`path`, where they go, names the file in errors).
    fn png(&self, i: usize, path: &Path) -> Result<Vec<u8>> {
        let (h, w) = (self.images.dims[1], self.images.dims[2]);
        let pixels = self.images.data[i * h * w..(i + 1) * h * w].to_vec();
        let image = image::GrayImage::from_raw(w as u32, h as u32, pixels)
            .expect("an IDX image holds h * w bytes");
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .map_err(|e| PodiumError::format(path, format!("PNG encoding: {e}")))?;
        Ok(bytes)
    }
}

/// Writes `(file name, source index)` images of `split` into `dir`, in parallel.
fn write_images(split: &Split, dir: &Path, files: &[(String, usize)]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| PodiumError::io(dir, e))?;
    files.par_iter().try_for_each(|(name, i)| {
        let path = dir.join(name);
        write_atomic(&path, &split.png(*i, &path)?)
    })
}

/// Writes an `id,label` CSV.
fn write_csv(path: &Path, rows: impl Iterator<Item = (String, String)>) -> Result<()> {
    let mut text = String::from("id,label\n");
    for (id, label) in rows {
        text += &format!("{id},{label}\n");
    }
    write_atomic(path, text.as_bytes())
}

fn run(args: Args) -> Result<()> {
    let started = std::time::Instant::now();
    if args.out.join("train.csv").exists() && !args.overwrite {
        return Err(PodiumError::config(
            "--out",
            args.out.display(),
            "already holds a competition (train.csv); pass --overwrite to write over it",
        ));
    }
    let train = Split::read(&args.mnist, "train")?;
    let test = Split::read(&args.mnist, "t10k")?;
    let n_train = train.count(args.train, "--train")?;
    let n_test = test.count(args.test, "--test")?;
    std::fs::create_dir_all(&args.out).map_err(|e| PodiumError::io(&args.out, e))?;

    // train: ids in source order, the labels public
    let train_ids: Vec<String> = (0..n_train).map(|i| format!("train_{i:05}")).collect();
    let files: Vec<(String, usize)> = train_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("{id}.png"), i))
        .collect();
    write_images(&train, &args.out.join("train"), &files)?;
    write_csv(
        &args.out.join("train.csv"),
        train_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), train.labels.data[i].to_string())),
    )?;

    // test: ids from a seeded permutation (they do not give the source order away), the sample
    // submission's rows shuffled again, the answers kept aside in the sample's order
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut numbers: Vec<usize> = (0..n_test).collect();
    numbers.shuffle(&mut rng);
    let test_ids: Vec<String> = numbers.iter().map(|k| format!("test_{k:05}")).collect();
    let files: Vec<(String, usize)> = test_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("{id}.png"), i))
        .collect();
    write_images(&test, &args.out.join("test"), &files)?;
    let mut order: Vec<usize> = (0..n_test).collect();
    order.shuffle(&mut rng);
    write_csv(
        &args.out.join("sample_submission.csv"),
        order
            .iter()
            .map(|&i| (test_ids[i].clone(), "0".to_string())),
    )?;
    write_csv(
        &args.out.join("test_labels.csv"),
        order
            .iter()
            .map(|&i| (test_ids[i].clone(), test.labels.data[i].to_string())),
    )?;
    println!(
        "wrote {} training and {} test images to {} in {:.1} s",
        n_train,
        n_test,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
