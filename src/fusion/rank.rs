//! From fused scores to a ranked list: rules (hide, boost, bury), MMR diversity, a
//! per-category cap, then pins. Also leave-one-out rank changes.

use super::candidates::CandidateSet;
use super::config::FusionConfig;
use super::methods::fused_scores;
use super::rules::{Rule, RuleAction};
use crate::data::Catalogue;
use crate::score::SignalId;
use crate::score::semantic::ItemVectors;

/// What a rule did to an item.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEffect {
    /// Rule name.
    pub rule: String,
    /// The rule's action.
    pub action: RuleAction,
    /// Change of the score (0 for pins).
    pub delta: f32,
}

/// Why re-ranking put an item below items of lower score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerank {
    /// MMR placed `places` items of lower score above it (they differ more from the list).
    Diversity {
        /// How many places below its score order it ended.
        places: usize,
    },
    /// The per-category cap: it is the `nth` item of `category`, beyond the `cap`.
    CategoryCap {
        /// Top-level category.
        category: String,
        /// Which item of that category it is, counted in score order (1-based).
        nth: usize,
        /// The cap.
        cap: usize,
    },
}

impl std::fmt::Display for Rerank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rerank::Diversity { places } => {
                let s = if *places == 1 { "" } else { "s" };
                write!(f, "moved down by diversity ({places} place{s} below its score order)")
            }
            Rerank::CategoryCap { category, nth, cap } => {
                write!(f, "category cap: {} {category} item (cap {cap}), moved down", ordinal(*nth))
            }
        }
    }
}

/// "1st", "2nd", "3rd", "4th", "11th", "21st" …
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedItem {
    /// Item index.
    pub item: u32,
    /// Index in the candidate set.
    pub candidate: usize,
    /// Fused score before rules.
    pub fused: f32,
    /// Score after boosts and buries (`fused + Σ rule deltas`).
    pub score: f32,
    /// Rules that touched the item.
    pub rule_effects: Vec<RuleEffect>,
    /// Why MMR or the category cap put it below items of lower score (empty: they did not).
    pub reranked: Vec<Rerank>,
}

/// What ranking needs besides the candidate set and the fusion settings.
#[derive(Clone, Copy)]
pub struct RankContext<'a> {
    /// The catalogue (rule matching, category cap).
    pub catalogue: &'a Catalogue,
    /// Merchandising rules, applied in order.
    pub rules: &'a [Rule],
    /// Item embeddings for MMR (MMR is skipped without them).
    pub vectors: Option<&'a ItemVectors>,
}

/// Ranks every candidate (hidden ones left out). The set must be prepared for `config`.
/// `depth` bounds how many leading positions MMR and the category cap rearrange.
pub fn rank(set: &CandidateSet, config: &FusionConfig, ctx: &RankContext<'_>, depth: usize) -> Vec<RankedItem> {
    let mut fused = Vec::new();
    fused_scores(set, config, &mut fused);
    let active_rules: Vec<&Rule> = ctx.rules.iter().filter(|r| r.enabled).collect();
    let mut items: Vec<RankedItem> = Vec::with_capacity(set.len());
    let mut pinned: Vec<(usize, RankedItem)> = Vec::new();
    'candidates: for (j, (&item, &f)) in set.items.iter().zip(&fused).enumerate() {
        let mut entry =
            RankedItem { item, candidate: j, fused: f, score: f, rule_effects: Vec::new(), reranked: Vec::new() };
        let mut pin_at = None;
        for rule in &active_rules {
            if !rule.matches(ctx.catalogue, item) {
                continue;
            }
            match rule.action {
                RuleAction::Hide => continue 'candidates,
                RuleAction::Pin { position } => {
                    pin_at = Some(position.max(1));
                    entry.rule_effects.push(RuleEffect { rule: rule.name.clone(), action: rule.action, delta: 0.0 });
                }
                RuleAction::Boost { .. } | RuleAction::Bury { .. } => {
                    let before = entry.score;
                    entry.score = rule.adjust(before);
                    entry.rule_effects.push(RuleEffect {
                        rule: rule.name.clone(),
                        action: rule.action,
                        delta: entry.score - before,
                    });
                }
            }
        }
        match pin_at {
            Some(p) => pinned.push((p, entry)),
            None => items.push(entry),
        }
    }
    // Ties: higher popularity, then lower item id — never the order of the file.
    items.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| set.secondary_order(Some(ctx.catalogue), a.candidate, b.candidate))
    });
    if config.collapse_duplicates {
        let mut taken = std::collections::HashSet::new();
        items.retain(|e| taken.insert(ctx.catalogue.duplicate_group(e.item)));
    }
    if config.mmr_lambda < 1.0
        && let Some(vectors) = ctx.vectors
    {
        mmr(&mut items, vectors, config.mmr_lambda.clamp(0.0, 1.0), depth);
    }
    if config.category_cap > 0 {
        category_cap(&mut items, ctx.catalogue, config.category_cap, depth);
    }
    pinned.sort_by_key(|(p, e)| (*p, e.item));
    for (position, entry) in pinned {
        let at = (position - 1).min(items.len());
        items.insert(at, entry);
    }
    items
}

