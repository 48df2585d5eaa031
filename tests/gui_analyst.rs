#![cfg(feature = "gui")]
//! The workbench as an analyst uses it (issue 19), driven through the real widgets with
//! egui_kittest: switching datasets and sessions, privacy, picking shoppers, re-ranking
//! explained.

mod support;

use std::path::{Path, PathBuf};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::session::Session;
use recfuse::ui::WorkbenchApp;
use support::{harness, hover_long, loaded, texts, type_and_enter, wait_until};

/// Whether `text` contains `id` as a whole token (not inside a longer number or name).
fn has_token(text: &str, id: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || matches!(c, '.' | ',' | '-' | '_');
    text.match_indices(id).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + id.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// A second dataset, unlike the sample: 30 items in two categories, 6 shoppers.
fn second_dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let catalogue = dir.join("lamps_catalogue.csv");
    let events = dir.join("lamps_events.csv");
    let mut c = String::from("item_id,title,category\n");
    for i in 1..=30 {
        let (kind, category) = if i % 2 == 0 { ("wool rug", "Rugs") } else { ("desk lamp", "Lamps") };
        c.push_str(&format!("L{i:02},oak {kind} number {i},{category}\n"));
    }
    std::fs::write(&catalogue, c).expect("write catalogue");
    let mut e = String::from("user_id,item_id,timestamp,event_type\n");
    let mut t = 1_600_000_000u64;
    for u in 1..=6u64 {
        for k in 0..(3 + u) {
            let item = (u * 5 + k * 7) % 30 + 1;
            t += 3_600;
            e.push_str(&format!("u{u},L{item:02},{t},purchase\n"));
        }
    }
    std::fs::write(&events, e).expect("write events");
    (catalogue, events)
}

/// A session file for the second dataset.
fn second_session(dir: &Path) -> PathBuf {
    let (catalogue, events) = second_dataset(dir);
    let mut s = Session::default();
    s.data.catalogue = Some(catalogue);
    s.data.behaviour = events;
    s.data.users = None;
    let path = dir.join("lamps.json");
    s.save(&path).expect("save session");
    path
}

/// Types into the path field of the "Enter a path" window (stepping, not settling: jobs
/// may be running).
fn type_path(h: &mut Harness<'static, WorkbenchApp>, text: &str) {
    let field = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("/path/to/file")
    };
    h.get_by(field).click();
    h.run_steps(3);
    h.get_by(field).type_text(text);
    h.run_steps(3);
}

/// Opens a session through "Open session…" and the typed-path window.
fn open_session(h: &mut Harness<'static, WorkbenchApp>, path: &Path) {
    if h.query_by_label("Open session…").is_none() {
        h.get_by_label("Session and export").click();
        h.run_steps(3);
    }
    h.get_by_label("Open session…").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Open session…").click();
    wait_until(h, "the path window", |app| app.ui.dialog_fallback.is_some());
    type_path(h, &path.display().to_string());
    h.get_by_label("OK").click();
    h.run_steps(3);
}

#[test]
fn a_session_on_other_data_opened_while_embedding_gets_its_own_vectors() {
    // An empty embedding cache, so that the sample is still being embedded at the switch.
    let cache = tempfile::tempdir().expect("tempdir");
    // SAFETY: set before the harness starts any thread in this test; the other tests of
    // this binary do not embed and do not read the variable.
    unsafe { std::env::set_var("RECFUSE_CACHE_DIR", cache.path()) };
    let dir = tempfile::tempdir().expect("tempdir");
    let session = second_session(dir.path());
    let mut h = harness(Session::default(), true);
    wait_until(&mut h, "the sample's embedding to start", |app| {
        app.wb.dataset().is_some() && app.wb.is_running(recfuse::session::workbench::job::EMBED)
    });
    assert_eq!(h.state().wb.dataset().map(|d| d.catalogue.len()), Some(2872));
    open_session(&mut h, &session);
    wait_until(&mut h, "the second dataset, fitted and embedded", |app| {
        app.wb.dataset().is_some_and(|d| d.catalogue.len() == 30)
            && app.wb.engine().is_some()
            && app.wb.jobs().running().is_empty()
    });
    let app = h.state();
    let notices: Vec<&str> = app.wb.notices().iter().map(|n| n.text.as_str()).collect();
    assert!(!notices.iter().any(|n| n.contains("already being")), "a job was refused: {notices:?}");
    let vectors = app.wb.vectors().expect("the new catalogue is embedded");
    assert_eq!(vectors.data.len() / vectors.dim, 30, "vectors of another catalogue are attached");
    assert!(app.wb.available_signals().contains(&recfuse::score::SignalId::SEMANTIC));
    let engine = app.wb.engine().expect("engine");
    assert!(!app.wb.list().is_empty());
    for e in app.wb.list() {
        let id = engine.catalogue().ids.name(e.ranked.item);
        assert!(id.starts_with('L'), "item {id} is not of the loaded catalogue");
    }
    // The path fields show the session's files.
    let shown = texts(&h);
    assert!(shown.iter().any(|t| t.ends_with("lamps_catalogue.csv")), "the catalogue field kept the old path");
    assert!(shown.iter().any(|t| t.ends_with("lamps_events.csv")), "the behaviour field kept the old path");
}

