//! Atomic file writes: every file podium writes (checkpoints, `metrics.csv`, `run.json`, plots,
//! out-of-fold and submission files) goes through a temporary file beside it and a rename.
//!
//! A reader (or a run resumed after a crash) sees the previous file or the new one, never half
//! of one: the bytes go to `.NAME.tmp` in the same directory, are flushed to the disk
//! (`fsync`), and the temporary file is then renamed over `NAME`, which POSIX makes atomic
//! within a file system. When writing fails (a full disk, a read-only directory) the temporary
//! file is removed and the previous file is left as it was.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{PodiumError, Result};

/// The temporary file [`write_atomic_with`] writes before the rename: `.NAME.tmp` beside `path`.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `path` atomically (see the module docs): `write` gets the temporary file's path and
/// writes the whole content there; it is then synced and renamed over `path`.
///
/// # Errors
/// The I/O error of `write`, of the sync or of the rename; the temporary file is removed and
/// `path` keeps its previous content.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temporary(path);
    let result = write(&tmp)
        .and_then(|()| File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// [`PodiumError::Io`] naming `path`; the previous file is left intact.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| std::fs::write(tmp, bytes)).map_err(|e| PodiumError::io(path, e))
}

/// Writes text to `path` atomically through a buffered writer handed to `write`.
///
/// # Errors
/// [`PodiumError::Io`] naming `path`; the previous file is left intact.
pub fn write_atomic_text(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let mut f = BufWriter::new(File::create(tmp)?);
        write(&mut f)?;
        f.flush()
    })
    .map_err(|e| PodiumError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("podium-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.csv");
        write_atomic(&path, b"old").unwrap();
        let failed = write_atomic_text(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(matches!(failed, Err(PodiumError::Io { .. })), "{failed:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert!(!temporary(&path).exists());
        write_atomic_text(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
