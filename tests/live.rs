//! Live mode: following a growing behaviour file, folding new events into the fitted
//! signals without a refit, and the `watch` / `replay` sub-commands.
//!
//! Fixtures: `tests/fixtures/live/` (hand-made; popularity worked out in its README).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use recfuse::data::DataSources;
use recfuse::data::follow::{FollowEvent, Follower};
use recfuse::jobs::Progress;
use recfuse::score::als::AlsScorer;
use recfuse::score::params::AlsParams;
use recfuse::score::{ScoreContext, Scorer, SignalId, SignalParams, UserProfile, ValueTransform};
use recfuse::session::engine::{Engine, Target};
use recfuse::session::live::{LiveFeed, LiveStep, follow_behaviour, follow_catalogue};
use recfuse::session::{Session, pipeline};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/live");
const T0: &str = "2011-01-01 10:00:00";

/// A temporary folder with copies of the fixture catalogue and events.
fn workdir() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalogue = dir.path().join("catalogue.csv");
    let events = dir.path().join("events.csv");
    std::fs::copy(Path::new(FIXTURES).join("catalogue.csv"), &catalogue).expect("copy catalogue");
    std::fs::copy(Path::new(FIXTURES).join("events.csv"), &events).expect("copy events");
    (dir, catalogue, events)
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
}

fn session_for(catalogue: &Path, events: &Path) -> Session {
    let data = DataSources {
        catalogue: Some(catalogue.to_path_buf()),
        behaviour: events.to_path_buf(),
        ..DataSources::default()
    };
    Session { data, ..Session::default() }
}

fn engine_for(session: &Session) -> Engine {
    let progress = Progress::new();
    let dataset = Arc::new(pipeline::load(session, &progress).expect("load"));
    let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &session.model.template));
    pipeline::fit_all(dataset, &SignalParams::default(), texts, Err("not embedded in this test".to_owned()), &progress)
        .expect("fit")
}

/// Popularity per item id, for a cold shopper.
fn popularity(engine: &Engine) -> Vec<(String, f32)> {
    let scorer = engine.models.scorers.get(&SignalId::POPULARITY).expect("popularity fitted");
    let cold = UserProfile::cold(engine.interactions.now);
    let mut out = vec![0.0; engine.catalogue().len()];
    scorer.score_all(&ScoreContext { profile: &cold, query: None }, &mut out);
    (0..out.len()).map(|i| (engine.catalogue().ids.name(i as u32).to_owned(), out[i])).collect()
}

fn assert_popularity(engine: &Engine, expected: &[(&str, f32)]) {
    let got = popularity(engine);
    for (id, want) in expected {
        let v = got.iter().find(|(i, _)| i == id).map(|(_, v)| *v).expect("item");
        assert!((v - want).abs() < 1e-4, "popularity of {id}: {v}, expected {want} (all: {got:?})");
    }
}

/// The first `n` item ids of the cold-start list (popularity decides; freshness weighs 0).
fn cold_list(engine: &Engine, n: usize) -> Vec<String> {
    let config = Session::default().fusion;
    let mut state = engine.prepare_target(Target::Shopper("nobody".to_owned()), &config, &[]);
    let items = engine.explain(&mut state, &config, &[], 10);
    items.iter().take(n).map(|e| engine.catalogue().ids.name(e.ranked.item).to_owned()).collect()
}

fn step(feed: &mut LiveFeed, engine: &Engine) -> (Engine, recfuse::session::live::BatchSummary) {
    match feed.step(engine) {
        LiveStep::Applied { engine, summary, .. } => (*engine, summary),
        LiveStep::Idle => panic!("expected new events, found none"),
        LiveStep::Reset(r) => panic!("unexpected reset: {r}"),
        LiveStep::CatalogueChanged(what) => panic!("unexpected catalogue change: {what}"),
        LiveStep::Failed(e) => panic!("reading failed: {e}"),
    }
}

