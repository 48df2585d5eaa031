//! Ranking metrics at a cut-off K over item ids.
//!
//! Accuracy metrics (precision … NDCG) and the per-user beyond-accuracy metrics (novelty,
//! diversity, long-tail share) give one value per user, so their mean over users can be
//! bootstrapped ([`crate::eval::bootstrap::bootstrap_mean`]). Catalogue coverage and the Gini
//! of exposure are global: they are computed over all evaluated users' lists at once and
//! bootstrapped by resampling users ([`crate::eval::bootstrap::bootstrap_statistic`]).
//!
//! Conventions shared by every function here:
//! - `ranked` is best first; only its first `k` entries count. A list shorter than `k` is
//!   not padded, but precision still divides by `k` (the protocol of the peer baselines).
//! - An item repeated in a list counts only at its first position.
//! - `k == 0`, an empty list or an empty relevant set give 0.0 for accuracy metrics (callers
//!   should leave users with no relevant items out of the average, as the protocol does).
//! - Catalogue-wide metrics assume items are dense indices `0..catalogue_size`; ids outside
//!   that range are ignored.

use std::collections::HashSet;

use serde::Serialize;

pub use super::metric_names::{MetricKey, MetricKind, MetricScope, ParseMetricError};

/// The relevant items of one user with their gains (graded relevance).
///
/// Gains are strictly positive and finite; items are unique and sorted by id. For binary
/// relevance every gain is 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relevance {
    /// `(item, gain)` sorted by item.
    gains: Vec<(u32, f64)>,
    /// All gains sorted descending, for the ideal DCG.
    ideal: Vec<f64>,
}

impl Relevance {
    /// Graded relevance from `(item, gain)` pairs.
    ///
    /// Pairs with a non-finite or non-positive gain are dropped (they carry no relevance);
    /// for an item given more than once, the largest gain is kept.
    pub fn graded(pairs: impl IntoIterator<Item = (u32, f64)>) -> Self {
        let mut gains: Vec<(u32, f64)> = pairs.into_iter().filter(|(_, g)| g.is_finite() && *g > 0.0).collect();
        // Largest gain first within an item, so `dedup_by_key` keeps it.
        gains.sort_by(|x, y| x.0.cmp(&y.0).then(y.1.total_cmp(&x.1)));
        gains.dedup_by_key(|(item, _)| *item);
        let mut ideal: Vec<f64> = gains.iter().map(|(_, g)| *g).collect();
        ideal.sort_by(|x, y| y.total_cmp(x));
        Self { gains, ideal }
    }

    /// Binary relevance: every listed item has gain 1.
    pub fn binary(items: impl IntoIterator<Item = u32>) -> Self {
        Self::graded(items.into_iter().map(|item| (item, 1.0)))
    }

    /// The same relevant set with every gain set to 1.
    pub fn to_binary(&self) -> Self {
        Self::binary(self.gains.iter().map(|(item, _)| *item))
    }

    /// Number of relevant items, |R|.
    pub fn len(&self) -> usize {
        self.gains.len()
    }

    /// True when the user has no relevant item.
    pub fn is_empty(&self) -> bool {
        self.gains.is_empty()
    }

    /// The gain of `item`, or `None` when it is not relevant.
    pub fn gain(&self, item: u32) -> Option<f64> {
        self.gains.binary_search_by_key(&item, |(i, _)| *i).ok().and_then(|pos| self.gains.get(pos)).map(|(_, g)| *g)
    }

    /// True when `item` is relevant.
    pub fn contains(&self, item: u32) -> bool {
        self.gain(item).is_some()
    }

    /// `(item, gain)` pairs sorted by item.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.gains.iter().copied()
    }

    /// Ideal DCG at cut-off `k`: the top `min(|R|, k)` gains, sorted descending.
    pub fn ideal_dcg(&self, k: usize) -> f64 {
        self.ideal.iter().take(k).enumerate().map(|(pos, g)| g / discount_log2(pos)).sum()
    }
}

/// `log2(rank + 1)` for a 0-based position (rank = position + 1).
fn discount_log2(pos: usize) -> f64 {
    (pos as f64 + 2.0).log2()
}

