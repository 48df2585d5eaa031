//! `recfuse batch`: every shopper's top-K as Parquet. Read back, each shopper's rows equal
//! what `recommend --json` prints for that shopper (an independent code path through the same
//! engine); `--users` restricts; bad options and unknown shoppers are refused clearly; inputs
//! are never overwritten; a cancelled write leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use polars::prelude::*;

fn recfuse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recfuse"))
}

fn sample(name: &str) -> String {
    format!("{}/sample_data/online_retail/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The data arguments of every run (no embedding: the test stays fast and deterministic).
fn data_args() -> Vec<String> {
    ["--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv"), "--no-semantic"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn read(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).expect("open parquet");
    ParquetReader::new(file).finish().expect("read parquet")
}

fn text(df: &DataFrame, column: &str, row: usize) -> String {
    df.column(column).expect(column).as_materialized_series().str().expect("text").get(row).expect("value").to_owned()
}

fn real(df: &DataFrame, column: &str, row: usize) -> f32 {
    df.column(column).expect(column).as_materialized_series().f32().expect("f32").get(row).expect("value")
}

/// A JSON number as the f32 the engine printed (serde_json's parser may miss the last bit
/// of an f64, never of an f32).
fn json_f32(v: &serde_json::Value) -> f32 {
    v.as_f64().expect("number") as f32
}

fn int(df: &DataFrame, column: &str, row: usize) -> i64 {
    df.column(column).expect(column).as_materialized_series().i64().expect("i64").get(row).expect("value")
}

/// Runs `batch` with `extra` options; panics with stderr on failure.
fn batch(out: &Path, extra: &[&str]) {
    let output = recfuse()
        .arg("batch")
        .args(data_args())
        .args(["--out", &out.display().to_string()])
        .args(extra)
        .output()
        .expect("run recfuse");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn recommend_json(user: &str, extra: &[&str]) -> serde_json::Value {
    let output = recfuse()
        .arg("recommend")
        .args(data_args())
        .args(["--user", user, "--json"])
        .args(extra)
        .output()
        .expect("run recfuse");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("json")
}

/// Rows of `user` in the batch file, in file order.
fn rows_of(df: &DataFrame, user: &str) -> Vec<usize> {
    (0..df.height()).filter(|&r| text(df, "user_id", r) == user).collect()
}

/// The batch rows of `user` equal `recommend --json`: same items in the same order, the same
/// scores and the same contribution per signal (JSON and Parquet both carry the engine's f32).
fn assert_same_list(df: &DataFrame, user: &str, json: &serde_json::Value, explain: bool) {
    let rows = rows_of(df, user);
    let items = json["items"].as_array().expect("items");
    assert_eq!(rows.len(), items.len(), "list length of {user}");
    for (n, (&r, item)) in rows.iter().zip(items).enumerate() {
        assert_eq!(int(df, "rank", r), n as i64 + 1);
        assert_eq!(text(df, "item_id", r), item["item_id"].as_str().expect("item id"), "{user} #{}", n + 1);
        assert_eq!(real(df, "score", r), json_f32(&item["score"]), "{user} #{}", n + 1);
        if !explain {
            continue;
        }
        let mut sum = real(df, "contribution_rules", r);
        for (signal, value) in item["contributions"].as_object().expect("contributions") {
            let column = format!("contribution_{signal}");
            let want = json_f32(value);
            if df.column(&column).is_err() {
                assert_eq!(want, 0.0, "{signal} has no column, so its weight is 0");
                continue;
            }
            assert_eq!(real(df, &column, r), want, "{user} #{} {signal}", n + 1);
            sum += want;
        }
        // Contributions and the rule delta add up to the score (f32 sums, so to 1e-5).
        assert!((sum - real(df, "score", r)).abs() < 1e-5, "{user} #{}: {sum} vs score", n + 1);
    }
}

#[test]
fn batch_rows_equal_recommend_for_three_shoppers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("recs.parquet");
    batch(&out, &["--explain"]);
    let df = read(&out);
    // 445 shoppers in the sample (data_cli.rs), 10 rows each unless a list is shorter.
    let users: std::collections::HashSet<String> = (0..df.height()).map(|r| text(&df, "user_id", r)).collect();
    assert_eq!(users.len(), 445);
    assert!(df.height() <= 4450 && df.height() > 4000, "{}", df.height());
    // A heavy shopper, a one-event shopper and a shopper with cancellations.
    for user in ["17850", "13120", "12380"] {
        assert_same_list(&df, user, &recommend_json(user, &[]), true);
    }
    // No temporary file is left beside the output.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, vec!["recs.parquet".to_owned()]);
}

#[test]
fn fusion_options_and_rules_reach_batch_as_they_reach_recommend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.json");
    // Bury everything from 1 to 2 (GBP), hide the top item of shopper 17850's default list.
    std::fs::write(
        &rules,
        r#"[{"name": "cheap down", "target": {"by": "price_range", "min": 1.0, "max": 2.0}, "action": "bury", "adjustment": {"mode": "add", "value": 0.25}},
            {"name": "no hearts", "target": {"by": "item", "id": "85123A"}, "action": "hide"}]"#,
    )
    .expect("write rules");
    let out = dir.path().join("rrf.parquet");
    let options = [
        "--fusion",
        "rrf",
        "--weights",
        "popularity=0,als=0.6",
        "--top",
        "7",
        "--rules",
        rules.to_str().expect("utf-8"),
    ];
    batch(&out, &[&options[..], &["--explain"]].concat());
    let df = read(&out);
    for user in ["17850", "12350"] {
        assert_same_list(&df, user, &recommend_json(user, &options), true);
    }
    assert!(df.column("contribution_popularity").is_err(), "popularity=0 removes the signal");
}

