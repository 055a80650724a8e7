//! Readers, decoding, the batcher: values on real and written files, and a typed error naming
//! the file for every kind of bad input.

use std::io::Write;
use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use burn_podium::PodiumError;
use burn_podium::augment::Normalize;
use burn_podium::codec::{Bitmap, ColorMode, DecodeOptions};
use burn_podium::data::{
    CifarLabel, CorruptPolicy, ImageDataset, ImageItem, digits, parse_idx, read_cifar10,
    read_cifar100, read_idx, read_idx_dataset,
};
use burn_podium::loader::ClassificationBatcher;

use crate::fixtures::{corrupt_jpeg, photo_folder, photos, shared_data};

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn embedded_digits_match_the_shared_idx_files() {
    let dir = shared_data().join("digits");
    let from_files = read_idx_dataset(
        dir.join("digits-images-idx3-ubyte"),
        dir.join("digits-labels-idx1-ubyte"),
    )
    .unwrap();
    let embedded = digits().unwrap();
    assert_eq!(embedded.len(), from_files.len());
    assert_eq!(embedded.classes(), from_files.classes());
    assert_eq!(embedded.class_counts(), from_files.class_counts());
    let images = read_idx(dir.join("digits-images-idx3-ubyte")).unwrap();
    let [n, h, w] = images.dims[..] else {
        panic!("dims {:?}", images.dims)
    };
    assert_eq!(n, embedded.len());
    for i in [0, 1, n / 2, n - 1] {
        let item = embedded.decode(i).unwrap();
        assert_eq!(item.shape(), [1, h, w]);
        assert_eq!(item.image.pixels, images.data[i * h * w..(i + 1) * h * w]);
        assert_eq!(item.label, from_files.label(i));
    }
    assert_eq!(embedded.class_counts().iter().sum::<usize>(), n);
}

#[test]
fn idx_reads_plain_and_gzipped_files() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|v| v as u8 * 7).collect();
    let plain = idx_bytes(&[2, 3, 4], &pixels);
    std::fs::write(dir.path().join("img.idx"), &plain).unwrap();
    std::fs::write(dir.path().join("img.idx.gz"), gzip(&plain)).unwrap();
    std::fs::write(
        dir.path().join("lab.idx.gz"),
        gzip(&idx_bytes(&[2], &[1, 4])),
    )
    .unwrap();
    for name in ["img.idx", "img.idx.gz"] {
        let a = read_idx(dir.path().join(name)).unwrap();
        assert_eq!(a.dims, vec![2, 3, 4]);
        assert_eq!(a.data, pixels);
    }
    let ds =
        read_idx_dataset(dir.path().join("img.idx.gz"), dir.path().join("lab.idx.gz")).unwrap();
    assert_eq!(ds.labels(), vec![Some(1), Some(4)]);
    assert_eq!(ds.num_classes(), 5);
    assert_eq!(ds.decode(1).unwrap().image.pixels, pixels[12..]);
}

