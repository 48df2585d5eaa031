//! Limits (issue: reliability round 2): out-of-range parameters, non-regular files,
//! decompression bombs and unsafe output targets are refused with a message that names the
//! file or parameter, the value and what was expected — and nothing hangs or allocates
//! without bound. Expected messages are the ranges documented in TESTING.md ("Limits").

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use recfuse::session::Session;

fn recfuse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recfuse"))
}

fn sample(name: &str) -> String {
    format!("{}/sample_data/online_retail/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary, failing the test (instead of hanging) after `limit`.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("recfuse did not finish within {limit:?}: it blocked on its input");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn an_extreme_bootstrap_count_is_refused_before_any_work() {
    let out = run_with_timeout(
        recfuse().args([
            "eval",
            "--catalogue",
            &sample("catalogue.csv"),
            "--behaviour",
            &sample("events.csv"),
            "--no-semantic",
            "--bootstrap",
            "100000000000",
        ]),
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--bootstrap = 100000000000 is outside the allowed range 0 to 100000"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_huge_weight_on_the_command_line_names_the_weight_and_its_range() {
    let out = run_with_timeout(
        recfuse().args([
            "recommend",
            "--catalogue",
            &sample("catalogue.csv"),
            "--behaviour",
            &sample("events.csv"),
            "--user",
            "12347",
            "--no-semantic",
            "--weights",
            "als=1e300",
        ]),
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("weight of als = 1e300 is outside the allowed range -1000000 to 1000000"), "{err}");
}

#[test]
fn an_unknown_device_is_refused() {
    let out = run_with_timeout(
        recfuse().args([
            "recommend",
            "--catalogue",
            &sample("catalogue.csv"),
            "--behaviour",
            &sample("events.csv"),
            "--user",
            "12347",
            "--device",
            "bogus",
        ]),
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--device bogus"), "{}", stderr(&out));
}

#[test]
fn a_fifo_as_rules_session_or_data_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.json");
    mkfifo(&fifo);
    let fifo_s = fifo.display().to_string();
    let base = ["--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv")];
    let rules = run_with_timeout(
        recfuse().args(["recommend", "--user", "12347", "--no-semantic", "--rules", &fifo_s]).args(base),
        Duration::from_secs(60),
    );
    assert!(!rules.status.success());
    assert!(stderr(&rules).contains("is a named pipe (FIFO), expected a regular file"), "{}", stderr(&rules));
    let session = run_with_timeout(
        recfuse().args(["eval", "--no-semantic", "--session", &fifo_s]).args(base),
        Duration::from_secs(60),
    );
    assert!(!session.status.success());
    assert!(stderr(&session).contains("named pipe (FIFO)"), "{}", stderr(&session));
    let data = run_with_timeout(
        recfuse().args(["validate", "--catalogue", &sample("catalogue.csv"), "--behaviour", &fifo_s]),
        Duration::from_secs(60),
    );
    assert!(!data.status.success());
    assert!(stderr(&data).contains("named pipe (FIFO)"), "{}", stderr(&data));
    let proc_file = run_with_timeout(
        recfuse().args(["validate", "--catalogue", &sample("catalogue.csv"), "--behaviour", "/proc/self/status"]),
        Duration::from_secs(60),
    );
    assert!(!proc_file.status.success());
    assert!(stderr(&proc_file).contains("kernel pseudo-file"), "{}", stderr(&proc_file));
}

#[test]
fn a_gzip_bomb_is_refused_by_its_ratio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = dir.path().join("events.csv.gz");
    // 96 MiB of one repeated line compress to well under 1 MiB: a ratio far above 200×.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"user_id,item_id,timestamp\n").expect("write");
    let line = b"1,85123A,2011-01-01 10:00\n";
    for _ in 0..(96 << 20) / line.len() {
        gz.write_all(line).expect("write");
    }
    let compressed = gz.finish().expect("gzip");
    assert!(compressed.len() < 1 << 20);
    std::fs::write(&bomb, &compressed).expect("write bomb");
    let out = run_with_timeout(
        recfuse().args([
            "validate",
            "--catalogue",
            &sample("catalogue.csv"),
            "--behaviour",
            &bomb.display().to_string(),
        ]),
        Duration::from_secs(120),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("events.csv.gz"), "{err}");
    assert!(err.contains("decompression bomb"), "{err}");
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("write");
    path.to_path_buf()
}

