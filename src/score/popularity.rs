//! `popularity`: recency-decayed interaction counts.

use std::sync::Arc;

use super::interactions::{Interactions, decay};
use super::params::PopularityParams;
use super::registry::{Fitted, SignalSpec};
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;

/// Popularity with exponential time decay.
pub struct PopularityScorer {
    scores: Vec<f32>,
    /// Distinct users per item in the last 7 days before `now`.
    recent_users: Vec<u32>,
    /// Score rank (0 = most popular) per item.
    rank: Vec<u32>,
    /// The half-life the scores decay with.
    half_life_days: Option<f32>,
    /// The reference time of the scores.
    now: i64,
    /// Per item: positive events folded in live since the fit.
    live_events: Vec<u32>,
    /// The items in score order, for the index path (sorted on first use).
    order: super::topk::RankedOrder,
}

impl PopularityScorer {
    /// Sums positive event weights, each decayed by its age at `data.now`.
    pub fn fit(data: &Interactions, params: &PopularityParams) -> Self {
        let mut scores = vec![0.0f32; data.n_items];
        let mut recent: Vec<Vec<u32>> = vec![Vec::new(); data.n_items];
        for (u, events) in data.history.iter().enumerate() {
            for e in events {
                if e.weight <= 0.0 {
                    continue;
                }
                if let Some(s) = scores.get_mut(e.item as usize) {
                    *s += e.weight * decay(data.now - e.time, params.half_life_days);
                }
                if data.now - e.time <= 7 * 86_400
                    && let Some(r) = recent.get_mut(e.item as usize)
                    && r.last() != Some(&(u as u32))
                {
                    r.push(u as u32);
                }
            }
        }
        let recent_users = recent
            .into_iter()
            .map(|mut r| {
                r.sort_unstable();
                r.dedup();
                r.len() as u32
            })
            .collect();
        let rank = ranks(&scores);
        Self {
            scores,
            recent_users,
            rank,
            half_life_days: params.half_life_days,
            now: data.now,
            live_events: vec![0; data.n_items],
            order: Default::default(),
        }
    }

    /// Folds live events in exactly: every score decays from the old reference time to the
    /// new one (`s·2^(−Δ/h)`), each new positive event adds its weight decayed by its age,
    /// and the 7-day shopper counts are taken again from the histories' last week.
    fn folded(&self, data: &Interactions, added: &[(u32, super::HistoryEvent)]) -> Self {
        let factor = decay(data.now - self.now, self.half_life_days);
        let mut scores: Vec<f32> = self.scores.iter().map(|s| s * factor).collect();
        scores.resize(data.n_items, 0.0);
        let mut live_events = self.live_events.clone();
        live_events.resize(data.n_items, 0);
        for (_, e) in added.iter().filter(|(_, e)| e.weight > 0.0) {
            if let Some(s) = scores.get_mut(e.item as usize) {
                *s += e.weight * decay(data.now - e.time, self.half_life_days);
            }
            if let Some(n) = live_events.get_mut(e.item as usize) {
                *n += 1;
            }
        }
        let mut recent: Vec<Vec<u32>> = vec![Vec::new(); data.n_items];
        for (u, events) in data.history.iter().enumerate() {
            for e in events.iter().rev().take_while(|e| data.now - e.time <= 7 * 86_400) {
                if e.weight > 0.0
                    && let Some(r) = recent.get_mut(e.item as usize)
                {
                    r.push(u as u32);
                }
            }
        }
        let recent_users = recent
            .into_iter()
            .map(|mut r| {
                r.sort_unstable();
                r.dedup();
                r.len() as u32
            })
            .collect();
        let rank = ranks(&scores);
        Self {
            scores,
            recent_users,
            rank,
            half_life_days: self.half_life_days,
            now: data.now,
            live_events,
            order: Default::default(),
        }
    }

    /// The popularity score of every item.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }
}

/// Score rank (0 = highest) per item.
fn ranks(scores: &[f32]) -> Vec<u32> {
    let order = super::topk::top_k_indices(scores, scores.len(), |_| false);
    let mut rank = vec![u32::MAX; scores.len()];
    for (r, &i) in order.iter().enumerate() {
        if let Some(slot) = rank.get_mut(i as usize) {
            *slot = r as u32;
        }
    }
    rank
}

impl Scorer for PopularityScorer {
    fn id(&self) -> SignalId {
        SignalId::POPULARITY
    }

    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        let next = self.folded(change.interactions, &change.delta.added);
        let events = change.delta.added.iter().filter(|(_, e)| e.weight > 0.0).count();
        super::LiveUpdate::Updated(
            Arc::new(next),
            format!("{events} positive events added, scores decayed to the newest event"),
        )
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

    /// Exact: the popularity head, sorted once.
    fn index_top(&self, _ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(self.order.top(&self.scores, query))
    }

    fn build_index(&self) {
        self.order.build(&self.scores);
    }

    fn evidence(&self, _ctx: &ScoreContext<'_>, item: u32, _catalogue: &Catalogue) -> Option<String> {
        let recent = self.recent_users.get(item as usize).copied().unwrap_or(0);
        let rank = self.rank.get(item as usize).copied().unwrap_or(u32::MAX);
        if self.scores.get(item as usize).copied().unwrap_or(0.0) <= 0.0 {
            return None;
        }
        let live = match self.live_events.get(item as usize).copied().unwrap_or(0) {
            0 => String::new(),
            1 => " (+1 event since live started)".to_owned(),
            n => format!(" (+{n} events since live started)"),
        };
        if recent >= 3 {
            Some(format!("trending this week: {recent} shoppers in the last 7 days{live}"))
        } else {
            let share = top_share(rank as usize, self.scores.len());
            Some(format!("popular: #{} of {} items (top {share}%){live}", rank + 1, self.scores.len()))
        }
    }
}

/// The share (in %) of the catalogue an item at 0-based `rank` is in, rounded up so that the
/// item is always within the share named: whole percents from 1 %, tenths below (never "0").
fn top_share(rank: usize, items: usize) -> String {
    let share = 100.0 * (rank as f64 + 1.0) / items.max(1) as f64;
    // The small epsilon keeps an exact share (25 %, 0.4 %) from rounding up by float error.
    if share >= 1.0 {
        format!("{}", (share - 1e-9).ceil())
    } else {
        format!("{}", ((share * 10.0) - 1e-9).ceil() / 10.0)
    }
}

impl SignalId {
    /// The `popularity` signal.
    pub const POPULARITY: SignalId = SignalId::new("popularity");
}

/// Registry entry of `popularity`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::POPULARITY,
    label: "Popularity",
    color: [0x59, 0xa1, 0x4f],
    default_weight: 0.10,
    default_search_weight: 0.1,
    search_only: false,
    search_source: false,
    params_summary: |_| String::new(),
    needs_vectors: false,
    fit: |input, params, _| Ok(Fitted::Ready(Arc::new(PopularityScorer::fit(input.interactions, &params.popularity)))),
};

#[cfg(test)]
mod tests {
    #[test]
    fn top_share_rounds_up_and_never_says_zero() {
        assert_eq!(super::top_share(0, 2872), "0.1");
        assert_eq!(super::top_share(28, 2872), "2");
        assert_eq!(super::top_share(0, 4), "25");
        assert_eq!(super::top_share(9, 400), "3");
        assert_eq!(super::top_share(3, 1000), "0.4");
    }
}
