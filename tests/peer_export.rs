//! `recfuse eval --export-split DIR` (issue #13, deliverable 8): the split written for the peer
//! libraries is the one `eval` evaluates — checked by hand on a tiny fixture, and against
//! `eval --json`'s own counts on the same files.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use polars::prelude::*;

const DAY0: i64 = 1_293_840_000;
const DAY: i64 = 86_400;

fn recfuse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recfuse")).args(args).output().unwrap()
}

/// Five items (i3 and i5 share title and brand: one duplicate group) and eleven events over
/// ten days; the temporal cut (90 % of the span) is day 9, validation's (90 % of days 0–5) is
/// day 4.5.
fn fixture(dir: &Path) -> (String, String) {
    let catalogue = "item_id,title,brand\ni0,lamp,a\ni1,chair,a\ni2,table,a\ni3,mug,b\ni4,vase,a\ni5,mug,b\n";
    let t = |tenths: i64| DAY0 + tenths * DAY / 10;
    let rows = [
        format!("u1,i0,{},purchase,", t(0)),
        format!("u1,i1,{},purchase,", t(10)),
        format!("u2,i2,{},purchase,", t(15)),
        format!("u2,i1,{},purchase,", t(20)),
        // A 2-star rating weighs 0: not in the matrix, but an interaction (excluded).
        format!("u2,i3,{},rating,2", t(30)),
        format!("u3,i4,{},purchase,", t(40)),
        format!("u3,i2,{},purchase,", t(50)),
        // Test (day 9 on): u1 buys i2 (relevant) and i0 again (seen: not relevant); u4 has no
        // training history (not evaluated); u2 buys i4, known in training through u3.
        format!("u1,i2,{},purchase,", t(95)),
        format!("u1,i0,{},purchase,", t(96)),
        format!("u4,i1,{},purchase,", t(98)),
        format!("u2,i4,{},purchase,", t(100)),
    ];
    let c = dir.join("catalogue.csv");
    let e = dir.join("events.csv");
    std::fs::write(&c, catalogue).unwrap();
    std::fs::write(&e, format!("user_id,item_id,timestamp,event_type,rating\n{}\n", rows.join("\n"))).unwrap();
    (c.display().to_string(), e.display().to_string())
}

