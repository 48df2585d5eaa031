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
pub use methods::{contributions, fused_scores, shapley};
pub use rank::{RankContext, RankedItem, Rerank, RuleEffect, leave_one_out, rank};
pub use rules::{Adjustment, ListFor, Rule, RuleAction, RuleScope, RuleTarget, check_rules, load_rules, rules_for};

/// The item indices of the top `k` by fused score (no rules, no re-ranking): the fast
/// path used by evaluation after a weight change. Ties follow the set's tie order
/// ([`CandidateSet::secondary_order`]); with `config.collapse_duplicates` only the best
/// item of each duplicate group is kept (groups from [`CandidateSet::attach_catalogue`]).
/// Gives the order of [`rank`] without rules. `scratch` is reused between calls.
pub fn top_k_fused(set: &CandidateSet, config: &FusionConfig, k: usize, scratch: &mut Vec<f32>) -> Vec<u32> {
    fused_scores(set, config, scratch);
    let fused: &[f32] = scratch;
    let tie = |j: usize| set.tie_rank.get(j).copied().unwrap_or(u32::MAX);
    let cmp = |a: &usize, b: &usize| {
        let (sa, sb) = (fused.get(*a).copied().unwrap_or(0.0), fused.get(*b).copied().unwrap_or(0.0));
        sb.total_cmp(&sa).then(tie(*a).cmp(&tie(*b)))
    };
    let finite: Vec<usize> = (0..set.len()).filter(|&j| fused.get(j).is_some_and(|v| v.is_finite())).collect();
    let collapse = config.collapse_duplicates && !set.groups.is_empty();
    // Duplicates can push items out of a cut at k: take twice as many first, and the
    // whole order only when that is not enough.
    let cut = if collapse { k.saturating_mul(2) } else { k };
    let mut leading = finite.clone();
    if cut > 0 && cut < leading.len() {
        leading.select_nth_unstable_by(cut - 1, cmp);
        leading.truncate(cut);
    }
    leading.sort_unstable_by(cmp);
    let top = distinct_groups(set, &leading, k, collapse);
    if top.len() < k && leading.len() < finite.len() {
        let mut all = finite;
        all.sort_unstable_by(cmp);
        return distinct_groups(set, &all, k, collapse);
    }
    top
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
