//! Live mode: the behaviour file is followed by a background job that polls it every
//! 250 ms and folds new rows into a copy of the engine; [`Workbench::poll`] swaps the copy
//! in and refreshes the list (rank-change markers show what moved). A full refit runs on
//! request as the usual fit job; batches that arrive meanwhile are folded into its result.
//! The same refit starts by itself once the events folded in since the last fit reach
//! `live.refit_after_percent` of the events that fit used (the drift shown in the strip).
//! The catalogue file is followed too: its new items are folded in like events (and, without
//! one, items the events name that the derived catalogue lacks); their texts are then
//! embedded in the background, reusing every vector embedded before. Rows that change an
//! item already loaded reload the data (see [`LiveStep::CatalogueChanged`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::data::{Dataset, EventBatch};
use crate::fusion::{FusionConfig, Rule};
use crate::session::Mode;
use crate::session::command::Command;
use crate::session::engine::{Target, TargetState};
use crate::session::live::{BatchSummary, LiveFeed, LiveStep, follow_behaviour, follow_catalogue};

/// What the follow job hands back: the feed (to poll again) and what it found.
pub struct LiveOutput {
    feed: LiveFeed,
    step: LiveStep,
    base: Arc<Dataset>,
    generation: u64,
    /// The job was cancelled (from the status bar): live mode stops.
    cancelled: bool,
    /// The shown shopper's candidates scored by the new engine, so that the frame that
    /// installs it only re-ranks them.
    prepared: Option<Prepared>,
}

/// A shopper's candidates scored on the follow job's thread, with what they were scored for.
pub struct Prepared {
    target: Target,
    fusion: FusionConfig,
    rules: Vec<Rule>,
    state: TargetState,
}

/// Counters of the live strip.
#[derive(Debug, Clone, Default)]
pub struct LiveStats {
    /// Events folded in since live mode started.
    pub events: usize,
    /// Rows dropped by validation since live mode started.
    pub dropped: usize,
    /// Batches folded in.
    pub batches: usize,
    /// Time of the newest event (unix seconds).
    pub last_event: Option<i64>,
    /// From the source's last modification to the refreshed list, for the last batch.
    pub lag: Option<Duration>,
    /// The last batch.
    pub last_batch: Option<BatchSummary>,
    /// (when, events) of recent batches, for the rate.
    recent: VecDeque<(Instant, usize)>,
    /// Events per item since live mode started.
    per_item: std::collections::HashMap<u32, usize>,
}

impl LiveStats {
    /// Events per second over the last ten seconds.
    pub fn events_per_second(&self) -> f64 {
        let now = Instant::now();
        let window = Duration::from_secs(10);
        let n: usize = self.recent.iter().filter(|(t, _)| now.duration_since(*t) <= window).map(|(_, n)| n).sum();
        n as f64 / window.as_secs_f64()
    }

    /// Events for `item` since live mode started.
    pub fn item_events(&self, item: u32) -> usize {
        self.per_item.get(&item).copied().unwrap_or(0)
    }

    fn record(&mut self, summary: &BatchSummary, lag: Option<Duration>) {
        let now = Instant::now();
        for &(item, n) in &summary.items {
            *self.per_item.entry(item).or_insert(0) += n;
        }
        self.events += summary.events;
        self.dropped += summary.dropped;
        self.batches += 1;
        self.last_event = self.last_event.max(summary.newest_event);
        self.lag = lag;
        self.recent.push_back((now, summary.events));
        while self.recent.front().is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(10)) {
            self.recent.pop_front();
        }
        self.last_batch = Some(summary.clone());
    }
}

