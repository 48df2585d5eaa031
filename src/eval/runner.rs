//! Offline evaluation on cached candidate sets: prepare once (fit on train, score
//! candidates for every evaluated user), then re-fuse and re-measure in milliseconds
//! for any weight setting.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::bootstrap::{BootstrapConfig, Estimate, bootstrap_mean, bootstrap_statistic};
use super::metrics::{
    AccuracyScores, MetricKey, MetricKind, Relevance, catalogue_coverage, exposure_gini, head_items,
    intra_list_diversity, long_tail_share, novelty,
};
use crate::data::Dataset;
use crate::fusion::candidates::excluded_items;
use crate::fusion::{CandidateSet, FusionConfig, top_k_fused};
use crate::jobs::{Cancelled, Progress};
use crate::score::SignalModels;
use crate::score::semantic::ItemVectors;
use crate::score::{Interactions, ScoreContext, SignalId};

/// Users with at most this many training events are "cold".
pub const COLD_MAX_EVENTS: usize = 2;

/// Items with at most this many training shoppers are "cold items" (the cold-item slice).
pub const COLD_ITEM_MAX_SHOPPERS: u32 = 2;

/// How a configuration does on the cold items: relevant (shopper, item) pairs whose item has
/// at most [`COLD_ITEM_MAX_SHOPPERS`] training shoppers, and how many of them are in the
/// shopper's top `k`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ColdItemSlice {
    /// The cut-off.
    pub k: usize,
    /// Relevant pairs with a cold item.
    pub pairs: usize,
    /// Shoppers with at least one such pair.
    pub users: usize,
    /// Pairs whose item is in the shopper's top `k`.
    pub hits: usize,
    /// `hits / pairs` (0 when there are no pairs).
    pub hit_rate: f64,
}

/// Everything needed to measure any fusion setting on one split. Cloning is cheap: the
/// candidate sets are shared (copied only when a clone re-normalises them).
#[derive(Clone)]
pub struct EvalContext {
    /// Evaluated users (dataset user indices).
    pub users: Vec<u32>,
    /// Relevant items per evaluated user.
    pub relevance: Vec<Relevance>,
    /// Candidates per evaluated user, with every signal's scores (shared between clones,
    /// such as the one a live-metrics job measures on).
    pub candidates: Arc<Vec<CandidateSet>>,
    /// Catalogue size.
    pub n_items: usize,
    /// Training interactions per item (novelty).
    pub popularity: Vec<u32>,
    /// Users with training interactions (novelty denominator).
    pub n_train_users: usize,
    /// Head items (top 20 % of interactions) for the long-tail share.
    pub head: HashSet<u32>,
    /// Training events per evaluated user (segments).
    pub train_events: Vec<usize>,
    /// Item vectors for intra-list diversity.
    pub vectors: Option<Arc<ItemVectors>>,
    /// Segment label per evaluated user, per segment dimension ("activity", "country", …).
    pub segments: Vec<(String, Vec<String>)>,
    /// Signals fitted for this context.
    pub signals: Vec<SignalId>,
    /// (exclude_seen, candidates_per_signal, candidate_source, index_probes) the
    /// candidates were built with.
    pub built_with: (bool, usize, crate::fusion::CandidateSource, usize),
}