#[test]
fn a_failed_load_keeps_the_previous_data_working_and_says_so() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let before = h.state().wb.session().data.behaviour.clone();
    let path_text = before.display().to_string();
    let field = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput && n.value().is_some_and(|v| v == path_text)
    };
    h.get_by(field).click();
    h.run();
    h.get_by(field).type_text(".missing");
    h.run();
    // Typed but not yet loaded: the field says so.
    h.get_by_label_contains("typed, not loaded");
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    wait_until(&mut h, "the failed load", |app| {
        app.wb.data_error().is_some() && !app.wb.is_running(recfuse::session::workbench::job::LOAD)
    });
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.wb.list().len(), 10, "the previous list must stay");
    assert_eq!(app.wb.session().data.behaviour, before, "the session must name the data that is loaded");
    assert!(
        app.wb.notices().iter().any(|n| n.text.contains("still showing the previous data (2872 items")),
        "the failure must say the previous data stays"
    );
    h.get_by_label("2872 items · 445 shoppers · 36378 events");
    assert!(h.query_by_label("Loading data and fitting signals…").is_none());
}

#[test]
fn open_dataset_shows_both_files_and_how_each_column_is_read_before_one_load() {
    use recfuse::data::{Role, TableKind};
    use recfuse::ui::state::DialogPurpose;
    let dir = tempfile::tempdir().expect("tempdir");
    let catalogue = dir.path().join("shop_catalogue.csv");
    let events = dir.path().join("shop_events.csv");
    let mut c = String::from("item_id,title,category,colour_code\n");
    for i in 1..=12 {
        c.push_str(&format!("S{i:02},wool scarf {i},Scarves,{}\n", if i % 2 == 0 { "red" } else { "blue" }));
    }
    std::fs::write(&catalogue, c).expect("write catalogue");
    let mut e = String::from("user_id,item_id,timestamp,event_type,store\n");
    for u in 1..=4 {
        for k in 0..4 {
            let item = (u * 3 + k * 5) % 12 + 1;
            e.push_str(&format!(
                "p{u},S{item:02},{},purchase,{}\n",
                1_600_000_000 + u * 10_000 + k * 100,
                if u % 2 == 0 { "north" } else { "south" }
            ));
        }
    }
    std::fs::write(&events, e).expect("write events");
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let sample = h.state().wb.session().data.clone();
    // Both files chosen (as the file dialogs' "Open…" fills the fields), then one action.
    h.state_mut().dialog_result(DialogPurpose::DataFile(TableKind::Catalogue), catalogue.clone());
    h.state_mut().dialog_result(DialogPurpose::DataFile(TableKind::Behaviour), events.clone());
    h.run_steps(3);
    h.get_by_label("Open dataset").click();
    wait_until(&mut h, "the preview", |app| {
        app.ui.open_dataset.as_ref().is_some_and(|d| d.previews[0].is_some() && d.previews[1].is_some())
    });
    let shown = texts(&h);
    let has = |t: &str| shown.iter().any(|s| s == t);
    assert!(has(&format!("Behaviour: {}", events.display())), "{shown:?}");
    assert!(has(&format!("Catalogue: {}", catalogue.display())));
    assert!(has("csv, ',' separated · 16 rows · 5 columns"), "{shown:?}");
    // The first rows, and what each column will be read as.
    assert!(has("wool scarf 1") && has("p1"), "first rows");
    for read_as in
        ["item_id", "title", "category", "user_id", "timestamp", "event_type", "event attribute (segment)", "not read"]
    {
        assert!(has(read_as), "{read_as} missing from {shown:?}");
    }
    assert_eq!(h.state().wb.session().data, sample, "nothing is loaded before Load");
    // Map the brand role to the colour column, then load.
    h.get_by_label("Catalogue columns by role").click();
    h.run();
    h.get_by_label("Catalogue column for brand").click();
    h.run();
    h.get_by(|n| n.label().as_deref() == Some("colour_code") && n.role() != egui::accesskit::Role::Label).click();
    h.run();
    let draft = h.state().ui.open_dataset.clone().expect("still open");
    assert_eq!(draft.mappings[0].overrides.get(&Role::Brand).map(String::as_str), Some("colour_code"));
    assert_eq!(
        draft.previews[0].clone().expect("read").expect("ok").read_as(TableKind::Catalogue, &draft.mappings[0])[3],
        "brand"
    );
    h.get_by_label("Load").click();
    h.run_steps(3);
    assert!(h.state().ui.open_dataset.is_none(), "the window closes on Load");
    wait_until(&mut h, "the scarves", |app| {
        app.wb.engine().is_some_and(|e| e.catalogue().len() == 12) && app.wb.jobs().running().is_empty()
    });
    let app = h.state();
    let data = &app.wb.session().data;
    assert_eq!((data.catalogue.as_deref(), data.behaviour.as_path()), (Some(catalogue.as_path()), events.as_path()));
    let cat = app.wb.engine().expect("engine").catalogue();
    let s02 = cat.ids.get("S02").expect("S02") as usize;
    assert_eq!(cat.brands[s02], "red", "the colour column was read as the brand");
}

