#![cfg(feature = "gui")]
//! The transformer signal in the workbench: off by default with a Train button in its
//! row; training runs as the "train transformer" job with progress, the status bar's
//! cancel stops it quickly, and a finished training installs the signal and re-ranks.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::score::SignalId;
use recfuse::session::Session;
use recfuse::session::workbench::job;
use recfuse::ui::WorkbenchApp;

/// Longest a cancel may take to remove the job (debug build, two shared cores).
const CANCEL_BUDGET: Duration = Duration::from_secs(3);

fn harness(session: Session) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false))
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

fn transformer_available(app: &WorkbenchApp) -> bool {
    app.wb.available_signals().contains(&SignalId::TRANSFORMER)
}

/// Loads the sample and waits for the list (no job left running).
fn loaded(session: Session) -> Harness<'static, WorkbenchApp> {
    let mut h = harness(session);
    step_until(&mut h, "the list", Duration::from_secs(120), |app| {
        !app.wb.list().is_empty() && app.wb.jobs().running().is_empty()
    });
    h.step();
    h
}

#[test]
fn the_transformer_is_off_with_a_train_button_and_cancel_stops_its_training() {
    let mut session = Session::default();
    // Long enough to outlast the test on any machine.
    session.params.transformer.epochs = 200;
    session.params.transformer.patience = 200;
    let mut h = loaded(session);
    let engine = h.state().wb.engine().expect("engine");
    assert!(engine.models.unavailable.contains_key(&SignalId::TRANSFORMER), "fitting must not train it");
    h.get_by_label("Train").click();
    h.step();
    step_until(&mut h, "training progress", Duration::from_secs(60), |app| {
        app.wb.jobs().running().iter().any(|(n, p)| n == job::TRAIN && p.done > 0 && p.total > 0)
    });
    h.step();
    assert!(h.state().wb.session().params.transformer.enabled);
    assert_eq!(h.state().wb.jobs().running().len(), 1, "only the training runs");
    if let Some((_, p)) = h.state().wb.jobs().running().into_iter().find(|(n, _)| n == job::TRAIN) {
        eprintln!("train transformer: {} of {} batches in {:.2}s", p.done, p.total, p.elapsed_s);
    }
    h.get_by_label("cancel").click();
    let start = Instant::now();
    while h.state().wb.is_running(job::TRAIN) {
        assert!(start.elapsed() < Duration::from_secs(30), "the training ignored the cancel");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = start.elapsed();
    eprintln!("train transformer: cancelled in {took:?}");
    assert!(took <= CANCEL_BUDGET, "cancelling the training took {took:?}");
    h.run_steps(3);
    assert!(!transformer_available(h.state()), "a cancelled training must not install the signal");
    assert!(!h.state().wb.session().params.transformer.enabled, "cancelled: no longer asked for");
    assert!(!h.state().wb.notices().iter().any(|n| n.text.contains("failed")), "{:?}", h.state().wb.notices());
    // The row offers training again.
    h.get_by_label("Train");
}

#[test]
fn a_finished_training_installs_the_signal_and_it_contributes_to_the_list() {
    let mut session = Session::default();
    let t = &mut session.params.transformer;
    (t.epochs, t.dim, t.heads, t.blocks, t.max_len, t.negatives) = (1, 16, 1, 1, 10, 64);
    let mut h = loaded(session);
    h.get_by_label("Train").click();
    h.step();
    assert!(h.state().wb.is_running(job::TRAIN));
    step_until(&mut h, "the trained transformer", Duration::from_secs(240), transformer_available);
    h.run_steps(3);
    let wb = &h.state().wb;
    assert!(wb.session().fusion.weight(SignalId::TRANSFORMER) > 0.0, "Train gives it a weight");
    let contributes =
        wb.list().iter().any(|e| e.contributions.iter().any(|(s, c)| *s == SignalId::TRANSFORMER && *c > 0.0));
    assert!(contributes, "the list must be re-ranked with the transformer");
    assert_eq!(wb.training().last().map(|r| r.epochs.len()), Some(1));
    assert!(wb.notices().iter().any(|n| n.text.starts_with("transformer trained")), "{:?}", wb.notices());
    h.get_by_label_contains("Transformer trained, kept epoch 1");
}

#[test]
fn a_session_that_enables_it_trains_once_after_load() {
    let mut session = Session::default();
    let t = &mut session.params.transformer;
    t.enabled = true;
    (t.epochs, t.dim, t.heads, t.blocks, t.max_len, t.negatives) = (1, 16, 1, 1, 10, 64);
    let mut h = harness(session);
    step_until(&mut h, "the training after load", Duration::from_secs(120), |app| app.wb.is_running(job::TRAIN));
    // Fitting did not train it: the engine came first, without it.
    assert!(!transformer_available(h.state()));
    step_until(&mut h, "the trained transformer", Duration::from_secs(240), transformer_available);
    h.run_steps(3);
    assert!(!h.state().wb.is_running(job::TRAIN), "trained once, not again");
    assert_eq!(h.state().wb.training().last().map(|r| r.epochs.len()), Some(1));
}
