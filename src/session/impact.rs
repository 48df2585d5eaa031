//! The one answer to "does this fusion change need re-scoring?", asked by the current
//! list, the Compare tab's B side and the live evaluation metrics alike.

use crate::fusion::FusionConfig;

/// What a change of fusion settings costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    /// Nothing that decides the candidates changed: re-fuse the cached scores.
    Rerank,
    /// The candidate set itself changed (top-N per signal, excluding seen items):
    /// candidates must be scored again.
    Rescore,
}

/// Whether going from `old` to `new` fusion settings needs new candidates.
pub fn change_impact(old: &FusionConfig, new: &FusionConfig) -> Impact {
    if old.candidates_per_signal != new.candidates_per_signal
        || old.exclude_seen != new.exclude_seen
        || old.candidate_source != new.candidate_source
        || old.index_probes != new.index_probes
    {
        Impact::Rescore
    } else {
        Impact::Rerank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_rerank_and_candidate_settings_rescore() {
        let old = FusionConfig::default();
        let mut new = old.clone();
        new.mmr_lambda = 0.5;
        new.category_cap = 2;
        assert_eq!(change_impact(&old, &new), Impact::Rerank);
        new.exclude_seen = !old.exclude_seen;
        assert_eq!(change_impact(&old, &new), Impact::Rescore);
        let mut n = old.clone();
        n.candidates_per_signal += 1;
        assert_eq!(change_impact(&old, &n), Impact::Rescore);
    }
}
