//! Random transforms, policies, pipelines from configs, the augmenting loader and the batch
//! (tensor) versions.

use burn::data::dataloader::DataLoader;
use burn::tensor::{Device, Tensor, TensorData};
use burn_podium::PodiumError;
use burn_podium::augment::functional as F;
use burn_podium::augment::{
    AugMix, CenterCrop, ColorJitter, Cutout, Depth, EraseMode, GaussianBlur, HorizontalFlip, Image,
    Normalize, Pipeline, PipelineConfig, RandAugment, RandomAffine, RandomCrop, RandomErasing,
    RandomGrayscale, RandomResizedCrop, RandomRotation, TransformConfig, VerticalFlip, batch,
    resized_crop_params,
};
use burn_podium::codec::{DecodeOptions, decode_file};
use burn_podium::data::ImageDataset;
use burn_podium::loader::{ClassificationBatcher, ImageLoader};
use burn_podium::loss::JsdCrossEntropyConfig;
use std::path::Path;

use crate::fixtures::{config_key, photo_folder, photos};

/// The chelsea photo (a real cat), decoded at `h x w`, as a `u8` image.
fn photo(h: usize, w: usize) -> Image {
    let path = photos()
        .into_iter()
        .find(|p| p.ends_with("chelsea.png"))
        .unwrap();
    Image::from_bitmap(&decode_file(&path, &DecodeOptions::rgb(h, w)).unwrap())
}

fn run(config: &TransformConfig, img: &Image, seed: u64) -> Image {
    let pipeline = PipelineConfig::new(vec![config.clone()]).init().unwrap();
    pipeline.apply(img.clone(), seed, 0, 0).remove(0)
}

#[test]
fn flips_follow_their_probability() {
    let img = photo(20, 30);
    let flip = |p| TransformConfig::HorizontalFlip(HorizontalFlip { p });
    assert_eq!(run(&flip(1.0), &img, 0), F::hflip(&img));
    assert_eq!(run(&flip(0.0), &img, 0), img);
    let flipped = (0..400)
        .filter(|&s| run(&flip(0.3), &img, s) != img)
        .count();
    assert!(
        (80..160).contains(&flipped),
        "{flipped} of 400 flipped at p = 0.3"
    );
    let v = run(
        &TransformConfig::VerticalFlip(VerticalFlip { p: 1.0 }),
        &img,
        3,
    );
    assert_eq!(v, F::vflip(&img));
}

#[test]
fn random_resized_crop_draws_within_scale_and_ratio() {
    let mut rng = Pipeline::rng(1, 0, 0);
    for _ in 0..500 {
        let [top, left, h, w] =
            resized_crop_params(300, 451, [0.08, 1.0], [0.75, 4.0 / 3.0], &mut rng);
        assert!(top + h <= 300 && left + w <= 451);
        let area = (h * w) as f32 / (300.0 * 451.0);
        assert!((0.07..=1.0).contains(&area), "area fraction {area}");
        let ratio = w as f32 / h as f32;
        assert!((0.70..=1.40).contains(&ratio), "ratio {ratio}");
    }
    // An impossible ratio falls back to torchvision's centred crop of the nearest ratio.
    assert_eq!(
        resized_crop_params(100, 100, [0.5, 0.5], [10.0, 10.0], &mut rng),
        [45, 0, 10, 100]
    );
    // Scale 1 with the image's own ratio takes the whole image: a plain resize.
    let img = photo(30, 40);
    let rrc = TransformConfig::RandomResizedCrop(RandomResizedCrop {
        size: [12, 16],
        scale: [1.0, 1.0],
        ratio: [4.0 / 3.0, 4.0 / 3.0],
        interpolation: F::Interpolation::Bilinear,
        antialias: true,
    });
    assert_eq!(
        run(&rrc, &img, 9),
        F::resize(&img, [12, 16], F::Interpolation::Bilinear, true)
    );
    // The loader's shortcut (crop the decoded bytes first) gives the same pixels as the
    // generic path.
    let pipeline = PipelineConfig::new(vec![
        TransformConfig::RandomResizedCrop(RandomResizedCrop {
            size: [24, 24],
            scale: [0.08, 1.0],
            ratio: [0.75, 4.0 / 3.0],
            interpolation: F::Interpolation::Bilinear,
            antialias: true,
        }),
        TransformConfig::HorizontalFlip(HorizontalFlip { p: 0.5 }),
    ])
    .init()
    .unwrap();
    let bytes = photo(60, 90).to_bitmap();
    for index in 0..10 {
        let generic = pipeline.apply(Image::from_bitmap(&bytes), 4, 1, index);
        assert_eq!(pipeline.apply_interleaved(&bytes, 4, 1, index), generic);
    }
}