#[test]
fn appending_rows_updates_popularity_and_the_list_as_worked_out_by_hand() {
    let (_dir, catalogue, events) = workdir();
    let session = session_for(&catalogue, &events);
    let len = std::fs::metadata(&events).expect("meta").len();
    let engine = engine_for(&session);
    // Before: A 16 (two purchases), B 8, E 1 (a view).
    assert_popularity(&engine, &[("A", 16.0), ("B", 8.0), ("C", 0.0), ("E", 1.0)]);
    assert_eq!(cold_list(&engine, 3), ["A", "B", "E"]);
    let mut feed = follow_behaviour(&events, len, &session.data.behaviour_mapping).expect("follow");
    // Three purchases of C and a view of F at the same time (no decay), one row for an
    // unknown item and one with a broken timestamp (both dropped and counted).
    append(
        &events,
        &format!(
            "u4,C,{T0},purchase\nu5,C,{T0},purchase\nu6,C,{T0},purchase\nu7,F,{T0},view\nu8,ZZZ,{T0},purchase\nu9,A,not a date,purchase\n"
        ),
    );
    let (engine, summary) = step(&mut feed, &engine);
    assert_eq!((summary.rows_read, summary.events, summary.dropped), (6, 4, 2));
    assert_eq!(summary.shoppers, ["u4", "u5", "u6", "u7"]);
    assert_popularity(&engine, &[("A", 16.0), ("B", 8.0), ("C", 24.0), ("E", 1.0), ("F", 1.0)]);
    assert_eq!(cold_list(&engine, 3), ["C", "A", "B"]);
    // The validation report counts the batch: 4 + 6 rows read, 4 + 4 kept.
    let file = engine.dataset.report.files.iter().find(|f| f.path.ends_with("events.csv")).expect("behaviour report");
    assert_eq!((file.rows_read, file.rows_kept, file.rows_dropped()), (10, 8, 2));
    assert_eq!(engine.dataset.report.events, 8);
    // Thirty days later (one half-life): every earlier score halves; D's view adds 1.
    append(&events, "u1,D,2011-01-31 10:00:00,view\n");
    let (engine, _) = step(&mut feed, &engine);
    assert_popularity(&engine, &[("A", 8.0), ("B", 4.0), ("C", 12.0), ("D", 1.0), ("E", 0.5), ("F", 0.5)]);
    assert_eq!(cold_list(&engine, 4), ["C", "A", "B", "D"]);
    // The evidence says what changed.
    let config = Session::default().fusion;
    let mut state = engine.prepare_target(Target::Shopper("nobody".to_owned()), &config, &[]);
    let items = engine.explain(&mut state, &config, &[], 10);
    assert!(items[0].evidence.iter().any(|e| e.contains("(+3 events since live started)")), "{:?}", items[0].evidence);
    // u1's history now has the view of D.
    let (profile, known) = engine.profile_of("u1");
    assert!(known);
    assert_eq!(profile.events.iter().map(|e| engine.catalogue().ids.name(e.item)).collect::<Vec<_>>(), ["A", "D"]);
}

/// Fits the fixture, follows its events file, appends `rows` and folds them in: the
/// folder (kept alive), the session on the grown files, and the live engine.
fn fold_in_after_fit(rows: &str) -> (tempfile::TempDir, Session, Engine) {
    let (dir, catalogue, events) = workdir();
    let session = session_for(&catalogue, &events);
    let len = std::fs::metadata(&events).expect("meta").len();
    let engine = engine_for(&session);
    let mut feed = follow_behaviour(&events, len, &session.data.behaviour_mapping).expect("follow");
    append(&events, rows);
    let (live, _) = step(&mut feed, &engine);
    (dir, session, live)
}

#[test]
fn incremental_signals_match_a_refit_on_the_same_events() {
    let (_dir, session, live) = fold_in_after_fit(
        "u1,C,2011-01-02 10:00:00,purchase\nu1,D,2011-01-03 10:00:00,purchase\nu4,A,2011-01-02 11:00:00,purchase\nu4,C,2011-01-04 10:00:00,purchase\nu2,C,2011-01-05 10:00:00,cart\n",
    );
    let refit = engine_for(&session);
    for shopper in ["u1", "u2", "u4"] {
        let (p_live, _) = live.profile_of(shopper);
        let (p_refit, _) = refit.profile_of(shopper);
        assert_eq!(p_live, p_refit, "profile of {shopper}");
        for signal in [
            SignalId::POPULARITY,
            SignalId::FRESHNESS,
            SignalId::SEQUENTIAL,
            SignalId::USER_CF,
            SignalId::PRICE,
            SignalId::CATEGORY,
        ] {
            let n = live.catalogue().len();
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            live.models.scorers[&signal].score_all(&ScoreContext { profile: &p_live, query: None }, &mut a);
            refit.models.scorers[&signal].score_all(&ScoreContext { profile: &p_refit, query: None }, &mut b);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-4 * (1.0 + y.abs()), "{signal} for {shopper}: live {a:?} vs refit {b:?}");
            }
        }
    }
}

