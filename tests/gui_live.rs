#![cfg(feature = "gui")]
//! Live mode in the window, driven through the real widgets with egui_kittest: the "Live"
//! switch next to the behaviour file, the live strip, and the list and evidence updating
//! after rows are appended. Fixtures: `tests/fixtures/live/` (hand-made).

mod support;
use std::io::Write;
use std::path::{Path, PathBuf};
use support::wait_until;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::data::DataSources;
use recfuse::session::{LiveSettings, Session};
use recfuse::ui::WorkbenchApp;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/live");

/// The window on copies of the live fixtures (in a temporary folder), with the automatic
/// refit at `refit_after_percent`, once its list is shown.
fn open_fixture(refit_after_percent: f64) -> (tempfile::TempDir, PathBuf, Harness<'static, WorkbenchApp>) {
    open_fixture_embedding(refit_after_percent, false)
}

/// [`open_fixture`], with the catalogue embedded (by the bundled model) when `embed`.
fn open_fixture_embedding(
    refit_after_percent: f64,
    embed: bool,
) -> (tempfile::TempDir, PathBuf, Harness<'static, WorkbenchApp>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalogue = dir.path().join("catalogue.csv");
    let events = dir.path().join("events.csv");
    std::fs::copy(Path::new(FIXTURES).join("catalogue.csv"), &catalogue).expect("copy");
    std::fs::copy(Path::new(FIXTURES).join("events.csv"), &events).expect("copy");
    let data = DataSources { catalogue: Some(catalogue), behaviour: events.clone(), ..DataSources::default() };
    let session = Session { data, live: LiveSettings { refit_after_percent }, ..Session::default() };
    let mut h = Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, embed));
    wait_until(&mut h, "the list", |app| !app.wb.list().is_empty());
    (dir, events, h)
}

#[test]
fn the_live_switch_follows_the_file_and_the_list_and_evidence_update() {
    // No automatic refit here: the rank moves are compared with the incremental list.
    let (_dir, events, mut h) = open_fixture(0.0);
    // The heaviest shopper (u2, who bought A and B) is shown.
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("u2"));
    h.get_by_label("Live").click();
    h.run_steps(3);
    assert!(h.state().wb.live().is_on());
    h.get_by_label("LIVE");
    let mut f = std::fs::OpenOptions::new().append(true).open(&events).expect("open");
    f.write_all(b"u4,C,2011-01-01 10:00:00,purchase\nu5,C,2011-01-01 10:00:00,purchase\nu6,C,2011-01-01 10:00:00,purchase\nu2,F,2011-01-01 10:00:00,view\n")
        .expect("append");
    drop(f);
    wait_until(&mut h, "the live batch", |app| app.wb.live().stats().events == 4);
    let app = h.state();
    let engine = app.wb.engine().expect("engine");
    // u2's history now has the view of F, and F (now seen) left the list.
    let (profile, _) = engine.profile_of("u2");
    assert_eq!(profile.events.len(), 3);
    let f_item = engine.catalogue().ids.get("F").expect("F");
    assert!(app.wb.list().iter().all(|e| e.ranked.item != f_item));
    // C's popularity evidence says what changed.
    let c_item = engine.catalogue().ids.get("C").expect("C");
    let c = app.wb.list().iter().find(|e| e.ranked.item == c_item).expect("C listed");
    assert!(c.evidence.iter().any(|e| e.contains("+3 events since live started")), "{:?}", c.evidence);
    // The rank-change markers compare with the list before the batch.
    assert!(!app.wb.rank_moves().is_empty());
    h.get_by_label("4 events in 1 batch, 0 rows dropped");
    // The inspector says what changed for the selected item.
    h.get_by_label("Green teapot").click();
    h.run_steps(3);
    h.get_by_label("+3 events since live started");
    // Switching off stops following.
    h.get_by_label("Live").click();
    h.run_steps(3);
    assert!(!h.state().wb.live().is_on());
}

#[test]
fn live_mode_refits_by_itself_once_the_new_events_pass_the_threshold() {
    // The fixture has 4 events: a refit is due once 2 more have arrived (50 %).
    let (_dir, events, mut h) = open_fixture(50.0);
    h.get_by_label("Live").click();
    h.run_steps(3);
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&events).expect("open");
        f.write_all(text.as_bytes()).expect("append");
    };
    // One event: 1 / 4 = 25 %, below the threshold; folded in, no refit.
    append("u4,C,2011-01-01 10:00:00,purchase\n");
    wait_until(&mut h, "the first batch", |app| app.wb.live().stats().events == 1);
    h.get_by_label("drift 25.0 %");
    assert!(!h.state().wb.live().refitting());
    assert_eq!(h.state().wb.live().fitted_events(), 4, "still the first fit");
    // Two more: 3 / 4 = 75 %: the refit starts by itself and is swapped in.
    append("u5,C,2011-01-01 10:00:00,purchase\nu6,C,2011-01-01 10:00:00,purchase\n");
    wait_until(&mut h, "the automatic refit", |app| app.wb.live().fitted_events() == 7 && !app.wb.live().refitting());
    assert!(
        h.state().wb.notices().iter().any(|n| n.text.contains("automatic refit at 50 %")),
        "the notice says why it refitted"
    );
    h.get_by_label("drift 0.0 %");
    assert!(h.state().wb.live().is_on(), "live mode goes on after the refit");
}