/// Live mode's state.
#[derive(Default)]
pub struct LiveState {
    on: bool,
    /// The follower, while no job holds it.
    feed: Option<LiveFeed>,
    /// Size of the behaviour file just before it was last loaded (where following starts).
    loaded_len: Option<u64>,
    /// The same for the catalogue file, when there is one.
    catalogue_len: Option<u64>,
    /// Bumped on every reload: a job's output from before it is dropped.
    generation: u64,
    /// Batches folded in since the running refit started (folded into its result).
    since_refit: Option<Vec<Arc<EventBatch>>>,
    /// The last reading error (said once, not every poll).
    last_error: Option<String>,
    /// Events the installed signals were fitted on (before any live batch).
    fitted_events: usize,
    /// Events folded in since that fit.
    since_fit: usize,
    stats: LiveStats,
}

impl LiveState {
    /// Whether the behaviour file is followed.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The live strip's counters.
    pub fn stats(&self) -> &LiveStats {
        &self.stats
    }

    /// Whether a refit started in live mode is running.
    pub fn refitting(&self) -> bool {
        self.since_refit.is_some()
    }

    /// Events the installed signals were fitted on.
    pub fn fitted_events(&self) -> usize {
        self.fitted_events
    }

    /// Events folded in since the installed signals were fitted.
    pub fn events_since_fit(&self) -> usize {
        self.since_fit
    }

    /// Those events as a share (per cent) of the events the fit used.
    pub fn drift_percent(&self) -> f64 {
        if self.fitted_events == 0 { 0.0 } else { 100.0 * self.since_fit as f64 / self.fitted_events as f64 }
    }
}

impl Workbench {
    /// Live mode on or off, and the full refit.
    pub(super) fn handle_live(&mut self, command: Command) {
        match command {
            Command::SetLive(on) => {
                self.live.on = on;
                if on {
                    self.live.stats = LiveStats::default();
                    self.live.last_error = None;
                    if self.jobs.is_running(job::FIT) && self.live.since_refit.is_none() {
                        self.live.since_refit = Some(Vec::new());
                    }
                    self.ensure_live_feed();
                    self.start_live_job();
                } else {
                    self.live.feed = None;
                    self.live.since_refit = None;
                    self.jobs.cancel(job::LIVE);
                }
            }
            Command::RefitLive => {
                if let Some(dataset) = self.data.engine().map(|e| e.dataset.clone()) {
                    self.notify(NoticeLevel::Info, "refitting every signal on all events in the background");
                    self.start_fit(dataset);
                }
            }
            Command::SetLiveRefitAfter(percent) => {
                match crate::limits::check_real(
                    "live.refit_after_percent",
                    percent,
                    0.0,
                    crate::session::MAX_REFIT_AFTER_PERCENT,
                ) {
                    Ok(()) => {
                        self.session.live.refit_after_percent = percent;
                        self.refit_if_drifted();
                    }
                    Err(e) => self.notify(NoticeLevel::Error, e.to_string()),
                }
            }
            _ => {}
        }
    }

    /// Notes the behaviour file's size before a load, and forgets the old feed.
    pub(super) fn live_before_load(&mut self) {
        self.live.loaded_len = std::fs::metadata(&self.session.data.behaviour).ok().map(|m| m.len());
        self.live.catalogue_len =
            self.session.data.catalogue.as_ref().and_then(|c| std::fs::metadata(c).ok()).map(|m| m.len());
        self.live.generation += 1;
        self.live.feed = None;
        self.live.since_refit = None;
    }

    /// Starts collecting live batches for a refit that starts now.
    pub(super) fn live_before_fit(&mut self) {
        if self.live.on && self.live.since_refit.is_none() {
            self.live.since_refit = Some(Vec::new());
        }
    }

    /// Folds the batches that arrived during a refit into its result, then (re)starts
    /// following.
    pub(super) fn live_after_fit(&mut self, engine: &mut crate::session::engine::Engine) {
        self.live.fitted_events = engine.dataset.behaviour.user.len();
        self.live.since_fit = 0;
        if let Some(batches) = self.live.since_refit.take() {
            for batch in batches {
                let (next, summary) = engine.apply_batch(&batch);
                *engine = next;
                self.live.since_fit += summary.events;
            }
        }
    }

