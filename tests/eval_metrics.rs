//! Metric, bootstrap, paired-test and overlap functions of `recfuse::eval` against values
//! computed by hand (arithmetic in the comments) and against an independent numpy reference
//! (`benches/reference/metrics_reference.py`).

use std::collections::HashSet;
use std::path::Path;

use recfuse::eval::bootstrap::{BootstrapConfig, Estimate, bootstrap_mean, bootstrap_statistic};
use recfuse::eval::metrics::{
    AccuracyScores, MetricKey, MetricKind, MetricScope, Relevance, average_precision, catalogue_coverage,
    exposure_gini, f1, gini, head_items, hit_rate, intra_list_diversity, long_tail_share, ndcg, novelty, precision,
    recall, reciprocal_rank,
};
use recfuse::eval::overlap::{Distribution, jaccard_at_k, kendall_tau_shared, rbo_ext};
use recfuse::eval::paired::{
    PairedConfig, PairedError, paired_compare, paired_t_p_value, sign_flip_p_value, student_t_two_sided_p,
};

fn close(actual: f64, expected: f64, tol: f64) -> bool {
    (actual - expected).abs() <= tol
}

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(close(actual, expected, 1e-12), "expected {expected}, got {actual}");
}

#[track_caller]
fn assert_close_opt(actual: Option<f64>, expected: f64) {
    match actual {
        Some(v) => assert_close(v, expected),
        None => panic!("expected {expected}, got None"),
    }
}

// ---------------------------------------------------------------------------------------
// Accuracy metrics
// ---------------------------------------------------------------------------------------

#[test]
fn binary_metrics_by_hand() {
    // ranked = [1, 2, 3, 4, 5], R = {2, 4, 9}: hits at ranks 2 and 4.
    let ranked = [1, 2, 3, 4, 5];
    let rel = Relevance::binary([2, 4, 9]);
    let l3 = 3f64.log2();
    let l5 = 5f64.log2();

    // K = 5: precision 2/5; recall 2/3; F1 = 2·0.4·(2/3)/(0.4 + 2/3) = 0.5333…/1.0666… = 0.5.
    assert_close(precision(&ranked, &rel, 5), 0.4);
    assert_close(recall(&ranked, &rel, 5), 2.0 / 3.0);
    assert_close(f1(&ranked, &rel, 5), 0.5);
    assert_close(hit_rate(&ranked, &rel, 5), 1.0);
    // First hit at rank 2 → 1/2.
    assert_close(reciprocal_rank(&ranked, &rel, 5), 0.5);
    // AP: P@2 = 1/2 and P@4 = 2/4 → (0.5 + 0.5) / min(3, 5) = 1/3.
    assert_close(average_precision(&ranked, &rel, 5), 1.0 / 3.0);
    // DCG = 1/log2(3) + 1/log2(5); IDCG over min(3, 5) = 3 gains: 1 + 1/log2(3) + 1/log2(4).
    // = 1.0616063116448505 / 2.1309297535714574 = 0.49818925746641285
    let want = (1.0 / l3 + 1.0 / l5) / (1.0 + 1.0 / l3 + 0.5);
    assert_close(ndcg(&ranked, &rel, 5), want);
    assert_close(want, 0.498_189_257_466_412_85);

    // K = 2: one hit (rank 2). precision 1/2, recall 1/3, F1 = 2·(1/2)(1/3)/(5/6) = 0.4.
    assert_close(precision(&ranked, &rel, 2), 0.5);
    assert_close(recall(&ranked, &rel, 2), 1.0 / 3.0);
    assert_close(f1(&ranked, &rel, 2), 0.4);
    // AP = (1/2) / min(3, 2) = 0.25.
    assert_close(average_precision(&ranked, &rel, 2), 0.25);
    // NDCG = (1/log2 3) / (1 + 1/log2 3) = 0.38685280723454163.
    assert_close(ndcg(&ranked, &rel, 2), (1.0 / l3) / (1.0 + 1.0 / l3));

    // K = 1: item 1 is not relevant → all zero.
    let s = AccuracyScores::compute(&ranked, &rel, 1);
    assert_eq!(s, AccuracyScores::default());
}

