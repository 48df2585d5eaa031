//! Score tables: scores computed elsewhere (a nightly Spark job, another team's model)
//! for (user, item) pairs, read as external signals.
//!
//! A score file has the columns `user_id, item_id, score`, or `user_id, item_id, signal,
//! score` for several signals in one file (common spellings accepted, case and `_`/`-`
//! ignored). Any format [`read_table`] reads works (CSV/TSV, Parquet, JSON Lines, gzip),
//! and so does a folder of `part-*` files as Spark writes it (`part-*.parquet`,
//! `part-*.csv`, optionally `.gz`; `_SUCCESS`, `.crc` and hidden files are skipped).
//!
//! Ids are matched as text against the loaded catalogue's and behaviour's ids (a number
//! `12` matches the id `"12"`). Rows are counted, never dropped in silence: unknown
//! users, unknown items, blank cells, scores that are not numbers, non-finite scores and
//! duplicate pairs (the later row wins) each have a count.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::intern::Interner;
use super::read::read_table;
use super::table::{RawTable, column_cells};
use crate::jobs::{Cancelled, Progress};

/// Most rows read from one score file (all its part files together).
pub const MAX_SCORE_ROWS: usize = 200_000_000;
/// Most part files in one score folder.
pub const MAX_PART_FILES: usize = 10_000;
/// Most distinct values of the `signal` column in one file.
pub const MAX_SIGNALS_PER_FILE: usize = 16;
/// Most examples kept per file for the report.
const MAX_EXAMPLES: usize = 5;

/// A score file named as an external signal (saved with the session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalFile {
    /// The signal's name; with a `signal` column, each signal is `NAME_value`.
    pub name: String,
    /// The file, or a folder of `part-*` files.
    pub path: PathBuf,
}

/// What reading a score file found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreFileReport {
    /// The file or folder name.
    pub file: String,
    /// Format, e.g. "parquet" or "3 part files, csv".
    pub format: String,
    /// Data rows read.
    pub rows: usize,
    /// Pairs kept (after duplicates).
    pub kept: usize,
    /// Rows whose user is not in the behaviour data.
    pub unknown_users: usize,
    /// Rows whose item is not in the catalogue.
    pub unknown_items: usize,
    /// Rows with a blank user, item, signal or score.
    pub blank: usize,
    /// Rows whose score is not a number.
    pub not_numeric: usize,
    /// Rows whose score is NaN or infinite (or beyond the 32-bit range).
    pub non_finite: usize,
    /// Rows that repeat an earlier (user, item, signal): the later row wins.
    pub duplicates: usize,
    /// Malformed rows the reader dropped (ragged CSV lines, bad JSON lines).
    pub malformed: usize,
    /// Up to five examples of dropped rows ("row 7: unknown user 'u9'").
    pub examples: Vec<String>,
}

impl ScoreFileReport {
    /// One line for people: "1,204 pairs kept of 1,300 rows; 40 unknown users, …".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.unknown_users, "unknown users"),
            (self.unknown_items, "unknown items"),
            (self.duplicates, "duplicate pairs (the later row wins)"),
            (self.non_finite, "non-finite scores"),
            (self.not_numeric, "scores not a number"),
            (self.blank, "blank cells"),
            (self.malformed, "malformed rows"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let dropped = if parts.is_empty() { "nothing dropped".to_owned() } else { parts.join(", ") };
        format!("{} pairs kept of {} rows; {dropped}", self.kept, self.rows)
    }

    fn example(&mut self, text: impl FnOnce() -> String) {
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(text());
        }
    }
}

/// The scores of one signal of a file: pairs sorted by (user, item), no repeats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreTable {
    /// The `signal` column's value; `None` for a file without one.
    pub signal: Option<String>,
    /// User index (in the behaviour's users) of each pair.
    pub users: Vec<u32>,
    /// Item index (in the catalogue) of each pair.
    pub items: Vec<u32>,
    /// Score of each pair (finite).
    pub scores: Vec<f32>,
}

/// A score file read and matched to the loaded data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreFile {
    /// One table per signal, in the order the signals first appear.
    pub tables: Vec<ScoreTable>,
    /// What was read and dropped.
    pub report: ScoreFileReport,
}

