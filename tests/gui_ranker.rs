#![cfg(feature = "gui")]
//! The learned ranker in the workbench: the Evaluate tab's "Train ranker" starts the
//! "train ranker" job with progress, its Cancel stops it quickly and installs nothing; a
//! finished training installs the model, shows its epochs, and the `learned` fusion method
//! ranks the list with contributions (signals, embedding, cheap features) plus the
//! baseline adding up to each score; an evaluation then measures it (`learned` row),
//! Compare takes it as configuration B, and the report describes it.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::eval::experiment::RowKind;
use recfuse::fusion::FusionMethod;
use recfuse::session::workbench::job;
use recfuse::session::{BSource, Command, Session};
use recfuse::ui::WorkbenchApp;

/// Longest a cancel may take to remove the job (debug build, two shared cores).
const CANCEL_BUDGET: Duration = Duration::from_secs(3);

fn harness(session: Session) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false))
}

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

/// The sample loaded, the Evaluate tab open.
fn on_evaluate_tab() -> Harness<'static, WorkbenchApp> {
    let mut h = harness(Session::default());
    step_until(&mut h, "the list", Duration::from_secs(120), |app| {
        !app.wb.list().is_empty() && app.wb.jobs().running().is_empty()
    });
    h.get_by_label("Evaluate").click();
    h.run_steps(2);
    h
}

#[test]
fn train_ranker_shows_progress_and_cancel_stops_it() {
    let mut h = on_evaluate_tab();
    h.get_by_label("Train ranker").click();
    h.step();
    step_until(&mut h, "training progress", Duration::from_secs(120), |app| {
        app.wb.jobs().running().iter().any(|(n, p)| n == job::RANK && p.stage == "training ranker" && p.done > 0)
    });
    h.step();
    // The tab shows the job's progress bar with its stage and its Cancel button.
    assert!(h.query_all_by_label_contains("training ranker").count() >= 1);
    h.get_by_label("Cancel").click();
    let start = Instant::now();
    while h.state().wb.is_running(job::RANK) {
        assert!(start.elapsed() < Duration::from_secs(30), "the training ignored the cancel");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = start.elapsed();
    eprintln!("train ranker: cancelled in {took:?}");
    assert!(took <= CANCEL_BUDGET, "cancelling took {took:?}");
    h.run_steps(3);
    assert!(h.state().wb.ranker().model().is_none(), "a cancelled training installs nothing");
    assert!(h.state().wb.engine().is_some_and(|e| e.ranker.is_none()));
    assert!(!h.state().wb.notices().iter().any(|n| n.text.contains("failed")), "{:?}", h.state().wb.notices());
}

#[test]
fn a_trained_ranker_ranks_the_list_and_is_measured_in_evaluate_compare_and_the_report() {
    let mut h = on_evaluate_tab();
    h.get_by_label("Train ranker").click();
    h.step();
    assert!(h.state().wb.is_running(job::RANK));
    step_until(&mut h, "the trained ranker", Duration::from_secs(300), |app| app.wb.ranker().model().is_some());
    h.run_steps(3);
    let epochs = h.state().wb.ranker().epochs();
    assert!(!epochs.is_empty());
    assert!(
        h.state().wb.notices().iter().any(|n| n.text.starts_with("ranker trained")),
        "{:?}",
        h.state().wb.notices()
    );
    assert!(h.query_all_by_label_contains("kept epoch").count() >= 1, "the tab says what training kept");
    // The fusion picker offers it; choosing it ranks by the model.
    h.state_mut().wb.handle(Command::SetMethod(FusionMethod::Learned));
    h.run_steps(3);
    let list = h.state().wb.list();
    assert!(!list.is_empty());
    for e in list {
        assert_eq!(e.feature_contributions.len(), 3, "embedding, cheap features, baseline");
        let total: f32 = e.contributions.iter().map(|(_, c)| c).sum::<f32>()
            + e.feature_contributions.iter().map(|(_, c)| c).sum::<f32>();
        assert!((total - e.ranked.score).abs() < 1e-4, "{total} vs {}", e.ranked.score);
    }
    learned_is_measured_like_every_configuration(&mut h);
}

/// After the ranker above: an evaluation adds its `learned` row, Compare's B = "learned
/// ranker" measures the same numbers across users, and the report describes it.
fn learned_is_measured_like_every_configuration(h: &mut Harness<'static, WorkbenchApp>) {
    h.state_mut().wb.handle(Command::SetMethod(FusionMethod::Weighted));
    h.run_steps(2);
    let learned_labels = h.query_all_by_label("learned").count();
    h.get_by_label("Run evaluation").click();
    h.step();
    step_until(h, "the learned row", Duration::from_secs(300), |app| {
        app.wb.jobs().running().is_empty()
            && app.wb.evaluation().outcome().is_some_and(|o| o.rows.iter().any(|r| r.kind == RowKind::Learned))
    });
    h.run_steps(3);
    // Its name and its kind, in the metrics table.
    assert_eq!(h.query_all_by_label("learned").count(), learned_labels + 2);
    let outcome = h.state().wb.evaluation().outcome().unwrap();
    assert!(outcome.context.has_learned(), "the test context carries the ranker's scores");
    let ndcg = |kind: RowKind| {
        outcome.rows.iter().find(|r| r.kind == kind).and_then(|r| r.metrics.metrics.get("ndcg@10")).unwrap().value
    };
    let (learned, fused) = (ndcg(RowKind::Learned), ndcg(RowKind::Fused));
    h.get_by_label("Compare").click();
    h.run_steps(2);
    h.get_by_label("learned ranker").click();
    h.run_steps(2);
    assert_eq!(h.state().wb.compare().source(), BSource::Learned);
    h.get_by_label("Compare A and B across users").click();
    h.step();
    step_until(h, "the comparison", Duration::from_secs(120), |app| {
        app.wb.jobs().running().is_empty() && app.wb.compare().across().is_some()
    });
    let across = h.state().wb.compare().across().unwrap();
    let (_, d) = across.deltas.iter().find(|(k, _)| k == "ndcg@10").unwrap();
    assert!((d.mean_b - learned).abs() < 1e-12, "B {} vs the learned row {learned}", d.mean_b);
    assert!((d.mean_a - fused).abs() < 1e-12, "A {} vs the fused row {fused}", d.mean_a);
    h.state_mut().wb.handle(Command::SetMethod(FusionMethod::Learned));
    let html = recfuse::session::workbench::export::html_report(&h.state().wb);
    assert!(html.contains("The learned ranker orders the lists: a wide-and-deep network"), "{html}");
    assert!(html.contains("<td>learned (Learned)</td>"));
}
