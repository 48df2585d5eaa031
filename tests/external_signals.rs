//! External signals: score files imported as signals, fused, explained, evaluated and
//! saved like the built-in ones. Every expected value is worked out by hand in the
//! comments; the data is written by each test into a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use recfuse::data::scores::{SignalFile, read_score_file};
use recfuse::data::{DataSources, Dataset, EventWeights, load_dataset};
use recfuse::fusion::FusionConfig;
use recfuse::jobs::Progress;
use recfuse::score::external::load_signal_file;
use recfuse::score::{SignalId, SignalParams};
use recfuse::session::engine::{Engine, Target};
use recfuse::session::{Session, pipeline};

/// Items A–F; u1 bought A and B, u2 and u3 bought others (so every item is a candidate
/// through popularity), u1's last purchase (C, day 100) is in the temporal test split.
const CATALOGUE: &str =
    "item_id,title\nA,Alpha mug\nB,Beta lamp\nC,Gamma rug\nD,Delta vase\nE,Epsilon jar\nF,Zeta cup\n";
const EVENTS: &str = "user_id,item_id,timestamp\n\
u1,A,2011-01-01\n\
u2,C,2011-01-02\n\
u2,D,2011-01-03\n\
u3,E,2011-01-04\n\
u3,F,2011-01-05\n\
u2,E,2011-01-06\n\
u3,B,2011-01-07\n\
u1,C,2011-04-10\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn dataset(dir: &Path) -> Dataset {
    let sources = DataSources {
        catalogue: Some(write(dir, "c.csv", CATALOGUE)),
        behaviour: write(dir, "e.csv", EVENTS),
        ..DataSources::default()
    };
    load_dataset(&sources, &EventWeights::default(), &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn engine(d: Dataset) -> Engine {
    let texts = Arc::new(d.catalogue.titles.clone());
    pipeline::fit_all(Arc::new(d), &SignalParams::default(), texts, Err("no embeddings here".into()), &Progress::new())
        .expect("fit")
}

/// Only the given signals weigh; every built-in signal is off.
fn only(weights: &[(SignalId, f32)]) -> FusionConfig {
    let mut c = FusionConfig::default();
    for setting in c.signals.values_mut() {
        setting.weight = 0.0;
    }
    for &(s, w) in weights {
        c.set_weight(s, w);
    }
    c
}

/// u1 has seen A and C (every event is training data here), so the file lists B, D, E.
const MULTI: &str = "user_id,item_id,signal,score\n\
u1,B,a,0.9\n\
u1,D,a,0.5\n\
u1,E,a,0.1\n\
u1,D,b,4\n\
u1,E,b,8\n\
u2,B,a,0.3\n";

#[test]
fn weighted_alone_the_order_is_the_files_and_fused_with_another_it_is_the_hand_sum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let file = SignalFile { name: "ext".into(), path: write(dir.path(), "multi.csv", MULTI) };
    let loaded = load_signal_file(&file, &d, &Progress::new()).expect("load");
    let ids = loaded.ids();
    let a = SignalId::from_id("ext_a").expect("ext_a named");
    let b = SignalId::from_id("ext_b").expect("ext_b named");
    assert_eq!(ids, vec![a, b]);
    let mut e = engine(d);
    e.set_external(vec![loaded]);
    let title = |e: &Engine, i: u32| e.catalogue().ids.name(i).to_owned();

    // ext_a alone: u1's listed items B 0.9, D 0.5, E 0.1.
    let config = only(&[(a, 1.0)]);
    let mut state = e.prepare_target(Target::Shopper("u1".into()), &config, &[]);
    let list = e.explain(&mut state, &config, &[], 3);
    let order: Vec<String> = list.iter().map(|x| title(&e, x.ranked.item)).collect();
    assert_eq!(order, ["B", "D", "E"]);
    assert_eq!(list[0].evidence, vec!["score 0.90 from multi.csv".to_owned()]);

    // ext_a weight 1, ext_b weight 2, min-max over candidates (unlisted items score 0, so the
    // minimum is 0, F being a candidate through popularity): a → B 1, D 0.5/0.9, E 0.1/0.9;
    // b → D 4/8, E 1, B 0. B = 1; D = 0.5556 + 2·0.5 = 1.5556; E = 0.1111 + 2·1 = 2.1111.
    let config = only(&[(a, 1.0), (b, 2.0)]);
    let mut state = e.prepare_target(Target::Shopper("u1".into()), &config, &[]);
    let list = e.explain(&mut state, &config, &[], 3);
    let got: Vec<(String, f32)> = list.iter().map(|x| (title(&e, x.ranked.item), x.ranked.score)).collect();
    let want = [("E", 2.0 + 1.0 / 9.0), ("D", 1.0 + 5.0 / 9.0), ("B", 1.0)];
    for ((name, score), (want_name, want_score)) in got.iter().zip(want) {
        assert_eq!(name, want_name);
        assert!((score - want_score).abs() < 1e-5, "{name}: {score} vs {want_score}");
    }
    // Contributions are wᵢ·ŝᵢ: E gets 2 from ext_b and 1/9 from ext_a.
    let d_contrib: Vec<(SignalId, f32)> = list[0].contributions.iter().copied().filter(|(_, v)| *v != 0.0).collect();
    assert_eq!(d_contrib.len(), 2);
    assert!(d_contrib.iter().any(|&(s, v)| s == b && (v - 2.0).abs() < 1e-6));
    assert!(d_contrib.iter().any(|&(s, v)| s == a && (v - 1.0 / 9.0).abs() < 1e-6));

    // Search mode leaves external signals out.
    let query = recfuse::score::Query { text: "lamp".into(), embedding: None };
    let state = e.prepare_target(Target::Search { query, shopper: Some("u1".into()) }, &config, &[]);
    assert!(!state.candidates.signals.contains(&a));
}

