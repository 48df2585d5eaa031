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
/// `n` ≤ 16): `φᵢ = Σ_{S ∌ i} |S|!(n−|S|−1)!/n! · (v(S ∪ {i}) − v(S))`, one pass over the
/// coalitions with the weight of each size computed once.
pub fn shapley_of_values(values: &[f64]) -> Vec<f64> {
    let n = (values.len().max(1).ilog2() as usize).min(16);
    let full = 1usize << n;
    // weight[s] = s!(n−s−1)!/n!, by the recurrence weight[s+1] = weight[s]·(s+1)/(n−s−1).
    let mut weight = vec![0.0f64; n];
    if let Some(w0) = weight.first_mut() {
        *w0 = 1.0 / n as f64;
    }
    for s in 1..n {
        let previous = weight.get(s - 1).copied().unwrap_or(0.0);
        if let Some(w) = weight.get_mut(s) {
            *w = previous * s as f64 / (n - s) as f64;
        }
    }
    let mut phi = vec![0.0f64; n];
    for mask in 0..full {
        let without = values.get(mask).copied().unwrap_or(0.0);
        let w = weight.get(mask.count_ones() as usize).copied().unwrap_or(0.0);
        for (i, p) in phi.iter_mut().enumerate() {
            let bit = 1usize << i;
            if mask & bit == 0 {
                *p += w * (values.get(mask | bit).copied().unwrap_or(0.0) - without);
            }
        }
    }
    phi
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
}
