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
}

impl CategoryScorer {
    /// `None` when no item has a category.
    pub fn fit(catalogue: &Catalogue) -> Option<Self> {
        catalogue
            .has_categories()
            .then(|| Self { labels: catalogue.category_labels.clone(), n_labels: catalogue.category_names.len() })
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

    /// Scores from the shopper's history at scoring time: live events need nothing more.
    fn live_update(&self, _change: &super::LiveChange<'_>) -> super::LiveUpdate {
        super::LiveUpdate::FromProfile
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        let share = self.distribution(ctx.profile);
        let labels = self.labels.get(item as usize)?;
        let (best, s) =
            labels.iter().filter_map(|&l| share.get(l as usize).map(|s| (l, *s))).max_by(|a, b| a.1.total_cmp(&b.1))?;
        (s > 0.0).then(|| {
            format!("you often choose {} ({:.0}% of your history)", catalogue.category_names.name(best), s * 100.0)
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