#[test]
fn random_crop_pads_then_crops() {
    let img = photo(8, 8);
    let crop = TransformConfig::RandomCrop(RandomCrop {
        size: [8, 8],
        padding: [2, 2, 2, 2],
        pad_if_needed: false,
        fill: vec![0.0],
        padding_mode: F::PaddingMode::Constant,
    });
    let mut shifted = 0;
    for seed in 0..50 {
        let out = run(&crop, &img, seed);
        assert_eq!(out.shape(), [3, 8, 8]);
        // The output is a window of the padded image.
        let padded = F::pad(&img, [2, 2, 2, 2], F::PaddingMode::Constant, &[0.0]);
        let found = (0..=4).any(|t| (0..=4).any(|l| F::crop(&padded, t, l, 8, 8) == out));
        assert!(found, "seed {seed}: not a window of the padded image");
        shifted += usize::from(out != img);
    }
    assert!(shifted > 30);
}

#[test]
fn color_jitter_factors_stay_in_range() {
    let img = photo(10, 10).to_f32_depth();
    let jitter = TransformConfig::ColorJitter(ColorJitter {
        brightness: 0.4,
        contrast: 0.0,
        saturation: 0.0,
        hue: 0.0,
        p: 1.0,
    });
    let mut changed = 0;
    for seed in 0..50 {
        let out = run(&jitter, &img, seed);
        // brightness alone: y = clamp(f x) with f in [0.6, 1.4]
        let (i, &x) = img
            .data
            .iter()
            .enumerate()
            .find(|&(_, &x)| x > 0.2 && x < 0.6)
            .unwrap();
        let f = out.data[i] / x;
        assert!((0.6 - 1e-4..=1.4 + 1e-4).contains(&f), "factor {f}");
        changed += usize::from((f - 1.0).abs() > 1e-3);
    }
    assert!(changed > 40);
    let full = TransformConfig::ColorJitter(ColorJitter {
        brightness: 0.4,
        contrast: 0.4,
        saturation: 0.4,
        hue: 0.1,
        p: 1.0,
    });
    let a = run(&full, &photo(10, 10), 4);
    assert_eq!(a.depth, Depth::U8);
    assert!(
        a.data
            .iter()
            .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
    );
    assert_ne!(a, photo(10, 10));
}

#[test]
fn random_erasing_and_cutout_cover_the_asked_area() {
    let img = Image::new(vec![0.5; 3 * 40 * 50], [3, 40, 50], Depth::F32);
    let erase = |mode| {
        TransformConfig::RandomErasing(RandomErasing {
            p: 1.0,
            min_area: 0.1,
            max_area: 0.2,
            min_aspect: 0.5,
            max_aspect: None,
            mode,
            min_count: 1,
            max_count: None,
        })
    };
    for seed in 0..30 {
        let out = run(&erase(EraseMode::Const), &img, seed);
        let erased = out.data.iter().filter(|&&v| v == 0.0).count() as f32 / (3.0 * 2000.0);
        assert!(
            (0.08..=0.23).contains(&erased),
            "seed {seed}: erased {erased}"
        );
    }
    let noisy = run(&erase(EraseMode::Pixel), &img, 1);
    let changed: Vec<f32> = noisy.data.iter().copied().filter(|&v| v != 0.5).collect();
    assert!(changed.len() > 500);
    let distinct = changed
        .iter()
        .map(|v| v.to_bits())
        .collect::<std::collections::HashSet<_>>();
    assert!(
        distinct.len() > changed.len() / 2,
        "pixel mode draws a value per pixel"
    );
    let per_channel = run(&erase(EraseMode::Rand), &img, 1);
    let distinct = per_channel
        .data
        .iter()
        .filter(|&&v| v != 0.5)
        .map(|v| v.to_bits())
        .collect::<std::collections::HashSet<_>>();
    assert_eq!(distinct.len(), 3, "rand mode draws one value per channel");

    let cutout = TransformConfig::Cutout(Cutout {
        n_holes: 1,
        length: 8,
        fill: vec![0.0],
        p: 1.0,
    });
    for seed in 0..20 {
        let out = run(&cutout, &img, seed);
        let zeros = out.data.iter().filter(|&&v| v == 0.0).count();
        assert!(zeros > 0 && zeros <= 3 * 64, "seed {seed}: {zeros} zeros");
    }
}

