//! IDX bytes, plain or gzipped (the gzip path starts at the magic bytes `1f 8b`), through
//! `parse_idx`: every input is an `IdxArray` or a typed error, never a panic, a hang or an
//! allocation past `MAX_IDX_DATA_BYTES`.
#![no_main]

use std::path::Path;

use burn_podium::data::parse_idx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(array) = parse_idx(data, Path::new("fuzz.idx")) {
        assert_eq!(array.data.len(), array.dims.iter().product::<usize>());
    }
});
