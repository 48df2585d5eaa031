//! Fatal input problems give a typed error naming the file (and row/column where it
//! applies); recoverable ones are counted per reason; input files are never modified.

use std::path::{Path, PathBuf};

use recfuse::data::{DataError, DataSources, EventWeights, IssueKind, load_dataset};
use recfuse::jobs::Progress;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

fn try_load(catalogue: Option<PathBuf>, behaviour: PathBuf) -> Result<recfuse::data::Dataset, DataError> {
    let sources = DataSources { catalogue, behaviour, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new())
}

const EVENTS: &[u8] = b"user_id,item_id,timestamp\nu1,A,2011-01-01 10:00\n";

#[test]
fn fatal_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ok_events = write(dir.path(), "events.csv", EVENTS);
    let cases: Vec<(PathBuf, &str)> = vec![
        (dir.path().join("missing.csv"), "not found"),
        (dir.path().to_path_buf(), "is a directory"),
        (write(dir.path(), "empty.csv", b""), "empty"),
        (write(dir.path(), "blank.csv", b"  \n\n"), "empty"),
        (write(dir.path(), "header.csv", b"item_id,title\n"), "no data rows"),
        (
            write(
                dir.path(),
                "random.csv",
                &(0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>(),
            ),
            "not a text data file",
        ),
        (write(dir.path(), "noid.csv", b"name,colour\nmug,red\n"), "no item id column"),
        (write(dir.path(), "quote.csv", b"item_id,title\nA,\"unclosed\nB,fine\n"), "never closed"),
        (write(dir.path(), "items.xlsx", b"PK"), "unknown file format"),
        (write(dir.path(), "broken.jsonl", b"{not json\n[1,2]\n"), "no valid JSON object"),
    ];
    for (path, expected) in cases {
        let err = match try_load(Some(path.clone()), ok_events.clone()) {
            Ok(_) => panic!("{} should fail", path.display()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(expected), "{}: '{err}' should contain '{expected}'", path.display());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        assert!(err.contains(&name), "'{err}' should name {name}");
    }
}

#[test]
fn unclosed_quote_reports_the_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = write(dir.path(), "c.csv", b"item_id,title\nA,ok\nB,\"open\nC,x\n");
    let err = try_load(Some(cat), write(dir.path(), "e.csv", EVENTS)).err().map(|e| e.to_string()).unwrap_or_default();
    // The quote opens in data row 2 (line 3).
    assert!(err.contains("row 2") && err.contains("line 3"), "{err}");
}

#[test]
fn truncated_parquet() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut df = df!("item_id" => ["A", "B"], "title" => ["x", "y"]).expect("df");
    let p = dir.path().join("items.parquet");
    ParquetWriter::new(std::fs::File::create(&p).expect("create")).finish(&mut df).expect("write");
    let bytes = std::fs::read(&p).expect("read");
    let cut = write(dir.path(), "cut.parquet", bytes.get(..bytes.len() / 2).unwrap_or(&[]));
    let err = try_load(Some(cut), write(dir.path(), "e.csv", EVENTS)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("cut.parquet") && err.contains("Parquet"), "{err}");
}

#[test]
fn missing_behaviour_column_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ev = write(dir.path(), "ev.csv", b"user_id,item_id\nu1,A\n");
    let err = try_load(None, ev).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("ev.csv") && err.contains("no timestamp column") && err.contains("--map timestamp="), "{err}");
}

#[test]
fn every_drop_reason_is_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = write(
        dir.path(),
        "catalogue.csv",
        b"item_id,title,price\nA,Mug,3.5\nB,Plate,N/A\nC,Bowl,-4\nA,Mug,3.5\nA,Cup,3.5\n,No id,1\nD,,NaN\nE,Spoon,1,extra\n",
    );
    let ev = write(
        dir.path(),
        "events.csv",
        b"user_id,item_id,timestamp,quantity\n\
          u1,A,2011-01-01 10:00,1\n\
          ,A,2011-01-01 10:00,1\n\
          u2,,2011-01-01 10:00,1\n\
          u3,A,,1\n\
          u4,A,yesterday,1\n\
          u5,A,2150-01-01,1\n\
          u6,Z,2011-01-01 10:00,1\n\
          u7,B,2011-01-02 10:00,lots\n\
          u8,C\n",
    );
    let d = try_load(Some(cat), ev).unwrap_or_else(|e| panic!("{e}"));
    let c = &d.report.files[0];
    let count = |f: &recfuse::data::FileReport, k: IssueKind| f.issues.get(&k).map_or(0, |c| c.count);
    assert_eq!(c.rows_read, 8);
    assert_eq!(c.rows_kept, 4); // A, B, C, D
    assert_eq!(count(c, IssueKind::NonNumericPrice), 2); // N/A, NaN
    assert_eq!(count(c, IssueKind::NegativePrice), 1);
    assert_eq!(count(c, IssueKind::DuplicateItemIdentical), 1);
    assert_eq!(count(c, IssueKind::DuplicateItemConflicting), 1);
    assert_eq!(count(c, IssueKind::MissingItemId), 1);
    assert_eq!(count(c, IssueKind::MissingTitle), 1);
    assert_eq!(count(c, IssueKind::RaggedRow), 1);
    let conflicting =
        c.issues.get(&IssueKind::DuplicateItemConflicting).map(|x| x.examples.clone()).unwrap_or_default();
    assert_eq!(conflicting.first().map(|e| e.row), Some(5));
    let b = &d.report.files[1];
    assert_eq!(b.rows_read, 9);
    assert_eq!(b.rows_kept, 2);
    assert_eq!(count(b, IssueKind::MissingUserId), 1);
    assert_eq!(count(b, IssueKind::MissingItemId), 1);
    assert_eq!(count(b, IssueKind::MissingTimestamp), 1);
    assert_eq!(count(b, IssueKind::UnparseableTimestamp), 1);
    assert_eq!(count(b, IssueKind::TimestampOutOfRange), 1);
    assert_eq!(count(b, IssueKind::UnknownItem), 1);
    assert_eq!(count(b, IssueKind::NonNumericQuantity), 1);
    assert_eq!(count(b, IssueKind::RaggedRow), 1);
    let unparseable = b.issues.get(&IssueKind::UnparseableTimestamp).and_then(|x| x.examples.first().cloned());
    assert_eq!(
        unparseable.map(|e| (e.row, e.column, e.value)),
        Some((5, Some("timestamp".to_owned()), "yesterday".to_owned()))
    );
    assert_eq!(d.report.dropped_by_reason().get(&IssueKind::UnknownItem), Some(&1));
}

