//! `recfuse replay`: writes an existing behaviour log into another file in time order, at
//! a chosen speed-up — the driver for live demos and tests. Each moment's lines are
//! appended in one write, whole lines only; the input is only read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;

use crate::data::read::decode::read_regular_text;
use crate::data::read::sniff::{FileFormat, detect_format};
use crate::data::{ColumnMapping, DataError};

/// Arguments of `recfuse replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The log to replay (CSV/TSV or JSON Lines, one record per line).
    #[arg(long, value_name = "FILE")]
    pub behaviour: PathBuf,
    /// Where to append the events (created with the header line if absent; never the input).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Speed-up over the log's own clock (3600 replays an hour a second).
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Skip this share of the events (by time) first: 0.9 replays the last 10 %.
    #[arg(long, default_value_t = 0.0)]
    pub skip_fraction: f64,
    /// Column override `role=column` (to find the timestamp), repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
}

/// The largest log replayed (it is read into memory once).
const MAX_REPLAY_BYTES: u64 = 8 << 30;

/// `path` made absolute with its folder's symlinks resolved (the file itself may not exist).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.join(path.file_name().unwrap_or_default())
}

/// Refuses an output that is the input (by path or by inode) or not a regular file.
fn check_output(input: &Path, out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        resolved(input) != resolved(out),
        "--to {}: is the input file; replay never writes to its input",
        out.display()
    );
    if let Ok(meta) = std::fs::symlink_metadata(out) {
        anyhow::ensure!(meta.file_type().is_file(), "--to {}: exists and is not a regular file", out.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let a = std::fs::metadata(input)?;
            anyhow::ensure!(
                (a.dev(), a.ino()) != (meta.dev(), meta.ino()),
                "--to {}: is the input file (a hard link); replay never writes to its input",
                out.display()
            );
        }
    }
    Ok(())
}

/// The header line (delimited text) and the data lines of the log.
fn split_lines(text: &str, delimited: bool) -> (Option<&str>, Vec<&str>) {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let header = if delimited { lines.next().map(|h| h.trim_start_matches('\u{feff}')) } else { None };
    (header, lines.filter(|l| !l.trim().is_empty()).collect())
}

/// Creates `out` with `header` (atomically) when it is absent or empty; otherwise checks
/// that its header is the same.
fn prepare_output(out: &Path, header: Option<&str>) -> anyhow::Result<()> {
    let existing = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    if existing == 0 {
        let first = header.map(|h| format!("{h}\n")).unwrap_or_default();
        crate::session::write_atomic(out, first.as_bytes())
            .map_err(|e| anyhow::anyhow!("--to {}: {e}", out.display()))?;
        return Ok(());
    }
    if let Some(h) = header {
        let text = read_regular_text(out, MAX_REPLAY_BYTES)?;
        let theirs = text.lines().next().unwrap_or("").trim_end_matches('\r').trim_start_matches('\u{feff}');
        anyhow::ensure!(
            theirs == h,
            "--to {}: its header line differs from the input's ('{theirs}' vs '{h}')",
            out.display()
        );
    }
    Ok(())
}

/// Runs `recfuse replay`.
pub(crate) fn run(args: &ReplayArgs) -> anyhow::Result<u8> {
    crate::limits::check_real("--speed", args.speed, 1e-3, 1e9)?;
    crate::limits::check_real("--skip-fraction", args.skip_fraction, 0.0, 0.999)?;
    let input = &args.behaviour;
    check_output(input, &args.to)?;
    let detected = detect_format(input)?;
    let delimited = match detected.format {
        FileFormat::Delimited | FileFormat::RecBole => true,
        FileFormat::JsonLines => false,
        other => {
            return Err(DataError::CannotFollow {
                path: input.clone(),
                detail: format!("{} files cannot be replayed line by line", other.label()),
            }
            .into());
        }
    };
    anyhow::ensure!(!detected.gzip, "{}: a compressed log cannot be replayed line by line", input.display());
    let mapping = ColumnMapping::from_args(&args.map)?;
    let times = crate::data::row_times(input, &mapping)?;
    let text = read_regular_text(input, MAX_REPLAY_BYTES)?;
    let (header, lines) = split_lines(&text, delimited);
    anyhow::ensure!(
        lines.len() == times.len(),
        "{}: {} lines but {} records (a quoted field spans lines, or a JSON array); replay needs one record per line",
        input.display(),
        lines.len(),
        times.len()
    );
    let mut order: Vec<(i64, usize)> = times.iter().enumerate().filter_map(|(i, t)| t.map(|t| (t, i))).collect();
    let unusable = times.len() - order.len();
    order.sort_by_key(|&(t, _)| t);
    let skip = (order.len() as f64 * args.skip_fraction).floor() as usize;
    let order = order.get(skip..).unwrap_or(&[]);
    prepare_output(&args.to, header)?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&args.to)
        .map_err(|e| anyhow::anyhow!("--to {}: {e}", args.to.display()))?;
    let start = Instant::now();
    let first = order.first().map_or(0, |&(t, _)| t);
    let mut written = 0usize;
    let mut k = 0usize;
    while let Some(&(t, _)) = order.get(k) {
        let group_end = order.iter().skip(k).position(|&(u, _)| u != t).map_or(order.len(), |n| k + n);
        let due = Duration::from_secs_f64(((t - first) as f64 / args.speed).max(0.0));
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        let mut chunk = String::new();
        for &(_, i) in order.get(k..group_end).unwrap_or(&[]) {
            chunk.push_str(lines.get(i).copied().unwrap_or(""));
            chunk.push('\n');
        }
        file.write_all(chunk.as_bytes()).map_err(|e| anyhow::anyhow!("--to {}: {e}", args.to.display()))?;
        written += group_end - k;
        k = group_end;
    }
    file.sync_all().ok();
    eprintln!(
        "replayed {written} events into {} in {:.1} s ({} skipped first{})",
        args.to.display(),
        start.elapsed().as_secs_f64(),
        skip,
        if unusable > 0 { format!(", {unusable} rows without a usable timestamp left out") } else { String::new() }
    );
    Ok(0)
}
