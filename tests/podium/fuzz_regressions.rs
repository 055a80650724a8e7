//! Inputs the fuzz targets (fuzz/, README "Fuzzing") found or were written against: absurd header
//! sizes and decompression bombs are refused before allocating, with a typed error naming the
//! file and the value; every crash reproducer under tests/data/fuzz/ is a typed error or a value.

use std::io::Write;
use std::path::Path;

use burn_podium::PodiumError;
use burn_podium::augment::PipelineConfig;
use burn_podium::codec::{DecodeOptions, MAX_IMAGE_PIXELS, decode_bytes, decode_top_rows};
use burn_podium::data::{MAX_IDX_DATA_BYTES, parse_idx};

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn format_reason<T: std::fmt::Debug>(r: burn_podium::Result<T>, file: &str) -> String {
    match r {
        Err(PodiumError::Format { path, reason }) if path == Path::new(file) => reason,
        other => panic!("expected a format error naming {file}, got {other:?}"),
    }
}

fn decode_reason<T: std::fmt::Debug>(r: burn_podium::Result<T>, file: &str) -> String {
    match r {
        Err(PodiumError::Decode { path, reason }) if path == Path::new(file) => reason,
        other => panic!("expected a decode error naming {file}, got {other:?}"),
    }
}

#[test]
fn idx_dimensions_past_the_limit_are_refused_plain_and_gzipped() {
    // 65535^3 bytes = 281 TB announced by a 16-byte header
    let huge = idx_header(&[65535, 65535, 65535]);
    for bytes in [huge.clone(), gzip(&huge)] {
        let reason = format_reason(parse_idx(&bytes, Path::new("huge.idx")), "huge.idx");
        assert!(reason.contains("[65535, 65535, 65535]"), "{reason}");
        assert!(reason.contains("MAX_IDX_DATA_BYTES"), "{reason}");
    }
    // one byte over the limit, and dimensions whose product overflows 64 bits
    let over = idx_header(&[2, (MAX_IDX_DATA_BYTES / 2) as u32 + 1]);
    let overflow = idx_header(&[u32::MAX, u32::MAX, u32::MAX]);
    for bytes in [over, overflow] {
        let reason = format_reason(parse_idx(&bytes, Path::new("x.idx")), "x.idx");
        assert!(reason.contains("MAX_IDX_DATA_BYTES"), "{reason}");
    }
    // at the limit the header passes and the missing body is the fault
    let at = idx_header(&[2, (MAX_IDX_DATA_BYTES / 2) as u32]);
    let reason = format_reason(parse_idx(&at, Path::new("at.idx")), "at.idx");
    assert!(reason.starts_with("truncated IDX data"), "{reason}");
}

#[test]
fn an_idx_gzip_bomb_is_not_inflated_past_its_announced_size() {
    // a 3-byte image announced, 64 MiB of zeros inflated from about 64 KB
    let mut body = idx_header(&[1, 1, 3]);
    body.extend(std::iter::repeat_n(0u8, 64 << 20));
    let bomb = gzip(&body);
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    let reason = format_reason(parse_idx(&bomb, Path::new("bomb.idx.gz")), "bomb.idx.gz");
    assert!(reason.contains("inflates past the 3 bytes"), "{reason}");
    // the same stream cut to its announced size parses
    let exact = gzip(&body[..16 + 3]);
    let a = parse_idx(&exact, Path::new("ok.idx.gz")).unwrap();
    assert_eq!((a.dims, a.data), (vec![1, 1, 3], vec![0, 0, 0]));
}

/// A PNG whose header claims `width` x `height` RGB pixels, with one small compressed row.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&[0u8; 64]).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_png_claiming_100000_by_100000_pixels_is_refused_before_decoding() {
    let png = png_claiming(100_000, 100_000);
    assert!(png.len() < 100);
    let file = "bomb.png";
    let reasons = [
        decode_reason(
            decode_bytes(&png, Path::new(file), &DecodeOptions::default()),
            file,
        ),
        decode_reason(decode_top_rows(&png, Path::new(file), |h, _| h), file),
        decode_reason(
            PipelineConfig::from_json(
                r#"{"transforms": [{"name": "random_resized_crop", "size": [8, 8]}]}"#,
            )
            .unwrap()
            .init()
            .unwrap()
            .apply_encoded(&png, Path::new(file), 0, 0, 0),
            file,
        ),
    ];
    for reason in reasons {
        assert!(
            reason.contains("100000x100000 = 10000000000 pixels"),
            "{reason}"
        );
        assert!(reason.contains("MAX_IMAGE_PIXELS"), "{reason}");
    }
    // one pixel over PIL's limit is refused; a small picture's truncated data is the fault
    let over = png_claiming(MAX_IMAGE_PIXELS as u32 + 1, 1);
    let reason = decode_reason(decode_top_rows(&over, Path::new(file), |h, _| h), file);
    assert!(reason.contains("MAX_IMAGE_PIXELS"), "{reason}");
    let small = png_claiming(64, 64);
    let reason = decode_reason(decode_top_rows(&small, Path::new(file), |h, _| h), file);
    assert!(!reason.contains("MAX_IMAGE_PIXELS"), "{reason}");
}

#[test]
fn a_pipeline_growing_an_image_past_the_pixel_limit_is_refused_at_init() {
    // pipeline_json found it: a 96x8663332 intermediate crop allocated 10 GB per image
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/pipeline_json/oom-784ca5318a4798616658766f58da5ac00c466791");
    let text = std::fs::read_to_string(file).unwrap();
    let err = PipelineConfig::from_json(&text)
        .unwrap()
        .init()
        .unwrap_err();
    let PodiumError::Config { key, value, reason } = err else {
        panic!("a config error, got {err:?}")
    };
    assert_eq!(key, "transforms[0].random_resized_crop.size");
    assert_eq!(value, "[96, 8663332]");
    assert!(reason.contains("MAX_IMAGE_PIXELS"), "{reason}");
    // the same crop at a sane size builds
    let ok = text.replace("8663332", "96");
    let pipeline = PipelineConfig::from_json(&ok).unwrap().init().unwrap();
    assert_eq!(pipeline.output_shape([3, 16, 16]).unwrap(), [3, 23, 6]);
}
