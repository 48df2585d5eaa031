//! The engine: a loaded dataset, its training interactions, the fitted signals and the
//! item vectors, plus the operations both the GUI and the CLI use (recommend, search,
//! explain).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::data::{Catalogue, Dataset, ShopperSegments};
use crate::embed::ItemVectors;
use crate::fusion::{
    CandidateSet, FusionConfig, ListFor, RankContext, RankedItem, Rule, RuleAction, RuleScope, RuleTarget,
    any_segment_scope, contributions, leave_one_out, rank, rules_for,
};
use crate::rank::{FeatureInput, Ranker, RankerError, data_fingerprint};
use crate::score::external::{ExternalScorer, LoadedSignals};
use crate::score::registry::search_sources;
use crate::score::{
    FitInput, Interactions, Query, ScoreContext, Scorer, SignalId, SignalModels, SignalParams, UserProfile,
};

/// Who or what to rank for.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A shopper by external id (unknown ids get cold-start recommendations).
    Shopper(String),
    /// A search query, optionally personalised for a shopper.
    Search { query: Query, shopper: Option<String> },
}

impl Target {
    /// What the list is for, as rule scopes see it.
    pub fn list_for(&self) -> ListFor<'_> {
        match self {
            Target::Shopper(id) => ListFor::Shopper(id),
            Target::Search { query, shopper } => ListFor::Search { query: &query.text, shopper: shopper.as_deref() },
        }
    }

    /// The shopper the list is for, if any.
    pub fn shopper(&self) -> Option<&str> {
        match self {
            Target::Shopper(id) => Some(id),
            Target::Search { shopper, .. } => shopper.as_deref(),
        }
    }
}

/// The state for one shopper or query: profile and candidate scores, cached so that
/// weight and rule changes only re-rank.
#[derive(Clone)]
pub struct TargetState {
    /// What this is for.
    pub target: Target,
    /// The shopper's profile (cold when unknown).
    pub profile: UserProfile,
    /// Whether the shopper id was found in the data.
    pub known: bool,
    /// Candidates with every signal's scores.
    pub candidates: CandidateSet,
    /// Evidence sentences per (item, signal), filled lazily.
    evidence: BTreeMap<(u32, SignalId), Option<String>>,
    /// Things the user should be told ("unknown shopper: cold start").
    pub notices: Vec<String>,
}

/// A target before scoring ([`Engine::prepare_target`]'s first half).
struct StartedTarget {
    target: Target,
    profile: UserProfile,
    known: bool,
    query: Option<Query>,
    forced: Vec<u32>,
    notices: Vec<String>,
}

/// One explained entry of a ranked list.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedItem {
    /// 1-based position.
    pub position: usize,
    /// The ranked entry (item, fused and final score, rule effects).
    pub ranked: RankedItem,
    /// Contribution per signal; with the rule deltas they sum to `ranked.score`.
    pub contributions: Vec<(SignalId, f32)>,
    /// Raw and normalised score per signal.
    pub signal_scores: Vec<(SignalId, f32, f32)>,
    /// Evidence sentences (signals with non-zero contribution, strongest first; rules).
    pub evidence: Vec<String>,
    /// Leave-one-out: places the item moves without each signal (positive = drops).
    pub rank_change_without: Vec<(SignalId, Option<i64>)>,
    /// Under the learned ranker: the Shapley values of its non-signal players
    /// (`embedding`, `cheap_features`) and the `baseline` score of the shopper's mean
    /// candidate; with `contributions` they add up to the score. Empty otherwise.
    pub feature_contributions: Vec<(&'static str, f32)>,
}

/// The fitted engine.
#[derive(Clone)]
pub struct Engine {
    /// The loaded data.
    pub dataset: Arc<Dataset>,
    /// Interactions the signals were fitted on.
    pub interactions: Arc<Interactions>,
    /// The fitted signals.
    pub models: SignalModels,
    /// Item texts (the embedding template applied to the catalogue).
    pub item_texts: Arc<Vec<String>>,
    /// Item embeddings, when computed.
    pub vectors: Option<Arc<ItemVectors>>,
    /// Score files imported as external signals (their scorers are in `models`).
    pub external: Vec<LoadedSignals>,
    /// The learned ranker, when one is installed ([`Self::install_ranker`]).
    pub ranker: Option<Arc<Ranker>>,
    /// Every shopper's segments, read from `dataset` on first use ([`Self::segments`]).
    pub segments: OnceLock<Arc<ShopperSegments>>,
}

