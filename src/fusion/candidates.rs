//! Candidate sets: the union of each signal's top-N for one shopper, with every
//! signal's raw score, rank and normalised score cached so that moving a weight only
//! re-fuses.
//!
//! Two ways to find each signal's top-N (`FusionConfig::candidate_source`):
//! - **exhaustive** ([`CandidateSet::build`]): every signal scores every item; the cost
//!   grows with the catalogue (0.14 s per shopper at 1 M items, BENCHMARKS.md "Scale");
//! - **index** ([`CandidateSet::build_indexed`]): each signal's top-N comes from an index
//!   ([`Scorer::index_top`]) — inverted lists for item-CF, user-CF, sequential and
//!   external scores, the sorted head for popularity and freshness, price-sorted and
//!   per-category lists for price and category (all exact), an IVF index for `als` and
//!   `semantic` (approximate; exact when every list is probed) — and then every signal
//!   scores only the union ([`Scorer::score_items`]). A signal without an index scores
//!   every item as before.
//!
//! Raw scores are the same numbers either way, so where the index path finds the same
//! candidates the set, the fusion and the ranking are identical. `auto` (the default)
//! takes the index path from [`INDEX_MIN_ITEMS`] catalogue items up.

use std::cmp::Ordering;

use std::collections::HashMap;

use super::config::{FusionConfig, Normalisation};
use super::normalise::{competition_ranks, normalise};
use crate::data::Catalogue;
use crate::score::topk::top_k_indices;
use crate::score::{IndexQuery, IndexTop, ScoreContext, Scorer, SignalId, UserProfile};

pub use super::config::INDEX_MIN_ITEMS;

/// Builds each scorer's index now (see [`Scorer::build_index`]); call once before building
/// many shoppers' sets in parallel.
pub fn build_indexes(scorers: &[&dyn Scorer]) {
    for s in scorers {
        s.build_index();
    }
}

/// One signal's scores on the index path.
enum Found {
    /// Scored every item (the signal has no index).
    Dense(Vec<f32>),
    /// Its top from an index.
    Index(IndexTop),
    /// Not a source of candidates: scored over the candidates only.
    Scored,
}

/// A signal whose scores spread (max − min) by at most this fraction of their largest
/// magnitude cannot separate the items: it is left out ([`CandidateSet::degenerate`]).
pub const DEGENERATE_RELATIVE_SPREAD: f32 = 1e-6;

/// Whether `scores` are constant or nearly so (all equal up to
/// [`DEGENERATE_RELATIVE_SPREAD`]); fewer than two scores separate nothing to begin with
/// and are not called degenerate.
pub fn is_degenerate(scores: &[f32]) -> bool {
    if scores.len() < 2 {
        return false;
    }
    let (lo, hi) = scores.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let largest = lo.abs().max(hi.abs());
    hi - lo <= DEGENERATE_RELATIVE_SPREAD * largest
}

/// The items a shopper's list leaves out, sorted: with `exclude_seen`, every item the
/// shopper interacted with in training — any event type, any rating, any weight (a 2★
/// rating weighing 0 and a returned item count as seen); none when repeats are allowed.
/// The one rule for recommendations, search, evaluation and the GUI.
pub fn excluded_items(exclude_seen: bool, profile: &UserProfile) -> Vec<u32> {
    if exclude_seen { profile.interacted_items() } else { Vec::new() }
}

/// Sets NaN and infinite scores to 0; returns how many there were.
fn sanitise(scores: &mut [f32]) -> usize {
    let mut bad = 0usize;
    for v in scores.iter_mut() {
        if !v.is_finite() {
            *v = 0.0;
            bad += 1;
        }
    }
    bad
}

