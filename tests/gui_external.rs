#![cfg(feature = "gui")]
//! The left panel's "Add signal from file…": the real button, the path window (this
//! machine has no file-dialog service, as in tests/gui.rs), the background read, the
//! signal's weight slider, its counts, its evidence, and the remove button.

mod support;
use support::wait_until;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::session::Session;
use recfuse::ui::WorkbenchApp;

fn harness(session: Session) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false))
}

fn type_path(h: &mut Harness<'static, WorkbenchApp>, text: &str) {
    h.get_by(|n| n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("/path/to/file"))
        .click();
    h.run();
    h.get_by(|n| n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("/path/to/file"))
        .type_text(text);
    h.run();
}

#[test]
fn add_signal_from_file_imports_weights_explains_and_removes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = harness(Session::default());
    wait_until(&mut h, "the list", |app| !app.wb.list().is_empty());
    // Scores for the selected shopper: the 3rd listed item highest, then the 2nd, the 1st;
    // plus one row for a shopper who is not in the data.
    let (shopper, items) = {
        let wb = &h.state().wb;
        let engine = wb.engine().expect("engine");
        let ids: Vec<String> =
            wb.list().iter().take(3).map(|e| engine.catalogue().ids.name(e.ranked.item).to_owned()).collect();
        (wb.session().selection.shopper.clone().expect("shopper"), ids)
    };
    let csv = format!(
        "user_id,item_id,score\n{shopper},{},0.9\n{shopper},{},0.5\n{shopper},{},0.1\nnot-a-shopper,{},1\n",
        items[2], items[1], items[0], items[0]
    );
    let path = dir.path().join("gui_scores.csv");
    std::fs::write(&path, csv).expect("write");

    h.get_by_label("Add signal from file…").click();
    wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(&mut h, &path.display().to_string());
    h.get_by_label("OK").click();
    wait_until(&mut h, "the signal", |app| !app.wb.external_signals().is_empty());
    // The counts under the button, and a notice.
    h.get_by_label("3 pairs kept of 4 rows; 1 unknown users");
    h.get_by_label_contains("signal file gui_scores.csv as 'gui_scores'");
    assert_eq!(h.state().wb.session().data.signals.len(), 1, "saved with the session");

    let slider = h.get_by_role_and_label(egui::accesskit::Role::Slider, "gui_scores weight");
    slider.set_value_accesskit(1.0);
    h.run();
    let ext = recfuse::score::SignalId::from_id("gui_scores").expect("interned");
    assert_eq!(h.state().wb.session().fusion.weight(ext), 1.0);
    // The file's top item stays listed (its score only rose) and says why.
    let evidence: Vec<String> = h.state().wb.list().iter().flat_map(|e| e.evidence.clone()).collect();
    assert!(evidence.iter().any(|e| e == "score 0.90 from gui_scores.csv"), "{evidence:?}");

    h.get_by_label("remove").click();
    h.run();
    assert!(h.state().wb.external_signals().is_empty());
    assert!(h.state().wb.session().data.signals.is_empty());
    assert!(h.query_by_role_and_label(egui::accesskit::Role::Slider, "gui_scores weight").is_none());
    assert!(h.state().wb.list().iter().all(|e| e.contributions.iter().all(|(s, _)| *s != ext)));
}