#[test]
fn with_privacy_on_no_tab_shows_a_raw_shopper_id() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let heaviest = h.state().wb.heaviest_shoppers(3);
    // The sample's three heaviest shoppers, counted by hand from events.csv.
    assert_eq!(heaviest, vec!["17920".to_owned(), "16360".to_owned(), "13230".to_owned()]);
    // A raw id typed into the shopper box before the switch.
    h.get_by(|n| n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("search id")).click();
    h.run();
    h.get_by(|n| n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("search id"))
        .type_text("13230");
    h.run();
    h.get_by_label("Session and export").click();
    h.run();
    h.get_by_label("Privacy: pseudonymise shopper ids").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("Privacy: pseudonymise shopper ids").click();
    h.run();
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Two shoppers").click();
    h.run();
    h.get_by_label("Heaviest").click();
    h.run_steps(3);
    assert_eq!(h.state().wb.compare().shopper_b(), "17920");
    for tab in ["Compare", "Recommendations", "Evaluate", "Explore", "Data"] {
        h.get_by_label(tab).click();
        h.run_steps(3);
        for text in texts(&h) {
            for raw in &heaviest {
                assert!(!has_token(&text, raw), "{tab}: raw id {raw} shown in “{text}”");
            }
            assert!(!text.contains("shopper shopper-"), "{tab}: doubled prefix in “{text}”");
        }
    }
    h.get_by_label("Compare").click();
    h.run_steps(2);
    let pseudonym = h.state().wb.display_user("17920");
    assert!(pseudonym.starts_with("shopper-"));
    h.get_by_label(&format!("A: {pseudonym} | B: {pseudonym}"));
}

#[test]
fn enter_picks_a_shopper_heaviest_agrees_and_a_one_event_shopper_has_no_plot() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    type_and_enter(&mut h, "search id", "16360");
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("16360"));
    h.get_by_label("Heaviest").click();
    h.run_steps(3);
    // 17920 has the most events of the sample (696 lines of events.csv).
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("17920"));
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Two shoppers").click();
    h.run();
    h.get_by_label("Heaviest").click();
    h.run_steps(3);
    assert_eq!(h.state().wb.compare().shopper_b(), "17920", "Heaviest must pick the same shopper in both tabs");
    h.get_by_label("Recommendations").click();
    h.run();
    // 15070 has one line in events.csv.
    type_and_enter(&mut h, "search id", "15070");
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("15070"));
    let shown = texts(&h);
    assert!(shown.iter().any(|t| t.starts_with("1 event")), "{shown:?}");
    assert!(!shown.iter().any(|t| t.contains("1 events")), "plural for one event");
    assert!(shown.iter().any(|t| t.starts_with("One order, on ")), "one order is a sentence, not a plot");
}