#[test]
fn loading_never_modifies_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = write(dir.path(), "c.csv", b"item_id,title\nA,Mug\n");
    let ev = write(dir.path(), "e.csv", EVENTS);
    let before: Vec<(Vec<u8>, std::time::SystemTime)> = [&cat, &ev]
        .iter()
        .map(|p| (std::fs::read(p).expect("read"), std::fs::metadata(p).and_then(|m| m.modified()).expect("mtime")))
        .collect();
    // Read-only files must still load.
    for p in [&cat, &ev] {
        let mut perm = std::fs::metadata(p).expect("meta").permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(p, perm).expect("chmod");
    }
    let d = try_load(Some(cat.clone()), ev.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.report.events, 1);
    let after: Vec<(Vec<u8>, std::time::SystemTime)> = [&cat, &ev]
        .iter()
        .map(|p| (std::fs::read(p).expect("read"), std::fs::metadata(p).and_then(|m| m.modified()).expect("mtime")))
        .collect();
    assert_eq!(before, after);
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 2, "no stray files next to the inputs");
}

fn load_with_catalogue_map(
    catalogue: PathBuf,
    behaviour: PathBuf,
    map: &[&str],
) -> Result<recfuse::data::Dataset, DataError> {
    let args: Vec<String> = map.iter().map(|s| (*s).to_owned()).collect();
    let catalogue_mapping = recfuse::data::ColumnMapping::from_args(&args)?;
    let sources = DataSources { catalogue: Some(catalogue), behaviour, catalogue_mapping, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new())
}

fn catalogue_notices(dataset: &recfuse::data::Dataset) -> String {
    dataset.report.files.first().map(|f| f.notices.join(" | ")).unwrap_or_default()
}

#[test]
fn cr_only_and_utf16_files_are_read_with_a_notice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write(dir.path(), "e.csv", b"user_id,item_id,timestamp\r1,A,2011-01-01 10:00\r1,B,2011-01-02 10:00\r");
    let text = "item_id,title\nA,Mug\nB,Plate\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for (name, bytes, notice) in [
        ("cr.csv", b"item_id,title\rA,Mug\rB,Plate\r".to_vec(), "CR only"),
        ("le.csv", le, "UTF-16 LE"),
        ("be.csv", be, "UTF-16 BE"),
    ] {
        let cat = write(dir.path(), name, &bytes);
        let dataset = try_load(Some(cat), events.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Two items (A, B) and two events (the CR-only behaviour file), by hand.
        assert_eq!(dataset.catalogue.len(), 2, "{name}");
        assert_eq!(dataset.report.events, 2, "{name}");
        assert!(catalogue_notices(&dataset).contains(notice), "{name}: {}", catalogue_notices(&dataset));
    }
    let odd = write(dir.path(), "odd.csv", &[0xFF, 0xFE, b'a', 0, b'b']);
    let err = try_load(Some(odd), events).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("odd.csv") && err.contains("UTF-16"), "{err}");
}

#[test]
fn text_after_a_closing_quote_names_the_row_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = write(dir.path(), "q.csv", b"item_id,title\nA,Mug\nB,\"Pla\"te\nC,Bowl\n");
    let err = try_load(Some(cat), write(dir.path(), "e.csv", EVENTS)).err().map(|e| e.to_string()).unwrap_or_default();
    // Data row 2 is on line 3; the bad field is the second.
    assert!(err.contains("q.csv: row 2") && err.contains("line 3, field 2"), "{err}");
}

#[test]
fn column_mapping_messages_say_what_the_mapping_did() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write(dir.path(), "e.csv", b"user_id,item_id,timestamp\nu1,1,2011-01-01 10:00\n");
    // An empty `Item-ID` column and an exact `item_id`: the exact name is the item id.
    let cat = write(dir.path(), "ids.csv", b"Item-ID,item_id,title\n,1,Mug\n,2,Plate\n");
    let dataset = try_load(Some(cat.clone()), events.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dataset.catalogue.len(), 2);
    let err = load_with_catalogue_map(cat.clone(), events.clone(), &["item_id="]).err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("required") && err.contains("--map item_id=") && err.contains("unmapped"), "{err}");
    let err = load_with_catalogue_map(cat, events, &["item_id=title", "title=title"]).err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("ids.csv") && err.contains("same column"), "{err}");
}
