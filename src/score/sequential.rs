//! `sequential`: what tends to follow the shopper's most recent items.
//!
//! Events with the same user and timestamp form a basket. Fitting counts transitions
//! from each basket's items to the items of the next `window` baskets (weighted by
//! `decay^(distance-1)`) and normalises them into successor probabilities.

use std::sync::Arc;

use super::interactions::{HistoryEvent, Interactions, SparseRows, UserProfile};
use super::params::SequentialParams;
use super::registry::{Fitted, SignalSpec};
use super::topk::top_k_pairs;
use super::{ScoreContext, Scorer, SignalId, actions_on};
use crate::data::Catalogue;
use crate::jobs::{Cancelled, Progress};

/// Items per basket considered (larger baskets use their first items).
const MAX_BASKET: usize = 40;

/// Transition model over baskets.
pub struct SequentialScorer {
    /// Row `a`: successor items `b` and P(b | a).
    pub successors: SparseRows,
    /// Row `a`: the summed transition weights to each `b`, sorted by `b` (kept so that live
    /// events can be folded in; rows are shared between updates until one changes).
    counts: Vec<Arc<Vec<(u32, f32)>>>,
    params: SequentialParams,
}

/// Splits time-ordered events into baskets of positive events sharing a timestamp.
pub fn baskets(events: &[HistoryEvent]) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut last_time = None;
    for e in events.iter().filter(|e| e.weight > 0.0) {
        if last_time != Some(e.time) {
            out.push(Vec::new());
            last_time = Some(e.time);
        }
        if let Some(b) = out.last_mut()
            && b.len() < MAX_BASKET
            && !b.contains(&e.item)
        {
            b.push(e.item);
        }
    }
    out
}

/// The weighted transitions `(from, to, weight)` of one shopper's time-ordered events.
fn transitions(events: &[HistoryEvent], params: &SequentialParams, out: &mut Vec<(u32, u32, f32)>) {
    transitions_of(&baskets(events), 0, params, out);
}

/// The weighted transitions of `bs` into baskets `into..` (from the `window` baskets
/// before it on).
fn transitions_of(bs: &[Vec<u32>], into: usize, params: &SequentialParams, out: &mut Vec<(u32, u32, f32)>) {
    let window = params.window.max(1);
    for (k, basket) in bs.iter().enumerate().skip(into.saturating_sub(window)) {
        for d in into.saturating_sub(k).max(1)..=window {
            let Some(to) = bs.get(k + d) else { break };
            let w = params.decay.powi(d as i32 - 1);
            for &a in basket {
                for &b in to {
                    if a != b {
                        out.push((a, b, w));
                    }
                }
            }
        }
    }
}

/// One item's successor probabilities from its transition weights (top `max` kept).
fn successor_row(row: &[(u32, f32)], max: usize) -> Vec<(u32, f32)> {
    let total: f32 = row.iter().map(|&(_, v)| v).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    top_k_pairs(row.iter().map(|&(b, v)| (b, v / total)).collect(), max.max(1))
}

impl SequentialScorer {
    /// Counts and normalises transitions.
    pub fn fit(data: &Interactions, params: &SequentialParams, progress: &Progress) -> Result<Self, Cancelled> {
        progress.start_stage("sequential transitions", data.history.len() as u64);
        let mut triples: Vec<(u32, u32, f32)> = Vec::new();
        for (u, events) in data.history.iter().enumerate() {
            if u % 1024 == 0 {
                progress.set_done(u as u64);
                progress.check()?;
            }
            transitions(events, params, &mut triples);
        }
        let matrix = SparseRows::from_triples(data.n_items, triples);
        let counts: Vec<Arc<Vec<(u32, f32)>>> = (0..matrix.rows())
            .map(|a| {
                let (idx, val) = matrix.row(a);
                Arc::new(idx.iter().copied().zip(val.iter().copied()).collect())
            })
            .collect();
        drop(matrix);
        let successors = Self::successors_of(&counts, params, None, None);
        Ok(Self { successors, counts, params: params.clone() })
    }

    /// The successor matrix from the transition weights; with `previous` and `changed`,
    /// only the changed rows are normalised again.
    fn successors_of(
        counts: &[Arc<Vec<(u32, f32)>>],
        params: &SequentialParams,
        previous: Option<&SparseRows>,
        changed: Option<&std::collections::BTreeSet<u32>>,
    ) -> SparseRows {
        let mut out = SparseRows { ptr: vec![0], idx: Vec::new(), val: Vec::new() };
        for (a, row) in counts.iter().enumerate() {
            match (previous, changed) {
                (Some(prev), Some(changed)) if !changed.contains(&(a as u32)) => {
                    let (idx, val) = prev.row(a);
                    out.push_row(idx, val);
                }
                _ => {
                    out.push_pairs(&mut successor_row(row, params.max_successors));
                }
            }
        }
        out
    }

