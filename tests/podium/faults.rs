//! Fault injection: a full disk (a temporary file linked to `/dev/full`) or a directory that
//! turns read-only (skipped as root) while podium writes into it, image files
//! deleted or truncated after the pre-training check (under `CorruptPolicy::Fail` and `Skip`,
//! in a loader and in a training run), and a panic inside the loader.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::tensor::Device;
use burn::train::checkpoint::Checkpointer;
use burn_podium::PodiumError;
use burn_podium::augment::{Normalize, PipelineConfig};
use burn_podium::data::{CorruptPolicy, ImageDataset, OofStore};
use burn_podium::infer::{Predictions, write_probabilities_csv, write_submission_like};
use burn_podium::learner::{
    AtomicFileCheckpointer, Classification, LearnerConfig, ProgressMode, load_checkpoint,
    optimization, prepare, train,
};
use burn_podium::loader::{ClassificationBatcher, ImageLoader};
use burn_podium::mix::MixupConfig;
use burn_podium::model::SimpleCnnConfig;
use burn_podium::util::{write_atomic, write_atomic_text};

/// Makes `dir` read-only (0o555). `false`, with a note, when that does not stop writes (root
/// ignores the mode): the caller then skips its assertions. The mode is restored on drop.
struct ReadOnly<'a>(&'a Path);

impl<'a> ReadOnly<'a> {
    fn new(dir: &'a Path) -> Option<Self> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let guard = Self(dir);
        let probe = dir.join(".probe");
        if std::fs::write(&probe, b"x").is_ok() {
            let _ = std::fs::remove_file(&probe);
            println!("note: chmod 0o555 does not stop writes here (root): assertions skipped");
            return None;
        }
        Some(guard)
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// Makes the next atomic write of `target` hit a full disk: its temporary file
/// (`.NAME.tmp`, [`burn_podium::util::write_atomic_with`]) is a symbolic link to `/dev/full`,
/// where every write fails with `ENOSPC`. Works as root too (unlike a read-only mode).
fn disk_full(target: &Path) {
    let name = target.file_name().unwrap().to_string_lossy();
    let tmp = target.with_file_name(format!(".{name}.tmp"));
    std::os::unix::fs::symlink("/dev/full", tmp).unwrap();
}

/// The path of a [`PodiumError::Io`], or a panic.
fn io_path<T: std::fmt::Debug>(r: Result<T, PodiumError>) -> std::path::PathBuf {
    match r {
        Err(PodiumError::Io { path, .. }) => path,
        other => panic!("expected an I/O error naming the file, got {other:?}"),
    }
}

/// No temporary file left in `dir`.
fn no_leftovers(dir: &Path) {
    let tmp: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[test]
fn read_only_directory_keeps_the_previous_file_for_every_atomic_writer() {
    let d = tempfile::tempdir().unwrap();
    let metrics = d.path().join("metrics.csv");
    let plain = d.path().join("run.json");
    write_atomic_text(&metrics, |w| w.write_all(b"epoch,split\n0,train\n")).unwrap();
    write_atomic(&plain, b"{\"v\":1}").unwrap();
    disk_full(&metrics);
    let e = write_atomic_text(&metrics, |w| w.write_all(&[b'x'; 1 << 16]));
    let msg = e.as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("metrics.csv") && msg.contains("No space left"),
        "{msg}"
    );
    assert_eq!(io_path(e), metrics);
    disk_full(&plain);
    assert_eq!(io_path(write_atomic(&plain, b"{\"v\":2}")), plain);
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap(),
        "epoch,split\n0,train\n"
    );
    assert_eq!(std::fs::read(&plain).unwrap(), b"{\"v\":1}");
    no_leftovers(d.path());
    let Some(_ro) = ReadOnly::new(d.path()) else {
        return;
    };
    assert_eq!(
        io_path(write_atomic_text(&metrics, |w| w.write_all(b"epoch,split\n"))),
        metrics
    );
    assert_eq!(io_path(write_atomic(&plain, b"{\"v\":2}")), plain);
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap(),
        "epoch,split\n0,train\n"
    );
    assert_eq!(std::fs::read(&plain).unwrap(), b"{\"v\":1}");
    no_leftovers(d.path());
}