/// Hits in the top `k` of `ranked`: `(0-based position, gain)`, first occurrences only.
fn hits<'a>(ranked: &'a [u32], rel: &'a Relevance, k: usize) -> impl Iterator<Item = (usize, f64)> + 'a {
    let top = ranked.get(..k.min(ranked.len())).unwrap_or(&[]);
    top.iter().enumerate().filter_map(move |(pos, &item)| {
        let gain = rel.gain(item)?;
        // Only relevant items pay for the duplicate check, so this stays cheap.
        let repeated = top.iter().take(pos).any(|&earlier| earlier == item);
        (!repeated).then_some((pos, gain))
    })
}

/// Number of relevant items in the top `k`.
pub fn hit_count(ranked: &[u32], rel: &Relevance, k: usize) -> usize {
    hits(ranked, rel, k).count()
}

/// Precision@K = hits / K (0.0 when `k == 0`).
pub fn precision(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    hit_count(ranked, rel, k) as f64 / k as f64
}

/// Recall@K = hits / |R| (0.0 when R is empty).
pub fn recall(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    if rel.is_empty() {
        return 0.0;
    }
    hit_count(ranked, rel, k) as f64 / rel.len() as f64
}

/// F1@K: harmonic mean of precision and recall (0.0 when both are 0).
pub fn f1(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    f1_of(precision(ranked, rel, k), recall(ranked, rel, k))
}

fn f1_of(p: f64, r: f64) -> f64 {
    if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 }
}

/// Hit rate@K: 1.0 when at least one relevant item is in the top `k`, else 0.0.
pub fn hit_rate(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    if hits(ranked, rel, k).next().is_some() { 1.0 } else { 0.0 }
}

/// Reciprocal rank@K: 1 / rank of the first relevant item in the top `k`, else 0.0.
/// Its mean over users is MRR.
pub fn reciprocal_rank(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    hits(ranked, rel, k).next().map_or(0.0, |(pos, _)| 1.0 / (pos as f64 + 1.0))
}

/// Average precision@K: Σ over hits at rank r of precision@r, divided by min(|R|, K).
/// Relevance is binary here (gain > 0). Its mean over users is MAP.
pub fn average_precision(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    let denom = rel.len().min(k);
    if denom == 0 {
        return 0.0;
    }
    let sum: f64 =
        hits(ranked, rel, k).enumerate().map(|(n_before, (pos, _))| (n_before as f64 + 1.0) / (pos as f64 + 1.0)).sum();
    sum / denom as f64
}

/// Discounted cumulative gain@K: Σ gain / log2(rank + 1).
pub fn dcg(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    hits(ranked, rel, k).map(|(pos, gain)| gain / discount_log2(pos)).sum()
}

/// NDCG@K: DCG divided by the ideal DCG over the top min(|R|, K) gains (0.0 when R is
/// empty or `k == 0`). Uses the stored gains; pass [`Relevance::to_binary`] for binary NDCG.
pub fn ndcg(ranked: &[u32], rel: &Relevance, k: usize) -> f64 {
    let ideal = rel.ideal_dcg(k);
    if ideal > 0.0 { dcg(ranked, rel, k) / ideal } else { 0.0 }
}

/// All per-user accuracy metrics for one list, computed in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AccuracyScores {
    /// Hits / K.
    pub precision: f64,
    /// Hits / |R|.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// 1.0 when any hit, else 0.0.
    pub hit_rate: f64,
    /// Reciprocal rank of the first hit.
    pub reciprocal_rank: f64,
    /// Average precision (normalised by min(|R|, K)).
    pub average_precision: f64,
    /// Normalised DCG with the stored gains.
    pub ndcg: f64,
}

impl AccuracyScores {
    /// Computes every accuracy metric of `ranked` against `rel` at cut-off `k`.
    pub fn compute(ranked: &[u32], rel: &Relevance, k: usize) -> Self {
        let mut n_hits = 0usize;
        let mut first_pos = None;
        let mut ap_sum = 0.0;
        let mut dcg_sum = 0.0;
        for (pos, gain) in hits(ranked, rel, k) {
            n_hits += 1;
            first_pos.get_or_insert(pos);
            ap_sum += n_hits as f64 / (pos as f64 + 1.0);
            dcg_sum += gain / discount_log2(pos);
        }
        let precision = if k == 0 { 0.0 } else { n_hits as f64 / k as f64 };
        let recall = if rel.is_empty() { 0.0 } else { n_hits as f64 / rel.len() as f64 };
        let ap_denom = rel.len().min(k);
        let ideal = rel.ideal_dcg(k);
        Self {
            precision,
            recall,
            f1: f1_of(precision, recall),
            hit_rate: if n_hits > 0 { 1.0 } else { 0.0 },
            reciprocal_rank: first_pos.map_or(0.0, |pos| 1.0 / (pos as f64 + 1.0)),
            average_precision: if ap_denom > 0 { ap_sum / ap_denom as f64 } else { 0.0 },
            ndcg: if ideal > 0.0 { dcg_sum / ideal } else { 0.0 },
        }
    }