/// Relevance of the `test` events for each user with training history: positive summed
/// test weight, items known in training only, minus the items the user interacted with
/// in training when `exclude_seen` (the rule of [`crate::fusion::candidates::excluded_items`]). Gains are the summed weights, or 1 with `binary`.
pub fn relevance_sets(
    dataset: &Dataset,
    train: &Interactions,
    test: &[usize],
    exclude_seen: bool,
    binary: bool,
) -> BTreeMap<u32, Relevance> {
    let b = &dataset.behaviour;
    let mut sums: BTreeMap<u32, HashMap<u32, f64>> = BTreeMap::new();
    for &e in test {
        let (Some(&u), Some(&i), Some(&w)) = (b.user.get(e), b.item.get(e), b.weight.get(e)) else { continue };
        *sums.entry(u).or_default().entry(i).or_insert(0.0) += f64::from(w);
    }
    let known_item = |i: u32| !train.by_item.row(i as usize).0.is_empty();
    let mut out = BTreeMap::new();
    for (u, items) in sums {
        if train.by_user.row(u as usize).0.is_empty() {
            continue;
        }
        let excluded = excluded_items(exclude_seen, &train.profile(u));
        let pairs: Vec<(u32, f64)> = items
            .into_iter()
            .filter(|&(i, w)| w > 0.0 && known_item(i))
            .filter(|&(i, _)| excluded.binary_search(&i).is_err())
            .map(|(i, w)| (i, if binary { 1.0 } else { w }))
            .collect();
        if !pairs.is_empty() {
            out.insert(u, Relevance::graded(pairs));
        }
    }
    out
}

impl EvalContext {
    /// Whether the learned ranker's scores are attached to every non-empty candidate set
    /// (and there is one): only then does fusion method `learned` measure the ranker.
    pub fn has_learned(&self) -> bool {
        let mut sets = self.candidates.iter().filter(|c| !c.is_empty()).peekable();
        sets.peek().is_some() && sets.all(CandidateSet::has_learned)
    }