#[test]
fn read_only_directory_keeps_the_out_of_fold_file() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("oof.csv");
    let mut oof = OofStore::new(2, 2);
    oof.record(0, &[0, 1], &[vec![0.25, 0.75], vec![0.5, 0.5]])
        .unwrap();
    oof.write_csv(&path, &[1, 0]).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    assert!(
        before.starts_with("index,fold,label,p_0,p_1\n0,0,1,0.25,0.75"),
        "{before}"
    );
    disk_full(&path);
    assert_eq!(io_path(oof.write_csv(&path, &[0, 0])), path);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    no_leftovers(d.path());
    let Some(_ro) = ReadOnly::new(d.path()) else {
        return;
    };
    assert_eq!(io_path(oof.write_csv(&path, &[0, 0])), path);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    no_leftovers(d.path());
}

#[test]
fn read_only_directory_keeps_the_submission() {
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let sample = d.path().join("sample_submission.csv");
    std::fs::write(&sample, "id,label\na,x\nb,x\n").unwrap();
    let preds = Predictions {
        names: vec!["a.png".into(), "b.png".into()],
        classes: vec!["cat".into(), "dog".into()],
        probabilities: vec![vec![0.9, 0.1], vec![0.2, 0.8]],
    };
    let sub = out_dir.join("submission.csv");
    let probs = out_dir.join("probabilities.csv");
    write_submission_like(&sub, &preds, &sample).unwrap();
    write_probabilities_csv(&probs, &preds).unwrap();
    assert_eq!(
        std::fs::read_to_string(&sub).unwrap(),
        "id,label\na,cat\nb,dog\n"
    );
    let probs_before = std::fs::read_to_string(&probs).unwrap();
    let flipped = Predictions {
        probabilities: vec![vec![0.1, 0.9], vec![0.8, 0.2]],
        ..preds
    };
    disk_full(&sub);
    disk_full(&probs);
    assert_eq!(io_path(write_submission_like(&sub, &flipped, &sample)), sub);
    assert_eq!(io_path(write_probabilities_csv(&probs, &flipped)), probs);
    assert_eq!(
        std::fs::read_to_string(&sub).unwrap(),
        "id,label\na,cat\nb,dog\n"
    );
    assert_eq!(std::fs::read_to_string(&probs).unwrap(), probs_before);
    no_leftovers(&out_dir);
    let Some(_ro) = ReadOnly::new(&out_dir) else {
        return;
    };
    assert_eq!(io_path(write_submission_like(&sub, &flipped, &sample)), sub);
    assert_eq!(io_path(write_probabilities_csv(&probs, &flipped)), probs);
    assert_eq!(
        std::fs::read_to_string(&sub).unwrap(),
        "id,label\na,cat\nb,dog\n"
    );
    assert_eq!(std::fs::read_to_string(&probs).unwrap(), probs_before);
    no_leftovers(&out_dir);
}

#[test]
fn read_only_directory_keeps_the_last_checkpoint_loadable() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let device = Device::default();
    let d = tempfile::tempdir().unwrap();
    let cnn = || SimpleCnnConfig::new(3).with_width(4).init(&device).unwrap();
    let ckpt = AtomicFileCheckpointer::new(d.path(), "model").unwrap();
    ckpt.save(1, Classification::with_cross_entropy(cnn()).into_record())
        .unwrap();
    let path = ckpt.path(1);
    let before = std::fs::read(&path).unwrap();
    // burn's record writer replaces a file at the temporary path (so `disk_full` does not
    // reach it): a temporary path that cannot be written (a non-empty folder there) fails the
    // save as root too
    let blocked = d.path().join(".model-1.bpk.tmp");
    std::fs::create_dir_all(blocked.join("x")).unwrap();
    assert!(
        ckpt.save(1, Classification::with_cross_entropy(cnn()).into_record())
            .is_err()
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(load_checkpoint(cnn(), &path).is_ok());
    std::fs::remove_dir_all(&blocked).unwrap();
    let Some(_ro) = ReadOnly::new(d.path()) else {
        return;
    };
    // epoch 2 cannot be written, and epoch 1 rewritten fails as well
    let r2 = ckpt.save(2, Classification::with_cross_entropy(cnn()).into_record());
    let msg = format!("{:?}", r2.unwrap_err());
    assert!(msg.to_lowercase().contains("permission"), "{msg}");
    assert!(
        ckpt.save(1, Classification::with_cross_entropy(cnn()).into_record())
            .is_err()
    );
    assert!(!ckpt.path(2).exists());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(load_checkpoint(cnn(), &path).is_ok());
    no_leftovers(d.path());
}

