//! `recfuse validate` on the bundled sample and on broken files.

use std::process::Command;

fn recfuse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recfuse"))
}

fn sample(name: &str) -> String {
    format!("{}/sample_data/online_retail/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn validate_sample_json() {
    let out = recfuse()
        .args(["validate", "--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv"), "--json"])
        .output()
        .expect("run recfuse");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Counts from the sample's SOURCE description: 445 users, 2,872 items, 36,378 events.
    assert_eq!(v["items"], 2872);
    assert_eq!(v["users"], 445);
    assert_eq!(v["events"], 36378);
    assert!(v["dropped"].is_object());
    assert_eq!(v["time_span"]["start"], "2010-12-01 08:26:00");
    assert_eq!(v["time_span"]["end"], "2011-12-09 12:50:00");
}

#[test]
fn validate_fatal_exits_non_zero_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken.csv");
    std::fs::write(&bad, b"").expect("write");
    let out = recfuse()
        .args(["validate", "--catalogue", &bad.display().to_string(), "--behaviour", &sample("events.csv")])
        .output()
        .expect("run recfuse");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.csv") && err.contains("empty"), "{err}");
}

#[cfg(unix)]
#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    // `recfuse validate … | head -0`: the reader is gone before the report is written.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = recfuse()
        .args(["validate", "--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv")])
        .stdout(writer)
        .output()
        .expect("run recfuse");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}
