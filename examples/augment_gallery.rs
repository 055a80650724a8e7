//! One photo through every transform and policy of `burn_podium::augment`, as a PNG grid:
//! the way to check an augmentation recipe by eye.
//!
//! ```sh
//! cargo run --release --example augment_gallery                 # the cat of ../shared/data
//! cargo run --release --example augment_gallery -- --image my.jpg --out gallery.png
//! ```

use std::path::PathBuf;

use burn_podium::augment::functional as F;
use burn_podium::augment::{Image, PipelineConfig, RandomErasing, TransformConfig, write_gallery};
use burn_podium::codec::{DecodeOptions, decode_file};
use clap::Parser;

// A pooling allocator for the training temporaries (README "Memory").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// The photo to augment.
    #[arg(long, default_value = "../shared/data/images/chelsea.png")]
    image: PathBuf,
    /// Where to write the grid.
    #[arg(long, default_value = "runs/augment_gallery.png")]
    out: PathBuf,
    /// Seed of the random transforms.
    #[arg(long, default_value_t = 3)]
    seed: u64,
}

fn main() -> burn_podium::Result<()> {
    burn_podium::util::keep_freed_memory(); // mimalloc keeps freed memory (README "Memory")
    let args = Args::parse();
    let decoded = decode_file(&args.image, &DecodeOptions::default())?;
    let photo = F::resize_shorter(
        &Image::from_bitmap(&decoded),
        128,
        F::Interpolation::Bilinear,
        true,
    );
    let photo = F::center_crop(&photo, [128, 160]);

    // Deterministic operations (torchvision.transforms.v2.functional).
    let mut tiles: Vec<(String, Image)> = vec![
        ("original".into(), photo.clone()),
        ("hflip".into(), F::hflip(&photo)),
        ("vflip".into(), F::vflip(&photo)),
        (
            "rotate 30".into(),
            F::rotate(
                &photo,
                30.0,
                F::Interpolation::Bilinear,
                false,
                None,
                Some(&[0.0]),
            ),
        ),
        (
            "affine shear".into(),
            F::affine(
                &photo,
                0.0,
                [0.0, 0.0],
                1.0,
                [20.0, 0.0],
                F::Interpolation::Bilinear,
                None,
                None,
            ),
        ),
        (
            "pad reflect".into(),
            F::resize(
                &F::pad(&photo, [40, 30, 40, 30], F::PaddingMode::Reflect, &[0.0]),
                [128, 160],
                F::Interpolation::Bilinear,
                true,
            ),
        ),
        ("brightness 1.5".into(), F::adjust_brightness(&photo, 1.5)),
        ("contrast 0.5".into(), F::adjust_contrast(&photo, 0.5)),
        ("saturation 2".into(), F::adjust_saturation(&photo, 2.0)),
        ("hue +0.25".into(), F::adjust_hue(&photo, 0.25)),
        ("grayscale".into(), F::rgb_to_grayscale(&photo, 3)),
        (
            "gaussian blur".into(),
            F::gaussian_blur(&photo, [9, 9], [3.0, 3.0]),
        ),
        ("sharpness 4".into(), F::adjust_sharpness(&photo, 4.0)),
        ("posterize 3".into(), F::posterize(&photo, 3)),
        ("solarize 128".into(), F::solarize(&photo, 128.0)),
        ("autocontrast".into(), F::autocontrast(&photo)),
        ("equalize".into(), F::equalize(&photo)),
        ("invert".into(), F::invert(&photo)),
    ];

    // Random transforms and policies, each drawn twice.
    let random: Vec<(&str, TransformConfig)> = vec![
        ("random resized crop", serde_json::from_str(r#"{"name": "random_resized_crop", "size": [128, 160]}"#).unwrap()),
        ("color jitter", serde_json::from_str(r#"{"name": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}"#).unwrap()),
        ("random affine", serde_json::from_str(r#"{"name": "random_affine", "degrees": [-20, 20], "translate": [0.1, 0.1], "scale": [0.8, 1.2], "shear": [-10, 10], "interpolation": "bilinear"}"#).unwrap()),
        ("random erasing", RandomErasing { p: 1.0, max_count: Some(3), ..RandomErasing::default() }.into()),
        ("cutout", serde_json::from_str(r#"{"name": "cutout", "n_holes": 2, "length": 40}"#).unwrap()),
        ("rand-m9-n2-mstd0.5", TransformConfig::from_timm("rand-m9-n2-mstd0.5")?),
        ("trivial augment", TransformConfig::from_timm("trivial")?),
        ("auto augment", TransformConfig::from_timm("autoaug")?),
        ("augmix-m3-w3", TransformConfig::from_timm("augmix-m3-w3")?),
    ];
    for (name, config) in random {
        let pipeline = PipelineConfig::new(vec![config]).init()?;
        for draw in 0..2 {
            let out = pipeline.apply(photo.clone(), args.seed, 0, draw).remove(0);
            tiles.push((format!("{name} #{}", draw + 1), out));
        }
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| burn_podium::PodiumError::io(dir, e))?;
    }
    write_gallery(&tiles, 6, &args.out)?;
    println!("wrote {} ({} tiles)", args.out.display(), tiles.len());
    Ok(())
}