/// `root/cat/NN.png`: `n` 4x4 pictures, checked with [`ImageDataset::verify`].
fn checked_folder(root: &Path, n: usize) -> ImageDataset {
    let cls = root.join("cat");
    std::fs::create_dir_all(&cls).unwrap();
    for i in 0..n {
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([i as u8 * 20, 0, 0]));
        img.save(cls.join(format!("{i:02}.png"))).unwrap();
    }
    let ds = ImageDataset::from_folder(root).unwrap();
    let (clean, skipped) = ds.verify(CorruptPolicy::Fail).unwrap();
    assert!(skipped.is_empty());
    clean
}

/// Every item of one epoch of `loader`, stopping at the first error; panics if the epoch
/// takes more than 30 seconds (a hang).
fn one_epoch(loader: &ImageLoader) -> (usize, Option<String>) {
    let start = Instant::now();
    let mut batches = 0;
    let mut iter = loader.iter();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the loader hangs"
        );
        match iter.next() {
            None => return (batches, None),
            Some(Ok(_)) => batches += 1,
            Some(Err(e)) => {
                // the loader stops after an error
                assert!(iter.next().is_none());
                return (batches, Some(format!("{e:?}")));
            }
        }
    }
}

#[test]
fn image_deleted_or_truncated_after_the_check_fails_the_epoch_naming_it() {
    let d = tempfile::tempdir().unwrap();
    let ds = checked_folder(d.path(), 8);
    let loader = ImageLoader::new(ds, ClassificationBatcher::new(Normalize::unit(3)), 2).unwrap();
    assert_eq!(one_epoch(&loader), (4, None));
    std::fs::remove_file(d.path().join("cat/05.png")).unwrap();
    let (batches, err) = one_epoch(&loader);
    assert_eq!(batches, 2);
    assert!(err.unwrap().contains("05.png"));
    // truncated instead of deleted
    let bytes = std::fs::read(d.path().join("cat/01.png")).unwrap();
    std::fs::write(d.path().join("cat/01.png"), &bytes[..bytes.len() / 2]).unwrap();
    let (batches, err) = one_epoch(&loader);
    assert_eq!(batches, 0);
    assert!(err.unwrap().contains("01.png"));
    // CorruptPolicy::Skip applies at the next check: both are dropped and counted
    let again = ImageDataset::from_folder(d.path()).unwrap();
    let (clean, skipped) = again.verify(CorruptPolicy::Skip).unwrap();
    assert_eq!((clean.len(), skipped.len()), (6, 1));
}

#[test]
fn a_panic_while_a_batch_is_built_surfaces_naming_the_item() {
    let d = tempfile::tempdir().unwrap();
    let ds = checked_folder(d.path(), 6);
    // a 5x5 picture after the check, in a dataset with no target size: stacking it with the
    // 4x4 ones breaks the batcher's one-shape contract, a panic on a rayon worker
    image::RgbImage::from_pixel(5, 5, image::Rgb([1, 2, 3]))
        .save(d.path().join("cat/03.png"))
        .unwrap();
    let loader = ImageLoader::new(ds, ClassificationBatcher::new(Normalize::unit(3)), 2).unwrap();
    let (batches, err) = one_epoch(&loader);
    assert_eq!(batches, 1);
    let err = err.expect("an error, not a short epoch");
    assert!(err.contains("panicked") && err.contains("03.png"), "{err}");
    assert!(err.contains("item 3"), "{err}");
}

