use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Returned by engine code that noticed a cancel request and stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

type RepaintFn = Arc<dyn Fn() + Send + Sync>;

struct Shared {
    cancel: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    stage: Mutex<String>,
    started: Instant,
    last_notify_ms: AtomicU64,
    on_change: Mutex<Option<RepaintFn>>,
}

/// A cheap, clonable handle through which a long computation reports how far it got
/// and learns whether it should stop.
#[derive(Clone)]
pub struct Progress {
    shared: Arc<Shared>,
}

/// A point-in-time copy of a job's progress, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressSnapshot {
    /// What the job is doing now ("embedding", "ALS iteration 3/15", …).
    pub stage: String,
    /// Units of work finished.
    pub done: u64,
    /// Units of work in total (0 when unknown).
    pub total: u64,
    /// Seconds since the job started.
    pub elapsed_s: f64,
}

impl ProgressSnapshot {
    /// Fraction done in `[0, 1]`, or `None` when the total is unknown.
    pub fn fraction(&self) -> Option<f32> {
        (self.total > 0).then(|| (self.done as f64 / self.total as f64).clamp(0.0, 1.0) as f32)
    }

    /// Units per second so far.
    pub fn rate(&self) -> f64 {
        if self.elapsed_s > 0.0 { self.done as f64 / self.elapsed_s } else { 0.0 }
    }

    /// Estimated seconds left, from the average rate so far.
    pub fn eta_s(&self) -> Option<f64> {
        let rate = self.rate();
        (self.total > 0 && rate > 0.0 && self.done <= self.total).then(|| (self.total - self.done) as f64 / rate)
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("snapshot", &self.snapshot()).finish()
    }
}

impl Progress {
    /// A fresh handle: nothing done, not cancelled, nobody notified.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                cancel: AtomicBool::new(false),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
                stage: Mutex::new(String::new()),
                started: Instant::now(),
                last_notify_ms: AtomicU64::new(0),
                on_change: Mutex::new(None),
            }),
        }
    }

    /// Calls `f` (at most every 50 ms, and on stage changes) when progress moves;
    /// the GUI passes `ctx.request_repaint`.
    pub fn set_on_change(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut slot) = self.shared.on_change.lock() {
            *slot = Some(Arc::new(f));
        }
    }

    /// Starts a new stage with `total` units of work and resets the done counter.
    pub fn start_stage(&self, stage: impl Into<String>, total: u64) {
        if let Ok(mut s) = self.shared.stage.lock() {
            *s = stage.into();
        }
        self.shared.total.store(total, Ordering::Relaxed);
        self.shared.done.store(0, Ordering::Relaxed);
        self.notify(true);
    }

    /// Records `n` more units done.
    pub fn advance(&self, n: u64) {
        self.shared.done.fetch_add(n, Ordering::Relaxed);
        self.notify(false);
    }

    /// Sets the done counter.
    pub fn set_done(&self, n: u64) {
        self.shared.done.store(n, Ordering::Relaxed);
        self.notify(false);
    }

    /// Asks the computation to stop at its next check.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
        self.notify(true);
    }

    /// Whether a cancel was requested.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` when a cancel was requested: use with `?` inside loops.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() { Err(Cancelled) } else { Ok(()) }
    }

    /// The current state, for display.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            stage: self.shared.stage.lock().map(|s| s.clone()).unwrap_or_default(),
            done: self.shared.done.load(Ordering::Relaxed),
            total: self.shared.total.load(Ordering::Relaxed),
            elapsed_s: self.shared.started.elapsed().as_secs_f64(),
        }
    }

    fn notify(&self, force: bool) {
        let now_ms = self.shared.started.elapsed().as_millis() as u64;
        let last = self.shared.last_notify_ms.load(Ordering::Relaxed);
        if !force && now_ms.saturating_sub(last) < Duration::from_millis(50).as_millis() as u64 {
            return;
        }
        self.shared.last_notify_ms.store(now_ms, Ordering::Relaxed);
        let callback = self.shared.on_change.lock().ok().and_then(|c| c.clone());
        if let Some(f) = callback {
            f();
        }
    }
}
