//! `recfuse watch`: follow a behaviour file (or a folder of new files) and print a
//! shopper's list at start and again each time it changes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::DataArgs;
use super::recommend::{RankArgs, build_engine_reusing, fusion_config, list_json, rules};
use crate::data::EventBatch;
use crate::data::follow::{Follower, POLL_INTERVAL};
use crate::embed::reuse::EarlierEmbedding;
use crate::jobs::{JobHandle, JobStatus, Progress};
use crate::session::Session;
use crate::session::engine::{Engine, ExplainedItem, Target};
use crate::session::live::{LiveFeed, LiveStep, follow_behaviour, follow_catalogue};
use crate::session::pipeline::EmbedOutcome;

/// Arguments of `recfuse watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Shopper id.
    #[arg(long)]
    pub user: String,
    /// Follow this folder for new files (CSV, JSON Lines, Parquet, …) instead of the
    /// behaviour file's appended rows.
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
    /// Stop after this many updated lists (the list at start is not counted).
    #[arg(long, value_name = "N")]
    pub max_updates: Option<usize>,
    /// Stop when no new event has arrived for this many seconds.
    #[arg(long, value_name = "SECS")]
    pub idle_exit: Option<f64>,
    /// Refit every signal in the background once the new events reach this share (per
    /// cent) of the events the last fit used, and swap the refit in when it is done;
    /// 0 = never.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    pub refit_after: f64,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// Follows the source; loads and fits again when the file was truncated or replaced.
struct Watcher {
    session: Session,
    engine: Engine,
    feed: LiveFeed,
    /// Events the engine's signals were fitted on, and events folded in since.
    fitted_events: usize,
    since_fit: usize,
    refit: Option<Refit>,
    /// The catalogue's embedding, kept so that a grown catalogue embeds only its new items
    /// (none when the semantic signal is not used).
    embedding: Option<EarlierEmbedding>,
    /// New items' texts being embedded in the background.
    embedding_job: Option<JobHandle<Result<EmbedOutcome, String>>>,
}

/// A refit running in the background, and the batches that arrived meanwhile.
struct Refit {
    job: JobHandle<Result<Engine, crate::jobs::Cancelled>>,
    pending: Vec<Arc<EventBatch>>,
    started: Instant,
}

impl Watcher {
    /// Loads and fits (embedding only the texts `earlier` lacks), then follows the
    /// behaviour source and, when there is one, the catalogue file from where the load
    /// read them.
    fn start(session: Session, args: &WatchArgs, earlier: Option<&EarlierEmbedding>) -> anyhow::Result<Self> {
        let path = session.data.behaviour.clone();
        let loaded_len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let catalogue_len = session.data.catalogue.as_ref().and_then(|c| std::fs::metadata(c).ok()).map(|m| m.len());
        let (engine, embedding) = build_engine_reusing(&session, &args.rank, earlier)?;
        let mut feed = match &args.inbox {
            Some(dir) => LiveFeed::new(Follower::folder(dir)?, session.data.behaviour_mapping.clone()),
            None => follow_behaviour(&path, loaded_len, &session.data.behaviour_mapping)?,
        };
        feed = feed.with_template(session.model.template.clone());
        if let (Some(catalogue), Some(len)) = (&session.data.catalogue, catalogue_len) {
            match follow_catalogue(catalogue, len) {
                Ok(follower) => feed = feed.with_catalogue(follower, session.data.catalogue_mapping.clone()),
                Err(e) => eprintln!("note: new items are not taken in while watching: {e}"),
            }
        }
        let fitted_events = engine.dataset.behaviour.user.len();
        Ok(Self { session, engine, feed, fitted_events, since_fit: 0, refit: None, embedding, embedding_job: None })
    }

    /// Embeds the new items' texts in the background (one embedding at a time: a running
    /// one embeds again when it ends if the catalogue grew meanwhile).
    fn embed_new_items(&mut self, args: &WatchArgs) {
        if self.embedding.is_none() || self.embedding_job.is_some() {
            return;
        }
        let earlier = self.embedding.clone();
        match super::embedding::embed_in_background(&self.engine, &self.session, args.rank.model_overrides(), earlier) {
            Ok(job) => self.embedding_job = Some(job),
            Err(e) => eprintln!("warning: could not start embedding the new items: {e}"),
        }
    }

