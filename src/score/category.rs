//! `category`: the share of the shopper's interactions in the item's categories.

use std::sync::Arc;

use super::interactions::UserProfile;
use super::registry::{Fitted, SignalSpec};
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;

/// Category affinity. Absent when the catalogue has no category.
pub struct CategoryScorer {
    labels: Vec<Vec<u32>>,
    n_labels: usize,
    /// The items of each label, ascending: the index path's inverted lists (built on
    /// first use).
    by_label: std::sync::OnceLock<Vec<Vec<u32>>>,
}

impl CategoryScorer {
    /// `None` when no item has a category.
    pub fn fit(catalogue: &Catalogue) -> Option<Self> {
        catalogue.has_categories().then(|| Self {
            labels: catalogue.category_labels.clone(),
            n_labels: catalogue.category_names.len(),
            by_label: Default::default(),
        })
    }

    fn by_label(&self) -> &[Vec<u32>] {
        self.by_label.get_or_init(|| {
            let mut lists = vec![Vec::new(); self.n_labels];
            for (i, labels) in self.labels.iter().enumerate() {
                for &l in labels {
                    if let Some(list) = lists.get_mut(l as usize) {
                        list.push(i as u32);
                    }
                }
            }
            lists.iter_mut().for_each(|l: &mut Vec<u32>| l.dedup());
            lists
        })
    }

    /// An item's score under `share` (the formula of [`Scorer::score_all`]).
    fn score_of(&self, share: &[f32], item: u32) -> f32 {
        let labels = self.labels.get(item as usize).map_or(&[][..], Vec::as_slice);
        labels.iter().filter_map(|&l| share.get(l as usize)).copied().fold(0.0, f32::max)
    }

    /// The exact top-`n`: the shopper's labels by share, highest first; an item first met
    /// in a label has that label's share as its score (the largest of its labels'), so the
    /// walk stops once `n` items score above every label left.
    fn top_by_label(&self, share: &[f32], query: &super::IndexQuery<'_>) -> super::IndexTop {
        let lists = self.by_label();
        let mut labels: Vec<(u32, f32)> =
            share.iter().enumerate().filter(|(_, s)| **s > 0.0).map(|(l, &s)| (l as u32, s)).collect();
        labels.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let list = |l: u32| lists.get(l as usize).map_or(&[][..], Vec::as_slice);
        let covered: usize = labels.iter().map(|&(l, _)| list(l).len()).sum();
        let hi = labels.iter().find(|&&(l, _)| !list(l).is_empty()).map_or(0.0, |&(_, s)| s);
        // Every item is 0 unless it has a weighted label; with enough labelled items to
        // cover the catalogue, the lowest score needs a pass over every item.
        let lo = if covered < query.n_items {
            0.0
        } else {
            (0..query.n_items as u32).map(|i| self.score_of(share, i)).fold(f32::INFINITY, f32::min)
        };
        let mut seen = std::collections::HashSet::new();
        let mut kept: Vec<(u32, f32)> = Vec::new();
        let mut scanned = 0usize;
        for (k, &(l, s)) in labels.iter().enumerate() {
            if query.n == 0 {
                break;
            }
            for &item in list(l) {
                scanned += 1;
                if seen.insert(item) && !(query.skip)(item) {
                    kept.push((item, s));
                }
            }
            let next = labels.get(k + 1).map_or(0.0, |&(_, s)| s);
            if kept.get(query.n - 1).is_some_and(|&(_, s)| s > next) {
                break;
            }
        }
        let items = super::topk::top_k_pairs(kept, query.n).into_iter().map(|(i, _)| i).collect();
        let range = if query.n_items == 0 { (0.0, 0.0) } else { (lo.min(hi), hi.max(lo)) };
        super::IndexTop { items, range, scanned, lookup: None }
    }

    /// The shopper's weighted share per category label (sums to 1 when there is history).
    pub fn distribution(&self, profile: &UserProfile) -> Vec<f32> {
        let mut share = vec![0.0f32; self.n_labels];
        let mut total = 0.0f32;
        for &(item, w) in &profile.items {
            let Some(labels) = self.labels.get(item as usize) else { continue };
            if labels.is_empty() {
                continue;
            }
            let per_label = w / labels.len() as f32;
            for &l in labels {
                if let Some(s) = share.get_mut(l as usize) {
                    *s += per_label;
                }
            }
            total += w;
        }
        if total > 0.0 {
            share.iter_mut().for_each(|s| *s /= total);
        }
        share
    }
}

impl Scorer for CategoryScorer {
    fn id(&self) -> SignalId {
        SignalId::CATEGORY
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        let share = self.distribution(ctx.profile);
        for (o, labels) in out.iter_mut().zip(&self.labels) {
            *o = labels.iter().filter_map(|&l| share.get(l as usize)).copied().fold(0.0, f32::max);
        }
    }

    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let share = self.distribution(ctx.profile);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = self.score_of(&share, i);
        }
    }

    /// Exact: inverted lists per category label.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(self.top_by_label(&self.distribution(ctx.profile), query))
    }

    fn build_index(&self) {
        self.by_label();
    }

    /// Scores from the shopper's history at scoring time: live events need nothing more;
    /// new items' categories are read by fitting again (one pass over the catalogue).
    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        if !change.catalogue_grew() {
            return super::LiveUpdate::FromProfile;
        }
        match Self::fit(change.catalogue) {
            Some(next) => super::LiveUpdate::Updated(Arc::new(next), "new items' categories read".to_owned()),
            None => super::LiveUpdate::Stale("the catalogue has no category column".to_owned()),
        }
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        let share = self.distribution(ctx.profile);
        let labels = self.labels.get(item as usize)?;
        let (best, s) =
            labels.iter().filter_map(|&l| share.get(l as usize).map(|s| (l, *s))).max_by(|a, b| a.1.total_cmp(&b.1))?;
        (s > 0.0).then(|| {
            let name = catalogue.category_names.name(best);
            // "Often" only for a tenth of the history or more; a small share is never "0%".
            if s >= 0.1 {
                format!("you often choose {name} ({} of your history)", share_text(s))
            } else {
                format!("you have chosen {name} before ({} of your history)", share_text(s))
            }
        })
    }
}

impl SignalId {
    /// The `category` signal.
    pub const CATEGORY: SignalId = SignalId::new("category");
}

/// Registry entry of `category`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::CATEGORY,
    label: "Category",
    color: [0xff, 0x9d, 0xa7],
    default_weight: 0.05,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |_| String::new(),
    needs_vectors: false,
    fit: |input, _, _| {
        Ok(match CategoryScorer::fit(input.catalogue) {
            Some(c) => Fitted::Ready(Arc::new(c)),
            None => Fitted::Unavailable("the catalogue has no category column".to_owned()),
        })
    },
};

/// A share of the history as people read it: whole percents from 1 %, tenths below, and
/// "under 0.1%" below that (never "0%").
fn share_text(share: f32) -> String {
    let pct = share * 100.0;
    if pct >= 1.0 {
        format!("{pct:.0}%")
    } else if pct >= 0.1 {
        format!("{pct:.1}%")
    } else {
        "under 0.1%".to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_share_of_the_history_is_never_zero_percent() {
        assert_eq!(super::share_text(0.5), "50%");
        assert_eq!(super::share_text(0.01), "1%");
        assert_eq!(super::share_text(0.004), "0.4%");
        assert_eq!(super::share_text(0.0004), "under 0.1%");
    }
}
