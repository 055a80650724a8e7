//! Every case of `sampling.json` (sampling probabilities, progressive balancing, long-tail
//! counts, scikit-learn folds index for index, effective-number weights), and statistical checks
//! of the samplers' draws.

use burn_podium::PodiumError;
use burn_podium::data::{
    ImbalanceProfile, OofStore, digits, group_kfold, kfold, long_tailed_counts, stratified_kfold,
};
use burn_podium::sample::*;

use crate::reference::{Case, load_topic};

fn counts(case: &Case) -> Vec<usize> {
    case.input("counts").usizes()
}

fn check_folds(case: &Case, folds: &burn_podium::data::Folds) {
    let n = folds.test_fold.len();
    let as_f64 = |v: &[usize]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    case.assert_close("test_fold", &as_f64(&folds.test_fold), &[n]);
    for k in 0..folds.n_splits {
        let (train, test) = folds.split(k);
        case.assert_close(&format!("test_idx_{k}"), &as_f64(&test), &[test.len()]);
        case.assert_close(&format!("train_idx_{k}"), &as_f64(&train), &[train.len()]);
    }
}

#[test]
fn class_sampling_probabilities_match() {
    let topic = load_topic("sampling.json");
    for case in topic.cases_of("class_sampling_probs") {
        let n = counts(case);
        let p = class_sampling_probs(&n, case.f64("q")).unwrap();
        case.assert_close("p", &p, &[n.len()]);
        case.assert_close("per_sample_weight", &sample_weights(&n, &p), &[n.len()]);
    }
    for case in topic.cases_of("progressive_balanced") {
        let n = counts(case);
        let t_total = case.usize("T");
        let (mut p, mut w) = (Vec::new(), Vec::new());
        for t in 0..=t_total {
            let pt = progressive_balanced_probs(&n, t, t_total).unwrap();
            w.extend(sample_weights(&n, &pt));
            p.extend(pt);
        }
        case.assert_close("p", &p, &[t_total + 1, n.len()]);
        case.assert_close("per_sample_weight", &w, &[t_total + 1, n.len()]);
    }
}

#[test]
fn effective_number_weights_match() {
    let topic = load_topic("sampling.json");
    for case in topic.cases_of("effective_number_weights") {
        let n = counts(case);
        let e = effective_number(&n, case.f64("beta")).unwrap();
        case.assert_close("effective_num", &e.effective_num, &[n.len()]);
        case.assert_close("w_raw", &e.w_raw, &[n.len()]);
        case.assert_close("w_norm", &e.w_norm, &[n.len()]);
    }
}

#[test]
fn long_tailed_counts_match_the_ldam_code() {
    let topic = load_topic("sampling.json");
    for case in topic.cases_of("long_tailed_counts") {
        let profile = match case.str("imb_type") {
            "exp" => ImbalanceProfile::Exponential,
            "step" => ImbalanceProfile::Step,
            other => panic!("{other}"),
        };
        let c = long_tailed_counts(
            case.usize("num_classes"),
            case.usize("n_max"),
            case.f64("imb_factor"),
            profile,
        )
        .unwrap();
        let v: Vec<f64> = c.iter().map(|&x| x as f64).collect();
        case.assert_close("counts", &v, &[c.len()]);
    }
}

#[test]
fn folds_match_scikit_learn_index_for_index() {
    let topic = load_topic("sampling.json");
    for case in topic.cases_of("kfold") {
        assert!(!case.bool("shuffle"));
        check_folds(
            case,
            &kfold(case.usize("n_samples"), case.usize("n_splits"), None).unwrap(),
        );
    }
    for case in topic.cases_of("stratified_kfold") {
        let y = case.input("y").i64s();
        check_folds(
            case,
            &stratified_kfold(&y, case.usize("n_splits"), None).unwrap(),
        );
    }
    for case in topic.cases_of("group_kfold") {
        let g = case.input("groups").i64s();
        check_folds(case, &group_kfold(&g, case.usize("n_splits")).unwrap());
    }
}

