//! Test data made from the real files in `../shared/data`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/data`, or a panic saying where it looked.
pub fn shared_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        dir.is_dir(),
        "{} not found: the tests need shared/ beside the crate",
        dir.display()
    );
    dir
}

/// The six real photos, sorted by name.
pub fn photos() -> Vec<PathBuf> {
    let dir = shared_data().join("images");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "expected six photos in {}", dir.display());
    files
}

/// Writes `root/<class>/<n>.<ext>` crops of the photos: class `k` takes crops of photo `k`, so
/// classes are visually distinct. Returns the class names.
pub fn photo_folder(root: &Path, classes: usize, per_class: usize, size: u32) -> Vec<String> {
    let photos = photos();
    let mut names = Vec::new();
    for k in 0..classes {
        let img = image::open(&photos[k % photos.len()])
            .expect("photo")
            .to_rgb8();
        let name = format!("class_{k}");
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let (w, h) = img.dimensions();
        for i in 0..per_class {
            let side = (w.min(h) / 2).max(size);
            let x = (i as u32 * 37) % (w - side);
            let y = (i as u32 * 23) % (h - side);
            let crop = image::imageops::crop_imm(&img, x, y, side, side).to_image();
            let small =
                image::imageops::resize(&crop, size, size, image::imageops::FilterType::Triangle);
            let ext = if i % 2 == 0 { "jpg" } else { "png" };
            small.save(dir.join(format!("{i:03}.{ext}"))).unwrap();
        }
        names.push(name);
    }
    names
}

/// Writes a corrupt JPEG at `path`: a real photo with a run of its bytes overwritten, as a
/// damaged download or disk leaves it.
pub fn corrupt_jpeg(path: &Path) {
    let mut bytes = std::fs::read(shared_data().join("images/china.jpg")).unwrap();
    for b in &mut bytes[700..5000] {
        *b = 0x55;
    }
    std::fs::write(path, &bytes).unwrap();
}

/// The key of a [`PodiumError::Config`](burn_podium::PodiumError::Config), or a panic naming
/// what came back instead.
pub fn config_key<T: std::fmt::Debug>(r: Result<T, burn_podium::PodiumError>) -> String {
    match r {
        Err(burn_podium::PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    }
}