    /// Starts the refit when the events since the last fit passed the session's threshold
    /// and no fit is running.
    fn refit_if_drifted(&mut self) {
        let threshold = self.session.live.refit_after_percent;
        if !self.live.on || threshold <= 0.0 || self.live.refitting() || self.jobs.is_running(job::FIT) {
            return;
        }
        let drift = self.live.drift_percent();
        if drift < threshold {
            return;
        }
        let Some(dataset) = self.data.engine().map(|e| e.dataset.clone()) else { return };
        self.notify(
            NoticeLevel::Info,
            format!(
                "refitting every signal in the background: {} live events since the last fit are {drift:.1} % of \
                 the {} it used (automatic refit at {threshold} %)",
                self.live.since_fit, self.live.fitted_events
            ),
        );
        self.start_fit(dataset);
    }

    /// Starts following once the engine exists.
    pub(super) fn live_after_install(&mut self) {
        self.ensure_live_feed();
        self.start_live_job();
    }

    fn ensure_live_feed(&mut self) {
        if !self.live.on || self.live.feed.is_some() || self.data.engine().is_none() || self.jobs.is_running(job::LIVE)
        {
            return;
        }
        let path = self.session.data.behaviour.clone();
        let offset = match self.live.loaded_len {
            Some(n) => n,
            None => std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        };
        match follow_behaviour(&path, offset, &self.session.data.behaviour_mapping) {
            Ok(feed) => {
                let feed = feed.with_template(self.session.model.template.clone());
                self.live.feed = Some(self.with_followed_catalogue(feed));
            }
            Err(e) => {
                self.notify(NoticeLevel::Error, format!("live mode off: {e}"));
                self.live.on = false;
            }
        }
    }

    /// Follows the catalogue file too, from its size at the load, so that new items are
    /// taken in; one that cannot be followed (compressed, Parquet) is said once.
    fn with_followed_catalogue(&mut self, feed: LiveFeed) -> LiveFeed {
        let Some(path) = self.session.data.catalogue.clone() else { return feed };
        let offset = match self.live.catalogue_len {
            Some(n) => n,
            None => std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        };
        match follow_catalogue(&path, offset) {
            Ok(follower) => feed.with_catalogue(follower, self.session.data.catalogue_mapping.clone()),
            Err(e) => {
                self.notify(NoticeLevel::Info, format!("live: new items are not taken in: {e}"));
                feed
            }
        }
    }

    fn start_live_job(&mut self) {
        if !self.live.on || self.jobs.is_running(job::LIVE) {
            return;
        }
        let Some(engine) = self.data.engine().cloned() else { return };
        let Some(mut feed) = self.live.feed.take() else { return };
        let generation = self.live.generation;
        let base = engine.dataset.clone();
        let shown = self.live_target().map(|t| (t, self.session.active_fusion().clone(), self.session.rules.clone()));
        let k = self.session.selection.k;
        let started = self.jobs.start(job::LIVE, crate::jobs::Progress::new(), move |p| {
            let until = Instant::now() + crate::data::follow::POLL_INTERVAL;
            while Instant::now() < until && !p.is_cancelled() {
                std::thread::sleep(Duration::from_millis(25));
            }
            let cancelled = p.is_cancelled();
            let step = if cancelled { LiveStep::Idle } else { feed.step(&engine) };
            let prepared = match (&step, shown) {
                (LiveStep::Applied { engine: next, .. }, Some((target, fusion, rules))) => {
                    let mut state = next.prepare_target(target.clone(), &fusion, &rules);
                    // Explaining the top here fills the state's evidence cache (ALS solves
                    // the shopper's system for it), so the frame's own explain is cheap.
                    let _ = next.explain(&mut state, &fusion, &rules, k);
                    Some(Prepared { target, fusion, rules, state })
                }
                _ => None,
            };
            JobOutput::Live(Box::new(LiveOutput { feed, step, base, generation, cancelled, prepared }))
        });
        self.report_start(started, None);
    }