#[test]
fn shuffled_stratified_folds_are_seeded_and_keep_proportions() {
    let y: Vec<i64> = (0..90).map(|i| (i % 3) as i64).collect();
    let a = stratified_kfold(&y, 3, Some(1)).unwrap();
    assert_eq!(a, stratified_kfold(&y, 3, Some(1)).unwrap());
    assert_ne!(a, stratified_kfold(&y, 3, None).unwrap());
    for k in 0..3 {
        let (_, test) = a.split(k);
        for c in 0..3 {
            assert_eq!(test.iter().filter(|&&i| y[i] == c).count(), 10);
        }
    }
    let d = digits().unwrap().subset(&(0..100).collect::<Vec<_>>());
    let folds = d.stratified_kfold(5, Some(3)).unwrap();
    assert_eq!(folds.len(), 5);
    assert_eq!(folds.iter().map(|(_, v)| v.len()).sum::<usize>(), 100);
}

#[test]
fn fold_errors_are_typed() {
    let key = |r: Result<burn_podium::data::Folds, PodiumError>| match r {
        Err(PodiumError::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    };
    assert_eq!(key(kfold(10, 1, None)), "n_splits");
    assert_eq!(key(kfold(3, 5, None)), "n_splits");
    assert_eq!(key(stratified_kfold(&[0, 0, 1, 1], 3, None)), "n_splits");
    assert_eq!(key(group_kfold(&[1, 1, 2, 2], 3)), "n_splits");
}

/// Pearson's chi-square statistic of observed counts against expected probabilities.
fn chi_square(observed: &[usize], probs: &[f64]) -> f64 {
    let n: usize = observed.iter().sum();
    observed
        .iter()
        .zip(probs)
        .map(|(&o, &p)| {
            let e = p * n as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn class_aware_samplers_draw_classes_at_their_target_rates() {
    // a long-tailed label list: 9 classes, 200 down to 2 items
    let counts = long_tailed_counts(9, 200, 0.01, ImbalanceProfile::Exponential).unwrap();
    let labels: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(c, &n)| std::iter::repeat_n(c, n))
        .collect();
    for q in [1.0, 0.5, 0.0] {
        let sampler = ClassAwareSampler::new(&labels, 9, q, 11).unwrap();
        let target = class_sampling_probs(&counts, q).unwrap();
        assert_eq!(sampler.class_probs(), target.as_slice());
        let mut observed = vec![0usize; 9];
        for epoch in 0..40 {
            for i in sampler.indices(epoch) {
                observed[labels[i]] += 1;
            }
        }
        // 8 degrees of freedom: P(chi2 > 26.1) = 0.001
        let stat = chi_square(&observed, &target);
        assert!(stat < 26.1, "q = {q}: chi-square {stat} for {observed:?}");
    }
    // progressive: epoch 0 follows the data, the last epoch is class-balanced
    let prog = ProgressivelyBalancedSampler::new(&labels, 9, 10, 5).unwrap();
    assert_eq!(
        prog.class_probs(0),
        class_sampling_probs(&counts, 1.0).unwrap()
    );
    assert_eq!(
        prog.class_probs(10),
        class_sampling_probs(&counts, 0.0).unwrap()
    );
    let mut observed = vec![0usize; 9];
    for epoch in 10..50 {
        // every epoch from T on is class-balanced
        for i in prog.indices(epoch) {
            observed[labels[i]] += 1;
        }
    }
    assert!(
        chi_square(&observed, &prog.class_probs(10)) < 26.1,
        "{observed:?}"
    );
}

#[test]
fn weighted_sampler_with_and_without_replacement() {
    let w = vec![1.0, 0.0, 3.0, 6.0];
    let s = WeightedRandomSampler::new(w.clone(), 5000, true, 1).unwrap();
    let mut seen = [0usize; 4];
    for i in s.indices(0) {
        seen[i] += 1;
    }
    assert_eq!(seen[1], 0);
    let stat = chi_square(&[seen[0], seen[2], seen[3]], &[0.1, 0.3, 0.6]);
    assert!(stat < 13.8, "{seen:?}"); // 2 dof, p = 0.001
    assert_eq!(s.indices(0), s.indices(0));
    assert_ne!(s.indices(0), s.indices(1));
    let without = WeightedRandomSampler::new(w.clone(), 3, false, 2).unwrap();
    let mut drawn = without.indices(0);
    drawn.sort();
    assert_eq!(drawn, vec![0, 2, 3]);
    assert!(WeightedRandomSampler::new(w.clone(), 4, false, 2).is_err());
    assert!(WeightedRandomSampler::new(vec![1.0, -1.0], 2, true, 0).is_err());
    assert!(WeightedRandomSampler::new(vec![0.0, 0.0], 2, true, 0).is_err());
}

#[test]
fn distributed_shards_are_disjoint_and_cover_every_sample() {
    for (n, ranks) in [(100, 4), (103, 4), (7, 3)] {
        let shards: Vec<Vec<usize>> = (0..ranks)
            .map(|r| {
                DistributedShardSampler::new(n, ranks, r, true, false, 9)
                    .unwrap()
                    .indices(2)
            })
            .collect();
        let len = n.div_ceil(ranks);
        assert!(shards.iter().all(|s| s.len() == len));
        let mut all: Vec<usize> = shards.concat();
        all.sort();
        let padding = len * ranks - n;
        all.dedup();
        assert_eq!(
            all,
            (0..n).collect::<Vec<_>>(),
            "every sample once (plus {padding} repeats)"
        );
        if padding == 0 {
            let total: usize = shards.iter().map(Vec::len).sum();
            assert_eq!(total, n, "disjoint");
        }
        // another epoch, another permutation
        let again = DistributedShardSampler::new(n, ranks, 0, true, false, 9)
            .unwrap()
            .indices(3);
        assert_ne!(again, shards[0]);
    }
    assert!(DistributedShardSampler::new(10, 2, 2, true, false, 0).is_err());
    let dropping = DistributedShardSampler::new(103, 4, 3, false, true, 0).unwrap();
    assert_eq!(dropping.indices(0).len(), 25);
}

#[test]
fn oof_store_collects_each_fold_once() {
    let mut oof = OofStore::new(4, 2);
    oof.record(0, &[1, 3], &[vec![0.2, 0.8], vec![0.9, 0.1]])
        .unwrap();
    assert_eq!(oof.missing(), vec![0, 2]);
    assert!(matches!(
        oof.record(1, &[3], &[vec![0.5, 0.5]]),
        Err(PodiumError::Config { .. })
    ));
    assert!(matches!(
        oof.record(1, &[0], &[vec![1.0]]),
        Err(PodiumError::Config { .. })
    ));
    oof.record(1, &[0, 2], &[vec![0.6, 0.4], vec![0.3, 0.7]])
        .unwrap();
    assert!(oof.missing().is_empty());
    let labels = [0, 1, 1, 1];
    assert_eq!(oof.accuracy(&labels), 75.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oof.csv");
    oof.write_csv(&path, &labels).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "index,fold,label,p_0,p_1");
    assert_eq!(lines[4], "3,0,1,0.9,0.1");
}

#[test]
fn long_tailed_subset_has_the_profile_counts() {
    let d = digits().unwrap();
    let lt = d
        .long_tailed(0.05, ImbalanceProfile::Exponential, 0)
        .unwrap();
    let n_max = *d.class_counts().iter().min().unwrap();
    assert_eq!(
        lt.class_counts(),
        long_tailed_counts(10, n_max, 0.05, ImbalanceProfile::Exponential).unwrap()
    );
    assert!(matches!(
        d.long_tailed(0.0, ImbalanceProfile::Step, 0),
        Err(PodiumError::Config { .. })
    ));
}

#[test]
fn sampled_dataset_feeds_burns_own_data_loader() {
    use burn::data::dataloader::DataLoaderBuilder;
    use burn::data::dataloader::batcher::Batcher;
    use burn::data::dataset::{Dataset, InMemDataset};
    use std::sync::Arc;

    #[derive(Clone)]
    struct Labels;
    impl Batcher<usize, Vec<usize>> for Labels {
        fn batch(&self, items: Vec<usize>, _device: &burn::tensor::Device) -> Vec<usize> {
            items
        }
    }
    // 90 items of class 0, 10 of class 1; the item is its own label
    let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 90)).collect();
    let inner: Arc<dyn Dataset<usize>> = Arc::new(InMemDataset::new(labels.clone()));
    let sampler = Arc::new(ClassAwareSampler::new(&labels, 2, 0.0, 4).unwrap());
    let sampled = Arc::new(SampledDataset::new(inner, sampler));
    assert_eq!(sampled.len(), 100);
    let loader = DataLoaderBuilder::new(Labels)
        .batch_size(25)
        .build(sampled.clone());
    let seen: Vec<usize> = loader.iter().flat_map(|b| b.unwrap()).collect();
    let minority = seen.iter().filter(|&&l| l == 1).count();
    // class-balanced: about half the draws come from the 10% class
    assert!(
        (35..=65).contains(&minority),
        "{minority} of {}",
        seen.len()
    );
}
