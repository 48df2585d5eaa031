//! The workbench's runtime state and command handling, independent of egui so that the
//! GUI stays a thin layer and the logic is testable.
//!
//! [`Workbench`] is made of parts that say what they are: the loaded data and fitted
//! engine ([`DataState`]), the one owner of the item embeddings ([`EmbeddingState`]),
//! the current list ([`CurrentView`]), the Compare tab's B side ([`CompareState`]), the
//! evaluation results ([`EvaluationState`]), the [`Notices`] and the background jobs.
//! Every field is private: the GUI reads through accessors and changes things only by
//! sending a [`Command`] to [`Workbench::handle`], which hands each command family to a
//! small handler in the file of the part it changes.

pub mod batch_export;
pub mod compare;
pub mod data;
pub mod embedding;
pub mod evaluation;
pub mod export;
pub mod fusion;
pub mod live;
pub mod notices;
pub mod ranker;
pub mod signals;
pub mod training;
pub mod view;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Session;
use super::command::Command;
use super::engine::{Engine, ExplainedItem, TargetState};
use super::pipeline::{EmbedOutcome, ModelInfo};
use crate::data::Dataset;
use crate::embed::ItemVectors;
use crate::fusion::FusionConfig;
use crate::jobs::{Cancelled, JobRunner, Progress};
use crate::score::SignalId;

pub use crate::session::privacy::pseudonym;
pub use compare::CompareState;
pub use data::DataState;
pub use embedding::EmbeddingState;
pub use evaluation::{EvalJobOutput, EvaluationState};
pub use live::{LiveOutput, LiveState, LiveStats};
pub use notices::{Notice, NoticeLevel, Notices};
pub use ranker::{RankerOutput, RankerState};
pub use training::{TrainOutput, TrainingState, transformer_path};
pub use view::CurrentView;

/// The identity of the data and settings a job's result was computed for: a result whose
/// fingerprint no longer matches the workbench's is dropped, never installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    /// Which load the data came from (every load gets a new number).
    pub data: u64,
    /// A hash of the settings the result depends on.
    pub settings: u64,
}

impl Fingerprint {
    /// The fingerprint of load number `data` under `settings`.
    pub fn of(data: u64, settings: &impl serde::Serialize) -> Self {
        use std::hash::{Hash, Hasher};
        // `DefaultHasher::new` uses fixed keys: the same settings hash the same in a run.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(settings).unwrap_or_default().hash(&mut h);
        Self { data, settings: h.finish() }
    }
}

/// What a background job hands back.
pub enum JobOutput {
    /// Data loaded.
    Loaded(Fingerprint, Result<Arc<Dataset>, String>),
    /// Signals fitted.
    Fitted(Fingerprint, Result<Box<Engine>, Cancelled>),
    /// Catalogue embedded.
    Embedded(Fingerprint, Result<EmbedOutcome, String>),
    /// Evaluation, tuning, sweep or comparison finished.
    Eval(Fingerprint, Result<Box<EvalJobOutput>, Cancelled>),
    /// The transformer trained (or stopped).
    Trained(Box<TrainOutput>),
    /// Score files read as external signals.
    Signals(Box<signals::SignalsOutput>),
    /// Every shopper's recommendations written (or why not).
    Batch(Result<crate::session::batch::BatchSummary, crate::session::batch::BatchError>),
    /// The live follow job polled the behaviour file once.
    Live(Box<LiveOutput>),
    /// The learned ranker trained (or stopped).
    Ranked(Box<RankerOutput>),
    /// The live metrics of the current weights, measured off the UI thread.
    LiveMetrics(Box<evaluation::LiveMetricsOutput>),
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
    /// Comparing configurations A and B across all evaluated users.
    pub const COMPARE: &str = "compare across users";
    /// Training the transformer signal.
    pub const TRAIN: &str = "train transformer";
    /// Reading score files as external signals.
    pub const SIGNALS: &str = "load signal files";
    /// Writing every shopper's recommendations to Parquet.
    pub const BATCH: &str = "export all shoppers";
    /// Following the behaviour file in live mode (one poll per job).
    pub const LIVE: &str = "follow behaviour";
    /// Training the learned ranker.
    pub const RANK: &str = "train ranker";
    /// Re-measuring the live metrics when that does not fit in a frame.
    pub const LIVE_METRICS: &str = "live metrics";
    /// Applying the learned ranker to the last evaluation's test context (its `learned` row).
    pub const LEARNED_ROW: &str = "learned row";
}

