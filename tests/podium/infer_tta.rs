//! Test-time augmentation, ensembles and submission files (`burn_podium::infer`).

use burn_podium::PodiumError;
use burn_podium::augment::functional::ten_crop;
use burn_podium::augment::{Image, Normalize};
use burn_podium::data::ImageDataset;
use burn_podium::infer::{
    CropPosition, EnsembleMode, Predictions, ScaleMode, TtaConfig, TtaMerge, TtaView,
    average_ranks, ensemble, merge_views, predict, predict_tta, write_probabilities_csv,
    write_submission_like,
};
use burn_podium::model::SimpleCnnConfig;

use crate::fixtures::config_key;

/// A 1-channel 4x4 image whose pixel at (row i, column j) is `4 i + j`.
fn grid() -> Image {
    Image::from_u8(&(0..16).collect::<Vec<u8>>(), [1, 4, 4])
}

fn rows(img: &Image) -> Vec<Vec<f32>> {
    img.data.chunks(img.width).map(<[f32]>::to_vec).collect()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

#[test]
fn flips_and_rotations_permute_the_pixels_as_torch_does() {
    let img = grid();
    let v = |view: TtaView| rows(&view.apply(&img));
    assert_eq!(v(TtaView::Identity), rows(&img));
    assert_eq!(v(TtaView::HFlip)[0], [3.0, 2.0, 1.0, 0.0]);
    assert_eq!(v(TtaView::VFlip)[0], [12.0, 13.0, 14.0, 15.0]);
    // torch.rot90(x, 1): out[i][j] = x[j][W-1-i] (counter-clockwise)
    assert_eq!(v(TtaView::Rot90 { k: 1 })[0], [3.0, 7.0, 11.0, 15.0]);
    assert_eq!(v(TtaView::Rot90 { k: 2 })[0], [15.0, 14.0, 13.0, 12.0]);
    assert_eq!(v(TtaView::Rot90 { k: 3 })[0], [12.0, 8.0, 4.0, 0.0]);
    assert_eq!(v(TtaView::Transpose)[1], [1.0, 5.0, 9.0, 13.0]);
    assert_eq!(v(TtaView::AntiTranspose)[0], [15.0, 11.0, 7.0, 3.0]);
    // the 8 dihedral views are 8 different permutations of the same pixels
    let views: Vec<Vec<f32>> = TtaView::d4().iter().map(|t| t.apply(&img).data).collect();
    for (i, a) in views.iter().enumerate() {
        let mut sorted = a.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, img.data);
        assert!(views[i + 1..].iter().all(|b| b != a), "view {i} repeats");
    }
}

#[test]
fn crops_are_torchvisions_ten_crop_in_order() {
    let img = grid();
    let views = TtaView::ten_crop(2);
    assert_eq!(views.len(), 10);
    assert_eq!(TtaView::five_crop(2).len(), 5);
    let reference = ten_crop(&img, [2, 2], false);
    for (view, expected) in views.iter().zip(&reference) {
        assert_eq!(&view.apply(&img), expected, "{view:?}");
    }
    let at = |position, flipped| {
        TtaView::Crop {
            size: 2,
            position,
            flipped,
        }
        .apply(&img)
        .data
    };
    assert_eq!(at(CropPosition::TopLeft, false), [0.0, 1.0, 4.0, 5.0]);
    assert_eq!(at(CropPosition::TopRight, false), [2.0, 3.0, 6.0, 7.0]);
    assert_eq!(at(CropPosition::BottomLeft, false), [8.0, 9.0, 12.0, 13.0]);
    assert_eq!(
        at(CropPosition::BottomRight, false),
        [10.0, 11.0, 14.0, 15.0]
    );
    assert_eq!(at(CropPosition::Center, false), [5.0, 6.0, 9.0, 10.0]);
    // the top-left crop of the mirrored image
    assert_eq!(at(CropPosition::TopLeft, true), [3.0, 2.0, 7.0, 6.0]);
    // a crop larger than the image is a typed error naming the item
    let e = views[0].check_fits([1, 4], "img_7.png").unwrap_err();
    assert!(e.to_string().contains("img_7.png"), "{e}");
}

#[test]
fn scale_views_reach_their_size() {
    let wide = Image::from_u8(&[100u8; 4 * 6], [1, 4, 6]);
    let s = TtaView::Scale {
        size: 2,
        mode: ScaleMode::ShorterThenCenterCrop,
    }
    .apply(&wide);
    assert_eq!(s.shape(), [1, 2, 2]);
    assert_eq!(s.data, [100.0; 4]);
    let r = TtaView::Scale {
        size: 8,
        mode: ScaleMode::Resize,
    }
    .apply(&wide);
    assert_eq!(r.shape(), [1, 8, 8]);
}