/// Every shopper's `signal` scores over every item, live against a refit of the same events.
fn assert_scores_match_a_refit(live: &Engine, refit: &Engine, signal: SignalId, shoppers: &[&str], batch: &str) {
    let n = live.catalogue().len();
    for &shopper in shoppers {
        let (p_live, _) = live.profile_of(shopper);
        let (p_refit, _) = refit.profile_of(shopper);
        assert_eq!(p_live, p_refit, "profile of {shopper} after {batch}");
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        live.models.scorers[&signal].score_all(&ScoreContext { profile: &p_live, query: None }, &mut a);
        refit.models.scorers[&signal].score_all(&ScoreContext { profile: &p_refit, query: None }, &mut b);
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() < 1e-5 * (1.0 + y.abs()),
                "{signal} for {shopper} after {batch}: live {a:?} vs refit {b:?}"
            );
        }
    }
}

#[test]
fn sequential_folds_later_batches_exactly_also_into_the_middle_of_a_history() {
    // Three batches in turn: new baskets at the end of histories, a new shopper, a cancel,
    // and a late event between two of u4's baskets (the transitions change in the middle of
    // a history, so those into every later basket are taken out and put in again).
    let batches = [
        "u1,C,2011-01-02 10:00:00,purchase\nu4,A,2011-01-02 11:00:00,purchase\nu4,C,2011-01-02 12:00:00,purchase\n",
        "u1,B,2011-01-03 10:00:00,purchase\nu5,C,2011-01-03 11:00:00,cart\nu5,D,2011-01-03 11:00:00,cart\nu4,A,2011-01-03 12:00:00,purchase\n",
        "u2,B,2011-01-04 10:00:00,cancel\nu3,C,2011-01-04 11:00:00,view\nu5,D,2011-01-04 12:00:00,purchase\nu4,E,2011-01-02 11:30:00,purchase\n",
    ];
    let (_dir, catalogue, events) = workdir();
    let session = session_for(&catalogue, &events);
    let len = std::fs::metadata(&events).expect("meta").len();
    let mut engine = engine_for(&session);
    let mut feed = follow_behaviour(&events, len, &session.data.behaviour_mapping).expect("follow");
    for (n, rows) in batches.iter().enumerate() {
        append(&events, rows);
        let (live, _) = step(&mut feed, &engine);
        let refit = engine_for(&session);
        for signal in [SignalId::SEQUENTIAL, SignalId::USER_CF, SignalId::POPULARITY] {
            assert_scores_match_a_refit(&live, &refit, signal, &["u1", "u2", "u3", "u4", "u5"], &format!("batch {n}"));
        }
        engine = live;
    }
}