/// The item ids of a `recommend --json` list.
fn item_ids(json: &serde_json::Value) -> Vec<String> {
    json["items"].as_array().expect("items").iter().map(|i| i["item_id"].as_str().expect("id").to_owned()).collect()
}

#[test]
fn a_segment_rule_from_a_rules_file_changes_only_the_lists_of_that_segment() {
    // In the sample, 17850's events are all from the United Kingdom and 12490's all from
    // France (counted in events.csv by hand), so the country segment puts them apart.
    let (uk, french) = ("17850", "12490");
    let plain_uk = item_ids(&recommend_json(uk, &["--top", "6"]));
    let plain_french = item_ids(&recommend_json(french, &["--top", "6"]));
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.json");
    let hidden = plain_uk[0].clone();
    std::fs::write(
        &rules,
        format!(
            r#"[{{"name": "uk: not the top item", "target": {{"by": "item", "id": "{hidden}"}}, "action": "hide",
                 "scope": {{"for": "segment", "dimension": "country", "value": "united kingdom"}}}},
                {{"name": "uk: pin", "target": {{"by": "item", "id": "{}"}}, "action": "pin", "position": 1,
                 "scope": {{"for": "segment", "dimension": "country", "value": "United Kingdom"}}}}]"#,
            plain_french[5]
        ),
    )
    .expect("write rules");
    let options = ["--top", "6", "--rules", rules.to_str().expect("utf-8")];
    let ruled_uk = item_ids(&recommend_json(uk, &options));
    assert!(!ruled_uk.contains(&hidden), "hidden for the UK shopper: {ruled_uk:?}");
    assert_eq!(ruled_uk[0], plain_french[5], "pinned at #1 for the UK shopper");
    assert_eq!(item_ids(&recommend_json(french, &options)), plain_french, "the French shopper's list is untouched");
    // `batch` scopes the same way.
    let out = dir.path().join("segment.parquet");
    batch(&out, &options);
    let df = read(&out);
    assert_same_list(&df, uk, &recommend_json(uk, &options), false);
    assert_same_list(&df, french, &recommend_json(french, &options), false);
}

#[test]
fn users_file_restricts_the_output_to_the_listed_shoppers_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("shoppers.txt");
    std::fs::write(&list, "user_id\n17850\n\n13120\n17850\n").expect("write list");
    let out = dir.path().join("two.parquet");
    batch(&out, &["--users", list.to_str().expect("utf-8"), "--top", "5"]);
    let df = read(&out);
    let users: Vec<String> = (0..df.height()).map(|r| text(&df, "user_id", r)).collect();
    // The header and the blank line are skipped, the repeated 17850 is kept once.
    assert_eq!(users, [vec!["17850".to_owned(); 5], vec!["13120".to_owned(); 5]].concat());
    // Without --explain: only the four list columns.
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, ["user_id", "rank", "item_id", "score"]);
    assert_same_list(&df, "13120", &recommend_json("13120", &["--top", "5"]), false);
}

