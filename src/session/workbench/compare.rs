//! The Compare tab's B side: where configuration B comes from, shopper B or query B (the
//! query embedded once per change), B's cached candidates and top list, and the
//! comparison across all evaluated users (a background job). A weight change re-ranks B
//! once, in the handler; nothing here runs per frame.

use super::{EvalJobOutput, JobOutput, NoticeLevel, Workbench, job};
use crate::eval::compare::{ConfigComparison, compare_configs};
use crate::fusion::{CandidateSet, FusionConfig, FusionMethod, RankContext, Rule, rank};
use crate::score::Query;
use crate::session::Mode;
use crate::session::command::{BSource, Command, CompareMode};
use crate::session::engine::{Engine, Target, TargetState};
use crate::session::impact::Impact;

/// The B side of the comparison.
#[derive(Default)]
pub struct CompareState {
    mode: CompareMode,
    source: BSource,
    snapshot: Option<FusionConfig>,
    shopper_b: String,
    query_b: String,
    /// B's scored candidates (two shoppers or two queries), with the key they were built for.
    target_b: Option<(String, TargetState)>,
    list_b: Vec<u32>,
    across: Option<ConfigComparison>,
}

impl CompareState {
    /// What is compared.
    pub fn mode(&self) -> CompareMode {
        self.mode
    }

    /// Where configuration B comes from.
    pub fn source(&self) -> BSource {
        self.source
    }

    /// Shopper B as typed.
    pub fn shopper_b(&self) -> &str {
        &self.shopper_b
    }

    /// Query B as typed.
    pub fn query_b(&self) -> &str {
        &self.query_b
    }

    /// B's top-K items (empty while B is not defined).
    pub fn list_b(&self) -> &[u32] {
        &self.list_b
    }

    /// The last comparison across users.
    pub fn across(&self) -> Option<&ConfigComparison> {
        self.across.as_ref()
    }

    /// Configuration B, when defined (`tuned` = the tuned weights, if any; `current` = the
    /// current settings and whether a learned ranker is installed to rank them).
    pub fn config_b(&self, tuned: Option<&FusionConfig>, current: (&FusionConfig, bool)) -> Option<FusionConfig> {
        match self.source {
            BSource::Snapshot => self.snapshot.clone(),
            BSource::Default => Some(FusionConfig::default()),
            BSource::Tuned => tuned.cloned(),
            BSource::Learned => {
                let (config, ranker) = current;
                ranker.then(|| FusionConfig { method: FusionMethod::Learned, ..config.clone() })
            }
        }
    }

    pub(super) fn clear_lists(&mut self) {
        self.target_b = None;
        self.list_b.clear();
    }

    /// Forgets everything tied to the data: B's lists, shopper B and the comparison
    /// across users (new data was installed).
    pub(super) fn forget_data(&mut self) {
        self.clear_lists();
        self.shopper_b.clear();
        self.across = None;
    }

    pub(super) fn set_across(&mut self, result: ConfigComparison) {
        self.across = Some(result);
    }
}

/// The top `k` items of `candidates` under `config`.
fn top_items(engine: &Engine, candidates: &CandidateSet, config: &FusionConfig, rules: &[Rule], k: usize) -> Vec<u32> {
    let ctx = RankContext { catalogue: engine.catalogue(), rules, vectors: engine.vectors.as_deref() };
    rank(candidates, config, &ctx, k).into_iter().take(k).map(|e| e.item).collect()
}

impl Workbench {
    /// Configuration B of the Compare tab, when defined.
    pub fn config_b(&self) -> Option<FusionConfig> {
        let ranker = self.engine().is_some_and(|e| e.ranker.is_some());
        self.compare.config_b(self.evaluation.tuned(), (self.session.active_fusion(), ranker))
    }