    /// Folds live events in exactly: for each shopper with new events, the transitions of
    /// their old history are taken out of the weights and those of the new history put
    /// in; the rows that changed are normalised again.
    fn folded(&self, data: &Interactions, before: &[(u32, Vec<HistoryEvent>)]) -> (Self, usize) {
        let mut diff: std::collections::BTreeMap<(u32, u32), f32> = std::collections::BTreeMap::new();
        let mut scratch = Vec::new();
        for (u, old) in before {
            let old = baskets(old);
            let new = baskets(data.history.get(*u as usize).map_or(&[][..], Vec::as_slice));
            // Transitions between baskets before the first changed one are the same in both:
            // only those into it or a later basket can differ.
            let changed = old.iter().zip(&new).position(|(a, b)| a != b).unwrap_or(old.len().min(new.len()));
            scratch.clear();
            transitions_of(&old, changed, &self.params, &mut scratch);
            for &(a, b, w) in &scratch {
                *diff.entry((a, b)).or_insert(0.0) -= w;
            }
            scratch.clear();
            transitions_of(&new, changed, &self.params, &mut scratch);
            for &(a, b, w) in &scratch {
                *diff.entry((a, b)).or_insert(0.0) += w;
            }
        }
        let mut counts = self.counts.clone();
        counts.resize_with(data.n_items, || Arc::new(Vec::new()));
        let mut changed = std::collections::BTreeSet::new();
        for ((a, b), dw) in diff {
            if dw == 0.0 {
                continue;
            }
            let Some(row) = counts.get_mut(a as usize) else { continue };
            let row = Arc::make_mut(row);
            match row.binary_search_by_key(&b, |&(x, _)| x) {
                Ok(p) => {
                    if let Some(entry) = row.get_mut(p) {
                        entry.1 += dw;
                        if entry.1 <= 1e-6 {
                            row.remove(p);
                        }
                    }
                }
                Err(p) if dw > 0.0 => row.insert(p, (b, dw)),
                Err(_) => {}
            }
            changed.insert(a);
        }
        let successors = Self::successors_of(&counts, &self.params, Some(&self.successors), Some(&changed));
        (Self { successors, counts, params: self.params.clone() }, changed.len())
    }

    /// The non-zero part of [`Scorer::score_all`], summed in the same order (bit-identical).
    fn sparse_scores(&self, ctx: &ScoreContext<'_>) -> std::collections::HashMap<u32, f32> {
        let mut out = std::collections::HashMap::new();
        for (k, basket) in self.recent(ctx.profile).iter().enumerate() {
            let w = self.params.decay.powi(k as i32) / basket.len().max(1) as f32;
            for &a in basket {
                let (idx, probs) = self.successors.row(a as usize);
                for (&b, &p) in idx.iter().zip(probs) {
                    *out.entry(b).or_insert(0.0) += w * p;
                }
            }
        }
        out
    }

    fn recent(&self, profile: &UserProfile) -> Vec<Vec<u32>> {
        let mut bs = baskets(&profile.events);
        let keep = self.params.recent_baskets.max(1);
        if bs.len() > keep {
            bs.drain(..bs.len() - keep);
        }
        bs.reverse();
        bs
    }
}

impl Scorer for SequentialScorer {
    fn id(&self) -> SignalId {
        SignalId::SEQUENTIAL
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (k, basket) in self.recent(ctx.profile).iter().enumerate() {
            let w = self.params.decay.powi(k as i32) / basket.len().max(1) as f32;
            for &a in basket {
                let (idx, probs) = self.successors.row(a as usize);
                for (&b, &p) in idx.iter().zip(probs) {
                    if let Some(o) = out.get_mut(b as usize) {
                        *o += w * p;
                    }
                }
            }
        }
    }

    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let sparse = self.sparse_scores(ctx);
        for (o, i) in out.iter_mut().zip(items) {
            *o = sparse.get(i).copied().unwrap_or(0.0);
        }
    }

    /// Exact: the inverted lists are the successor lists of the recent baskets' items.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(super::IndexTop::from_sparse(self.sparse_scores(ctx), 0.0, query))
    }

    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        let (next, rows) = self.folded(change.interactions, &change.delta.before);
        super::LiveUpdate::Updated(Arc::new(next), format!("transitions of {rows} items updated"))
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        for (k, basket) in self.recent(ctx.profile).iter().enumerate() {
            let mut from: Vec<(u32, f32)> = basket
                .iter()
                .filter_map(|&a| {
                    let (idx, probs) = self.successors.row(a as usize);
                    idx.binary_search(&item).ok().and_then(|p| probs.get(p)).map(|&p| (a, p))
                })
                .collect();
            if from.is_empty() {
                continue;
            }
            from = top_k_pairs(from, 2);
            let items: Vec<u32> = from.iter().map(|&(a, _)| a).collect();
            let when = if k == 0 { "your latest activity" } else { "a recent visit" };
            return Some(format!("often chosen after {} ({when})", actions_on(ctx.profile, catalogue, &items)));
        }
        None
    }
}

impl SignalId {
    /// The `sequential` signal.
    pub const SEQUENTIAL: SignalId = SignalId::new("sequential");
}

/// Registry entry of `sequential`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::SEQUENTIAL,
    label: "Sequential",
    color: [0x9c, 0x75, 0x5f],
    default_weight: 0.10,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |_| String::new(),
    needs_vectors: false,
    fit: |input, params, progress| {
        Ok(Fitted::Ready(Arc::new(SequentialScorer::fit(input.interactions, &params.sequential, progress)?)))
    },
};