    /// Attaches a finished embedding of new items; true when the list may have changed.
    fn finish_embedding(&mut self, args: &WatchArgs) -> bool {
        let Some(job) = &mut self.embedding_job else { return false };
        let result = match job.poll() {
            JobStatus::Running(_) => return false,
            JobStatus::Finished(result) => result,
            JobStatus::Panicked(message) => Err(message),
        };
        self.embedding_job = None;
        match result {
            Ok(outcome) => {
                for n in outcome.info.iter().filter(|n| n.starts_with("embedded ")) {
                    eprintln!("note: {n}");
                }
                let embedded = outcome.vectors.len();
                self.engine.attach_vectors(Ok(outcome.vectors.clone()), &self.session.params);
                self.embedding = Some(outcome.as_earlier());
                if self.engine.catalogue().len() > embedded {
                    self.embed_new_items(args);
                }
                true
            }
            Err(message) => {
                eprintln!("warning: the new items could not be embedded ({message}); semantic does not score them");
                false
            }
        }
    }

    /// Starts a background refit when the events since the last fit reached `percent` of
    /// the events it used.
    fn refit_if_drifted(&mut self, percent: f64) -> anyhow::Result<()> {
        let drift = 100.0 * self.since_fit as f64 / self.fitted_events.max(1) as f64;
        if percent <= 0.0 || self.refit.is_some() || drift < percent {
            return Ok(());
        }
        eprintln!(
            "note: {} new events since the last fit are {drift:.1} % of the {} it used; refitting in the background",
            self.since_fit, self.fitted_events
        );
        let engine = self.engine.clone();
        let params = self.session.params.clone();
        let job = JobHandle::spawn("refit", Progress::new(), move |p| engine.refit(&params, p))?;
        self.refit = Some(Refit { job, pending: Vec::new(), started: Instant::now() });
        Ok(())
    }

    /// Swaps a finished refit in, with the batches that arrived while it ran folded in.
    fn finish_refit(&mut self) -> bool {
        let Some(refit) = &mut self.refit else { return false };
        let result = match refit.job.poll() {
            JobStatus::Running(_) => return false,
            JobStatus::Finished(result) => result.map_err(|_| "cancelled".to_owned()),
            JobStatus::Panicked(message) => Err(message),
        };
        let Some(refit) = self.refit.take() else { return false };
        match result {
            Ok(mut engine) => {
                self.fitted_events = engine.dataset.behaviour.user.len();
                self.since_fit = 0;
                for batch in &refit.pending {
                    let (next, summary) = engine.apply_batch(batch);
                    engine = next;
                    self.since_fit += summary.events;
                }
                // New items embedded while the refit ran keep their vectors.
                let embedded = |e: &Engine| e.vectors.as_ref().map_or(0, |v| v.len());
                if embedded(&self.engine) > embedded(&engine)
                    && let Some(vectors) = self.engine.vectors.clone()
                {
                    engine.attach_vectors(Ok(vectors), &self.session.params);
                }
                eprintln!(
                    "note: refit on {} events in {:.1} s swapped in ({} events folded in since it started)",
                    self.fitted_events,
                    refit.started.elapsed().as_secs_f64(),
                    self.since_fit
                );
                self.engine = engine;
                true
            }
            Err(message) => {
                eprintln!("warning: the refit failed ({message}); the incremental state is kept");
                false
            }
        }
    }
}

/// What is printed: the items in order (a list "changes" when this does).
fn list_key(items: &[ExplainedItem]) -> Vec<u32> {
    items.iter().map(|e| e.ranked.item).collect()
}

