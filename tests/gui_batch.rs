#![cfg(feature = "gui")]
//! Export → "Recommendations for all shoppers…" driven through the real widgets: the button,
//! the path window, the background job, the written Parquet file (pseudonymised when the
//! privacy switch is on).

mod support;
use support::wait_until;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use polars::prelude::*;
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
fn exports_every_shoppers_list_as_parquet_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("all.parquet");
    let mut h = harness(Session::default());
    wait_until(&mut h, "the list", |app| !app.wb.list().is_empty());
    let raw = h.state().wb.session().selection.shopper.clone().expect("shopper");
    let k = h.state().wb.session().selection.k;
    h.get_by_label("Session and export").click();
    h.run();
    h.get_by_label("Privacy: pseudonymise shopper ids").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Privacy: pseudonymise shopper ids").click();
    h.run();
    h.get_by_label("Recommendations for all shoppers…").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Recommendations for all shoppers…").click();
    wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(&mut h, &out.display().to_string());
    h.get_by_label("OK").click();
    // The job repaints while it runs: step a fixed number of frames (`run` waits for quiet).
    h.run_steps(2);
    assert!(
        h.state().wb.is_running("export all shoppers")
            || h.state().wb.notices().iter().any(|n| n.text.starts_with("exported "))
    );
    wait_until(&mut h, "the export notice", |app| app.wb.notices().iter().any(|n| n.text.starts_with("exported ")));
    let notice =
        h.state().wb.notices().iter().rev().find(|n| n.text.starts_with("exported ")).expect("notice").text.clone();
    assert!(notice.contains("for 445 shoppers"), "{notice}");
    let df = ParquetReader::new(std::fs::File::open(&out).expect("open")).finish().expect("read");
    assert!(df.height() > 400 * k && df.height() <= 445 * k, "{}", df.height());
    let users = df.column("user_id").expect("user_id").as_materialized_series().str().expect("text").clone();
    assert!(users.iter().flatten().all(|u| u.starts_with("shopper-") && u != raw), "ids must be pseudonymised");
    // The contribution columns of the session's weighted signals and the rules column.
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert!(
        names.contains(&"contribution_als".to_owned()) && names.contains(&"contribution_rules".to_owned()),
        "{names:?}"
    );
    // The selected shopper's rows hold the list the Recommendations tab shows.
    let wb = &h.state().wb;
    let shown = recfuse::session::workbench::pseudonym(&raw, &wb.session().privacy_salt);
    let engine = wb.engine().expect("engine");
    let want: Vec<String> = wb.list().iter().map(|e| engine.catalogue().ids.name(e.ranked.item).to_owned()).collect();
    let items = df.column("item_id").expect("item_id").as_materialized_series().str().expect("text").clone();
    let users = df.column("user_id").expect("user_id").as_materialized_series().str().expect("text").clone();
    let got: Vec<String> = users
        .iter()
        .zip(items.iter())
        .filter(|(u, _)| *u == Some(shown.as_str()))
        .filter_map(|(_, i)| i.map(str::to_owned))
        .collect();
    assert_eq!(got, want);
    assert!(!h.state().wb.notices().iter().any(|n| n.text.contains("failed")), "{:?}", h.state().wb.notices());
}

#[test]
fn exports_the_fusion_profile_as_spark_sql_and_json_from_the_export_buttons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sql = dir.path().join("fusion.sql");
    let json = dir.path().join("profile.json");
    let mut h = harness(Session::default());
    wait_until(&mut h, "the list", |app| !app.wb.list().is_empty());
    h.get_by_label("Session and export").click();
    h.run();
    for (button, path) in [("Spark SQL…", &sql), ("Profile JSON…", &json)] {
        h.get_by_label(button).scroll_to_me();
        h.run_steps(3);
        h.get_by_label(button).click();
        wait_until(&mut h, "the path window", |app| app.ui.dialog_fallback.is_some());
        type_path(&mut h, &path.display().to_string());
        h.get_by_label("OK").click();
        h.run();
    }
    let text = std::fs::read_to_string(&sql).expect("sql written");
    assert!(text.starts_with("-- RecFuse fusion profile (version 1) as Spark SQL"), "{text}");
    // The session's rules (the sample hides postage) are in the query, by name.
    assert!(text.contains("-- rule \"sample: hide postage\": hide item POST"), "{text}");
    let profile = recfuse::session::profile::Profile::load(&json).expect("profile reads back");
    assert_eq!(profile, recfuse::session::profile::Profile::from_session(h.state().wb.session()));
}