#[test]
fn bad_rows_are_counted_by_reason_and_the_later_duplicate_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let path = write(
        dir.path(),
        "bad.csv",
        "user_id,item_id,score\n\
         u1,B,0.9\n\
         nobody,B,0.5\n\
         u1,ZZZ,0.4\n\
         u1,C,NaN\n\
         u1,B,0.7\n\
         u1,D,abc\n\
         u2,,0.3\n\
         u2,C,0.3\n",
    );
    let read = read_score_file(&path, &d.behaviour.users, &d.catalogue.ids, &Progress::new()).expect("read");
    let r = &read.report;
    assert_eq!(r.rows, 8);
    assert_eq!(
        (r.unknown_users, r.unknown_items, r.non_finite, r.not_numeric, r.blank, r.duplicates),
        (1, 1, 1, 1, 1, 1)
    );
    assert_eq!(r.kept, 2, "u1·B (the later 0.7) and u2·C");
    assert!(r.examples.iter().any(|e| e == "row 2: unknown user 'nobody'"), "{:?}", r.examples);
    let file = SignalFile { name: "bad".into(), path };
    let loaded = load_signal_file(&file, &d, &Progress::new()).expect("load");
    let (u1, b) = (d.behaviour.users.get("u1").expect("u1"), d.catalogue.ids.get("B").expect("B"));
    assert_eq!(loaded.scorers[0].score_of(u1, b), Some(0.7));
}

#[test]
fn a_missing_column_is_an_error_naming_the_file_and_the_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let path = write(dir.path(), "nocol.csv", "user_id,product,points\nu1,B,3\n");
    let err = read_score_file(&path, &d.behaviour.users, &d.catalogue.ids, &Progress::new()).expect_err("no score");
    let text = err.to_string();
    assert!(text.contains("nocol.csv") && text.contains("no score column"), "{text}");
    assert!(text.contains("columns found: user_id, product, points"), "{text}");
    // A signal name that cannot be an id is refused with its row and column.
    let path = write(dir.path(), "badname.csv", "user_id,item_id,signal,score\nu1,B,ok,1\nu1,C,Not OK,2\n");
    let err = read_score_file(&path, &d.behaviour.users, &d.catalogue.ids, &Progress::new()).expect_err("bad name");
    assert!(err.to_string().contains("row 2, column 'signal'"), "{err}");
    // A built-in signal's name cannot be taken.
    let file = SignalFile { name: "als".into(), path: write(dir.path(), "s.csv", "user_id,item_id,score\nu1,B,1\n") };
    let err = load_signal_file(&file, &d, &Progress::new()).err().expect("built-in name");
    assert!(err.to_string().contains("built-in"), "{err}");
}