#[test]
fn rotation_affine_blur_and_grayscale_draw_from_their_ranges() {
    let img = photo(16, 16).to_f32_depth();
    let rot = TransformConfig::RandomRotation(RandomRotation {
        degrees: [10.0, 10.0],
        interpolation: F::Interpolation::Bilinear,
        expand: false,
        fill: vec![0.0],
    });
    let expected = F::rotate(
        &img,
        10.0,
        F::Interpolation::Bilinear,
        false,
        None,
        Some(&[0.0]),
    );
    assert_eq!(run(&rot, &img, 5), expected);
    let aff = TransformConfig::RandomAffine(RandomAffine {
        degrees: [0.0, 0.0],
        translate: None,
        scale: Some([1.5, 1.5]),
        shear: None,
        interpolation: F::Interpolation::Nearest,
        fill: vec![0.0],
    });
    let expected = F::affine(
        &img,
        0.0,
        [0.0, 0.0],
        1.5,
        [0.0, 0.0],
        F::Interpolation::Nearest,
        Some(&[0.0]),
        None,
    );
    assert_eq!(run(&aff, &img, 5), expected);
    let gray = run(
        &TransformConfig::RandomGrayscale(RandomGrayscale { p: 1.0 }),
        &img,
        0,
    );
    assert_eq!(gray, F::rgb_to_grayscale(&img, 3));
    let blur = TransformConfig::GaussianBlur(GaussianBlur {
        kernel_size: [5, 5],
        sigma: [1.0, 1.0],
        p: 1.0,
    });
    assert_eq!(
        run(&blur, &img, 0),
        F::gaussian_blur(&img, [5, 5], [1.0, 1.0])
    );
}

#[test]
fn policies_change_images_and_keep_their_shape_and_depth() {
    let img = photo(24, 32);
    let policies = [
        TransformConfig::from_timm("rand-m9-n2-mstd0.5").unwrap(),
        TransformConfig::from_timm("rand-m9-n3-mstd0.5-inc1").unwrap(),
        TransformConfig::from_timm("trivial").unwrap(),
        TransformConfig::from_timm("autoaug").unwrap(),
        TransformConfig::from_timm("augmix-m3-w3").unwrap(),
    ];
    for policy in &policies {
        let mut changed = 0;
        for seed in 0..40 {
            let out = run(policy, &img, seed);
            assert_eq!(out.shape(), img.shape(), "{policy:?}");
            assert!(
                out.data
                    .iter()
                    .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
            );
            changed += usize::from(out != img);
        }
        assert!(
            changed >= 20,
            "{}: only {changed} of 40 images changed",
            policy.name()
        );
    }
}

