//! The loader: a reproducible order, the same batches with any number of threads, errors that
//! name the file.

use burn::data::dataloader::DataLoader;
use burn_podium::augment::Normalize;
use burn_podium::codec::DecodeOptions;
use burn_podium::data::{ImageDataset, digits};
use burn_podium::loader::{ClassificationBatcher, ImageLoader};

use crate::fixtures::{corrupt_jpeg, photo_folder};

fn epoch_batches(loader: &ImageLoader) -> Vec<(Vec<usize>, Vec<f32>)> {
    loader
        .iter()
        .map(|b| {
            let b = b.unwrap();
            (b.indices, b.images.try_into_vec_as::<f32>().unwrap())
        })
        .collect()
}

#[test]
fn same_seed_same_batches_new_epoch_new_order() {
    let data = digits().unwrap().subset(&(0..100).collect::<Vec<_>>());
    let make = || {
        ImageLoader::new(
            data.clone(),
            ClassificationBatcher::new(Normalize::unit(1)),
            16,
        )
        .unwrap()
        .shuffle(5)
    };
    let a = make();
    let b = make();
    let a0 = epoch_batches(&a);
    let b0 = epoch_batches(&b);
    assert_eq!(a0, b0);
    assert_eq!(a0.len(), 7);
    let a1 = epoch_batches(&a);
    assert_ne!(a0[0].0, a1[0].0, "epoch 2 must reshuffle");
    b.set_epoch(1);
    assert_eq!(epoch_batches(&b), a1);
    let mut seen: Vec<usize> = a1.iter().flat_map(|b| b.0.clone()).collect();
    seen.sort();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

#[test]
fn batches_do_not_depend_on_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 3, 5, 20);
    let ds = ImageDataset::from_folder(dir.path())
        .unwrap()
        .with_decode(DecodeOptions::rgb(16, 16));
    let with = |workers| {
        ImageLoader::new(
            ds.clone(),
            ClassificationBatcher::new(Normalize::imagenet()),
            4,
        )
        .unwrap()
        .shuffle(11)
        .num_workers(workers)
        .unwrap()
    };
    let one = epoch_batches(&with(1));
    assert_eq!(one, epoch_batches(&with(2)));
    assert_eq!(one, epoch_batches(&with(0)));
    assert_eq!(one.len(), 4);
    assert_eq!(one[0].1.len(), 4 * 3 * 16 * 16);
}

#[test]
fn drop_last_and_progress() {
    let data = digits().unwrap().subset(&(0..10).collect::<Vec<_>>());
    let loader = ImageLoader::new(data, ClassificationBatcher::new(Normalize::unit(1)), 4).unwrap();
    assert_eq!(loader.num_batches(), 3);
    let mut it = loader.iter();
    it.next().unwrap().unwrap();
    assert_eq!(it.progress().items_processed, 4);
    assert_eq!(it.progress().items_total, 10);
    let dropping = loader.clone().drop_last(true);
    assert_eq!(dropping.num_batches(), 2);
    assert_eq!(dropping.iter().count(), 2);
    assert!(
        ImageLoader::new(
            digits().unwrap(),
            ClassificationBatcher::new(Normalize::unit(1)),
            0
        )
        .is_err()
    );
}

#[test]
fn a_corrupt_file_is_an_error_item_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 2, 2, 16);
    corrupt_jpeg(&dir.path().join("class_0/bad.jpg"));
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    let loader =
        ImageLoader::new(ds, ClassificationBatcher::new(Normalize::imagenet()), 2).unwrap();
    let results: Vec<_> = loader.iter().collect();
    let err = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("an error batch");
    assert!(err.to_string().contains("bad.jpg"), "{err}");
}

#[test]
fn slice_covers_a_range_of_items() {
    let data = digits().unwrap().subset(&(0..20).collect::<Vec<_>>());
    let loader = ImageLoader::new(data, ClassificationBatcher::new(Normalize::unit(1)), 8).unwrap();
    let part = loader.slice(5, 15);
    assert_eq!(part.num_items(), 10);
    let indices: Vec<usize> = part.iter().flat_map(|b| b.unwrap().indices).collect();
    assert_eq!(indices, (0..10).collect::<Vec<_>>());
}

#[test]
fn mixing_loader_is_seeded_per_epoch_and_batch() {
    use burn_podium::mix::MixupConfig;
    let data = digits().unwrap().subset(&(0..64).collect::<Vec<_>>());
    let make = || {
        ImageLoader::new(
            data.clone(),
            ClassificationBatcher::new(Normalize::unit(1)),
            16,
        )
        .unwrap()
        .shuffle(1)
        .mixing(MixupConfig::new().with_mixup_alpha(1.0), 0.1, 9)
        .unwrap()
    };
    let plain = ImageLoader::new(
        data.clone(),
        ClassificationBatcher::new(Normalize::unit(1)),
        16,
    )
    .unwrap()
    .shuffle(1);
    let mixed = |l: &ImageLoader| -> Vec<(Vec<f32>, Vec<f32>)> {
        l.iter()
            .map(|b| {
                let b = b.unwrap();
                let mix = b.mix.expect("mixed batch");
                (
                    b.images.try_into_vec_as::<f32>().unwrap(),
                    mix.lam.iter().map(|&l| l as f32).collect(),
                )
            })
            .collect()
    };
    let (a, b) = (make(), make());
    let first = mixed(&a);
    assert_eq!(first, mixed(&b));
    assert_ne!(first, mixed(&a), "a new epoch draws new lam");
    let unmixed: Vec<Vec<f32>> = plain
        .iter()
        .map(|b| b.unwrap().images.try_into_vec_as::<f32>().unwrap())
        .collect();
    assert_ne!(first[0].0, unmixed[0]);
    assert!(
        first
            .iter()
            .all(|(_, lam)| lam.iter().all(|l| (0.0..=1.0).contains(l)))
    );
    match ImageLoader::new(data, ClassificationBatcher::new(Normalize::unit(1)), 16)
        .unwrap()
        .mixing(MixupConfig::new().with_prob(3.0), 0.1, 0)
    {
        Err(burn_podium::PodiumError::Config { key, .. }) => assert_eq!(key, "mixup.prob"),
        other => panic!("expected a config error, got {other:?}"),
    }
}
