//! The item embeddings: the one owner of the [`EmbedOutcome`] (vectors, 2-D map, loaded
//! model), why there is none, and query embeddings computed once per query text. The
//! engine gets its vectors only from here ([`EmbeddingState::attach_to`]).

use std::sync::Arc;

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::embed::projection::Projection;
use crate::embed::{ItemVectors, SentenceEmbedder};
use crate::jobs::Progress;
use crate::score::SignalParams;
use crate::session::command::Command;
use crate::session::engine::Engine;
use crate::session::impact::Impact;
use crate::session::pipeline::{self, EmbedOutcome, ModelInfo};

/// How many query embeddings are kept (A, B and a few recent ones).
const QUERY_CACHE: usize = 8;

/// The embedding outcome, or why there is none.
pub struct EmbeddingState {
    enabled: bool,
    outcome: Option<EmbedOutcome>,
    failure: Option<String>,
    queries: Vec<(String, Option<Vec<f32>>)>,
    /// The last embedding of data no longer loaded, kept until the next embedding ends so
    /// that the texts both share are not embedded again (a grown catalogue embeds only its
    /// new items). Never attached to an engine: vectors are reused by text only.
    earlier: Option<crate::embed::reuse::EarlierEmbedding>,
}

impl Default for EmbeddingState {
    fn default() -> Self {
        Self { enabled: true, outcome: None, failure: None, queries: Vec::new(), earlier: None }
    }
}

impl EmbeddingState {
    /// The item vectors.
    pub fn vectors(&self) -> Option<&Arc<ItemVectors>> {
        self.outcome.as_ref().map(|o| &o.vectors)
    }

    /// The 2-D map of the vectors.
    pub fn projection(&self) -> Option<&Arc<Projection>> {
        self.outcome.as_ref().map(|o| &o.projection)
    }

    /// The loaded model (for queries).
    pub fn embedder(&self) -> Option<&Arc<SentenceEmbedder>> {
        self.outcome.as_ref().map(|o| &o.embedder)
    }

    /// Model and device.
    pub fn model(&self) -> Option<&ModelInfo> {
        self.outcome.as_ref().map(|o| &o.model)
    }

    /// Why the last embedding failed.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Whether the catalogue is embedded after loading.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub(super) fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// Forgets the vectors, map and query embeddings (they belong to data no longer loaded).
    pub(super) fn forget(&mut self) {
        if let Some(outcome) = self.outcome.take() {
            self.earlier = Some(outcome.as_earlier());
        }
        self.failure = None;
        self.queries.clear();
    }

    /// Installs the vectors in `engine`, or tells it why there are none, so that signals
    /// fitted after a failure say why `semantic` is missing instead of "being computed".
    pub(super) fn attach_to(&self, engine: &mut Engine, params: &SignalParams) {
        let vectors = match (self.vectors(), &self.failure) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(why)) => Err(why.clone()),
            (None, None) if self.enabled => Err("item embeddings are being computed".to_owned()),
            (None, None) => Err("embedding is off".to_owned()),
        };
        engine.attach_vectors(vectors, params);
    }

    /// The embedding of a query text with the loaded model (None without a model),
    /// computed once per text and model.
    pub(super) fn embed_query(&mut self, text: &str) -> Option<Vec<f32>> {
        if let Some((_, e)) = self.queries.iter().find(|(t, _)| t == text) {
            return e.clone();
        }
        let embedder = self.embedder()?;
        let e = embedder.embed(&[text.to_owned()], 1, &Progress::new()).ok().map(|e| e.data);
        if self.queries.len() >= QUERY_CACHE {
            self.queries.remove(0);
        }
        self.queries.push((text.to_owned(), e.clone()));
        e
    }
}

impl Workbench {
    /// Model folder, device, precision and embedded text fields: each re-embeds.
    pub(super) fn handle_model(&mut self, command: Command) {
        match command {
            Command::SetModelDir(dir) => {
                self.session.model.model_dir = dir;
                self.start_embed();
            }
            Command::SetDevice(d) => {
                self.session.model.device = d;
                self.start_embed();
            }
            Command::SetPrecision(p) => {
                self.session.model.precision = p;
                self.start_embed();
            }
            Command::SetTemplateFields(fields) => {
                self.session.model.template.fields = fields;
                if let Some(ds) = self.data.dataset().cloned() {
                    self.start_fit(ds);
                }
                self.start_embed();
            }
            _ => {}
        }
    }

    /// Embeds the catalogue in the background; an embedding still running (of other
    /// data or other model settings) is superseded and its result dropped.
    pub(super) fn start_embed(&mut self) {
        if !self.embedding.enabled {
            return;
        }
        let Some(dataset) = self.data.dataset().cloned() else { return };
        self.embedding.failure = None;
        let session = self.session.clone();
        let stamp = self.embed_fingerprint();
        let earlier = self.embedding.outcome.as_ref().map(EmbedOutcome::as_earlier).or(self.embedding.earlier.clone());
        let progress = self.progress_handle();
        let started = self.jobs.replace(job::EMBED, progress, move |p| {
            JobOutput::Embedded(stamp, pipeline::embed_catalogue(&dataset, &session, earlier.as_ref(), p))
        });
        self.report_start(started, None);
    }

    pub(super) fn finish_embed(&mut self, result: Result<EmbedOutcome, String>) {
        self.embedding.queries.clear();
        match result {
            Ok(outcome) => {
                self.embedding.earlier = None;
                for n in &outcome.info {
                    self.notify(NoticeLevel::Info, n.clone());
                }
                for n in &outcome.notices {
                    self.notify(NoticeLevel::Warning, n.clone());
                }
                let embedded = outcome.vectors.len();
                self.embedding.outcome = Some(outcome);
                let params = self.fit_params();
                if let Some(engine) = self.data.engine_mut() {
                    self.embedding.attach_to(engine, &params);
                    self.apply_impact(Impact::Rescore);
                }
                // Live batches added items while the embedding ran: embed those too.
                if self.data.dataset().is_some_and(|d| d.catalogue.len() > embedded) {
                    self.start_embed();
                }
            }
            Err(e) => {
                self.notify(NoticeLevel::Warning, format!("semantic signal unavailable: {e}"));
                self.embedding.outcome = None;
                self.embedding.failure = Some(e);
                let params = self.fit_params();
                if let Some(engine) = self.data.engine_mut() {
                    self.embedding.attach_to(engine, &params);
                }
            }
        }
        // A ranker reading item vectors waited for them (or for their failure).
        self.install_ranker();
        // "Train after load" waited for the item vectors (or for their failure).
        self.train_if_wanted();
    }
}
