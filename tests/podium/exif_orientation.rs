//! EXIF orientation (README "Bad inputs"): every decoding entry point follows the orientation
//! tag as PIL's `ImageOps.exif_transpose` does, with the upright size handed on before the
//! pixels, and `DecodeOptions::exif_orientation = false` keeps the stored pixels.
//!
//! The expected pictures are PIL's transposes written out index by index (not the `image`
//! crate's), from the pixels decoded with the orientation switched off.

use std::path::Path;

use burn_podium::augment::PipelineConfig;
use burn_podium::codec::{
    Bitmap, ColorMode, DecodeOptions, decode_bytes, decode_top_rows, decode_top_rows_with,
};
use burn_podium::data::ImageDataset;
use image::ImageEncoder;

/// A big-endian TIFF block (what an EXIF segment or a PNG `eXIf` chunk holds) whose first IFD
/// has one entry: the orientation tag 0x0112, one SHORT.
fn exif_block(orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend([0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0, 0, 0, 0, 0]);
    tiff
}

/// `jpeg` with an APP1 `Exif` segment holding [`exif_block`] inserted by hand after its SOI.
fn jpeg_with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_block(orientation));
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend((payload.len() as u16 + 2).to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

/// A `w x h` RGB picture with a different colour at every pixel.
fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(13 * x) as u8, (29 * y) as u8, (7 * x + 3 * y) as u8])
    })
}