fn format_error(result: Result<impl std::fmt::Debug, PodiumError>, path: &Path, needle: &str) {
    match result {
        Err(e @ PodiumError::Format { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
        other => panic!("expected a format error containing `{needle}`, got {other:?}"),
    }
}

#[test]
fn idx_errors_name_the_file_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.idx");
    let full = idx_bytes(&[2, 3, 4], &[0; 24]);
    std::fs::write(&truncated, &full[..full.len() - 5]).unwrap();
    format_error(read_idx(&truncated), &truncated, "truncated IDX data");

    let short_header = dir.path().join("header.idx");
    std::fs::write(&short_header, &full[..9]).unwrap();
    format_error(
        read_idx(&short_header),
        &short_header,
        "truncated IDX header",
    );

    let magic = dir.path().join("magic.idx");
    let mut bad = full.clone();
    bad[0] = 0x12;
    std::fs::write(&magic, &bad).unwrap();
    format_error(read_idx(&magic), &magic, "wrong IDX magic number");

    let floats = dir.path().join("floats.idx");
    let mut bad = full.clone();
    bad[2] = 0x0D;
    std::fs::write(&floats, &bad).unwrap();
    format_error(read_idx(&floats), &floats, "element type 0x0D");

    let labels = dir.path().join("labels.idx");
    std::fs::write(&labels, idx_bytes(&[3], &[0, 1, 2])).unwrap();
    std::fs::write(dir.path().join("ok.idx"), &full).unwrap();
    format_error(
        read_idx_dataset(dir.path().join("ok.idx"), &labels),
        &labels,
        "3 labels for 2 images",
    );

    let corrupt_gz = dir.path().join("bad.gz");
    let mut gz = gzip(&full);
    gz.truncate(gz.len() / 2);
    std::fs::write(&corrupt_gz, gz).unwrap();
    format_error(read_idx(&corrupt_gz), &corrupt_gz, "gzip");

    match read_idx(dir.path().join("missing.idx")) {
        Err(PodiumError::Io { path, .. }) => assert!(path.ends_with("missing.idx")),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    // the parser on bytes names its origin
    let err = parse_idx(&[0, 0], Path::new("<bytes>")).unwrap_err();
    assert!(err.to_string().contains("<bytes>"));
}

fn cifar_record(labels: &[u8], seed: u8) -> Vec<u8> {
    let mut rec = labels.to_vec();
    for plane in 0..3u8 {
        rec.extend((0..1024u32).map(|i| (i as u8).wrapping_mul(3).wrapping_add(plane * 50 + seed)));
    }
    rec
}

#[test]
fn cifar_files_decode_planes_to_interleaved_rgb() {
    let dir = tempfile::tempdir().unwrap();
    let b1 = dir.path().join("data_batch_1.bin");
    let b2 = dir.path().join("data_batch_2.bin");
    std::fs::write(&b1, [cifar_record(&[3], 0), cifar_record(&[9], 1)].concat()).unwrap();
    std::fs::write(&b2, cifar_record(&[0], 2)).unwrap();
    let ds = read_cifar10(&[&b1, &b2]).unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.labels(), vec![Some(3), Some(9), Some(0)]);
    assert_eq!(ds.classes()[3], "cat");
    let item = ds.decode(1).unwrap();
    assert_eq!(item.shape(), [3, 32, 32]);
    let rec = cifar_record(&[9], 1);
    // pixel (row 2, col 5): red, green, blue from the three planes
    let p = 2 * 32 + 5;
    assert_eq!(
        &item.image.pixels[p * 3..p * 3 + 3],
        &[rec[1 + p], rec[1 + 1024 + p], rec[1 + 2048 + p]]
    );

    let c100 = dir.path().join("train.bin");
    std::fs::write(
        &c100,
        [cifar_record(&[4, 77], 0), cifar_record(&[19, 99], 0)].concat(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("coarse_label_names.txt"),
        (0..20).map(|i| format!("super{i}\n")).collect::<String>(),
    )
    .unwrap();
    let fine = read_cifar100(&[&c100], CifarLabel::Fine).unwrap();
    assert_eq!(fine.labels(), vec![Some(77), Some(99)]);
    assert_eq!(fine.num_classes(), 100);
    let coarse = read_cifar100(&[&c100], CifarLabel::Coarse).unwrap();
    assert_eq!(coarse.labels(), vec![Some(4), Some(19)]);
    assert_eq!(coarse.classes()[19], "super19");
}

#[test]
fn cifar_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("data_batch_1.bin");
    let mut bytes = cifar_record(&[1], 0);
    bytes.truncate(3000);
    std::fs::write(&truncated, bytes).unwrap();
    format_error(
        read_cifar10(&[&truncated]),
        &truncated,
        "not a whole number of 3073-byte",
    );
    let bad_label = dir.path().join("data_batch_2.bin");
    std::fs::write(&bad_label, cifar_record(&[10], 0)).unwrap();
    format_error(read_cifar10(&[&bad_label]), &bad_label, "label 10");
    // a CIFAR-100 file read as CIFAR-10 has the wrong record size
    let c100 = dir.path().join("test.bin");
    std::fs::write(
        &c100,
        [
            cifar_record(&[1, 2], 0),
            cifar_record(&[1, 2], 0),
            cifar_record(&[1, 2], 0),
        ]
        .concat(),
    )
    .unwrap();
    format_error(read_cifar10(&[&c100]), &c100, "3073-byte");
}

#[test]
fn image_folder_sorts_classes_and_files_and_decodes_real_photos() {
    let dir = tempfile::tempdir().unwrap();
    let classes = photo_folder(dir.path(), 3, 4, 24);
    std::fs::write(dir.path().join("class_0/notes.txt"), "not an image").unwrap();
    std::fs::create_dir(dir.path().join(".hidden")).unwrap();
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    assert_eq!(ds.classes(), classes.as_slice());
    assert_eq!(ds.len(), 12);
    assert_eq!(ds.class_counts(), vec![4, 4, 4]);
    assert_eq!(ds.name(0), "000.jpg");
    assert_eq!(ds.name(1), "001.png");
    assert_eq!(ds.label(5), Some(1));
    let item = ds.decode(1).unwrap();
    assert_eq!(item.shape(), [3, 24, 24]);
    // the PNG is lossless: decoding gives the pixels that were written
    let written = image::open(dir.path().join("class_0/001.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(item.image.pixels, written.into_raw());
    // grayscale and resize on decode
    let gray = ds.clone().with_decode(DecodeOptions {
        color: ColorMode::Gray,
        size: Some([10, 12]),
        crop_pct: None,
        exif_orientation: true,
    });
    assert_eq!(gray.decode(0).unwrap().shape(), [1, 10, 12]);
}

#[test]
fn decodes_jpeg_png_bmp_and_webp() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::open(&photos()[1]).unwrap().to_rgb8();
    let img = image::imageops::resize(&img, 40, 30, image::imageops::FilterType::Triangle);
    for ext in ["png", "bmp", "webp", "jpg"] {
        let p = dir.path().join(format!("x.{ext}"));
        img.save(&p).unwrap();
        let bitmap = burn_podium::codec::decode_file(&p, &DecodeOptions::default()).unwrap();
        let (pixels, h, w) = (bitmap.pixels, bitmap.height, bitmap.width);
        assert_eq!((h, w), (30, 40), "{ext}");
        if ext == "jpg" {
            let mean_err: f64 = pixels
                .iter()
                .zip(img.as_raw())
                .map(|(&a, &b)| (a as f64 - b as f64).abs())
                .sum::<f64>()
                / pixels.len() as f64;
            assert!(mean_err < 8.0, "jpeg mean error {mean_err}");
        } else {
            assert_eq!(&pixels, img.as_raw(), "{ext} is lossless");
        }
    }
    // the real JPEG photos decode at their size
    let china = burn_podium::codec::decode_file(
        &shared_data().join("images/china.jpg"),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert_eq!((china.height, china.width), (427, 640));
}

#[test]
fn folder_errors_name_the_folder_or_file() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 2, 2, 16);
    std::fs::create_dir(dir.path().join("empty_class")).unwrap();
    match ImageDataset::from_folder(dir.path()) {
        Err(e @ PodiumError::Dataset { .. }) => {
            assert!(e.to_string().contains("empty_class"), "{e}");
        }
        other => panic!("expected an empty-class error, got {other:?}"),
    }
    let flat = tempfile::tempdir().unwrap();
    assert!(matches!(
        ImageDataset::from_folder(flat.path()),
        Err(PodiumError::Dataset { .. })
    ));
}

#[test]
fn corrupt_jpeg_fails_by_default_and_can_be_skipped() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 2, 3, 16);
    let bad = dir.path().join("class_1/zz_corrupt.jpg");
    corrupt_jpeg(&bad);
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    match ds.verify(CorruptPolicy::Fail) {
        Err(e @ PodiumError::Decode { .. }) => {
            assert!(e.to_string().contains("zz_corrupt.jpg"), "{e}")
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let (clean, skipped) = ds.verify(CorruptPolicy::Skip).unwrap();
    assert_eq!(clean.len(), 6);
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].to_string().contains("zz_corrupt.jpg"));
    // burn's Dataset::get reports it as an error too
    let i = (0..ds.len())
        .find(|&i| ds.name(i) == "zz_corrupt.jpg")
        .unwrap();
    let err = burn::data::dataset::Dataset::get(&ds, i).unwrap_err();
    assert!(err.to_string().contains("zz_corrupt.jpg"), "{err}");
}