fn read(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

fn text(df: &DataFrame, column: &str) -> Vec<String> {
    let s = df.column(column).unwrap().as_materialized_series().str().unwrap().clone();
    (0..s.len()).map(|r| s.get(r).unwrap().to_owned()).collect()
}

fn float(df: &DataFrame, column: &str) -> Vec<f64> {
    let c = df.column(column).unwrap().cast(&DataType::Float64).unwrap();
    let s = c.as_materialized_series().f64().unwrap().clone();
    (0..s.len()).map(|r| s.get(r).unwrap()).collect()
}

/// (user, item, value) rows of a train table.
fn train(dir: &Path, phase: &str) -> BTreeSet<(String, String, i64)> {
    let df = read(&dir.join(format!("{phase}_train.parquet")));
    let (u, i, v) = (text(&df, "user"), text(&df, "item"), float(&df, "value"));
    u.into_iter().zip(i).zip(v).map(|((u, i), v)| (u, i, v as i64)).collect()
}

/// (user, item, kind, gain) rows of an eval table.
fn eval(dir: &Path, phase: &str) -> BTreeSet<(String, String, String, i64)> {
    let df = read(&dir.join(format!("{phase}_eval.parquet")));
    let (u, i, k, g) = (text(&df, "user"), text(&df, "item"), text(&df, "kind"), float(&df, "gain"));
    u.into_iter().zip(i).zip(k).zip(g).map(|(((u, i), k), g)| (u, i, k, g as i64)).collect()
}

fn set<const N: usize>(rows: [(&str, &str, i64); N]) -> BTreeSet<(String, String, i64)> {
    rows.iter().map(|(u, i, v)| (u.to_string(), i.to_string(), *v)).collect()
}

fn eval_set<const N: usize>(rows: [(&str, &str, &str, i64); N]) -> BTreeSet<(String, String, String, i64)> {
    rows.iter().map(|(u, i, k, g)| (u.to_string(), i.to_string(), k.to_string(), *g)).collect()
}

#[test]
fn the_exported_split_is_the_one_eval_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let (c, e) = fixture(dir.path());
    let out = dir.path().join("split");
    let o = recfuse(&["eval", "--catalogue", &c, "--behaviour", &e, "--export-split", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["cuts"], serde_json::json!([DAY0 + 45 * DAY / 10, DAY0 + 9 * DAY]));

    // Test phase: fitted on days 0–5 (a purchase weighs 8, the 2-star rating 0 and is left out).
    let expected_train =
        set([("u1", "i0", 8), ("u1", "i1", 8), ("u2", "i1", 8), ("u2", "i2", 8), ("u3", "i2", 8), ("u3", "i4", 8)]);
    assert_eq!(train(&out, "test"), expected_train);
    // u1: i2 relevant, i0 seen (excluded, not relevant); u2: i4 relevant, the rated i3 excluded
    // too; u3 bought nothing in test, u4 has no training history.
    let expected_eval = eval_set([
        ("u1", "i2", "relevant", 1),
        ("u1", "i0", "excluded", 0),
        ("u1", "i1", "excluded", 0),
        ("u2", "i4", "relevant", 1),
        ("u2", "i1", "excluded", 0),
        ("u2", "i2", "excluded", 0),
        ("u2", "i3", "excluded", 0),
    ]);
    assert_eq!(eval(&out, "test"), expected_eval);

    // Validation phase: fitted on days 0–4, scored on day 5 (u3's i2, known through u2).
    let expected_train = set([("u1", "i0", 8), ("u1", "i1", 8), ("u2", "i1", 8), ("u2", "i2", 8), ("u3", "i4", 8)]);
    assert_eq!(train(&out, "validation"), expected_train);
    assert_eq!(eval(&out, "validation"), eval_set([("u3", "i2", "relevant", 1), ("u3", "i4", "excluded", 0)]));

    // Items: the duplicate group, and popularity (the tie order) = Σ 8 · 0.5^(age / 30 days)
    // at the last training event (day 5).
    let items = read(&out.join("test_items.parquet"));
    assert_eq!(text(&items, "item"), ["i0", "i1", "i2", "i3", "i4", "i5"]);
    assert_eq!(text(&items, "group"), ["i0", "i1", "i2", "i3", "i4", "i3"]);
    let decayed = |days: f64| 8.0 * 0.5f64.powf(days / 30.0);
    let popularity = float(&items, "popularity");
    let expected = [decayed(5.0), decayed(4.0) + decayed(3.0), decayed(3.5) + decayed(0.0), 0.0, decayed(1.0), 0.0];
    for (got, want) in popularity.iter().zip(expected) {
        assert!((got - want).abs() < 1e-4, "popularity {popularity:?} vs {expected:?}");
    }

    // The same counts as the evaluation itself.
    let phases = &summary["phases"];
    assert_eq!(phases[1]["users_evaluated"], 2);
    assert_eq!(phases[0]["users_evaluated"], 1);
    let o = recfuse(&["eval", "--catalogue", &c, "--behaviour", &e, "--no-semantic", "--bootstrap", "0", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["users_evaluated"], phases[1]["users_evaluated"]);
    assert_eq!(report["train_events"], phases[1]["fit_events"]);
    assert_eq!(report["test_events"], phases[1]["eval_events"]);
}

#[test]
fn allowing_repeats_leaves_nothing_excluded_and_seen_items_relevant() {
    let dir = tempfile::tempdir().unwrap();
    let (c, e) = fixture(dir.path());
    let out = dir.path().join("split");
    let session = dir.path().join("repeats.json");
    std::fs::write(&session, r#"{"fusion": {"exclude_seen": false}}"#).unwrap();
    let o = recfuse(&[
        "eval",
        "--catalogue",
        &c,
        "--behaviour",
        &e,
        "--session",
        session.to_str().unwrap(),
        "--export-split",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // u1's repeat purchase of i0 is relevant now; nothing is excluded.
    let expected = eval_set([("u1", "i2", "relevant", 1), ("u1", "i0", "relevant", 1), ("u2", "i4", "relevant", 1)]);
    assert_eq!(eval(&out, "test"), expected);
}

/// Five shoppers, each buying three items in turn (leave-last-1: the third is test, the second
/// validation, the first trains); i5 is never bought.
fn ranker_fixture(dir: &Path) -> (String, String) {
    let catalogue = "item_id,title\ni0,lamp\ni1,chair\ni2,table\ni3,mug\ni4,vase\ni5,rug\n";
    let baskets = [("u1", [0, 1, 2]), ("u2", [1, 2, 3]), ("u3", [2, 3, 4]), ("u4", [3, 4, 0]), ("u5", [4, 0, 1])];
    let mut rows = Vec::new();
    for (n, (user, items)) in baskets.iter().enumerate() {
        for (k, item) in items.iter().enumerate() {
            let t = DAY0 + (k as i64 * 10 + n as i64) * DAY;
            rows.push((t, format!("{user},i{item},{t},purchase,")));
        }
    }
    rows.sort();
    let rows: Vec<String> = rows.into_iter().map(|(_, r)| r).collect();
    let c = dir.join("catalogue.csv");
    let e = dir.join("events.csv");
    std::fs::write(&c, catalogue).unwrap();
    std::fs::write(&e, format!("user_id,item_id,timestamp,event_type,rating\n{}\n", rows.join("\n"))).unwrap();
    (c.display().to_string(), e.display().to_string())
}

/// shopper → (items, positive items) of a feature table.
fn lists(df: &DataFrame) -> std::collections::BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let mut out: std::collections::BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = Default::default();
    for ((s, i), l) in text(df, "shopper").into_iter().zip(text(df, "item")).zip(float(df, "label")) {
        let entry = out.entry(s).or_default();
        if l > 0.0 {
            entry.1.insert(i.clone());
        }
        entry.0.insert(i);
    }
    out
}

fn items(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn train_exports_the_rankers_feature_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (c, e) = ranker_fixture(dir.path());
    let out = dir.path().join("features");
    let model = dir.path().join("ranker.safetensors");
    let o = recfuse(&[
        "train",
        "--catalogue",
        &c,
        "--behaviour",
        &e,
        "--split",
        "leave-last",
        "--no-semantic",
        "--epochs",
        "2",
        "--out",
        model.to_str().unwrap(),
        "--export-features",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tables = &report["export_features"];
    // Validation: each shopper's candidates are the items minus the one they bought first
    // (excluded) and minus i5 (never bought and, without the semantic signal, scored above 0 by
    // no signal: candidates are each signal's top items with a positive score); the label is
    // 1 on their second item. 5 shoppers: 3 fit, 1 early stopping, 1
    // comparison.
    let first = [("u1", "i0"), ("u2", "i1"), ("u3", "i2"), ("u4", "i3"), ("u5", "i4")];
    let second = [("u1", "i1"), ("u2", "i2"), ("u3", "i3"), ("u4", "i4"), ("u5", "i0")];
    let third = [("u1", "i2"), ("u2", "i3"), ("u3", "i4"), ("u4", "i0"), ("u5", "i1")];
    let all = items(&["i0", "i1", "i2", "i3", "i4"]);
    let mut seen_shoppers = BTreeSet::new();
    for (part, shoppers) in [("train", 3), ("validation", 1), ("compare", 1)] {
        assert_eq!(tables[part]["shoppers"], shoppers, "{part}: {tables}");
        assert_eq!(tables[part]["rows"], shoppers * 4, "{part}: {tables}");
        assert_eq!(tables[part]["positives"], shoppers, "{part}: {tables}");
        let df = read(&out.join(format!("{part}.parquet")));
        for (shopper, (got, positives)) in lists(&df) {
            let bought = first.iter().find(|(u, _)| *u == shopper).unwrap().1;
            let label = second.iter().find(|(u, _)| *u == shopper).unwrap().1;
            assert_eq!(got, all.iter().filter(|i| *i != bought).cloned().collect(), "{part} {shopper}");
            assert_eq!(positives, items(&[label]), "{part} {shopper}");
            assert!(seen_shoppers.insert(shopper), "a shopper in two parts");
        }
    }
    assert_eq!(seen_shoppers.len(), 5);
    // Test: the five bought items minus the shopper's first two (train), label 1 on the third.
    let df = read(&out.join("test.parquet"));
    assert_eq!((tables["test"]["rows"].as_u64(), tables["test"]["positives"].as_u64()), (Some(15), Some(5)));
    for (n, (shopper, (got, positives))) in lists(&df).into_iter().enumerate() {
        let (u, a) = first[n];
        assert_eq!(shopper, u);
        let b = second[n].1;
        assert_eq!(got, all.iter().filter(|i| *i != a && *i != b).cloned().collect(), "test {shopper}");
        assert_eq!(positives, items(&[third[n].1]), "test {shopper}");
    }
    // Columns: the ranker's signals (one per fitted signal, min-max in [0, 1]), the cheap
    // features, and the embedding summary (0 without embeddings).
    let names: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
    assert_eq!(names[..3], ["shopper", "item", "label"]);
    for cheap in ["log_popularity", "price_vs_band", "item_age", "history_length", "embedding_cosine", "embedding_flag"]
    {
        assert!(names.iter().any(|n| n == cheap), "{cheap} missing from {names:?}");
    }
    let popularity = float(&df, "popularity");
    assert!(popularity.iter().all(|v| (0.0..=1.0).contains(v)), "{popularity:?}");
    assert!(float(&df, "embedding_flag").iter().all(|&v| v == 0.0));
}
