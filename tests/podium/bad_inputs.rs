//! The bad-input campaign (README "Bad inputs"): every malformed file, name, CSV, config and
//! weight file a competitor's data holds, each handled with a typed error naming the file, key
//! or value, or read the way PIL / pandas read it, and nothing already written lost.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::config::Config;
use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use burn_podium::PodiumError;
use burn_podium::data::{CorruptPolicy, ImageDataset};
use burn_podium::infer::{Predictions, write_submission_like};
use burn_podium::learner::{Classification, LearnerConfig, load_checkpoint, read_metrics_csv};
use burn_podium::model::{ResNetConfig, SimpleCnnConfig};

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A `w x h` RGB picture whose pixel `(x, y)` is `(10 x, 10 y, 200)`.
fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(10 * x) as u8, (10 * y) as u8, 200])
    })
}

fn jpeg_bytes(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn png_bytes(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A dataset of the single file `path`.
fn one_file(path: &Path) -> ImageDataset {
    ImageDataset::from_files(path, vec![path.to_path_buf()], vec![None], Vec::new()).unwrap()
}

/// The pixels of the one file `path` decodes to, as `([c, h, w], bytes)`.
fn decoded(path: &Path) -> ([usize; 3], Vec<u8>) {
    let item = one_file(path).decode(0).unwrap();
    let b = item.image;
    ([b.channels, b.height, b.width], b.pixels)
}

/// The path of a decode (or I/O) error, or a panic naming what came back.
fn failing_file<T: std::fmt::Debug>(r: Result<T, PodiumError>) -> (PathBuf, String) {
    match r {
        Err(e @ PodiumError::Decode { .. }) | Err(e @ PodiumError::Io { .. }) => {
            let msg = e.to_string();
            match e {
                PodiumError::Decode { path, .. } | PodiumError::Io { path, .. } => (path, msg),
                _ => unreachable!(),
            }
        }
        other => panic!("expected a decode error naming the file, got {other:?}"),
    }
}

/// A CSV error's `(line, reason)`, or a panic.
fn csv_error<T: std::fmt::Debug>(r: Result<T, PodiumError>) -> (u64, String) {
    match r {
        Err(PodiumError::Csv { line, reason, .. }) => (line, reason),
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn zero_byte_image_fails_naming_the_file_or_is_skipped() {
    let d = dir();
    let cls = d.path().join("cat");
    std::fs::create_dir_all(&cls).unwrap();
    std::fs::write(cls.join("a.png"), png_bytes(&picture(4, 4).into())).unwrap();
    std::fs::write(cls.join("b.png"), b"").unwrap();
    let ds = ImageDataset::from_folder(d.path()).unwrap();
    assert_eq!(ds.len(), 2);
    let (path, msg) = failing_file(ds.verify(CorruptPolicy::Fail));
    assert_eq!(path, cls.join("b.png"));
    assert!(msg.contains("b.png"), "{msg}");
    let (clean, skipped) = ds.verify(CorruptPolicy::Skip).unwrap();
    assert_eq!((clean.len(), skipped.len()), (1, 1));
    assert_eq!(clean.name(0), "a.png");
}

#[test]
fn truncated_jpeg_is_a_decode_error_naming_the_file() {
    let d = dir();
    let bytes = jpeg_bytes(&picture(32, 32));
    // the header alone, and the header with half the scan
    for (name, keep) in [("head.jpg", 200), ("half.jpg", bytes.len() / 2)] {
        let path = d.path().join(name);
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let (at, msg) = failing_file(one_file(&path).decode(0));
        assert_eq!(at, path, "{msg}");
    }
}

#[test]
fn truncated_png_is_a_decode_error_naming_the_file() {
    let d = dir();
    let bytes = png_bytes(&picture(32, 32).into());
    for keep in [8, 40, bytes.len() - 20] {
        let path = d.path().join(format!("cut{keep}.png"));
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let (at, _) = failing_file(one_file(&path).decode(0));
        assert_eq!(at, path);
    }
}

#[test]
fn png_named_jpg_decodes_by_content_as_pil_does() {
    let d = dir();
    let img = picture(5, 3);
    let path = d.path().join("actually_png.jpg");
    std::fs::write(&path, png_bytes(&img.clone().into())).unwrap();
    let (shape, pixels) = decoded(&path);
    assert_eq!(shape, [3, 3, 5]);
    // PNG is lossless: the exact pixels (interleaved RGB), rows of 5
    assert_eq!(pixels[..6], [0, 0, 200, 10, 0, 200]);
    assert_eq!(pixels[15..18], [0, 10, 200]);
    // and a text file named .png is a decode error
    let text = d.path().join("notes.png");
    std::fs::write(&text, b"id,label\n").unwrap();
    assert_eq!(failing_file(one_file(&text).decode(0)).0, text);
}

/// An 8x8 baseline JPEG with four components (CMYK, an Adobe APP14 segment with transform 0,
/// as Photoshop writes them), every sample 128: DC differences of category 0 and an
/// end-of-block for each of the four blocks.
fn cmyk_jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend([0xFF, 0xEE, 0x00, 0x0E]);
    j.extend(b"Adobe");
    j.extend([0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]);
    j.extend([0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend([1u8; 64]);
    j.extend([0xFF, 0xC0, 0x00, 0x14, 8, 0, 8, 0, 8, 4]);
    for id in 1..=4 {
        j.extend([id, 0x11, 0]);
    }
    for class in [0x00, 0x10] {
        j.extend([0xFF, 0xC4, 0x00, 0x14, class, 1]);
        j.extend([0u8; 15]);
        j.push(0x00);
    }
    j.extend([0xFF, 0xDA, 0x00, 0x0E, 4]);
    for id in 1..=4 {
        j.extend([id, 0x00]);
    }
    j.extend([0, 63, 0]);
    j.push(0x00); // eight 0 bits: (DC 0, EOB) x 4
    j.extend([0xFF, 0xD9]);
    j
}

#[test]
fn cmyk_jpeg_is_converted_to_rgb() {
    let d = dir();
    let path = d.path().join("cmyk.jpg");
    std::fs::write(&path, cmyk_jpeg()).unwrap();
    let (shape, pixels) = decoded(&path);
    assert_eq!(shape, [3, 8, 8]);
    // Adobe CMYK is stored inverted: C = M = Y = K = 255 - 128 = 127 of ink, and PIL's
    // cmyk2rgb gives (255 - C)(255 - K) / 255 = 128 * 128 / 255 = 64 in every channel
    for &p in &pixels {
        assert!((62..=66).contains(&p), "{p}");
    }
}

#[test]
fn sixteen_bit_png_keeps_the_high_byte() {
    let d = dir();
    let img = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(2, 2, |x, _| {
        image::Rgb([0x1234, 0xFFFF, if x == 0 { 0 } else { 0x8080 }])
    });
    let path = d.path().join("deep.png");
    std::fs::write(&path, png_bytes(&image::DynamicImage::ImageRgb16(img))).unwrap();
    let (shape, px) = decoded(&path);
    assert_eq!(shape, [3, 2, 2]);
    // 16-bit to 8-bit: round(v / 257), which is v >> 8 for these levels (PIL's RGB mode)
    assert_eq!(
        px,
        [0x12, 255, 0, 0x12, 255, 0x80, 0x12, 255, 0, 0x12, 255, 0x80]
    );
}

#[test]
fn palette_png_is_expanded_to_its_colours() {
    let d = dir();
    let path = d.path().join("palette.png");
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, 3, 1);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[2, 1, 0]).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    let (shape, px) = decoded(&path);
    assert_eq!(shape, [3, 1, 3]);
    // blue, green, red
    assert_eq!(px, [0, 0, 255, 0, 255, 0, 255, 0, 0]);
}

#[test]
fn gray_alpha_png_drops_the_alpha_as_pil_convert_rgb() {
    let d = dir();
    let img = image::GrayAlphaImage::from_fn(2, 1, |x, _| image::LumaA([100 + x as u8, 7]));
    let path = d.path().join("la.png");
    std::fs::write(&path, png_bytes(&image::DynamicImage::ImageLumaA8(img))).unwrap();
    let (shape, px) = decoded(&path);
    assert_eq!(shape, [3, 1, 2]);
    assert_eq!(px, [100, 100, 100, 101, 101, 101]);
}

/// A PNG whose header claims `w x h` RGB pixels, followed by a tiny image-data chunk.
fn png_header_claiming(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn gigapixel_header_is_refused_before_allocating_naming_the_file() {
    let d = dir();
    let cls = d.path().join("big");
    std::fs::create_dir_all(&cls).unwrap();
    let path = cls.join("giga.png");
    // 100 000 x 100 000 RGB: 30 GB of pixels from a 70-byte file
    std::fs::write(&path, png_header_claiming(100_000, 100_000)).unwrap();
    let start = Instant::now();
    let (at, msg) = failing_file(one_file(&path).decode(0));
    assert_eq!(at, path);
    assert!(msg.contains("giga.png"), "{msg}");
    let (at, _) = failing_file(
        ImageDataset::from_folder(d.path())
            .unwrap()
            .verify(CorruptPolicy::Fail),
    );
    assert_eq!(at, path);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn non_utf8_file_names_are_read_and_named_lossily() {
    let d = dir();
    let cls = d.path().join("cat");
    std::fs::create_dir_all(&cls).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.png");
    std::fs::write(cls.join(name), png_bytes(&picture(2, 2).into())).unwrap();
    // a hidden file whose name is not UTF-8 is still hidden
    std::fs::write(
        cls.join(std::ffi::OsStr::from_bytes(b"._caf\xe9.png")),
        b"AppleDouble",
    )
    .unwrap();
    let ds = ImageDataset::from_folder(d.path()).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds.path(0).unwrap(), cls.join(name));
    assert_eq!(ds.name(0), "caf\u{FFFD}.png");
    let (clean, skipped) = ds.verify(CorruptPolicy::Fail).unwrap();
    assert_eq!((clean.len(), skipped.len()), (1, 0));
}

#[test]
fn very_long_file_names_are_read_and_named_in_errors() {
    let d = dir();
    let cls = d.path().join("cat");
    std::fs::create_dir_all(&cls).unwrap();
    let long = format!("{}.png", "x".repeat(250));
    let broken = format!("{}.jpg", "y".repeat(250));
    std::fs::write(cls.join(&long), png_bytes(&picture(2, 2).into())).unwrap();
    std::fs::write(cls.join(&broken), b"\xFF\xD8\xFF").unwrap();
    let ds = ImageDataset::from_folder(d.path()).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.name(0), long);
    let (at, msg) = failing_file(ds.verify(CorruptPolicy::Fail));
    assert_eq!(at, cls.join(&broken));
    assert!(msg.contains(&broken), "{msg}");
}

/// `images/` with `a.png`, `b.png`, `c,d.png` (2x2) and the CSV `text` beside it.
fn csv_case(text: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = dir();
    let images = d.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for n in ["a.png", "b.png", "c,d.png"] {
        std::fs::write(images.join(n), png_bytes(&picture(2, 2).into())).unwrap();
    }
    let csv = d.path().join("train.csv");
    std::fs::write(&csv, text).unwrap();
    (d, csv, images)
}

#[test]
fn label_csv_with_bom_crlf_and_quoted_commas_reads_as_python_csv() {
    let (_d, csv, images) =
        csv_case(b"\xEF\xBB\xBFfilename,label\r\na.png,cat\r\n\"c,d.png\",dog\r\nb,cat\r\n");
    let ds = ImageDataset::from_csv(&csv, &images, None).unwrap();
    assert_eq!(ds.classes(), ["cat", "dog"]);
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.name(1), "c,d.png");
    assert_eq!(ds.labels(), [Some(0), Some(1), Some(0)]);
}

#[test]
fn label_csv_with_a_duplicate_id_names_both_lines() {
    let (_d, csv, images) = csv_case(b"id,label\na.png,cat\nb.png,dog\na,dog\n");
    let (line, reason) = csv_error(ImageDataset::from_csv(&csv, &images, None));
    assert_eq!(line, 4);
    assert!(
        reason.contains("a.png") && reason.contains("line 2"),
        "{reason}"
    );
    let cols = burn_podium::data::CsvColumns::new();
    let (line, _) = csv_error(ImageDataset::from_csv_columns(&csv, &images, None, &cols));
    assert_eq!(line, 4);
}

#[test]
fn label_csv_with_an_empty_label_names_the_line() {
    let (_d, csv, images) = csv_case(b"id,label\na.png,cat\nb.png,\n");
    let (line, reason) = csv_error(ImageDataset::from_csv(&csv, &images, None));
    assert_eq!(line, 3);
    assert!(reason.contains("empty"), "{reason}");
    let cols = burn_podium::data::CsvColumns::new();
    let (line, reason) = csv_error(ImageDataset::from_csv_columns(&csv, &images, None, &cols));
    assert_eq!(line, 3);
    assert!(reason.contains("empty `label`"), "{reason}");
}

#[test]
fn label_csv_with_an_unknown_class_names_the_label_and_the_classes() {
    let (_d, csv, images) = csv_case(b"id,label\na.png,cat\nb.png,bird\n");
    let classes = vec!["cat".to_string(), "dog".to_string()];
    let (line, reason) = csv_error(ImageDataset::from_csv(&csv, &images, Some(classes)));
    assert_eq!(line, 3);
    assert!(
        reason.contains("`bird`") && reason.contains("\"dog\""),
        "{reason}"
    );
}

#[test]
fn label_csv_with_float_labels_reads_whole_floats_as_indices_and_refuses_fractions() {
    // pandas writes an integer column that held a NaN as 0.0, 1.0, ...: class indices
    let (_d, csv, images) = csv_case(b"id,label\na.png,0.0\nb.png,2.0\n\"c,d.png\",10.0\n");
    let ds = ImageDataset::from_csv(&csv, &images, None).unwrap();
    assert_eq!(ds.num_classes(), 11);
    assert_eq!(ds.labels(), [Some(0), Some(2), Some(10)]);
    let given = (0..3).map(|c| c.to_string()).collect();
    let (_d2, csv2, images2) = csv_case(b"id,label\na.png,1.0\nb.png,2\n");
    let ds = ImageDataset::from_csv(&csv2, &images2, Some(given)).unwrap();
    assert_eq!(ds.labels(), [Some(1), Some(2)]);
    // a regression target is refused, naming the line of the first fraction
    let (_d3, csv3, images3) = csv_case(b"id,label\na.png,1.0\nb.png,0.25\n");
    let (line, reason) = csv_error(ImageDataset::from_csv(&csv3, &images3, None));
    assert_eq!(line, 3);
    assert!(reason.contains("`0.25`"), "{reason}");
}

#[test]
fn class_folders_skip_hidden_files_and_follow_symlinks() {
    let d = dir();
    let data = d.path().join("data");
    let elsewhere = d.path().join("elsewhere");
    for c in ["cat", "dog"] {
        std::fs::create_dir_all(data.join(c)).unwrap();
    }
    std::fs::create_dir_all(&elsewhere).unwrap();
    let png = png_bytes(&picture(2, 2).into());
    std::fs::write(data.join("cat/a.png"), &png).unwrap();
    std::fs::write(data.join("cat/.hidden.png"), &png).unwrap();
    std::fs::write(data.join("cat/._a.png"), b"resource fork").unwrap();
    std::fs::write(data.join("cat/.DS_Store"), b"finder").unwrap();
    std::fs::create_dir_all(data.join(".ipynb_checkpoints")).unwrap();
    std::fs::write(data.join(".ipynb_checkpoints/x.png"), &png).unwrap();
    std::fs::write(elsewhere.join("b.png"), &png).unwrap();
    std::fs::create_dir_all(elsewhere.join("bird")).unwrap();
    std::fs::write(elsewhere.join("bird/c.png"), &png).unwrap();
    // a symlinked image, a dangling symlink, a symlinked class folder
    std::os::unix::fs::symlink(elsewhere.join("b.png"), data.join("dog/b.png")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("gone.png"), data.join("dog/gone.png")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("bird"), data.join("bird")).unwrap();
    let ds = ImageDataset::from_folder(&data).unwrap();
    assert_eq!(ds.classes(), ["bird", "cat", "dog"]);
    let names: Vec<String> = (0..ds.len()).map(|i| ds.name(i)).collect();
    assert_eq!(names, ["c.png", "a.png", "b.png"]);
    assert_eq!(ds.verify(CorruptPolicy::Fail).unwrap().0.len(), 3);
}

#[test]
fn sample_submission_with_other_ids_is_refused_and_the_previous_file_kept() {
    let d = dir();
    let sample = d.path().join("sample_submission.csv");
    std::fs::write(&sample, "id,label\nimg_1,x\nimg_9,x\n").unwrap();
    let out = d.path().join("submission.csv");
    std::fs::write(&out, "id,label\nimg_1,cat\nimg_2,dog\n").unwrap();
    let preds = Predictions {
        names: vec!["img_1.jpg".into(), "img_2.jpg".into()],
        classes: vec!["cat".into(), "dog".into()],
        probabilities: vec![vec![0.9, 0.1], vec![0.2, 0.8]],
    };
    match write_submission_like(&out, &preds, &sample) {
        Err(e @ PodiumError::Format { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("sample_submission.csv"), "{msg}");
            assert!(msg.contains("`img_9`"), "{msg}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "id,label\nimg_1,cat\nimg_2,dog\n"
    );
    // the test folder has an image the sample does not list
    std::fs::write(&sample, "id,label\nimg_1,x\n").unwrap();
    let msg = write_submission_like(&out, &preds, &sample)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("`img_2.jpg`") && msg.contains("no id in the sample"),
        "{msg}"
    );
}

#[test]
fn misspelled_learner_config_key_is_ignored_by_burns_loader() {
    let d = dir();
    let path = d.path().join("config.json");
    LearnerConfig::new().with_epochs(3).save(&path).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json["learnig_rate"] = serde_json::json!(0.5);
    std::fs::write(&path, json.to_string()).unwrap();
    // burn's Config loader (serde without deny_unknown_fields) keeps the value of the intended
    // key and says nothing: reported; the recipe loader checks recipe keys
    let config = LearnerConfig::load(&path).unwrap();
    assert_eq!(config.epochs, 3);
    assert_eq!(config.lr, 1e-3);
    // a key left out is an error naming it (burn's derive reads every field)
    std::fs::write(&path, r#"{"epochs": 3}"#).unwrap();
    let msg = format!("{:?}", LearnerConfig::load(&path).unwrap_err());
    assert!(msg.contains("missing field"), "{msg}");
    // a wrongly typed value is an error naming the value and its column (not the key)
    json["epochs"] = serde_json::json!("three");
    std::fs::write(&path, json.to_string()).unwrap();
    let msg = format!("{:?}", LearnerConfig::load(&path).unwrap_err());
    assert!(
        msg.contains("three") && msg.contains("expected usize"),
        "{msg}"
    );
}

#[test]
fn out_of_range_values_name_the_key_and_value() {
    let cases: [(LearnerConfig, &str); 4] = [
        (LearnerConfig::new().with_lr(-1.0), "lr"),
        (LearnerConfig::new().with_lr(f64::NAN), "lr"),
        (LearnerConfig::new().with_batch_size(0), "batch_size"),
        (LearnerConfig::new().with_crop_pct(Some(1.5)), "crop_pct"),
    ];
    for (config, key) in cases {
        assert_eq!(crate::fixtures::config_key(config.validate()), key);
    }
    let e = ImageDataset::from_memory(
        "mem",
        vec![0; 4],
        [1, 2, 2],
        vec![Some(3)],
        vec!["a".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("label 3") && e.contains("mem"), "{e}");
}

#[test]
fn weights_file_of_another_architecture_names_a_key() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let device = Device::default();
    let d = dir();
    let file = d.path().join("simple_cnn.safetensors");
    let cnn = SimpleCnnConfig::new(4).with_width(8).init(&device).unwrap();
    let mut store = SafetensorsStore::from_file(&file).with_to_adapter(BurnToPyTorchAdapter);
    cnn.save_into(&mut store).unwrap();
    let resnet = ResNetConfig::new(18)
        .with_num_classes(4)
        .init(&device)
        .unwrap();
    match resnet.load_file(&file) {
        Err(PodiumError::Weights { path, key, reason }) => {
            assert_eq!(path, file);
            assert!(!key.is_empty() && !reason.is_empty());
        }
        other => panic!("expected a weights error, got {other:?}"),
    }
    // not a weight file at all
    let junk = d.path().join("model.pth");
    std::fs::write(&junk, b"<html>404 not found</html>").unwrap();
    let resnet = ResNetConfig::new(18)
        .with_num_classes(4)
        .init(&device)
        .unwrap();
    match resnet.load_file(&junk) {
        Err(e @ (PodiumError::Format { .. } | PodiumError::Weights { .. })) => {
            assert!(e.to_string().contains("model.pth"), "{e}")
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn checkpoint_of_another_architecture_or_damaged_is_a_checkpoint_error() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let device = Device::default();
    let d = dir();
    let path = d.path().join("model-3.bpk");
    let cnn = |w| SimpleCnnConfig::new(4).with_width(w).init(&device).unwrap();
    Classification::with_cross_entropy(cnn(8))
        .into_record()
        .save(&path)
        .unwrap();
    assert!(load_checkpoint(cnn(8), &path).is_ok());
    match load_checkpoint(cnn(4), &path) {
        Err(e @ PodiumError::Checkpoint { .. }) => assert!(e.to_string().contains("model-3.bpk")),
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        load_checkpoint(cnn(8), &path),
        Err(PodiumError::Checkpoint { .. })
    ));
}

#[test]
fn older_metrics_csv_without_score_reads_with_nan_scores() {
    let d = dir();
    let path = d.path().join("metrics.csv");
    std::fs::write(
        &path,
        "epoch,split,loss,accuracy,top5_accuracy,lr,seconds\n0,train,1.5,0.4,0.9,0.001,2.0\n\
         0,valid,1.2,0.5,0.95,0.001,0.5\n",
    )
    .unwrap();
    let rows = read_metrics_csv(&path).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[1].split.as_str(), rows[1].accuracy), ("valid", 0.5));
    assert!(rows.iter().all(|r| r.score.is_nan()));
    // a file of another tool names the line
    std::fs::write(&path, "step,loss\n1,0.5\n").unwrap();
    match read_metrics_csv(&path) {
        Err(PodiumError::Csv {
            line: 1, reason, ..
        }) => assert!(reason.contains("step,loss")),
        other => panic!("expected a CSV error, got {other:?}"),
    }
}