#[test]
fn graded_ndcg_by_hand() {
    // ranked = [10, 20, 30, 40], gains {20: 3, 40: 1, 50: 2}, K = 3.
    let ranked = [10, 20, 30, 40];
    let rel = Relevance::graded([(40, 1.0), (20, 3.0), (50, 2.0)]);
    let l3 = 3f64.log2();
    // DCG: item 20 at rank 2 → 3/log2(3). Ideal: gains 3, 2, 1 at ranks 1..3 →
    // 3/1 + 2/log2(3) + 1/log2(4) = 4.761859507142915. NDCG = 0.39748952229168844.
    assert_close(ndcg(&ranked, &rel, 3), (3.0 / l3) / (3.0 + 2.0 / l3 + 0.5));
    // Binary gains: (1/log2 3) / (1 + 1/log2 3 + 1/2).
    assert_close(ndcg(&ranked, &rel.to_binary(), 3), (1.0 / l3) / (1.0 + 1.0 / l3 + 0.5));
    // K = 4 adds item 40 (gain 1) at rank 4: DCG = 3/log2 3 + 1/log2 5; the ideal is
    // unchanged because |R| = 3.
    assert_close(ndcg(&ranked, &rel, 4), (3.0 / l3 + 1.0 / 5f64.log2()) / (3.0 + 2.0 / l3 + 0.5));
    // Precision/recall/AP ignore the grades: hits at ranks 2 and 4 of K = 4.
    let s = AccuracyScores::compute(&ranked, &rel, 4);
    assert_close(s.precision, 0.5);
    assert_close(s.recall, 2.0 / 3.0);
    // AP = (1/2 + 2/4) / min(3, 4) = 1/3.
    assert_close(s.average_precision, 1.0 / 3.0);
    assert_close(s.reciprocal_rank, 0.5);
}

#[test]
fn more_relevant_than_k_and_short_lists() {
    // |R| = 12 > K = 10; the list holds only 3 items, all relevant.
    let ranked = [1, 2, 3];
    let rel = Relevance::binary(1..=12);
    let s = AccuracyScores::compute(&ranked, &rel, 10);
    // precision divides by K, not by the list length: 3/10.
    assert_close(s.precision, 0.3);
    // recall = 3/12.
    assert_close(s.recall, 0.25);
    // AP = (1/1 + 2/2 + 3/3) / min(12, 10) = 0.3.
    assert_close(s.average_precision, 0.3);
    assert_close(s.reciprocal_rank, 1.0);
    // NDCG: DCG = 1 + 1/log2 3 + 1/2; ideal over min(12, 10) = 10 ones at ranks 1..10.
    let ideal: f64 = (1..=10).map(|r| 1.0 / ((r + 1) as f64).log2()).sum();
    assert_close(s.ndcg, (1.0 + 1.0 / 3f64.log2() + 0.5) / ideal);
    assert_close(s.ndcg, 0.469_000_093_320_674_8);
}

#[test]
fn accuracy_edge_cases_are_zero() {
    let rel = Relevance::binary([1, 2]);
    // No hit at all.
    let s = AccuracyScores::compute(&[7, 8, 9], &rel, 3);
    assert_eq!(s, AccuracyScores::default());
    // K = 0, empty list, empty relevance.
    assert_eq!(AccuracyScores::compute(&[1, 2], &rel, 0), AccuracyScores::default());
    assert_eq!(AccuracyScores::compute(&[], &rel, 10), AccuracyScores::default());
    assert_eq!(AccuracyScores::compute(&[1, 2], &Relevance::default(), 10), AccuracyScores::default());
    assert_eq!(ndcg(&[1], &Relevance::default(), 10), 0.0);
    assert_eq!(precision(&[1], &rel, 0), 0.0);
}

