//! `user_cf`: user-to-user cosine similarity, top-k neighbours found at scoring time.

use std::sync::Arc;

use super::interactions::{Interactions, UserProfile, ValueTransform};
use super::params::UserCfParams;
use super::registry::{Fitted, SignalSpec};
use super::topk::top_k_pairs;
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;

/// User-user CF. `score(u, i) = Σ_{v ∈ N_k(u)} cos(u, v) · t(r_vi)`.
pub struct UserCfScorer {
    by_user: super::interactions::SparseRows,
    by_item: super::interactions::SparseRows,
    user_norms: Vec<f32>,
    neighbours: usize,
    transform: ValueTransform,
}

impl UserCfScorer {
    /// Stores the matrix and user norms; neighbours are found per shopper when scoring,
    /// so shoppers outside the training data are handled the same way.
    pub fn fit(data: &Interactions, params: &UserCfParams) -> Self {
        let t = params.transform;
        let user_norms = (0..data.n_users)
            .map(|u| data.by_user.row(u).1.iter().map(|&v| t.apply(v).powi(2)).sum::<f32>().sqrt())
            .collect();
        Self {
            by_user: data.by_user.clone(),
            by_item: data.by_item.clone(),
            user_norms,
            neighbours: params.neighbours.max(1),
            transform: t,
        }
    }

    /// The shopper's top-k most similar users and their cosine.
    pub fn neighbours(&self, profile: &UserProfile) -> Vec<(u32, f32)> {
        let t = self.transform;
        let norm: f32 = profile.items.iter().map(|&(_, v)| t.apply(v).powi(2)).sum::<f32>().sqrt();
        if norm <= 0.0 {
            return Vec::new();
        }
        // A dense accumulator over users (the co-users of popular items number in the
        // hundreds of thousands at 10 M events): the same additions in the same order as a
        // map, several times faster.
        let mut dots = vec![0.0f32; self.user_norms.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut hit = vec![false; self.user_norms.len()];
        for &(i, r) in &profile.items {
            let (users, vals) = self.by_item.row(i as usize);
            for (&v, &rv) in users.iter().zip(vals) {
                if Some(v) == profile.user {
                    continue;
                }
                if let (Some(d), Some(h)) = (dots.get_mut(v as usize), hit.get_mut(v as usize)) {
                    if !*h {
                        *h = true;
                        touched.push(v);
                    }
                    *d += t.apply(r) * t.apply(rv);
                }
            }
        }
        let sims: Vec<(u32, f32)> = touched
            .into_iter()
            .filter_map(|v| {
                let d = dots.get(v as usize).copied().unwrap_or(0.0);
                let nv = self.user_norms.get(v as usize).copied().unwrap_or(0.0);
                (nv > 0.0).then(|| (v, d / (norm * nv)))
            })
            .collect();
        top_k_pairs(sims, self.neighbours)
    }
}

impl UserCfScorer {
    /// The non-zero part of [`Scorer::score_all`], summed in the same order (bit-identical).
    fn sparse_scores(&self, ctx: &ScoreContext<'_>) -> std::collections::HashMap<u32, f32> {
        let mut out = std::collections::HashMap::new();
        for (v, sim) in self.neighbours(ctx.profile) {
            let (items, vals) = self.by_user.row(v as usize);
            for (&i, &r) in items.iter().zip(vals) {
                *out.entry(i).or_insert(0.0) += sim * self.transform.apply(r);
            }
        }
        out
    }
}

impl Scorer for UserCfScorer {
    fn id(&self) -> SignalId {
        SignalId::USER_CF
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (v, sim) in self.neighbours(ctx.profile) {
            let (items, vals) = self.by_user.row(v as usize);
            for (&i, &r) in items.iter().zip(vals) {
                if let Some(o) = out.get_mut(i as usize) {
                    *o += sim * self.transform.apply(r);
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

    /// Exact: the inverted lists are the similar shoppers' rows.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(super::IndexTop::from_sparse(self.sparse_scores(ctx), 0.0, query))
    }

    /// Neighbours are found per shopper when scoring; the stored matrix and norms are
    /// taken again from the interactions with the events folded in (a copy, no search).
    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        let params = UserCfParams { neighbours: self.neighbours, transform: self.transform };
        let next = Self::fit(change.interactions, &params);
        let users = change.delta.users.len();
        super::LiveUpdate::Updated(Arc::new(next), format!("rows of {users} shoppers updated"))
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, _catalogue: &Catalogue) -> Option<String> {
        let neighbours = self.neighbours(ctx.profile);
        let with_item =
            neighbours.iter().filter(|(v, _)| self.by_user.row(*v as usize).0.binary_search(&item).is_ok()).count();
        (with_item > 0).then(|| format!("chosen by {with_item} of your {} most similar shoppers", neighbours.len()))
    }
}

impl SignalId {
    /// The `user_cf` signal.
    pub const USER_CF: SignalId = SignalId::new("user_cf");
}

/// Registry entry of `user_cf`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::USER_CF,
    label: "User CF",
    color: [0xe1, 0x57, 0x59],
    default_weight: 0.10,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |_| "stores the matrix; neighbours are found when scoring".to_owned(),
    needs_vectors: false,
    fit: |input, params, _| Ok(Fitted::Ready(Arc::new(UserCfScorer::fit(input.interactions, &params.user_cf)))),
};
