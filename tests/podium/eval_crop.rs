//! timm's evaluation crop (`crop_pct`): `Resize(floor(size / crop_pct))` + `CenterCrop(size)` for
//! validation, out-of-fold and test images, never for training images.

use burn_podium::codec::{Bitmap, ColorMode, DecodeOptions, decode_file, eval_resize_size};
use burn_podium::data::{ImageDataset, digits};
use burn_podium::learner::{Learner, LearnerConfig, ProgressMode, RunInfo, prepare};
use burn_podium::model::SimpleCnnConfig;

use crate::fixtures::config_key;
use crate::reference::load_topic;

/// An RGB picture whose pixel at row `y`, column `x` is `[y, x, 7]`: a crop tells which source
/// pixels it took.
fn coordinates(h: usize, w: usize) -> Bitmap {
    let pixels = (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [y as u8, x as u8, 7]))
        .collect();
    Bitmap::new(pixels, [3, h, w])
}

#[test]
fn the_centre_crop_takes_the_pixels_torchvision_takes() {
    let topic = load_topic("image_ops.json");
    let mut checked = 0;
    for case in topic.cases_of("center_crop") {
        let img = case.input("img");
        let (c, h, w) = (img.shape[0], img.shape[1], img.shape[2]);
        let out = &case.params["args"]["output_size"];
        let size = [
            out[0].as_u64().unwrap() as usize,
            out[1].as_u64().unwrap() as usize,
        ];
        // crop_pct <= 1 never crops more than the resized picture: the padding cases are not ours
        if size[0] > h || size[1] > w {
            continue;
        }
        // each pixel holds its own flat position in base 256 over its three (interleaved)
        // channels, any size up to 2^24 pixels: the crop tells which source pixels it took
        let positions = Bitmap::new(
            (0..h * w)
                .flat_map(|i| (0..3).map(move |byte| (i >> (8 * byte)) as u8))
                .collect(),
            [3, h, w],
        );
        let cropped = positions.center_cropped(size);
        assert_eq!([cropped.height, cropped.width], size);
        let m = size[0] * size[1];
        let taken: Vec<usize> = (0..m)
            .map(|j| {
                (0..3)
                    .map(|byte| (cropped.pixels[3 * j + byte] as usize) << (8 * byte))
                    .sum()
            })
            .collect();
        let actual: Vec<f64> = (0..c)
            .flat_map(|ch| taken.iter().map(move |&i| img.data[ch * h * w + i]))
            .collect();
        case.assert_close("y", &actual, &[c, size[0], size[1]]);
        checked += 1;
    }
    assert!(checked > 0, "no center_crop case inside its image");
}

#[test]
fn the_resize_size_follows_torchvision_and_timm() {
    // torchvision's shorter-side rule, from the reference case: resize(img, [s]).
    let topic = load_topic("image_ops.json");
    let case = topic
        .cases
        .iter()
        .find(|c| c.name == "resize_bilinear_antialias_shorter_side")
        .expect("the shorter-side resize case");
    let s = case.params["args"]["size"][0].as_u64().unwrap() as usize;
    let shape = &case.input("img").shape;
    let expected = &case.expected("y").shape;
    assert_eq!(
        eval_resize_size([shape[1], shape[2]], [s, s], 1.0),
        [expected[1], expected[2]]
    );
    // timm's default: 224 from floor(224 / 0.875) = 256 on the shorter side
    assert_eq!(eval_resize_size([375, 500], [224, 224], 0.875), [256, 341]);
    assert_eq!(eval_resize_size([500, 375], [224, 224], 0.9), [330, 248]);
    // a non-square target: ResizeKeepRatio([8, 16]) of 8x12, r = min(8/8, 12/16) = 0.75
    assert_eq!(eval_resize_size([8, 12], [7, 14], 0.875), [11, 16]);
}

#[test]
fn decode_options_crop_the_centre_of_the_resized_picture() {
    let crop = DecodeOptions::rgb(7, 7).with_crop_pct(Some(0.875));
    // floor(7 / 0.875) = 8 is already the shorter side: no resize, the centre 7x7 at
    // (round(0.5), round(2.5)) = (0, 2), half to even
    let wide = crop.fit(coordinates(8, 12));
    assert_eq!(wide.shape(), [3, 7, 7]);
    for y in 0..7 {
        for x in 0..7 {
            assert_eq!(wide.pixel(y, x), [y as u8, x as u8 + 2, 7], "({y}, {x})");
        }
    }
    let tall = crop.fit(coordinates(12, 8));
    for y in 0..7 {
        for x in 0..7 {
            assert_eq!(tall.pixel(y, x), [y as u8 + 2, x as u8, 7], "({y}, {x})");
        }
    }
    // without crop_pct the picture is squashed to the size, as before
    assert_eq!(
        DecodeOptions::rgb(7, 7).fit(coordinates(8, 12)),
        coordinates(8, 12).resized([7, 7])
    );
    // a picture twice as large is first resized to 8x12
    let big = coordinates(16, 24);
    assert_eq!(
        crop.fit(big.clone()),
        big.clone().resized([8, 12]).cropped([0, 2], [7, 7])
    );
    // a non-square target: resized to 11x16, then the centre 7x14 at (2, 1)
    let oblong = DecodeOptions::rgb(7, 14).with_crop_pct(Some(0.875));
    let out = oblong.fit(coordinates(8, 12));
    assert_eq!(
        out,
        coordinates(8, 12)
            .resized([11, 16])
            .cropped([2, 1], [7, 14])
    );

    // decoding a file takes the same path
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.png");
    image::RgbImage::from_raw(24, 16, big.pixels.clone())
        .unwrap()
        .save(&path)
        .unwrap();
    assert_eq!(decode_file(&path, &crop).unwrap(), crop.fit(big));
    let gray = crop.with_color(ColorMode::Gray);
    assert_eq!(decode_file(&path, &gray).unwrap().shape(), [1, 7, 7]);
}

