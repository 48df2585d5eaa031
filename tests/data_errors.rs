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
