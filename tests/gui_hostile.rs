#![cfg(feature = "gui")]
//! The window survives hostile data files: each one, opened as the behaviour file, shows an
//! error naming the file; every tab still draws; and switching to a good file afterwards
//! loads it (the window keeps working).

mod support;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use support::wait_until;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recfuse::data::TableKind;
use recfuse::session::{Command, Session};
use recfuse::ui::WorkbenchApp;

const TABS: [&str; 5] = ["Recommendations", "Compare", "Evaluate", "Explore", "Data"];

fn harness(session: Session) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// Hostile behaviour files, each with what its error must say.
fn hostile_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let fifo = dir.join("events_fifo.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..80 {
        bomb.write_all(&zeros).expect("gzip");
    }
    let bomb = bomb.finish().expect("gzip");
    let random: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut long_record = b"user_id,item_id,timestamp\nu1,".to_vec();
    long_record.extend(std::iter::repeat_n(b'x', 17 << 20));
    long_record.extend_from_slice(b",2011-01-01\n");
    let mut cases = vec![
        (write(dir, "events_bomb.csv.gz", &bomb), "decompression bomb"),
        (write(dir, "events_random.csv", &random), "not a text data file"),
        (write(dir, "events_long.csv", &long_record), "longer than 16 MiB"),
        (write(dir, "events_quote.csv", b"user_id,item_id,timestamp\nu1,\"A\"x,2011-01-01\n"), "closing quote"),
        (write(dir, "events_footer.parquet", b"PAR1\x15\x00\xff\xff\xff\xff\x0f\x00PAR1"), "Parquet"),
        (write(dir, "events_nocols.csv", b"name,colour\nmug,red\n"), "no user id column"),
    ];
    if made {
        cases.push((fifo, "named pipe"));
    }
    cases
}

#[test]
fn hostile_files_show_an_error_and_the_window_keeps_working() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = Session::default().data.behaviour;
    for (bad, expected) in hostile_files(dir.path()) {
        let name = bad.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut session = Session::default();
        session.data.behaviour = bad.clone();
        let mut h = harness(session);
        wait_until(&mut h, "the error", |app| app.wb.data_error().is_some());
        let error = h.state().wb.data_error().unwrap_or_default().to_owned();
        assert!(error.contains(&name) && error.contains(expected), "{name}: '{error}' should contain '{expected}'");
        for tab in TABS {
            h.get_by_label(tab).click();
            h.run_steps(3);
        }
        h.state_mut().wb.handle(Command::SetDataFile { table: TableKind::Behaviour, path: Some(good.clone()) });
        wait_until(&mut h, "the list after the good file", |app| !app.wb.list().is_empty());
        assert!(h.state().wb.data_error().is_none(), "{name}: the error stays after a good load");
        // The failed load's notice is about data since replaced: off the list, in the history.
        let shown = |texts: &[recfuse::session::workbench::Notice]| texts.iter().any(|n| n.text.contains(&name));
        assert!(!shown(h.state().wb.notices()), "{name}: the old error is still shown");
        assert!(shown(h.state().wb.notice_history()), "{name}: the old error is not in the history");
    }
}
