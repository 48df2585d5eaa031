//! Paired comparison of two fusion settings on the same evaluated users.

use serde::Serialize;

use super::bootstrap::BootstrapConfig;
use super::overlap::{Distribution, jaccard_at_k, kendall_tau_shared, rbo_ext};
use super::paired::{PairedComparison, PairedConfig, paired_compare};
use super::runner::EvalContext;
use crate::fusion::FusionConfig;

/// How two configurations differ across users.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigComparison {
    /// Users compared.
    pub users: usize,
    /// Cut-off.
    pub k: usize,
    /// Per metric ("ndcg@10"): paired delta B − A with interval and p-values.
    pub deltas: Vec<(String, PairedComparison)>,
    /// Jaccard@K per user, summarised.
    pub jaccard: Option<Distribution>,
    /// Rank-biased overlap per user, summarised.
    pub rbo: Option<Distribution>,
    /// Kendall τ on shared items per user, summarised.
    pub kendall_tau: Option<Distribution>,
    /// RBO persistence.
    pub rbo_p: f64,
}

/// Measures A and B on `context` and compares them user by user.
pub fn compare_configs(
    context: &mut EvalContext,
    a: &FusionConfig,
    b: &FusionConfig,
    k: usize,
    rbo_p: f64,
    seed: u64,
) -> ConfigComparison {
    let boot = BootstrapConfig { seed, ..BootstrapConfig::default() };
    context.prepare_for(a);
    let lists_a = context.lists(a, k);
    let metrics_a = context.measure_lists(&lists_a, &[k], &boot);
    context.prepare_for(b);
    let lists_b = context.lists(b, k);
    let metrics_b = context.measure_lists(&lists_b, &[k], &boot);
    let paired_cfg = PairedConfig { bootstrap: boot, ..PairedConfig::default() };
    let mut deltas = Vec::new();
    for kind in ["ndcg", "recall", "precision", "hit_rate", "mrr", "map"] {
        let key = format!("{kind}@{k}");
        if let (Some(va), Some(vb)) = (metrics_a.per_user.get(&key), metrics_b.per_user.get(&key))
            && let Ok(c) = paired_compare(va, vb, &paired_cfg)
        {
            deltas.push((key, c));
        }
    }
    let pairs = || lists_a.iter().zip(&lists_b);
    ConfigComparison {
        users: lists_a.len(),
        k,
        deltas,
        jaccard: Distribution::from_values(pairs().filter_map(|(x, y)| jaccard_at_k(x, y, k)), 10),
        rbo: Distribution::from_values(pairs().filter_map(|(x, y)| rbo_ext(x, y, rbo_p, k)), 10),
        kendall_tau: Distribution::from_values(pairs().filter_map(|(x, y)| kendall_tau_shared(x, y, k)), 10),
        rbo_p,
    }
}
