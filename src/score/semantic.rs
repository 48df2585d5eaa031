//! `semantic`: cosine between item sentence embeddings and the shopper's taste vector
//! (event-weighted, recency-decayed mean of history item embeddings), or the query's
//! embedding in search mode.

use std::sync::Arc;

use super::interactions::{UserProfile, decay};
use super::params::SemanticParams;
use super::{ScoreContext, Scorer, SignalId, title_list};
use crate::data::Catalogue;

/// L2-normalised item vectors, row-major, plus which items had text to embed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemVectors {
    /// Vector length.
    pub dim: usize,
    /// `n_items × dim` values.
    pub data: Vec<f32>,
    /// Whether item `i` had text (items without text score 0).
    pub has_text: Vec<bool>,
}

impl ItemVectors {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.has_text.len()
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.has_text.is_empty()
    }

    /// The vector of item `i` (None when out of range or without text).
    pub fn row(&self, i: u32) -> Option<&[f32]> {
        if !self.has_text.get(i as usize).copied().unwrap_or(false) {
            return None;
        }
        let start = i as usize * self.dim;
        self.data.get(start..start + self.dim)
    }

    /// Cosine similarity of two items (vectors are normalised, so the dot product).
    pub fn cosine(&self, a: u32, b: u32) -> Option<f32> {
        Some(dot(self.row(a)?, self.row(b)?))
    }
}

/// Dot product (over the shorter length).
///
/// Sixteen independent partial sums let the compiler keep several SIMD registers busy;
/// a plain `sum()` is one sequential chain of additions that cannot be vectorised
/// (floating-point addition is not associative), which made ALS and every
/// user × item scoring loop several times slower.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.zip(cb) {
        for ((s, &xv), &yv) in acc.iter_mut().zip(x).zip(y) {
            *s += xv * yv;
        }
    }
    let mut half = [0.0f32; LANES / 2];
    for (k, h) in half.iter_mut().enumerate() {
        *h = acc.get(k).copied().unwrap_or(0.0) + acc.get(k + LANES / 2).copied().unwrap_or(0.0);
    }
    half.iter().sum::<f32>() + tail
}

/// The semantic signal over precomputed item vectors.
pub struct SemanticScorer {
    vectors: Arc<ItemVectors>,
    params: SemanticParams,
}

impl SemanticScorer {
    /// Wraps item vectors (computed by the embedding engine).
    pub fn new(vectors: Arc<ItemVectors>, params: &SemanticParams) -> Self {
        Self { vectors, params: params.clone() }
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

    fn target(&self, ctx: &ScoreContext<'_>) -> Option<Vec<f32>> {
        match ctx.query.and_then(|q| q.embedding.clone()) {
            Some(q) if q.len() == self.vectors.dim => Some(q),
            _ => self.user_vector(ctx.profile),
        }
    }
}

impl Scorer for SemanticScorer {
    fn id(&self) -> SignalId {
        SignalId::Semantic
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
        Some(format!("similar to {} you bought (similarity {:.2})", title_list(catalogue, &items), best.1))
    }
}

#[cfg(test)]
mod dot_tests {
    use super::dot;

    #[test]
    fn dot_matches_the_naive_sum() {
        for n in [0usize, 1, 7, 16, 17, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - naive).abs() < 1e-4, "n = {n}");
        }
        // Unequal lengths: the shorter one decides, as with `zip`.
        let a = vec![1.0f32; 20];
        let b: Vec<f32> = (0..36).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &b), (0..20).sum::<i32>() as f32);
        assert_eq!(dot(&b, &a), (0..20).sum::<i32>() as f32);
    }
}