impl Engine {
    /// Every shopper's segment per dimension (users-table and event columns), read from the
    /// dataset once, on first use.
    pub fn segments(&self) -> &ShopperSegments {
        self.segments.get_or_init(|| Arc::new(ShopperSegments::build(&self.dataset)))
    }

    /// The rules whose scope covers `target`'s list (segment scopes through the shopper's
    /// segments, read only when some rule has one).
    pub fn rules_in_scope(&self, target: &Target, rules: &[Rule]) -> Vec<Rule> {
        let user = target.shopper().and_then(|id| self.dataset.behaviour.users.get(id));
        let segments = match user {
            Some(u) if any_segment_scope(rules) => self.segments().of(u),
            _ => Vec::new(),
        };
        rules_for(rules, target.list_for(), &segments)
    }

    /// Why `rule` can change no list of the loaded data (an item, category or brand the
    /// catalogue lacks, a segment no shopper is in), or `None` when it can.
    pub fn rule_inactive(&self, rule: &Rule) -> Option<String> {
        if let Some(why) = rule.inactive_in(self.catalogue()) {
            return Some(why);
        }
        let RuleScope::Segment { dimension, value } = &rule.scope else { return None };
        let wanted = value.trim().to_lowercase();
        let known = self
            .segments()
            .dimension(dimension)
            .is_some_and(|d| d.values.names().iter().any(|v| v.to_lowercase() == wanted));
        (!known).then(|| format!("inactive: no shopper of the loaded data has {dimension} {value}"))
    }

    /// Installs item vectors (or, with `Err`, says why there are none) and fits again the
    /// signals that need them. The engine is the one owner of the vectors.
    ///
    /// A transformer trained on demand (off in `params`, installed with [`Self::install`])
    /// is kept: it carries the vectors it was trained with, and re-embedding must not
    /// train it again; items added since are scored from their text vectors.
    pub fn attach_vectors(&mut self, vectors: Result<Arc<ItemVectors>, String>, params: &SignalParams) {
        let trained =
            if params.transformer.enabled { None } else { self.models.scorers.get(&SignalId::TRANSFORMER).cloned() };
        let input = FitInput {
            interactions: &self.interactions,
            catalogue: &self.dataset.catalogue,
            texts: &self.item_texts,
            vectors: vectors.as_ref().map_err(String::as_str),
        };
        self.models.refit_vector_signals(&input, params);
        self.vectors = vectors.ok();
        if let Some(scorer) = trained {
            // Items added since it was trained are scored from their text.
            let scorer = self.vectors.as_deref().and_then(|v| scorer.with_new_item_vectors(v)).unwrap_or(scorer);
            self.install(SignalId::TRANSFORMER, scorer);
        }
    }

    /// Installs one fitted scorer (trained in the background), replacing any earlier
    /// one; the signal is no longer unavailable.
    pub fn install(&mut self, id: SignalId, scorer: Arc<dyn Scorer>) {
        self.models.unavailable.remove(&id);
        self.models.scorers.insert(id, scorer);
    }

    /// Marks a signal unavailable (a failed training), dropping its scorer.
    pub fn set_unavailable(&mut self, id: SignalId, why: String) {
        self.models.scorers.remove(&id);
        self.models.unavailable.insert(id, why);
    }

    /// Replaces the external signals with those of `loaded` (score files read for this
    /// engine's dataset).
    pub fn set_external(&mut self, loaded: Vec<LoadedSignals>) {
        self.models.remove_external();
        for l in &loaded {
            self.models.add_external(&l.scorers);
        }
        self.external = loaded;
    }

    /// The external signals' scorers (for fitting on a split: they are used as they are).
    pub fn external_scorers(&self) -> Vec<Arc<ExternalScorer>> {
        self.external.iter().flat_map(|l| l.scorers.iter().cloned()).collect()
    }

    /// The ids of the external signals.
    pub fn external_ids(&self) -> Vec<SignalId> {
        self.external.iter().flat_map(LoadedSignals::ids).collect()
    }

    /// Installs a learned ranker after checking it was trained on this data, reads only
    /// signals fitted here and vectors of the dimension attached here.
    pub fn install_ranker(&mut self, ranker: Arc<Ranker>) -> Result<(), RankerError> {
        let available: Vec<SignalId> = self.models.scorers.keys().copied().collect();
        ranker.check_compatible(&data_fingerprint(&self.dataset), &available, self.vectors.as_deref())?;
        self.ranker = Some(ranker);
        Ok(())
    }

