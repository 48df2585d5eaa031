//! Live updates: new behaviour from a followed source folded into a fitted [`Engine`]
//! without a refit. The GUI's follow job and `recfuse watch` both go through
//! [`LiveFeed::step`] and [`Engine::apply_batch`].

use std::sync::Arc;

use rayon::prelude::*;
use std::time::{Duration, Instant, SystemTime};

use super::engine::Engine;
use crate::data::follow::{FollowEvent, Follower};
use crate::data::{ColumnMapping, DataError, EventBatch, build_batch, build_catalogue_rows};
use crate::embed::ItemTextTemplate;
use crate::jobs::{Cancelled, Progress};
use crate::score::params::SignalParams;
use crate::score::{LiveChange, LiveUpdate, SignalId};

/// How one signal took in a batch of live events.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalLive {
    /// It scores from the shopper's history, which now has the events.
    FromProfile,
    /// Its fitted state was updated (what was done).
    Updated(String),
    /// It is stale until a refit (why).
    Stale(String),
}

impl SignalLive {
    /// A short sentence for people.
    pub fn describe(&self) -> String {
        match self {
            SignalLive::FromProfile => "up to date (reads the shopper's history when scoring)".to_owned(),
            SignalLive::Updated(what) => format!("updated: {what}"),
            SignalLive::Stale(why) => format!("stale until a refit: {why}"),
        }
    }
}

/// What one batch of live events did.
#[derive(Debug, Clone, Default)]
pub struct BatchSummary {
    /// Data rows read.
    pub rows_read: usize,
    /// Events kept.
    pub events: usize,
    /// Rows dropped (by the same checks as the initial load).
    pub dropped: usize,
    /// Ids of the shoppers with new events (sorted).
    pub shoppers: Vec<String>,
    /// The newest event time in the batch (unix seconds).
    pub newest_event: Option<i64>,
    /// Events per item in the batch (item index, count), by item.
    pub items: Vec<(u32, usize)>,
    /// Per signal, how it took the batch in.
    pub signals: Vec<(SignalId, SignalLive)>,
    /// Time spent folding the batch in (reading excluded).
    pub apply_time: Duration,
    /// Where that time went: appending to the log, the interactions, then each signal.
    pub phases: Vec<(String, Duration)>,
    /// Items appended to the catalogue (new rows of a followed catalogue file, or items a
    /// derived catalogue had not seen), by index. They have no text vector until the
    /// catalogue is embedded again ([`BatchSummary::new_items_note`]).
    pub new_items: Vec<u32>,
}

impl BatchSummary {
    /// What the batch added to the catalogue, when it added something: "2 new items
    /// (“Walnut bowl”, “Oak tray”)".
    pub fn new_items_note(&self, catalogue: &crate::data::Catalogue) -> Option<String> {
        let n = self.new_items.len();
        (n > 0).then(|| {
            let shown: Vec<u32> = self.new_items.iter().copied().take(3).collect();
            let more = if n > 3 { format!(" and {} more", n - 3) } else { String::new() };
            format!(
                "{n} new item{} ({}{more}) added to the catalogue",
                if n == 1 { "" } else { "s" },
                crate::score::title_list(catalogue, &shown)
            )
        })
    }
}