#[test]
fn als_fold_in_is_the_closed_form_least_squares_solution() {
    // Item factors Y = [[1,0],[0,1],[1,1]], λ = 1, α = 1, binary values (c = 2 when observed).
    // The shopper has items 0 and 2: A = YᵀY + λI + Σ(c−1)yyᵀ = [[3,1],[1,3]] + [[1,0],[0,0]]
    // + [[1,1],[1,1]] = [[5,2],[2,4]], b = Σ c·y = 2·[1,0] + 2·[1,1] = [4,2];
    // A⁻¹ = (1/16)[[4,−2],[−2,5]], so x = (1/16)[12, 2] = [0.75, 0.125].
    let params =
        AlsParams { regularization: 1.0, alpha: 1.0, transform: ValueTransform::Binary, ..AlsParams::default() };
    let als = AlsScorer::from_factors(2, vec![0.0; 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &params);
    let profile = UserProfile { user: Some(1), items: vec![(0, 8.0), (2, 8.0)], events: Vec::new(), now: 0 };
    let folded = als.fold_in(&[(1, profile)], 2);
    let x = &folded.user_factors[2..4];
    assert!((x[0] - 0.75).abs() < 1e-6 && (x[1] - 0.125).abs() < 1e-6, "{x:?}");
    // Shopper 0 (no new events) keeps its vector; scores are x·y: item 2 = 0.875.
    assert_eq!(&folded.user_factors[0..2], &[0.0, 0.0]);
    let p = UserProfile { user: Some(1), items: vec![(0, 8.0), (2, 8.0)], events: Vec::new(), now: 0 };
    let mut out = vec![0.0; 3];
    folded.score_all(&ScoreContext { profile: &p, query: None }, &mut out);
    assert!((out[2] - 0.875).abs() < 1e-6, "{out:?}");
}

#[test]
fn als_live_sweep_is_one_closed_form_als_iteration() {
    // λ = 1, α = 1, binary (c = 2 when observed), item factors Y = [[1,0],[0,1]]; shopper 0
    // bought item 0, shopper 1 item 1, shopper 2 both; item 2 is new (no factors, no events).
    // Shoppers against Y (G = YᵀY + λI = 2I): x₀ = [[3,0],[0,2]]⁻¹[2,0] = [2/3, 0],
    // x₁ = [0, 2/3], x₂ = (3I)⁻¹[2,2] = [2/3, 2/3].
    // Items against X: G' = XᵀX + λI = [[17/9, 4/9], [4/9, 17/9]]; item 0 (shoppers 0, 2):
    // A = G' + x₀x₀ᵀ + x₂x₂ᵀ = (1/9)[[25,8],[8,21]], b = 2x₀ + 2x₂ = [8/3, 4/3]
    // → y₀ = (1/461)[[21,−8],[−8,25]]·[24,12] = [408/461, 108/461]; item 1 mirrors it.
    // The fit's CG (3 steps) is exact on two unknowns.
    let params =
        AlsParams { regularization: 1.0, alpha: 1.0, transform: ValueTransform::Binary, ..AlsParams::default() };
    let als = AlsScorer::from_factors(2, vec![0.3, -0.2], vec![1.0, 0.0, 0.0, 1.0], &params);
    let by_user = recfuse::score::SparseRows::from_triples(3, vec![(0, 0, 8.0), (1, 1, 8.0), (2, 0, 8.0), (2, 1, 8.0)]);
    let by_item = recfuse::score::SparseRows::from_triples(3, vec![(0, 0, 8.0), (0, 2, 8.0), (1, 1, 8.0), (1, 2, 8.0)]);
    let next = als.warm_sweeps(&by_user, &by_item, 1);
    let close = |got: &[f32], want: &[f64]| {
        assert!(got.iter().zip(want).all(|(g, w)| (f64::from(*g) - w).abs() < 1e-5), "{got:?} vs {want:?}");
    };
    close(&next.user_factors, &[2.0 / 3.0, 0.0, 0.0, 2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0]);
    close(&next.item_factors, &[408.0 / 461.0, 108.0 / 461.0, 108.0 / 461.0, 408.0 / 461.0, 0.0, 0.0]);
}

#[test]
fn a_half_written_last_line_is_held_back_until_its_newline_arrives() {
    let (_dir, _catalogue, events) = workdir();
    let len = std::fs::metadata(&events).expect("meta").len();
    let mut f = Follower::file(&events, len).expect("follow");
    assert!(f.poll().expect("poll").is_none());
    append(&events, &format!("u4,C,{T0},purch"));
    assert!(f.poll().expect("poll").is_none(), "a line without its newline must wait");
    append(&events, "ase\n");
    match f.poll().expect("poll") {
        Some(FollowEvent::Rows(rows)) => {
            assert_eq!(rows.table.rows, 1);
            assert_eq!(rows.rows_before, 4);
            let cells = rows.table.cells("event_type").expect("column");
            assert_eq!(cells[0].as_text().as_deref(), Some("purchase"));
        }
        _ => panic!("expected the completed row"),
    }
    assert!(f.poll().expect("poll").is_none(), "nothing is read twice");
}

#[test]
fn truncating_or_replacing_the_file_is_detected() {
    let (dir, _catalogue, events) = workdir();
    let len = std::fs::metadata(&events).expect("meta").len();
    // Truncated.
    let mut f = Follower::file(&events, len).expect("follow");
    let text = std::fs::read_to_string(&events).expect("read");
    let short: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&events, &short).expect("truncate");
    match f.poll().expect("poll") {
        Some(FollowEvent::Reset { reason, .. }) => assert!(reason.contains("truncated"), "{reason}"),
        _ => panic!("truncation not detected"),
    }
    // Replaced by another file (a rename over it).
    std::fs::write(&events, &text).expect("restore");
    let mut f = Follower::file(&events, text.len() as u64).expect("follow");
    let other = dir.path().join("new.csv");
    std::fs::write(&other, format!("{text}u9,A,{T0},purchase\n")).expect("write");
    std::fs::rename(&other, &events).expect("rename");
    match f.poll().expect("poll") {
        Some(FollowEvent::Reset { reason, .. }) => assert!(reason.contains("replaced"), "{reason}"),
        _ => panic!("replacement not detected"),
    }
    // Rewritten in place with other first bytes and more rows.
    let mut f = Follower::file(&events, std::fs::metadata(&events).expect("meta").len()).expect("follow");
    let rewritten = text.replace("user_id", "customer").to_string() + &format!("u9,B,{T0},purchase\n").repeat(3);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&events)
        .expect("open")
        .write_all(rewritten.as_bytes())
        .expect("rewrite");
    match f.poll().expect("poll") {
        Some(FollowEvent::Reset { reason, .. }) => assert!(reason.contains("first bytes"), "{reason}"),
        _ => panic!("rewrite not detected"),
    }
}