#[test]
fn crop_pct_out_of_range_or_without_a_size_is_a_config_error() {
    for bad in [0.0, -0.5, 1.5, f64::NAN] {
        let options = DecodeOptions::rgb(7, 7).with_crop_pct(Some(bad));
        assert_eq!(config_key(options.validate()), "crop_pct", "{bad}");
        let config = LearnerConfig::new().with_crop_pct(Some(bad));
        assert_eq!(config_key(config.validate()), "crop_pct", "{bad}");
    }
    let no_size = DecodeOptions::default().with_crop_pct(Some(0.875));
    assert_eq!(config_key(no_size.validate()), "crop_pct");
    assert!(
        DecodeOptions::rgb(7, 7)
            .with_crop_pct(Some(1.0))
            .validate()
            .is_ok()
    );
    let ds = digits().unwrap();
    assert_eq!(config_key(ds.with_eval_crop(Some(2.0), [8, 8])), "crop_pct");
    // serialized options and run.json files from before crop_pct read as None
    let old: DecodeOptions = serde_json::from_str(r#"{"color": "Rgb", "size": [7, 7]}"#).unwrap();
    assert_eq!(old, DecodeOptions::rgb(7, 7));
}

/// `n` pictures of `[h, w]` in memory, labels alternating over two classes.
fn in_memory(n: usize, h: usize, w: usize) -> ImageDataset {
    let pixels = (0..n)
        .flat_map(|i| {
            coordinates(h, w)
                .pixels
                .into_iter()
                .map(move |p| p ^ (i as u8))
        })
        .collect();
    let labels = (0..n).map(|i| Some(i % 2)).collect();
    ImageDataset::from_memory(
        "memory",
        pixels,
        [3, h, w],
        labels,
        vec!["a".into(), "b".into()],
    )
    .unwrap()
}

#[test]
fn prepare_crops_validation_images_to_the_input_size_and_not_training_images() {
    let train = in_memory(8, 7, 7);
    let valid = in_memory(4, 8, 12);
    let config = LearnerConfig::new()
        .with_batch_size(4)
        .with_crop_pct(Some(0.875));
    let prepared = prepare(&config, train.clone(), Some(valid.clone())).unwrap();
    assert_eq!(prepared.input_shape, [3, 7, 7]);
    let valid_set = prepared.valid.as_ref().unwrap().dataset();
    assert_eq!(valid_set.decode_options().crop_pct, Some(0.875));
    assert_eq!(valid_set.decode_options().size, Some([7, 7]));
    let item = valid_set.decode(1).unwrap().image;
    let source = valid.decode(1).unwrap().image;
    assert_eq!(item, source.cropped([0, 2], [7, 7]));
    // training images are decoded as they are
    assert_eq!(prepared.train.dataset().decode_options().crop_pct, None);
    assert_eq!(
        prepared.train.dataset().decode(0).unwrap().image,
        train.decode(0).unwrap().image
    );
    // without crop_pct validation images are left alone (today's behaviour)
    let plain = prepare(&config.with_crop_pct(None), train, Some(valid)).unwrap();
    let plain_valid = plain.valid.as_ref().unwrap().dataset();
    assert_eq!(plain_valid.decode_options(), DecodeOptions::default());
    assert_eq!(plain_valid.decode(0).unwrap().image.shape(), [3, 8, 12]);
}

#[test]
fn a_run_records_crop_pct_and_predicts_with_it() {
    let _g = crate::learner::lock();
    let dir = tempfile::tempdir().unwrap();
    let device = burn_podium::device::default_device();
    let (train, valid) = digits().unwrap().split_stratified(0.2, 0).unwrap();
    let config = LearnerConfig::new()
        .with_run_dir(dir.path().to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
        .with_epochs(1)
        .with_crop_pct(Some(0.875));
    let model = SimpleCnnConfig::new(10)
        .with_in_channels(1)
        .with_width(8)
        .init(&device)
        .unwrap();
    let fitted = Learner::new(config, &device)
        .fit(model, train, valid.clone())
        .unwrap();
    let info = RunInfo::load(dir.path()).unwrap();
    assert_eq!(info.crop_pct, Some(0.875));
    assert_eq!(info, fitted.info);
    // the 8x8 digits are resized to floor(8 / 0.875) = 9, then centre-cropped to 8x8
    let eval = info.eval_dataset(&valid).unwrap();
    assert_eq!(
        eval.decode(0).unwrap().image,
        valid
            .decode(0)
            .unwrap()
            .image
            .resized([9, 9])
            .cropped([0, 0], [8, 8])
    );
    let predict = |ds: &ImageDataset| {
        burn_podium::infer::predict(
            &fitted.model,
            ds,
            &info.classes,
            &info.normalize,
            64,
            &device,
        )
        .unwrap()
    };
    let ours = fitted.predict(&valid).unwrap();
    assert_eq!(ours, predict(&eval));
    assert_ne!(
        ours,
        predict(&valid),
        "the crop changes what the model sees"
    );
    // a run.json from before crop_pct reads as None and leaves datasets as they are
    let mut old: serde_json::Value = serde_json::to_value(&info).unwrap();
    old.as_object_mut().unwrap().remove("crop_pct");
    let old: RunInfo = serde_json::from_value(old).unwrap();
    assert_eq!(old.crop_pct, None);
    assert_eq!(
        old.eval_dataset(&valid).unwrap().decode_options(),
        valid.decode_options()
    );
}
