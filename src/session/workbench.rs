//! The workbench's runtime state and command handling, independent of egui so that the
//! GUI stays a thin layer and the logic is testable.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::command::{Command, Preset};
use super::engine::{Engine, ExplainedItem, Target, TargetState};
use super::pipeline::{EmbedOutcome, ModelInfo};
use super::{Mode, Session, pipeline};
use crate::data::{Dataset, TableKind};
use crate::embed::ItemVectors;
use crate::fusion::FusionConfig;
use crate::jobs::{JobRunner, Progress};
use crate::score::{Query, SignalId};

/// How important a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// For information.
    Info,
    /// Something degraded (fallback, unavailable signal).
    Warning,
    /// Something failed.
    Error,
}

/// A message shown to the user until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Importance.
    pub level: NoticeLevel,
    /// Text.
    pub text: String,
}

/// What a background job hands back.
pub enum JobOutput {
    /// Data loaded.
    Loaded(Result<Arc<Dataset>, String>),
    /// Signals fitted.
    Fitted(Result<Box<Engine>, String>),
    /// Catalogue embedded.
    Embedded(Result<EmbedOutcome, String>),
    /// Evaluation, tuning or sweep finished.
    Eval(Result<Box<super::evaluation::EvalJobOutput>, String>),
}

/// Job names (a second job with a running name is refused).
pub mod job {
    /// Loading files.
    pub const LOAD: &str = "load data";
    /// Fitting signals.
    pub const FIT: &str = "fit signals";
    /// Embedding the catalogue.
    pub const EMBED: &str = "embed catalogue";
    /// Evaluation.
    pub const EVAL: &str = "evaluate";
    /// Tuning.
    pub const TUNE: &str = "tune weights";
    /// Sweeps and Pareto sampling.
    pub const SWEEP: &str = "sweep";
}

/// Runtime state of the workbench.
pub struct Workbench {
    /// Persisted settings.
    pub session: Session,
    /// Where the session was last saved or loaded.
    pub session_path: Option<PathBuf>,
    /// Loaded data.
    pub dataset: Option<Arc<Dataset>>,
    /// Fitted engine.
    pub engine: Option<Engine>,
    /// Item vectors (kept across refits).
    pub vectors: Option<Arc<ItemVectors>>,
    /// The embedding model in use.
    pub model: Option<ModelInfo>,
    /// The loaded embedding model (for queries).
    pub embedder: Option<Arc<crate::embed::SentenceEmbedder>>,
    /// The 2-D map of the item vectors.
    pub projection: Option<Arc<crate::embed::projection::Projection>>,
    /// Cached candidates of the current shopper or query.
    pub target: Option<TargetState>,
    /// The current explained list.
    pub list: Vec<ExplainedItem>,
    /// Places each listed item moved at the last re-rank (positive = up); absent = new.
    pub rank_moves: HashMap<u32, i64>,
    /// Messages for the user.
    pub notices: Vec<Notice>,
    /// The last fatal data error (shown in the data panel).
    pub data_error: Option<String>,
    /// Background jobs.
    pub jobs: JobRunner<JobOutput>,
    /// Evaluation state.
    pub evaluation: super::evaluation::EvaluationState,
    /// Called when a job has news (the GUI passes `request_repaint`).
    repaint: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Whether to embed after loading (tests can turn it off).
    pub embed_enabled: bool,
    /// Why the last embedding job failed, so that signals fitted after the failure say
    /// why `semantic` is missing instead of "being computed".
    embed_failure: Option<String>,
}

impl Workbench {
    /// A workbench for `session`; nothing is loaded until [`Command::Reload`].
    pub fn new(session: Session) -> Self {
        Self {
            session,
            session_path: None,
            dataset: None,
            engine: None,
            vectors: None,
            model: None,
            embedder: None,
            projection: None,
            target: None,
            list: Vec::new(),
            rank_moves: HashMap::new(),
            notices: Vec::new(),
            data_error: None,
            jobs: JobRunner::default(),
            evaluation: super::evaluation::EvaluationState::default(),
            repaint: None,
            embed_enabled: true,
            embed_failure: None,
        }
    }