fn batch_fails(out: &Path, extra: &[&str]) -> String {
    let output = recfuse()
        .arg("batch")
        .args(data_args())
        .args(["--out", &out.display().to_string()])
        .args(extra)
        .output()
        .expect("run recfuse");
    assert!(!output.status.success(), "expected a failure");
    assert!(!out.exists(), "nothing may be written on failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_top_and_unknown_shoppers_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("never.parquet");
    let err = batch_fails(&out, &["--top", "0"]);
    assert!(err.contains("--top = 0 is outside the allowed range 1 to 1000"), "{err}");
    let list = dir.path().join("shoppers.txt");
    std::fs::write(&list, "17850\nnobody-42\n13120\nghost\n").expect("write list");
    let err = batch_fails(&out, &["--users", list.to_str().expect("utf-8")]);
    assert!(err.contains("shoppers.txt"), "{err}");
    assert!(err.contains("2 shopper id(s) not in the behaviour data"), "{err}");
    assert!(err.contains("'nobody-42' (line 2)") && err.contains("'ghost' (line 4)"), "{err}");
}

#[test]
fn an_input_file_is_never_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("events.csv");
    std::fs::copy(sample("events.csv"), &events).expect("copy");
    let before = std::fs::read(&events).expect("read");
    let output = recfuse()
        .args(["batch", "--catalogue", &sample("catalogue.csv"), "--behaviour", events.to_str().expect("utf-8")])
        .args(["--no-semantic", "--out", events.to_str().expect("utf-8")])
        .output()
        .expect("run recfuse");
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("is an input file") && err.contains("events.csv"), "{err}");
    assert_eq!(std::fs::read(&events).expect("read"), before, "the input must be untouched");
}

fn engine() -> recfuse::session::Engine {
    use recfuse::data::{DataSources, EventWeights, load_dataset};
    let sources = DataSources {
        catalogue: Some(PathBuf::from(sample("catalogue.csv"))),
        behaviour: PathBuf::from(sample("events.csv")),
        ..DataSources::default()
    };
    let progress = recfuse::jobs::Progress::new();
    let d = load_dataset(&sources, &EventWeights::default(), &progress).expect("load");
    let texts = Arc::new(d.catalogue.titles.clone());
    recfuse::session::pipeline::fit_all(Arc::new(d), &Default::default(), texts, Err("none".to_owned()), &progress)
        .expect("fit")
}

#[test]
fn a_cancelled_batch_leaves_an_existing_file_untouched_and_no_temporary_file() {
    use recfuse::session::batch::{BatchError, BatchRequest, write_recommendations};
    let engine = engine();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("recs.parquet");
    std::fs::write(&out, b"the previous export").expect("write");
    let progress = recfuse::jobs::Progress::new();
    progress.cancel();
    let request = BatchRequest { top: 10, contributions: true, shoppers: None, pseudonym_salt: None };
    let result = write_recommendations(&engine, &Default::default(), &[], &request, &out, &progress);
    assert!(matches!(result, Err(BatchError::Cancelled(_))), "{result:?}");
    assert_eq!(std::fs::read(&out).expect("read"), b"the previous export");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1, "no temporary file left");
    // Pseudonyms replace shopper ids when the privacy switch asks for them.
    let salt = "s";
    let request = BatchRequest {
        top: 3,
        contributions: false,
        shoppers: Some(vec!["17850".to_owned()]),
        pseudonym_salt: Some(salt.to_owned()),
    };
    let fresh = recfuse::jobs::Progress::new();
    let summary = write_recommendations(&engine, &Default::default(), &[], &request, &out, &fresh).expect("write");
    assert_eq!((summary.shoppers, summary.rows), (1, 3));
    let df = read(&out);
    assert_eq!(text(&df, "user_id", 0), recfuse::session::workbench::pseudonym("17850", salt));
}

/// `--candidates index` probing every IVF list writes the same file as the exhaustive path
/// (the default for a catalogue this small); an unknown source is refused by name.
#[test]
fn index_candidates_probing_every_list_write_the_exhaustive_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exhaustive = dir.path().join("exhaustive.parquet");
    let indexed = dir.path().join("indexed.parquet");
    batch(&exhaustive, &["--top", "10", "--explain"]);
    batch(&indexed, &["--top", "10", "--explain", "--candidates", "index", "--index-probes", "4096"]);
    let (a, b) = (read(&exhaustive), read(&indexed));
    assert!(a.height() > 1000, "{} rows", a.height());
    assert!(a.equals(&b), "the two files differ");
    let output = recfuse()
        .arg("batch")
        .args(data_args())
        .args(["--out", &dir.path().join("x.parquet").display().to_string(), "--candidates", "nearest"])
        .output()
        .expect("run recfuse");
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("unknown candidate source 'nearest'") && err.contains("exhaustive"), "{err}");
}
