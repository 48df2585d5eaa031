#![cfg(feature = "gui")]
//! GUI behaviour driven through the real widgets with egui_kittest.

mod support;
use support::wait_until;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use recfuse::score::SignalId;
use recfuse::session::Session;
use recfuse::ui::WorkbenchApp;

fn harness(session: Session) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false))
}

fn loaded(h: &mut Harness<'static, WorkbenchApp>) {
    wait_until(h, "the list", |app| !app.wb.list().is_empty());
}

fn order(app: &WorkbenchApp) -> Vec<u32> {
    app.wb.list().iter().map(|e| e.ranked.item).collect()
}

fn title_of(app: &WorkbenchApp, position: usize) -> String {
    let engine = app.wb.engine().expect("engine");
    let item = app.wb.list().get(position).expect("list entry").ranked.item;
    recfuse::data::report::shorten(engine.catalogue().title(item), 42)
}

#[test]
fn starts_on_the_sample_and_shows_a_list() {
    let mut h = harness(Session::default());
    loaded(&mut h);
    assert_eq!(h.state().wb.list().len(), 10);
    let first = title_of(h.state(), 0);
    h.get_by_label(&first);
    // The status bar shows the sample's size.
    h.get_by_label("2872 items · 445 shoppers · 36378 events");
}

#[test]
fn moving_a_weight_slider_changes_the_order() {
    let mut h = harness(Session::default());
    loaded(&mut h);
    let before = order(h.state());
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "ALS weight").set_value_accesskit(0.0);
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Popularity weight").set_value_accesskit(1.0);
    h.run();
    assert_eq!(h.state().wb.session().fusion.weight(SignalId::ALS), 0.0);
    assert_eq!(h.state().wb.session().fusion.weight(SignalId::POPULARITY), 1.0);
    let after = order(h.state());
    assert_ne!(before, after, "the ranking must follow the sliders");
    // Rank moves are shown for the items that stayed.
    assert!(!h.state().wb.rank_moves().is_empty());
}

#[test]
fn selecting_an_item_fills_the_inspector_and_a_hide_rule_removes_it() {
    let mut h = harness(Session::default());
    loaded(&mut h);
    let first = title_of(h.state(), 0);
    let item = h.state().wb.list()[0].ranked.item;
    h.get_by_label(&first).click();
    h.run();
    h.get_by_label_contains("Rank #1");
    h.get_by_label("Without each signal:");
    h.get_by_label("Hide").click();
    h.run();
    assert!(h.state().wb.list().iter().all(|e| e.ranked.item != item), "hidden item still listed");
    assert_eq!(h.state().wb.list().len(), 10);
    assert!(h.state().wb.session().rules.iter().any(|r| matches!(r.action, recfuse::fusion::RuleAction::Hide)));
}

#[test]
fn compare_shows_overlap_figures() {
    let mut h = harness(Session::default());
    loaded(&mut h);
    h.get_by_label("Compare").click();
    h.run();
    // On the first visit B is the default preset, which the current (default) weights equal.
    h.get_by_label_contains("Jaccard@10: 1.000");
    h.get_by_label("Set B = current").click();
    h.run();
    h.get_by_label_contains("Jaccard@10: 1.000");
    h.get_by_label("Recommendations").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "ALS weight").set_value_accesskit(0.0);
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    let label = h.get_by_label_contains("Jaccard@10:").accesskit_node().label().unwrap_or_default();
    assert!(!label.ends_with("1.000"), "{label}");
    h.get_by_label_contains("RBO (p=");
    h.get_by_label_contains("Kendall");
}

#[test]
fn a_saved_session_restores_the_weights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.json");
    let mut h = harness(Session::default());
    loaded(&mut h);
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Item CF weight").set_value_accesskit(0.9);
    h.run();
    // Without a desktop file-dialog service the app asks for a typed path.
    h.get_by_label("Session and export").click();
    h.run();
    h.get_by_label("Save session…").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Save session…").click();
    wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(&mut h, &path.display().to_string());
    h.get_by_label("OK").click();
    h.run();
    assert!(path.exists(), "session file not written");
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Item CF weight").set_value_accesskit(0.1);
    h.run();
    assert!((h.state().wb.session().fusion.weight(SignalId::ITEM_CF) - 0.1).abs() < 1e-6);
    h.get_by_label("Open session…").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Open session…").click();
    wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(&mut h, &path.display().to_string());
    h.get_by_label("OK").click();
    h.run_steps(3);
    assert!((h.state().wb.session().fusion.weight(SignalId::ITEM_CF) - 0.9).abs() < 1e-6);
    loaded(&mut h);
}

