#![cfg(feature = "gui")]
//! Responsiveness under load: while a long job (ALS fit, catalogue embedding) runs on the
//! sample, frames keep completing and the job's progress shows; the status bar's cancel
//! button stops the job within one second.
//!
//! The embedding test sets `RECFUSE_CACHE_DIR` (process-wide), so the tests of this binary
//! are serialised by [`LOCK`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::session::Session;
use recfuse::session::workbench::job;
use recfuse::ui::WorkbenchApp;

static LOCK: Mutex<()> = Mutex::new(());

/// Longest a frame may take while a job runs (debug build, two cores shared with the job).
const FRAME_BUDGET: Duration = Duration::from_millis(250);
/// Longest a cancel may take to remove the job.
const CANCEL_BUDGET: Duration = Duration::from_secs(1);

fn harness(session: Session, embed: bool) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, embed))
}

fn stage_of(app: &WorkbenchApp, name: &str) -> Option<(String, u64)> {
    app.wb.jobs().running().into_iter().find(|(n, _)| n == name).map(|(_, p)| (p.stage, p.done))
}

/// Steps until `done` holds, failing after `limit`.
fn step_until(
    h: &mut Harness<'static, WorkbenchApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&WorkbenchApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(start.elapsed() < limit, "timed out waiting for {what}; jobs: {:?}", h.state().wb.jobs().running());
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Steps for `window` while `job_name` runs: every frame must finish within
/// [`FRAME_BUDGET`], and the job's progress must move. Returns the frame times.
fn frames_while_running(h: &mut Harness<'static, WorkbenchApp>, job_name: &str, window: Duration) -> Vec<Duration> {
    let first = stage_of(h.state(), job_name).expect("job running");
    let start = Instant::now();
    let mut times = Vec::new();
    let mut last = first.clone();
    while start.elapsed() < window {
        let t = Instant::now();
        h.step();
        times.push(t.elapsed());
        last = stage_of(h.state(), job_name).unwrap_or_else(|| panic!("{job_name} ended during the measurement"));
        std::thread::sleep(Duration::from_millis(15));
    }
    assert_eq!(first.0, last.0, "the job changed stage during the measurement");
    assert!(last.1 > first.1, "{job_name} made no progress while frames were drawn: {first:?} → {last:?}");
    let slowest = times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest <= FRAME_BUDGET,
        "a frame took {slowest:?} while {job_name} ran (budget {FRAME_BUDGET:?}); frames: {times:?}"
    );
    assert!(times.len() >= 5, "only {} frames in {window:?}", times.len());
    let mut sorted = times.clone();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    eprintln!(
        "{job_name}: {} frames in {window:?}, median {median:?}, slowest {slowest:?}; progress {} → {}",
        times.len(),
        first.1,
        last.1
    );
    times
}

/// Clicks the status bar's only "cancel" button and returns how long the job took to go.
fn cancel_and_time(h: &mut Harness<'static, WorkbenchApp>, job_name: &str) -> Duration {
    assert_eq!(h.state().wb.jobs().running().len(), 1, "exactly one job must be running");
    h.get_by_label("cancel").click();
    let start = Instant::now();
    while h.state().wb.is_running(job_name) {
        assert!(start.elapsed() < Duration::from_secs(30), "{job_name} ignored the cancel");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

#[test]
fn frames_complete_during_a_long_als_fit_and_cancel_stops_it() {
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut session = Session::default();
    // Long enough to outlast the measurement on any machine.
    session.params.als.iterations = 5_000;
    let mut h = harness(session, false);
    step_until(&mut h, "the ALS stage", Duration::from_secs(120), |app| {
        stage_of(app, job::FIT).is_some_and(|(stage, done)| stage.starts_with("ALS") && done > 0)
    });
    let frames = frames_while_running(&mut h, job::FIT, Duration::from_secs(2));
    let took = cancel_and_time(&mut h, job::FIT);
    eprintln!("fit signals: cancelled in {took:?}");
    assert!(took <= CANCEL_BUDGET, "cancelling the ALS fit took {took:?}; frames were {frames:?}");
    assert!(h.state().wb.engine().is_none(), "a cancelled fit must not install an engine");
    assert!(!h.state().wb.notices().iter().any(|n| n.text.contains("failed")), "{:?}", h.state().wb.notices());
}

#[test]
fn frames_complete_during_embedding_and_cancel_stops_it() {
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    // An empty cache, so that the sample is really embedded.
    let cache = tempfile::tempdir().expect("tempdir");
    // SAFETY: the tests of this binary are serialised by LOCK and no job of another test
    // is alive (each test waits for its jobs), so nothing reads the environment meanwhile.
    unsafe { std::env::set_var(recfuse::embed::cache::CACHE_DIR_ENV, cache.path()) };
    // One text per batch: slower than the default, so that the job is still running after
    // the measurement window on a fast machine.
    let mut session = Session::default();
    session.model.batch_size = 1;
    let mut h = harness(session, true);
    // Let the fit finish first, so that the embedding job runs alone.
    step_until(&mut h, "fitted signals and embedding in progress", Duration::from_secs(180), |app| {
        app.wb.engine().is_some()
            && !app.wb.is_running(job::FIT)
            && stage_of(app, job::EMBED).is_some_and(|(stage, done)| stage == "embedding" && done > 0)
    });
    let frames = frames_while_running(&mut h, job::EMBED, Duration::from_secs(1));
    let took = cancel_and_time(&mut h, job::EMBED);
    eprintln!("embed catalogue: cancelled in {took:?}");
    assert!(took <= CANCEL_BUDGET, "cancelling the embedding took {took:?}; frames were {frames:?}");
    assert!(h.state().wb.vectors().is_none(), "a cancelled embedding must not install vectors");
    // The list stays usable without the semantic signal.
    assert!(!h.state().wb.list().is_empty());
    let entries: Vec<_> = std::fs::read_dir(cache.path()).expect("ls").collect();
    assert!(entries.is_empty(), "a cancelled embedding must not write a cache entry");
}
