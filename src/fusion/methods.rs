//! Fusion methods over a prepared [`CandidateSet`], and exact attribution.

use super::candidates::CandidateSet;
use super::config::{FusionConfig, FusionMethod};
use crate::score::SignalId;

/// Weight of each signal of the set (0 when disabled, or degenerate over this set).
pub fn weights_of(set: &CandidateSet, config: &FusionConfig) -> Vec<f32> {
    set.signals
        .iter()
        .enumerate()
        .map(|(s, &id)| if set.is_degenerate_signal(s) { 0.0 } else { config.weight(id) })
        .collect()
}

/// The additive term of signal index `s` for candidate `j` (before CombMNZ's multiplier).
fn term(set: &CandidateSet, config: &FusionConfig, w: f32, s: usize, j: usize) -> f32 {
    let n = set.len();
    match config.method {
        FusionMethod::Weighted | FusionMethod::Combmnz | FusionMethod::Learned => {
            w * set.normalised_of(s).get(j).copied().unwrap_or(0.0)
        }
        FusionMethod::Rrf => {
            let rank = set.ranks_of(s).get(j).copied().unwrap_or(n as u32) as f32;
            w / (config.rrf_k.max(0.0) + rank)
        }
        FusionMethod::Borda => {
            let rank = set.ranks_of(s).get(j).copied().unwrap_or(n as u32) as f32;
            if n > 1 { w * (n as f32 - rank) / (n as f32 - 1.0) } else { w }
        }
    }
}

/// Fused score of every candidate (the set must be prepared for `config`).
pub fn fused_scores(set: &CandidateSet, config: &FusionConfig, out: &mut Vec<f32>) {
    let n = set.len();
    if config.method == FusionMethod::Learned && set.has_learned() {
        out.clear();
        out.extend(set.learned.iter().map(|v| if v.is_finite() { *v } else { f32::NEG_INFINITY }));
        return;
    }
    out.clear();
    out.resize(n, 0.0);
    let mut active_mask = 0u32;
    // The weights are read in place (no per-set vector: this runs for every shopper).
    for (s, &id) in set.signals.iter().enumerate() {
        let w = if set.is_degenerate_signal(s) { 0.0 } else { config.weight(id) };
        if w == 0.0 {
            continue;
        }
        active_mask |= 1 << s.min(31);
        match config.method {
            FusionMethod::Weighted | FusionMethod::Combmnz | FusionMethod::Learned => {
                for (o, &v) in out.iter_mut().zip(set.normalised_of(s)) {
                    *o += w * v;
                }
            }
            FusionMethod::Rrf => {
                let k = config.rrf_k.max(0.0);
                for (o, &r) in out.iter_mut().zip(set.ranks_of(s)) {
                    *o += w / (k + r as f32);
                }
            }
            FusionMethod::Borda => {
                let denom = (n as f32 - 1.0).max(1.0);
                for (o, &r) in out.iter_mut().zip(set.ranks_of(s)) {
                    *o += if n > 1 { w * (n as f32 - r as f32) / denom } else { w };
                }
            }
        }
    }
    if config.method == FusionMethod::Combmnz {
        for (o, &bits) in out.iter_mut().zip(&set.in_top) {
            *o *= (bits & active_mask).count_ones() as f32;
        }
    }
}

/// The fused score of candidate `j` using only the signals in `coalition` (bit mask
/// over signal indices).
pub fn coalition_value(set: &CandidateSet, config: &FusionConfig, j: usize, coalition: u32) -> f32 {
    let weights = weights_of(set, config);
    let mut sum = 0.0;
    let mut members = 0u32;
    for (s, &w) in weights.iter().enumerate() {
        if coalition & (1 << s.min(31)) == 0 || w == 0.0 {
            continue;
        }
        sum += term(set, config, w, s, j);
        if set.in_top.get(j).is_some_and(|b| b & (1 << s.min(31)) != 0) {
            members += 1;
        }
    }
    if config.method == FusionMethod::Combmnz { sum * members as f32 } else { sum }
}

/// Each signal's contribution to candidate `j`'s fused score; they sum to the score.
///
/// `weighted`: the exact linear terms `wᵢ·ŝᵢ`. Rank-based methods: exact Shapley values
/// over the signals with non-zero weight, by enumerating every coalition. `learned` with a
/// ranker's scores attached: zeros here — the ranker's own exact Shapley values over its
/// features (`crate::rank::Attribution`) explain it; without them, the weighted terms.
pub fn contributions(set: &CandidateSet, config: &FusionConfig, j: usize) -> Vec<(SignalId, f32)> {
    let weights = weights_of(set, config);
    if config.method == FusionMethod::Learned && set.has_learned() {
        return set.signals.iter().map(|&id| (id, 0.0)).collect();
    }
    if config.method.is_linear() || config.method == FusionMethod::Learned {
        return set
            .signals
            .iter()
            .enumerate()
            .map(|(s, &id)| (id, weights.get(s).map_or(0.0, |&w| term(set, config, w, s, j))))
            .collect();
    }
    let players: Vec<usize> = (0..set.signals.len()).filter(|&s| weights.get(s).is_some_and(|&w| w != 0.0)).collect();
    let phi = shapley(players.len(), |mask| {
        let coalition = players
            .iter()
            .enumerate()
            .filter(|(p, _)| mask & (1 << p) != 0)
            .fold(0u32, |acc, (_, &s)| acc | (1 << s.min(31)));
        f64::from(coalition_value(set, config, j, coalition))
    });
    set.signals
        .iter()
        .enumerate()
        .map(|(s, &id)| {
            let value = players.iter().position(|&p| p == s).and_then(|p| phi.get(p)).copied().unwrap_or(0.0);
            (id, value as f32)
        })
        .collect()
}

