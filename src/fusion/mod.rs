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
pub use config::{FusionConfig, FusionMethod, Normalisation, SignalSetting};
pub use methods::{contributions, fused_scores, shapley};
pub use rank::{RankContext, RankedItem, RuleEffect, leave_one_out, rank};
pub use rules::{Adjustment, Rule, RuleAction, RuleTarget, check_rules, load_rules};

/// The item indices of the top `k` by fused score (no rules, no re-ranking): the fast
/// path used by evaluation after a weight change. `scratch` is reused between calls.
pub fn top_k_fused(set: &CandidateSet, config: &FusionConfig, k: usize, scratch: &mut Vec<f32>) -> Vec<u32> {
    fused_scores(set, config, scratch);
    let top = crate::score::topk::top_k_indices(scratch, k, |_| false);
    top.into_iter().filter_map(|j| set.items.get(j as usize).copied()).collect()
}