#[test]
fn images_of_different_sizes_need_a_target_size() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 2, 2, 16);
    let img = image::RgbImage::new(20, 16);
    img.save(dir.path().join("class_0/zz_wide.png")).unwrap();
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    let err = ds.verify(CorruptPolicy::Fail).unwrap_err();
    assert!(err.to_string().contains("zz_wide.png"), "{err}");
    let sized = ds.with_decode(DecodeOptions::rgb(16, 16));
    assert_eq!(sized.verify(CorruptPolicy::Fail).unwrap().0.len(), 5);
}

fn csv_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("train");
    std::fs::create_dir(&images).unwrap();
    for (i, p) in photos().iter().take(4).enumerate() {
        let img = image::open(p).unwrap().to_rgb8();
        image::imageops::resize(&img, 12, 12, image::imageops::FilterType::Triangle)
            .save(images.join(format!("id{i}.png")))
            .unwrap();
    }
    (dir, images)
}

#[test]
fn csv_labels_with_or_without_header_names_or_integers() {
    let (dir, images) = csv_fixture();
    let named = dir.path().join("named.csv");
    std::fs::write(
        &named,
        "image_id,label\nid0.png,dog\nid1,cat\nid2.png,dog\nid3,bird\n",
    )
    .unwrap();
    let ds = ImageDataset::from_csv(&named, &images, None).unwrap();
    assert_eq!(ds.classes(), ["bird", "cat", "dog"]);
    assert_eq!(ds.labels(), vec![Some(2), Some(1), Some(2), Some(0)]);
    assert_eq!(ds.name(1), "id1.png");

    let numeric = dir.path().join("numeric.csv");
    std::fs::write(&numeric, "id0.png,3\nid1.png,0\n\nid2.png,1\n").unwrap();
    let ds = ImageDataset::from_csv(&numeric, &images, None).unwrap();
    assert_eq!(ds.classes(), ["0", "1", "2", "3"]);
    assert_eq!(ds.labels(), vec![Some(3), Some(0), Some(1)]);

    let given = ImageDataset::from_csv(
        &named,
        &images,
        Some(vec!["cat".into(), "dog".into(), "bird".into()]),
    )
    .unwrap();
    assert_eq!(given.labels(), vec![Some(1), Some(0), Some(1), Some(2)]);
}

