//! The in-memory table every reader produces: a [`RawTable`] holds one file's columns as
//! polars data plus what the reader noticed (ragged rows, malformed lines, encoding), and
//! [`Cell`] is one value of a column in the form the file stored it.
//!
//! The readers in `data::read` build these types; the table builders (catalogue,
//! behaviour, users) consume them. This module imports neither.

use std::path::PathBuf;

use polars::prelude::*;

/// The separator used to join list values (JSON arrays, Parquet lists) in one text cell.
pub const LIST_SEPARATOR: char = '\u{1f}';

/// One input file read into memory, before any role is applied.
pub struct RawTable {
    /// The file.
    pub path: PathBuf,
    /// The columns.
    pub frame: DataFrame,
    /// 0-based data rows that are malformed and must be dropped, with the reason detail
    /// (ragged rows: "3 fields, header has 4"; JSON: the parser message).
    pub bad_rows: Vec<(usize, BadRow)>,
    /// Human-readable format, e.g. "csv, ',' separated, gzip".
    pub format_label: String,
    /// Things the user should know about the file.
    pub notices: Vec<String>,
    /// Number of data rows in the file, bad rows included.
    pub rows: usize,
    /// The field separator of delimited text (`None` for JSON Lines and Parquet).
    pub separator: Option<u8>,
}

/// Why a whole row could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum BadRow {
    /// Field count differs from the header.
    Ragged {
        /// Fields in the row.
        fields: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A JSON line that does not parse.
    Json {
        /// The parser's message.
        detail: String,
    },
}

impl RawTable {
    /// Column names in file order.
    pub fn column_names(&self) -> Vec<String> {
        self.frame.get_column_names().iter().map(|s| s.to_string()).collect()
    }

    /// The cells of column `name`, in row order, or `None` when there is no such column.
    pub fn cells(&self, name: &str) -> Option<Vec<Cell<'_>>> {
        let column = self.frame.column(name).ok()?;
        Some(column_cells(column.as_materialized_series()))
    }

    /// The first `n` rows as text, for previews.
    pub fn preview(&self, n: usize) -> Vec<Vec<String>> {
        let names = self.column_names();
        let columns: Vec<Vec<Cell<'_>>> = names.iter().map(|c| self.cells(c).unwrap_or_default()).collect();
        (0..n.min(self.frame.height()))
            .map(|row| columns.iter().map(|col| col.get(row).map(Cell::to_text).unwrap_or_default()).collect())
            .collect()
    }
}

/// One value of a column, in the form the file stored it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Missing.
    Null,
    /// Text (list values joined with [`LIST_SEPARATOR`]).
    Str(std::borrow::Cow<'a, str>),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// A typed date/time, already in unix seconds.
    Seconds(i64),
}

impl Cell<'_> {
    /// The value as text (empty for null).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Str(s) => s.replace(LIST_SEPARATOR, " | "),
            Cell::Int(v) | Cell::Seconds(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Bool(v) => v.to_string(),
        }
    }

    /// Text with surrounding whitespace removed; `None` for null or blank.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Cell::Null => None,
            Cell::Str(s) => {
                let t = s.trim();
                (!t.is_empty()).then_some(std::borrow::Cow::Borrowed(t))
            }
            Cell::Int(v) | Cell::Seconds(v) => Some(std::borrow::Cow::Owned(v.to_string())),
            Cell::Float(v) => Some(std::borrow::Cow::Owned(format_float_id(*v))),
            Cell::Bool(v) => Some(std::borrow::Cow::Owned(v.to_string())),
        }
    }

    /// Whether the cell is null or blank text.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Null => true,
            Cell::Str(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// Floats used as ids print without a trailing `.0` (`12.0` → `12`).
fn format_float_id(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { v.to_string() }
}

/// The cells of `series`, in row order (typed dates and datetimes as unix seconds, lists
/// joined with [`LIST_SEPARATOR`]).
pub(crate) fn column_cells(series: &Series) -> Vec<Cell<'_>> {
    match series.dtype() {
        DataType::String => match series.str() {
            Ok(ca) => ca.iter().map(|v| v.map_or(Cell::Null, |s| Cell::Str(std::borrow::Cow::Borrowed(s)))).collect(),
            Err(_) => vec![Cell::Null; series.len()],
        },
        DataType::Boolean => match series.bool() {
            Ok(ca) => ca.iter().map(|v| v.map_or(Cell::Null, Cell::Bool)).collect(),
            Err(_) => vec![Cell::Null; series.len()],
        },
        DataType::Float32 | DataType::Float64 => match series.cast(&DataType::Float64) {
            Ok(s) => match s.f64() {
                Ok(ca) => ca.iter().map(|v| v.map_or(Cell::Null, Cell::Float)).collect(),
                Err(_) => vec![Cell::Null; series.len()],
            },
            Err(_) => vec![Cell::Null; series.len()],
        },
        DataType::Datetime(unit, _) => {
            let divisor = match unit {
                TimeUnit::Nanoseconds => 1_000_000_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Milliseconds => 1_000,
            };
            int_cells(series, |v| Cell::Seconds(v.div_euclid(divisor)))
        }
        DataType::Date => int_cells(series, |v| Cell::Seconds(v * 86_400)),
        dt if dt.is_integer() => int_cells(series, Cell::Int),
        DataType::List(_) => match series.list() {
            Ok(ca) => ca
                .series_iter()
                .map(|v| match v {
                    None => Cell::Null,
                    Some(inner) => {
                        let parts: Vec<String> =
                            column_cells(&inner).iter().filter_map(|c| c.as_text().map(|t| t.into_owned())).collect();
                        if parts.is_empty() {
                            Cell::Null
                        } else {
                            Cell::Str(std::borrow::Cow::Owned(parts.join(&LIST_SEPARATOR.to_string())))
                        }
                    }
                })
                .collect(),
            Err(_) => vec![Cell::Null; series.len()],
        },
        _ => match series.cast(&DataType::String) {
            Ok(s) => match s.str() {
                Ok(ca) => ca
                    .iter()
                    .map(|v| v.map_or(Cell::Null, |s| Cell::Str(std::borrow::Cow::Owned(s.to_owned()))))
                    .collect(),
                Err(_) => vec![Cell::Null; series.len()],
            },
            Err(_) => vec![Cell::Null; series.len()],
        },
    }
}

fn int_cells<'a>(series: &Series, f: impl Fn(i64) -> Cell<'a>) -> Vec<Cell<'a>> {
    match series.cast(&DataType::Int64) {
        Ok(s) => match s.i64() {
            Ok(ca) => ca.iter().map(|v| v.map_or(Cell::Null, &f)).collect(),
            Err(_) => vec![Cell::Null; series.len()],
        },
        Err(_) => vec![Cell::Null; series.len()],
    }
}