/// Called when a job has news (the GUI passes `request_repaint`).
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// Runtime state of the workbench.
pub struct Workbench {
    /// Persisted settings.
    session: Session,
    /// Where the session was last saved or loaded.
    session_path: Option<PathBuf>,
    /// Loaded data and fitted engine.
    data: DataState,
    /// Item vectors, 2-D map and the model that made them.
    embedding: EmbeddingState,
    /// The current shopper's or query's candidates and explained list.
    view: CurrentView,
    /// The Compare tab's B side.
    compare: CompareState,
    /// Evaluation results.
    evaluation: EvaluationState,
    /// Messages for the user.
    notices: Notices,
    /// The transformer's training.
    training: TrainingState,
    /// Live mode: the followed behaviour file.
    live: LiveState,
    /// The learned ranker.
    ranker: RankerState,
    /// Background jobs.
    jobs: JobRunner<JobOutput>,
    /// The number of the load whose data is installed (0: none yet).
    generation: u64,
    /// The number of the latest load asked for (a running load of an older one is dropped).
    requested: u64,
    /// Wakes the GUI when a job progresses.
    repaint: Option<Repaint>,
}

impl Workbench {
    /// A workbench for `session`; nothing is loaded until [`Command::Reload`].
    pub fn new(session: Session) -> Self {
        Self {
            session,
            session_path: None,
            data: DataState::default(),
            embedding: EmbeddingState::default(),
            view: CurrentView::default(),
            compare: CompareState::default(),
            evaluation: EvaluationState::default(),
            notices: Notices::default(),
            training: TrainingState::default(),
            live: LiveState::default(),
            ranker: RankerState::default(),
            jobs: JobRunner::default(),
            generation: 0,
            requested: 0,
            repaint: None,
        }
    }

    /// Sets the callback used to wake the GUI when a job progresses.
    pub fn set_repaint(&mut self, f: Repaint) {
        self.repaint = Some(f);
    }

    /// Whether to embed the catalogue after loading (tests turn it off for speed).
    pub fn set_embedding_enabled(&mut self, on: bool) {
        self.embedding.set_enabled(on);
    }

    /// Records where the session file lives (as a save or load does).
    pub fn set_session_path(&mut self, path: Option<PathBuf>) {
        self.session_path = path;
    }

    /// The persisted settings.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Where the session was last saved or loaded.
    pub fn session_path(&self) -> Option<&Path> {
        self.session_path.as_deref()
    }

    /// Which load of the data is installed: it counts up with every load, so a view keyed by
    /// it (a scroll position) starts afresh on new data.
    pub fn data_generation(&self) -> u64 {
        self.data.generation
    }