    /// Sets the callback used to wake the GUI when a job progresses.
    pub fn set_repaint(&mut self, f: Arc<dyn Fn() + Send + Sync>) {
        self.repaint = Some(f);
    }

    pub(super) fn progress_handle(&self) -> Progress {
        let p = Progress::new();
        if let Some(f) = &self.repaint {
            let f = f.clone();
            p.set_on_change(move || f());
        }
        p
    }

    /// Adds a notice.
    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        let text = text.into();
        if !self.notices.iter().any(|n| n.text == text) {
            self.notices.push(Notice { level, text });
        }
    }

    /// The fusion settings of the current mode.
    pub fn fusion(&self) -> &FusionConfig {
        self.session.active_fusion()
    }

    /// Shopper id as displayed (pseudonymised when the privacy switch is on).
    pub fn display_user(&self, id: &str) -> String {
        if self.session.privacy { pseudonym(id, &self.session.privacy_salt) } else { id.to_owned() }
    }

    /// Whether a job with this name is running.
    pub fn is_running(&self, name: &str) -> bool {
        self.jobs.is_running(name)
    }

    /// Handles one command.
    pub fn handle(&mut self, command: Command) {
        self.apply(command);
        self.update_live_metrics();
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Reload => self.reload(),
            Command::SetDataFile { table, path } => {
                match table {
                    TableKind::Catalogue => self.session.data.catalogue = path,
                    TableKind::Behaviour => {
                        if let Some(p) = path {
                            self.session.data.behaviour = p;
                        }
                    }
                    TableKind::Users => self.session.data.users = path,
                }
                self.reload();
            }
            Command::SetMapping { table, role, column } => {
                let mapping = match table {
                    TableKind::Catalogue => &mut self.session.data.catalogue_mapping,
                    TableKind::Behaviour => &mut self.session.data.behaviour_mapping,
                    TableKind::Users => &mut self.session.data.users_mapping,
                };
                match column {
                    Some(c) => {
                        mapping.overrides.insert(role, c);
                    }
                    None => {
                        mapping.overrides.remove(&role);
                    }
                }
                self.reload();
            }
            Command::SetEventWeight { event_type, weight } => {
                self.session.event_weights.by_type.insert(event_type, weight);
                if let Some(ds) = &self.dataset {
                    let mut ds = (**ds).clone();
                    ds.set_weights(self.session.event_weights.clone());
                    let ds = Arc::new(ds);
                    self.dataset = Some(ds.clone());
                    self.start_fit(ds);
                }
            }
            Command::SetSignalEnabled(s, on) => {
                self.session.active_fusion_mut().signals.entry(s).or_default().enabled = on;
                self.rerank();
            }
            Command::SetWeight(s, w) => {
                self.session.active_fusion_mut().set_weight(s, w);
                self.rerank();
            }
            Command::SetNormalisation(s, n) => {
                self.session.active_fusion_mut().signals.entry(s).or_default().normalisation = n;
                self.rerank();
            }
            Command::SetMethod(m) => {
                self.session.active_fusion_mut().method = m;
                self.rerank();
            }
            Command::SetRrfK(k) => {
                self.session.active_fusion_mut().rrf_k = k;
                self.rerank();
            }
            Command::SetCandidates(n) => {
                self.session.active_fusion_mut().candidates_per_signal = n.max(1);
                self.refresh_target();
            }
            Command::SetExcludeSeen(on) => {
                self.session.active_fusion_mut().exclude_seen = on;
                self.refresh_target();
            }
            Command::SetMmrLambda(l) => {
                self.session.active_fusion_mut().mmr_lambda = l.clamp(0.0, 1.0);
                self.rerank();
            }
            Command::SetCategoryCap(c) => {
                self.session.active_fusion_mut().category_cap = c;
                self.rerank();
            }
            Command::ApplyPreset(p) => {
                let config = match p {
                    Preset::Default => match self.session.selection.mode {
                        Mode::Recommend => FusionConfig::default(),
                        Mode::Search => super::default_search_fusion(),
                    },
                    Preset::Tuned => match &self.evaluation.tuned {
                        Some(t) => t.clone(),
                        None => {
                            self.notify(NoticeLevel::Info, "no tuned weights yet: run Tune in the Evaluate tab");
                            return;
                        }
                    },
                };
                let exclude_changed = config.exclude_seen != self.fusion().exclude_seen
                    || config.candidates_per_signal != self.fusion().candidates_per_signal;
                *self.session.active_fusion_mut() = config;
                if exclude_changed { self.refresh_target() } else { self.rerank() }
            }
            Command::SetMode(m) => {
                self.session.selection.mode = m;
                self.refresh_target();
            }
            Command::SelectShopper(id) => {
                self.session.selection.shopper = Some(id);
                self.session.selection.mode = Mode::Recommend;
                self.rank_moves.clear();
                self.refresh_target();
            }
            Command::SetQuery(q) => {
                self.session.selection.query = q;
                self.session.selection.mode = Mode::Search;
                self.rank_moves.clear();
                self.refresh_target();
            }
            Command::SetK(k) => {
                self.session.selection.k = k.clamp(1, 200);
                self.rerank();
            }
            Command::SelectItem(item) => {
                self.session.selection.item =
                    item.and_then(|i| self.dataset.as_ref().map(|d| d.catalogue.ids.name(i).to_owned()));
            }
            Command::AddRule(rule) => {
                self.session.rules.push(rule);
                self.refresh_target();
            }
            Command::RemoveRule(i) => {
                if i < self.session.rules.len() {
                    self.session.rules.remove(i);
                    self.refresh_target();
                }
            }
            Command::SetRuleEnabled(i, on) => {
                if let Some(r) = self.session.rules.get_mut(i) {
                    r.enabled = on;
                    self.refresh_target();
                }
            }
            Command::SetModelDir(dir) => {
                self.session.model.model_dir = dir;
                self.start_embed();
            }
            Command::SetDevice(d) => {
                self.session.model.device = d;
                self.start_embed();
            }
            Command::SetTemplateFields(fields) => {
                self.session.model.template.fields = fields;
                if let Some(ds) = self.dataset.clone() {
                    self.start_fit(ds);
                }
                self.start_embed();
            }
            Command::RunEvaluation => self.start_evaluation(),
            Command::RunTuning => self.start_tuning(),
            Command::RunSweep1 { signal } => self.start_sweep1(signal),
            Command::RunSweep2 { a, b } => self.start_sweep2(a, b),
            Command::RunPareto => self.start_pareto(),
            Command::CancelJob(name) => self.jobs.cancel(&name),
            Command::SaveSession(path) => match self.session.save(&path) {
                Ok(()) => {
                    self.session_path = Some(path.clone());
                    self.notify(NoticeLevel::Info, format!("session saved to {}", path.display()));
                }
                Err(e) => self.notify(NoticeLevel::Error, format!("could not save the session: {e}")),
            },
            Command::LoadSession(path) => match Session::load(&path) {
                Ok(s) => {
                    self.session = s;
                    self.session_path = Some(path);
                    self.reload();
                }
                Err(e) => self.notify(NoticeLevel::Error, format!("could not load the session: {e}")),
            },
            Command::SetPrivacy(on) => self.session.privacy = on,
            Command::Export { kind, path } => match super::export::export(self, kind, &path) {
                Ok(()) => self.notify(NoticeLevel::Info, format!("exported {}", path.display())),
                Err(e) => self.notify(NoticeLevel::Error, format!("export failed: {e}")),
            },
            Command::DismissNotice(i) => {
                if i < self.notices.len() {
                    self.notices.remove(i);
                }
            }
        }
    }

    /// Starts loading the session's data (then fitting and embedding).
    pub fn reload(&mut self) {
        self.data_error = None;
        self.engine = None;
        self.target = None;
        self.list.clear();
        self.evaluation = super::evaluation::EvaluationState::default();
        let session = self.session.clone();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::LOAD, progress, move |p| {
            JobOutput::Loaded(pipeline::load(&session, p).map(Arc::new).map_err(|e| e.to_string()))
        });
        if let Err(e) = started {
            self.notify(NoticeLevel::Error, format!("cannot start a background job: {e}"));
        }
    }

    fn start_fit(&mut self, dataset: Arc<Dataset>) {
        let params = self.session.params.clone();
        let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &self.session.model.template));
        let progress = self.progress_handle();
        if self.jobs.is_running(job::FIT) {
            self.jobs.cancel(job::FIT);
        }
        match self.jobs.start(job::FIT, progress, move |p| {
            JobOutput::Fitted(
                pipeline::fit_all(dataset, &params, texts, Err(String::new()), p)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            )
        }) {
            Ok(true) => {}
            Ok(false) => self.notify(NoticeLevel::Info, "signals are already being fitted; try again when done"),
            Err(e) => self.notify(NoticeLevel::Error, format!("cannot start a background job: {e}")),
        }
    }

    fn start_embed(&mut self) {
        if !self.embed_enabled {
            return;
        }
        let Some(dataset) = self.dataset.clone() else { return };
        self.embed_failure = None;
        let session = self.session.clone();
        let progress = self.progress_handle();
        match self
            .jobs
            .start(job::EMBED, progress, move |p| JobOutput::Embedded(pipeline::embed_catalogue(&dataset, &session, p)))
        {
            Ok(true) => {}
            Ok(false) => self.notify(NoticeLevel::Info, "the catalogue is already being embedded"),
            Err(e) => self.notify(NoticeLevel::Error, format!("cannot start a background job: {e}")),
        }
    }

    /// Collects finished jobs and reacts to them. Call once per frame.
    pub fn poll(&mut self) {
        for (name, result) in self.jobs.poll_finished() {
            match result {
                Err(panic) => {
                    self.notify(NoticeLevel::Error, format!("the job “{name}” failed unexpectedly: {panic}"));
                }
                Ok(JobOutput::Loaded(Ok(dataset))) => {
                    self.dataset = Some(dataset.clone());
                    for f in &dataset.report.files {
                        for n in &f.notices {
                            self.notify(
                                NoticeLevel::Info,
                                format!("{}: {n}", crate::data::format::short_name(&f.path)),
                            );
                        }
                    }
                    self.start_fit(dataset);
                    self.start_embed();
                }
                Ok(JobOutput::Loaded(Err(e))) => {
                    self.notify(NoticeLevel::Error, e.clone());
                    self.data_error = Some(e);
                }
                Ok(JobOutput::Fitted(Ok(engine))) => {
                    let mut engine = *engine;
                    let reason = match &self.embed_failure {
                        Some(why) => why.as_str(),
                        None if self.embed_enabled => "item embeddings are being computed",
                        None => "embedding is off",
                    };
                    engine.attach_vectors(self.vectors.clone().ok_or_else(|| reason.to_owned()), &self.session.params);
                    self.engine = Some(engine);
                    if self.session.selection.shopper.is_none() {
                        self.session.selection.shopper = self.heaviest_shoppers(1).into_iter().next();
                    }
                    self.refresh_target();
                }
                Ok(JobOutput::Fitted(Err(e))) => {
                    if e != "cancelled" {
                        self.notify(NoticeLevel::Error, format!("fitting failed: {e}"));
                    }
                }
                Ok(JobOutput::Embedded(Ok(outcome))) => {
                    for n in &outcome.info {
                        self.notify(NoticeLevel::Info, n.clone());
                    }
                    for n in &outcome.notices {
                        self.notify(NoticeLevel::Warning, n.clone());
                    }
                    self.model = Some(outcome.model);
                    self.vectors = Some(outcome.vectors.clone());
                    self.projection = Some(outcome.projection);
                    self.embedder = Some(outcome.embedder);
                    if let Some(engine) = &mut self.engine {
                        engine.attach_vectors(Ok(outcome.vectors), &self.session.params);
                        self.refresh_target();
                    }
                }
                Ok(JobOutput::Embedded(Err(e))) => {
                    self.notify(NoticeLevel::Warning, format!("semantic signal unavailable: {e}"));
                    if let Some(engine) = &mut self.engine {
                        engine.attach_vectors(Err(e.clone()), &self.session.params);
                    }
                    self.embed_failure = Some(e);
                }
                Ok(JobOutput::Eval(result)) => self.finish_eval(result),
            }
        }
    }

    /// The `n` shoppers with the most events, by id.
    pub fn heaviest_shoppers(&self, n: usize) -> Vec<String> {
        let Some(engine) = &self.engine else { return Vec::new() };
        let mut counts: Vec<(usize, u32)> =
            engine.interactions.history.iter().enumerate().map(|(u, h)| (h.len(), u as u32)).collect();
        counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        counts.into_iter().take(n).map(|(_, u)| engine.dataset.behaviour.users.name(u).to_owned()).collect()
    }

    /// Shoppers with at most `max_events` events.
    pub fn cold_shoppers(&self, max_events: usize) -> Vec<String> {
        let Some(engine) = &self.engine else { return Vec::new() };
        engine
            .interactions
            .history
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty() && h.len() <= max_events)
            .map(|(u, _)| engine.dataset.behaviour.users.name(u as u32).to_owned())
            .collect()
    }

    /// Recomputes candidates for the current shopper or query, then re-ranks.
    pub fn refresh_target(&mut self) {
        let Some(engine) = &self.engine else { return };
        let target = match self.session.selection.mode {
            Mode::Recommend => match &self.session.selection.shopper {
                Some(s) => Target::Shopper(s.clone()),
                None => return,
            },
            Mode::Search => {
                let text = self.session.selection.query.trim().to_owned();
                if text.is_empty() {
                    self.target = None;
                    self.list.clear();
                    return;
                }
                let embedding = self.embed_query(&text);
                Target::Search { query: Query { text, embedding }, shopper: self.session.selection.shopper.clone() }
            }
        };
        let config = self.session.active_fusion().clone();
        let state = engine.prepare_target(target, &config, &self.session.rules);
        self.target = Some(state);
        self.rank_moves.clear();
        self.list.clear();
        self.rerank();
        self.rank_moves.clear();
    }

    /// Re-fuses cached candidate scores (no re-scoring, no re-fitting) and records how
    /// far each item moved.
    pub fn rerank(&mut self) {
        let (Some(engine), Some(target)) = (&self.engine, &mut self.target) else { return };
        let config = self.session.active_fusion().clone();
        let before: HashMap<u32, usize> = self.list.iter().map(|e| (e.ranked.item, e.position)).collect();
        self.list = engine.explain(target, &config, &self.session.rules, self.session.selection.k);
        self.rank_moves = self
            .list
            .iter()
            .filter_map(|e| before.get(&e.ranked.item).map(|&p| (e.ranked.item, p as i64 - e.position as i64)))
            .collect();
    }

    /// The query's embedding with the loaded model (None without a model).
    pub fn embed_query(&self, text: &str) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        let e = embedder.embed(&[text.to_owned()], 1, &Progress::new()).ok()?;
        Some(e.data)
    }

    /// Signals that are fitted and can be used.
    pub fn available_signals(&self) -> Vec<SignalId> {
        match &self.engine {
            Some(e) => e.models.available(),
            None => Vec::new(),
        }
    }
}

/// A stable pseudonym for a shopper id under a session salt.
pub fn pseudonym(id: &str, salt: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{salt}\u{1f}{id}").as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("shopper-{hex}")
}
