//! The partial PNG decoder `decode_top_rows` (and its whole-picture fallback for other formats),
//! asking for a fraction of the rows that the first byte picks.
#![no_main]

use std::path::Path;

use burn_podium::codec::decode_top_rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let mut asked = 0;
    if let Ok(top) = decode_top_rows(bytes, Path::new("fuzz.png"), |h, _| {
        asked = h * pick as usize / 255;
        asked
    }) {
        assert!(top.rows.height >= asked.min(top.height) && top.rows.height <= top.height);
        assert_eq!(top.rows.channels, 3);
    }
});