#[test]
fn a_followed_folder_reads_each_new_file_once_it_has_settled() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("old.csv"), format!("user_id,item_id,timestamp\nu1,A,{T0}\n")).expect("write");
    let mut f = Follower::folder(dir.path()).expect("follow");
    assert!(f.poll().expect("poll").is_none(), "files present at the start count as read");
    std::fs::write(
        dir.path().join("new.jsonl"),
        format!("{{\"user_id\":\"u2\",\"item_id\":\"B\",\"timestamp\":\"{T0}\"}}\n"),
    )
    .expect("write");
    std::fs::write(dir.path().join(".partial.csv"), "user_id\n").expect("write hidden");
    assert!(f.poll().expect("poll").is_none(), "a file is read once its size stopped changing");
    match f.poll().expect("poll") {
        Some(FollowEvent::Rows(rows)) => {
            assert!(rows.source.ends_with("new.jsonl"));
            assert_eq!(rows.table.rows, 1);
        }
        _ => panic!("expected the new file"),
    }
    assert!(f.poll().expect("poll").is_none());
}

#[test]
fn a_compressed_file_cannot_be_followed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gz = dir.path().join("events.csv.gz");
    std::fs::write(&gz, b"\x1f\x8b").expect("write");
    let err = Follower::file(&gz, 0).expect_err("refused");
    assert!(err.to_string().contains("cannot follow"), "{err}");
}

fn sha(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).expect("read")).to_vec()
}

/// Starts `recfuse watch --json` for a shopper without history on the files, with `extra`
/// options; returns the child, its stdout and the first line it printed.
fn start_watch(
    catalogue: &Path,
    events: &Path,
    extra: &[&str],
    stderr: Stdio,
) -> (std::process::Child, BufReader<std::process::ChildStdout>, String) {
    start_watch_on(Some(catalogue), events, extra, stderr)
}