#[test]
fn the_category_cap_says_on_the_item_why_it_moved_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalogue, events) = second_dataset(dir.path());
    let mut session = Session::default();
    session.data.catalogue = Some(catalogue);
    session.data.behaviour = events;
    let mut h = harness(session, false);
    loaded(&mut h);
    // Two categories and a cap of 1: after one Lamp and one Rug, every further item is
    // the 2nd (or later) of its category and says so.
    let cap = h.get_by(|n| n.value().is_some_and(|v| v.starts_with("per-category cap: ")));
    cap.set_value_accesskit(1.0);
    h.run_steps(3);
    assert_eq!(h.state().wb.fusion().category_cap, 1);
    let app = h.state();
    let third = app.wb.list().get(2).expect("a third item");
    let first_line = third.evidence.first().cloned().unwrap_or_default();
    assert!(first_line.starts_with("category cap: 2nd "), "{first_line}");
    assert!(first_line.ends_with(" item (cap 1), moved down"), "{first_line}");
}

/// Clicks the widget labelled `label` after scrolling it into view (the left panel's
/// rules are below its fold).
fn click_scrolled(h: &mut Harness<'static, WorkbenchApp>, label: &str) {
    h.get_by_label(label).scroll_to_me();
    h.run_steps(3);
    h.get_by_label(label).click();
    h.run();
}

fn title_of(app: &WorkbenchApp, position: usize) -> String {
    let engine = app.wb.engine().expect("engine");
    let item = app.wb.list().get(position).expect("list entry").ranked.item;
    recfuse::data::report::shorten(engine.catalogue().title(item), 42)
}

#[test]
fn a_pin_made_for_one_shopper_stays_with_that_shopper_and_the_rules_stay_open() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    h.get_by_label("Rules (4)").click();
    h.run();
    let third = title_of(h.state(), 2);
    let item = h.state().wb.list()[2].ranked.item;
    h.get_by_label(&third).click();
    h.run();
    h.get_by_label("Pin at #1").click();
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.wb.list()[0].ranked.item, item, "pinned at #1");
    let rule = app.wb.session().rules.last().expect("a rule").clone();
    assert_eq!(rule.scope, recfuse::fusion::RuleScope::Shopper { id: "17920".to_owned() });
    assert!(rule.name.starts_with("pin “") && rule.name.ends_with("” at #1"), "{}", rule.name);
    // The section stayed open and lists the new rule with its scope.
    h.get_by_label(&format!("{} · for shopper 17920", rule.name));
    // Another shopper's list is not pinned.
    type_and_enter(&mut h, "search id", "16360");
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("16360"));
    assert!(h.state().wb.list().iter().all(|e| e.ranked.rule_effects.is_empty()), "the pin reached another shopper");
}

#[test]
fn a_rule_for_a_segment_changes_its_shoppers_lists_only_and_comes_back_with_the_session() {
    use recfuse::fusion::{RuleAction, RuleScope};
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    h.get_by_label("Rules (4)").click();
    h.run();
    // Pin the default shopper's third item for the country segment "United Kingdom": in the
    // sample, 17920 and 16360 bought only from the UK, 12490 only from France (events.csv).
    let engine = h.state().wb.engine().expect("engine");
    let item = h.state().wb.list()[2].ranked.item;
    let item_id = engine.catalogue().ids.name(item).to_owned();
    click_scrolled(&mut h, "rule action");
    h.run();
    click_scrolled(&mut h, "Pin");
    h.run();
    let field = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some("item id / category / brand")
    };
    h.get_by(field).scroll_to_me();
    h.run_steps(3);
    h.get_by(field).click();
    h.run();
    h.get_by(field).type_text(&item_id);
    h.run();
    click_scrolled(&mut h, "a segment");
    h.run();
    assert_eq!(h.state().ui.rule_form.segment_dimension, "country", "the sample's one segment column");
    click_scrolled(&mut h, "rule segment value");
    h.run();
    click_scrolled(&mut h, "United Kingdom (403 shoppers)");
    h.run();
    click_scrolled(&mut h, "Add rule");
    h.run_steps(3);
    let rule = h.state().wb.session().rules.last().expect("a rule").clone();
    let segment = RuleScope::Segment { dimension: "country".to_owned(), value: "United Kingdom".to_owned() };
    assert_eq!((&rule.scope, &rule.action), (&segment, &RuleAction::Pin { position: 1 }));
    assert!(rule.name.starts_with("pin “") && rule.name.ends_with("” at #1"), "{}", rule.name);
    h.get_by_label(&format!("{} · for shoppers with country United Kingdom", rule.name));
    assert_eq!(h.state().wb.list()[0].ranked.item, item, "pinned for 17920 (United Kingdom)");
    type_and_enter(&mut h, "search id", "16360");
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("16360"));
    assert_eq!(h.state().wb.list()[0].ranked.item, item, "pinned for 16360 (United Kingdom)");
    type_and_enter(&mut h, "search id", "12490");
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("12490"));
    assert!(h.state().wb.list().iter().all(|e| e.ranked.rule_effects.is_empty()), "the pin reached France");
    // Saved and opened again, the rule keeps its segment.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("segment.json");
    h.state().wb.session().save(&path).expect("save");
    let mut reopened = harness(Session::load(&path).expect("load"), false);
    loaded(&mut reopened);
    assert_eq!(reopened.state().wb.session().rules.last(), Some(&rule));
    reopened.get_by_label("Rules (5)").click();
    reopened.run();
    reopened.get_by_label(&format!("{} · for shoppers with country United Kingdom", rule.name));
}

