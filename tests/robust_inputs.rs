//! The broken-input corpus (`tests/fixtures/bad/`, plus a few cases written here) run
//! through both ways a user loads data: `recfuse validate` and the workbench's loading
//! job (what the GUI runs). Fatal problems must fail naming the file (and the row where
//! it applies); recoverable ones must be counted and the rest of the data used. Nothing
//! may panic or hang, and no input file may change.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use recfuse::data::{IssueKind, ValidationReport};
use recfuse::session::workbench::job;
use recfuse::session::{NoticeLevel, Session, Workbench};

/// Longest a single load may take (debug build, 10 MB field included) before it counts
/// as a hang.
const DEADLINE: Duration = Duration::from_secs(90);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad").join(name)
}

/// Which table the broken file stands in for; the other one is the good fixture.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Table {
    Catalogue,
    Behaviour,
}

/// What must happen.
#[derive(Debug, Clone)]
enum Expect {
    /// Unusable: the message names the file and contains every string.
    Fatal(Vec<&'static str>),
    /// Usable: per-issue counts in the broken file's report, and dataset sizes.
    Usable { issues: Vec<(IssueKind, usize)>, items: usize, events: usize, notice: Option<&'static str> },
}

#[derive(Debug, Clone)]
struct Case {
    table: Table,
    path: PathBuf,
    expect: Expect,
}

impl Case {
    fn catalogue(path: PathBuf, expect: Expect) -> Self {
        Self { table: Table::Catalogue, path, expect }
    }

    fn behaviour(path: PathBuf, expect: Expect) -> Self {
        Self { table: Table::Behaviour, path, expect }
    }

    /// (catalogue, behaviour) files to load.
    fn files(&self) -> (PathBuf, PathBuf) {
        match self.table {
            Table::Catalogue => (self.path.clone(), fixture("events.csv")),
            Table::Behaviour => (fixture("catalogue.csv"), self.path.clone()),
        }
    }

    fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Index of the broken file's report in `ValidationReport::files`.
    fn report_index(&self) -> usize {
        match self.table {
            Table::Catalogue => 0,
            Table::Behaviour => 1,
        }
    }
}

fn fatal(parts: &[&'static str]) -> Expect {
    Expect::Fatal(parts.to_vec())
}

fn usable(issues: &[(IssueKind, usize)], items: usize, events: usize) -> Expect {
    Expect::Usable { issues: issues.to_vec(), items, events, notice: None }
}

/// A Parquet catalogue cut in half.
fn truncated_parquet(dir: &Path) -> PathBuf {
    use polars::prelude::*;
    let mut df = df!("item_id" => ["A", "B", "C"], "title" => ["Mug", "Plate", "Lamp"]).expect("frame");
    let whole = dir.join("whole.parquet");
    ParquetWriter::new(std::fs::File::create(&whole).expect("create")).finish(&mut df).expect("write parquet");
    let bytes = std::fs::read(&whole).expect("read");
    let cut = dir.join("truncated.parquet");
    std::fs::write(&cut, bytes.get(..bytes.len() / 2).unwrap_or(&[])).expect("write");
    std::fs::remove_file(&whole).expect("remove");
    cut
}

/// A catalogue whose second item has a 10 MB title: a quoted field with separators,
/// quotes and line breaks inside.
fn ten_mb_field(dir: &Path) -> PathBuf {
    let chunk = "word, \"\"quoted\"\" and\nmore ";
    let mut field = String::with_capacity(10 * 1024 * 1024 + chunk.len());
    while field.len() < 10 * 1024 * 1024 {
        field.push_str(chunk);
    }
    let text = format!("item_id,title,price\nA,Mug,3.5\nB,\"{field}\",2\nC,Lamp,12\n");
    let path = dir.join("ten_mb_field.csv");
    std::fs::write(&path, text).expect("write");
    path
}

/// Every case: the shipped corpus plus the ones that are written here.
fn corpus(dir: &Path) -> Vec<Case> {
    use IssueKind::*;
    let directory = dir.join("a_directory.csv");
    std::fs::create_dir_all(&directory).expect("mkdir");
    vec![
        Case::catalogue(fixture("empty.csv"), fatal(&["empty"])),
        Case::catalogue(fixture("header_only.csv"), fatal(&["no data rows"])),
        Case::catalogue(fixture("no_id.csv"), fatal(&["no item id column", "name, colour"])),
        Case::catalogue(fixture("random_bytes.csv"), fatal(&["not a text data file"])),
        Case::catalogue(fixture("unclosed_quote.csv"), fatal(&["row 2", "never closed"])),
        Case::catalogue(truncated_parquet(dir), fatal(&["Parquet", "truncated"])),
        Case::catalogue(directory, fatal(&["is a directory"])),
        Case::catalogue(dir.join("missing.csv"), fatal(&["not found"])),
        Case::behaviour(fixture("only_unknown_items_events.csv"), fatal(&["no usable rows", "not in the catalogue"])),
        // Two ragged rows (B and C) are dropped; so are the events for them.
        Case::catalogue(fixture("ragged.csv"), usable(&[(RaggedRow, 2)], 2, 1)),
        Case::catalogue(
            fixture("latin1.csv"),
            Expect::Usable { issues: vec![], items: 3, events: 3, notice: Some("Latin-1") },
        ),
        Case::catalogue(ten_mb_field(dir), usable(&[(TruncatedText, 1)], 3, 3)),
        Case::catalogue(
            fixture("duplicate_ids.csv"),
            usable(&[(DuplicateItemConflicting, 1), (DuplicateItemIdentical, 1)], 3, 3),
        ),
        Case::catalogue(fixture("prices.csv"), usable(&[(NonNumericPrice, 2), (NegativePrice, 1)], 4, 3)),
        // Item B's line is broken: B is not in the catalogue, so its event goes too.
        Case::catalogue(fixture("broken_line.jsonl"), usable(&[(MalformedJsonLine, 1)], 2, 2)),
        Case::behaviour(fixture("unknown_items_events.csv"), usable(&[(UnknownItem, 2)], 3, 2)),
        Case::behaviour(
            fixture("bad_timestamps_events.csv"),
            usable(&[(UnparseableTimestamp, 2), (TimestampOutOfRange, 3)], 3, 2),
        ),
        Case::behaviour(fixture("single_event.csv"), usable(&[], 3, 1)),
        Case::behaviour(fixture("one_instant_events.csv"), usable(&[], 3, 4)),
    ]
}

/// Content and modification time of every file and directory under `paths`.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    let mut out = Vec::new();
    let mut pending: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
    while let Some(p) = pending.pop() {
        let mtime = std::fs::metadata(&p).and_then(|m| m.modified()).expect("mtime");
        if p.is_dir() {
            pending.extend(std::fs::read_dir(&p).expect("ls").map(|e| e.expect("entry").path()));
            out.push((p, b"<directory>".to_vec(), mtime));
        } else {
            out.push((p.clone(), std::fs::read(&p).expect("read"), mtime));
        }
    }
    out.sort();
    out
}

/// What one run of `recfuse validate --json` produced.
struct CliRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with a deadline; a run past it is killed and fails the test.
fn run_cli(args: &[&std::ffi::OsStr], scratch: &Path) -> CliRun {
    let out_path = scratch.join("stdout.txt");
    let err_path = scratch.join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start recfuse");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("recfuse {args:?} hung (killed after {DEADLINE:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    CliRun {
        code: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

fn check_cli(case: &Case, scratch: &Path) {
    let (catalogue, behaviour) = case.files();
    let args = [
        "validate".as_ref(),
        "--catalogue".as_ref(),
        catalogue.as_os_str(),
        "--behaviour".as_ref(),
        behaviour.as_os_str(),
        "--json".as_ref(),
    ];
    let run = run_cli(&args, scratch);
    let name = case.name();
    assert!(!run.stderr.contains("panicked"), "{name}: recfuse panicked: {}", run.stderr);
    match &case.expect {
        Expect::Fatal(parts) => {
            assert_eq!(run.code, Some(2), "{name}: a fatal problem must exit 2; stderr: {}", run.stderr);
            assert!(run.stderr.contains(&name), "{name}: stderr must name the file: {}", run.stderr);
            for part in parts {
                assert!(run.stderr.contains(part), "{name}: stderr must contain '{part}': {}", run.stderr);
            }
        }
        Expect::Usable { issues, items, events, notice } => {
            assert_eq!(run.code, Some(0), "{name}: usable data must exit 0; stderr: {}", run.stderr);
            let v: serde_json::Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{name}: --json output is not JSON ({e}): {}", run.stdout));
            assert_eq!(v["items"], *items, "{name}: items");
            assert_eq!(v["events"], *events, "{name}: events");
            let file = &v["files"][case.report_index()];
            assert!(file["path"].as_str().is_some_and(|p| p.ends_with(&name)), "{name}: report order: {file}");
            for (kind, count) in issues {
                assert_eq!(file["issues"][kind.id()]["count"], *count, "{name}: {}: {file}", kind.id());
                if kind.drops_row() {
                    // Drops are also in the top-level per-reason totals.
                    assert!(v["dropped"][kind.id()].as_u64().is_some_and(|n| n >= *count as u64), "{name}: {v}");
                }
            }
            let expected_kinds: Vec<&str> = issues.iter().map(|(k, _)| k.id()).collect();
            let found = file["issues"].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            for k in &found {
                assert!(expected_kinds.contains(&k.as_str()), "{name}: unexpected issue '{k}': {file}");
            }
            if let Some(notice) = notice {
                let notes = file["notices"].to_string();
                assert!(notes.contains(notice), "{name}: notices must mention '{notice}': {notes}");
            }
        }
    }
}

/// Loads through the workbench (the GUI's loading job) and waits for the outcome.
fn load_in_workbench(catalogue: PathBuf, behaviour: PathBuf) -> Workbench {
    let mut session = Session::default();
    session.data.catalogue = Some(catalogue);
    session.data.behaviour = behaviour;
    let mut wb = Workbench::new(session);
    wb.set_embedding_enabled(false);
    wb.handle(recfuse::session::Command::Reload);
    let start = Instant::now();
    while wb.is_running(job::LOAD) {
        assert!(start.elapsed() < DEADLINE, "the loading job hung");
        std::thread::sleep(Duration::from_millis(10));
        wb.poll();
    }
    wb.poll();
    // Fitting starts after a successful load; it is not under test here.
    wb.handle(recfuse::session::Command::CancelJob(job::FIT.to_owned()));
    wb
}

fn check_report(case: &Case, report: &ValidationReport) {
    let name = case.name();
    let Expect::Usable { issues, items, events, notice } = &case.expect else { return };
    assert_eq!(report.items, *items, "{name}: items");
    assert_eq!(report.events, *events, "{name}: events");
    let file = report.files.get(case.report_index()).expect("file report");
    for (kind, count) in issues {
        assert_eq!(file.issues.get(kind).map(|c| c.count), Some(*count), "{name}: {kind:?}");
    }
    assert_eq!(file.issues.len(), issues.len(), "{name}: unexpected issues {:?}", file.issues.keys());
    if let Some(notice) = notice {
        assert!(file.notices.iter().any(|n| n.contains(notice)), "{name}: {:?}", file.notices);
    }
}

fn check_workbench(case: &Case) {
    let (catalogue, behaviour) = case.files();
    let wb = load_in_workbench(catalogue, behaviour);
    let name = case.name();
    let crashed: Vec<&str> = wb
        .notices()
        .iter()
        .filter(|n| n.text.contains("failed unexpectedly") || n.text.contains("internal error"))
        .map(|n| n.text.as_str())
        .collect();
    assert!(crashed.is_empty(), "{name}: a job panicked: {crashed:?}");
    match &case.expect {
        Expect::Fatal(parts) => {
            let err = wb.data_error().map(str::to_owned).unwrap_or_else(|| panic!("{name}: no error shown"));
            assert!(wb.dataset().is_none(), "{name}: a dataset was loaded from a fatal file");
            assert!(err.contains(&name), "{name}: the error must name the file: {err}");
            for part in parts {
                assert!(err.contains(part), "{name}: the error must contain '{part}': {err}");
            }
            assert!(
                wb.notices().iter().any(|n| n.level == NoticeLevel::Error && n.text == err),
                "{name}: the error must also be a notice"
            );
        }
        Expect::Usable { .. } => {
            assert_eq!(wb.data_error(), None, "{name}");
            let dataset = wb.dataset().unwrap_or_else(|| panic!("{name}: not loaded"));
            check_report(case, &dataset.report);
        }
    }
}

#[test]
fn every_broken_input_through_validate_and_the_workbench() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scratch = tempfile::tempdir().expect("tempdir");
    let cases = corpus(dir.path());
    let watched: Vec<PathBuf> = vec![fixture(""), dir.path().to_path_buf()];
    let before = fingerprint(&watched);
    for case in &cases {
        check_cli(case, scratch.path());
        check_workbench(case);
    }
    assert_eq!(fingerprint(&watched), before, "an input file or directory changed");
}

#[test]
fn latin1_text_is_decoded_not_mangled() {
    let (catalogue, behaviour) = (fixture("latin1.csv"), fixture("events.csv"));
    let wb = load_in_workbench(catalogue, behaviour);
    let d = wb.dataset().expect("loaded");
    let a = d.catalogue.ids.get("A").expect("item A");
    assert_eq!(d.catalogue.title(a), "Café crème mug");
}

#[test]
fn the_first_of_conflicting_duplicates_is_kept_and_located() {
    let wb = load_in_workbench(fixture("duplicate_ids.csv"), fixture("events.csv"));
    let d = wb.dataset().expect("loaded");
    let a = d.catalogue.ids.get("A").expect("item A");
    assert_eq!(d.catalogue.title(a), "Mug");
    assert_eq!(d.catalogue.price(a), Some(3.5));
    let report = d.report.files.first().expect("catalogue report");
    let example = report.issues.get(&IssueKind::DuplicateItemConflicting).and_then(|c| c.examples.first());
    assert_eq!(example.map(|e| (e.row, e.column.as_deref(), e.value.as_str())), Some((3, Some("item_id"), "A")));
}

#[test]
fn bad_prices_are_ignored_and_the_items_kept() {
    let wb = load_in_workbench(fixture("prices.csv"), fixture("events.csv"));
    let d = wb.dataset().expect("loaded");
    let price = |id: &str| d.catalogue.ids.get(id).and_then(|i| d.catalogue.price(i));
    assert_eq!([price("A"), price("B"), price("C"), price("D")], [None, None, None, Some(4.0)]);
}

#[test]
fn one_instant_gives_a_zero_time_span() {
    let wb = load_in_workbench(fixture("catalogue.csv"), fixture("one_instant_events.csv"));
    let d = wb.dataset().expect("loaded");
    assert_eq!(d.report.time_span, Some((1_293_876_000, 1_293_876_000)));
    assert_eq!(d.report.users, 3);
}

/// Writes the fuzzers' seed inputs to `fuzz/seeds/` (see TESTING.md): each seed is the
/// selector byte the targets use to pick an extension, then the file's bytes. Run by hand
/// with `cargo test --test robust_inputs -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes fuzz/seeds; run by hand when the loaders change"]
fn write_fuzz_seeds() {
    use std::io::Write;

    use polars::prelude::*;
    // Selector bytes of fuzz/fuzz_targets/common.rs: csv, tsv, jsonl, parquet,
    // csv.gz (compressed by the target), csv.gz (raw bytes).
    const CSV: u8 = 0;
    const TSV: u8 = 1;
    const JSONL: u8 = 2;
    const PARQUET: u8 = 3;
    const GZ_RAW: u8 = 5;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let seed = |target: &str, name: &str, selector: u8, body: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut bytes = vec![selector];
        bytes.extend_from_slice(body);
        assert!(bytes.len() <= 4096, "{name}: seeds must fit -max_len=4096");
        std::fs::write(dir.join(name), bytes).expect("write seed");
    };
    let parquet = |df: &mut DataFrame| -> Vec<u8> {
        let mut out = Vec::new();
        ParquetWriter::new(&mut out).finish(df).expect("parquet");
        out
    };
    let gzip = |body: &[u8]| -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(body).expect("gzip");
        e.finish().expect("gzip")
    };
    let read = |name: &str| std::fs::read(fixture(name)).expect("fixture");

    // Catalogue.
    for name in ["catalogue.csv", "ragged.csv", "prices.csv", "duplicate_ids.csv", "latin1.csv", "unclosed_quote.csv"] {
        seed("catalogue", name, CSV, &read(name));
    }
    let tsv = String::from_utf8_lossy(&read("catalogue.csv")).replace(',', "\t");
    seed("catalogue", "catalogue.tsv", TSV, tsv.as_bytes());
    seed("catalogue", "broken_line.jsonl", JSONL, &read("broken_line.jsonl"));
    let amazon = concat!(
        r#"{"asin": "B01", "title": "<b>Mug</b> &amp; saucer", "description": ["Fine", "china"], "#,
        r#""category": ["Home", "Kitchen", "Mugs"], "brand": "Acme", "price": "$10.00 - $20.00", "#,
        r#""imageURL": ["http://x/1.jpg"], "feature": ["dishwasher safe"]}"#,
        "\n",
        r#"{"asin": "B02", "title": "Plate", "price": "$3.50", "rank": {"Kitchen": 12}, "stock": 4}"#,
        "\n"
    );
    seed("catalogue", "amazon_metadata.jsonl", JSONL, amazon.as_bytes());
    seed("catalogue", "catalogue.csv.gz", GZ_RAW, &gzip(&read("catalogue.csv")));
    let mut items = df!(
        "item_id" => ["A", "B", "C"],
        "title" => [Some("Mug"), None, Some("Lamp")],
        "price" => [Some(3.5f64), Some(-4.0), None],
        "stock" => [1i64, 2, 3],
    )
    .expect("frame");
    seed("catalogue", "items.parquet", PARQUET, &parquet(&mut items));
    let mut listed = DataFrame::new(
        2,
        vec![
            Column::new("asin".into(), ["X", "Y"]),
            Column::new(
                "category".into(),
                [Series::new("".into(), ["Home", "Lamps"]), Series::new("".into(), ["Toys"])],
            ),
        ],
    )
    .expect("frame");
    seed("catalogue", "lists.parquet", PARQUET, &parquet(&mut listed));

    // Behaviour (the target's fixed catalogue has items A, B, C and 1).
    let events = concat!(
        "user_id,item_id,timestamp,event_type,quantity\n",
        "u1,A,2011-01-01 10:00,view,1\n",
        "u1,B,1293876000,purchase,2\n",
        "u2,C,2011-01-02T10:00:00Z,cart,x\n",
        "u3,1,01/02/2011 10:00,cancel,-1\n",
        "u4,Z,yesterday,click,1\n"
    );
    seed("behaviour", "events.csv", CSV, events.as_bytes());
    let retail = concat!(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n",
        "536365,A,MUG,6,12/1/2010 8:26,2.55,17850,United Kingdom\n",
        "C536379,B,PLATE,-1,12/1/2010 9:41,27.50,14527,United Kingdom\n"
    );
    seed("behaviour", "retail.csv", CSV, retail.as_bytes());
    seed("behaviour", "events.tsv", TSV, events.replace(',', "\t").as_bytes());
    let reviews = concat!(
        r#"{"reviewerID": "R1", "asin": "A", "overall": 5.0, "unixReviewTime": 1293876000}"#,
        "\n",
        r#"{"reviewerID": "R2", "asin": "B", "overall": "bad", "unixReviewTime": 99999999999999}"#,
        "\n"
    );
    seed("behaviour", "reviews.jsonl", JSONL, reviews.as_bytes());
    for name in ["bad_timestamps_events.csv", "one_instant_events.csv", "unknown_items_events.csv"] {
        seed("behaviour", name, CSV, &read(name));
    }
    seed("behaviour", "events.csv.gz", GZ_RAW, &gzip(events.as_bytes()));
    let mut typed = df!(
        "user_id" => [1i64, 2, 3],
        "item_id" => ["A", "B", "Z"],
        "timestamp" => [1_293_876_000i64, 1_293_876_000_000, -5],
        "rating" => [4.0f64, f64::NAN, 1.0],
    )
    .expect("frame");
    seed("behaviour", "typed.parquet", PARQUET, &parquet(&mut typed));
    let dates = Series::new("when".into(), [1_293_876_000_000i64, 0])
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .expect("datetime");
    let mut dated = DataFrame::new(
        2,
        vec![Column::new("user_id".into(), ["u1", "u2"]), Column::new("item_id".into(), ["A", "C"]), dates.into()],
    )
    .expect("frame");
    seed("behaviour", "datetime.parquet", PARQUET, &parquet(&mut dated));
}