    /// Takes in what the follow job found and polls again.
    pub(super) fn finish_live(&mut self, output: LiveOutput) {
        let LiveOutput { feed, step, base, generation, cancelled, prepared } = output;
        if !self.live.on || generation != self.live.generation {
            return;
        }
        if cancelled {
            self.live.on = false;
            self.live.since_refit = None;
            self.notify(NoticeLevel::Info, "live mode stopped");
            return;
        }
        self.live.feed = Some(feed);
        match step {
            LiveStep::Idle => {}
            LiveStep::Applied { engine, batch, summary, modified } => {
                self.install_live(*engine, &batch, &base, summary, modified, prepared)
            }
            LiveStep::Reset(reason) => {
                self.notify(NoticeLevel::Warning, reason);
                self.reload();
                return;
            }
            LiveStep::CatalogueChanged(what) => {
                self.notify(
                    NoticeLevel::Info,
                    format!(
                        "live: {what}; loading and fitting again in the background (only new or changed item texts \
                         are embedded)"
                    ),
                );
                self.reload();
                return;
            }
            LiveStep::Failed(message) => {
                if self.live.last_error.as_ref() != Some(&message) {
                    self.notify(NoticeLevel::Warning, format!("live: {message}"));
                    self.live.last_error = Some(message);
                }
            }
        }
        self.start_live_job();
    }

    fn install_live(
        &mut self,
        engine: crate::session::engine::Engine,
        batch: &Arc<EventBatch>,
        base: &Arc<Dataset>,
        summary: BatchSummary,
        modified: Option<SystemTime>,
        prepared: Option<Prepared>,
    ) {
        let Some(current) = self.data.engine() else { return };
        // The engine was replaced while the job ran (a refit): fold the batch into the new one.
        let same_base = Arc::ptr_eq(&current.dataset, base);
        let engine = if same_base { engine } else { current.apply_batch(batch).0 };
        if let Some(pending) = &mut self.live.since_refit {
            pending.push(batch.clone());
        }
        self.data.install_live(engine);
        // The job scored the shown shopper's candidates on the new engine: when nothing that
        // decides the list changed meanwhile, this frame only re-ranks them.
        let current_target = self.live_target();
        let prepared = prepared.filter(|p| {
            same_base
                && current_target.as_ref() == Some(&p.target)
                && *self.session.active_fusion() == p.fusion
                && self.session.rules == p.rules
        });
        match prepared {
            Some(p) => self.refresh_after_live_with(p.state),
            None => self.refresh_after_live(),
        }
        let lag = modified.and_then(|m| SystemTime::now().duration_since(m).ok());
        self.live.since_fit += summary.events;
        if let Some(note) = self.data.engine().and_then(|e| summary.new_items_note(e.catalogue())) {
            self.live_items_added(&note);
        }
        self.live.stats.record(&summary, lag);
        self.live.last_error = None;
        self.refit_if_drifted();
    }

    /// Says what a batch added to the catalogue and embeds the new items' texts in the
    /// background (every vector embedded before is reused). An embedding already running
    /// is left to finish; it embeds again if the catalogue grew meanwhile.
    fn live_items_added(&mut self, note: &str) {
        let embedding = if !self.embedding.enabled() {
            "embedding is off, so the semantic signal does not score them"
        } else {
            if !self.jobs.is_running(job::EMBED) {
                self.start_embed();
            }
            "their texts are embedded in the background"
        };
        self.notify(NoticeLevel::Info, format!("live: {note}; every signal takes them in, {embedding}"));
    }

    /// The shopper whose list is shown, when the list is a shopper's (the follow job
    /// prepares it).
    fn live_target(&self) -> Option<Target> {
        let selection = &self.session.selection;
        match selection.mode {
            Mode::Recommend => selection.shopper.clone().map(Target::Shopper),
            Mode::Search => None,
        }
    }

    /// Live mode's state (the strip reads it).
    pub fn live(&self) -> &LiveState {
        &self.live
    }
}