/// [`start_watch`], without a catalogue file when `catalogue` is `None`.
fn start_watch_on(
    catalogue: Option<&Path>,
    events: &Path,
    extra: &[&str],
    stderr: Stdio,
) -> (std::process::Child, BufReader<std::process::ChildStdout>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .arg("watch")
        .args(catalogue.map(|c| [std::ffi::OsStr::new("--catalogue"), c.as_os_str()]).into_iter().flatten())
        .arg("--behaviour")
        .arg(events)
        .args(["--user", "nobody", "--json", "--no-semantic"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start recfuse watch");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("first line");
    (child, out, first)
}

#[test]
fn watch_json_prints_a_new_line_after_an_append_and_writes_nothing() {
    let (_dir, catalogue, events) = workdir();
    let catalogue_sum = sha(&catalogue);
    let (mut child, mut out, first) =
        start_watch(&catalogue, &events, &["--max-updates", "1", "--idle-exit", "60"], Stdio::null());
    let first: serde_json::Value = serde_json::from_str(&first).expect("JSON line");
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .take(3)
            .map(|i| i["item_id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(ids(&first), ["A", "B", "E"]);
    assert_eq!(first["user"], "nobody");
    let appended = format!("u4,C,{T0},purchase\nu5,C,{T0},purchase\nu6,C,{T0},purchase\n");
    append(&events, &appended);
    let mut second = String::new();
    out.read_line(&mut second).expect("second line");
    let second: serde_json::Value = serde_json::from_str(&second).expect("JSON line after the append");
    assert_eq!(ids(&second), ["C", "A", "B"]);
    assert_eq!(second["live_events"], 3);
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status}");
    // Nothing was written to the watched files: the catalogue is unchanged and the events
    // file holds exactly the fixture plus what the test appended.
    assert_eq!(sha(&catalogue), catalogue_sum);
    let expected = std::fs::read_to_string(Path::new(FIXTURES).join("events.csv")).expect("fixture") + &appended;
    assert_eq!(std::fs::read_to_string(&events).expect("events"), expected);
}

#[test]
fn a_refit_of_the_live_engine_equals_a_fresh_fit_on_the_grown_file() {
    let (_dir, session, live) = fold_in_after_fit(
        "u1,C,2011-01-02 10:00:00,purchase\nu4,A,2011-01-02 11:00:00,purchase\nu4,C,2011-01-04 10:00:00,purchase\n",
    );
    let refit = live.refit(&SignalParams::default(), &Progress::new()).expect("refit");
    // The independent reference: load the grown file and fit from scratch.
    let fresh = engine_for(&session);
    assert_eq!(refit.interactions.events, 7);
    for shopper in ["u1", "u2", "u4"] {
        let (p_refit, _) = refit.profile_of(shopper);
        let (p_fresh, _) = fresh.profile_of(shopper);
        for (signal, scorer) in &fresh.models.scorers {
            let n = fresh.catalogue().len();
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            refit.models.scorers[signal].score_all(&ScoreContext { profile: &p_refit, query: None }, &mut a);
            scorer.score_all(&ScoreContext { profile: &p_fresh, query: None }, &mut b);
            assert_eq!(a, b, "{signal} for {shopper}");
        }
    }
}

#[test]
fn watch_refits_in_the_background_once_new_events_pass_the_threshold() {
    let (_dir, catalogue, events) = workdir();
    let (child, _out, _first) =
        start_watch(&catalogue, &events, &["--refit-after", "50", "--idle-exit", "3"], Stdio::piped());
    // 3 new events on the fixture's 4 = 75 %, past the 50 % threshold.
    append(&events, &format!("u4,C,{T0},purchase\nu5,C,{T0},purchase\nu6,C,{T0},purchase\n"));
    let output = child.wait_with_output().expect("exit");
    assert!(output.status.success(), "{}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("3 new events since the last fit are 75.0 % of the 4 it used"), "{stderr}");
    assert!(stderr.contains("refit on 7 events"), "{stderr}");
}

#[test]
fn replay_writes_the_log_in_time_order_and_never_to_its_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("log.csv");
    std::fs::write(
        &input,
        "user_id,item_id,timestamp\nu1,B,2011-01-01 10:00:02\nu2,A,2011-01-01 10:00:00\nu3,C,2011-01-01 10:00:01\nu4,D,bad\n",
    )
    .expect("write");
    let before = sha(&input);
    let out = dir.path().join("out.csv");
    let run = |to: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_recfuse"))
            .args(["replay", "--behaviour"])
            .arg(&input)
            .arg("--to")
            .arg(to)
            .args(extra)
            .output()
            .expect("run replay")
    };
    let r = run(&out, &["--speed", "1000"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        std::fs::read_to_string(&out).expect("out"),
        "user_id,item_id,timestamp\nu2,A,2011-01-01 10:00:00\nu3,C,2011-01-01 10:00:01\nu1,B,2011-01-01 10:00:02\n"
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("1 rows without a usable timestamp"));
    // The last of the three only (0.7 × 3 = 2.1: the first two skipped), appended to the
    // existing output (its header is checked).
    let r = run(&out, &["--speed", "1000", "--skip-fraction", "0.7"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(std::fs::read_to_string(&out).expect("out").ends_with("10:00:02\nu1,B,2011-01-01 10:00:02\n"));
    // Never into the input, by path or through another name for it.
    let r = run(&input, &[]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("is the input file"));
    let r = run(&dir.path().join(".").join("log.csv"), &[]);
    assert!(!r.status.success());
    assert_eq!(sha(&input), before, "the input was written to");
    let r = run(&out, &["--speed", "0"]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("--speed"), "{}", String::from_utf8_lossy(&r.stderr));
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}

/// Every listed signal's scores for every shopper of the fixture, live against a fresh fit.
fn assert_like_a_fresh_fit(live: &Engine, fresh: &Engine, signals: &[SignalId]) {
    assert_eq!(live.catalogue().ids.names(), fresh.catalogue().ids.names(), "the same items in the same order");
    assert_eq!(live.item_texts, fresh.item_texts, "the same item texts");
    for &signal in signals {
        assert_scores_match_a_refit(live, fresh, signal, &["u1", "u2", "u3", "u4", "u5", "u6"], "the new item");
    }
}

/// The fixture fitted, with its events and catalogue files followed from their ends.
fn following_both_files() -> (tempfile::TempDir, PathBuf, PathBuf, Session, Engine, LiveFeed) {
    let (dir, catalogue, events) = workdir();
    let session = session_for(&catalogue, &events);
    let engine = engine_for(&session);
    let feed = follow_behaviour(&events, size(&events), &session.data.behaviour_mapping)
        .expect("follow events")
        .with_catalogue(follow_catalogue(&catalogue, size(&catalogue)).expect("follow catalogue"), Default::default());
    (dir, catalogue, events, session, engine, feed)
}

#[test]
fn a_row_appended_to_the_followed_catalogue_adds_the_item_without_a_reload() {
    let (_dir, catalogue, events, session, engine, mut feed) = following_both_files();
    assert!(matches!(feed.step(&engine), LiveStep::Idle));
    // A new catalogue row, and a row without an id (dropped and counted in the report).
    append(&catalogue, "G,Walnut bowl,Living,15.00\n,No id,Living,1.00\n");
    let (engine, summary) = step(&mut feed, &engine);
    assert_eq!(summary.new_items, [6], "G is item 6, after A–F");
    assert_eq!(summary.events, 0);
    assert_eq!(
        summary.new_items_note(engine.catalogue()).as_deref(),
        Some("1 new item (“Walnut bowl”) added to the catalogue")
    );
    let cat = engine.catalogue();
    assert_eq!(
        (cat.len(), cat.title(6), cat.price(6), cat.top_category(6)),
        (7, "Walnut bowl", Some(15.0), Some("Living"))
    );
    let file =
        engine.dataset.report.files.iter().find(|f| f.path.ends_with("catalogue.csv")).expect("catalogue report");
    assert_eq!((file.rows_read, file.rows_kept), (8, 7), "6 + 2 rows read, 6 + 1 kept");
    assert_eq!(engine.dataset.report.items, 7);
    assert!(matches!(feed.step(&engine), LiveStep::Idle), "each row is read once");
    // Three purchases of G at the fixture's time: popularity 3 × 8 = 24, first on the cold list.
    append(&events, &format!("u4,G,{T0},purchase\nu5,G,{T0},purchase\nu6,G,{T0},purchase\n"));
    let (engine, summary) = step(&mut feed, &engine);
    assert_eq!((summary.events, summary.new_items.len()), (3, 0));
    assert_popularity(&engine, &[("A", 16.0), ("B", 8.0), ("G", 24.0)]);
    assert_eq!(cold_list(&engine, 2), ["G", "A"]);
    // The exact signals score as a fresh load and fit of the grown files does.
    let fresh = engine_for(&session);
    assert_eq!(fresh.interactions.events, engine.interactions.events);
    assert_like_a_fresh_fit(
        &engine,
        &fresh,
        &[
            SignalId::POPULARITY,
            SignalId::FRESHNESS,
            SignalId::USER_CF,
            SignalId::PRICE,
            SignalId::CATEGORY,
            SignalId::SEQUENTIAL,
        ],
    );
    // Search finds the new item by its text (BM25 indexed it).
    let bm25 = &engine.models.scorers[&SignalId::BM25];
    let query = recfuse::score::Query { text: "walnut".to_owned(), embedding: None };
    let cold = UserProfile::cold(engine.interactions.now);
    let mut out = vec![0.0; 7];
    bm25.score_all(&ScoreContext { profile: &cold, query: Some(&query) }, &mut out);
    assert!(out[6] > 0.0 && out[..6].iter().all(|&x| x == 0.0), "{out:?}");
    // And the search list puts it first.
    let config = Session::default().search_fusion;
    let target = Target::Search { query, shopper: None };
    let mut state = engine.prepare_target(target, &config, &[]);
    let items = engine.explain(&mut state, &config, &[], 3);
    assert_eq!(items.first().map(|e| engine.catalogue().ids.name(e.ranked.item)), Some("G"));
}

#[test]
fn a_catalogue_row_for_an_item_already_loaded_asks_for_a_reload() {
    let (_dir, catalogue, _events, session, engine, mut feed) = following_both_files();
    // C's price changes (row 7 of the file); G is new, but the change needs a load.
    append(&catalogue, "G,Walnut bowl,Living,15.00\nC,Green teapot,Kitchen,9.00\n");
    match feed.step(&engine) {
        LiveStep::CatalogueChanged(what) => {
            assert_eq!(what, "catalogue.csv: 1 new row for items already loaded (row 8)")
        }
        _ => panic!("expected the catalogue change"),
    }
    let reloaded = engine_for(&session);
    assert_eq!(reloaded.catalogue().len(), 7, "the load takes G in");
}

#[test]
fn without_a_catalogue_file_new_items_in_the_events_join_the_derived_catalogue() {
    let (_dir, _catalogue, events) = workdir();
    let data = DataSources { behaviour: events.clone(), ..DataSources::default() };
    let session = Session { data, ..Session::default() };
    let engine = engine_for(&session);
    assert_eq!(engine.catalogue().len(), 3, "items A, B, E derived from the events");
    let mut feed = follow_behaviour(&events, size(&events), &session.data.behaviour_mapping).expect("follow");
    append(&events, &format!("u4,A,{T0},purchase\nu4,Z,{T0},purchase\nu5,Z,{T0},purchase\nu6,Z,{T0},purchase\n"));
    let (engine, summary) = step(&mut feed, &engine);
    // Every row is folded in; Z is item 3, after A, B, E.
    assert_eq!((summary.events, summary.dropped, summary.new_items.as_slice()), (4, 0, &[3][..]));
    assert_eq!(engine.catalogue().ids.get("Z"), Some(3));
    // Z: three purchases, 24; A: three, 24 — the tie goes to the lower index.
    assert_popularity(&engine, &[("A", 24.0), ("B", 8.0), ("E", 1.0), ("Z", 24.0)]);
    assert_eq!(cold_list(&engine, 2), ["A", "Z"]);
    let fresh = engine_for(&session);
    assert_eq!(fresh.interactions.events, 8, "the fresh load counts every event once");
    assert_like_a_fresh_fit(
        &engine,
        &fresh,
        &[SignalId::POPULARITY, SignalId::FRESHNESS, SignalId::USER_CF, SignalId::SEQUENTIAL],
    );
}

#[test]
fn watch_without_a_catalogue_lists_a_new_item_of_the_events_at_once() {
    let (_dir, _catalogue, events) = workdir();
    let (child, mut out, _first) = start_watch_on(
        None,
        &events,
        &["--refit-after", "0", "--max-updates", "1", "--idle-exit", "60"],
        Stdio::piped(),
    );
    // Three purchases of a new item Z (no refit: it is folded in like any event).
    append(&events, &format!("u4,Z,{T0},purchase\nu5,Z,{T0},purchase\nu6,Z,{T0},purchase\n"));
    let mut second = String::new();
    out.read_line(&mut second).expect("second line");
    let second: serde_json::Value = serde_json::from_str(&second).expect("JSON line after the append");
    assert_eq!(second["items"][0]["item_id"], "Z", "{second}");
    let output = child.wait_with_output().expect("exit");
    assert!(output.status.success(), "{}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 new item (“Z”) added to the catalogue"), "{stderr}");
    assert!(!stderr.contains("loading and fitting again") && !stderr.contains("refit"), "{stderr}");
}

#[test]
fn watch_takes_in_an_item_added_to_the_catalogue() {
    let (_dir, catalogue, events) = workdir();
    let (child, mut out, _first) =
        start_watch(&catalogue, &events, &["--max-updates", "1", "--idle-exit", "60"], Stdio::piped());
    append(&catalogue, "G,Walnut bowl,Living,15.00\n");
    append(&events, &format!("u4,G,{T0},purchase\nu5,G,{T0},purchase\nu6,G,{T0},purchase\n"));
    let mut second = String::new();
    out.read_line(&mut second).expect("second line");
    let second: serde_json::Value = serde_json::from_str(&second).expect("JSON line after the append");
    // G, bought by three shoppers, now leads the cold list.
    assert_eq!(second["items"][0]["item_id"], "G", "{second}");
    let output = child.wait_with_output().expect("exit");
    assert!(output.status.success(), "{}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 new item (“Walnut bowl”) added to the catalogue"), "{stderr}");
    assert!(!stderr.contains("loading and fitting again"), "no reload: {stderr}");
}
