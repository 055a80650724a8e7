//! CIFAR-10 and CIFAR-100 binaries (with the class-name file beside them) through
//! `read_cifar10` / `read_cifar100`. The first byte is the length of the class-name text, which
//! follows; the rest is the data file. The files live in `/dev/shm` when there is one, so an
//! execution costs the parse, not the disk.
#![no_main]

use std::sync::OnceLock;

use burn_podium::data::{CifarLabel, read_cifar10, read_cifar100};
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&meta_len, rest)) = data.split_first() else {
        return;
    };
    let (meta, body) = rest.split_at((meta_len as usize).min(rest.len()));
    let dir = DIR
        .get_or_init(|| tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap()).path();
    for name in [
        "batches.meta.txt",
        "fine_label_names.txt",
        "coarse_label_names.txt",
    ] {
        std::fs::write(dir.join(name), meta).unwrap();
    }
    let file = dir.join("data_batch_1.bin");
    std::fs::write(&file, body).unwrap();
    let n10 = read_cifar10(&[&file]).map(|d| d.len());
    let n100 = read_cifar100(&[&file], CifarLabel::Fine).map(|d| d.len());
    let coarse = read_cifar100(&[&file], CifarLabel::Coarse).map(|d| d.len());
    if let Ok(n) = n10 {
        assert_eq!(n, body.len() / 3073);
    }
    if let (Ok(fine), Ok(coarse)) = (n100, coarse) {
        assert_eq!((fine, coarse), (body.len() / 3074, body.len() / 3074));
    }
});