fn csv_error(result: Result<ImageDataset, PodiumError>, line: u64, needle: &str) {
    match result {
        Err(e @ PodiumError::Csv { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!(".csv:{line}:")), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
        other => panic!("expected a CSV error at line {line}, got {other:?}"),
    }
}

#[test]
fn csv_errors_name_the_file_line_and_fault() {
    let (dir, images) = csv_fixture();
    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, "filename,label\nid0.png,a\nid9.png,b\n").unwrap();
    csv_error(
        ImageDataset::from_csv(&missing, &images, None),
        3,
        "`id9.png` not found",
    );

    let unknown = dir.path().join("unknown.csv");
    std::fs::write(&unknown, "id0.png,cat\nid1.png,zebra\n").unwrap();
    csv_error(
        ImageDataset::from_csv(&unknown, &images, Some(vec!["cat".into(), "dog".into()])),
        2,
        "unknown label `zebra`",
    );

    let malformed = dir.path().join("malformed.csv");
    std::fs::write(&malformed, "id0.png,cat\nid1.png,cat,extra\n").unwrap();
    csv_error(
        ImageDataset::from_csv(&malformed, &images, None),
        2,
        "malformed row: 3 fields",
    );

    let empty_field = dir.path().join("empty_field.csv");
    std::fs::write(&empty_field, "id0.png,cat\nid1.png,\n").unwrap();
    csv_error(
        ImageDataset::from_csv(&empty_field, &images, None),
        2,
        "empty field",
    );

    let no_rows = dir.path().join("no_rows.csv");
    std::fs::write(&no_rows, "filename,label\n").unwrap();
    assert!(matches!(
        ImageDataset::from_csv(&no_rows, &images, None),
        Err(PodiumError::Dataset { .. })
    ));
}