#[test]
fn rules_for_items_the_loaded_catalogue_lacks_are_shown_inactive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalogue, events) = second_dataset(dir.path());
    let mut session = Session::default();
    session.data.catalogue = Some(catalogue);
    session.data.behaviour = events;
    let mut h = harness(session, false);
    loaded(&mut h);
    h.get_by_label("Rules (4)").click();
    h.run();
    // The default session's "hide postage" rule names stock code POST, which these lamps lack.
    h.get_by_label("inactive: the loaded catalogue has no item POST");
}

#[test]
fn a_segment_rule_on_data_without_that_segment_is_shown_inactive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalogue, events) = second_dataset(dir.path());
    let mut session = Session::default();
    session.data.catalogue = Some(catalogue);
    session.data.behaviour = events;
    session.rules = vec![recfuse::fusion::Rule {
        name: "lamps for France".to_owned(),
        enabled: true,
        target: recfuse::fusion::RuleTarget::Item { id: "L01".to_owned() },
        action: recfuse::fusion::RuleAction::Hide,
        scope: recfuse::fusion::RuleScope::Segment { dimension: "country".to_owned(), value: "France".to_owned() },
    }];
    let mut h = harness(session, false);
    loaded(&mut h);
    h.get_by_label("Rules (1)").click();
    h.run();
    // The lamps' events have no country column.
    h.get_by_label("inactive: no shopper of the loaded data has country France");
}

#[test]
fn after_a_slider_drag_the_movement_column_counts_from_before_the_drag() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let before: Vec<u32> = h.state().wb.list().iter().map(|e| e.ranked.item).collect();
    // A drag is many small moves of one slider; the last ones usually change nothing.
    for w in [0.25, 0.2, 0.15, 0.1, 0.05, 0.0, 0.0] {
        h.get_by_role_and_label(egui::accesskit::Role::Slider, "ALS weight").set_value_accesskit(w);
        h.run();
    }
    let app = h.state();
    let after: Vec<u32> = app.wb.list().iter().map(|e| e.ranked.item).collect();
    assert_ne!(before, after, "ALS at 0 must change the sample's list");
    // Expected: each item's place before the drag minus its place after (positive = up).
    for (at, item) in after.iter().enumerate() {
        let expected = before.iter().position(|b| b == item).map(|was| was as i64 - at as i64);
        assert_eq!(app.wb.rank_moves().get(item).copied(), expected, "item at #{}", at + 1);
    }
    assert!(app.wb.rank_moves().values().any(|&m| m != 0));
}

#[test]
fn the_presentation_view_hides_the_configuration_and_steps_through_shoppers() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    // The first-open guide, dismissed for good.
    h.get_by_label_contains("New here?");
    h.get_by_label("Got it").click();
    h.run();
    assert!(h.query_by_label_contains("New here?").is_none());
    assert!(h.state().ui.settings.guide_dismissed);
    // The sample's notes about its files are above the tabs, until presenting.
    assert!(h.query_all_by_label("Note:").count() > 0, "the sample has no notes to hide");
    h.get_by_label("Present").click();
    h.run_steps(3);
    assert!(
        h.query_by_role_and_label(egui::accesskit::Role::Slider, "ALS weight").is_none(),
        "the configuration must be hidden"
    );
    assert_eq!(h.query_all_by_label("Note:").count(), 0, "notes are shown to the audience");
    // Without chosen shoppers it steps through the heaviest: 17920, then 16360.
    h.get_by_label("shopper 17920 · 1 of 5");
    h.get_by_label("Next shopper >").click();
    h.run_steps(3);
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("16360"));
    h.get_by_label("shopper 16360 · 2 of 5");
    h.get_by_label("Exit presentation").click();
    h.run_steps(3);
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "ALS weight");
    assert!(h.query_all_by_label("Note:").count() > 0, "the notes are back after presenting");
}