    /// The value for an accuracy metric kind; `None` for beyond-accuracy kinds.
    pub fn get(&self, kind: MetricKind) -> Option<f64> {
        match kind {
            MetricKind::Precision => Some(self.precision),
            MetricKind::Recall => Some(self.recall),
            MetricKind::F1 => Some(self.f1),
            MetricKind::HitRate => Some(self.hit_rate),
            MetricKind::Mrr => Some(self.reciprocal_rank),
            MetricKind::Map => Some(self.average_precision),
            MetricKind::Ndcg => Some(self.ndcg),
            MetricKind::Coverage
            | MetricKind::Novelty
            | MetricKind::Diversity
            | MetricKind::LongTail
            | MetricKind::Gini => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Beyond accuracy
// ---------------------------------------------------------------------------------------

/// Catalogue coverage@K (global): distinct items recommended in anyone's top `k`, divided
/// by `catalogue_size`. `None` when the catalogue is empty.
pub fn catalogue_coverage<L: AsRef<[u32]>>(
    lists: impl IntoIterator<Item = L>,
    k: usize,
    catalogue_size: usize,
) -> Option<f64> {
    if catalogue_size == 0 {
        return None;
    }
    let mut seen = vec![false; catalogue_size];
    let mut distinct = 0usize;
    for list in lists {
        for &item in list.as_ref().iter().take(k) {
            if let Some(flag) = seen.get_mut(item as usize)
                && !*flag
            {
                *flag = true;
                distinct += 1;
            }
        }
    }
    Some(distinct as f64 / catalogue_size as f64)
}

/// Novelty@K of one list (per user): mean self-information `-log2(pop(i) / n_users)` of
/// its top `k` items, where `popularity[i]` is the number of training users who had item i.
///
/// Popularity is clamped to `[1, n_users]`: an item nobody had (or an id outside
/// `popularity`) counts as had by one user, the rarest observable, giving `log2(n_users)`
/// instead of infinity. `None` for an empty top-K or `n_users == 0`.
pub fn novelty(ranked: &[u32], k: usize, popularity: &[u32], n_users: usize) -> Option<f64> {
    if n_users == 0 {
        return None;
    }
    let n = n_users as f64;
    let (sum, count) = ranked.iter().take(k).fold((0.0, 0usize), |(s, c), &item| {
        let pop = popularity.get(item as usize).copied().unwrap_or(0);
        let pop = (pop as f64).clamp(1.0, n);
        (s - (pop / n).log2(), c + 1)
    });
    (count > 0).then(|| sum / count as f64)
}

/// Intra-list diversity@K of one list (per user): 1 − mean pairwise similarity over all
/// pairs of its top `k` items; with cosine similarity this is the mean pairwise cosine
/// distance. Pairs for which `similarity` returns `None` (e.g. an item with no embedding)
/// are skipped. `None` when fewer than 2 items or no pair has a similarity.
pub fn intra_list_diversity(ranked: &[u32], k: usize, similarity: impl Fn(u32, u32) -> Option<f32>) -> Option<f64> {
    let top = ranked.get(..k.min(ranked.len())).unwrap_or(&[]);
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for (pos, &a) in top.iter().enumerate() {
        for &b in top.iter().skip(pos + 1) {
            if let Some(s) = similarity(a, b).filter(|s| s.is_finite()) {
                sum += f64::from(s);
                pairs += 1;
            }
        }
    }
    (pairs > 0).then(|| 1.0 - sum / pairs as f64)
}

/// The "head" of the catalogue: the most-interacted items that together make up
/// `head_share` (e.g. 0.2) of all interactions; `interactions[i]` counts item i's training
/// interactions. Items are taken by count descending, ties to the lower id, until the
/// cumulative count reaches the share. Empty when there are no interactions.
pub fn head_items(interactions: &[u32], head_share: f64) -> HashSet<u32> {
    let total: u64 = interactions.iter().map(|&c| u64::from(c)).sum();
    let mut head = HashSet::new();
    if total == 0 || head_share.is_nan() || head_share <= 0.0 {
        return head;
    }
    let target = head_share.min(1.0) * total as f64;
    let mut order: Vec<(u32, u32)> = interactions
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .filter_map(|(i, &c)| u32::try_from(i).ok().map(|id| (id, c)))
        .collect();
    order.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let mut cumulative = 0u64;
    for (item, count) in order {
        if cumulative as f64 >= target {
            break;
        }
        head.insert(item);
        cumulative += u64::from(count);
    }
    head
}

/// Long-tail share@K of one list (per user): the fraction of its top `k` items that are
/// not in `head` (see [`head_items`]). `None` for an empty top-K.
pub fn long_tail_share(ranked: &[u32], k: usize, head: &HashSet<u32>) -> Option<f64> {
    let (tail, count) =
        ranked.iter().take(k).fold((0usize, 0usize), |(t, c), item| (t + usize::from(!head.contains(item)), c + 1));
    (count > 0).then(|| tail as f64 / count as f64)
}

/// Gini of exposure@K (global): the Gini coefficient of how often each catalogue item
/// (`0..catalogue_size`, never-recommended items included with count 0) appears in the
/// top `k` of all lists. 0 = every item equally exposed; (n − 1)/n = one item takes all.
/// `None` when the catalogue is empty or nothing was recommended.
pub fn exposure_gini<L: AsRef<[u32]>>(
    lists: impl IntoIterator<Item = L>,
    k: usize,
    catalogue_size: usize,
) -> Option<f64> {
    let mut counts = vec![0.0f64; catalogue_size];
    for list in lists {
        for &item in list.as_ref().iter().take(k) {
            if let Some(c) = counts.get_mut(item as usize) {
                *c += 1.0;
            }
        }
    }
    gini(&counts)
}

/// Gini coefficient of non-negative values:
/// `Σ_i (2i − n − 1)·x_(i) / (n·Σx)` with `x_(i)` sorted ascending, i = 1..n.
/// `None` when empty, when the sum is not positive, or for negative or non-finite values.
pub fn gini(values: &[f64]) -> Option<f64> {
    if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return None;
    }
    let total: f64 = values.iter().sum();
    if values.is_empty() || total <= 0.0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let weighted: f64 = sorted.iter().enumerate().map(|(i, x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x).sum();
    Some(weighted / (n * total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relevance_drops_bad_gains_and_keeps_largest_duplicate() {
        let rel = Relevance::graded([(3, 1.0), (1, 0.0), (2, f64::NAN), (3, 2.5), (7, -1.0)]);
        assert_eq!(rel.len(), 1);
        assert_eq!(rel.gain(3), Some(2.5));
        assert!(!rel.contains(1));
    }

    #[test]
    fn duplicates_in_list_count_once() {
        // [5, 5, 6] with R = {5}: one hit at rank 1; precision@3 = 1/3.
        let rel = Relevance::binary([5]);
        assert!((precision(&[5, 5, 6], &rel, 3) - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(hit_count(&[5, 5, 6], &rel, 3), 1);
    }

    #[test]
    fn empty_inputs_do_not_panic() {
        let empty = Relevance::default();
        let rel = Relevance::binary([1, 2]);
        for k in [0, 1, 10] {
            let a = AccuracyScores::compute(&[], &rel, k);
            let b = AccuracyScores::compute(&[1, 2], &empty, k);
            for s in [a, b] {
                assert_eq!(s, AccuracyScores::default());
            }
        }
        assert_eq!(AccuracyScores::compute(&[1, 2], &rel, 0), AccuracyScores::default());
        assert_eq!(novelty(&[], 10, &[], 5), None);
        assert_eq!(intra_list_diversity(&[1], 10, |_, _| Some(1.0)), None);
        assert_eq!(long_tail_share(&[], 10, &HashSet::new()), None);
        assert_eq!(catalogue_coverage(Vec::<Vec<u32>>::new(), 10, 0), None);
        assert_eq!(exposure_gini(Vec::<Vec<u32>>::new(), 10, 5), None);
        assert!(head_items(&[], 0.2).is_empty());
    }

    #[test]
    fn metric_key_round_trips() {
        let key = MetricKey::new(MetricKind::HitRate, 20);
        assert_eq!(key.to_string(), "hit_rate@20");
        assert_eq!("hit_rate@20".parse::<MetricKey>(), Ok(key));
        assert!("ndcg".parse::<MetricKey>().is_err());
        assert!("foo@3".parse::<MetricKey>().is_err());
        for kind in MetricKind::ALL {
            assert_eq!(kind.id().parse::<MetricKind>(), Ok(kind));
        }
    }
}