#[test]
fn scores_get_matches_kinds() {
    let s = AccuracyScores {
        precision: 1.0,
        recall: 2.0,
        f1: 3.0,
        hit_rate: 4.0,
        reciprocal_rank: 5.0,
        average_precision: 6.0,
        ndcg: 7.0,
    };
    let got: Vec<Option<f64>> = MetricKind::ALL.iter().map(|k| s.get(*k)).collect();
    let want =
        [Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(5.0), Some(6.0), Some(7.0), None, None, None, None, None];
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

#[test]
fn metric_ids_and_keys() {
    let ids: Vec<&str> = MetricKind::ALL.iter().map(|k| k.id()).collect();
    assert_eq!(
        ids,
        [
            "precision",
            "recall",
            "f1",
            "hit_rate",
            "mrr",
            "map",
            "ndcg",
            "coverage",
            "novelty",
            "diversity",
            "long_tail",
            "gini"
        ]
    );
    for kind in MetricKind::ALL {
        // serde form is the id.
        assert_eq!(serde_json::to_string(&kind).ok(), Some(format!("\"{}\"", kind.id())));
        assert!(!kind.display_name().is_empty());
    }
    assert_eq!(MetricKind::Coverage.scope(), MetricScope::Global);
    assert_eq!(MetricKind::Gini.scope(), MetricScope::Global);
    assert_eq!(MetricKind::Novelty.scope(), MetricScope::PerUser);
    assert!(!MetricKind::Gini.higher_is_better());
    let key = MetricKey::new(MetricKind::Ndcg, 10);
    assert_eq!(key.to_string(), "ndcg@10");
    assert_eq!(serde_json::to_string(&key).ok().as_deref(), Some("\"ndcg@10\""));
    let back: Result<MetricKey, _> = serde_json::from_str("\"long_tail@20\"");
    assert_eq!(back.ok(), Some(MetricKey::new(MetricKind::LongTail, 20)));
    assert!(serde_json::from_str::<MetricKey>("\"ndcg@ten\"").is_err());
}

// ---------------------------------------------------------------------------------------
// Beyond accuracy
// ---------------------------------------------------------------------------------------

#[test]
fn coverage_by_hand() {
    // Top 2 of each: {0, 1}, {1, 2}, {9, 100}; 100 is outside the 10-item catalogue →
    // distinct {0, 1, 2, 9} = 4 of 10.
    let lists = vec![vec![0, 1, 2], vec![1, 2, 3], vec![9, 100]];
    assert_close_opt(catalogue_coverage(&lists, 2, 10), 0.4);
    // K = 3 adds 3: {0, 1, 2, 3, 9} = 0.5.
    assert_close_opt(catalogue_coverage(&lists, 3, 10), 0.5);
    assert_eq!(catalogue_coverage(&lists, 3, 0), None);
}

#[test]
fn novelty_by_hand() {
    // 10 users; popularity 10, 5, 1, 0 (item 3 unseen → clamped to 1).
    // Self-information: -log2(10/10) = 0, -log2(5/10) = 1, -log2(1/10) = log2 10 (twice).
    // Mean over 4 = (0 + 1 + 2·3.321928094887362) / 4 = 1.910964047443681.
    let pop = [10, 5, 1, 0];
    assert_close_opt(novelty(&[0, 1, 2, 3], 4, &pop, 10), (1.0 + 2.0 * 10f64.log2()) / 4.0);
    // K = 2: (0 + 1) / 2.
    assert_close_opt(novelty(&[0, 1, 2, 3], 2, &pop, 10), 0.5);
    assert_eq!(novelty(&[0], 0, &pop, 10), None);
    assert_eq!(novelty(&[0], 1, &pop, 0), None);
}

#[test]
fn diversity_by_hand() {
    let sim = |a: u32, b: u32| match (a.min(b), a.max(b)) {
        (1, 2) => Some(0.5f32),
        (1, 3) => Some(0.25f32),
        _ => None,
    };
    // Pairs (1,2) = 0.5, (1,3) = 0.25, (2,3) unknown → skipped; 1 − 0.375 = 0.625.
    assert_close_opt(intra_list_diversity(&[1, 2, 3], 3, sim), 0.625);
    // K = 2: only (1,2) → 0.5.
    assert_close_opt(intra_list_diversity(&[1, 2, 3], 2, sim), 0.5);
    // One item, or no known pair → None.
    assert_eq!(intra_list_diversity(&[1], 10, sim), None);
    assert_eq!(intra_list_diversity(&[2, 3], 10, sim), None);
}

#[test]
fn long_tail_by_hand() {
    // Interactions 50, 30, 10, 5, 5 (total 100). Head share 0.2 → target 20: item 0 alone
    // (50 ≥ 20). Share 0.6 → target 60: item 0 (50) then item 1 (80).
    assert_eq!(head_items(&[50, 30, 10, 5, 5], 0.2), HashSet::from([0]));
    assert_eq!(head_items(&[50, 30, 10, 5, 5], 0.6), HashSet::from([0, 1]));
    // Ties go to the lower id: [5, 5] with share 0.5 → target 5 → item 0.
    assert_eq!(head_items(&[5, 5], 0.5), HashSet::from([0]));
    let head = HashSet::from([1, 2]);
    // [1, 5, 2, 7, 8]: 5, 7, 8 outside the head → 3/5.
    assert_close_opt(long_tail_share(&[1, 5, 2, 7, 8], 5, &head), 0.6);
    // K = 2: [1, 5] → 1/2.
    assert_close_opt(long_tail_share(&[1, 5, 2, 7, 8], 2, &head), 0.5);
}

#[test]
fn gini_by_hand() {
    // Exposure counts over catalogue of 4: item0 = 3, item1 = 2, item2 = 1, item3 = 0.
    // Sorted [0, 1, 2, 3], n = 4, Σ = 6: Σ(2i − n − 1)x = −3·0 − 1·1 + 1·2 + 3·3 = 10;
    // Gini = 10 / (4·6) = 5/12. (Check: Σ|xi − xj| over ordered pairs = 20; 20/(2·16·1.5) = 5/12.)
    let lists = vec![vec![0, 1], vec![0, 2], vec![0, 1]];
    assert_close_opt(exposure_gini(&lists, 2, 4), 5.0 / 12.0);
    // Equal exposure → 0.
    assert_close_opt(exposure_gini(vec![vec![0, 1], vec![2, 3]], 2, 4), 0.0);
    // All exposure on one of 4 items → (n − 1)/n = 0.75.
    assert_close_opt(exposure_gini(vec![vec![0], vec![0]], 1, 4), 0.75);
    assert_eq!(exposure_gini(vec![Vec::<u32>::new()], 10, 4), None);
    assert_eq!(gini(&[1.0, -1.0]), None);
}

// ---------------------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------------------

/// 400 values cycling 0, 1/3, 2/3, 1.
fn sample_values() -> Vec<f64> {
    (0..400).map(|i| f64::from(i % 4) / 3.0).collect()
}

#[test]
fn bootstrap_is_deterministic_and_contains_the_mean() {
    let values = sample_values();
    // Values cycle 0, 1/3, 2/3, 1 → mean 0.5.
    let cfg = BootstrapConfig::default();
    assert_eq!(cfg.resamples, 1000);
    let first = bootstrap_mean(&values, &cfg);
    let second = bootstrap_mean(&values, &cfg);
    assert_eq!(first, second);
    let Some(Estimate { value, ci: (lo, hi) }) = first else {
        panic!("no estimate");
    };
    assert_close(value, 0.5);
    assert!(lo < value && value < hi, "{lo} < {value} < {hi}");
    // Population sd = sqrt(mean((x − 0.5)²)) = sqrt((0.25 + 1/36 + 1/36 + 0.25)/4)
    // = sqrt(5/36) = 0.3727; SE = 0.3727/√400 = 0.0186; 95 % half-width ≈ 1.96·SE = 0.0365.
    let half = 1.96 * (5.0f64 / 36.0).sqrt() / 20.0;
    assert!(close(value - lo, half, 0.008), "lower half-width {}", value - lo);
    assert!(close(hi - value, half, 0.008), "upper half-width {}", hi - value);

    let other = bootstrap_mean(&values, &BootstrapConfig { seed: 7, ..cfg });
    assert_ne!(first, other);
}

#[test]
fn bootstrap_constant_and_empty() {
    let cfg = BootstrapConfig::default();
    assert_eq!(bootstrap_mean(&[0.25; 30], &cfg), Some(Estimate { value: 0.25, ci: (0.25, 0.25) }));
    assert_eq!(bootstrap_mean(&[], &cfg), None);
    assert_eq!(bootstrap_mean(&[f64::NAN], &cfg), None);
}

#[test]
fn bootstrap_global_statistic() {
    // Coverage over 4 users' lists on a 10-item catalogue: {0,1}, {2,3}, {0,1}, {4,5} →
    // 6 distinct of 10 = 0.6 on all users; a resample can only lose items.
    let lists = [vec![0, 1], vec![2, 3], vec![0, 1], vec![4, 5]];
    let cfg = BootstrapConfig::default();
    let stat = |idx: &[usize]| catalogue_coverage(idx.iter().filter_map(|&u| lists.get(u)), 10, 10);
    let a = bootstrap_statistic(lists.len(), &cfg, stat);
    assert_eq!(a, bootstrap_statistic(lists.len(), &cfg, stat));
    let Some(Estimate { value, ci: (lo, hi) }) = a else {
        panic!("no estimate");
    };
    assert_close(value, 0.6);
    // Each resample holds 1 to 3 distinct lists → coverage between 0.2 and 0.6.
    assert!((0.2..=0.6).contains(&lo) && (0.2..=0.6).contains(&hi) && lo <= hi);
    assert_eq!(bootstrap_statistic(3, &cfg, |_| None), None);
}

// ---------------------------------------------------------------------------------------
// Paired comparison
// ---------------------------------------------------------------------------------------

#[test]
fn sign_flip_exact_by_hand() {
    // d = [1, 2, 3], observed |Σ| = 6. The 8 sign patterns give |Σ| = 6, 4, 2, 0, 0, 2, 4, 6:
    // two reach 6 → p = 2/8.
    assert_close_opt(sign_flip_p_value(&[1.0, 2.0, 3.0], 10_000, 1), 0.25);
    // d = [1, −1, 2], observed 2. |Σ| = 2, 0, 4, 2, 2, 4, 0, 2 → six ≥ 2 → p = 6/8.
    assert_close_opt(sign_flip_p_value(&[1.0, -1.0, 2.0], 10_000, 1), 0.75);
    assert_eq!(sign_flip_p_value(&[], 100, 1), None);
}

#[test]
fn paired_zero_differences() {
    let a: Vec<f64> = (0..200).map(|i| f64::from(i % 7) / 7.0).collect();
    let cmp = paired_compare(&a, &a, &PairedConfig::default());
    let Ok(cmp) = cmp else {
        panic!("{cmp:?}");
    };
    assert_eq!(cmp.n, 200);
    assert_close(cmp.delta.value, 0.0);
    assert_eq!(cmp.delta.ci, (0.0, 0.0));
    // Every sign pattern gives |Σ 0| = 0 ≥ 0 → p = (1 + R)/(1 + R) = 1.
    assert_close(cmp.p_value, 1.0);
    assert_eq!(cmp.p_value_t, Some(1.0));
}

#[test]
fn paired_consistent_differences() {
    // B beats A by 0.05 to 0.15 on every one of 100 users: no sign-flipped sum can reach
    // the observed one, so the Monte Carlo p-value is its minimum 1/(1 + 10000).
    let a: Vec<f64> = (0..100).map(|i| f64::from(i % 10) / 10.0).collect();
    let b: Vec<f64> = a.iter().enumerate().map(|(i, x)| x + 0.05 + 0.1 * f64::from(i as u32 % 3) / 2.0).collect();
    let Ok(cmp) = paired_compare(&a, &b, &PairedConfig::default()) else {
        panic!("comparison failed");
    };
    // Deltas cycle 0.05, 0.10, 0.15 (34, 33, 33 users) → mean = (34·0.05 + 33·0.25)/100 = 0.0995.
    assert!(close(cmp.delta.value, 0.0995, 1e-12), "{}", cmp.delta.value);
    assert!(cmp.delta.ci.0 > 0.09 && cmp.delta.ci.1 < 0.11);
    assert_close(cmp.p_value, 1.0 / 10_001.0);
    assert!(cmp.p_value_t.is_some_and(|p| p < 1e-30));
    assert_close(cmp.mean_b - cmp.mean_a, 0.0995);
}

#[test]
fn paired_errors() {
    let cfg = PairedConfig::default();
    assert_eq!(paired_compare(&[1.0], &[1.0, 2.0], &cfg).err(), Some(PairedError::LengthMismatch { a: 1, b: 2 }));
    assert_eq!(paired_compare(&[], &[], &cfg).err(), Some(PairedError::Empty));
    assert_eq!(paired_compare(&[1.0, f64::NAN], &[1.0, 2.0], &cfg).err(), Some(PairedError::NonFinite(1)));
}

#[test]
fn student_t_against_closed_forms() {
    use std::f64::consts::PI;
    for &t in &[0.0, 0.3, 1.0, 2.0, 3.5, 12.0] {
        // df = 1 (Cauchy): p = 1 − (2/π)·atan|t|.
        assert!(close(student_t_two_sided_p(t, 1.0).unwrap_or(f64::NAN), 1.0 - 2.0 / PI * f64::atan(t), 1e-12));
        // df = 2: F(t) = 1/2 + t / (2√(2 + t²)) → p = 1 − t/√(2 + t²).
        assert!(close(student_t_two_sided_p(t, 2.0).unwrap_or(f64::NAN), 1.0 - t / (2.0 + t * t).sqrt(), 1e-12));
        // df = 3: F(t) = 1/2 + (1/π)[(t/√3)/(1 + t²/3) + atan(t/√3)].
        let u = t / 3f64.sqrt();
        let f3 = 0.5 + (u / (1.0 + u * u) + u.atan()) / PI;
        assert!(close(student_t_two_sided_p(t, 3.0).unwrap_or(f64::NAN), 2.0 * (1.0 - f3), 1e-12));
        // df = 4: F(t) = 1/2 + (3/8)·(t/√(1 + t²/4))·(1 − t²/(12(1 + t²/4))).
        let w = 1.0 + t * t / 4.0;
        let f4 = 0.5 + 0.375 * (t / w.sqrt()) * (1.0 - t * t / (12.0 * w));
        assert!(close(student_t_two_sided_p(t, 4.0).unwrap_or(f64::NAN), 2.0 * (1.0 - f4), 1e-12));
    }
    // Very large df approaches the normal: 2·(1 − Φ(1.959963984540054)) = 0.05.
    assert!(close(student_t_two_sided_p(1.959_963_984_540_054, 1e7).unwrap_or(f64::NAN), 0.05, 1e-6));
    assert_eq!(student_t_two_sided_p(1.0, 0.0), None);
}

#[test]
fn paired_t_by_hand() {
    // d = [1, 2, 3]: mean 2, sd 1, SE = 1/√3, t = 2√3, df = 2 → p = 1 − t/√(2 + t²)
    // = 1 − 3.4641/√14 = 0.07417990022744847.
    let t = 2.0 * 3f64.sqrt();
    assert_close_opt(paired_t_p_value(&[1.0, 2.0, 3.0]), 1.0 - t / (2.0 + t * t).sqrt());
    assert_eq!(paired_t_p_value(&[1.0]), None);
    // No spread but a non-zero mean: the difference is certain.
    assert_eq!(paired_t_p_value(&[0.5, 0.5, 0.5]), Some(0.0));
}

// ---------------------------------------------------------------------------------------
// Overlap
// ---------------------------------------------------------------------------------------

#[test]
fn jaccard_by_hand() {
    // {1,2,3,4} vs {3,4,5,6}: 2 shared of 6 → 1/3; top 2: {1,2} vs {3,4} → 0.
    assert_close_opt(jaccard_at_k(&[1, 2, 3, 4], &[3, 4, 5, 6], 4), 1.0 / 3.0);
    assert_close_opt(jaccard_at_k(&[1, 2, 3, 4], &[3, 4, 5, 6], 2), 0.0);
    assert_close_opt(jaccard_at_k(&[1, 2], &[2, 1], 10), 1.0);
    assert_eq!(jaccard_at_k(&[], &[], 10), None);
}

#[test]
fn rbo_identical_disjoint_and_by_hand() {
    let a: Vec<u32> = (0..10).collect();
    let b: Vec<u32> = (100..110).collect();
    // Identical: X_d = d → p^k + (1−p)/p·Σ p^d = p^k + 1 − p^k = 1.
    assert_close_opt(rbo_ext(&a, &a, 0.9, 10), 1.0);
    assert_close_opt(rbo_ext(&a, &b, 0.9, 10), 0.0);
    // a = [1,2,3], b = [1,3,4], p = 0.5: X1 = 1, X2 = 1, X3 = 2.
    // Σ X_d/d·p^d = 1·0.5 + 0.5·0.25 + (2/3)·0.125 = 17/24; (1−p)/p = 1;
    // extrapolation X3/3·p³ = 1/12 = 2/24 → 19/24.
    assert_close_opt(rbo_ext(&[1, 2, 3], &[1, 3, 4], 0.5, 10), 19.0 / 24.0);
    // Same lists, p = 0.9: Σ = 0.9 + 0.405 + 0.486 = 1.791; ·(0.1/0.9) = 0.199;
    // + (2/3)·0.729 = 0.486 → 0.685.
    assert_close_opt(rbo_ext(&[1, 2, 3], &[1, 3, 4], 0.9, 10), 0.685);
    // Unequal lengths are truncated to the shorter: depth 2, X1 = 1, X2 = 1, p = 0.5:
    // 0.5 + 0.125 + (1/2)·0.25 = 0.75.
    assert_close_opt(rbo_ext(&[1, 2, 3, 4], &[1, 3], 0.5, 10), 0.75);
    // p = 1: the plain overlap proportion at depth d: X3/3 = 2/3.
    assert_close_opt(rbo_ext(&[1, 2, 3], &[1, 3, 4], 1.0, 10), 2.0 / 3.0);
    assert_eq!(rbo_ext(&a, &a, 0.0, 10), None);
    assert_eq!(rbo_ext(&a, &a, 1.5, 10), None);
    assert_eq!(rbo_ext(&a, &[], 0.9, 10), None);
}

#[test]
fn kendall_by_hand() {
    assert_close_opt(kendall_tau_shared(&[1, 2, 3, 4], &[4, 3, 2, 1], 10), -1.0);
    assert_close_opt(kendall_tau_shared(&[1, 2, 3, 4], &[1, 2, 3, 4], 10), 1.0);
    // [1,2,3] vs [2,1,3]: pair (1,2) discordant, (1,3) and (2,3) concordant → (2 − 1)/3.
    assert_close_opt(kendall_tau_shared(&[1, 2, 3], &[2, 1, 3], 10), 1.0 / 3.0);
    // Shared {1, 2, 3}: a orders 1 < 2 < 3, b orders 3 < 2 < 1 → −1; 8 and 9 are ignored.
    assert_close_opt(kendall_tau_shared(&[1, 9, 2, 3], &[3, 8, 2, 1], 10), -1.0);
    // Cut-off: top 2 of each share only item 1 → None.
    assert_eq!(kendall_tau_shared(&[1, 2, 3], &[1, 3, 2], 2), None);
    assert_eq!(kendall_tau_shared(&[1, 2], &[3, 4], 10), None);
}

#[test]
fn distribution_by_hand() {
    // [1, 2, 3, 4, 10]: mean 20/5 = 4; type-7 quartiles at positions 1, 2, 3 → 2, 3, 4.
    // 3 bins of width 3: [1,4) holds 1,2,3; [4,7) holds 4; [7,10] holds 10.
    let Some(d) = Distribution::from_values([10.0, 2.0, f64::NAN, 1.0, 4.0, 3.0], 3) else {
        panic!("no distribution");
    };
    assert_eq!(d.n, 5);
    assert_close(d.mean, 4.0);
    assert_eq!((d.min, d.q1, d.median, d.q3, d.max), (1.0, 2.0, 3.0, 4.0, 10.0));
    let counts: Vec<usize> = d.histogram.iter().map(|b| b.count).collect();
    assert_eq!(counts, [3, 1, 1]);
    let edges: Vec<(f64, f64)> = d.histogram.iter().map(|b| (b.lo, b.hi)).collect();
    assert_eq!(edges, [(1.0, 4.0), (4.0, 7.0), (7.0, 10.0)]);
    // All equal → one bin.
    let Some(same) = Distribution::from_values([0.5; 4], 10) else {
        panic!("no distribution");
    };
    assert_eq!(same.histogram.len(), 1);
    assert_eq!(same.histogram.first().map(|b| b.count), Some(4));
    assert_eq!(Distribution::from_values([], 10), None);
}

// ---------------------------------------------------------------------------------------
// Independent reference (numpy)
// ---------------------------------------------------------------------------------------

fn read_json(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {name}: {e}"))
}

fn as_f64(v: &serde_json::Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{what} is not a number"))
}

#[test]
fn agrees_with_numpy_reference() {
    let fixture = read_json("metrics_reference.json");
    let expected = read_json("metrics_reference_expected.json");
    let users = fixture["users"].as_array().expect("users");
    let want_users = expected["users"].as_array().expect("expected users");
    assert_eq!(users.len(), 200);
    assert_eq!(users.len(), want_users.len());
    let ks: Vec<usize> =
        fixture["ks"].as_array().expect("ks").iter().map(|k| k.as_u64().expect("k") as usize).collect();
    assert!(ks.contains(&10));

    let mut sums = vec![[0.0f64; 8]; ks.len()];
    let mut checked = 0usize;
    for (user, want) in users.iter().zip(want_users) {
        assert_eq!(user["user"], want["user"]);
        let ranked: Vec<u32> =
            user["ranked"].as_array().expect("ranked").iter().map(|i| i.as_u64().expect("item") as u32).collect();
        let rel = Relevance::graded(
            user["relevance"]
                .as_array()
                .expect("relevance")
                .iter()
                .map(|pair| (pair[0].as_u64().expect("item") as u32, as_f64(&pair[1], "gain"))),
        );
        let binary = rel.to_binary();
        for (ki, &k) in ks.iter().enumerate() {
            let w = &want["metrics"][k.to_string()];
            let s = AccuracyScores::compute(&ranked, &rel, k);
            let got = [
                ("precision", s.precision),
                ("recall", s.recall),
                ("f1", s.f1),
                ("hit_rate", s.hit_rate),
                ("mrr", s.reciprocal_rank),
                ("map", s.average_precision),
                ("ndcg", s.ndcg),
                ("ndcg_binary", ndcg(&ranked, &binary, k)),
            ];
            // The single-metric functions must agree with the one-pass computation.
            let single = [
                precision(&ranked, &rel, k),
                recall(&ranked, &rel, k),
                f1(&ranked, &rel, k),
                hit_rate(&ranked, &rel, k),
                reciprocal_rank(&ranked, &rel, k),
                average_precision(&ranked, &rel, k),
                ndcg(&ranked, &rel, k),
            ];
            for (i, (name, value)) in got.iter().enumerate() {
                let reference = as_f64(&w[*name], name);
                assert!(
                    close(*value, reference, 1e-9),
                    "user {} {name}@{k}: rust {value} vs numpy {reference}",
                    user["user"]
                );
                if let Some(v) = single.get(i) {
                    assert!(close(*v, reference, 1e-9), "{name}@{k} single-metric");
                }
                if let Some(slot) = sums.get_mut(ki).and_then(|row| row.get_mut(i)) {
                    *slot += value;
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 200 * ks.len() * 8);
    // Means over users, e.g. NDCG@10 and recall@10 as reported in results tables.
    let names = ["precision", "recall", "f1", "hit_rate", "mrr", "map", "ndcg", "ndcg_binary"];
    for (ki, k) in ks.iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let mean = sums[ki][i] / users.len() as f64;
            let reference = as_f64(&expected["means"][k.to_string()][*name], name);
            assert!(close(mean, reference, 1e-9), "mean {name}@{k}: rust {mean} vs numpy {reference}");
        }
    }
}
