//! Inputs that once broke RecFuse (found by fuzzing or while building the broken-input
//! corpus), kept so that they never break it again. The files are in
//! `tests/fixtures/fuzz-regressions/`; TESTING.md says where each came from.

// Tests start threads of their own (the rule "threads only in jobs/" is for src/).
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use recfuse::data::{ColumnMapping, IssueKind, load_catalogue};
use recfuse::session::Session;

fn regression(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions").join(name)
}

/// A weight of 1e39 parsed as an infinite f32, was saved as `null`, and the saved session
/// no longer opened. It is now refused when the session is read.
#[test]
fn a_session_number_beyond_f32_is_refused_on_load() {
    let path = regression("session_f32_overflow.json");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let err = Session::from_json(&text).expect_err("an infinite weight must not load");
    assert!(err.to_string().contains("too large"), "{err}");
    let err = Session::load(&path).expect_err("must not load").to_string();
    assert!(err.contains("session_f32_overflow.json") && err.contains("too large"), "{err}");
    // Within range, the same file loads and survives a save.
    let ok = text.replace("1e39", "0.5");
    let session = Session::from_json(&ok).expect("a normal weight loads");
    let dir = tempfile::tempdir().expect("tempdir");
    session.save(&dir.path().join("s.json")).expect("save");
    assert_eq!(Session::load(&dir.path().join("s.json")).expect("load back"), session);
}

/// A price made of 250,000 dashes recursed once per dash in the price parser and
/// overflowed the stack (aborting the process: no panic guard can catch that). It is
/// generated here rather than shipped (500 kB).
#[test]
fn a_price_with_many_dashes_is_just_not_numeric() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dashed_price.csv");
    std::fs::write(&path, format!("item_id,title,price\nA,Mug,{}1\nB,Plate,2\n", "1-".repeat(250_000))).expect("write");
    // On a thread with the default 2 MiB stack of the workbench's jobs.
    let loaded = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || load_catalogue(&path, &ColumnMapping::default()).map_err(|e| e.to_string()))
        .expect("spawn")
        .join()
        .expect("no panic");
    let (catalogue, report) = loaded.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(catalogue.len(), 2);
    assert_eq!(report.issues.get(&IssueKind::NonNumericPrice).map(|c| c.count), Some(1));
}

/// A Parquet file whose footer has a malformed Thrift boolean (found by the `catalogue`
/// fuzz target): polars' footer decoder panics on it. RecFuse now reports a corrupt file.
#[test]
fn a_parquet_footer_that_makes_polars_panic_is_a_corrupt_file_error() {
    let path = regression("parquet_bad_thrift_bool.parquet");
    let err = match load_catalogue(&path, &ColumnMapping::default()) {
        Ok(_) => panic!("a corrupt Parquet file must not load"),
        Err(e) => e,
    };
    assert!(matches!(err, recfuse::data::DataError::Parquet { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("parquet_bad_thrift_bool.parquet") && message.contains("corrupt"), "{message}");

    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad/events.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .arg("validate")
        .arg("--catalogue")
        .arg(&path)
        .arg("--behaviour")
        .arg(&events)
        .output()
        .expect("run recfuse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("parquet_bad_thrift_bool.parquet") && !stderr.contains("panicked"), "{stderr}");
}

/// A Parquet file (found by the `catalogue` fuzz target, mutated from a seed with a list
/// column) whose column type this polars build cannot decode: the reader panicked on one
/// of its worker threads. Loading it is now an error naming the file, and the panic is not
/// printed as if RecFuse had crashed.
#[test]
fn a_parquet_column_polars_cannot_decode_is_an_error_not_a_crash() {
    let path = regression("parquet_struct_column.parquet");
    let result = std::thread::spawn(move || {
        load_catalogue(&path, &ColumnMapping::default()).map(|(c, _)| c.len()).map_err(|e| e.to_string())
    })
    .join()
    .expect("the loader must not panic");
    match result {
        // Either polars reads what it can (then the rows are usable) or RecFuse names the file.
        Ok(rows) => assert!(rows <= 2, "{rows} rows"),
        Err(message) => assert!(message.contains("parquet_struct_column.parquet"), "{message}"),
    }

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .arg("validate")
        .arg("--catalogue")
        .arg(regression("parquet_struct_column.parquet"))
        .arg("--behaviour")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad/events.csv"))
        .output()
        .expect("run recfuse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

/// A Parquet file whose data page header declares a negative number of values (found by
/// the `catalogue` fuzz target). polars trusted the count, tried to reserve 2^61 bytes and
/// the allocation failure aborted the whole process — no panic guard can catch that. The
/// value counts are now checked before decoding.
#[test]
fn a_parquet_page_with_a_negative_value_count_is_a_corrupt_file_error() {
    let path = regression("parquet_negative_page_values.parquet");
    let err = match load_catalogue(&path, &ColumnMapping::default()) {
        Ok(_) => panic!("a corrupt Parquet file must not load"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("parquet_negative_page_values.parquet"), "{err}");
    assert!(err.contains("corrupt") && err.contains("column `asin`"), "{err}");
    assert!(err.contains("declares -"), "the negative count is shown: {err}");
}

/// A Parquet footer whose Thrift list header claims billions of entries (found by the
/// `behaviour` fuzz target): polars reserved room for all of them, the 76 GB allocation
/// failed and aborted the process. The footer is now walked and checked first.
#[test]
fn a_parquet_footer_claiming_billions_of_entries_is_a_corrupt_file_error() {
    let path = regression("parquet_footer_huge_list.parquet");
    let err = match load_catalogue(&path, &ColumnMapping::default()) {
        Ok(_) => panic!("a corrupt Parquet file must not load"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("parquet_footer_huge_list.parquet"), "{err}");
    assert!(err.contains("footer is corrupt") && err.contains("bytes left"), "{err}");
}