#[test]
fn timm_strings_parse_into_their_fields() {
    let TransformConfig::RandAugment(r) =
        TransformConfig::from_timm("rand-m7-n3-mstd0.5-mmax8-p0.7-inc1").unwrap()
    else {
        panic!("not RandAugment");
    };
    assert_eq!(
        (
            r.magnitude,
            r.num_ops,
            r.magnitude_std,
            r.magnitude_max,
            r.p,
            r.increasing
        ),
        (7.0, 3, 0.5, 8.0, 0.7, true)
    );
    assert_eq!(
        RandAugment::from_timm("rand-m9").unwrap().num_ops,
        2,
        "timm's default n"
    );
    let a = AugMix::from_timm("augmix-m5-w4-d2-a0.5").unwrap();
    assert_eq!((a.severity, a.width, a.depth, a.alpha), (5.0, 4, 2, 0.5));
    assert_eq!(
        config_key(RandAugment::from_timm("rand-q9")),
        "rand_augment"
    );
    assert_eq!(config_key(RandAugment::from_timm("rand-m9-p1.5")), "p");
    assert_eq!(
        config_key(TransformConfig::from_timm("randaug-m9")),
        "auto_augment"
    );
    assert_eq!(config_key(AugMix::from_timm("augmix-w0")), "width");
}