#[test]
fn unlabelled_folder_keeps_file_names() {
    let (_dir, images) = csv_fixture();
    let ds = ImageDataset::from_unlabelled_folder(&images).unwrap();
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.labels(), vec![None; 4]);
    assert_eq!(
        (0..4).map(|i| ds.name(i)).collect::<Vec<_>>(),
        ["id0.png", "id1.png", "id2.png", "id3.png"]
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        ImageDataset::from_unlabelled_folder(empty.path()),
        Err(PodiumError::Dataset { .. })
    ));
}

#[test]
fn batcher_normalizes_into_nchw_on_the_device() {
    let item = |index, label, pixels: Vec<u8>| ImageItem {
        image: Bitmap::new(pixels, [3, 1, 2]),
        label: Some(label),
        index,
    };
    let items = vec![
        item(7, 2, vec![0, 51, 102, 153, 204, 255]),
        item(9, 0, vec![255, 255, 255, 0, 0, 0]),
    ];
    let normalize = Normalize::new(vec![0.5, 0.4, 0.2], vec![0.5, 0.2, 0.1]).unwrap();
    let batch =
        ClassificationBatcher::new(normalize.clone()).batch(items.clone(), &Device::default());
    assert_eq!(batch.images.dims(), [2, 3, 1, 2]);
    assert_eq!(batch.indices, vec![7, 9]);
    assert_eq!(batch.targets.try_into_vec_as::<i64>().unwrap(), vec![2, 0]);
    let values = batch.images.try_into_vec_as::<f32>().unwrap();
    for (b, it) in items.iter().enumerate() {
        for c in 0..3 {
            for x in 0..2 {
                let expect = (it.image.pixels[x * 3 + c] as f32 / 255.0 - normalize.mean[c])
                    / normalize.std[c];
                let got = values[(b * 3 + c) * 2 + x];
                assert!(
                    (got - expect).abs() < 1e-5,
                    "b{b} c{c} x{x}: {got} vs {expect}"
                );
            }
        }
    }
    assert!(matches!(
        Normalize::new(vec![0.5], vec![0.0]),
        Err(PodiumError::Config { .. })
    ));
    assert!(matches!(
        Normalize::new(vec![0.5, 0.5], vec![1.0]),
        Err(PodiumError::Config { .. })
    ));
}

#[test]
#[should_panic(expected = "is [3, 2, 2], the batch's first item is [3, 1, 2]")]
fn batcher_panics_naming_the_shapes() {
    let item = |h, index| ImageItem {
        image: Bitmap::new(vec![0; h * 2 * 3], [3, h, 2]),
        label: Some(0),
        index,
    };
    ClassificationBatcher::new(Normalize::imagenet()).to_buffers(&[item(1, 0), item(2, 1)]);
}