#[test]
fn tuning_in_the_evaluate_tab_lists_the_signal_parameters_it_tried_and_kept() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    h.get_by_label("Evaluate").click();
    h.run_steps(3);
    // Two validation windows (rolling origin), set on the field as a screen reader sets it.
    h.get_by_label("validation windows").set_value_accesskit(2.0);
    h.run_steps(2);
    assert_eq!(h.state().wb.session().eval.validation_windows, 2);
    h.get_by_label("Tune weights").click();
    h.run_steps(2);
    wait_until(&mut h, "tuning", |app| {
        app.wb.evaluation().tune_summary().is_some() && app.wb.jobs().running().is_empty()
    });
    h.run_steps(3);
    let shown = texts(&h);
    let windows = h.state().wb.evaluation().tune_summary().map(|t| t.window_users.clone()).unwrap_or_default();
    assert_eq!(windows.len(), 2, "{windows:?}");
    let summary = format!(
        "Tuning on {} validation shoppers in 2 windows ({} + {})",
        windows[0] + windows[1],
        windows[0],
        windows[1]
    );
    assert!(shown.iter().any(|t| t.starts_with(&summary)), "no “{summary}” in {shown:?}");
    for signal in ["als", "item_cf", "user_cf"] {
        let line = shown
            .iter()
            .find(|t| t.starts_with(&format!("{signal} alone, ndcg@")))
            .unwrap_or_else(|| panic!("no parameter line for {signal} in {shown:?}"));
        assert_eq!(line.matches("(kept)").count(), 1, "{line}");
        assert_eq!(line.matches("[current]").count(), 1, "{line}");
    }
    let als = shown.iter().find(|t| t.starts_with("als alone")).cloned().unwrap_or_default();
    assert!(als.contains("λ 0.05, α 1 [current]") && als.contains("λ 5, α 4"), "{als}");
}

#[test]
fn tuned_weights_applied_to_other_data_warn_and_on_their_own_data_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lamps = second_session(dir.path());
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    h.get_by_label("Evaluate").click();
    h.run_steps(3);
    h.get_by_label("Tune weights").click();
    h.run_steps(2);
    wait_until(&mut h, "tuning", |app| app.wb.evaluation().tuned().is_some() && app.wb.jobs().running().is_empty());
    let warned = |app: &WorkbenchApp| app.wb.notices().iter().any(|n| n.text.contains("were tuned on"));
    let before = h.state().wb.session().params.clone();
    h.get_by_label("Apply tuned weights").click();
    h.step();
    assert!(!warned(h.state()), "tuned on the loaded data: no warning");
    let app = h.state();
    assert_eq!(Some(app.wb.session().fusion.clone()).as_ref(), app.wb.evaluation().tuned());
    // The tuned signal parameters come with the weights, and a change refits the signals.
    let tuned = app.wb.evaluation().tune_summary().and_then(|t| t.params.clone()).expect("tuned parameters");
    let now = &app.wb.session().params;
    assert_eq!(
        (now.als.regularization, now.als.alpha, now.item_cf.neighbours, now.user_cf.neighbours),
        (tuned.als.regularization, tuned.als.alpha, tuned.item_cf.neighbours, tuned.user_cf.neighbours)
    );
    if *now != before {
        assert!(app.wb.is_running(recfuse::session::workbench::job::FIT), "changed parameters refit the signals");
    }
    wait_until(&mut h, "the refit", |app| app.wb.jobs().running().is_empty() && !app.wb.list().is_empty());
    // Another dataset: the tuned weights are still offered, with a warning when applied.
    open_session(&mut h, &lamps);
    wait_until(&mut h, "the lamps", |app| {
        app.wb.engine().is_some_and(|e| e.catalogue().len() == 30) && app.wb.jobs().running().is_empty()
    });
    h.get_by_label("Evaluate").click();
    h.run_steps(3);
    h.get_by_label("Apply tuned weights").click();
    h.run_steps(3);
    let notices: Vec<String> = h.state().wb.notices().iter().map(|n| n.text.clone()).collect();
    assert!(
        notices.iter().any(|t| t.contains("these weights were tuned on events.csv + catalogue.csv, not on the loaded lamps_events.csv + lamps_catalogue.csv")),
        "{notices:?}"
    );
}

