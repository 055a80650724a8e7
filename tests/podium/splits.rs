//! Random, stratified and fixed splits.

use std::collections::HashSet;

use burn_podium::PodiumError;
use burn_podium::data::{ImageDataset, digits, random_split_indices, stratified_split_indices};

use crate::fixtures::photo_folder;

#[test]
fn random_split_is_seeded_disjoint_and_complete() {
    let (t, v) = random_split_indices(100, 0.25, 7).unwrap();
    assert_eq!((t.len(), v.len()), (75, 25));
    let all: HashSet<usize> = t.iter().chain(&v).copied().collect();
    assert_eq!(all.len(), 100);
    assert_eq!(
        random_split_indices(100, 0.25, 7).unwrap(),
        (t.clone(), v.clone())
    );
    assert_ne!(random_split_indices(100, 0.25, 8).unwrap().1, v);
    assert!(t.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn stratified_split_keeps_class_proportions() {
    let data = digits().unwrap();
    let (train, valid) = data.split_stratified(0.2, 42).unwrap();
    assert_eq!(train.len() + valid.len(), data.len());
    for ((all, tr), va) in data
        .class_counts()
        .iter()
        .zip(train.class_counts())
        .zip(valid.class_counts())
    {
        assert_eq!(tr + va, *all);
        assert_eq!(va, (*all as f64 * 0.2).round() as usize);
    }
    let (_, valid2) = data.split_stratified(0.2, 42).unwrap();
    assert_eq!(valid.labels(), valid2.labels());
    let (_, valid3) = data.split_stratified(0.2, 43).unwrap();
    let names = |d: &ImageDataset| (0..d.len()).map(|i| d.name(i)).collect::<Vec<_>>();
    assert_ne!(names(&valid), names(&valid3));
}

#[test]
fn split_fraction_and_labels_are_checked() {
    for bad in [0.0, 1.0, -0.1, f64::NAN] {
        match random_split_indices(10, bad, 0) {
            Err(PodiumError::Config { key, .. }) => assert_eq!(key, "valid_fraction"),
            other => panic!("{bad}: expected a config error, got {other:?}"),
        }
    }
    assert!(matches!(
        stratified_split_indices(&[Some(0), None], 0.5, 0),
        Err(PodiumError::Config { .. })
    ));
}

#[test]
fn fixed_split_by_names_and_list_file() {
    let dir = tempfile::tempdir().unwrap();
    photo_folder(dir.path(), 2, 3, 12);
    let ds = ImageDataset::from_folder(dir.path()).unwrap();
    // class_0: 000.jpg 001.png 002.jpg; class_1: the same names
    let (train, valid) = ds.split_by_names(&["001.png", "002"]).unwrap();
    assert_eq!(valid.len(), 4);
    assert_eq!(train.len(), 2);
    assert!((0..train.len()).all(|i| train.name(i) == "000.jpg"));
    let list = dir.path().join("valid.txt");
    std::fs::write(&list, "# held out\n000.jpg\n\n").unwrap();
    let (train, valid) = ds.split_by_list_file(&list).unwrap();
    assert_eq!((train.len(), valid.len()), (4, 2));
    match ds.split_by_names(&["nope.jpg"]) {
        Err(e @ PodiumError::Config { .. }) => assert!(e.to_string().contains("nope.jpg"), "{e}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}
