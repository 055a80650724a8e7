//! The IDX parser behind a valid gzip stream: the fuzz input gzipped must parse exactly as the
//! input itself does (same array, or an error both ways).
#![no_main]

use std::io::Write;
use std::path::Path;

use burn_podium::data::parse_idx;
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    let gz = encoder.finish().unwrap();
    let inflated = parse_idx(&gz, Path::new("fuzz.idx.gz"));
    if !data.starts_with(&[0x1f, 0x8b]) {
        let plain = parse_idx(data, Path::new("fuzz.idx"));
        assert_eq!(inflated.ok(), plain.ok());
    }
});