    /// The loaded data, once loaded.
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.data.dataset()
    }

    /// The fitted engine, once fitted.
    pub fn engine(&self) -> Option<&Engine> {
        self.data.engine()
    }

    /// The last fatal data error (shown in the data panel).
    pub fn data_error(&self) -> Option<&str> {
        self.data.error()
    }

    /// The embedding outcome (vectors, map, model) or why there is none.
    pub fn embedding(&self) -> &EmbeddingState {
        &self.embedding
    }

    /// The item vectors, once the catalogue is embedded.
    pub fn vectors(&self) -> Option<&Arc<ItemVectors>> {
        self.embedding.vectors()
    }

    /// The embedding model in use.
    pub fn model(&self) -> Option<&ModelInfo> {
        self.embedding.model()
    }

    /// The current list and its cached candidates.
    pub fn view(&self) -> &CurrentView {
        &self.view
    }

    /// The current explained list.
    pub fn list(&self) -> &[ExplainedItem] {
        self.view.list()
    }

    /// Cached candidates of the current shopper or query.
    pub fn target(&self) -> Option<&TargetState> {
        self.view.target()
    }

    /// Places each listed item moved at the last re-rank (positive = up); absent = new.
    pub fn rank_moves(&self) -> &HashMap<u32, i64> {
        self.view.rank_moves()
    }

    /// The Compare tab's B side.
    pub fn compare(&self) -> &CompareState {
        &self.compare
    }

    /// Evaluation results.
    pub fn evaluation(&self) -> &EvaluationState {
        &self.evaluation
    }

    /// Messages for the user, oldest first.
    pub fn notices(&self) -> &[Notice] {
        self.notices.all()
    }

    /// Notices no longer shown (dismissed, or about data since replaced), oldest first.
    pub fn notice_history(&self) -> &[Notice] {
        self.notices.history()
    }

    /// Background jobs.
    pub fn jobs(&self) -> &JobRunner<JobOutput> {
        &self.jobs
    }

    /// Adds a notice.
    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notices.push(level, text);
    }

    /// The fusion settings of the current mode.
    pub fn fusion(&self) -> &FusionConfig {
        self.session.active_fusion()
    }

    /// Shopper id as displayed (pseudonymised when the privacy switch is on): the one
    /// function every shown or exported shopper id goes through.
    pub fn display_user(&self, id: &str) -> String {
        if self.session.privacy { pseudonym(id, &self.session.privacy_salt) } else { id.to_owned() }
    }

    /// "shopper 17850", or the pseudonym alone ("shopper-01ba0add") with the privacy
    /// switch on, so that a label never reads "shopper shopper-…".
    pub fn shopper_label(&self, id: &str) -> String {
        let shown = self.display_user(id);
        if self.session.privacy { shown } else { format!("shopper {shown}") }
    }

    /// The shopper whose displayed id is `text` (the raw id is accepted only with the
    /// privacy switch off); otherwise the one shopper whose displayed id contains it.
    pub fn resolve_shopper(&self, text: &str) -> Option<String> {
        let engine = self.engine()?;
        let wanted = text.trim().to_lowercase();
        if wanted.is_empty() {
            return None;
        }
        let active = engine
            .dataset
            .behaviour
            .users
            .names()
            .iter()
            .enumerate()
            .filter(|(u, _)| engine.interactions.history.get(*u).is_some_and(|h| !h.is_empty()))
            .map(|(_, n)| (n, self.display_user(n).to_lowercase()));
        let mut partial = Vec::new();
        for (name, shown) in active {
            if shown == wanted {
                return Some(name.clone());
            }
            if shown.contains(&wanted) {
                partial.push(name);
            }
        }
        match partial.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    }

    /// Whether `id` is a shopper of the loaded data.
    pub fn knows_shopper(&self, id: &str) -> bool {
        self.engine().is_some_and(|e| e.dataset.behaviour.users.get(id).is_some())
    }

    /// The data files and mappings the installed data came from (the session's may
    /// differ: typed but not loaded, or a load still running).
    pub fn loaded_from(&self) -> Option<&crate::data::DataSources> {
        self.data.loaded_from()
    }

    /// Whether a job with this name is running.
    pub fn is_running(&self, name: &str) -> bool {
        self.jobs.is_running(name)
    }

    /// Signals that are fitted and can be used.
    pub fn available_signals(&self) -> Vec<SignalId> {
        self.engine().map(|e| e.models.available()).unwrap_or_default()
    }

    /// Handles one command: each family goes to the handler of the part it changes.
    pub fn handle(&mut self, command: Command) {
        use Command as C;
        match &command {
            C::SetWeight(signal, _) => self.view.weight_moving(*signal),
            _ => self.view.end_gesture(),
        }
        match command {
            c @ (C::Reload
            | C::SetDataFile { .. }
            | C::OpenDataset { .. }
            | C::SetMapping { .. }
            | C::SetEventWeight { .. }) => self.handle_data(c),
            c @ (C::AddSignalFile(_) | C::RemoveSignalFile(_)) => self.handle_signals(c),
            c @ (C::SetSignalEnabled(..)
            | C::SetWeight(..)
            | C::SetNormalisation(..)
            | C::SetMethod(_)
            | C::SetRrfK(_)
            | C::SetCandidates(_)
            | C::SetCandidateSource(_)
            | C::SetExcludeSeen(_)
            | C::SetMmrLambda(_)
            | C::SetCategoryCap(_)
            | C::SetCollapseDuplicates(_)
            | C::ApplyPreset(_)) => self.handle_fusion(c),
            c @ (C::AddRule(_) | C::RemoveRule(_) | C::SetRuleEnabled(..)) => self.handle_rules(c),
            c @ (C::SetMode(_) | C::SelectShopper(_) | C::SetQuery(_) | C::SetK(_) | C::SelectItem(_)) => {
                self.handle_selection(c)
            }
            c @ (C::SetModelDir(_) | C::SetDevice(_) | C::SetPrecision(_) | C::SetTemplateFields(_)) => {
                self.handle_model(c)
            }
            C::TrainTransformer => self.request_training(),
            c @ (C::SetLive(_) | C::RefitLive | C::SetLiveRefitAfter(_)) => self.handle_live(c),
            C::TrainRanker => self.start_ranker_training(),
            c @ (C::RunEvaluation
            | C::RunTuning
            | C::RunSweep1 { .. }
            | C::RunSweep2 { .. }
            | C::RunPareto
            | C::CancelJob(_)
            | C::SetEvalSettings(_)) => self.handle_evaluation(c),
            c @ (C::SaveSession(_) | C::LoadSession(_) | C::SetPrivacy(_) | C::Export { .. } | C::DismissNotice(_)) => {
                self.handle_session(c)
            }
            c @ (C::SetCompareMode(_)
            | C::SetCompareSource(_)
            | C::SnapshotCompareB
            | C::SetShopperB(_)
            | C::SetQueryB(_)
            | C::CompareAcrossUsers { .. }) => self.handle_compare(c),
        }
        self.update_live_metrics();
    }

    /// Collects finished jobs and hands each to the part it belongs to. Call once per frame.
    pub fn poll(&mut self) {
        for (name, result) in self.jobs.poll_finished() {
            match result {
                Err(panic) => {
                    self.notify(NoticeLevel::Error, format!("the job “{name}” failed unexpectedly: {panic}"));
                }
                Ok(JobOutput::Loaded(f, result)) => {
                    if f.data == self.requested {
                        self.finish_load(f, result);
                    }
                }
                Ok(JobOutput::Fitted(f, result)) => {
                    if f == self.fit_fingerprint() {
                        self.finish_fit(result);
                    }
                }
                Ok(JobOutput::Embedded(f, result)) => {
                    if f == self.embed_fingerprint() {
                        self.finish_embed(result);
                    }
                }
                Ok(JobOutput::Eval(f, result)) => {
                    if f == self.eval_fingerprint() {
                        self.finish_eval(result);
                    }
                }
                Ok(JobOutput::Trained(output)) => self.finish_training(*output),
                Ok(JobOutput::Signals(output)) => self.finish_signals(*output),
                Ok(JobOutput::Batch(result)) => self.finish_batch_export(result),
                Ok(JobOutput::Live(output)) => self.finish_live(*output),
                Ok(JobOutput::Ranked(output)) => self.finish_ranker_training(*output),
                Ok(JobOutput::LiveMetrics(output)) => self.finish_live_metrics(*output),
            }
        }
    }

    /// What a fit's result must have been computed for: the installed data, its event
    /// weights, the signal parameters and the item texts.
    pub(super) fn fit_fingerprint(&self) -> Fingerprint {
        let s = &self.session;
        Fingerprint::of(self.generation, &(&self.fit_params(), &s.event_weights, &s.model.template))
    }

    /// What an embedding must have been computed for: the installed catalogue and the
    /// model settings (folder, device, text template, batch size).
    pub(super) fn embed_fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.generation, &self.session.model)
    }

    /// What an evaluation-family result must have been computed for: the installed data
    /// and its event weights.
    pub(super) fn eval_fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.generation, &self.session.event_weights)
    }

    /// A progress handle that wakes the GUI on every change.
    fn progress_handle(&self) -> Progress {
        let p = Progress::new();
        if let Some(f) = &self.repaint {
            let f = f.clone();
            p.set_on_change(move || f());
        }
        p
    }

    /// Tells the user when a job could not start; `busy` is said when one of that name runs.
    fn report_start(&mut self, started: std::io::Result<bool>, busy: Option<String>) {
        match started {
            Ok(true) => {}
            Ok(false) => {
                if let Some(text) = busy {
                    self.notify(NoticeLevel::Info, text);
                }
            }
            Err(e) => self.notify(NoticeLevel::Error, format!("cannot start a background job: {e}")),
        }
    }

    /// The shopper with the most events (ties: the lower index): what every "Heaviest"
    /// button and the first shopper of new data use.
    pub fn heaviest_shopper(&self) -> Option<String> {
        self.heaviest_shoppers(1).into_iter().next()
    }

    /// The `n` shoppers with the most events, by id.
    pub fn heaviest_shoppers(&self, n: usize) -> Vec<String> {
        let Some(engine) = self.engine() else { return Vec::new() };
        let mut counts: Vec<(usize, u32)> =
            engine.interactions.history.iter().enumerate().map(|(u, h)| (h.len(), u as u32)).collect();
        counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        counts.into_iter().take(n).map(|(_, u)| engine.dataset.behaviour.users.name(u).to_owned()).collect()
    }

    /// Shoppers with at most `max_events` events.
    pub fn cold_shoppers(&self, max_events: usize) -> Vec<String> {
        let Some(engine) = self.engine() else { return Vec::new() };
        engine
            .interactions
            .history
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty() && h.len() <= max_events)
            .map(|(u, _)| engine.dataset.behaviour.users.name(u as u32).to_owned())
            .collect()
    }
}