#[test]
fn merges_follow_their_formulas() {
    let views = vec![vec![0.2f32, 0.8], vec![0.6, 0.4]];
    close(&merge_views(&views, TtaMerge::Mean), &[0.4, 0.6], 1e-7);
    close(&merge_views(&views, TtaMerge::Max), &[0.6, 0.8], 1e-7);
    // geometric: sqrt(0.12), sqrt(0.32), renormalised
    let (a, b) = (0.12f64.sqrt(), 0.32f64.sqrt());
    let g = [(a / (a + b)) as f32, (b / (a + b)) as f32];
    close(&merge_views(&views, TtaMerge::GeometricMean), &g, 1e-6);
    let plain = [1.0f32, 0.0];
    // fastai: torch.lerp(aug, plain, beta) = aug + beta * (plain - aug)
    let mean = TtaConfig::new(vec![TtaView::Identity]);
    assert_eq!(mean.beta, Some(0.25));
    close(&mean.merge_item(&views, &plain), &[0.55, 0.45], 1e-6);
    let geo = mean.clone().with_merge(TtaMerge::GeometricMean);
    close(
        &geo.merge_item(&views, &plain),
        &[0.75 * g[0] + 0.25, 0.75 * g[1]],
        1e-6,
    );
    // fastai's use_max: max(plain, max of the views)
    let max = mean.clone().with_merge(TtaMerge::Max);
    close(&max.merge_item(&views, &plain), &[1.0, 0.8], 1e-7);
    let none = mean.with_beta(None);
    close(&none.merge_item(&views, &plain), &[0.4, 0.6], 1e-7);
}

#[test]
fn specs_parse_to_views_and_bad_tokens_are_named() {
    let count = |s: &str| TtaConfig::from_spec(s).unwrap().views.len();
    assert_eq!(count("identity"), 1);
    assert_eq!(count("hflip"), 2);
    assert_eq!(count("flips"), 3);
    assert_eq!(count("d4"), 8);
    assert_eq!(count("fivecrop=224"), 5);
    assert_eq!(count("tencrop=224"), 10);
    assert_eq!(count("scales=224,256"), 2);
    assert_eq!(count("hflip+scales=224,256"), 4);
    assert_eq!(count("d4+flips"), 8);
    let c = TtaConfig::from_spec("hflip + resize=288 + merge=geometric + beta=none").unwrap();
    assert_eq!(
        c.views,
        [
            TtaView::Identity,
            TtaView::HFlip,
            TtaView::Scale {
                size: 288,
                mode: ScaleMode::Resize
            }
        ]
    );
    assert_eq!((c.merge, c.beta), (TtaMerge::GeometricMean, None));
    assert_eq!(
        TtaConfig::from_spec("flips+merge=max+beta=0.5")
            .map(|c| (c.merge, c.beta))
            .unwrap(),
        (TtaMerge::Max, Some(0.5))
    );
    let value = |s: &str| match TtaConfig::from_spec(s) {
        Err(PodiumError::Config { key, value, .. }) => {
            assert_eq!(key, "tta");
            value
        }
        other => panic!("{s}: expected a config error, got {other:?}"),
    };
    assert_eq!(value("hflip+bogus"), "bogus");
    assert_eq!(value("fivecrop=abc"), "fivecrop=abc");
    assert_eq!(value("tencrop"), "tencrop");
    assert_eq!(value("scales=224,0"), "scales=224,0");
    assert_eq!(value("d4+beta=2"), "beta=2");
    assert_eq!(value("merge=median"), "merge=median");
    assert_eq!(value("merge=max"), "merge=max");
    assert_eq!(value(""), "");
    let bad_beta = TtaConfig::new(vec![TtaView::Identity]).with_beta(Some(1.5));
    assert_eq!(config_key(bad_beta.validate()), "beta");
    assert_eq!(
        config_key(TtaConfig::new(vec![TtaView::Rot90 { k: 4 }]).validate()),
        "tta"
    );
}

/// Seven 8x8 grey images, and the same images mirrored left to right.
fn datasets() -> (ImageDataset, ImageDataset) {
    let (n, side) = (7, 8);
    let pixels: Vec<u8> = (0..n * side * side)
        .map(|i| ((i * 37 + i / 5 * 11) % 251) as u8)
        .collect();
    let mirrored: Vec<u8> = pixels
        .chunks(side)
        .flat_map(|row| row.iter().rev().copied().collect::<Vec<_>>())
        .collect();
    let classes = vec!["a".to_string(), "b".into(), "c".into()];
    let make = |p| {
        ImageDataset::from_memory("mem", p, [1, side, side], vec![None; n], classes.clone())
            .unwrap()
    };
    (make(pixels), make(mirrored))
}

