//! Signals (scorers): each is fitted once on training interactions, then scores every
//! item for a shopper (or a query) cheaply and explains itself with evidence.
//!
//! One file per signal; all share the [`Scorer`] trait. Nothing here knows about the GUI.

pub mod als;
mod als_kernels;
pub mod bm25;
pub mod category;
pub mod external;
pub mod freshness;
pub mod interactions;
pub mod item_cf;
pub mod ivf;
pub mod params;
pub mod popularity;
pub mod price;
pub mod registry;
pub mod semantic;
pub mod sequential;
pub mod signal;
pub mod topk;
pub mod transformer;
pub mod user_cf;

pub use interactions::{EventKind, HistoryEvent, Interactions, LiveDelta, SparseRows, UserProfile, ValueTransform};
pub use params::SignalParams;
pub use registry::{FitInput, Fitted, SignalModels, SignalSpec, fit_signals};
pub use signal::SignalId;

/// Every signal, in display order. Adding a signal: its file, a `pub mod` line above, and
/// one line here (see [`registry`]).
pub static SIGNALS: &[&SignalSpec] = &[
    &semantic::SPEC,
    &item_cf::SPEC,
    &user_cf::SPEC,
    &als::SPEC,
    &popularity::SPEC,
    &freshness::SPEC,
    &price::SPEC,
    &category::SPEC,
    &sequential::SPEC,
    &bm25::SPEC,
    &transformer::SPEC,
];

use crate::data::Catalogue;

/// A search query: its text, tokens and (when a model is loaded) its embedding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The query as typed.
    pub text: String,
    /// The query's sentence embedding, when the semantic model is available.
    pub embedding: Option<Vec<f32>>,
}

/// Who (or what) is being scored.
#[derive(Debug, Clone, Copy)]
pub struct ScoreContext<'a> {
    /// The shopper (cold when unknown).
    pub profile: &'a UserProfile,
    /// The search query in search mode.
    pub query: Option<&'a Query>,
}

/// Live events just folded into the training interactions (see [`Scorer::live_update`]).
#[derive(Clone, Copy)]
pub struct LiveChange<'a> {
    /// The interactions with the events folded in.
    pub interactions: &'a Interactions,
    /// What changed.
    pub delta: &'a LiveDelta,
    /// The catalogue (with any new items appended).
    pub catalogue: &'a Catalogue,
    /// Catalogue size before the batch: items from this index on are new.
    pub items_before: usize,
    /// Every item's text (the embedding template applied; new items' too).
    pub texts: &'a [String],
}

impl LiveChange<'_> {
    /// Whether the batch appended items to the catalogue (signals fitted on the catalogue
    /// alone are then fitted again: that is cheap and exact).
    pub fn catalogue_grew(&self) -> bool {
        self.catalogue.len() > self.items_before
    }
}

/// How a signal took in live events.
pub enum LiveUpdate {
    /// The signal reads the shopper's history when it scores: the updated history is all
    /// it needs (nothing fitted depends on the events).
    FromProfile,
    /// A new scorer with the events folded in, and what was done (for the user).
    Updated(std::sync::Arc<dyn Scorer>, String),
    /// Not updated: the signal is stale until a refit (why).
    Stale(String),
}

/// A fitted signal.
pub trait Scorer: Send + Sync {
    /// Which signal this is.
    fn id(&self) -> SignalId;

    /// Writes a score for every catalogue item into `out` (length = catalogue size).
    /// Items the signal has no opinion about get 0. Scores are finite.
    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]);

    /// [`Self::score_all`] for several shoppers at once: `out` holds one row of
    /// `out.len() / ctxs.len()` items per context, in order, with the values `score_all`
    /// gives. The default scores them one by one; signals whose cost is streaming a large
    /// matrix per shopper override it (and [`Self::scores_in_blocks`]) to stream it once
    /// per block.
    fn score_all_block(&self, ctxs: &[ScoreContext<'_>], out: &mut [f32]) {
        let n = out.len() / ctxs.len().max(1);
        if n == 0 {
            return;
        }
        for (ctx, row) in ctxs.iter().zip(out.chunks_exact_mut(n)) {
            self.score_all(ctx, row);
        }
    }

    /// Whether [`Self::score_all_block`] is faster than one `score_all` per shopper.
    fn scores_in_blocks(&self) -> bool {
        false
    }

    /// The scores of `items` only, into `out` (same length): the values [`Self::score_all`]
    /// gives them. The default scores every item and picks; signals with an index or a
    /// per-item formula override it (the index path scores only the candidates).
    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let n = items.iter().map(|&i| i as usize + 1).max().unwrap_or(0);
        let mut dense = vec![0.0f32; n];
        self.score_all(ctx, &mut dense);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = dense.get(i as usize).copied().unwrap_or(0.0);
        }
    }

    /// This signal's top items from an index instead of scoring every item, where it has
    /// one (`None`: the caller scores every item). See [`IndexQuery`] and [`IndexTop`].
    fn index_top(&self, _ctx: &ScoreContext<'_>, _query: &IndexQuery<'_>) -> Option<IndexTop> {
        None
    }

    /// Builds what [`Self::index_top`] needs now (it is otherwise built on first use):
    /// called once before scoring many shoppers in parallel, so the build itself can use
    /// every core.
    fn build_index(&self) {}

    /// A short sentence explaining why `item` scores high for this shopper, if the
    /// signal can say.
    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String>;

    /// [`Self::evidence`] for several items at once (the explained top of a list); a
    /// signal overrides it when the items share costly work.
    fn evidence_many(&self, ctx: &ScoreContext<'_>, items: &[u32], catalogue: &Catalogue) -> Vec<Option<String>> {
        items.iter().map(|&item| self.evidence(ctx, item, catalogue)).collect()
    }

    /// A copy that also scores the items past the ones it was trained on, from their item
    /// vectors in `vectors` (items added to the catalogue since), where the signal can;
    /// `None` when it has nothing to add (the default).
    fn with_new_item_vectors(&self, _vectors: &crate::embed::ItemVectors) -> Option<std::sync::Arc<dyn Scorer>> {
        None
    }

    /// Takes in live events without a refit, where that is cheap. The default says the
    /// signal is stale until it is fitted again.
    fn live_update(&self, _change: &LiveChange<'_>) -> LiveUpdate {
        LiveUpdate::Stale("no incremental update: stale until a refit".to_owned())
    }
}