/// Runs `recfuse watch`.
pub(crate) fn run(args: &WatchArgs) -> anyhow::Result<u8> {
    if let Some(s) = args.idle_exit {
        crate::limits::check_real("--idle-exit", s, 0.0, 1e6)?;
    }
    crate::limits::check_real("--refit-after", args.refit_after, 0.0, crate::session::MAX_REFIT_AFTER_PERCENT)?;
    let mut session = Session { data: args.data.sources()?, ..Session::default() };
    args.rank.apply_profile(&mut session)?;
    let config = fusion_config(session.fusion.clone(), &args.rank)?;
    let rules = rules(&args.rank, &session)?;
    let mut watcher = Watcher::start(session, args, None)?;
    let mut previous = print_current(&watcher.engine, args, &config, &rules, None, 0)?;
    let mut updates = 0usize;
    let mut live_events = 0usize;
    let mut last_news = Instant::now();
    let mut last_error: Option<String> = None;
    loop {
        if args.max_updates.is_some_and(|n| updates >= n) {
            break;
        }
        if args.idle_exit.is_some_and(|s| last_news.elapsed() >= Duration::from_secs_f64(s)) {
            eprintln!("note: no new events for {} s; stopping", args.idle_exit.unwrap_or(0.0));
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
        let refitted = watcher.finish_refit();
        let embedded = watcher.finish_embedding(args);
        match watcher.feed.step(&watcher.engine) {
            LiveStep::Idle if refitted || embedded => {}
            LiveStep::Idle => continue,
            LiveStep::Applied { engine, summary, batch, .. } => {
                watcher.engine = *engine;
                watcher.since_fit += summary.events;
                if let Some(note) = summary.new_items_note(watcher.engine.catalogue()) {
                    let how =
                        if watcher.embedding.is_some() { "; embedding their texts in the background" } else { "" };
                    eprintln!("note: {note}{how}");
                    watcher.embed_new_items(args);
                }
                if let Some(refit) = &mut watcher.refit {
                    refit.pending.push(batch);
                }
                watcher.refit_if_drifted(args.refit_after)?;
                live_events += summary.events;
                last_news = Instant::now();
                let shoppers = summary.shoppers.len();
                eprintln!(
                    "note: {} new events ({} rows dropped) from {shoppers} shopper{}, folded in in {:.1} ms",
                    summary.events,
                    summary.dropped,
                    if shoppers == 1 { "" } else { "s" },
                    summary.apply_time.as_secs_f64() * 1e3
                );
            }
            LiveStep::Reset(reason) => {
                eprintln!("note: {reason}");
                let session = watcher.session.clone();
                watcher = Watcher::start(session, args, watcher.embedding.as_ref())?;
                last_news = Instant::now();
            }
            LiveStep::CatalogueChanged(what) => {
                eprintln!("note: {what}; loading and fitting again (only new or changed item texts are embedded)");
                let session = watcher.session.clone();
                watcher = Watcher::start(session, args, watcher.embedding.as_ref())?;
                last_news = Instant::now();
            }
            LiveStep::Failed(message) => {
                if last_error.as_ref() != Some(&message) {
                    eprintln!("warning: {message}");
                    last_error = Some(message);
                }
                continue;
            }
        }
        let key = print_current(&watcher.engine, args, &config, &rules, Some(&previous), live_events)?;
        if key != previous {
            updates += 1;
            previous = key;
        }
    }
    Ok(0)
}

/// Ranks the shopper's list and prints it when it differs from `previous` (always when
/// there is none). Returns the list's key.
fn print_current(
    engine: &Engine,
    args: &WatchArgs,
    config: &crate::fusion::FusionConfig,
    rules: &[crate::fusion::Rule],
    previous: Option<&Vec<u32>>,
    live_events: usize,
) -> anyhow::Result<Vec<u32>> {
    let mut state = engine.prepare_target(Target::Shopper(args.user.clone()), config, rules);
    let items = engine.explain(&mut state, config, rules, args.rank.top);
    let key = list_key(&items);
    if previous == Some(&key) {
        return Ok(key);
    }
    if previous.is_none() {
        for n in &state.notices {
            eprintln!("note: {n}");
        }
    }
    let before: std::collections::HashMap<u32, usize> =
        previous.map(|p| p.iter().enumerate().map(|(i, &item)| (item, i + 1)).collect()).unwrap_or_default();
    if args.rank.json {
        let mut v = list_json(engine, &args.user, &items);
        if let Some(o) = v.as_object_mut() {
            o.insert("known_user".to_owned(), serde_json::json!(state.known));
            o.insert("fusion".to_owned(), serde_json::json!(config.method.id()));
            o.insert("live_events".to_owned(), serde_json::json!(live_events));
        }
        println!("{}", serde_json::to_string(&v)?);
        return Ok(key);
    }
    let cat = engine.catalogue();
    let when = if previous.is_some() { format!("after {live_events} live events") } else { "at start".to_owned() };
    println!("Top {} for {} — {when}", items.len(), args.user);
    for e in &items {
        let moved = match (previous, before.get(&e.ranked.item)) {
            (None, _) => String::new(),
            (Some(_), None) => "new".to_owned(),
            (Some(_), Some(&p)) if p > e.position => format!("↑{}", p - e.position),
            (Some(_), Some(&p)) if p < e.position => format!("↓{}", e.position - p),
            _ => String::new(),
        };
        let title = crate::data::report::shorten(cat.title(e.ranked.item), 44);
        println!(
            "{:>3} {:>4}  {:<12} {:<44} {:>8.4}",
            e.position,
            moved,
            cat.ids.name(e.ranked.item),
            title,
            e.ranked.score
        );
    }
    println!();
    Ok(key)
}