#[test]
fn sessions_of_the_wrong_shape_or_with_absurd_numbers_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let array = write(&dir.path().join("a.json"), "[]");
    let err = Session::load(&array).expect_err("an array is not a session").to_string();
    assert!(err.contains("expected a JSON object"), "{err}");
    let other = write(&dir.path().join("b.json"), r#"{"name": "package.json", "dependencies": {"a": {"b": {}}}}"#);
    let err = Session::load(&other).expect_err("an unrelated object is not a session").to_string();
    assert!(err.contains("unknown session keys dependencies, name"), "{err}");
    let factors = write(&dir.path().join("c.json"), r#"{"params": {"als": {"factors": 1000000000}}}"#);
    let err = Session::load(&factors).expect_err("1e9 factors would exhaust memory").to_string();
    assert!(err.contains("c.json"), "{err}");
    assert!(err.contains("als.factors = 1000000000 is outside the allowed range 1 to 1024"), "{err}");
    let iterations = write(&dir.path().join("d.json"), r#"{"params": {"als": {"iterations": 1000000000000}}}"#);
    assert!(Session::load(&iterations).expect_err("1e12 iterations").to_string().contains("als.iterations"));
    let boost = write(
        &dir.path().join("e.json"),
        r#"{"rules": [{"name": "up", "target": {"by": "item", "id": "X"}, "action": "boost",
            "adjustment": {"mode": "add", "value": 1e30}}]}"#,
    );
    let err = Session::load(&boost).expect_err("a boost of 1e30 would swamp every score").to_string();
    assert!(err.contains("rule 1 (“up”) adjustment"), "{err}");
    let refit = write(&dir.path().join("g.json"), r#"{"live": {"refit_after_percent": -5}}"#);
    let err = Session::load(&refit).expect_err("a negative refit threshold").to_string();
    assert!(err.contains("live.refit_after_percent = -5 is outside the allowed range 0 to 1000"), "{err}");
    let windows = write(&dir.path().join("h.json"), r#"{"eval": {"validation_windows": 50}}"#);
    let err = Session::load(&windows).expect_err("50 validation windows").to_string();
    assert!(err.contains("eval.validation_windows = 50 is outside the allowed range 1 to 4"), "{err}");
    let ok = write(&dir.path().join("f.json"), r#"{"params": {"als": {"factors": 32}}}"#);
    assert_eq!(Session::load(&ok).expect("a normal session loads").params.als.factors, 32);
}

#[test]
fn relative_data_paths_in_a_session_are_relative_to_the_session_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let session = write(
        &dir.path().join("s.json"),
        r#"{"data": {"behaviour": "data/events.csv", "catalogue": "data/items.csv"}}"#,
    );
    let loaded = Session::load(&session).expect("load");
    assert_eq!(loaded.data.behaviour, dir.path().join("data/events.csv"));
    assert_eq!(loaded.data.catalogue, Some(dir.path().join("data/items.csv")));
}

#[test]
fn an_output_that_is_a_symlink_or_a_fifo_is_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = write(&dir.path().join("precious.txt"), "keep me");
    let link = dir.path().join("out.json");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let err = recfuse::session::write_atomic(&link, b"{}").expect_err("a symlink is refused").to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep me");
    assert!(std::fs::symlink_metadata(&link).expect("still there").file_type().is_symlink());
    let fifo = dir.path().join("pipe.json");
    mkfifo(&fifo);
    let err = recfuse::session::write_atomic(&fifo, b"{}").expect_err("a FIFO is refused").to_string();
    assert!(err.contains("not a regular file"), "{err}");
    // A regular file is replaced as before.
    let plain = write(&dir.path().join("plain.json"), "old");
    recfuse::session::write_atomic(&plain, b"new").expect("write");
    assert_eq!(std::fs::read_to_string(&plain).expect("read"), "new");
}

#[test]
fn compare_refuses_sessions_on_different_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(&dir.path().join("a.json"), &format!(r#"{{"data": {{"behaviour": "{}"}}}}"#, sample("events.csv")));
    let b = write(&dir.path().join("b.json"), r#"{"data": {"behaviour": "/elsewhere/other.csv"}}"#);
    let out = run_with_timeout(
        recfuse().args(["compare", "--a", &a.display().to_string(), "--b", &b.display().to_string(), "--no-semantic"]),
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("are sessions on different data"), "{}", stderr(&out));
}

/// `recfuse::check_args` (the `cli_args` fuzz target's entry point) parses and checks a
/// command line without reading anything: a valid one is `Ok`, a bad option value is a
/// message naming it, `--help` is a message, not an exit.
#[test]
fn command_lines_are_checked_without_running() {
    let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(recfuse::check_args(&args("recommend --behaviour b.csv --user u1 --weights als=0.5")), Ok(()));
    let err = recfuse::check_args(&args("recommend --behaviour b.csv --user u1 --weights als=1e300")).unwrap_err();
    assert!(err.contains("als") && err.contains("1e300"), "{err}");
    let err = recfuse::check_args(&args("eval --behaviour b.csv --signal-file als=s.csv")).unwrap_err();
    assert!(err.contains("als"), "{err}");
    assert!(recfuse::check_args(&args("--help")).is_err());
    let err = recfuse::check_args(&args("eval --behaviour b.csv --bootstrap 100000000000")).unwrap_err();
    assert!(err.contains("bootstrap"), "{err}");
    let err = recfuse::check_args(&args("eval --behaviour b.csv --tune --validation-windows 0")).unwrap_err();
    assert!(err.contains("--validation-windows = 0 is outside the allowed range 1 to 4"), "{err}");
    assert_eq!(recfuse::check_args(&args("eval --behaviour b.csv --tune --validation-windows 3")), Ok(()));
    assert!(recfuse::check_args(&args("recommend --behaviour b.csv --user u1 --map item_id")).is_err());
}