#[test]
fn invalid_parameters_are_errors_when_the_pipeline_is_built() {
    let build = |t: TransformConfig| {
        PipelineConfig::new(vec![
            TransformConfig::HorizontalFlip(HorizontalFlip { p: 0.5 }),
            t,
        ])
        .init()
    };
    assert_eq!(
        config_key(build(TransformConfig::HorizontalFlip(HorizontalFlip {
            p: 1.5
        }))),
        "transforms[1].horizontal_flip.p"
    );
    let rrc = TransformConfig::RandomResizedCrop(RandomResizedCrop {
        size: [8, 8],
        scale: [0.9, 0.1],
        ratio: [0.75, 1.33],
        interpolation: F::Interpolation::Bilinear,
        antialias: true,
    });
    assert_eq!(
        config_key(build(rrc)),
        "transforms[1].random_resized_crop.scale"
    );
    let blur = TransformConfig::GaussianBlur(GaussianBlur {
        kernel_size: [4, 3],
        sigma: [0.1, 2.0],
        p: 0.5,
    });
    assert_eq!(
        config_key(build(blur)),
        "transforms[1].gaussian_blur.kernel_size"
    );
    let jitter = TransformConfig::ColorJitter(ColorJitter {
        brightness: 0.1,
        contrast: 0.0,
        saturation: 0.0,
        hue: 0.7,
        p: 1.0,
    });
    assert_eq!(config_key(build(jitter)), "transforms[1].color_jitter.hue");
    // A crop larger than the image without padding: an error when the loader is built.
    let crop = TransformConfig::RandomCrop(RandomCrop {
        size: [40, 40],
        padding: [0; 4],
        pad_if_needed: false,
        fill: vec![0.0],
        padding_mode: F::PaddingMode::Constant,
    });
    let pipeline = PipelineConfig::new(vec![crop.clone()]).init().unwrap();
    let data = burn_podium::data::digits().unwrap();
    let loader = ImageLoader::new(data, ClassificationBatcher::new(Normalize::unit(1)), 8).unwrap();
    assert_eq!(
        config_key(loader.clone().augment(pipeline, 0)),
        "transforms[0].random_crop.size"
    );
    drop(crop);
    let padded = TransformConfig::RandomCrop(RandomCrop {
        size: [40, 40],
        padding: [0; 4],
        pad_if_needed: true,
        fill: vec![0.0],
        padding_mode: F::PaddingMode::Constant,
    });
    let ok = PipelineConfig::new(vec![padded]).init().unwrap();
    assert!(loader.augment(ok, 0).is_ok());
    // Unknown names in a config file name the problem.
    let err =
        PipelineConfig::from_json(r#"{"transforms": [{"name": "random_sharpen"}]}"#).unwrap_err();
    assert!(err.to_string().contains("random_sharpen"), "{err}");
    assert_eq!(
        config_key(PipelineConfig::new(vec![]).with_splits(1, vec![]).init()),
        "splits.num_splits"
    );
}

#[test]
fn a_pipeline_config_round_trips_through_json() {
    let config = PipelineConfig::new(vec![
        TransformConfig::RandomResizedCrop(RandomResizedCrop {
            size: [32, 32],
            scale: [0.3, 1.0],
            ratio: [0.75, 4.0 / 3.0],
            interpolation: F::Interpolation::Bilinear,
            antialias: true,
        }),
        TransformConfig::HorizontalFlip(HorizontalFlip { p: 0.5 }),
        TransformConfig::from_timm("rand-m9-n2-mstd0.5").unwrap(),
        TransformConfig::Normalize(Normalize {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }),
        TransformConfig::RandomErasing(RandomErasing {
            p: 0.25,
            min_area: 0.02,
            max_area: 1.0 / 3.0,
            min_aspect: 0.3,
            max_aspect: None,
            mode: EraseMode::Pixel,
            min_count: 1,
            max_count: None,
        }),
    ])
    .with_splits(3, vec![TransformConfig::from_timm("augmix-m3-w3").unwrap()]);
    let json = serde_json::to_string_pretty(&config).unwrap();
    assert!(json.contains("\"name\": \"random_resized_crop\""));
    let back = PipelineConfig::from_json(&json).unwrap();
    assert_eq!(back, config);
    let pipeline = back.init().unwrap();
    assert_eq!(pipeline.views(), 3);
    assert_eq!(pipeline.output_shape([3, 100, 120]).unwrap(), [3, 32, 32]);
    // Defaults fill in what a hand-written file leaves out.
    let short = PipelineConfig::from_json(r#"{"transforms": [{"name": "horizontal_flip"}, {"name": "random_resized_crop", "size": [8, 8]}]}"#).unwrap();
    assert_eq!(
        short.transforms[0],
        TransformConfig::HorizontalFlip(HorizontalFlip { p: 0.5 })
    );
}

fn augmenting_loader(ds: &ImageDataset, pipeline: &Pipeline, workers: usize) -> ImageLoader {
    ImageLoader::new(
        ds.clone(),
        ClassificationBatcher::new(Normalize::imagenet()),
        4,
    )
    .unwrap()
    .shuffle(3)
    .augment(pipeline.clone(), 99)
    .unwrap()
    .num_workers(workers)
    .unwrap()
}

fn batches(loader: &ImageLoader) -> Vec<Vec<f32>> {
    loader
        .iter()
        .map(|b| b.unwrap().images.try_into_vec_as::<f32>().unwrap())
        .collect()
}

#[test]
fn augmented_batches_do_not_depend_on_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 3, 4, 40);
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    let pipeline = PipelineConfig::from_json(
        r#"{"transforms": [
            {"name": "random_resized_crop", "size": [24, 24]},
            {"name": "horizontal_flip"},
            {"name": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1},
            {"name": "rand_augment", "magnitude": 9, "num_ops": 2, "magnitude_std": 0.5,
             "magnitude_max": 10, "p": 0.5, "increasing": false, "interpolation": "bilinear", "fill": [0.5]},
            {"name": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            {"name": "random_erasing", "p": 0.5, "mode": "pixel"}
        ]}"#,
    )
    .unwrap()
    .init()
    .unwrap();
    let one = batches(&augmenting_loader(&ds, &pipeline, 1));
    assert_eq!(one.len(), 3);
    assert_eq!(one[0].len(), 4 * 3 * 24 * 24);
    // each item is the pipeline applied to its decoded photo (the loader decodes the files
    // itself, PNGs only down to the crop)
    let batch = augmenting_loader(&ds, &pipeline, 2)
        .iter()
        .next()
        .unwrap()
        .unwrap();
    for (k, &i) in batch.indices.iter().enumerate() {
        let item = ds.decode(i).unwrap();
        let want = pipeline.apply_interleaved(&item.image, 99, 0, i as u64);
        assert_eq!(want.len(), 1);
        let n = 3 * 24 * 24;
        assert_eq!(one[0][k * n..(k + 1) * n], want[0].data[..], "item {i}");
    }
    assert_eq!(one, batches(&augmenting_loader(&ds, &pipeline, 2)));
    assert_eq!(one, batches(&augmenting_loader(&ds, &pipeline, 0)));
    // A new epoch draws new augmentations.
    let loader = augmenting_loader(&ds, &pipeline, 2);
    loader.set_epoch(1);
    assert_ne!(one, batches(&loader));
}