/// Column spellings per role (compared lower-case without `_`, `-` and spaces).
const USER_NAMES: [&str; 10] =
    ["userid", "user", "customerid", "customer", "visitorid", "shopperid", "shopper", "reviewerid", "uid", "clientid"];
const ITEM_NAMES: [&str; 12] = [
    "itemid",
    "item",
    "productid",
    "product",
    "sku",
    "asin",
    "stockcode",
    "movieid",
    "articleid",
    "iid",
    "docid",
    "offerid",
];
const SCORE_NAMES: [&str; 7] = ["score", "prediction", "predicted", "rating", "value", "relevance", "weight"];
const SIGNAL_NAMES: [&str; 4] = ["signal", "signalname", "model", "source"];

fn normalise_name(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect()
}

fn find_column(columns: &[String], spellings: &[&str]) -> Option<String> {
    spellings.iter().find_map(|s| columns.iter().find(|c| normalise_name(c) == *s).cloned())
}

/// Reads a score file (or a folder of part files) and matches its ids to `users` (the
/// behaviour's shoppers) and `items` (the catalogue).
pub fn read_score_file(
    path: &Path,
    users: &Interner,
    items: &Interner,
    progress: &Progress,
) -> Result<ScoreFile, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    let parts = if meta.is_dir() { part_files(path)? } else { vec![path.to_path_buf()] };
    progress.start_stage("reading scores", parts.len() as u64);
    let mut acc = Accumulator::default();
    let mut formats: Vec<String> = Vec::new();
    for part in &parts {
        progress.check().map_err(|Cancelled| cancelled(path))?;
        let table = read_table(part)?;
        if !formats.contains(&table.format_label) {
            formats.push(table.format_label.clone());
        }
        acc.add_table(&table, users, items)?;
        progress.advance(1);
    }
    let format =
        if meta.is_dir() { format!("{} part files, {}", parts.len(), formats.join("; ")) } else { formats.join("; ") };
    let file = super::format::short_name(path);
    acc.finish(path, file, format)
}

fn cancelled(path: &Path) -> DataError {
    DataError::Io { path: path.to_path_buf(), source: std::io::Error::other("cancelled") }
}

/// The `part-*` data files of a Spark output folder, in name order.
fn part_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut parts = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("part-") || name.ends_with(".crc") {
            continue;
        }
        parts.push(entry.path());
        if parts.len() > MAX_PART_FILES {
            return Err(DataError::TooLarge {
                path: dir.to_path_buf(),
                what: format!("the folder (more than {MAX_PART_FILES} part files)"),
                limit_mib: 0,
            });
        }
    }
    parts.sort();
    if parts.is_empty() {
        return Err(DataError::Malformed {
            path: dir.to_path_buf(),
            row: 0,
            column: None,
            detail: "a folder of scores must hold part-* files (as Spark writes them: part-00000-….parquet or .csv)"
                .to_owned(),
        });
    }
    Ok(parts)
}

/// Rows gathered across part files: (signal slot, user, item, score) in file order.
#[derive(Default)]
struct Accumulator {
    signals: Vec<Option<String>>,
    rows: Vec<(u8, u32, u32, f32)>,
    report: ScoreFileReport,
}

/// A cell matched against an interner.
enum Matched {
    Known(u32),
    Unknown(String),
    Blank,
}