#[test]
fn predict_tta_applies_views_before_normalisation_and_blends_like_fastai() {
    // module inits draw from the process-wide flex RNG: take turns with the seeded tests
    let _guard = crate::learner::lock();
    let device = crate::test_device();
    let model = SimpleCnnConfig::new(3)
        .with_in_channels(1)
        .with_width(4)
        .init(&device)
        .unwrap();
    let (data, mirrored) = datasets();
    let classes = data.classes().to_vec();
    let norm = Normalize::new(vec![0.4], vec![0.3]).unwrap();
    let tta = |config: &TtaConfig, d: &ImageDataset| {
        predict_tta(&model, d, &classes, &norm, 3, &device, config).unwrap()
    };
    let plain = predict(&model, &data, &classes, &norm, 3, &device).unwrap();
    let flipped = predict(&model, &mirrored, &classes, &norm, 3, &device).unwrap();
    assert_ne!(
        plain.probabilities, flipped.probabilities,
        "the model is not flip-invariant"
    );

    // the identity view alone is the plain prediction, bit for bit
    let identity = TtaConfig::new(vec![TtaView::Identity]);
    assert_eq!(tta(&identity, &data), plain);
    assert_eq!(tta(&identity.clone().with_beta(None), &data), plain);
    // the hflip view is the prediction on the mirrored images
    let hflip = TtaConfig::new(vec![TtaView::HFlip]).with_beta(None);
    for (a, b) in tta(&hflip, &data)
        .probabilities
        .iter()
        .zip(&flipped.probabilities)
    {
        close(a, b, 1e-6);
    }
    // `hflip` with beta 0.25: lerp(mean(plain, flipped), plain, 0.25)
    let blended = tta(&TtaConfig::from_spec("hflip").unwrap(), &data);
    assert_eq!(blended.names, plain.names);
    for ((got, p), f) in blended
        .probabilities
        .iter()
        .zip(&plain.probabilities)
        .zip(&flipped.probabilities)
    {
        let want: Vec<f32> = p
            .iter()
            .zip(f)
            .map(|(p, f)| 0.75 * (p + f) / 2.0 + 0.25 * p)
            .collect();
        close(got, &want, 1e-6);
    }
    // the plain pass is added when the views lack the identity: max(plain, flipped)
    let max = TtaConfig::new(vec![TtaView::HFlip]).with_merge(TtaMerge::Max);
    for ((got, p), f) in tta(&max, &data)
        .probabilities
        .iter()
        .zip(&plain.probabilities)
        .zip(&flipped.probabilities)
    {
        let want: Vec<f32> = p.iter().zip(f).map(|(p, f)| p.max(*f)).collect();
        close(got, &want, 1e-6);
    }
    // views of other sizes go through the global pooling
    let scales = tta(&TtaConfig::from_spec("scales=6,12+d4").unwrap(), &data);
    assert_eq!(scales.probabilities.len(), 7);
    for row in &scales.probabilities {
        close(&[row.iter().sum::<f32>()], &[1.0], 1e-5);
    }
    // a crop larger than the images, a zero batch size: typed errors
    let big = TtaConfig::from_spec("fivecrop=9").unwrap();
    let e = predict_tta(&model, &data, &classes, &norm, 3, &device, &big).unwrap_err();
    assert!(
        matches!(&e, PodiumError::Config { key, .. } if key == "tta"),
        "{e}"
    );
    assert!(e.to_string().contains("8x8"), "{e}");
    let zero = predict_tta(&model, &data, &classes, &norm, 0, &device, &identity);
    assert_eq!(config_key(zero), "batch_size");
}

fn preds(names: &[&str], rows: Vec<Vec<f32>>) -> Predictions {
    Predictions {
        names: names.iter().map(|s| s.to_string()).collect(),
        classes: vec!["x".into(), "y".into()],
        probabilities: rows,
    }
}

