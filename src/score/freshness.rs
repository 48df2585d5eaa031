//! `freshness`: newer items score higher (created_at, else first seen in training).

use std::sync::Arc;

use super::interactions::{Interactions, decay};
use super::params::FreshnessParams;
use super::registry::{Fitted, SignalSpec};
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;

/// Item age at the reference time, turned into a score by exponential decay.
pub struct FreshnessScorer {
    scores: Vec<f32>,
    age_days: Vec<Option<f32>>,
    new_arrival_days: f32,
    half_life_days: f32,
    /// The items in score order, for the index path (sorted on first use).
    order: super::topk::RankedOrder,
}

impl FreshnessScorer {
    /// Uses the catalogue's `created_at` when present (and not after `now`), else the
    /// first training event of the item. Items with neither score 0.
    pub fn fit(data: &Interactions, catalogue: &Catalogue, params: &FreshnessParams) -> Self {
        let mut scores = vec![0.0; data.n_items];
        let mut age_days = vec![None; data.n_items];
        for i in 0..data.n_items {
            let created = catalogue.created_at.get(i).copied().flatten().filter(|&c| c <= data.now);
            let born = created.or_else(|| data.first_seen.get(i).copied().flatten());
            if let Some(t) = born {
                let age = data.now - t;
                if let Some(s) = scores.get_mut(i) {
                    *s = decay(age, Some(params.half_life_days));
                }
                if let Some(a) = age_days.get_mut(i) {
                    *a = Some(age.max(0) as f32 / 86_400.0);
                }
            }
        }
        Self {
            scores,
            age_days,
            new_arrival_days: params.new_arrival_days,
            half_life_days: params.half_life_days,
            order: Default::default(),
        }
    }
}

impl Scorer for FreshnessScorer {
    fn id(&self) -> SignalId {
        SignalId::FRESHNESS
    }

    fn score_all(&self, _ctx: &ScoreContext<'_>, out: &mut [f32]) {
        for (o, s) in out.iter_mut().zip(&self.scores) {
            *o = *s;
        }
    }

    fn score_items(&self, _ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(items) {
            *o = self.scores.get(i as usize).copied().unwrap_or(0.0);
        }
    }

    /// Exact: the newest items, sorted once.
    fn index_top(&self, _ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(self.order.top(&self.scores, query))
    }

    fn build_index(&self) {
        self.order.build(&self.scores);
    }

    /// Ages are taken again at the new reference time with the new first-seen times (one
    /// pass over the items, the same as the fit).
    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        let params = FreshnessParams { half_life_days: self.half_life_days, new_arrival_days: self.new_arrival_days };
        let next = Self::fit(change.interactions, change.catalogue, &params);
        super::LiveUpdate::Updated(
            Arc::new(next),
            "ages taken at the newest event, first-seen times updated".to_owned(),
        )
    }

    fn evidence(&self, _ctx: &ScoreContext<'_>, item: u32, _catalogue: &Catalogue) -> Option<String> {
        let age = self.age_days.get(item as usize).copied().flatten()?;
        if age <= self.new_arrival_days {
            Some(format!("new arrival: first seen {age:.0} days ago"))
        } else {
            Some(format!("in the catalogue for {age:.0} days"))
        }
    }
}

impl SignalId {
    /// The `freshness` signal.
    pub const FRESHNESS: SignalId = SignalId::new("freshness");
}

/// Registry entry of `freshness`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::FRESHNESS,
    label: "Freshness",
    color: [0xed, 0xc9, 0x48],
    default_weight: 0.0,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |_| String::new(),
    needs_vectors: false,
    fit: |input, params, _| {
        Ok(Fitted::Ready(Arc::new(FreshnessScorer::fit(input.interactions, input.catalogue, &params.freshness))))
    },
};