    /// What the learned ranker's features read in this engine.
    fn feature_input(&self) -> FeatureInput<'_> {
        FeatureInput {
            catalogue: &self.dataset.catalogue,
            interactions: &self.interactions,
            vectors: self.vectors.as_deref(),
        }
    }

    /// Attaches the learned ranker's scores to a shopper's candidates (search has query
    /// signals the ranker was not trained on: it keeps the weighted sum, with a notice).
    fn score_learned(&self, state: &mut TargetState, config: &FusionConfig) {
        let learned = config.method == crate::fusion::FusionMethod::Learned;
        let missing_vectors = self
            .ranker
            .as_ref()
            .is_some_and(|r| r.config().dim > 0 && self.vectors.as_ref().is_none_or(|v| v.dim != r.config().dim));
        match (&self.ranker, &state.target) {
            (Some(r), Target::Shopper(_)) if missing_vectors && learned => state.notices.push(format!(
                "the learned ranker reads {}-dimensional item embeddings, which are not available: \
                 `learned` uses the weighted sum",
                r.config().dim
            )),
            (Some(_), Target::Shopper(_)) if missing_vectors => {}
            (Some(r), Target::Shopper(_)) => {
                match r.score_set(&state.candidates, &state.profile, &self.feature_input()) {
                    Ok(scores) => state.candidates.learned = scores,
                    Err(e) => state.notices.push(format!("learned ranker failed ({e}); using the weighted sum")),
                }
            }
            (Some(_), Target::Search { .. }) if learned => state.notices.push(
                "the learned ranker ranks shopper recommendations, not search results: search uses the weighted sum"
                    .to_owned(),
            ),
            (None, _) if learned => state.notices.push(
                "no learned ranker is trained or loaded: `learned` uses the weighted sum until one is \
                 (Train ranker in the Evaluate tab, or recfuse train)"
                    .to_owned(),
            ),
            _ => {}
        }
    }

    /// Exact Shapley attribution of the learned ranker for candidates `which` (`None`
    /// when the learned ranker does not rank this set).
    pub(crate) fn learned_attribution(
        &self,
        state: &TargetState,
        config: &FusionConfig,
        which: &[usize],
    ) -> Option<Vec<crate::rank::Attribution>> {
        let ranker = self.ranker.as_ref()?;
        if config.method != crate::fusion::FusionMethod::Learned || !state.candidates.has_learned() {
            return None;
        }
        let rows = ranker.rows(&state.candidates, &state.profile, &self.feature_input());
        ranker.attribute(&rows, self.vectors.as_deref(), which).ok()
    }

    /// The catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.dataset.catalogue
    }

    /// The profile of shopper `id`, or a cold profile (and `false`) when unknown.
    pub fn profile_of(&self, id: &str) -> (UserProfile, bool) {
        match self.dataset.behaviour.users.get(id) {
            Some(u) => (self.interactions.profile(u), true),
            None => (UserProfile::cold(self.interactions.now), false),
        }
    }

    /// Builds the candidate indexes now when `config` takes the index path for this
    /// catalogue (they are otherwise built by the first shopper that needs them): call
    /// before preparing many shoppers in parallel.
    pub fn build_indexes(&self, config: &FusionConfig) {
        if config.candidate_source.uses_index(self.catalogue().len()) {
            let signals: Vec<SignalId> = SignalId::recommend().collect();
            crate::fusion::candidates::build_indexes(&self.models.scorers_for(&signals));
        }
    }

    /// Scores candidates for a target. Pinned items of enabled item-pin rules are
    /// always candidates.
    pub fn prepare_target(&self, target: Target, config: &FusionConfig, rules: &[Rule]) -> TargetState {
        let start = self.start_target(target, rules);
        let signals: Vec<SignalId> = match &start.target {
            Target::Shopper(_) => SignalId::recommend().collect::<Vec<_>>(),
            Target::Search { .. } => SignalId::search().collect::<Vec<_>>(),
        };
        let scorers = self.models.scorers_for(&signals);
        let ctx = ScoreContext { profile: &start.profile, query: start.query.as_ref() };
        let search_sources = search_sources();
        let sources: Option<&[SignalId]> = match &start.target {
            Target::Search { .. } => Some(&search_sources),
            Target::Shopper(_) => None,
        };
        let candidates = CandidateSet::generate(&scorers, &ctx, self.catalogue().len(), config, &start.forced, sources);
        self.finish_target(start, candidates, config)
    }

    /// [`Self::prepare_target`] for several shoppers at once (the same states, in order):
    /// the signals that score in blocks read their item matrices once for all of them
    /// ([`CandidateSet::generate_block`]).
    pub fn prepare_shoppers(&self, ids: &[String], config: &FusionConfig, rules: &[Rule]) -> Vec<TargetState> {
        let starts: Vec<StartedTarget> =
            ids.iter().map(|id| self.start_target(Target::Shopper(id.clone()), rules)).collect();
        let signals: Vec<SignalId> = SignalId::recommend().collect();
        let scorers = self.models.scorers_for(&signals);
        let ctxs: Vec<ScoreContext<'_>> =
            starts.iter().map(|s| ScoreContext { profile: &s.profile, query: None }).collect();
        let forced: Vec<Vec<u32>> = starts.iter().map(|s| s.forced.clone()).collect();
        let sets = CandidateSet::generate_block(&scorers, &ctxs, self.catalogue().len(), config, &forced, None);
        drop(ctxs);
        starts.into_iter().zip(sets).map(|(start, candidates)| self.finish_target(start, candidates, config)).collect()
    }

    /// A target's profile, notices and pinned items: what scoring needs.
    fn start_target(&self, target: Target, rules: &[Rule]) -> StartedTarget {
        let mut notices = Vec::new();
        let (profile, known, query) = match &target {
            Target::Shopper(id) => {
                let (p, known) = self.profile_of(id);
                if !known {
                    // No id in the text: notices are shown as they are, privacy switch or not.
                    notices.push(
                        "this shopper is not in the data: cold-start recommendations (popularity, freshness)"
                            .to_owned(),
                    );
                } else if p.items.is_empty() && !p.events.is_empty() {
                    notices.push(
                        "this shopper has only cancellations, returns or zero-weight events: no personal signal \
                         applies, so the list is cold-start (popularity, freshness)"
                            .to_owned(),
                    );
                }
                (p, known, None)
            }
            Target::Search { query, shopper } => {
                let (p, known) = match shopper {
                    Some(id) => self.profile_of(id),
                    None => (UserProfile::cold(self.interactions.now), true),
                };
                if query.embedding.is_none() {
                    notices.push("no embedding model: search uses BM25 text matching only".to_owned());
                }
                (p, known, Some(query.clone()))
            }
        };
        let rules = self.rules_in_scope(&target, rules);
        let forced: Vec<u32> = rules
            .iter()
            .filter(|r| r.enabled && matches!(r.action, RuleAction::Pin { .. }))
            .filter_map(|r| match &r.target {
                RuleTarget::Item { id } => self.catalogue().ids.get(id),
                _ => None,
            })
            .collect();
        StartedTarget { target, profile, known, query, forced, notices }
    }

    /// A target's state from its scored candidates: their notices, and the ranker's scores.
    fn finish_target(&self, start: StartedTarget, mut candidates: CandidateSet, config: &FusionConfig) -> TargetState {
        let StartedTarget { target, profile, known, mut notices, .. } = start;
        candidates.prepare(config);
        for (signal, n) in &candidates.non_finite {
            notices.push(format!("{} produced {n} NaN or infinite scores; they were treated as 0", signal.label()));
        }
        notices.extend(candidates.degenerate_notice(config));
        let mut state = TargetState { target, profile, known, candidates, evidence: BTreeMap::new(), notices };
        self.score_learned(&mut state, config);
        state
    }

    /// Ranks a prepared target and explains the top `k` (contributions, evidence,
    /// leave-one-out). Weight and rule changes only need this call.
    pub fn explain(
        &self,
        state: &mut TargetState,
        config: &FusionConfig,
        rules: &[Rule],
        k: usize,
    ) -> Vec<ExplainedItem> {
        state.candidates.prepare(config);
        let rules = self.rules_in_scope(&state.target, rules);
        let ctx = RankContext { catalogue: self.catalogue(), rules: &rules, vectors: self.vectors.as_deref() };
        let ranked = rank(&state.candidates, config, &ctx, k);
        let top: Vec<RankedItem> = ranked.into_iter().take(k).collect();
        let shown: Vec<u32> = top.iter().map(|e| e.item).collect();
        let loo = leave_one_out(&state.candidates, config, &ctx, &shown, k);
        let query = match &state.target {
            Target::Search { query, .. } => Some(query.clone()),
            Target::Shopper(_) => None,
        };
        let which: Vec<usize> = top.iter().map(|e| e.candidate).collect();
        let learned = self.learned_attribution(state, config, &which);
        let all_contributions: Vec<Vec<(SignalId, f32)>> = top
            .iter()
            .enumerate()
            .map(|(p, ranked)| match learned.as_ref().and_then(|a| a.get(p)) {
                Some(a) => state
                    .candidates
                    .signals
                    .iter()
                    .map(|&id| (id, a.signals.iter().find(|(s, _)| *s == id).map_or(0.0, |(_, v)| *v)))
                    .collect(),
                None => contributions(&state.candidates, config, ranked.candidate),
            })
            .collect();
        let needed = top.iter().zip(&all_contributions).flat_map(|(ranked, contributions)| {
            contributions.iter().filter(|(_, c)| *c > 1e-9).map(|&(signal, _)| (ranked.item, signal))
        });
        self.fill_evidence(state, query.as_ref(), needed.collect());
        top.into_iter()
            .zip(all_contributions)
            .enumerate()
            .map(|(p, (ranked, contributions))| {
                let j = ranked.candidate;
                let attribution = learned.as_ref().and_then(|a| a.get(p));
                let feature_contributions = attribution.map_or_else(Vec::new, |a| {
                    vec![("embedding", a.embedding), ("cheap_features", a.cheap), ("baseline", a.baseline)]
                });
                let signal_scores = state
                    .candidates
                    .signals
                    .iter()
                    .enumerate()
                    .map(|(s, &id)| {
                        let raw = state.candidates.raw_of(s).get(j).copied().unwrap_or(0.0);
                        let norm = state.candidates.normalised_of(s).get(j).copied().unwrap_or(0.0);
                        (id, raw, norm)
                    })
                    .collect();
                let mut order: Vec<(SignalId, f32)> =
                    contributions.iter().copied().filter(|(_, c)| *c > 1e-9).collect();
                order.sort_by(|a, b| b.1.total_cmp(&a.1));
                let mut evidence = Vec::new();
                for effect in &ranked.rule_effects {
                    let verb = match effect.action {
                        RuleAction::Pin { position } => format!("pinned at #{position}"),
                        RuleAction::Boost { .. } => "boosted".to_owned(),
                        RuleAction::Bury { .. } => "buried".to_owned(),
                        RuleAction::Hide => "hidden".to_owned(),
                    };
                    evidence.push(format!("{verb} by rule “{}”", effect.rule));
                }
                // A lower score above it is explained first: it is what a reader asks about.
                evidence.extend(ranked.reranked.iter().map(ToString::to_string));
                for (signal, _) in order {
                    evidence.extend(state.evidence.get(&(ranked.item, signal)).cloned().flatten());
                }
                let rank_change_without =
                    loo.iter().map(|(s, changes)| (*s, changes.get(p).copied().flatten())).collect();
                ExplainedItem {
                    position: p + 1,
                    ranked,
                    contributions,
                    signal_scores,
                    evidence,
                    rank_change_without,
                    feature_contributions,
                }
            })
            .collect()
    }
}

impl Engine {
    /// Computes the evidence sentences of the `(item, signal)` pairs the state has not
    /// cached yet, one batch per signal ([`crate::score::Scorer::evidence_many`]: ALS
    /// factors the shopper's system once for all of them).
    fn fill_evidence(&self, state: &mut TargetState, query: Option<&Query>, needed: Vec<(u32, SignalId)>) {
        let mut by_signal: BTreeMap<SignalId, Vec<u32>> = BTreeMap::new();
        for (item, signal) in needed {
            if !state.evidence.contains_key(&(item, signal)) {
                let items = by_signal.entry(signal).or_default();
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
        let sctx = ScoreContext { profile: &state.profile, query };
        let mut found = Vec::new();
        for (signal, items) in by_signal {
            let sentences = match self.models.scorers.get(&signal) {
                Some(scorer) => scorer.evidence_many(&sctx, &items, self.catalogue()),
                None => vec![None; items.len()],
            };
            found.extend(items.into_iter().zip(sentences).map(|(item, s)| ((item, signal), s)));
        }
        state.evidence.extend(found);
    }
}