    /// Builds candidate sets for every user with a non-empty relevant set. `train` must
    /// aggregate exactly the events `train_idx`, and `models` must be fitted on it.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        dataset: &Dataset,
        train_idx: &[usize],
        train: &Interactions,
        test: &[usize],
        models: &SignalModels,
        config: &FusionConfig,
        binary: bool,
        progress: &Progress,
    ) -> Result<Self, Cancelled> {
        let relevance = relevance_sets(dataset, train, test, config.exclude_seen, binary);
        let users: Vec<u32> = relevance.keys().copied().collect();
        let relevance: Vec<Relevance> = relevance.into_values().collect();
        let signals: Vec<SignalId> = SignalId::recommend().filter(|s| models.scorers.contains_key(s)).collect();
        let scorers = models.scorers_for(&signals);
        let n_items = dataset.catalogue.len();
        if config.candidate_source.uses_index(n_items) {
            progress.start_stage("building candidate indexes", 1);
            crate::fusion::candidates::build_indexes(&scorers);
        }
        progress.start_stage("scoring candidates", users.len() as u64);
        let candidates: Vec<Option<CandidateSet>> = users
            .par_chunks(crate::fusion::candidates::SCORE_BLOCK)
            .flat_map_iter(|block| {
                if progress.is_cancelled() {
                    return block.iter().map(|_| None).collect::<Vec<_>>();
                }
                let profiles: Vec<_> = block.iter().map(|&u| train.profile(u)).collect();
                let ctxs: Vec<ScoreContext<'_>> =
                    profiles.iter().map(|p| ScoreContext { profile: p, query: None }).collect();
                let sets = CandidateSet::generate_block(&scorers, &ctxs, n_items, config, &[], None);
                sets.into_iter()
                    .map(|mut set| {
                        set.attach_catalogue(&dataset.catalogue);
                        set.prepare(config);
                        progress.advance(1);
                        Some(set)
                    })
                    .collect()
            })
            .collect();
        progress.check()?;
        let candidates: Vec<CandidateSet> = candidates.into_iter().flatten().collect();
        let popularity: Vec<u32> = (0..n_items).map(|i| train.by_item.row(i).0.len() as u32).collect();
        let n_train_users = train.active_users().count();
        let head = head_items(&popularity, 0.2);
        let train_events: Vec<usize> = users.iter().map(|&u| train.user_event_count(u)).collect();
        let segments = segments(dataset, train_idx, &users, &train_events);
        Ok(Self {
            users,
            relevance,
            candidates: Arc::new(candidates),
            n_items,
            popularity,
            n_train_users,
            head,
            train_events,
            vectors: None,
            segments,
            signals,
            built_with: Self::build_key(config),
        })
    }

    /// Whether the candidates must be rebuilt for `config`.
    pub fn needs_rebuild(&self, config: &FusionConfig) -> bool {
        self.built_with != Self::build_key(config)
    }

    fn build_key(config: &FusionConfig) -> (bool, usize, crate::fusion::CandidateSource, usize) {
        (config.exclude_seen, config.candidates_per_signal, config.candidate_source, config.index_probes)
    }

    /// Re-normalises cached candidates for `config` (only signals whose choice changed).
    pub fn prepare_for(&mut self, config: &FusionConfig) {
        if self.candidates.iter().all(|c| c.is_prepared_for(config)) {
            return;
        }
        Arc::make_mut(&mut self.candidates).par_iter_mut().for_each(|c| c.prepare(config));
    }

    /// Top-`k` lists of every evaluated user under `config` (the set must be prepared).
    pub fn lists(&self, config: &FusionConfig, k: usize) -> Vec<Vec<u32>> {
        self.candidates.par_iter().map_init(Vec::new, |scratch, set| top_k_fused(set, config, k, scratch)).collect()
    }

    /// NDCG@k of every evaluated user under `config` (the set must be prepared).
    pub fn per_user_ndcg(&self, config: &FusionConfig, k: usize) -> Vec<f64> {
        let lists = self.lists(config, k);
        lists.iter().zip(&self.relevance).map(|(l, r)| AccuracyScores::compute(l, r, k).ndcg).collect()
    }

    /// Mean NDCG@k without intervals: the tuning objective.
    pub fn mean_ndcg(&self, config: &FusionConfig, k: usize) -> f64 {
        let lists = self.lists(config, k);
        let sum: f64 = lists.iter().zip(&self.relevance).map(|(l, r)| AccuracyScores::compute(l, r, k).ndcg).sum();
        if lists.is_empty() { 0.0 } else { sum / lists.len() as f64 }
    }

    /// The cold-item slice of `lists` (aligned with `self.users`) at cut-off `k`.
    pub fn cold_item_slice(&self, lists: &[Vec<u32>], k: usize) -> ColdItemSlice {
        let cold = |i: u32| self.popularity.get(i as usize).is_some_and(|&n| n <= COLD_ITEM_MAX_SHOPPERS);
        let (mut pairs, mut users, mut hits) = (0, 0, 0);
        for (list, rel) in lists.iter().zip(&self.relevance) {
            let top = list.get(..k.min(list.len())).unwrap_or(&[]);
            let mine: Vec<u32> = rel.iter().map(|(i, _)| i).filter(|&i| cold(i)).collect();
            pairs += mine.len();
            users += usize::from(!mine.is_empty());
            hits += mine.iter().filter(|&&i| top.contains(&i)).count();
        }
        let hit_rate = if pairs == 0 { 0.0 } else { hits as f64 / pairs as f64 };
        ColdItemSlice { k, pairs, users, hits, hit_rate }
    }

    /// Every metric at every `k`, with bootstrap intervals, for `config`.
    pub fn measure(&self, config: &FusionConfig, ks: &[usize], boot: &BootstrapConfig) -> ConfigMetrics {
        let k_max = ks.iter().copied().max().unwrap_or(10).max(1);
        let lists = self.lists(config, k_max);
        self.measure_lists(&lists, ks, boot)
    }

    /// Metrics of given lists (aligned with `self.users`).
    pub fn measure_lists(&self, lists: &[Vec<u32>], ks: &[usize], boot: &BootstrapConfig) -> ConfigMetrics {
        let mut metrics = BTreeMap::new();
        let mut per_user = BTreeMap::new();
        for &k in ks {
            let scores: Vec<AccuracyScores> =
                lists.iter().zip(&self.relevance).map(|(l, r)| AccuracyScores::compute(l, r, k)).collect();
            for kind in MetricKind::ALL {
                let key = MetricKey::new(kind, k).to_string();
                let values: Option<Vec<f64>> = match kind {
                    MetricKind::Novelty => {
                        Some(lists.iter().filter_map(|l| novelty(l, k, &self.popularity, self.n_train_users)).collect())
                    }
                    MetricKind::Diversity => self.vectors.as_ref().map(|v| {
                        lists.iter().filter_map(|l| intra_list_diversity(l, k, |a, b| v.cosine(a, b))).collect()
                    }),
                    MetricKind::LongTail => {
                        Some(lists.iter().filter_map(|l| long_tail_share(l, k, &self.head)).collect())
                    }
                    MetricKind::Coverage | MetricKind::Gini => None,
                    accuracy => Some(scores.iter().filter_map(|s| s.get(accuracy)).collect()),
                };
                if let Some(values) = values {
                    if let Some(e) = bootstrap_mean(&values, boot) {
                        metrics.insert(key.clone(), e);
                    }
                    if kind.is_accuracy() {
                        per_user.insert(key, values);
                    }
                    continue;
                }
                let n_items = self.n_items;
                let statistic = |sample: &[usize]| -> Option<f64> {
                    let chosen = sample.iter().filter_map(|&i| lists.get(i));
                    match kind {
                        MetricKind::Coverage => catalogue_coverage(chosen, k, n_items),
                        _ => exposure_gini(chosen, k, n_items),
                    }
                };
                // Resampling users with replacement leaves fewer distinct users, which
                // biases coverage-like statistics downwards; the percentile interval is
                // shifted so that it is centred on the full-sample value.
                if let Some(e) = bootstrap_statistic(lists.len(), boot, statistic) {
                    let shift = e.value - (e.ci.0 + e.ci.1) / 2.0;
                    metrics.insert(key, Estimate { value: e.value, ci: (e.ci.0 + shift, e.ci.1 + shift) });
                }
            }
        }
        let cold_items = ks.first().map(|&k| self.cold_item_slice(lists, k));
        ConfigMetrics { metrics, per_user, cold_items }
    }

    /// Per-segment means of one accuracy metric: (dimension, label) → (users, estimate).
    pub fn segment_breakdown(&self, per_user: &[f64], boot: &BootstrapConfig) -> Vec<SegmentResult> {
        let mut out = Vec::new();
        for (dimension, labels) in &self.segments {
            let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for (label, &v) in labels.iter().zip(per_user) {
                groups.entry(label.as_str()).or_default().push(v);
            }
            let mut rows: Vec<SegmentResult> = groups
                .into_iter()
                .filter_map(|(label, values)| {
                    bootstrap_mean(&values, boot).map(|e| SegmentResult {
                        dimension: dimension.clone(),
                        segment: label.to_owned(),
                        users: values.len(),
                        estimate: e,
                    })
                })
                .collect();
            rows.sort_by(|a, b| b.users.cmp(&a.users).then(a.segment.cmp(&b.segment)));
            rows.truncate(12);
            out.extend(rows);
        }
        out
    }
}