#[test]
fn recent_sessions_list_sessions_and_never_data_files() {
    use recfuse::data::TableKind;
    use recfuse::ui::state::DialogPurpose;
    let dir = tempfile::tempdir().expect("tempdir");
    let lamps = second_session(dir.path());
    let mut h = harness(Session::default(), false);
    // A data file in the list, as versions before sessions and data files were kept apart left it.
    h.state_mut().ui.settings.recent.push(dir.path().join("lamps_events.csv"));
    loaded(&mut h);
    open_session(&mut h, &lamps);
    wait_until(&mut h, "the lamps", |app| {
        app.wb.engine().is_some_and(|e| e.catalogue().len() == 30) && app.wb.jobs().running().is_empty()
    });
    // A data file chosen in a file dialog fills its field and is not a recent session.
    h.state_mut().dialog_result(DialogPurpose::DataFile(TableKind::Catalogue), dir.path().join("lamps_catalogue.csv"));
    h.run_steps(3);
    h.get_by_label("Recent sessions:").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("lamps.json");
    assert!(h.query_by_label("lamps_events.csv").is_none(), "a data file listed as a session");
    assert!(h.query_by_label("lamps_catalogue.csv").is_none(), "a data file listed as a session");
    assert_eq!(h.state().ui.settings.recent.first(), Some(&lamps), "the opened session is the most recent");
}

#[test]
fn the_candidate_source_is_chosen_in_the_fusion_settings_and_ranks_again() {
    use recfuse::fusion::CandidateSource;
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    assert_eq!(h.state().wb.session().fusion.candidate_source, CandidateSource::Auto);
    // The combo (the row's label says the same words).
    let combo = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.label().as_deref() == Some("candidates from") && n.role() != egui::accesskit::Role::Label
    };
    h.get_by(combo).scroll_to_me();
    h.run_steps(3);
    h.get_by(combo).click();
    h.run();
    click_scrolled(&mut h, "index (each signal's top-N)");
    h.run_steps(3);
    wait_until(&mut h, "the list", |app| !app.wb.list().is_empty() && app.wb.jobs().running().is_empty());
    let app = h.state();
    assert_eq!(app.wb.session().fusion.candidate_source, CandidateSource::Index);
    assert_eq!(app.wb.list().len(), 10, "the index path ranks the shopper's list");
    // The choice is a session setting (saved as `--candidates` spells it).
    let json = serde_json::to_string(&app.wb.session().fusion).expect("json");
    assert!(json.contains(r#""candidate_source":"index""#), "{json}");
}

/// A long error as a failed read reports it: a deep path with no spaces, then words.
fn long_error(k: usize) -> String {
    let path: String = (0..24).map(|i| format!("/folder_{i}_of_a_deeply_nested_export")).collect();
    format!("notice {k}: could not read {path}/events.csv: row 12, column 'timestamp' is not a date or a number")
}

fn top_of(h: &Harness<'static, WorkbenchApp>, label: &str) -> f32 {
    h.get_by(|n| n.label().as_deref() == Some(label) && n.role() != egui::accesskit::Role::Label).rect().top()
}

#[test]
fn a_long_notice_wraps_the_notices_keep_their_height_and_older_ones_are_in_the_window() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let tabs_before = top_of(&h, "Recommendations");
    let long = long_error(0);
    h.state_mut().wb.notify(recfuse::session::NoticeLevel::Error, long.clone());
    h.run_steps(3);
    // The central panel ends where the inspector begins.
    let inspector_left = h.get_by_label("Inspector").rect().left();
    let notice = h.get_by_label(&long).rect();
    assert!(
        notice.right() <= inspector_left,
        "notice ends at {} past the inspector at {inspector_left}",
        notice.right()
    );
    assert!(notice.height() > 40.0, "a long notice wraps onto lines of its own, height {}", notice.height());
    let tabs = h
        .get_by(|n| n.label().as_deref() == Some("Recommendations") && n.role() != egui::accesskit::Role::Label)
        .rect();
    assert!(tabs.right() <= inspector_left, "the tabs stay in the central panel");
    // Its dismiss button is on its row, inside the window, and works.
    let dismiss: Vec<egui::Rect> = h.get_all_by_label("dismiss").map(|n| n.rect()).collect();
    assert!(dismiss.iter().all(|r| r.right() <= inspector_left && r.left() >= 0.0), "{dismiss:?}");
    let own =
        dismiss.iter().position(|r| (r.center().y - notice.top()).abs() < 16.0).expect("a dismiss on the notice's row");
    h.get_all_by_label("dismiss").nth(own).expect("the dismiss").click();
    h.run_steps(3);
    assert!(h.state().wb.notices().iter().all(|n| n.text != long), "dismissed");
    assert!(h.state().wb.notice_history().iter().any(|n| n.text == long), "kept in the history");

    // However many long notices there are, the tabs move down by at most the cap plus the
    // "older notices" line.
    for k in 1..=12 {
        h.state_mut().wb.notify(recfuse::session::NoticeLevel::Error, long_error(k));
    }
    h.run_steps(3);
    let tabs_12 = top_of(&h, "Recommendations");
    for k in 13..=40 {
        h.state_mut().wb.notify(recfuse::session::NoticeLevel::Warning, long_error(k));
    }
    h.run_steps(3);
    let tabs_40 = top_of(&h, "Recommendations");
    assert!((tabs_12 - tabs_40).abs() < 1.0, "tabs at {tabs_12} with 12 notices, {tabs_40} with 40");
    let cap = recfuse::ui::panels::notices::MAX_HEIGHT;
    assert!(tabs_40 <= tabs_before + cap + 40.0, "tabs moved from {tabs_before} to {tabs_40}");
    // Older notices are not drawn above the tabs but are in the notices window.
    let oldest = long_error(1);
    assert!(h.query_by_label(&oldest).is_none(), "only the newest four are shown above the tabs");
    let shown = h.state().wb.notices().len();
    h.get_by_label_contains(&format!("… {} older notices", shown - 4)).click();
    h.run_steps(3);
    h.get_by_label(&format!("Error: {oldest}"));
    h.get_by_label(&format!("Error: {long}"));
}

