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
            let bs = baskets(events);
            for (k, from) in bs.iter().enumerate() {
                for d in 1..=params.window.max(1) {
                    let Some(to) = bs.get(k + d) else { break };
                    let w = params.decay.powi(d as i32 - 1);
                    for &a in from {
                        for &b in to {
                            if a != b {
                                triples.push((a, b, w));
                            }
                        }
                    }
                }
            }
        }
        let counts = SparseRows::from_triples(data.n_items, triples);
        let mut kept = Vec::new();
        for a in 0..counts.rows() {
            let (idx, val) = counts.row(a);
            let total: f32 = val.iter().sum();
            if total <= 0.0 {
                continue;
            }
            let pairs: Vec<(u32, f32)> = idx.iter().copied().zip(val.iter().map(|v| v / total)).collect();
            for (b, p) in top_k_pairs(pairs, params.max_successors.max(1)) {
                kept.push((a as u32, b, p));
            }
        }
        Ok(Self { successors: SparseRows::from_triples(data.n_items, kept), params: params.clone() })
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