impl Engine {
    /// Folds a batch of live events into a copy of the engine: the dataset grows (and its
    /// validation report counts the batch), the interactions take the events in, and every
    /// signal updates itself where that is cheap ([`crate::score::Scorer::live_update`]).
    /// The engine it is called on is left as it was, so the caller swaps the result in.
    pub fn apply_batch(&self, batch: &EventBatch) -> (Engine, BatchSummary) {
        let start = Instant::now();
        let mut phases = Vec::new();
        let mut dataset = (*self.dataset).clone();
        let items_before = dataset.catalogue.len();
        let added = dataset.append_batch(batch);
        let new_items: Vec<u32> = (items_before as u32..dataset.catalogue.len() as u32).collect();
        let item_texts = self.grown_texts(&dataset.catalogue, batch);
        phases.push(("events appended to the log".to_owned(), start.elapsed()));
        let t = Instant::now();
        let mut interactions = (*self.interactions).clone();
        interactions.grow_items(dataset.catalogue.len());
        let delta = interactions.apply(&dataset.behaviour, &added);
        phases.push(("interactions".to_owned(), t.elapsed()));
        let change = LiveChange {
            interactions: &interactions,
            delta: &delta,
            catalogue: &dataset.catalogue,
            items_before,
            texts: &item_texts,
        };
        let mut models = self.models.clone();
        let mut signals = Vec::new();
        // The signals update independently of each other: in parallel (on the caller's
        // rayon pool), each timed on its own.
        let updates: Vec<(SignalId, LiveUpdate, Duration)> = self
            .models
            .scorers
            .par_iter()
            .map(|(id, scorer)| {
                let t = Instant::now();
                let update = scorer.live_update(&change);
                (*id, update, t.elapsed())
            })
            .collect();
        for (id, update, took) in updates {
            let state = match update {
                LiveUpdate::FromProfile => SignalLive::FromProfile,
                LiveUpdate::Updated(next, what) => {
                    models.scorers.insert(id, next);
                    SignalLive::Updated(what)
                }
                LiveUpdate::Stale(why) => SignalLive::Stale(why),
            };
            signals.push((id, state));
            phases.push((id.id().to_owned(), took));
        }
        let shoppers = delta.users.iter().map(|&u| dataset.behaviour.users.name(u).to_owned()).collect();
        let summary = BatchSummary {
            rows_read: batch.report.rows_read,
            events: added.len(),
            dropped: batch.report.rows_dropped(),
            shoppers,
            newest_event: added.iter().map(|e| e.time).max(),
            items: {
                let mut per_item: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
                for e in &added {
                    *per_item.entry(e.item).or_insert(0) += 1;
                }
                per_item.into_iter().collect()
            },
            signals,
            apply_time: Duration::ZERO,
            phases,
            new_items,
        };
        let engine = Engine {
            dataset: Arc::new(dataset),
            interactions: Arc::new(interactions),
            models,
            item_texts,
            vectors: self.vectors.clone(),
            external: self.external.clone(),
            ranker: self.ranker.clone(),
            segments: std::sync::OnceLock::new(),
        };
        if self.segments.get().is_some() {
            // New events can move a shopper to another segment; read them again here, in the job.
            engine.segments();
        }
        (engine, BatchSummary { apply_time: start.elapsed(), ..summary })
    }
}

impl Engine {
    /// The item texts with the batch's new items' texts after them: those the session
    /// layer set on the batch, else their titles.
    fn grown_texts(&self, grown: &crate::data::Catalogue, batch: &EventBatch) -> Arc<Vec<String>> {
        let known = self.item_texts.len();
        if grown.len() <= known {
            return self.item_texts.clone();
        }
        let mut texts = (*self.item_texts).clone();
        if batch.item_texts.len() == grown.len() - known {
            texts.extend(batch.item_texts.iter().cloned());
        } else {
            texts.extend((known as u32..grown.len() as u32).map(|i| grown.title(i).to_owned()));
        }
        Arc::new(texts)
    }

    /// Fits every signal again on all events so far (the dataset as live batches grew it),
    /// keeping what a fit does not produce: the item vectors, the imported score files, the
    /// learned ranker and a trained transformer (their weights stay until trained again).
    pub fn refit(&self, params: &SignalParams, progress: &Progress) -> Result<Engine, Cancelled> {
        let first = SignalParams {
            transformer: crate::score::params::TransformerParams { enabled: false, ..params.transformer.clone() },
            ..params.clone()
        };
        let vectors = self.vectors.clone().ok_or_else(|| {
            self.models.unavailable.get(&SignalId::SEMANTIC).cloned().unwrap_or_else(|| "no item embeddings".to_owned())
        });
        let mut engine =
            super::pipeline::fit_all(self.dataset.clone(), &first, self.item_texts.clone(), vectors, progress)?;
        if let Some(scorer) = self.models.scorers.get(&SignalId::TRANSFORMER) {
            engine.install(SignalId::TRANSFORMER, scorer.clone());
        }
        engine.set_external(self.external.clone());
        engine.ranker = self.ranker.clone();
        Ok(engine)
    }
}

/// What one step of a live feed found.
pub enum LiveStep {
    /// Nothing new.
    Idle,
    /// New events, folded into a new engine.
    Applied {
        /// The engine with the events.
        engine: Box<Engine>,
        /// The batch itself (to fold into another engine if the one it was applied to was
        /// replaced meanwhile, e.g. by a refit).
        batch: Arc<EventBatch>,
        /// What it did.
        summary: BatchSummary,
        /// When the source was last modified (for the lag shown to the user).
        modified: Option<SystemTime>,
    },
    /// The followed file was truncated or replaced: reload it (the reason).
    Reset(String),
    /// New rows of the followed catalogue file change items already loaded (a new title or
    /// price): the data is loaded and fitted again (what was seen). Rows for new items only
    /// are folded in like events ([`LiveStep::Applied`]).
    CatalogueChanged(String),
    /// Reading failed (the message names the file; following goes on).
    Failed(String),
}

/// A followed behaviour source and the column mapping its rows are read with, and the
/// followed catalogue file, if any.
#[derive(Debug)]
pub struct LiveFeed {
    follower: Follower,
    mapping: ColumnMapping,
    /// The followed catalogue file and its column mapping.
    catalogue: Option<(Follower, ColumnMapping)>,
    /// The embedding template new items' texts are built with.
    template: ItemTextTemplate,
}