/// Writes a Parquet file of (user_id: i64, item_id: str, score: f64).
fn parquet(path: &Path, users: &[i64], items: &[&str], scores: &[f64]) {
    use polars::prelude::*;
    let mut df = df!("user_id" => users, "item_id" => items, "score" => scores).expect("frame");
    let f = std::fs::File::create(path).expect("create");
    ParquetWriter::new(f).finish(&mut df).expect("write parquet");
}

#[test]
fn a_spark_folder_of_part_files_loads_with_numeric_ids_matched_as_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = DataSources {
        catalogue: Some(write(dir.path(), "c.csv", "item_id,title\nA,Alpha\nB,Beta\nC,Gamma\n")),
        behaviour: write(
            dir.path(),
            "e.csv",
            "user_id,item_id,timestamp\n10,A,2011-01-01\n20,B,2011-01-02\n007,C,2011-01-03\n",
        ),
        ..DataSources::default()
    };
    let d = load_dataset(&sources, &EventWeights::default(), &Progress::new()).expect("data");
    let out = dir.path().join("scores.parquet");
    std::fs::create_dir(&out).expect("mkdir");
    parquet(&out.join("part-00000-abc.snappy.parquet"), &[10, 10], &["B", "C"], &[0.8, 0.2]);
    parquet(&out.join("part-00001-abc.snappy.parquet"), &[20, 30, 7], &["C", "A", "A"], &[0.5, 0.9, 0.4]);
    std::fs::write(out.join("_SUCCESS"), "").expect("marker");
    std::fs::write(out.join(".part-00000-abc.snappy.parquet.crc"), "x").expect("crc");
    let file = SignalFile { name: "spark".into(), path: out };
    let loaded = load_signal_file(&file, &d, &Progress::new()).expect("folder");
    let r = &loaded.report;
    // 30 is not in the behaviour data, and 7 prints as "7", not as the shopper "007".
    assert!(d.behaviour.users.get("007").is_some());
    assert_eq!((r.rows, r.kept, r.unknown_users), (5, 3, 2), "users 30 and 7 are unknown");
    assert!(r.format.starts_with("2 part files"), "{}", r.format);
    let u10 = d.behaviour.users.get("10").expect("10");
    assert_eq!(loaded.scorers[0].score_of(u10, d.catalogue.ids.get("B").expect("B")), Some(0.8));
}

#[test]
fn a_gzip_csv_score_file_loads() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let path = dir.path().join("s.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).expect("create"), Default::default());
    gz.write_all(b"customer_id,sku,prediction\nu1,B,0.25\nu2,F,0.75\n").expect("write");
    gz.finish().expect("finish");
    let loaded = load_signal_file(&SignalFile { name: "gz".into(), path }, &d, &Progress::new()).expect("gzip");
    assert_eq!(loaded.report.kept, 2);
    assert!(loaded.report.format.contains("gzip"), "{}", loaded.report.format);
    let (u2, f) = (d.behaviour.users.get("u2").expect("u2"), d.catalogue.ids.get("F").expect("F"));
    assert_eq!(loaded.scorers[0].score_of(u2, f), Some(0.75));
}