#[test]
fn the_waterfall_labels_its_axis_inside_the_inspector() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let first = title_of(h.state(), 0);
    h.get_by_label(&first).click();
    h.run_steps(3);
    let axis = h.get_by_label(recfuse::ui::panels::inspector::WATERFALL_AXIS).rect();
    let inspector = h.get_by_label("Inspector").rect();
    assert!(axis.left() >= inspector.left() - 1.0, "{axis:?} starts left of the inspector {inspector:?}");
    assert!(axis.right() <= 1500.0, "{axis:?} is cut at the window's right edge");
}

#[test]
fn a_path_field_shows_its_whole_path_on_hover() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let path = h.state().wb.session().data.behaviour.display().to_string();
    assert!(path.chars().count() > 24, "the sample's path is longer than the field shows: {path}");
    let field = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput && n.value().is_some_and(|v| v == path)
    };
    let shown = |h: &Harness<'static, WorkbenchApp>| texts(h).iter().filter(|t| **t == path).count();
    let before = shown(&h);
    let at = h.get_by(field).rect().center();
    hover_long(&mut h, at);
    assert!(shown(&h) > before, "hovering the field adds a tooltip with the whole path {path}");
}

#[test]
fn newly_loaded_data_opens_the_evaluate_tab_at_its_top_not_where_the_last_data_was_scrolled() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The same sample through a session file: opening it loads the data again.
    let again = dir.path().join("sample.json");
    Session::default().save(&again).expect("save session");
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let evaluate = |h: &mut Harness<'static, WorkbenchApp>| {
        h.get_by_label("Evaluate").click();
        h.run_steps(3);
        h.get_by_label("Run evaluation").click();
        wait_until(h, "the evaluation", |app| {
            app.wb.evaluation().outcome().is_some() && app.wb.jobs().running().is_empty()
        });
        h.run_steps(3);
    };
    // The metrics table's header ("row", "kind", the metrics): how far under the line above
    // the scrolled area ("… shoppers evaluated") it is drawn, if it is.
    let header_top = |h: &Harness<'static, WorkbenchApp>| {
        let above = h.get_by_label_contains("shoppers evaluated").rect().bottom();
        h.query_all_by_label("row").map(|n| n.rect().top() - above).reduce(f32::min)
    };
    evaluate(&mut h);
    let top = header_top(&h).expect("the metrics table's header");
    assert!(top > 0.0 && top < 100.0, "the header {top} under the line above the table");
    // Scrolled down to the segments: the table's header is above the view (or not drawn).
    h.get_by_label_contains("Segments (fused").scroll_to_me();
    h.run_steps(3);
    assert!(header_top(&h).is_none_or(|t| t < top - 100.0), "the tab did not scroll");
    open_session(&mut h, &again);
    wait_until(&mut h, "the data, loaded again", |app| app.wb.engine().is_some() && app.wb.jobs().running().is_empty());
    evaluate(&mut h);
    let after = header_top(&h);
    assert!(
        after.is_some_and(|a| (a - top).abs() < 2.0),
        "the new data's table header is at {after:?}, not at the top ({top})"
    );
}