impl Accumulator {
    fn add_table(&mut self, table: &RawTable, users: &Interner, items: &Interner) -> Result<(), DataError> {
        let columns = table.column_names();
        let missing = |role: &str, spellings: &[&str]| DataError::MissingScoreColumn {
            path: table.path.clone(),
            role: role.to_owned(),
            expected: spellings.join(", "),
            found: columns.join(", "),
        };
        let user_col = find_column(&columns, &USER_NAMES).ok_or_else(|| missing("user id", &USER_NAMES))?;
        let item_col = find_column(&columns, &ITEM_NAMES).ok_or_else(|| missing("item id", &ITEM_NAMES))?;
        let score_col = find_column(&columns, &SCORE_NAMES).ok_or_else(|| missing("score", &SCORE_NAMES))?;
        let signal_col = find_column(&columns, &SIGNAL_NAMES);
        let total = self.report.rows.saturating_add(table.rows);
        if total > MAX_SCORE_ROWS {
            return Err(DataError::TooLarge {
                path: table.path.clone(),
                what: format!("the score table ({total} rows, at most {MAX_SCORE_ROWS})"),
                limit_mib: 0,
            });
        }
        let series = |name: &str| -> Result<Series, DataError> {
            table.frame.column(name).map(|c| c.as_materialized_series().clone()).map_err(|e| DataError::Malformed {
                path: table.path.clone(),
                row: 0,
                column: Some(name.to_owned()),
                detail: super::error::first_line(&e),
            })
        };
        let user_ids = match_ids(&series(&user_col)?, users);
        let item_ids = match_ids(&series(&item_col)?, items);
        let scores = score_values(&series(&score_col)?);
        let signal_values = match &signal_col {
            Some(c) => Some(text_values(&series(c)?)),
            None => None,
        };
        let bad: std::collections::HashSet<usize> = table.bad_rows.iter().map(|(r, _)| *r).collect();
        self.report.malformed += bad.len();
        self.report.rows = total;
        let ctx = RowColumns { path: &table.path, signal_col: signal_col.as_deref() };
        for (row, ((user, item), score)) in user_ids.into_iter().zip(item_ids).zip(scores).enumerate() {
            if bad.contains(&row) {
                continue;
            }
            let signal = signal_values.as_ref().map(|v| v.get(row).cloned().flatten());
            self.add_row(&ctx, row, user, item, score, signal)?;
        }
        Ok(())
    }

    fn add_row(
        &mut self,
        ctx: &RowColumns<'_>,
        row: usize,
        user: Matched,
        item: Matched,
        score: Result<f64, ScoreProblem>,
        signal: Option<Option<String>>,
    ) -> Result<(), DataError> {
        let shown = row + 1;
        let report = &mut self.report;
        let (user, item) = match (user, item) {
            (Matched::Blank, _) | (_, Matched::Blank) => {
                report.blank += 1;
                report.example(|| format!("row {shown}: blank user or item id"));
                return Ok(());
            }
            (Matched::Unknown(u), _) => {
                report.unknown_users += 1;
                report.example(|| format!("row {shown}: unknown user '{u}'"));
                return Ok(());
            }
            (_, Matched::Unknown(i)) => {
                report.unknown_items += 1;
                report.example(|| format!("row {shown}: unknown item '{i}'"));
                return Ok(());
            }
            (Matched::Known(u), Matched::Known(i)) => (u, i),
        };
        let score = match score {
            Ok(v) if v.is_finite() && (v as f32).is_finite() => v as f32,
            Ok(v) => {
                report.non_finite += 1;
                report.example(|| format!("row {shown}: score {v} is not finite"));
                return Ok(());
            }
            Err(ScoreProblem::Blank) => {
                report.blank += 1;
                report.example(|| format!("row {shown}: blank score"));
                return Ok(());
            }
            Err(ScoreProblem::NotNumeric(text)) => {
                report.not_numeric += 1;
                report.example(|| format!("row {shown}: score '{text}' is not a number"));
                return Ok(());
            }
        };
        let slot = match signal {
            None => self.slot(None, ctx, shown)?,
            Some(None) => {
                self.report.blank += 1;
                self.report.example(|| format!("row {shown}: blank signal"));
                return Ok(());
            }
            Some(Some(name)) => self.slot(Some(name), ctx, shown)?,
        };
        self.rows.push((slot, user, item, score));
        Ok(())
    }

    /// The slot of a signal value, adding it when new (at most [`MAX_SIGNALS_PER_FILE`]).
    fn slot(&mut self, name: Option<String>, ctx: &RowColumns<'_>, row: usize) -> Result<u8, DataError> {
        if let Some(i) = self.signals.iter().position(|s| *s == name) {
            return Ok(i as u8);
        }
        if self.signals.len() >= MAX_SIGNALS_PER_FILE {
            return Err(DataError::Malformed {
                path: ctx.path.to_path_buf(),
                row,
                column: ctx.signal_col.map(str::to_owned),
                detail: format!("more than {MAX_SIGNALS_PER_FILE} different signals in one file"),
            });
        }
        if let Some(n) = &name
            && !crate::data::scores::is_signal_value(n)
        {
            return Err(DataError::Malformed {
                path: ctx.path.to_path_buf(),
                row,
                column: ctx.signal_col.map(str::to_owned),
                detail: format!(
                    "signal '{}' is not a usable signal name (1 to 30 characters, each a-z, 0-9, '_' or '-')",
                    super::report::shorten(n, 60)
                ),
            });
        }
        self.signals.push(name);
        Ok((self.signals.len() - 1) as u8)
    }