/// The candidates of one shopper (or query) and their per-signal scores.
#[derive(Debug, Clone, Default)]
pub struct CandidateSet {
    /// Candidate item indices, ascending.
    pub items: Vec<u32>,
    /// The signals scored, in order (layout of the arrays below).
    pub signals: Vec<SignalId>,
    /// `raw[s·n + j]`: signal `s`'s raw score of candidate `j`.
    pub raw: Vec<f32>,
    /// Competition rank of candidate `j` under signal `s` (1 = best), same layout.
    pub ranks: Vec<u32>,
    /// Bit `s` set when candidate `j` is in signal `s`'s top-N.
    pub in_top: Vec<u32>,
    /// Signals that produced NaN or infinite scores, and how many (they were set to 0).
    pub non_finite: Vec<(SignalId, usize)>,
    /// Signals that cannot separate the candidates (constant or near-constant scores over
    /// them, [`is_degenerate`]): left out of the fusion of this set whatever their weight.
    pub degenerate: Vec<SignalId>,
    /// Position of each candidate in the tie order (0 = first): the `popularity` signal's
    /// score, highest first, then the item id ([`CandidateSet::secondary_order`]).
    pub tie_rank: Vec<u32>,
    /// Duplicate group of each candidate (see [`Catalogue::duplicate_group`]); empty when
    /// the catalogue was not attached ([`CandidateSet::attach_catalogue`]).
    pub groups: Vec<u32>,
    /// The learned ranker's score of each candidate (`crate::rank`); empty when no ranker
    /// scored the set, and then the `learned` method falls back to the weighted sum.
    pub learned: Vec<f32>,
    normalised: Vec<f32>,
    normalised_as: Vec<Option<Normalisation>>,
}

/// Shoppers scored together by [`CandidateSet::generate_block`] where a caller scores many:
/// sixteen 384-dimension taste vectors (24 KiB) stay in the first-level cache while each
/// item vector is read once for all of them.
pub const SCORE_BLOCK: usize = 16;

impl CandidateSet {
    /// Scores every item with every scorer, takes the top-N of each signal in `sources`
    /// (all signals when `None`), skipping items the shopper already has when
    /// `config.exclude_seen` ([`excluded_items`]), and keeps the union plus any `forced` items (pinned by a
    /// rule).
    pub fn build(
        scorers: &[&dyn Scorer],
        ctx: &ScoreContext<'_>,
        n_items: usize,
        config: &FusionConfig,
        forced: &[u32],
        sources: Option<&[SignalId]>,
    ) -> Self {
        Self::build_given(scorers, ctx, n_items, config, forced, sources, &[])
    }

    /// [`Self::build`] where `given[s]`, when present, already holds scorer `s`'s
    /// `score_all` row for this shopper (from [`Scorer::score_all_block`]).
    fn build_given(
        scorers: &[&dyn Scorer],
        ctx: &ScoreContext<'_>,
        n_items: usize,
        config: &FusionConfig,
        forced: &[u32],
        sources: Option<&[SignalId]>,
        given: &[Option<&[f32]>],
    ) -> Self {
        let mut dense: Vec<Vec<f32>> = Vec::with_capacity(scorers.len());
        let mut non_finite = Vec::new();
        let mut in_any = vec![0u32; n_items];
        let excluded = excluded_items(config.exclude_seen, ctx.profile);
        let seen = |i: usize| excluded.binary_search(&(i as u32)).is_ok();
        for (s, scorer) in scorers.iter().enumerate() {
            let mut scores = match given.get(s).copied().flatten() {
                Some(row) if row.len() == n_items => row.to_vec(),
                _ => {
                    let mut scores = vec![0.0f32; n_items];
                    scorer.score_all(ctx, &mut scores);
                    scores
                }
            };
            let mut bad = 0usize;
            for v in scores.iter_mut() {
                if !v.is_finite() {
                    *v = 0.0;
                    bad += 1;
                }
            }
            if bad > 0 {
                non_finite.push((scorer.id(), bad));
            }
            let is_source = sources.is_none_or(|list| list.contains(&scorer.id()));
            // A signal constant over the whole catalogue would bring in candidates in file order.
            let n = if is_source && !is_degenerate(&scores) { config.candidates_per_signal } else { 0 };
            let top = top_k_indices(&scores, n, |i| seen(i) || scores.get(i).is_none_or(|&v| v <= 0.0));
            for i in top {
                if let Some(b) = in_any.get_mut(i as usize) {
                    *b |= 1 << s.min(31);
                }
            }
            dense.push(scores);
        }
        let mut items: Vec<u32> =
            (0..n_items as u32).filter(|&i| in_any.get(i as usize).is_some_and(|&b| b != 0)).collect();
        for &f in forced {
            if (f as usize) < n_items && !items.contains(&f) {
                items.push(f);
            }
        }
        items.sort_unstable();
        let n = items.len();
        let mut raw = Vec::with_capacity(n * scorers.len());
        for scores in &dense {
            raw.extend(items.iter().map(|&i| scores.get(i as usize).copied().unwrap_or(0.0)));
        }
        let in_top = items.iter().map(|&i| in_any.get(i as usize).copied().unwrap_or(0)).collect();
        let mut set = Self::from_parts(items, scorers.iter().map(|s| s.id()).collect(), raw, in_top);
        set.non_finite = non_finite;
        set
    }

