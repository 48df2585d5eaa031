//! Size limits on what one file may ask of memory (issue #12): JSON files with ever-new keys
//! and single records longer than 16 MiB are refused naming the file, the line or row, and
//! the limit, instead of exhausting memory or time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use recfuse::data::read::jsonl::MAX_JSON_KEYS;
use recfuse::data::read_table;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

fn refused(path: &Path) -> String {
    match read_table(path) {
        Ok(t) => panic!("{} read with {} rows and {} columns", path.display(), t.rows, t.frame.width()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn json_lines_with_varying_keys_are_refused_at_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Each line adds a new key (an id used as a key): line 1001 passes the limit.
    let text: String = (0..5_000).map(|i| format!("{{\"user_id\":\"u{i}\",\"k{i}\":1}}\n")).collect();
    let path = write(dir.path(), "events.jsonl", &text);
    let msg = refused(&path);
    assert!(msg.contains("events.jsonl"), "{msg}");
    assert!(msg.contains(&format!("more than {MAX_JSON_KEYS} distinct keys")), "{msg}");
    // user_id + k0..k998 = 1000 keys; line 1000 (k999) is the first past the limit.
    assert!(msg.contains("row 1000"), "{msg}");
    assert!(msg.contains("'k999'"), "{msg}");
}

#[test]
fn json_array_with_varying_keys_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items: Vec<String> = (0..1_500).map(|i| format!("{{\"k{i}\":1}}")).collect();
    let path = write(dir.path(), "items.json", &format!("[{}]", items.join(",")));
    let msg = refused(&path);
    assert!(msg.contains("row 1001") && msg.contains("distinct keys"), "{msg}");
}

#[test]
fn many_keys_within_the_limit_still_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<String> = (0..MAX_JSON_KEYS).map(|i| format!("\"k{i}\":{i}")).collect();
    let path = write(dir.path(), "wide.jsonl", &format!("{{{}}}\n", keys.join(",")));
    let table = read_table(&path).expect("wide file loads");
    assert_eq!(table.frame.width(), MAX_JSON_KEYS);
}

#[test]
fn a_csv_field_over_16_mib_is_refused_quickly_naming_the_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "x".repeat(17 << 20);
    let path = write(dir.path(), "items.csv", &format!("item_id,title\nA,short\nB,{long}\nC,short\n"));
    let start = Instant::now();
    let msg = refused(&path);
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
    assert!(msg.contains("items.csv") && msg.contains("row 2"), "{msg}");
    assert!(msg.contains("line 3") && msg.contains("longer than 16 MiB"), "{msg}");
}

#[test]
fn a_quoted_multiline_record_over_16_mib_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "y\n".repeat(9 << 20);
    let path = write(dir.path(), "items.csv", &format!("item_id,title\nA,\"{long}\"\n"));
    let msg = refused(&path);
    assert!(msg.contains("row 1") && msg.contains("longer than 16 MiB"), "{msg}");
}

#[test]
fn a_json_line_over_16_mib_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "z".repeat(17 << 20);
    let path = write(
        dir.path(),
        "items.jsonl",
        &format!("{{\"item_id\":\"A\"}}\n{{\"item_id\":\"B\",\"title\":\"{long}\"}}\n"),
    );
    let msg = refused(&path);
    assert!(msg.contains("items.jsonl") && msg.contains("row 2") && msg.contains("longer than 16 MiB"), "{msg}");
}

#[test]
fn more_than_65535_event_types_are_folded_with_a_notice() {
    use recfuse::data::{DataSources, EventWeights, load_dataset};
    use recfuse::jobs::Progress;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("user_id,item_id,timestamp,event_type\n");
    for i in 0..70_000 {
        text.push_str(&format!("u{},i{},{},t{i}\n", i % 50, i % 30, 1_293_962_400 + i));
    }
    let behaviour = write(dir.path(), "events.csv", &text);
    let sources = DataSources { behaviour, ..DataSources::default() };
    let d = load_dataset(&sources, &EventWeights::default(), &Progress::new()).expect("loads");
    assert_eq!(d.behaviour.len(), 70_000, "no event dropped");
    assert_eq!(d.behaviour.event_type_names.len(), 65_535);
    let notices: Vec<&String> = d.report.files.iter().flat_map(|f| f.notices.iter()).collect();
    assert!(
        notices.iter().any(|n| n.starts_with("event_type: 4466 distinct event types beyond the first 65534 folded")),
        "{notices:?}"
    );
}
