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
        let order = super::topk::top_k_indices(&scores, scores.len(), |_| false);
        let mut rank = vec![u32::MAX; scores.len()];
        for (r, &i) in order.iter().enumerate() {
            if let Some(slot) = rank.get_mut(i as usize) {
                *slot = r as u32;
            }
        }
        Self { scores, recent_users, rank }
    }

    /// The popularity score of every item.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }
}

impl Scorer for PopularityScorer {
    fn id(&self) -> SignalId {
        SignalId::POPULARITY
    }

    fn score_all(&self, _ctx: &ScoreContext<'_>, out: &mut [f32]) {
        for (o, s) in out.iter_mut().zip(&self.scores) {
            *o = *s;
        }
    }

    fn evidence(&self, _ctx: &ScoreContext<'_>, item: u32, _catalogue: &Catalogue) -> Option<String> {
        let recent = self.recent_users.get(item as usize).copied().unwrap_or(0);
        let rank = self.rank.get(item as usize).copied().unwrap_or(u32::MAX);
        if self.scores.get(item as usize).copied().unwrap_or(0.0) <= 0.0 {
            return None;
        }
        if recent >= 3 {
            Some(format!("trending this week: {recent} shoppers in the last 7 days"))
        } else {
            let share = top_share(rank as usize, self.scores.len());
            Some(format!("popular: #{} of {} items (top {share}%)", rank + 1, self.scores.len()))
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