#[test]
fn the_privacy_switch_hides_raw_ids() {
    let mut h = harness(Session::default());
    loaded(&mut h);
    let raw = h.state().wb.session().selection.shopper.clone().expect("a shopper is selected");
    let shows = |h: &Harness<'static, WorkbenchApp>, text: &str| {
        h.query_all_by(|n| n.label().is_some_and(|l| l.contains(text)) || n.value().is_some_and(|v| v.contains(text)))
            .count()
            > 0
    };
    assert!(shows(&h, &raw), "raw id shown before the switch");
    h.get_by_label("Session and export").click();
    h.run();
    h.get_by_label("Privacy: pseudonymise shopper ids").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Privacy: pseudonymise shopper ids").click();
    h.run();
    assert!(!shows(&h, &raw), "raw id still visible");
    let shown = h.state().wb.display_user(&raw);
    assert!(shown.starts_with("shopper-"));
    assert!(shows(&h, &shown), "pseudonym not shown");
}

#[test]
fn a_broken_file_shows_an_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken_events.csv");
    std::fs::write(&bad, b"user_id,item_id\nu1,A\n").expect("write");
    let mut session = Session::default();
    session.data.behaviour = bad;
    let mut h = harness(session);
    wait_until(&mut h, "the error", |app| app.wb.data_error().is_some());
    h.get_by_label("Data").click();
    h.run();
    let errors = h
        .query_all_by(|n| {
            let text = n.label().or_else(|| n.value()).unwrap_or_default();
            text.contains("broken_events.csv") && text.contains("no timestamp column")
        })
        .count();
    assert!(errors >= 1, "the error naming the file is not shown");
}

/// Types into the path field of the "Enter a path" window.
fn type_path(h: &mut Harness<'static, WorkbenchApp>, text: &str) {
    h.get_by(|n| n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("/path/to/file"))
        .click();
    h.run();
    h.get_by(|n| n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("/path/to/file"))
        .type_text(text);
    h.run();
}

/// Masks what changes from machine to machine: the frame-time figure and the absolute paths of the
/// sample files (the checkout directory differs between this machine and CI).
fn mask_timings(h: &mut Harness<'static, WorkbenchApp>) {
    let rects: Vec<egui::Rect> = h
        .query_all_by(|n| {
            n.label().or_else(|| n.value()).is_some_and(|t| t.starts_with("frame ") || t.contains("sample_data"))
        })
        .map(|n| n.rect())
        .collect();
    for r in rects {
        // A fixed width from the left edge: the widget's own rect follows the text's length,
        // which differs between checkouts.
        h.mask(egui::Rect::from_min_size(r.min - egui::vec2(2.0, 2.0), egui::vec2(340.0, r.height() + 4.0)));
    }
}

#[test]
fn snapshots_of_the_main_tabs() {
    let mut h = harness(Session::default());
    loaded(&mut h);
    let first = title_of(h.state(), 0);
    h.get_by_label(&first).click();
    h.run();
    mask_timings(&mut h);
    h.snapshot("recommendations");
    h.get_by_label("Data").click();
    h.run();
    mask_timings(&mut h);
    h.snapshot("data");
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Set B = current").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Sequential weight").set_value_accesskit(0.8);
    h.run();
    mask_timings(&mut h);
    h.snapshot("compare");
    h.get_by_label("Evaluate").click();
    h.run();
    h.get_by_label("Run evaluation").click();
    wait_until(&mut h, "the evaluation", |app| {
        app.wb.evaluation().outcome().is_some() && app.wb.jobs().running().is_empty()
    });
    mask_timings(&mut h);
    h.snapshot("evaluate");
}

#[test]
fn exports_the_list_and_an_html_report_with_pseudonyms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("list.csv");
    let html = dir.path().join("report.html");
    let mut h = harness(Session::default());
    loaded(&mut h);
    let raw = h.state().wb.session().selection.shopper.clone().expect("shopper");
    h.get_by_label("Session and export").click();
    h.run();
    h.get_by_label("Privacy: pseudonymise shopper ids").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Privacy: pseudonymise shopper ids").click();
    h.run();
    h.get_by_label("List CSV…").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("List CSV…").click();
    wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(&mut h, &csv.display().to_string());
    h.get_by_label("OK").click();
    h.run();
    let text = std::fs::read_to_string(&csv).expect("list csv written");
    assert!(text.starts_with("for,rank,item_id,title,score,fused_score"));
    assert_eq!(text.lines().count(), 11, "header + 10 rows");
    assert!(!text.contains(&raw) && text.contains("shopper-"), "the export must pseudonymise the shopper");
    h.get_by_label("HTML report…").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("HTML report…").click();
    wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(&mut h, &html.display().to_string());
    h.get_by_label("OK").click();
    h.run();
    let report = std::fs::read_to_string(&html).expect("report written");
    assert!(report.starts_with("<!DOCTYPE html>") && report.contains("Top recommendations"));
    assert!(!report.contains(&format!("Shopper {raw}<")), "raw id in the report");
    assert!(!report.contains("src=\"http"), "the report must be self-contained");
}
