//! `item_cf`: item-to-item cosine similarity over the (transformed) user × item matrix,
//! top-k neighbours per item.

use std::sync::Arc;

use super::registry::{Fitted, SignalSpec};
use rayon::prelude::*;

use super::interactions::{Interactions, SparseRows, ValueTransform};
use super::params::ItemCfParams;
use super::topk::top_k_pairs;
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;
use crate::jobs::{Cancelled, Progress};

/// Item-item CF. `score(u, i) = Σ_{j ∈ history(u)} t(r_uj) · sim(j, i)` over the stored
/// neighbours of each history item `j`.
pub struct ItemCfScorer {
    /// Row `j`: the top-k most similar items `i ≠ j` and their cosine.
    pub neighbours: SparseRows,
    transform: ValueTransform,
    /// Neighbours kept per item.
    k: usize,
}

/// Per-item norms of the transformed item columns.
fn item_norms(by_item: &TransformedRows<'_>, n_items: usize) -> Vec<f32> {
    (0..n_items).map(|i| by_item.row(i).1.iter().map(|&v| v * v).sum::<f32>().sqrt()).collect()
}

/// A [`SparseRows`] matrix with its values transformed once (`t(v)` is a logarithm for the
/// default transform: computing it once per entry, not once per visit, is most of the
/// similarity pass's time).
struct TransformedRows<'a> {
    rows: &'a SparseRows,
    val: Vec<f32>,
}

impl<'a> TransformedRows<'a> {
    fn new(rows: &'a SparseRows, t: ValueTransform) -> Self {
        Self { rows, val: rows.val.iter().map(|&v| t.apply(v)).collect() }
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (Some(&a), Some(&b)) = (self.rows.ptr.get(r), self.rows.ptr.get(r + 1)) else {
            return (&[], &[]);
        };
        (self.rows.idx.get(a..b).unwrap_or(&[]), self.val.get(a..b).unwrap_or(&[]))
    }
}

/// The transformed matrix both ways, as [`similar_items`] reads it.
struct Transformed<'a> {
    by_user: TransformedRows<'a>,
    by_item: TransformedRows<'a>,
}

impl<'a> Transformed<'a> {
    fn new(data: &'a Interactions, t: ValueTransform) -> Self {
        Self { by_user: TransformedRows::new(&data.by_user, t), by_item: TransformedRows::new(&data.by_item, t) }
    }
}

/// Scratch space of [`similar_items`], one per worker: left as it was found (all zero,
/// `touched` empty) after every call.
struct Scratch {
    /// Dot product with item `j`, per item.
    acc: Vec<f32>,
    /// Items reached, in the order first reached (the sparse pass).
    touched: Vec<u32>,
    /// 1 for every item reached (the dense pass).
    reached: Vec<u8>,
}

impl Scratch {
    fn new(n_items: usize) -> Self {
        Self { acc: vec![0.0; n_items], touched: Vec::new(), reached: vec![0; n_items] }
    }
}

/// Item `j`'s top-`k` most similar items by cosine.
///
/// The co-occurrence pass visits every item of every shopper of `j`. When those visits
/// outnumber the items, the items reached are marked without a branch and found by one
/// scan over all items (a popular item's pass is then about twice as fast); otherwise
/// they are listed as first reached. Both find the same dot products, summed in the same
/// order.
fn similar_items(data: &Transformed<'_>, norms: &[f32], k: usize, j: usize, scratch: &mut Scratch) -> Vec<(u32, f32)> {
    let (users, values) = data.by_item.row(j);
    let visits: usize = users.iter().map(|&u| data.by_user.row(u as usize).0.len()).sum();
    let Scratch { acc, touched, reached } = scratch;
    if visits >= acc.len() {
        for (&u, &wj) in users.iter().zip(values) {
            let (items, vals) = data.by_user.row(u as usize);
            for (&i, &wi) in items.iter().zip(vals) {
                if let (Some(a), Some(m)) = (acc.get_mut(i as usize), reached.get_mut(i as usize)) {
                    *a += wj * wi;
                    *m = 1;
                }
            }
        }
        for (i, m) in reached.iter_mut().enumerate() {
            if *m != 0 {
                *m = 0;
                touched.push(i as u32);
            }
        }
    } else {
        for (&u, &wj) in users.iter().zip(values) {
            let (items, vals) = data.by_user.row(u as usize);
            for (&i, &wi) in items.iter().zip(vals) {
                if let Some(a) = acc.get_mut(i as usize) {
                    if *a == 0.0 {
                        touched.push(i);
                    }
                    *a += wj * wi;
                }
            }
        }
    }
    let nj = norms.get(j).copied().unwrap_or(0.0);
    let mut pairs = Vec::with_capacity(touched.len());
    for &i in touched.iter() {
        let dot = acc.get(i as usize).copied().unwrap_or(0.0);
        if let Some(a) = acc.get_mut(i as usize) {
            *a = 0.0;
        }
        let ni = norms.get(i as usize).copied().unwrap_or(0.0);
        if i as usize != j && nj > 0.0 && ni > 0.0 {
            pairs.push((i, dot / (nj * ni)));
        }
    }
    touched.clear();
    top_k_pairs(pairs, k)
}

