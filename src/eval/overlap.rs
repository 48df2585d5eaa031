//! How similar two ranked lists are, and a summary of such values across users.
//!
//! All list functions look at the top `k` of each list only and treat an item repeated in a
//! list as present at its first position.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::bootstrap::{mean, quantile_sorted};

/// Distinct items of the top `k`, with the 0-based position of their first occurrence,
/// in list order.
fn first_positions(list: &[u32], k: usize) -> Vec<(u32, usize)> {
    let mut seen = HashSet::new();
    list.iter().take(k).enumerate().filter(|(_, item)| seen.insert(**item)).map(|(pos, item)| (*item, pos)).collect()
}

/// Jaccard@K: |A ∩ B| / |A ∪ B| of the two top-`k` item sets. `None` when both are empty.
pub fn jaccard_at_k(a: &[u32], b: &[u32], k: usize) -> Option<f64> {
    let set_a: HashSet<u32> = a.iter().take(k).copied().collect();
    let set_b: HashSet<u32> = b.iter().take(k).copied().collect();
    let inter = set_a.intersection(&set_b).count();
    let union = set_a.len() + set_b.len() - inter;
    (union > 0).then(|| inter as f64 / union as f64)
}

/// Rank-biased overlap, extrapolated variant `RBO_ext` of Webber, Moffat & Zobel (2010,
/// "A similarity measure for indefinite rankings", eq. 30, lists of equal length):
///
/// `RBO_ext = X_d/d · p^d + (1 − p)/p · Σ_{i=1..d} X_i/i · p^i`
///
/// where `X_i` is the number of items shared by the two top-i prefixes and the evaluation
/// depth `d = min(k, |a|, |b|)` (a longer list is truncated to the shorter one's length).
/// It assumes the agreement seen at depth d continues below it; identical lists give 1,
/// disjoint lists 0. Smaller `p` puts more weight on the top (p = 0.9 gives the top 10
/// about 86 % of the weight). `p` must lie in (0, 1]; at p = 1 the value is X_d/d.
/// `None` for an invalid `p` or depth 0.
pub fn rbo_ext(a: &[u32], b: &[u32], p: f64, k: usize) -> Option<f64> {
    if p.is_nan() || p <= 0.0 || p > 1.0 {
        return None;
    }
    let depth = k.min(a.len()).min(b.len());
    if depth == 0 {
        return None;
    }
    // X_d counts first occurrences only, so a repeated item cannot be counted twice.
    let mut seen_a = HashSet::with_capacity(depth);
    let mut seen_b = HashSet::with_capacity(depth);
    let mut overlap = 0usize;
    let mut weight = 1.0;
    let mut sum = 0.0;
    let mut last_agreement = 0.0;
    for (d, (x, y)) in a.iter().zip(b).take(depth).enumerate() {
        if seen_a.insert(*x) && seen_b.contains(x) {
            overlap += 1;
        }
        if seen_b.insert(*y) && seen_a.contains(y) {
            overlap += 1;
        }
        weight *= p;
        last_agreement = overlap as f64 / (d as f64 + 1.0);
        sum += last_agreement * weight;
    }
    Some(last_agreement * weight + (1.0 - p) / p * sum)
}

/// Kendall's τ between the orders the two lists give to the items they share (within the
/// top `k` of each): (concordant − discordant) / (n(n − 1)/2). Positions within a list are
/// distinct, so no tie correction is needed. +1 = same order, −1 = reversed. `None` when
/// fewer than 2 items are shared.
pub fn kendall_tau_shared(a: &[u32], b: &[u32], k: usize) -> Option<f64> {
    let pos_b: HashMap<u32, usize> = first_positions(b, k).into_iter().collect();
    // Positions in b of the shared items, in a's order.
    let order: Vec<usize> =
        first_positions(a, k).into_iter().filter_map(|(item, _)| pos_b.get(&item).copied()).collect();
    let n = order.len();
    if n < 2 {
        return None;
    }
    let mut score = 0i64;
    for (i, &pi) in order.iter().enumerate() {
        for &pj in order.iter().skip(i + 1) {
            score += if pi < pj { 1 } else { -1 };
        }
    }
    let pairs = (n * (n - 1) / 2) as f64;
    Some(score as f64 / pairs)
}

/// One bin of a [`Distribution`] histogram: values in `[lo, hi)` (the last bin includes `hi`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistogramBin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Number of values in the bin.
    pub count: usize,
}

/// Summary of per-user values (e.g. Jaccard@10 between two configurations across users).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// Number of (finite) values summarised.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Smallest value.
    pub min: f64,
    /// First quartile (type-7 interpolation, as numpy).
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Largest value.
    pub max: f64,
    /// Equal-width bins from `min` to `max`; a single bin when all values are equal.
    pub histogram: Vec<HistogramBin>,
}

impl Distribution {
    /// Summarises the finite values (others are skipped) with `bins` histogram bins
    /// (0 gives no histogram). `None` when no finite value is given. For optional
    /// per-user values pass e.g. `values.iter().flatten().copied()`.
    pub fn from_values(values: impl IntoIterator<Item = f64>, bins: usize) -> Option<Self> {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let min = *sorted.first()?;
        let max = *sorted.last()?;
        let histogram = if bins == 0 {
            Vec::new()
        } else if max > min {
            let width = (max - min) / bins as f64;
            let mut counts = vec![0usize; bins];
            for v in &sorted {
                let idx = (((v - min) / width).floor() as usize).min(bins - 1);
                if let Some(c) = counts.get_mut(idx) {
                    *c += 1;
                }
            }
            counts
                .into_iter()
                .enumerate()
                .map(|(i, count)| HistogramBin {
                    lo: min + i as f64 * width,
                    hi: if i + 1 == bins { max } else { min + (i + 1) as f64 * width },
                    count,
                })
                .collect()
        } else {
            vec![HistogramBin { lo: min, hi: max, count: sorted.len() }]
        };
        Some(Self {
            n: sorted.len(),
            mean: mean(&sorted)?,
            min,
            q1: quantile_sorted(&sorted, 0.25)?,
            median: quantile_sorted(&sorted, 0.5)?,
            q3: quantile_sorted(&sorted, 0.75)?,
            max,
            histogram,
        })
    }
}
