//! `recfuse validate`: load files and print the validation report.

use clap::Args;

use super::DataArgs;
use crate::data::{EventWeights, ValidationReport, load_dataset, timestamp};
use crate::jobs::Progress;

/// Arguments of `recfuse validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Print a JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also check a score file (external signal) against the data: `NAME=FILE`,
    /// repeatable (the same option as on `recommend`).
    #[arg(long = "signal-file", value_name = "NAME=FILE")]
    pub signal_files: Vec<String>,
}

/// Loads the files and prints the report. Exit code 0 when the data is usable.
pub(crate) fn run(args: &ValidateArgs) -> anyhow::Result<u8> {
    let sources = args.data.sources()?;
    let files = super::recommend::parse_signal_files(&args.signal_files)?;
    let dataset = load_dataset(&sources, &EventWeights::default(), &Progress::new())?;
    let mut signals = Vec::new();
    for file in &files {
        let started = std::time::Instant::now();
        let loaded = crate::score::external::load_signal_file(file, &dataset, &Progress::new())
            .map_err(super::recommend::external_error)?;
        signals.push((loaded, started.elapsed().as_secs_f64()));
    }
    if args.json {
        let mut value = dataset.report.to_json();
        if let Some(map) = value.as_object_mut()
            && !signals.is_empty()
        {
            let list: Vec<serde_json::Value> = signals
                .iter()
                .map(|(l, seconds)| {
                    serde_json::json!({
                        "name": l.file.name,
                        "signals": l.ids().iter().map(|s| s.id()).collect::<Vec<_>>(),
                        "report": l.report,
                        "seconds": seconds,
                    })
                })
                .collect();
            map.insert("signal_files".to_owned(), serde_json::Value::Array(list));
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", render_report(&dataset.report));
        for (l, seconds) in &signals {
            let ids: Vec<&str> = l.scorers.iter().map(|s| crate::score::Scorer::id(s.as_ref()).id()).collect();
            println!(
                "\nsignal file {} ({}) as {}: read in {seconds:.2} s",
                l.report.file,
                l.report.format,
                ids.join(", ")
            );
            println!("  {}", l.report.summary());
            for e in &l.report.examples {
                println!("  {e}");
            }
        }
    }
    Ok(0)
}

/// The report as human-readable text.
pub(crate) fn render_report(report: &ValidationReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for f in &report.files {
        let _ = writeln!(out, "{} ({}, {})", f.path.display(), f.table.id(), f.format);
        let mapping: Vec<String> = f.columns_used.iter().map(|(r, c)| format!("{r}={c}")).collect();
        let _ = writeln!(out, "  columns: {}", mapping.join(", "));
        let _ = writeln!(
            out,
            "  rows read {:>10}   kept {:>10}   dropped {:>10}",
            f.rows_read,
            f.rows_kept,
            f.rows_dropped()
        );
        for (kind, count) in &f.issues {
            let action = if kind.drops_row() { "dropped" } else { "noted" };
            let _ = writeln!(out, "  {:>10} {action}: {}", count.count, kind.description());
            for e in &count.examples {
                let column = e.column.as_ref().map(|c| format!(" column '{c}'")).unwrap_or_default();
                let _ = writeln!(out, "               row {}{column}: {:?}", e.row, e.value);
            }
        }
        for n in &f.notices {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "items   {:>10}", report.items);
    let _ = writeln!(out, "users   {:>10}", report.users);
    let _ = writeln!(out, "events  {:>10}", report.events);
    if let Some((a, b)) = report.time_span {
        let _ = writeln!(
            out,
            "time    {} → {} ({:.1} days)",
            timestamp::format_utc(a),
            timestamp::format_utc(b),
            (b - a) as f64 / 86_400.0
        );
    }
    let _ = writeln!(out, "event types:");
    for (t, c) in &report.event_types {
        let _ = writeln!(out, "  {t:<14} {c:>10}");
    }
    out
}
