//! Selecting the best-scoring indices.

/// Indices of the `k` largest finite scores, best first; ties go to the lower index.
/// `skip` marks indices that must not be returned.
///
/// One pass with a bounded buffer: candidates are appended until the buffer holds `2k`,
/// then cut back to the best `k`, whose last score becomes the bar a later index must
/// beat (a later index never wins a tie). Linear in `scores.len()` with little
/// allocation — this runs for every signal of every shopper and for every re-fusion.
pub fn top_k_indices(scores: &[f32], k: usize, skip: impl Fn(usize) -> bool) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    let cmp = |a: &u32, b: &u32| {
        let sa = scores.get(*a as usize).copied().unwrap_or(f32::NEG_INFINITY);
        let sb = scores.get(*b as usize).copied().unwrap_or(f32::NEG_INFINITY);
        sb.total_cmp(&sa).then(a.cmp(b))
    };
    let cap = k.saturating_mul(2).max(k.saturating_add(32)).min(scores.len().max(1));
    let mut kept: Vec<u32> = Vec::with_capacity(cap);
    let mut bar: Option<f32> = None;
    for (i, &s) in scores.iter().enumerate() {
        if !s.is_finite() || bar.is_some_and(|b| s.total_cmp(&b) != std::cmp::Ordering::Greater) || skip(i) {
            continue;
        }
        kept.push(i as u32);
        if kept.len() >= cap && kept.len() > k {
            kept.select_nth_unstable_by(k - 1, cmp);
            kept.truncate(k);
            bar = kept.get(k - 1).and_then(|&j| scores.get(j as usize)).copied();
        }
    }
    if kept.len() > k {
        kept.select_nth_unstable_by(k - 1, cmp);
        kept.truncate(k);
    }
    kept.sort_unstable_by(cmp);
    kept
}

/// The `k` largest (index, value) pairs of a sparse list, best first; ties → lower index.
pub fn top_k_pairs(mut pairs: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if pairs.len() > k && k > 0 {
        pairs.select_nth_unstable_by(k - 1, cmp);
        pairs.truncate(k);
        // A kept list must not hold the candidates' memory (item-CF keeps a list per item).
        pairs.shrink_to_fit();
    }
    if k == 0 {
        pairs.clear();
    }
    pairs.sort_unstable_by(cmp);
    pairs
}

/// The items of a score vector that does not depend on the shopper (popularity,
/// freshness), in ranking order (score descending, ties → lower index) with the vector's
/// range: sorted once, on first use, so a shopper's top-`n` is a walk down the order.
#[derive(Debug, Default)]
pub struct RankedOrder {
    cell: std::sync::OnceLock<(Vec<u32>, (f32, f32))>,
}

impl RankedOrder {
    /// Sorts now (see [`super::Scorer::build_index`]).
    pub fn build(&self, scores: &[f32]) {
        self.top(scores, &super::IndexQuery { n: 0, skip: &|_| false, n_items: scores.len(), probes: 0 });
    }

    /// The exact top-`n` of `scores` (the same vector every call) for `query`.
    pub fn top(&self, scores: &[f32], query: &super::IndexQuery<'_>) -> super::IndexTop {
        let (order, range) = self.cell.get_or_init(|| {
            let clean = |v: f32| if v.is_finite() { v } else { 0.0 };
            let mut order: Vec<u32> = (0..scores.len() as u32).collect();
            let at = |i: u32| clean(scores.get(i as usize).copied().unwrap_or(0.0));
            order.sort_unstable_by(|&a, &b| at(b).total_cmp(&at(a)).then(a.cmp(&b)));
            let (lo, hi) = scores.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                let v = clean(v);
                (l.min(v), h.max(v))
            });
            let range = if scores.is_empty() { (0.0, 0.0) } else { (lo, hi) };
            (order, range)
        });
        let mut items = Vec::with_capacity(query.n.min(order.len()));
        let mut scanned = 0usize;
        for &i in order {
            if items.len() >= query.n {
                break;
            }
            scanned += 1;
            let v = scores.get(i as usize).copied().unwrap_or(0.0);
            if !(v.is_finite() && v > 0.0) {
                break;
            }
            if !(query.skip)(i) {
                items.push(i);
            }
        }
        super::IndexTop { items, range: *range, scanned, lookup: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_best_with_ties_to_lower_index() {
        let s = [0.5, 0.9, 0.9, f32::NAN, 0.1];
        assert_eq!(top_k_indices(&s, 2, |_| false), vec![1, 2]);
        assert_eq!(top_k_indices(&s, 10, |i| i == 1), vec![2, 0, 4]);
        assert_eq!(top_k_pairs(vec![(3, 1.0), (1, 2.0), (2, 2.0)], 2), vec![(1, 2.0), (2, 2.0)]);
    }

    #[test]
    fn a_kept_list_does_not_hold_the_memory_of_every_candidate() {
        // Item-CF keeps one such list per item: 100 kept out of 50,000 scored must not
        // stay a 50,000-pair allocation (most of the 10 M-event batch's 9.2 GiB peak, BENCHMARKS.md "Scale").
        let scored: Vec<(u32, f32)> = (0..50_000u32).map(|i| (i, (i % 977) as f32)).collect();
        let kept = top_k_pairs(scored, 100);
        assert_eq!(kept.len(), 100);
        assert!(kept.capacity() < 200, "capacity {}", kept.capacity());
        assert!(kept.iter().all(|&(_, v)| v == 976.0 || v == 975.0));
    }

    /// The straightforward definition the bounded-buffer version must reproduce.
    fn reference(scores: &[f32], k: usize, skip: impl Fn(usize) -> bool) -> Vec<u32> {
        let mut all: Vec<u32> =
            (0..scores.len()).filter(|&i| !skip(i) && scores[i].is_finite()).map(|i| i as u32).collect();
        all.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        all.truncate(k);
        all
    }

    #[test]
    fn same_as_a_full_sort_on_random_and_tied_scores() {
        let mut rng = fastrand::Rng::with_seed(11);
        for case in 0..300 {
            let n = rng.usize(0..400);
            let levels = if case % 3 == 0 { 4 } else { 1000 };
            let scores: Vec<f32> = (0..n)
                .map(|_| match rng.u8(..20) {
                    0 => f32::NAN,
                    1 => -0.0,
                    2 => 0.0,
                    3 => f32::NEG_INFINITY,
                    _ => (rng.usize(..levels) as f32 - levels as f32 / 3.0) / 7.0,
                })
                .collect();
            let k = rng.usize(0..60);
            let skip = |i: usize| i % 7 == 3;
            assert_eq!(top_k_indices(&scores, k, skip), reference(&scores, k, skip), "case {case}, n {n}, k {k}");
            // Ascending input: every element beats the bar (worst case for the buffer).
            let rising: Vec<f32> = (0..n).map(|i| i as f32).collect();
            assert_eq!(top_k_indices(&rising, k, |_| false), reference(&rising, k, |_| false));
        }
    }
}
