//! `semantic`: cosine between item sentence embeddings and the shopper's taste vector
//! (event-weighted, recency-decayed mean of history item embeddings), or the query's
//! embedding in search mode.

use super::registry::{Fitted, SignalSpec};
use std::sync::Arc;

use super::interactions::{UserProfile, decay};
use super::params::SemanticParams;
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;
pub use crate::embed::{ItemVectors, dot, dot_rows_block};

/// The semantic signal over precomputed item vectors.
pub struct SemanticScorer {
    vectors: Arc<ItemVectors>,
    params: SemanticParams,
    /// The IVF index over the item vectors (index path; built on first use).
    index: super::ivf::LazyIvf,
}

impl SemanticScorer {
    /// Wraps item vectors (computed by the embedding engine).
    pub fn new(vectors: Arc<ItemVectors>, params: &SemanticParams) -> Self {
        Self { vectors, params: params.clone(), index: Default::default() }
    }

    /// The item vectors.
    pub fn vectors(&self) -> &Arc<ItemVectors> {
        &self.vectors
    }

    /// The shopper's normalised taste vector, or `None` without usable history.
    pub fn user_vector(&self, profile: &UserProfile) -> Option<Vec<f32>> {
        let mut per_item: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
        for e in &profile.events {
            *per_item.entry(e.item).or_insert(0.0) +=
                e.weight * decay(profile.now - e.time, self.params.half_life_days);
        }
        let mut items: Vec<(u32, f32)> = per_item.into_iter().filter(|(_, w)| *w > 0.0).collect();
        items.sort_unstable_by_key(|&(i, _)| i);
        let mut v = vec![0.0f32; self.vectors.dim];
        let mut any = false;
        for (i, w) in items {
            if let Some(row) = self.vectors.row(i) {
                any = true;
                for (a, b) in v.iter_mut().zip(row) {
                    *a += w * b;
                }
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        (any && norm > 0.0).then(|| v.into_iter().map(|x| x / norm).collect())
    }

    fn item_index(&self) -> &super::ivf::IvfIndex {
        let vectors = &self.vectors;
        self.index.get(vectors.len(), vectors.dim, |i| vectors.row(i))
    }

    fn target(&self, ctx: &ScoreContext<'_>) -> Option<Vec<f32>> {
        match ctx.query.and_then(|q| q.embedding.clone()) {
            Some(q) if q.len() == self.vectors.dim => Some(q),
            _ => self.user_vector(ctx.profile),
        }
    }
}

impl Scorer for SemanticScorer {
    fn id(&self) -> SignalId {
        SignalId::SEMANTIC
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let Some(target) = self.target(ctx) else { return };
        for (i, o) in out.iter_mut().enumerate() {
            if let Some(row) = self.vectors.row(i as u32) {
                *o = dot(&target, row);
            }
        }
    }

    fn score_all_block(&self, ctxs: &[ScoreContext<'_>], out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let n = out.len() / ctxs.len().max(1);
        let targets: Vec<Option<Vec<f32>>> = ctxs.iter().map(|c| self.target(c)).collect();
        let given: Vec<Option<&[f32]>> = targets.iter().map(Option::as_deref).collect();
        dot_rows_block(&given, n, |i| self.vectors.row(i as u32), out);
    }

    fn scores_in_blocks(&self) -> bool {
        true
    }

    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let target = self.target(ctx);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = match (&target, self.vectors.row(i)) {
                (Some(t), Some(row)) => dot(t, row),
                _ => 0.0,
            };
        }
    }

    /// Approximate: an IVF index over the item vectors ([`super::ivf`]), exact when every
    /// list is probed.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        let Some(target) = self.target(ctx) else {
            return Some(super::IndexTop { range: (0.0, 0.0), ..Default::default() });
        };
        let vectors = &self.vectors;
        let score = |i: u32| vectors.row(i).map_or(0.0, |row| dot(&target, row));
        Some(super::ivf::index_search(self.item_index(), &target, score, query))
    }

    fn build_index(&self) {
        self.item_index();
    }

    /// Scores from the shopper's history at scoring time: live events need nothing more.
    fn live_update(&self, _change: &super::LiveChange<'_>) -> super::LiveUpdate {
        super::LiveUpdate::FromProfile
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        if let Some(q) = ctx.query.filter(|q| q.embedding.is_some()) {
            let row = self.vectors.row(item)?;
            let sim = q.embedding.as_deref().map(|e| dot(e, row))?;
            return Some(format!("text matches “{}” (similarity {sim:.2})", q.text));
        }
        let mut nearest: Vec<(u32, f32)> = ctx
            .profile
            .items
            .iter()
            .filter(|&&(j, _)| j != item)
            .filter_map(|&(j, _)| self.vectors.cosine(j, item).map(|s| (j, s)))
            .collect();
        nearest = super::topk::top_k_pairs(nearest, 2);
        let best = nearest.first()?;
        let items: Vec<u32> = nearest.iter().filter(|(_, s)| *s >= best.1 * 0.9).map(|&(j, _)| j).collect();
        Some(format!(
            "similar to what {} (similarity {:.2})",
            super::actions_on(ctx.profile, catalogue, &items),
            best.1
        ))
    }
}

impl SignalId {
    /// The `semantic` signal.
    pub const SEMANTIC: SignalId = SignalId::new("semantic");
}

/// Registry entry of `semantic`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::SEMANTIC,
    label: "Semantic",
    color: [0x4e, 0x79, 0xa7],
    default_weight: 0.10,
    default_search_weight: 0.4,
    search_only: false,
    search_source: true,
    params_summary: |_| String::new(),
    needs_vectors: true,
    fit: |input, params, _| {
        Ok(match input.vectors {
            Ok(v) => Fitted::Ready(Arc::new(SemanticScorer::new(v.clone(), &params.semantic))),
            Err(why) => Fitted::Unavailable(why.to_owned()),
        })
    },
};