#[test]
fn augmix_splits_make_view_major_batches_for_the_jsd_loss() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 2, 3, 20);
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    let pipeline = PipelineConfig::new(vec![TransformConfig::CenterCrop(CenterCrop {
        size: [16, 16],
    })])
    .with_splits(3, vec![TransformConfig::from_timm("augmix-m3-w3").unwrap()])
    .init()
    .unwrap();
    let loader = augmenting_loader(&ds, &pipeline, 2);
    let batch = loader.iter().next().unwrap().unwrap();
    assert_eq!(batch.images.dims(), [12, 3, 16, 16]);
    assert_eq!(batch.targets.dims(), [4]);
    // View 0 is the clean centre crop of each item.
    let clean = Image::from_bitmap(&ds.decode(batch.indices[1]).unwrap().image);
    let clean = F::normalize(
        &F::center_crop(&clean, [16, 16]),
        &[0.485, 0.456, 0.406],
        &[0.229, 0.224, 0.225],
    );
    let view0: Vec<f32> = batch
        .images
        .clone()
        .narrow(0, 1, 1)
        .try_into_vec_as::<f32>()
        .unwrap();
    for (a, b) in view0.iter().zip(&clean.data) {
        assert!((a - b).abs() < 1e-5);
    }
    let views: Vec<Vec<f32>> = (0..3)
        .map(|v| {
            batch
                .images
                .clone()
                .narrow(0, v * 4 + 1, 1)
                .try_into_vec_as::<f32>()
                .unwrap()
        })
        .collect();
    assert_ne!(views[0], views[1]);
    assert_ne!(views[1], views[2]);
    let logits = Tensor::<2>::zeros([12, 2], &batch.images.device());
    let loss = JsdCrossEntropyConfig::new()
        .with_num_splits(3)
        .init()
        .unwrap()
        .forward(logits, batch.targets);
    assert_eq!(loss.dims(), [1]);
}

#[test]
fn batch_ops_on_tensors_match_the_image_ops() {
    let d = Device::default();
    let imgs: Vec<Image> = [0u64, 1, 2, 3]
        .iter()
        .map(|&k| {
            F::crop(
                &photo(20, 24).to_f32_depth(),
                k as isize,
                k as isize,
                12,
                14,
            )
        })
        .collect();
    let data: Vec<f32> = imgs.iter().flat_map(|i| i.data.clone()).collect();
    let x = Tensor::<4>::from_data(TensorData::new(data, [4, 3, 12, 14]), &d);
    let to_vec = |t: Tensor<4>| t.try_into_vec_as::<f32>().unwrap();
    let sample =
        |t: &Tensor<4>, i: usize| t.clone().narrow(0, i, 1).try_into_vec_as::<f32>().unwrap();

    let flipped = batch::random_hflip(x.clone(), 1.0, 0);
    let expected: Vec<f32> = imgs.iter().flat_map(|i| F::hflip(i).data).collect();
    assert_eq!(to_vec(flipped), expected);
    let half = batch::random_hflip(x.clone(), 0.5, 7);
    let n_flipped = (0..4).filter(|&i| sample(&half, i) != imgs[i].data).count();
    assert!(
        n_flipped > 0 && n_flipped < 4,
        "{n_flipped} of 4 flipped at p = 0.5 with this seed"
    );
    assert_eq!(
        to_vec(batch::random_vflip(x.clone(), 1.0, 0)),
        imgs.iter()
            .flat_map(|i| F::vflip(i).data)
            .collect::<Vec<_>>()
    );

    let (mean, std) = ([0.4, 0.5, 0.6], [0.2, 0.25, 0.3]);
    let normed = to_vec(batch::normalize(x.clone(), &mean, &std));
    let expected: Vec<f32> = imgs
        .iter()
        .flat_map(|i| F::normalize(i, &mean, &std).data)
        .collect();
    for (a, b) in normed.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-5);
    }

    let cropped = batch::random_crop(x.clone(), [12, 14], 2, 5);
    assert_eq!(cropped.dims(), [4, 3, 12, 14]);
    for (i, img) in imgs.iter().enumerate() {
        let padded = F::pad(img, [2, 2, 2, 2], F::PaddingMode::Constant, &[0.0]);
        let got = sample(&cropped, i);
        assert!((0..=4).any(|t| (0..=4).any(|l| F::crop(&padded, t, l, 12, 14).data == got)));
    }

    let erasing = RandomErasing {
        p: 1.0,
        min_area: 0.05,
        max_area: 0.3,
        min_aspect: 0.3,
        max_aspect: None,
        mode: EraseMode::Pixel,
        min_count: 1,
        max_count: Some(2),
    };
    let erased = batch::random_erasing(x.clone(), &erasing, 11);
    let changed = to_vec(erased.clone())
        .iter()
        .zip(&to_vec(x))
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 4 * 3 * 5, "erasing changed {changed} values");
    let again = batch::random_erasing(erased.clone(), &erasing, 11);
    assert_eq!(
        to_vec(again),
        to_vec(erased),
        "same seed, same boxes and noise"
    );
}