impl ItemCfScorer {
    /// Computes cosine similarities between item columns and keeps the top-k per item.
    pub fn fit(data: &Interactions, params: &ItemCfParams, progress: &Progress) -> Result<Self, Cancelled> {
        let t = params.transform;
        let n_items = data.n_items;
        let transformed = Transformed::new(data, t);
        let norms = item_norms(&transformed.by_item, n_items);
        progress.start_stage("item CF similarities", n_items as u64);
        let k = params.neighbours.max(1);
        let rows: Vec<Vec<(u32, f32)>> = (0..n_items)
            .into_par_iter()
            .map_init(
                || Scratch::new(n_items),
                |scratch, j| {
                    if j % 256 == 0 {
                        progress.advance(256);
                    }
                    if progress.is_cancelled() {
                        return Vec::new();
                    }
                    similar_items(&transformed, &norms, k, j, scratch)
                },
            )
            .collect();
        progress.check()?;
        // Straight into compressed rows, without a triple per neighbour: at 1 M items that
        // list was gigabytes.
        let mut neighbours = SparseRows::with_capacity(n_items, rows.iter().map(Vec::len).sum());
        for mut row in rows {
            neighbours.push_pairs(&mut row);
        }
        Ok(Self { neighbours, transform: t, k })
    }

    /// The neighbour lists of the items with new events, computed again on the updated
    /// matrix; the other items keep theirs (their similarity to a changed item is stale
    /// until a refit).
    fn folded(&self, data: &Interactions, items: &[u32]) -> Self {
        let n_items = data.n_items;
        let transformed = Transformed::new(data, self.transform);
        let norms = item_norms(&transformed.by_item, n_items);
        let mut fresh: std::collections::HashMap<u32, Vec<(u32, f32)>> = items
            .par_iter()
            .map_init(
                || Scratch::new(n_items),
                |scratch, &j| (j, similar_items(&transformed, &norms, self.k, j as usize, scratch)),
            )
            .collect();
        let mut neighbours = SparseRows { ptr: vec![0], idx: Vec::new(), val: Vec::new() };
        for j in 0..n_items {
            match fresh.get_mut(&(j as u32)) {
                Some(row) => neighbours.push_pairs(row),
                None => {
                    let (idx, sims) = self.neighbours.row(j);
                    neighbours.push_row(idx, sims);
                }
            }
        }
        Self { neighbours, transform: self.transform, k: self.k }
    }

    /// The non-zero part of [`Scorer::score_all`]: the shopper's items' neighbour lists
    /// summed in the same order, so every value is bit-identical to the dense one.
    fn sparse_scores(&self, ctx: &ScoreContext<'_>) -> std::collections::HashMap<u32, f32> {
        let mut out = std::collections::HashMap::new();
        for &(j, r) in &ctx.profile.items {
            let w = self.transform.apply(r);
            let (idx, sims) = self.neighbours.row(j as usize);
            for (&i, &s) in idx.iter().zip(sims) {
                *out.entry(i).or_insert(0.0) += w * s;
            }
        }
        out
    }

    /// Contribution of each history item to `item`'s score, largest first.
    pub fn contributions(&self, ctx: &ScoreContext<'_>, item: u32) -> Vec<(u32, f32)> {
        let mut out = Vec::new();
        for &(j, r) in &ctx.profile.items {
            let (idx, sims) = self.neighbours.row(j as usize);
            if let Ok(pos) = idx.binary_search(&item)
                && let Some(&s) = sims.get(pos)
            {
                out.push((j, self.transform.apply(r) * s));
            }
        }
        top_k_pairs(out, usize::MAX)
    }
}

impl Scorer for ItemCfScorer {
    fn id(&self) -> SignalId {
        SignalId::ITEM_CF
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for &(j, r) in &ctx.profile.items {
            let w = self.transform.apply(r);
            let (idx, sims) = self.neighbours.row(j as usize);
            for (&i, &s) in idx.iter().zip(sims) {
                if let Some(o) = out.get_mut(i as usize) {
                    *o += w * s;
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

    /// Exact: the inverted lists are the neighbour lists of the shopper's items.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(super::IndexTop::from_sparse(self.sparse_scores(ctx), 0.0, query))
    }

    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        let items = &change.delta.items;
        let next = self.folded(change.interactions, items);
        super::LiveUpdate::Updated(
            Arc::new(next),
            format!(
                "neighbours of the {} items with new events recomputed; other items' lists are stale until a refit",
                items.len()
            ),
        )
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        let contributions = self.contributions(ctx, item);
        let top: Vec<u32> = contributions.iter().take(2).map(|&(j, _)| j).collect();
        if top.is_empty() {
            return None;
        }
        let more = contributions.len().saturating_sub(2);
        let tail = if more > 0 { format!(" (+{more} more)") } else { String::new() };
        Some(format!("because {}{tail}", super::actions_on(ctx.profile, catalogue, &top)))
    }
}

impl SignalId {
    /// The `item_cf` signal.
    pub const ITEM_CF: SignalId = SignalId::new("item_cf");
}

/// Registry entry of `item_cf`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::ITEM_CF,
    label: "Item CF",
    color: [0xf2, 0x8e, 0x2b],
    default_weight: 0.20,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |p| format!("{} neighbours, {:?}", p.item_cf.neighbours, p.item_cf.transform),
    needs_vectors: false,
    fit: |input, params, progress| {
        Ok(Fitted::Ready(Arc::new(ItemCfScorer::fit(input.interactions, &params.item_cf, progress)?)))
    },
};