#[test]
fn ensembles_merge_members_by_mean_geometric_mean_and_rank() {
    let ids = ["a", "b", "c"];
    let m1 = preds(&ids, vec![vec![0.2, 0.8], vec![0.6, 0.4], vec![0.5, 0.5]]);
    let m2 = preds(&ids, vec![vec![0.4, 0.6], vec![0.2, 0.8], vec![0.5, 0.5]]);
    let both = [m1.clone(), m2.clone()];
    let mean = ensemble(&both, Some(&[1.0, 3.0]), EnsembleMode::Mean).unwrap();
    assert_eq!(mean.names, m1.names);
    close(&mean.probabilities[0], &[0.35, 0.65], 1e-6);
    close(&mean.probabilities[1], &[0.3, 0.7], 1e-6);
    let geo = ensemble(&both, None, EnsembleMode::GeometricMean).unwrap();
    let (a, b) = (0.08f64.sqrt(), 0.48f64.sqrt());
    close(
        &geo.probabilities[0],
        &[(a / (a + b)) as f32, (b / (a + b)) as f32],
        1e-6,
    );
    close(&geo.probabilities[2], &[0.5, 0.5], 1e-6);
    // class x: member 1 ranks [1, 3, 2], member 2 ranks [2, 1, 3]; each / 3, averaged
    let rank = ensemble(&both, None, EnsembleMode::RankAverage).unwrap();
    let column = |k: usize| rank.probabilities.iter().map(|r| r[k]).collect::<Vec<_>>();
    close(&column(0), &[0.5, 2.0 / 3.0, 5.0 / 6.0], 1e-6);
    close(&column(1), &[5.0 / 6.0, 2.0 / 3.0, 0.5], 1e-6);
    let weighted = ensemble(&both, Some(&[3.0, 1.0]), EnsembleMode::RankAverage).unwrap();
    close(&weighted.probabilities[0], &[5.0 / 12.0, 11.0 / 12.0], 1e-6);
    assert_eq!(average_ranks(&[0.5, 0.1, 0.5, 0.9]), [2.5, 1.0, 2.5, 4.0]);

    // errors
    assert_eq!(
        config_key(ensemble(&[], None, EnsembleMode::Mean)),
        "members"
    );
    let reordered = preds(&["a", "c", "b"], m2.probabilities.clone());
    let e = ensemble(&[m1.clone(), reordered], None, EnsembleMode::Mean).unwrap_err();
    assert!(
        matches!(&e, PodiumError::Config { key, .. } if key == "members"),
        "{e}"
    );
    assert!(e.to_string().contains("`c`"), "{e}");
    let mut other_classes = m2.clone();
    other_classes.classes = vec!["x".into(), "z".into()];
    let e = ensemble(&[m1.clone(), other_classes], None, EnsembleMode::Mean).unwrap_err();
    assert!(e.to_string().contains("\"z\""), "{e}");
    for w in [&[1.0][..], &[1.0, 0.0], &[1.0, -2.0], &[1.0, f64::NAN]] {
        assert_eq!(
            config_key(ensemble(&both, Some(w), EnsembleMode::Mean)),
            "weights"
        );
    }
}

fn animals() -> Predictions {
    Predictions {
        names: vec!["a.jpg".into(), "b.jpg".into(), "c.jpg".into()],
        classes: vec!["cat".into(), "dog".into()],
        probabilities: vec![vec![0.9, 0.1], vec![0.25, 0.75], vec![0.5, 0.5]],
    }
}

#[test]
fn probabilities_csv_has_one_column_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probs.csv");
    write_probabilities_csv(&path, &animals()).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "id,cat,dog\na.jpg,0.9,0.1\nb.jpg,0.25,0.75\nc.jpg,0.5,0.5\n"
    );
}

#[test]
fn submissions_follow_the_sample_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let write = |sample: &str| {
        let sample_path = dir.path().join("sample.csv");
        std::fs::write(&sample_path, sample).unwrap();
        let out = dir.path().join("submission.csv");
        write_submission_like(&out, &animals(), &sample_path)
            .map(|()| std::fs::read_to_string(&out).unwrap())
    };
    // label mode, the sample's (shuffled) order, ids without extension
    assert_eq!(
        write("image,breed\nc,x\na,x\nb,x\n").unwrap(),
        "image,breed\nc,cat\na,cat\nb,dog\n"
    );
    // probability mode, columns in the sample's order, a quoted header and CRLF kept as they
    // are, ids with extension
    assert_eq!(
        write("\"file\",\"dog\",\"cat\"\r\nb.jpg,0,0\r\na.jpg,0,0\r\nc.jpg,0,0\r\n").unwrap(),
        "\"file\",\"dog\",\"cat\"\r\nb.jpg,0.75,0.25\r\na.jpg,0.1,0.9\r\nc.jpg,0.5,0.5\r\n"
    );
    let reason = |sample: &str| match write(sample) {
        Err(e @ PodiumError::Format { .. }) => {
            let s = e.to_string();
            assert!(s.contains("sample.csv"), "{s}");
            s
        }
        other => panic!("expected a format error, got {other:?}"),
    };
    let missing = reason("id,label\na,x\nb,x\nc,x\nd,x\n");
    assert!(missing.contains("`d`"), "{missing}");
    let extra = reason("id,label\na,x\nc,x\n");
    assert!(extra.contains("`b.jpg`"), "{extra}");
    let twice = reason("id,label\na,x\nb,x\nc,x\na,x\n");
    assert!(twice.contains("`a`"), "{twice}");
    let columns = reason("id,cat,bird\na,0,0\n");
    assert!(columns.contains("bird"), "{columns}");
}