/// What [`Scorer::index_top`] is asked for.
pub struct IndexQuery<'a> {
    /// How many items (the candidates per signal).
    pub n: usize,
    /// Items that must not be returned (those the shopper already has).
    pub skip: &'a (dyn Fn(u32) -> bool + Sync),
    /// Catalogue size.
    pub n_items: usize,
    /// Lists an approximate index scans ([`ivf::IvfIndex::probe`]); `usize::MAX` scans every
    /// item (exact), 0 takes the index's default.
    pub probes: usize,
}

/// One signal's top items from an index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexTop {
    /// At most `n` items, best first (score descending, ties → lower index), each with a
    /// positive finite score and not skipped: the exhaustive top-`n` when the index is exact.
    pub items: Vec<u32>,
    /// The lowest and highest score over the catalogue (exact indexes), or over the items
    /// scanned (approximate ones): whether the signal can separate items at all.
    pub range: (f32, f32),
    /// Items whose score was computed.
    pub scanned: usize,
    /// Sparse signals: every listed item's score, and the score of the items not listed;
    /// the candidates' scores are read from it instead of [`Scorer::score_items`].
    pub lookup: Option<(std::collections::HashMap<u32, f32>, f32)>,
}

impl IndexTop {
    /// The exact top-`n` of a sparse score vector: `scores` holds every item with a
    /// (possibly) non-zero score; every other item scores `rest`, which is at most 0
    /// (so none of them is a candidate).
    pub fn from_sparse(scores: std::collections::HashMap<u32, f32>, rest: f32, query: &IndexQuery<'_>) -> Self {
        let rest = rest.min(0.0);
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        let mut kept = Vec::new();
        for (&i, &v) in &scores {
            let v = if v.is_finite() { v } else { 0.0 };
            lo = lo.min(v);
            hi = hi.max(v);
            if v > 0.0 && !(query.skip)(i) {
                kept.push((i, v));
            }
        }
        if scores.len() < query.n_items {
            lo = lo.min(rest);
            hi = hi.max(rest);
        }
        if scores.is_empty() && query.n_items == 0 {
            (lo, hi) = (rest, rest);
        }
        let items = topk::top_k_pairs(kept, query.n).into_iter().map(|(i, _)| i).collect();
        Self { items, range: (lo, hi), scanned: scores.len(), lookup: Some((scores, rest)) }
    }

    /// The score of `item` from [`Self::lookup`].
    pub fn lookup_score(&self, item: u32) -> Option<f32> {
        self.lookup.as_ref().map(|(m, rest)| m.get(&item).copied().unwrap_or(*rest))
    }
}

/// Formats a list of item titles as "X", "X and Y" or "X, Y and Z".
pub fn title_list(catalogue: &Catalogue, items: &[u32]) -> String {
    let titles: Vec<String> = items.iter().map(|&i| format!("“{}”", short_title(catalogue.title(i)))).collect();
    match titles.as_slice() {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {}", rest.join(", "), last),
    }
}

/// A title cut to 48 characters for evidence sentences.
pub fn short_title(t: &str) -> String {
    crate::data::report::shorten(t, 48)
}

/// What the shopper did with `items`, grouped by action: "you bought “A” and “B”",
/// "you rated “C” 5★", "you viewed “D”" (joined with "; "). Each item is named by its
/// strongest event ([`UserProfile::strongest_event`]); items without an event count as
/// bought only when the profile has no events at all (hand-built profiles).
pub fn actions_on(profile: &UserProfile, catalogue: &Catalogue, items: &[u32]) -> String {
    let mut groups: Vec<(EventKind, Vec<String>)> = Vec::new();
    for &item in items {
        let event = profile.strongest_event(item);
        let kind = event.map_or(EventKind::Other, |e| e.kind);
        let kind = if event.is_none() && profile.events.is_empty() { EventKind::Purchase } else { kind };
        let title = format!("“{}”", short_title(catalogue.title(item)));
        let named = match event.and_then(|e| e.rating) {
            Some(r) => format!("{title} {}★", format_rating(r)),
            None => title,
        };
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, names)) => names.push(named),
            None => groups.push((kind, vec![named])),
        }
    }
    groups.sort_by_key(|(k, _)| *k);
    let phrases: Vec<String> = groups
        .into_iter()
        .map(|(kind, names)| {
            let list = match names.as_slice() {
                [rest @ .., last] if !rest.is_empty() => format!("{} and {}", rest.join(", "), last),
                _ => names.concat(),
            };
            format!("you {} {list}", kind.verb())
        })
        .collect();
    phrases.join("; ")
}

/// A rating as shown in evidence: "5", "4.5".
fn format_rating(r: f32) -> String {
    if (r - r.round()).abs() < 1e-6 { format!("{:.0}", r) } else { format!("{r:.1}") }
}