/// Exact Shapley values of an `n`-player game (`n` ≤ 16) with value function `v` over
/// coalition bit masks (`v(0)` is the empty coalition).
pub fn shapley(n: usize, v: impl Fn(u32) -> f64) -> Vec<f64> {
    let values: Vec<f64> = (0..1u32 << n.min(16)).map(v).collect();
    shapley_of_values(&values)
}

/// Exact Shapley values from every coalition's value (`values[mask]`, `2^n` of them,
/// `n` ≤ 16): `φᵢ = Σ_{S ∌ i} w(|S|)·(v(S ∪ {i}) − v(S))` with `w(s) = s!(n−s−1)!/n!`.
///
/// Regrouped by coalition, `φᵢ = Σ_{S ∋ i} c(S) − Σ_S w(|S|)·v(S)` with
/// `c(S) = (w(|S|−1) + w(|S|))·v(S)` (`w(−1) = w(n) = 0`): one weight per coalition, then
/// for each player a sum over the coalitions that hold it, which lie in contiguous runs.
pub fn shapley_of_values(values: &[f64]) -> Vec<f64> {
    let n = (values.len().max(1).ilog2() as usize).min(16);
    let full = 1usize << n;
    // weight[s + 1] = w(s) for s in −1..=n, by w(0) = 1/n and w(s) = w(s−1)·s/(n−s).
    let mut weight = vec![0.0f64; n + 2];
    for s in 0..n {
        let w = if s == 0 { 1.0 / n as f64 } else { weight.get(s).copied().unwrap_or(0.0) * s as f64 / (n - s) as f64 };
        if let Some(slot) = weight.get_mut(s + 1) {
            *slot = w;
        }
    }
    let mut held = Vec::with_capacity(full);
    let mut absent = 0.0f64;
    for (mask, &v) in values.iter().take(full).enumerate() {
        let s = mask.count_ones() as usize;
        let (before, at) = (weight.get(s).copied().unwrap_or(0.0), weight.get(s + 1).copied().unwrap_or(0.0));
        held.push((before + at) * v);
        absent += at * v;
    }
    (0..n).map(|i| sum_with_bit(&held, i) - absent).collect()
}

/// `Σ xs[m]` over the indices `m` with bit `i` set, in [`LANES`] independent partial sums.
fn sum_with_bit(xs: &[f64], i: usize) -> f64 {
    const LANES: usize = 8;
    let half = 1usize << i;
    let mut lanes = [0.0f64; LANES];
    if half >= LANES {
        // The indices with bit i run in blocks of `half`, every `2·half`.
        for block in xs.chunks_exact(2 * half) {
            for chunk in block.get(half..).unwrap_or(&[]).chunks_exact(LANES) {
                lanes.iter_mut().zip(chunk).for_each(|(l, x)| *l += x);
            }
        }
        return lanes.iter().sum();
    }
    // Within every run of LANES indices the same positions have bit i.
    let pattern: [f64; LANES] = std::array::from_fn(|k| if k & half != 0 { 1.0 } else { 0.0 });
    let chunks = xs.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().enumerate().filter(|(k, _)| k & half != 0).map(|(_, x)| x).sum();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).zip(&pattern).for_each(|((l, x), p)| *l += x * p);
    }
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapley_of_a_glove_game() {
        // Players 0 (left glove) and 1, 2 (right gloves): v = 1 when a pair exists.
        // Known values: φ0 = 2/3, φ1 = φ2 = 1/6.
        let phi = shapley(3, |m| if m & 1 != 0 && m & 6 != 0 { 1.0 } else { 0.0 });
        assert!((phi[0] - 2.0 / 3.0).abs() < 1e-12);
        assert!((phi[1] - 1.0 / 6.0).abs() < 1e-12);
        assert!((phi[2] - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn shapley_equals_the_mean_marginal_contribution_over_every_ordering() {
        // The definition: a player's value is its marginal contribution averaged over all n!
        // orders in which the players join, here for n = 1…5 and pseudo-random values.
        for n in 1..=5usize {
            let values: Vec<f64> = (0..1u64 << n).map(|m| ((m * 2654435761 + 7) % 1000) as f64 / 37.0 - 9.0).collect();
            let mut orders: Vec<Vec<usize>> = vec![vec![]];
            for _ in 0..n {
                orders = orders
                    .into_iter()
                    .flat_map(|o| {
                        let free: Vec<usize> = (0..n).filter(|p| !o.contains(p)).collect();
                        free.into_iter().map(move |p| [o.clone(), vec![p]].concat())
                    })
                    .collect();
            }
            let mut expected = vec![0.0f64; n];
            for order in &orders {
                let mut mask = 0usize;
                for &p in order {
                    expected[p] += values[mask | 1 << p] - values[mask];
                    mask |= 1 << p;
                }
            }
            let phi = shapley_of_values(&values);
            for p in 0..n {
                let e = expected[p] / orders.len() as f64;
                assert!((phi[p] - e).abs() < 1e-9, "n {n} player {p}: {} vs {e}", phi[p]);
            }
        }
    }
}