/// One row of a segment breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentResult {
    /// "activity", an event attribute or a users-table column.
    pub dimension: String,
    /// The segment's label.
    pub segment: String,
    /// Users in the segment.
    pub users: usize,
    /// Mean and interval of the metric.
    pub estimate: Estimate,
}

/// Metrics of one configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConfigMetrics {
    /// "ndcg@10" → estimate.
    pub metrics: BTreeMap<String, Estimate>,
    /// Per-user values of accuracy metrics ("ndcg@10" → values aligned with the users).
    #[serde(skip)]
    pub per_user: BTreeMap<String, Vec<f64>>,
    /// The cold-item slice at the first cut-off.
    pub cold_items: Option<ColdItemSlice>,
}

/// Activity segments (cold ≤ 2 training events, heavy ≥ the 90th percentile, regular),
/// each event attribute (the user's most frequent training value) and each users-table
/// column.
fn segments(
    dataset: &Dataset,
    train_idx: &[usize],
    users: &[u32],
    train_events: &[usize],
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut sorted: Vec<usize> = train_events.to_vec();
    sorted.sort_unstable();
    let p90 = sorted.get(sorted.len().saturating_mul(9) / 10).copied().unwrap_or(usize::MAX).max(COLD_MAX_EVENTS + 1);
    let activity = train_events
        .iter()
        .map(|&n| {
            if n <= COLD_MAX_EVENTS {
                "cold (<= 2 events)".to_owned()
            } else if n >= p90 {
                format!("heavy (>= {p90} events)")
            } else {
                "regular".to_owned()
            }
        })
        .collect();
    out.push(("activity".to_owned(), activity));
    let b = &dataset.behaviour;
    let user_set: HashMap<u32, usize> = users.iter().enumerate().map(|(p, &u)| (u, p)).collect();
    for attribute in &b.attributes {
        if attribute.values.len() < 2 || attribute.name == "session_id" {
            continue;
        }
        let mut counts: Vec<HashMap<u32, u32>> = vec![HashMap::new(); users.len()];
        // Training events of evaluated users only.
        for &e in train_idx {
            let (Some(&u), Some(&code)) = (b.user.get(e), attribute.codes.get(e)) else { continue };
            let Some(&p) = user_set.get(&u) else { continue };
            if code != u32::MAX
                && let Some(c) = counts.get_mut(p)
            {
                *c.entry(code).or_insert(0) += 1;
            }
        }
        let labels = counts
            .iter()
            .map(|c| {
                c.iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(&code, _)| attribute.values.name(code).to_owned())
                    .unwrap_or_else(|| "(none)".to_owned())
            })
            .collect();
        out.push((attribute.name.clone(), labels));
    }
    if let Some(table) = &dataset.users {
        for column in &table.columns {
            let labels = users
                .iter()
                .map(|&u| {
                    table.attribute(b.users.name(u), column).map(str::to_owned).unwrap_or_else(|| "(none)".to_owned())
                })
                .collect();
            out.push((column.clone(), labels));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context with only what the cold-item slice reads: relevance and item popularity.
    fn context(relevance: Vec<Relevance>, popularity: Vec<u32>) -> EvalContext {
        EvalContext {
            users: (0..relevance.len() as u32).collect(),
            relevance,
            candidates: std::sync::Arc::new(Vec::new()),
            n_items: popularity.len(),
            popularity,
            n_train_users: 0,
            head: HashSet::new(),
            train_events: Vec::new(),
            vectors: None,
            segments: Vec::new(),
            signals: Vec::new(),
            built_with: (true, 0, crate::fusion::CandidateSource::Auto, 0),
        }
    }

    #[test]
    fn the_cold_item_slice_counts_relevant_pairs_of_rare_items_in_the_top_k() {
        // Items 1 and 2 have ≤ 2 training shoppers (cold), 0 and 3 more; item 4 none.
        let ctx = context(
            vec![Relevance::binary([1, 2, 3]), Relevance::binary([2]), Relevance::binary([0])],
            vec![5, 1, 2, 3, 0],
        );
        let lists = vec![vec![0, 1, 4], vec![0, 3, 1], vec![0, 1]];
        // Cold pairs: (A, 1), (A, 2), (B, 2); in the top 2 only (A, 1).
        let at2 = ctx.cold_item_slice(&lists, 2);
        assert_eq!((at2.pairs, at2.users, at2.hits), (3, 2, 1));
        assert!((at2.hit_rate - 1.0 / 3.0).abs() < 1e-12);
        // Item 1 is second in A's list: not in the top 1.
        let at1 = ctx.cold_item_slice(&lists, 1);
        assert_eq!((at1.pairs, at1.hits, at1.hit_rate), (3, 0, 0.0));
        // No cold pairs: rate 0, not NaN.
        let none = context(vec![Relevance::binary([0])], vec![9]).cold_item_slice(&[vec![0]], 10);
        assert_eq!((none.pairs, none.hit_rate), (0, 0.0));
    }
}