/// The batch sizes of one epoch of `loader` and the error that ended it, if one did; panics if
/// the epoch takes more than 30 seconds (a hang) or a batch is empty.
fn batch_sizes(loader: &ImageLoader) -> (Vec<usize>, Option<String>) {
    let start = Instant::now();
    let mut sizes = Vec::new();
    let mut iter = loader.iter();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the loader hangs"
        );
        match iter.next() {
            None => return (sizes, None),
            Some(Ok(batch)) => {
                let n = batch.indices.len();
                assert!(n > 0, "an empty batch");
                assert_eq!(batch.targets.dims()[0], n);
                sizes.push(n);
            }
            Some(Err(e)) => {
                assert!(iter.next().is_none());
                return (sizes, Some(format!("{e:?}")));
            }
        }
    }
}

/// The file names of the loader's skipped items, in order.
fn skipped_names(loader: &ImageLoader) -> Vec<String> {
    loader
        .skipped()
        .iter()
        .map(|s| {
            assert!(s.reason.contains(&*s.path.to_string_lossy()), "{s:?}");
            s.path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn image_deleted_or_truncated_mid_epoch_is_dropped_and_counted_under_skip() {
    let d = tempfile::tempdir().unwrap();
    let ds = checked_folder(d.path(), 8);
    let batcher = ClassificationBatcher::new(Normalize::unit(3));
    let plain = ImageLoader::new(ds.clone(), batcher.clone(), 3)
        .unwrap()
        .corrupt_images(CorruptPolicy::Skip);
    // the encoded-bytes path (apply_encoded behind a leading crop), shuffled
    let crop = PipelineConfig::from_json(
        r#"{"transforms": [{"name": "random_resized_crop", "size": [4, 4]}]}"#,
    )
    .unwrap()
    .init()
    .unwrap();
    let augmented = ImageLoader::new(ds.clone(), batcher.clone(), 3)
        .unwrap()
        .shuffle(5)
        .augment(crop, 9)
        .unwrap()
        .corrupt_images(CorruptPolicy::Skip);
    // batch mixing needs even batches: a batch left odd by a skip leaves out one more item
    let mixed = ImageLoader::new(ds.clone(), batcher, 4)
        .unwrap()
        .mixing(MixupConfig::new(), 0.0, 3)
        .unwrap()
        .corrupt_images(CorruptPolicy::Skip);
    assert_eq!(batch_sizes(&plain), (vec![3, 3, 2], None));
    assert_eq!(plain.skipped_images(), 0);

    std::fs::remove_file(d.path().join("cat/05.png")).unwrap();
    assert_eq!(batch_sizes(&plain), (vec![3, 2, 2], None));
    assert_eq!(skipped_names(&plain), ["05.png"]);
    let s = &plain.skipped()[0];
    assert_eq!((s.epoch, s.index), (1, 5));
    let (sizes, err) = batch_sizes(&augmented);
    assert_eq!((sizes.iter().sum::<usize>(), err), (7, None));
    assert_eq!(skipped_names(&augmented), ["05.png"]);
    assert_eq!(batch_sizes(&mixed), (vec![4, 2], None));
    assert_eq!(mixed.skipped_images(), 1);

    // truncated instead of deleted: both dropped, counted again in this epoch
    let bytes = std::fs::read(d.path().join("cat/01.png")).unwrap();
    std::fs::write(d.path().join("cat/01.png"), &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(batch_sizes(&plain), (vec![2, 2, 2], None));
    assert_eq!(skipped_names(&plain), ["05.png", "01.png", "05.png"]);
    assert!(
        plain.skipped()[1].reason.contains("decode"),
        "{:?}",
        plain.skipped()
    );
    let (sizes, err) = batch_sizes(&augmented);
    assert_eq!((sizes.iter().sum::<usize>(), err), (6, None));
    assert_eq!(augmented.skipped_images(), 3);

    // a batch whose every item is gone is not sent (no empty batch)
    std::fs::remove_file(d.path().join("cat/06.png")).unwrap();
    std::fs::remove_file(d.path().join("cat/07.png")).unwrap();
    assert_eq!(batch_sizes(&plain), (vec![2, 2], None));
    assert_eq!(plain.skipped_images(), 3 + 4);
    // every file gone: the epoch ends with an error, not an empty epoch or a hang
    for i in [0, 2, 3, 4] {
        std::fs::remove_file(d.path().join(format!("cat/{i:02}.png"))).unwrap();
    }
    let (sizes, err) = batch_sizes(&plain);
    assert!(sizes.is_empty());
    let err = err.expect("an error for an epoch with no item left");
    assert!(err.contains("every one of the 8 items"), "{err}");
    // the default policy still fails the epoch naming the file
    let failing = ImageLoader::new(ds, ClassificationBatcher::new(Normalize::unit(3)), 3).unwrap();
    let (sizes, err) = batch_sizes(&failing);
    assert!(sizes.is_empty());
    assert!(err.unwrap().contains("00.png"));
}

/// `root/{cat,dog}/NN.png`: `n` 6x6 pictures per class, cats dark and dogs bright.
fn two_class_folder(root: &Path, n: usize) -> ImageDataset {
    for (class, level) in [("cat", 30u8), ("dog", 220)] {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            let img = image::RgbImage::from_pixel(6, 6, image::Rgb([level, level + i as u8, 9]));
            img.save(dir.join(format!("{i:02}.png"))).unwrap();
        }
    }
    ImageDataset::from_folder(root).unwrap()
}

#[test]
fn a_training_run_under_skip_finishes_when_images_are_deleted_after_the_check() {
    let _g = crate::learner::lock();
    let d = tempfile::tempdir().unwrap();
    let device = Device::default();
    let train_set = two_class_folder(&d.path().join("train"), 5);
    let valid_set = two_class_folder(&d.path().join("valid"), 2);
    let config = LearnerConfig::new()
        .with_run_dir(d.path().join("run").to_string_lossy().into_owned())
        .with_progress(ProgressMode::Quiet)
        .with_epochs(2)
        .with_batch_size(4)
        .with_drop_last(false)
        .with_corrupt_images(CorruptPolicy::Skip);
    let prepared = prepare(&config, train_set, Some(valid_set)).unwrap();
    // after the check: one training image deleted, one validation image truncated
    std::fs::remove_file(d.path().join("train/cat/03.png")).unwrap();
    std::fs::write(d.path().join("valid/dog/01.png"), b"\x89PNG\r\n").unwrap();
    let (train_loader, valid_loader) = (prepared.train.clone(), prepared.valid.clone().unwrap());
    let model = SimpleCnnConfig::new(2).with_width(4).init(&device).unwrap();
    let optim = optimization(&config, &model, prepared.updates_per_epoch).unwrap();
    let start = Instant::now();
    let trained = train(
        &config,
        model,
        prepared.objective,
        (prepared.train, prepared.valid.unwrap()),
        optim,
        &device,
    )
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(120));
    let epochs: Vec<(usize, &str)> = trained
        .history
        .iter()
        .map(|r| (r.epoch, r.split.as_str()))
        .collect();
    assert_eq!(
        epochs,
        [(1, "train"), (1, "valid"), (2, "train"), (2, "valid")]
    );
    assert!(trained.history.iter().all(|r| r.loss.is_finite()));
    // each file once per epoch
    assert_eq!(skipped_names(&train_loader), ["03.png", "03.png"]);
    assert_eq!(skipped_names(&valid_loader), ["01.png", "01.png"]);
    assert!(
        valid_loader
            .skipped()
            .iter()
            .all(|s| s.path.ends_with("valid/dog/01.png")),
        "{:?}",
        valid_loader.skipped()
    );
}