#[test]
fn a_session_keeps_its_score_files_and_their_weights() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "scores.csv", "user_id,item_id,score\nu1,B,1\n");
    let ext = SignalId::external("roundtrip").expect("name");
    let mut s = Session::default();
    s.data.signals.push(SignalFile { name: "roundtrip".into(), path: PathBuf::from("scores.csv") });
    s.fusion.set_weight(ext, 0.7);
    let path = dir.path().join("s.json");
    s.save(&path).expect("save");
    let back = Session::load(&path).expect("load");
    assert_eq!(back.data.signals.len(), 1);
    assert_eq!(back.data.signals[0].path, dir.path().join("scores.csv"), "relative to the session file");
    assert!((back.fusion.weight(ext) - 0.7).abs() < 1e-6);
    // A weight for an external signal no score file provides is refused, by name.
    let text = std::fs::read_to_string(&path).expect("read").replace("\"roundtrip\":", "\"ghost\":");
    std::fs::write(&path, text).expect("write");
    let err = Session::load(&path).expect_err("ghost");
    assert!(err.to_string().contains("fusion.signals.ghost"), "{err}");
}

fn recfuse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recfuse"))
}

/// `--weights` turning every built-in signal off and `extra` on.
fn weights_arg(extra: &str) -> String {
    let mut parts: Vec<String> = SignalId::search().map(|s| format!("{}=0", s.id())).collect();
    parts.push(extra.to_owned());
    parts.join(",")
}

#[test]
fn the_cli_ranks_explains_and_evaluates_with_a_signal_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = write(dir.path(), "c.csv", CATALOGUE);
    let e = write(dir.path(), "e.csv", EVENTS);
    let scores = write(dir.path(), "s.csv", "user_id,item_id,score\nu1,D,0.3\nu1,C,0.9\nu1,F,0.6\nu1,E,0.45\n");
    let out = recfuse()
        .args(["recommend", "--catalogue"])
        .arg(&c)
        .arg("--behaviour")
        .arg(&e)
        .args(["--user", "u1", "--top", "3", "--no-semantic", "--json", "--explain", "--signal-file"])
        .arg(format!("mine={}", scores.display()))
        .args(["--weights", &weights_arg("mine=1")])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = v["items"].as_array().expect("items").iter().filter_map(|i| i["item_id"].as_str()).collect();
    // C is already seen (u1's last purchase): F 0.6, E 0.45, D 0.3.
    assert_eq!(ids, ["F", "E", "D"], "the file's order for u1");
    assert_eq!(v["items"][0]["evidence"][0], "score 0.60 from s.csv");
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 pairs kept of 4 rows"));

    // Evaluation: u1 trains on A only and is tested on C, the file's top item, so `mine`
    // alone has NDCG@10 = 1.
    let out = recfuse()
        .args(["eval", "--catalogue"])
        .arg(&c)
        .arg("--behaviour")
        .arg(&e)
        .args(["--no-semantic", "--json", "--bootstrap", "10", "--signal-file"])
        .arg(format!("mine={}", scores.display()))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = v["results"].as_array().expect("results");
    let mine = rows.iter().find(|r| r["name"] == "mine").expect("a row for the external signal");
    assert_eq!(mine["metrics"]["ndcg@10"]["value"], 1.0);
    let fused = rows.iter().find(|r| r["kind"] == "fused").expect("fused row");
    let w = fused["weights"]["mine"].as_f64().expect("a weight for mine");
    assert!((w - 0.2).abs() < 1e-6, "the starting weight of an imported signal: {w}");

    // `validate` checks a score file against the data without fitting anything.
    let out = recfuse()
        .args(["validate", "--json", "--catalogue"])
        .arg(&c)
        .arg("--behaviour")
        .arg(&e)
        .arg("--signal-file")
        .arg(format!("mine={}", scores.display()))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["signal_files"][0]["report"]["kept"], 4);
    assert_eq!(v["signal_files"][0]["signals"][0], "mine");

    // A bad option names itself.
    let out = recfuse()
        .args(["recommend", "--catalogue"])
        .arg(&c)
        .arg("--behaviour")
        .arg(&e)
        .args(["--user", "u1", "--no-semantic", "--signal-file", "Bad Name=x.csv"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signal name 'Bad Name'"));
}