#[test]
fn normalization_estimate_matches_the_pixel_statistics() {
    let ds = digits().unwrap();
    let est = Normalize::estimate(&ds, usize::MAX).unwrap();
    let (mut s, mut q, mut n) = (0f64, 0f64, 0f64);
    for i in 0..ds.len() {
        for &p in &ds.decode(i).unwrap().image.pixels {
            let v = p as f64 / 255.0;
            s += v;
            q += v * v;
            n += 1.0;
        }
    }
    let mean = s / n;
    let std = (q / n - mean * mean).sqrt();
    assert!((est.mean[0] as f64 - mean).abs() < 1e-5);
    assert!((est.std[0] as f64 - std).abs() < 1e-5);
}

/// A PNG of `w x h` pixels in `color` (8 bits per sample; a palette of four colours for
/// `Indexed`), its samples a pattern that differs from row to row.
fn png_bytes(color: png::ColorType, depth: png::BitDepth, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(color);
    enc.set_depth(depth);
    if color == png::ColorType::Indexed {
        enc.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 90, 80, 70]);
    }
    let row_bytes = (w as usize * color.samples() * depth as usize).div_ceil(8);
    let data: Vec<u8> = (0..row_bytes * h as usize)
        .map(|k| {
            let v = (k * 37 + k / row_bytes * 11) % 251;
            if color == png::ColorType::Indexed {
                (v % 4) as u8
            } else {
                v as u8
            }
        })
        .collect();
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn top_rows_equal_the_first_rows_of_the_whole_picture() {
    use burn_podium::codec::{decode_bytes, decode_top_rows};
    let mut pictures: Vec<(String, Vec<u8>)> = photos()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    use png::{BitDepth, ColorType};
    for (color, depth) in [
        (ColorType::Grayscale, BitDepth::Eight),
        (ColorType::GrayscaleAlpha, BitDepth::Eight),
        (ColorType::Rgba, BitDepth::Eight),
        (ColorType::Indexed, BitDepth::Eight),
        (ColorType::Grayscale, BitDepth::Four),
        (ColorType::Rgb, BitDepth::Sixteen),
    ] {
        let name = format!("{color:?}-{depth:?}.png");
        pictures.push((name, png_bytes(color, depth, 23, 17)));
    }
    for (name, bytes) in &pictures {
        let origin = Path::new(name);
        let whole = decode_bytes(bytes, origin, &DecodeOptions::default()).unwrap();
        let (h, w) = (whole.height, whole.width);
        for want in [1, h / 3, h - 1, h, h + 5] {
            let mut seen = None;
            let top = decode_top_rows(bytes, origin, |ph, pw| {
                seen = Some([ph, pw]);
                want
            })
            .unwrap();
            assert_eq!(
                seen,
                Some([h, w]),
                "{name}: the size is passed to the callback"
            );
            let rows = top.rows.height;
            assert_eq!([top.height, top.rows.width], [h, w], "{name}");
            assert!(rows >= want.min(h) && rows <= h, "{name}: {} rows", rows);
            assert_eq!(top.rows.shape(), [3, rows, w]);
            assert_eq!(
                top.rows.pixels,
                whole.pixels[..rows * w * 3],
                "{name}: the first {} rows",
                rows
            );
        }
        // the 8-bit PNGs stop where they were asked to
        let partial = decode_top_rows(bytes, origin, |ph, _| ph / 3).unwrap();
        if name.ends_with(".png") && !name.contains("Sixteen") {
            assert_eq!(partial.rows.height, h / 3, "{name}");
        }
    }
    // a PNG cut short, and bytes that are no picture, are decode errors naming the origin
    let cut = &pictures[0].1[..pictures[0].1.len() / 2];
    assert!(pictures[0].0.ends_with("astronaut.png"));
    for bad in [cut, b"not a picture".as_slice()] {
        match decode_top_rows(bad, Path::new("bad.png"), |h, _| h) {
            Err(e @ PodiumError::Decode { .. }) => {
                assert!(e.to_string().contains("bad.png"), "{e}")
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