    /// The candidates as `config.candidate_source` says: [`Self::build_indexed`] (with
    /// `config.index_probes`) for a large catalogue or when forced, else [`Self::build`].
    pub fn generate(
        scorers: &[&dyn Scorer],
        ctx: &ScoreContext<'_>,
        n_items: usize,
        config: &FusionConfig,
        forced: &[u32],
        sources: Option<&[SignalId]>,
    ) -> Self {
        if config.candidate_source.uses_index(n_items) {
            Self::build_indexed(scorers, ctx, n_items, config, forced, sources, config.index_probes)
        } else {
            Self::build(scorers, ctx, n_items, config, forced, sources)
        }
    }

    /// [`Self::generate`] for several shoppers (`forced[k]` for `ctxs[k]`; missing = none).
    /// On the exhaustive path the signals that [score in blocks](Scorer::scores_in_blocks)
    /// score the whole block in one pass: the sets equal one `generate` per shopper.
    pub fn generate_block(
        scorers: &[&dyn Scorer],
        ctxs: &[ScoreContext<'_>],
        n_items: usize,
        config: &FusionConfig,
        forced: &[Vec<u32>],
        sources: Option<&[SignalId]>,
    ) -> Vec<Self> {
        let forced_of = |k: usize| forced.get(k).map_or(&[][..], Vec::as_slice);
        if config.candidate_source.uses_index(n_items) || ctxs.len() < 2 {
            return ctxs
                .iter()
                .enumerate()
                .map(|(k, ctx)| Self::generate(scorers, ctx, n_items, config, forced_of(k), sources))
                .collect();
        }
        let blocks: Vec<Option<Vec<f32>>> = scorers
            .iter()
            .map(|scorer| {
                scorer.scores_in_blocks().then(|| {
                    let mut out = vec![0.0f32; ctxs.len() * n_items];
                    scorer.score_all_block(ctxs, &mut out);
                    out
                })
            })
            .collect();
        ctxs.iter()
            .enumerate()
            .map(|(k, ctx)| {
                let given: Vec<Option<&[f32]>> =
                    blocks.iter().map(|b| b.as_ref().and_then(|b| b.get(k * n_items..(k + 1) * n_items))).collect();
                Self::build_given(scorers, ctx, n_items, config, forced_of(k), sources, &given)
            })
            .collect()
    }

    /// The same set as [`Self::build`], each signal's top-N taken from its index
    /// ([`Scorer::index_top`]; `probes` lists for the approximate ones, `usize::MAX` =
    /// all, 0 = default) and every signal scoring only the union of the tops. Signals
    /// without an index score every item. Non-finite counts cover the candidates only for
    /// indexed signals.
    pub fn build_indexed(
        scorers: &[&dyn Scorer],
        ctx: &ScoreContext<'_>,
        n_items: usize,
        config: &FusionConfig,
        forced: &[u32],
        sources: Option<&[SignalId]>,
        probes: usize,
    ) -> Self {
        let excluded = excluded_items(config.exclude_seen, ctx.profile);
        let skip = |i: u32| excluded.binary_search(&i).is_ok();
        let query = IndexQuery { n: config.candidates_per_signal, skip: &skip, n_items, probes };
        let mut non_finite = Vec::new();
        let mut in_any: HashMap<u32, u32> = HashMap::new();
        let mut found = Vec::with_capacity(scorers.len());
        for (s, scorer) in scorers.iter().enumerate() {
            let is_source = sources.is_none_or(|list| list.contains(&scorer.id()));
            let (entry, top) = if !is_source {
                (Found::Scored, Vec::new())
            } else if let Some(t) = scorer.index_top(ctx, &query) {
                let degenerate = n_items >= 2 && is_degenerate(&[t.range.0, t.range.1]);
                let top = if degenerate { Vec::new() } else { t.items.clone() };
                (Found::Index(t), top)
            } else {
                let mut scores = vec![0.0f32; n_items];
                scorer.score_all(ctx, &mut scores);
                let bad = sanitise(&mut scores);
                if bad > 0 {
                    non_finite.push((scorer.id(), bad));
                }
                let n = if is_degenerate(&scores) { 0 } else { config.candidates_per_signal };
                let top = top_k_indices(&scores, n, |i| skip(i as u32) || scores.get(i).is_none_or(|&v| v <= 0.0));
                (Found::Dense(scores), top)
            };
            for i in top {
                *in_any.entry(i).or_insert(0) |= 1 << s.min(31);
            }
            found.push(entry);
        }
        let mut items: Vec<u32> = in_any.keys().copied().collect();
        for &f in forced {
            if (f as usize) < n_items && !in_any.contains_key(&f) && !items.contains(&f) {
                items.push(f);
            }
        }
        items.sort_unstable();
        let n = items.len();
        let mut raw = vec![0.0f32; n * scorers.len()];
        for (s, (scorer, entry)) in scorers.iter().zip(&found).enumerate() {
            let Some(out) = raw.get_mut(s * n..(s + 1) * n) else { continue };
            match entry {
                Found::Dense(scores) => {
                    out.iter_mut().zip(&items).for_each(|(o, &i)| *o = scores.get(i as usize).copied().unwrap_or(0.0));
                    continue;
                }
                Found::Index(t) if t.lookup.is_some() => {
                    out.iter_mut().zip(&items).for_each(|(o, &i)| *o = t.lookup_score(i).unwrap_or(0.0));
                }
                Found::Index(_) | Found::Scored => scorer.score_items(ctx, &items, out),
            }
            let bad = sanitise(out);
            if bad > 0 {
                non_finite.push((scorer.id(), bad));
            }
        }
        let in_top = items.iter().map(|i| in_any.get(i).copied().unwrap_or(0)).collect();
        let mut set = Self::from_parts(items, scorers.iter().map(|s| s.id()).collect(), raw, in_top);
        set.non_finite = non_finite;
        set
    }

    /// Assembles a set from raw scores (signal-major) and top-N membership bits.
    pub fn from_parts(items: Vec<u32>, signals: Vec<SignalId>, raw: Vec<f32>, in_top: Vec<u32>) -> Self {
        let n = items.len();
        let mut ranks = Vec::with_capacity(raw.len());
        for s in 0..signals.len() {
            let slice = raw.get(s * n..(s + 1) * n).unwrap_or(&[]);
            ranks.extend(competition_ranks(slice));
        }
        let degenerate = signals
            .iter()
            .enumerate()
            .filter(|&(s, _)| is_degenerate(raw.get(s * n..(s + 1) * n).unwrap_or(&[])))
            .map(|(_, &id)| id)
            .collect();
        let normalised = vec![0.0; raw.len()];
        let normalised_as = vec![None; signals.len()];
        let mut set = Self {
            items,
            signals,
            raw,
            ranks,
            in_top,
            non_finite: Vec::new(),
            degenerate,
            tie_rank: Vec::new(),
            groups: Vec::new(),
            learned: Vec::new(),
            normalised,
            normalised_as,
        };
        set.tie_rank = set.tie_ranks(None);
        set
    }

    /// Orders ties by item id and records duplicate groups, from the catalogue the items
    /// belong to (until then ties fall back to the item index after popularity).
    pub fn attach_catalogue(&mut self, catalogue: &Catalogue) {
        self.tie_rank = self.tie_ranks(Some(catalogue));
        self.groups = self.items.iter().map(|&i| catalogue.duplicate_group(i)).collect();
    }

    /// The order of candidates `a` and `b` when their fused scores tie: higher
    /// `popularity` score first, then the lower item id (as text; the item index without
    /// a catalogue). Never the order of the file.
    pub fn secondary_order(&self, catalogue: Option<&Catalogue>, a: usize, b: usize) -> Ordering {
        let popularity = self.signal_index(SignalId::POPULARITY).map(|s| self.raw_of(s));
        let pop = |j: usize| popularity.and_then(|p| p.get(j)).copied().unwrap_or(0.0);
        let item = |j: usize| self.items.get(j).copied().unwrap_or(u32::MAX);
        pop(b).total_cmp(&pop(a)).then_with(|| match catalogue {
            Some(c) => c.ids.name(item(a)).cmp(c.ids.name(item(b))).then(item(a).cmp(&item(b))),
            None => item(a).cmp(&item(b)),
        })
    }

    fn tie_ranks(&self, catalogue: Option<&Catalogue>) -> Vec<u32> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| self.secondary_order(catalogue, a, b));
        let mut ranks = vec![0u32; self.len()];
        for (r, &j) in order.iter().enumerate() {
            if let Some(slot) = ranks.get_mut(j) {
                *slot = r as u32;
            }
        }
        ranks
    }

    /// Whether signal index `s` is left out as degenerate.
    pub fn is_degenerate_signal(&self, s: usize) -> bool {
        self.signals.get(s).is_some_and(|id| self.degenerate.contains(id))
    }

    /// The notice for the shopper: which weighted signals were left out because they
    /// cannot separate the candidates.
    pub fn degenerate_notice(&self, config: &FusionConfig) -> Option<String> {
        let names: Vec<&str> =
            self.degenerate.iter().filter(|&&s| config.weight(s) != 0.0).map(|s| s.label()).collect();
        (!names.is_empty()).then(|| {
            format!(
                "left out of the fusion: {} (the same score for every candidate, so it cannot order them)",
                names.join(", ")
            )
        })
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no candidates.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Position of `signal` in the arrays.
    pub fn signal_index(&self, signal: SignalId) -> Option<usize> {
        self.signals.iter().position(|&s| s == signal)
    }

    /// Raw scores of signal index `s`.
    pub fn raw_of(&self, s: usize) -> &[f32] {
        let n = self.len();
        self.raw.get(s * n..(s + 1) * n).unwrap_or(&[])
    }

    /// Ranks of signal index `s`.
    pub fn ranks_of(&self, s: usize) -> &[u32] {
        let n = self.len();
        self.ranks.get(s * n..(s + 1) * n).unwrap_or(&[])
    }

    /// Normalised scores of signal index `s` (call [`Self::prepare`] first).
    pub fn normalised_of(&self, s: usize) -> &[f32] {
        let n = self.len();
        self.normalised.get(s * n..(s + 1) * n).unwrap_or(&[])
    }

    /// Position of item `item` among the candidates.
    pub fn position(&self, item: u32) -> Option<usize> {
        self.items.binary_search(&item).ok()
    }

    /// Recomputes normalised scores for signals whose normalisation changed. Cheap when
    /// nothing changed: weight moves never need it.
    pub fn prepare(&mut self, config: &FusionConfig) {
        let n = self.len();
        for s in 0..self.signals.len() {
            let Some(&signal) = self.signals.get(s) else { continue };
            let kind = config.normalisation(signal);
            if self.normalised_as.get(s).copied().flatten() == Some(kind) {
                continue;
            }
            let (Some(raw), Some(ranks)) = (self.raw.get(s * n..(s + 1) * n), self.ranks.get(s * n..(s + 1) * n))
            else {
                continue;
            };
            if let Some(out) = self.normalised.get_mut(s * n..(s + 1) * n) {
                normalise(raw, ranks, kind, out);
            }
            if let Some(slot) = self.normalised_as.get_mut(s) {
                *slot = Some(kind);
            }
        }
    }

    /// Whether the learned ranker's scores are attached (one per candidate).
    pub fn has_learned(&self) -> bool {
        !self.items.is_empty() && self.learned.len() == self.items.len()
    }

    /// Whether [`Self::prepare`] has run for `config`'s normalisations.
    pub fn is_prepared_for(&self, config: &FusionConfig) -> bool {
        self.signals.iter().zip(&self.normalised_as).all(|(&s, &k)| k == Some(config.normalisation(s)))
    }
}