/// Greedy maximal marginal relevance over the leading `depth` items (relevance
/// min-max scaled over that pool): each step picks the item maximising
/// `λ·rel − (1−λ)·max cosine to the items already picked`.
fn mmr(items: &mut Vec<RankedItem>, vectors: &ItemVectors, lambda: f32, depth: usize) {
    let pool_len = items.len().min(depth.max(1) * 3).min(items.len());
    if pool_len < 2 {
        return;
    }
    let mut pool: Vec<RankedItem> = items.drain(..pool_len).collect();
    let order: Vec<u32> = pool.iter().map(|e| e.item).collect();
    let (lo, hi) = pool.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), e| (l.min(e.score), h.max(e.score)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut picked: Vec<RankedItem> = Vec::with_capacity(pool_len);
    let mut max_sim = vec![f32::NEG_INFINITY; pool.len()];
    while !pool.is_empty() && picked.len() < depth {
        let mut best = 0usize;
        let mut best_value = f32::NEG_INFINITY;
        for (p, e) in pool.iter().enumerate() {
            let rel = (e.score - lo) / span;
            let sim = max_sim.get(p).copied().filter(|s| s.is_finite()).unwrap_or(0.0);
            let value = lambda * rel - (1.0 - lambda) * sim;
            if value > best_value {
                best_value = value;
                best = p;
            }
        }
        let chosen = pool.remove(best);
        max_sim.remove(best);
        for (p, e) in pool.iter().enumerate() {
            if let (Some(s), Some(m)) = (vectors.cosine(chosen.item, e.item), max_sim.get_mut(p)) {
                *m = m.max(s);
            }
        }
        picked.push(chosen);
    }
    picked.append(&mut pool);
    // `order` is each picked item's place in score order: ending lower means items of
    // lower score were put above it.
    for (i, e) in picked.iter_mut().enumerate().take(depth) {
        if let Some(k) = order.iter().position(|&item| item == e.item)
            && i > k
        {
            e.reranked.push(Rerank::Diversity { places: i - k });
        }
    }
    picked.append(items);
    *items = picked;
}

/// Keeps at most `cap` items per top-level category in the leading `depth` positions;
/// the surplus moves behind them (items without a category are never capped).
fn category_cap(items: &mut Vec<RankedItem>, catalogue: &Catalogue, cap: usize, depth: usize) {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut head = Vec::with_capacity(depth);
    let mut deferred = Vec::new();
    let mut rest = Vec::new();
    for e in items.drain(..) {
        if head.len() >= depth {
            rest.push(e);
            continue;
        }
        match catalogue.top_category(e.item) {
            Some(c) => {
                let nth = seen.entry(c.to_owned()).or_insert(0);
                *nth += 1;
                let n = counts.entry(c.to_owned()).or_insert(0);
                if *n < cap {
                    *n += 1;
                    head.push(e);
                } else {
                    let mut e = e;
                    e.reranked.push(Rerank::CategoryCap { category: c.to_owned(), nth: *nth, cap });
                    deferred.push(e);
                }
            }
            None => head.push(e),
        }
    }
    head.append(&mut deferred);
    head.append(&mut rest);
    *items = head;
}

/// For each signal with a non-zero weight: how many places each of `shown` moves when
/// that signal is left out (positive = drops). Items that disappear report `None`.
pub fn leave_one_out(
    set: &CandidateSet,
    config: &FusionConfig,
    ctx: &RankContext<'_>,
    shown: &[u32],
    depth: usize,
) -> Vec<(SignalId, Vec<Option<i64>>)> {
    let base = rank(set, config, ctx, depth);
    let position = |list: &[RankedItem], item: u32| list.iter().position(|e| e.item == item);
    let mut out = Vec::new();
    if config.method == super::config::FusionMethod::Learned && set.has_learned() {
        // The ranker's score does not read the weights: leaving one out changes nothing.
        return out;
    }
    let weights = super::methods::weights_of(set, config);
    for (s, &signal) in set.signals.iter().enumerate() {
        if weights.get(s).is_none_or(|&w| w == 0.0) {
            continue;
        }
        let mut without = config.clone();
        without.set_weight(signal, 0.0);
        let list = rank(set, &without, ctx, depth);
        let changes = shown
            .iter()
            .map(|&item| match (position(&base, item), position(&list, item)) {
                (Some(a), Some(b)) => Some(b as i64 - a as i64),
                _ => None,
            })
            .collect();
        out.push((signal, changes));
    }
    out
}