fn jpeg(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// `img` as a PNG whose `eXIf` chunk says `orientation`.
fn png_with_orientation(img: &image::RgbImage, orientation: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
    encoder.set_exif_metadata(exif_block(orientation)).unwrap();
    encoder
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// PIL's `exif_transpose` of `b` for `orientation`, pixel by pixel: output pixel `(y, x)` of
/// the `[h', w']` result is input pixel `source(y, x)` of the `[h, w]` picture.
fn pil_transpose(b: &Bitmap, orientation: u16) -> Bitmap {
    let (h, w) = (b.height, b.width);
    let swapped = orientation >= 5;
    let (oh, ow) = if swapped { (w, h) } else { (h, w) };
    let source = |y: usize, x: usize| match orientation {
        2 => (y, w - 1 - x),         // FLIP_LEFT_RIGHT
        3 => (h - 1 - y, w - 1 - x), // ROTATE_180
        4 => (h - 1 - y, x),         // FLIP_TOP_BOTTOM
        5 => (x, y),                 // TRANSPOSE
        6 => (h - 1 - x, y),         // ROTATE_270: 90 degrees clockwise
        7 => (h - 1 - x, w - 1 - y), // TRANSVERSE
        8 => (x, w - 1 - y),         // ROTATE_90: 90 degrees counter-clockwise
        _ => (y, x),
    };
    let mut pixels = Vec::with_capacity(b.pixels.len());
    for y in 0..oh {
        for x in 0..ow {
            let (sy, sx) = source(y, x);
            pixels.extend_from_slice(b.pixel(sy, sx));
        }
    }
    Bitmap::new(pixels, [b.channels, oh, ow])
}

fn stored() -> DecodeOptions {
    DecodeOptions::default().with_exif_orientation(false)
}

#[test]
fn every_exif_orientation_of_a_jpeg_is_transposed_as_pil_exif_transpose() {
    let origin = Path::new("rotated.jpg");
    let plain = jpeg(&picture(16, 8));
    let as_stored = decode_bytes(&plain, origin, &DecodeOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for orientation in 1..=8u16 {
        let bytes = jpeg_with_orientation(&plain, orientation);
        // switched off: the stored pixels, whatever the tag says
        assert_eq!(decode_bytes(&bytes, origin, &stored()).unwrap(), as_stored);
        let want = pil_transpose(&as_stored, orientation);
        let upright = decode_bytes(&bytes, origin, &DecodeOptions::default()).unwrap();
        assert_eq!(upright, want, "orientation {orientation}");
        let tall = orientation >= 5;
        assert_eq!(
            [upright.height, upright.width],
            if tall { [16, 8] } else { [8, 16] }
        );
        // grayscale: the same transpose of the stored gray pixels
        let gray = DecodeOptions::default().with_color(ColorMode::Gray);
        let stored_gray = decode_bytes(&bytes, origin, &gray.with_exif_orientation(false));
        assert_eq!(
            decode_bytes(&bytes, origin, &gray).unwrap(),
            pil_transpose(&stored_gray.unwrap(), orientation)
        );
        // resized (and timm's crop_pct) on decode: from the upright size
        for options in [
            DecodeOptions::rgb(10, 6),
            DecodeOptions::rgb(4, 4).with_crop_pct(Some(0.875)),
        ] {
            assert_eq!(
                decode_bytes(&bytes, origin, &options).unwrap(),
                options.fit(want.clone()),
                "orientation {orientation}, {options:?}"
            );
        }
        // a dataset decodes files the same way, and can be switched off
        let path = dir.path().join(format!("o{orientation}.jpg"));
        std::fs::write(&path, &bytes).unwrap();
        let ds = ImageDataset::from_files(&path, vec![path.clone()], vec![None], vec![]).unwrap();
        assert_eq!(ds.decode(0).unwrap().image, want);
        assert_eq!(ds.with_decode(stored()).decode(0).unwrap().image, as_stored);
    }
    // tags outside 1..=8 are ignored (PIL's exif_transpose leaves the picture as it is)
    for orientation in [0, 9, 300] {
        let bytes = jpeg_with_orientation(&plain, orientation);
        let got = decode_bytes(&bytes, origin, &DecodeOptions::default()).unwrap();
        assert_eq!(got, as_stored, "orientation {orientation}");
    }
}

#[test]
fn the_partial_png_decoder_gives_the_upright_size_and_rows() {
    let origin = Path::new("rotated.png");
    let img = picture(7, 5);
    let as_stored = Bitmap::new(img.clone().into_raw(), [3, 5, 7]);
    for orientation in 1..=8u16 {
        let bytes = png_with_orientation(&img, orientation);
        let want = pil_transpose(&as_stored, orientation);
        let upright = decode_bytes(&bytes, origin, &DecodeOptions::default()).unwrap();
        assert_eq!(upright, want, "orientation {orientation}");
        assert_eq!(decode_bytes(&bytes, origin, &stored()).unwrap(), as_stored);
        let mut asked = None;
        let top = decode_top_rows(&bytes, origin, |h, w| {
            asked = Some([h, w]);
            2
        })
        .unwrap();
        assert_eq!(
            asked,
            Some([want.height, want.width]),
            "orientation {orientation}"
        );
        assert_eq!(top.height, want.height);
        let rows = top.rows.height;
        assert!(rows >= 2 && rows <= want.height);
        let n = rows * want.width * 3;
        assert_eq!(
            top.rows.pixels,
            want.pixels[..n],
            "orientation {orientation}"
        );
        // orientations 1 and 2 keep the stored top rows on top: decoded only down to them
        if orientation <= 2 {
            assert_eq!(rows, 2);
        }
        // switched off: the stored size and rows
        let top = decode_top_rows_with(&bytes, origin, false, |h, w| {
            asked = Some([h, w]);
            2
        })
        .unwrap();
        assert_eq!(asked, Some([5, 7]));
        assert_eq!(top.rows.pixels, as_stored.pixels[..2 * 7 * 3]);
    }
}

#[test]
fn apply_encoded_crops_the_upright_picture() {
    let origin = Path::new("rotated.png");
    let img = picture(40, 24);
    let pipeline = PipelineConfig::from_json(
        r#"{"transforms": [{"name": "random_resized_crop", "size": [12, 10]},
                           {"name": "horizontal_flip"}]}"#,
    )
    .unwrap()
    .init()
    .unwrap();
    let plain = jpeg(&img);
    for orientation in [1u16, 2, 3, 6, 8] {
        for bytes in [
            png_with_orientation(&img, orientation),
            jpeg_with_orientation(&plain, orientation),
        ] {
            let upright = decode_bytes(&bytes, origin, &DecodeOptions::default()).unwrap();
            let kept = decode_bytes(&bytes, origin, &stored()).unwrap();
            assert_eq!(upright, pil_transpose(&kept, orientation));
            for index in 0..4 {
                let want = pipeline.apply_interleaved(&upright, 5, 1, index);
                let got = pipeline.apply_encoded(&bytes, origin, 5, 1, index).unwrap();
                assert_eq!(got, want, "orientation {orientation}, sample {index}");
            }
        }
    }
}
