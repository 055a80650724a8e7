//! Label CSVs with named columns and a group column ([`CsvColumns`]): group folds keep each
//! group in one fold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use burn_podium::PodiumError;
use burn_podium::data::{CsvColumns, ImageDataset};
use burn_podium::learner::{CvConfig, Learner, LearnerConfig};

use crate::fixtures::config_key;

/// `n` tiny PNGs `img_0.png` ... in `dir/images`.
fn images(dir: &Path, n: usize) -> std::path::PathBuf {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..n {
        image::RgbImage::from_pixel(4, 4, image::Rgb([i as u8, 0, 0]))
            .save(images.join(format!("img_{i}.png")))
            .unwrap();
    }
    images
}

fn csv_error(r: Result<ImageDataset, PodiumError>) -> (u64, String) {
    match r {
        Err(PodiumError::Csv { line, reason, .. }) => (line, reason),
        other => panic!("expected a CSV error, got {other:?}"),
    }
}

#[test]
fn a_group_column_gives_group_folds_with_no_group_in_two_folds() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = images(dir.path(), 24);
    // 8 patients of 3 images each, labels cycling over 2 classes; an extra column is ignored
    let mut text = String::from("image_id,site,patient,target\n");
    for i in 0..24 {
        text += &format!("img_{i},s{},p{},{}\n", i % 5, i % 8, ["cat", "dog"][i % 2]);
    }
    let csv = dir.path().join("train.csv");
    std::fs::write(&csv, text).unwrap();
    let columns = CsvColumns::new()
        .with_id("image_id".into())
        .with_label("target".into())
        .with_group(Some("patient".into()));
    let data = ImageDataset::from_csv_columns(&csv, &imgs, None, &columns).unwrap();
    assert_eq!(data.len(), 24);
    assert_eq!(data.classes(), ["cat", "dog"]);
    assert_eq!(data.label(3), Some(1));
    assert_eq!(data.name(5), "img_5.png");
    let groups = data.groups().expect("every image has a group");
    // numbered by first appearance: p0 .. p7
    assert_eq!(&groups[..9], &[0, 1, 2, 3, 4, 5, 6, 7, 0]);
    assert_eq!(data.group_names()[7], "p7");
    // subsets keep their items' groups
    assert_eq!(data.subset(&[9, 2]).groups(), Some(vec![1, 2]));

    let device = burn_podium::device::default_device();
    let learner = Learner::new(LearnerConfig::new(), &device);
    let cv = CvConfig::new().with_folds(4);
    let folds = learner
        .cv_folds(&data, &cv, Some(groups.as_slice()))
        .unwrap();
    let mut fold_of_group: BTreeMap<i64, BTreeSet<usize>> = BTreeMap::new();
    for (i, &f) in folds.test_fold.iter().enumerate() {
        fold_of_group.entry(groups[i]).or_default().insert(f);
    }
    assert_eq!(fold_of_group.len(), 8);
    for (g, f) in &fold_of_group {
        assert_eq!(f.len(), 1, "group {g} is in folds {f:?}");
    }
    // every fold validates on some images
    let used: BTreeSet<usize> = folds.test_fold.iter().copied().collect();
    assert_eq!(used, (0..4).collect());

    // without a group column there are no groups, and the id/label defaults read `id,label`
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "label,id\ncat,img_0\ndog,img_1.png\n").unwrap();
    let data = ImageDataset::from_csv_columns(&plain, &imgs, None, &CsvColumns::new()).unwrap();
    assert_eq!(data.groups(), None);
    assert_eq!(data.labels(), [Some(0), Some(1)]);
    // the headerless `filename,label` reader is unchanged
    let headerless = dir.path().join("headerless.csv");
    std::fs::write(&headerless, "img_0,cat\nimg_1,dog\n").unwrap();
    assert_eq!(
        ImageDataset::from_csv(&headerless, &imgs, None)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn missing_columns_and_empty_cells_are_errors_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = images(dir.path(), 3);
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let grouped = CsvColumns::new().with_group(Some("patient".into()));

    let no_group = write("no_group.csv", "id,label\nimg_0,a\n");
    let (line, reason) = csv_error(ImageDataset::from_csv_columns(
        &no_group, &imgs, None, &grouped,
    ));
    assert_eq!(line, 1);
    assert!(reason.contains("`patient`"), "{reason}");

    let empty_group = write(
        "empty_group.csv",
        "id,label,patient\nimg_0,a,p1\nimg_1,b,\nimg_2,a,p2\n",
    );
    let (line, reason) = csv_error(ImageDataset::from_csv_columns(
        &empty_group,
        &imgs,
        None,
        &grouped,
    ));
    assert_eq!(line, 3);
    assert!(reason.contains("empty `patient` (column 3)"), "{reason}");

    let short = write("short.csv", "id,label,patient\nimg_0,a,p1\nimg_1,b\n");
    let (line, reason) = csv_error(ImageDataset::from_csv_columns(
        &short, &imgs, None, &grouped,
    ));
    assert_eq!(line, 3);
    assert!(reason.contains("2 fields"), "{reason}");

    let missing_file = write("missing.csv", "id,label\nimg_9,a\n");
    let (line, reason) = csv_error(ImageDataset::from_csv_columns(
        &missing_file,
        &imgs,
        None,
        &CsvColumns::new(),
    ));
    assert_eq!(line, 2);
    assert!(reason.contains("img_9"), "{reason}");

    // column names: one column cannot be two things, a name cannot be empty
    let twice = CsvColumns::new().with_group(Some("label".into()));
    assert_eq!(
        config_key(ImageDataset::from_csv_columns(
            &no_group, &imgs, None, &twice
        )),
        "group"
    );
    assert_eq!(
        config_key(CsvColumns::new().with_id(" ".into()).validate()),
        "id"
    );
    // groups given by hand must match the items
    let data = ImageDataset::from_csv_columns(&no_group, &imgs, None, &CsvColumns::new()).unwrap();
    assert!(matches!(
        data.clone().with_groups(&["a", "b"]),
        Err(PodiumError::Dataset { .. })
    ));
    assert!(matches!(
        data.with_groups(&[""]),
        Err(PodiumError::Dataset { .. })
    ));
}