    fn finish(self, path: &Path, file: String, format: String) -> Result<ScoreFile, DataError> {
        let Accumulator { signals, mut rows, mut report } = self;
        report.file = file;
        report.format = format;
        // Stable sort keeps file order within a pair: the last of equal keys is the later row.
        rows.sort_by_key(|&(s, u, i, _)| (s, u, i));
        let mut tables: Vec<ScoreTable> =
            signals.into_iter().map(|signal| ScoreTable { signal, ..ScoreTable::default() }).collect();
        let mut iter = rows.into_iter().peekable();
        while let Some((s, u, i, v)) = iter.next() {
            if iter.peek().is_some_and(|&(s2, u2, i2, _)| (s2, u2, i2) == (s, u, i)) {
                report.duplicates += 1;
                continue;
            }
            if let Some(t) = tables.get_mut(s as usize) {
                t.users.push(u);
                t.items.push(i);
                t.scores.push(v);
            }
        }
        report.kept = tables.iter().map(|t| t.scores.len()).sum();
        if report.kept == 0 {
            return Err(DataError::NothingUsable { path: path.to_path_buf(), summary: report.summary() });
        }
        Ok(ScoreFile { tables, report })
    }
}

/// Where a row's problems are reported.
struct RowColumns<'a> {
    path: &'a Path,
    signal_col: Option<&'a str>,
}

/// Longest value of a `signal` column (the signal is named `NAME_value`, at most 40).
pub const MAX_SIGNAL_VALUE_LEN: usize = 30;

/// Whether `value` can name a signal of a multi-signal file.
pub fn is_signal_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_SIGNAL_VALUE_LEN
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

enum ScoreProblem {
    Blank,
    NotNumeric(String),
}

/// Matches an id column against `interner` as text (numbers print as the catalogue
/// writes them: `12`, not `12.0`).
fn match_ids(series: &Series, interner: &Interner) -> Vec<Matched> {
    let lookup = |text: &str| -> Matched {
        let t = text.trim();
        if t.is_empty() {
            Matched::Blank
        } else {
            match interner.get(t) {
                Some(i) => Matched::Known(i),
                None => Matched::Unknown(super::report::shorten(t, 40)),
            }
        }
    };
    if let Ok(ca) = series.str() {
        return ca.iter().map(|v| v.map_or(Matched::Blank, lookup)).collect();
    }
    if series.dtype().is_integer()
        && let Ok(s) = series.cast(&DataType::Int64)
        && let Ok(ca) = s.i64()
    {
        let mut buf = String::new();
        return ca
            .iter()
            .map(|v| {
                v.map_or(Matched::Blank, |v| {
                    use std::fmt::Write as _;
                    buf.clear();
                    let _ = write!(buf, "{v}");
                    lookup(&buf)
                })
            })
            .collect();
    }
    column_cells(series).iter().map(|c| c.as_text().map_or(Matched::Blank, |t| lookup(&t))).collect()
}

/// A score column's values: numbers as they are, text parsed (decimal point).
fn score_values(series: &Series) -> Vec<Result<f64, ScoreProblem>> {
    let numeric = series.dtype().is_primitive_numeric();
    if numeric
        && let Ok(s) = series.cast(&DataType::Float64)
        && let Ok(ca) = s.f64()
    {
        return ca.iter().map(|v| v.ok_or(ScoreProblem::Blank)).collect();
    }
    column_cells(series)
        .iter()
        .map(|c| match c.as_text() {
            None => Err(ScoreProblem::Blank),
            Some(t) => t.parse::<f64>().map_err(|_| ScoreProblem::NotNumeric(super::report::shorten(&t, 40))),
        })
        .collect()
}

/// A text column's trimmed values (`None` for blank).
fn text_values(series: &Series) -> Vec<Option<String>> {
    column_cells(series).iter().map(|c| c.as_text().map(|t| t.into_owned())).collect()
}