impl LiveFeed {
    /// Follows `follower`'s source, reading new rows with `mapping` (the behaviour file's).
    pub fn new(follower: Follower, mapping: ColumnMapping) -> Self {
        Self { follower, mapping, catalogue: None, template: ItemTextTemplate::default() }
    }

    /// Also follows the catalogue file, reading its new rows with `mapping` (the catalogue
    /// file's): new items are folded in, changed ones make [`LiveStep::CatalogueChanged`].
    pub fn with_catalogue(mut self, catalogue: Follower, mapping: ColumnMapping) -> Self {
        self.catalogue = Some((catalogue, mapping));
        self
    }

    /// Builds new items' texts with `template` (the session's; the default otherwise).
    pub fn with_template(mut self, template: ItemTextTemplate) -> Self {
        self.template = template;
        self
    }

    /// Checks the followed catalogue file once.
    fn catalogue_step(&mut self, engine: &Engine) -> Option<LiveStep> {
        let (follower, mapping) = self.catalogue.as_mut()?;
        match follower.poll() {
            Ok(None) => None,
            Ok(Some(FollowEvent::Reset { path, reason })) => {
                Some(LiveStep::Reset(format!("{}: {reason}; reloading it", crate::data::format::short_name(&path))))
            }
            Ok(Some(FollowEvent::Rows(rows))) => {
                let modified = std::fs::metadata(&rows.source).and_then(|m| m.modified()).ok();
                let name = crate::data::format::short_name(&rows.source);
                match build_catalogue_rows(rows, &engine.dataset, mapping) {
                    Ok(read) if !read.changed_rows.is_empty() => {
                        let rows: Vec<String> = read.changed_rows.iter().take(5).map(usize::to_string).collect();
                        let n = read.changed_rows.len();
                        Some(LiveStep::CatalogueChanged(format!(
                            "{name}: {n} new row{} for items already loaded (row{} {})",
                            if n == 1 { "" } else { "s" },
                            if n == 1 { "" } else { "s" },
                            rows.join(", ")
                        )))
                    }
                    Ok(read) => Some(self.fold(engine, read.batch, modified)),
                    Err(e) => Some(LiveStep::Failed(e.to_string())),
                }
            }
            Err(e) => Some(LiveStep::Failed(e.to_string())),
        }
    }

    /// Folds a batch into a copy of `engine`, new items' texts built with the template.
    fn fold(&self, engine: &Engine, mut batch: EventBatch, modified: Option<SystemTime>) -> LiveStep {
        if !batch.new_items.is_empty() {
            batch.item_texts = super::pipeline::item_texts(&batch.new_items, &self.template);
        }
        let (next, summary) = engine.apply_batch(&batch);
        LiveStep::Applied { engine: Box::new(next), batch: Arc::new(batch), summary, modified }
    }

    /// The followed file or folder.
    pub fn path(&self) -> &std::path::Path {
        self.follower.path()
    }

    /// Checks the source once and folds what is new into a copy of `engine`.
    pub fn step(&mut self, engine: &Engine) -> LiveStep {
        if let Some(step) = self.catalogue_step(engine) {
            return step;
        }
        match self.follower.poll() {
            Ok(None) => LiveStep::Idle,
            Ok(Some(FollowEvent::Reset { path, reason })) => {
                LiveStep::Reset(format!("{}: {reason}; reloading it", crate::data::format::short_name(&path)))
            }
            Ok(Some(FollowEvent::Rows(rows))) => {
                let modified = std::fs::metadata(&rows.source).and_then(|m| m.modified()).ok();
                match build_batch(rows, &engine.dataset, &self.mapping) {
                    Ok(batch) => self.fold(engine, batch, modified),
                    Err(e) => LiveStep::Failed(e.to_string()),
                }
            }
            Err(e) => LiveStep::Failed(e.to_string()),
        }
    }
}

/// Starts following the behaviour file `path` at byte `offset` (the file's size when
/// it was loaded), with the behaviour file's column mapping.
pub fn follow_behaviour(path: &std::path::Path, offset: u64, mapping: &ColumnMapping) -> Result<LiveFeed, DataError> {
    Ok(LiveFeed::new(Follower::file(path, offset)?, mapping.clone()))
}

/// Follows the catalogue file `path` from byte `offset` (its size when it was loaded) for
/// [`LiveFeed::with_catalogue`]. A catalogue that cannot be followed (compressed, Parquet)
/// is an error naming it.
pub fn follow_catalogue(path: &std::path::Path, offset: u64) -> Result<Follower, DataError> {
    Follower::file(path, offset)
}