#[test]
fn a_gallery_places_each_tile_under_its_caption() {
    use burn_podium::augment::write_gallery;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.png");
    let img = photo(20, 30);
    let gray = F::rgb_to_grayscale(&img, 1);
    write_gallery(
        &[
            ("a".into(), img.clone()),
            ("b".into(), gray.clone()),
            ("c".into(), F::invert(&img)),
        ],
        2,
        &path,
    )
    .unwrap();
    let grid = image::open(&path).unwrap().to_rgb8();
    assert_eq!(grid.dimensions(), (2 * 36 + 6, 2 * (20 + 18 + 6) + 6));
    // tile 0 starts at (6, 6 + 18), tile 1 (gray) at (42, 24)
    let rgb = img.to_bitmap().pixels;
    assert_eq!(
        grid.get_pixel(6 + 3, 24 + 2).0.to_vec(),
        rgb[(2 * 30 + 3) * 3..(2 * 30 + 3) * 3 + 3].to_vec()
    );
    let g = gray.to_bitmap().pixels[2 * 30 + 3];
    assert_eq!(grid.get_pixel(42 + 3, 24 + 2).0, [g, g, g]);
    // written through a temporary file and a rename: none is left behind
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert_eq!(config_key(write_gallery(&[], 2, &path)), "gallery");
    let two = Image::zeros([2, 4, 4], Depth::U8);
    assert_eq!(
        config_key(write_gallery(&[("x".into(), two)], 2, &path)),
        "gallery"
    );
}

#[test]
fn a_pipeline_on_encoded_bytes_equals_the_pipeline_on_decoded_pixels() {
    use burn_podium::codec::decode_bytes;
    let pipelines = [
        // a leading resized crop: PNGs are decoded only down to the crop
        r#"{"transforms": [{"name": "random_resized_crop", "size": [40, 48]},
                           {"name": "horizontal_flip"},
                           {"name": "color_jitter", "brightness": 0.4, "hue": 0.1}]}"#,
        // no leading crop: the whole picture
        r#"{"transforms": [{"name": "resize", "size": [30]}, {"name": "vertical_flip"}]}"#,
    ];
    for json in pipelines {
        let pipeline = PipelineConfig::from_json(json).unwrap().init().unwrap();
        for path in photos() {
            let bytes = std::fs::read(&path).unwrap();
            let bitmap = decode_bytes(&bytes, &path, &DecodeOptions::default()).unwrap();
            for index in 0..6 {
                let want = pipeline.apply_interleaved(&bitmap, 11, 2, index);
                let got = pipeline.apply_encoded(&bytes, &path, 11, 2, index).unwrap();
                assert_eq!(got, want, "{} sample {index}: {json}", path.display());
            }
        }
        match pipeline.apply_encoded(b"\x89PNG\r\n\x1a\nshort", Path::new("cut.png"), 1, 0, 0) {
            Err(e @ PodiumError::Decode { .. }) => assert!(e.to_string().contains("cut.png")),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
