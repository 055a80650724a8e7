//! Encoded image bytes (JPEG, PNG, BMP, WebP) through `decode_bytes` with the options the first
//! byte picks: colour mode, no target size or a small one, with or without timm's crop_pct.
#![no_main]

use std::path::Path;

use burn_podium::codec::{ColorMode, DecodeOptions, decode_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let color = if pick & 1 == 0 {
        ColorMode::Rgb
    } else {
        ColorMode::Gray
    };
    let size = match (pick >> 1) & 3 {
        0 => None,
        1 => Some([8, 8]),
        2 => Some([5, 12]),
        _ => Some([1, 3]),
    };
    let crop_pct = (pick & 8 != 0 && size.is_some()).then_some(0.875);
    let options = DecodeOptions::default()
        .with_color(color)
        .with_size(size)
        .with_crop_pct(crop_pct);
    if let Ok(bitmap) = decode_bytes(bytes, Path::new("fuzz.img"), &options) {
        assert_eq!(bitmap.channels, color.channels());
        if let Some([h, w]) = size {
            assert_eq!((bitmap.height, bitmap.width), (h, w));
        }
    }
});
