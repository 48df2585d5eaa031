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
    let (users, items) = (IdMatcher::new(users), IdMatcher::new(items));
    let mut formats: Vec<String> = Vec::new();
    for part in &parts {
        progress.check().map_err(|Cancelled| cancelled(path))?;
        let table = read_table(part)?;
        if !formats.contains(&table.format_label) {
            formats.push(table.format_label.clone());
        }
        acc.add_table(&table, &users, &items)?;
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

/// Id codes: an index, or one of these.
const UNKNOWN: u32 = u32::MAX;
const BLANK: u32 = u32::MAX - 1;
/// Signal slot of a blank `signal` cell.
const BLANK_SLOT: u8 = u8::MAX;

/// The columns of one part file, extracted compactly (4 bytes per row and column).
struct Extracted {
    users: Vec<u32>,
    items: Vec<u32>,
    scores: Vec<f32>,
    /// Rows whose score is blank or not a number, ascending (their `scores` entry is NaN).
    problems: Vec<(usize, ScoreProblem)>,
    /// Signal slot of each row (empty without a `signal` column).
    slots: Vec<u8>,
}

impl Accumulator {
    fn add_table(&mut self, table: &RawTable, users: &IdMatcher<'_>, items: &IdMatcher<'_>) -> Result<(), DataError> {
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
        let series = |name: &str| -> Result<&Series, DataError> {
            table.frame.column(name).map(|c| c.as_materialized_series()).map_err(|e| DataError::Malformed {
                path: table.path.clone(),
                row: 0,
                column: Some(name.to_owned()),
                detail: super::error::first_line(&e),
            })
        };
        let (user_s, item_s) = (series(&user_col)?, series(&item_col)?);
        let ctx = RowColumns { path: &table.path, signal_col: signal_col.as_deref() };
        let (scores, problems) = score_values(series(&score_col)?);
        let slots = match &signal_col {
            Some(c) => self.signal_slots(series(c)?, &ctx)?,
            None => {
                self.slot(None, &ctx, 1)?;
                Vec::new()
            }
        };
        let x = Extracted { users: users.match_ids(user_s), items: items.match_ids(item_s), scores, problems, slots };
        let bad: std::collections::HashSet<usize> = table.bad_rows.iter().map(|(r, _)| *r).collect();
        self.report.malformed += bad.len();
        self.report.rows = total;
        let mut problems = x.problems.iter().peekable();
        self.rows.reserve(x.scores.len());
        for (row, ((&user, &item), &score)) in x.users.iter().zip(&x.items).zip(&x.scores).enumerate() {
            let problem = match problems.peek() {
                Some((r, p)) if *r == row => {
                    problems.next();
                    Some(p)
                }
                _ => None,
            };
            if bad.contains(&row) {
                continue;
            }
            let slot = if signal_col.is_some() { x.slots.get(row).copied().unwrap_or(BLANK_SLOT) } else { 0 };
            let cell = |s: &Series| id_text(s, row);
            self.add_row(row, (user, item, score, problem, slot), || cell(user_s), || cell(item_s));
        }
        Ok(())
    }

    /// Counts a row's problem or keeps it; `user_text`/`item_text` give an unknown id's
    /// text for the examples.
    fn add_row(
        &mut self,
        row: usize,
        (user, item, score, problem, slot): (u32, u32, f32, Option<&ScoreProblem>, u8),
        user_text: impl FnOnce() -> String,
        item_text: impl FnOnce() -> String,
    ) {
        let shown = row + 1;
        let report = &mut self.report;
        if user == BLANK || item == BLANK || slot == BLANK_SLOT || matches!(problem, Some(ScoreProblem::Blank)) {
            report.blank += 1;
            report.example(|| format!("row {shown}: a blank user, item, signal or score"));
        } else if user == UNKNOWN {
            report.unknown_users += 1;
            report.example(|| format!("row {shown}: unknown user '{}'", user_text()));
        } else if item == UNKNOWN {
            report.unknown_items += 1;
            report.example(|| format!("row {shown}: unknown item '{}'", item_text()));
        } else if let Some(ScoreProblem::NotNumeric(text)) = problem {
            report.not_numeric += 1;
            report.example(|| format!("row {shown}: score '{text}' is not a number"));
        } else if !score.is_finite() {
            report.non_finite += 1;
            report.example(|| format!("row {shown}: score {score} is not finite"));
        } else {
            self.rows.push((slot, user, item, score));
        }
    }

    /// The slot of each row's `signal` value (validated at its first row).
    fn signal_slots(&mut self, series: &Series, ctx: &RowColumns<'_>) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::with_capacity(series.len());
        let mut last: Option<(String, u8)> = None;
        let cells = column_cells(series);
        for (row, cell) in cells.iter().enumerate() {
            let Some(text) = cell.as_text() else {
                out.push(BLANK_SLOT);
                continue;
            };
            let slot = match &last {
                Some((name, slot)) if name.as_str() == text.as_ref() => *slot,
                _ => {
                    let slot = self.slot(Some(text.to_string()), ctx, row + 1)?;
                    last = Some((text.to_string(), slot));
                    slot
                }
            };
            out.push(slot);
        }
        Ok(out)
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
            && !is_signal_value(n)
        {
            return Err(DataError::Malformed {
                path: ctx.path.to_path_buf(),
                row,
                column: ctx.signal_col.map(str::to_owned),
                detail: format!(
                    "signal '{}' is not a usable signal name (1 to {MAX_SIGNAL_VALUE_LEN} characters, each a-z, 0-9, '_' or '-')",
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

/// One cell of an id column as text (for examples).
fn id_text(series: &Series, row: usize) -> String {
    let cell = series.slice(row as i64, 1);
    column_cells(&cell).first().and_then(|c| c.as_text().map(|t| super::report::shorten(&t, 40))).unwrap_or_default()
}

/// Matches id columns against one interner, for every part file of a score file.
struct IdMatcher<'a> {
    interner: &'a Interner,
    /// The known ids that an integer prints as ("12", not "012" or "+12"), keyed by that
    /// integer; built on the first integer column.
    numeric: std::sync::OnceLock<std::collections::HashMap<i64, u32>>,
}

impl<'a> IdMatcher<'a> {
    fn new(interner: &'a Interner) -> Self {
        Self { interner, numeric: std::sync::OnceLock::new() }
    }

    /// Matches an id column as text (numbers print as the catalogue writes them: `12`, not
    /// `12.0`): an index, [`UNKNOWN`] or [`BLANK`] per row. An integer column is matched
    /// through [`IdMatcher::numeric`]: the same matches as printing every cell and looking
    /// the text up, without a string per cell.
    fn match_ids(&self, series: &Series) -> Vec<u32> {
        let lookup = |text: &str| -> u32 {
            let t = text.trim();
            if t.is_empty() { BLANK } else { self.interner.get(t).unwrap_or(UNKNOWN) }
        };
        if let Ok(ca) = series.str() {
            return ca.iter().map(|v| v.map_or(BLANK, lookup)).collect();
        }
        if series.dtype().is_integer()
            && let Ok(s) = series.cast(&DataType::Int64)
            && let Ok(ca) = s.i64()
        {
            let numeric = self.numeric.get_or_init(|| {
                self.interner
                    .names()
                    .iter()
                    .enumerate()
                    .filter_map(|(i, name)| {
                        let v = name.parse::<i64>().ok().filter(|v| v.to_string() == *name)?;
                        Some((v, u32::try_from(i).ok()?))
                    })
                    .collect()
            });
            return ca.iter().map(|v| v.map_or(BLANK, |v| numeric.get(&v).copied().unwrap_or(UNKNOWN))).collect();
        }
        column_cells(series).iter().map(|c| c.as_text().map_or(BLANK, |t| lookup(&t))).collect()
    }
}

/// A score column's values as `f32` (numbers as they are, text parsed with a decimal
/// point), and the rows that are blank or not a number (NaN in the values).
fn score_values(series: &Series) -> (Vec<f32>, Vec<(usize, ScoreProblem)>) {
    let mut problems = Vec::new();
    let mut parse = |row: usize, text: Option<&str>| -> f32 {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => {
                problems.push((row, ScoreProblem::Blank));
                f32::NAN
            }
            Some(t) => match t.parse::<f64>() {
                Ok(v) => v as f32,
                Err(_) => {
                    problems.push((row, ScoreProblem::NotNumeric(super::report::shorten(t, 40))));
                    f32::NAN
                }
            },
        }
    };
    if series.dtype().is_primitive_numeric()
        && let Ok(s) = series.cast(&DataType::Float64)
        && let Ok(ca) = s.f64()
    {
        let values = ca
            .iter()
            .enumerate()
            .map(|(row, v)| match v {
                Some(v) => v as f32,
                None => parse(row, None),
            })
            .collect();
        return (values, problems);
    }
    if let Ok(ca) = series.str() {
        let values = ca.iter().enumerate().map(|(row, v)| parse(row, v)).collect();
        return (values, problems);
    }
    let values = column_cells(series).iter().enumerate().map(|(row, c)| parse(row, c.as_text().as_deref())).collect();
    (values, problems)
}