#[test]
fn an_item_added_to_the_followed_catalogue_is_embedded_and_listed() {
    // A cache of its own, so that the grown catalogue is not found there from an earlier run.
    let cache = tempfile::tempdir().expect("temp dir");
    // SAFETY: the only test of this binary that embeds, so the only one reading the variable.
    unsafe { std::env::set_var("RECFUSE_CACHE_DIR", cache.path()) };
    let (dir, events, mut h) = open_fixture_embedding(0.0, true);
    wait_until(&mut h, "the embedding", |app| app.wb.embedding().vectors().is_some());
    h.get_by_label("Live").click();
    h.run_steps(3);
    let catalogue = dir.path().join("catalogue.csv");
    let append = |path: &Path, text: &str| {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open");
        f.write_all(text.as_bytes()).expect("append");
    };
    let generation = h.state().wb.data_generation();
    append(&catalogue, "G,Walnut bowl,Living,15.00\n");
    wait_until(&mut h, "the new item, embedded", |app| {
        app.wb.engine().is_some_and(|e| e.catalogue().len() == 7)
            && app.wb.embedding().vectors().is_some_and(|v| v.len() == 7)
    });
    let wb = &h.state().wb;
    assert_eq!(wb.data_generation(), generation, "folded in, not loaded again");
    let notices: Vec<String> = wb.notices().iter().chain(wb.notice_history()).map(|n| n.text.clone()).collect();
    assert!(
        notices.iter().any(|n| n.contains(
            "1 new item (“Walnut bowl”) added to the catalogue; every signal takes them in, their texts are embedded"
        )),
        "{notices:?}"
    );
    // Only the new item went through the model; the six others kept their vectors.
    assert!(notices.iter().any(|n| n.contains("embedded 1 new or changed item texts; 6 vectors kept")), "{notices:?}");
    // The semantic signal scores G from its new vector (u2 bought two mugs).
    let engine = wb.engine().expect("engine");
    let (profile, _) = engine.profile_of("u2");
    let mut scores = vec![0.0; 7];
    let semantic = engine.models.scorers.get(&recfuse::score::SignalId::SEMANTIC).expect("semantic");
    semantic.score_all(&recfuse::score::ScoreContext { profile: &profile, query: None }, &mut scores);
    assert!(scores[6] != 0.0, "{scores:?}");
    assert!(wb.live().is_on(), "live mode stays on");
    // Events for the new item are folded in from then on; three purchases put it on u2's list.
    append(
        &events,
        "u4,G,2011-01-01 10:00:00,purchase\nu5,G,2011-01-01 10:00:00,purchase\nu6,G,2011-01-01 10:00:00,purchase\n",
    );
    wait_until(&mut h, "the new item's events", |app| {
        app.wb.engine().is_some_and(|e| {
            e.catalogue().ids.get("G").is_some_and(|g| app.wb.list().iter().any(|x| x.ranked.item == g))
        })
    });
    h.get_by_label("Walnut bowl");
}

#[test]
fn without_a_catalogue_a_new_item_of_the_events_joins_the_list_without_a_refit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = dir.path().join("events.csv");
    std::fs::copy(Path::new(FIXTURES).join("events.csv"), &events).expect("copy");
    let data = DataSources { behaviour: events.clone(), ..DataSources::default() };
    let session = Session { data, live: LiveSettings { refit_after_percent: 0.0 }, ..Session::default() };
    let mut h = Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false));
    wait_until(&mut h, "the list", |app| !app.wb.list().is_empty());
    assert_eq!(h.state().wb.engine().map(|e| e.catalogue().len()), Some(3), "A, B, E derived from the events");
    let generation = h.state().wb.data_generation();
    h.get_by_label("Live").click();
    h.run_steps(3);
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&events).expect("open");
        f.write_all(text.as_bytes()).expect("append");
    };
    // Three purchases of a new item Z (u2's list shows it: u2 has A and B).
    append("u4,Z,2011-01-01 10:00:00,purchase\nu5,Z,2011-01-01 10:00:00,purchase\nu6,Z,2011-01-01 10:00:00,purchase\n");
    wait_until(&mut h, "Z on the list", |app| {
        app.wb.engine().is_some_and(|e| {
            e.catalogue().ids.get("Z").is_some_and(|z| app.wb.list().iter().any(|x| x.ranked.item == z))
        })
    });
    let wb = &h.state().wb;
    assert_eq!(wb.data_generation(), generation, "folded in, not loaded again");
    assert_eq!(wb.live().fitted_events(), 4, "no refit");
    assert_eq!(wb.engine().map(|e| (e.catalogue().len(), e.interactions.events)), Some((4, 7)), "every event once");
    let notices: Vec<String> = wb.notices().iter().map(|n| n.text.clone()).collect();
    assert!(
        notices.iter().any(
            |n| n.contains("1 new item (“Z”) added to the catalogue; every signal takes them in, embedding is off")
        ),
        "{notices:?}"
    );
    assert!(wb.live().is_on());
}
