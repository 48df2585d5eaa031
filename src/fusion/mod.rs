//! Fusion: per-signal normalisation, weighted/RRF/CombMNZ/Borda combination, exact
//! attribution (linear terms or Shapley values), merchandising rules and re-ranking.
//!
//! Everything here works on cached per-signal candidate scores ([`CandidateSet`]), so
//! moving a weight re-fuses in microseconds and never re-fits a signal.

pub mod candidates;
pub mod config;
pub mod methods;
pub mod normalise;
pub mod rank;
pub mod rules;

pub use candidates::CandidateSet;
pub use config::{CandidateSource, FusionConfig, FusionMethod, Normalisation, SignalSetting};
pub use methods::{contributions, fused_scores, shapley, shapley_of_values};
pub use rank::{RankContext, RankedItem, Rerank, RuleEffect, leave_one_out, rank};
pub use rules::{
    Adjustment, ListFor, Rule, RuleAction, RuleScope, RuleTarget, SegmentsOf, any_segment_scope, check_rules,
    load_rules, rules_for,
};

/// The item indices of the top `k` by fused score (no rules, no re-ranking): the fast
/// path used by evaluation after a weight change. Ties follow the set's tie order
/// ([`CandidateSet::secondary_order`]); with `config.collapse_duplicates` only the best
/// item of each duplicate group is kept (groups from [`CandidateSet::attach_catalogue`]).
/// Gives the order of [`rank`] without rules. `scratch` is reused between calls.
pub fn top_k_fused(set: &CandidateSet, config: &FusionConfig, k: usize, scratch: &mut Vec<f32>) -> Vec<u32> {
    fused_scores(set, config, scratch);
    let fused: &[f32] = scratch;
    let collapse = config.collapse_duplicates && !set.groups.is_empty();
    // Duplicates can push items out of a cut at k: take twice as many first, and the
    // whole order only when that is not enough.
    let cut = if collapse { k.saturating_mul(2) } else { k };
    let (leading, finite) = leading_candidates(fused, &set.tie_rank, cut);
    let order: Vec<usize> = leading.iter().map(|&(_, _, j)| j as usize).collect();
    let top = distinct_groups(set, &order, k, collapse);
    if top.len() < k && leading.len() < finite {
        let mut all: Vec<(f32, u32, u32)> = fused
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(j, &v)| (v, set.tie_rank.get(j).copied().unwrap_or(u32::MAX), j as u32))
            .collect();
        all.sort_unstable_by(fused_order);
        let order: Vec<usize> = all.iter().map(|&(_, _, j)| j as usize).collect();
        return distinct_groups(set, &order, k, collapse);
    }
    top
}

/// Best first: higher fused score, then the earlier tie position, then the lower index.
fn fused_order(a: &(f32, u32, u32), b: &(f32, u32, u32)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
}

/// The best `cut` finite candidates of `fused` as (score, tie position, index), best first
/// ([`fused_order`]), and how many finite candidates there are. One pass with a bounded
/// buffer: entries are appended until it holds `2·cut` (at least `cut + 32`), then it is cut
/// back to the best `cut`, whose last entry becomes the bar a later candidate must beat. No
/// allocation beyond the buffer; this runs for every shopper after every weight move.
fn leading_candidates(fused: &[f32], tie_rank: &[u32], cut: usize) -> (Vec<(f32, u32, u32)>, usize) {
    let cap = cut.saturating_mul(2).max(cut.saturating_add(32));
    let mut kept: Vec<(f32, u32, u32)> = Vec::with_capacity(cap.min(fused.len()));
    let mut bar: Option<(f32, u32)> = None;
    let mut finite = 0usize;
    for (j, &v) in fused.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        finite += 1;
        if cut == 0 {
            continue;
        }
        let tie = tie_rank.get(j).copied().unwrap_or(u32::MAX);
        if let Some((bs, bt)) = bar {
            match v.total_cmp(&bs) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal if tie >= bt => continue,
                _ => {}
            }
        }
        kept.push((v, tie, j as u32));
        if kept.len() >= cap {
            kept.select_nth_unstable_by(cut - 1, fused_order);
            kept.truncate(cut);
            bar = kept.last().map(|&(s, t, _)| (s, t));
        }
    }
    if kept.len() > cut && cut > 0 {
        kept.select_nth_unstable_by(cut - 1, fused_order);
        kept.truncate(cut);
    }
    if cut == 0 {
        kept.clear();
    }
    kept.sort_unstable_by(fused_order);
    (kept, finite)
}

/// The items of the first `k` candidates of `order`, skipping a candidate whose duplicate
/// group already has one when `collapse`.
fn distinct_groups(set: &CandidateSet, order: &[usize], k: usize, collapse: bool) -> Vec<u32> {
    let mut taken: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(k);
    for &j in order {
        if out.len() >= k {
            break;
        }
        if collapse {
            let group = set.groups.get(j).copied().unwrap_or(u32::MAX);
            if taken.contains(&group) {
                continue;
            }
            taken.push(group);
        }
        out.extend(set.items.get(j).copied());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition the one-pass selection must reproduce: every finite candidate,
    /// fully sorted (score high to low, then tie position, then index), cut at `cut`.
    fn reference(fused: &[f32], tie: &[u32], cut: usize) -> Vec<u32> {
        let mut all: Vec<u32> = (0..fused.len() as u32).filter(|&j| fused[j as usize].is_finite()).collect();
        all.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            fused[b].total_cmp(&fused[a]).then(tie[a].cmp(&tie[b])).then(a.cmp(&b))
        });
        all.truncate(cut);
        all
    }

    #[test]
    fn leading_candidates_match_a_full_sort_with_ties_and_non_finite_scores() {
        let mut rng = fastrand::Rng::with_seed(14);
        for case in 0..400 {
            let n = rng.usize(0..300);
            let levels = if case % 3 == 0 { 4 } else { 1000 };
            let fused: Vec<f32> = (0..n)
                .map(|_| match rng.u8(0..40) {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    2 => -0.0,
                    3 => 0.0,
                    _ => rng.u32(0..levels) as f32 / 7.0,
                })
                .collect();
            // A permutation, or (every fourth case) repeated tie positions.
            let mut tie: Vec<u32> = (0..n as u32).collect();
            rng.shuffle(&mut tie);
            if case % 4 == 0 {
                tie.iter_mut().for_each(|t| *t /= 3);
            }
            let cut = [0, 1, 3, 10, 20, 64, 500][case % 7];
            let (got, finite) = leading_candidates(&fused, &tie, cut);
            let got: Vec<u32> = got.iter().map(|&(_, _, j)| j).collect();
            assert_eq!(got, reference(&fused, &tie, cut), "case {case}, n {n}, cut {cut}");
            assert_eq!(finite, fused.iter().filter(|v| v.is_finite()).count());
        }
    }
}