    /// B source, snapshot, shopper B, query B and the comparison across users.
    pub(super) fn handle_compare(&mut self, command: Command) {
        match command {
            Command::SetCompareMode(m) => self.compare.mode = m,
            Command::SetCompareSource(s) => self.compare.source = s,
            Command::SnapshotCompareB => {
                self.compare.snapshot = Some(self.session.active_fusion().clone());
                self.compare.source = BSource::Snapshot;
            }
            Command::SetShopperB(s) => self.compare.shopper_b = s,
            Command::SetQueryB(q) => self.compare.query_b = q,
            Command::CompareAcrossUsers { rbo_p } => return self.start_compare_across(rbo_p),
            _ => return,
        }
        self.update_b(Impact::Rerank);
    }

    /// Brings B's list up to date: B's candidates are scored again only for
    /// [`Impact::Rescore`] or when shopper/query B changed; otherwise B is re-ranked.
    pub(super) fn update_b(&mut self, impact: Impact) {
        let Some(engine) = self.data.engine() else {
            self.compare.clear_lists();
            return;
        };
        let config_b = self.config_b();
        let (rules, k) = (&self.session.rules, self.session.selection.k);
        let c = &mut self.compare;
        let (key, config) = match c.mode {
            CompareMode::Configurations => {
                c.target_b = None;
                let config_a = self.session.active_fusion();
                c.list_b = match (config_b, self.view.target_mut()) {
                    (Some(b), Some(target)) => {
                        target.candidates.prepare(&b);
                        let rules = engine.rules_in_scope(&target.target, rules);
                        let list = top_items(engine, &target.candidates, &b, &rules, k);
                        target.candidates.prepare(config_a);
                        list
                    }
                    _ => Vec::new(),
                };
                return;
            }
            CompareMode::Shoppers => (format!("shopper|{}", c.shopper_b.trim()), self.session.active_fusion()),
            CompareMode::Queries => (format!("query|{}", c.query_b.trim()), &self.session.search_fusion),
        };
        let text = match c.mode {
            CompareMode::Queries if self.session.selection.mode != Mode::Search => String::new(),
            CompareMode::Queries => c.query_b.trim().to_owned(),
            _ => c.shopper_b.trim().to_owned(),
        };
        if text.is_empty() {
            c.clear_lists();
            return;
        }
        let stale = c.target_b.as_ref().is_none_or(|(cached, _)| *cached != key);
        if impact == Impact::Rescore || stale {
            let target = match c.mode {
                CompareMode::Queries => {
                    let embedding = self.embedding.embed_query(&text);
                    Target::Search { query: Query { text, embedding }, shopper: None }
                }
                _ => Target::Shopper(text),
            };
            c.target_b = Some((key, engine.prepare_target(target, config, rules)));
        }
        c.list_b = match &mut c.target_b {
            Some((_, state)) => {
                state.candidates.prepare(config);
                let rules = engine.rules_in_scope(&state.target, rules);
                top_items(engine, &state.candidates, config, &rules, k)
            }
            None => Vec::new(),
        };
    }

    /// Compares A (the current settings) and B over every evaluated user, in the background
    /// on the cached evaluation context.
    fn start_compare_across(&mut self, rbo_p: f64) {
        let Some(b) = self.config_b() else {
            self.notify(NoticeLevel::Info, "define configuration B first");
            return;
        };
        let a = self.session.active_fusion().clone();
        let learned = [&a, &b].iter().any(|c| c.method == FusionMethod::Learned);
        let unscored = self.evaluation.outcome().is_some_and(|o| !o.context.has_learned());
        if learned && unscored {
            self.notify(
                NoticeLevel::Info,
                "the last evaluation has no learned-ranker scores: run the evaluation again now that a ranker is \
                 installed, then compare",
            );
            return;
        }
        let Some(mut outcome) = self.take_context() else { return };
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let seed = outcome.request.bootstrap.seed;
        let stamp = self.eval_fingerprint();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::COMPARE, progress, move |_| {
            let result = compare_configs(&mut outcome.context, &a, &b, k, rbo_p, seed);
            outcome.context.prepare_for(&a);
            JobOutput::Eval(stamp, Ok(Box::new(EvalJobOutput::Compared(Box::new(result), outcome))))
        });
        self.report_start(started, Some(format!("“{}” is already running", job::COMPARE)));
    }
}
