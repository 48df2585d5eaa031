//! JSON Lines (and JSON arrays of records) into a [`RawTable`].
//!
//! Parsed line by line with serde_json rather than polars' NDJSON reader, so that a
//! broken line is counted and reported with its line number instead of failing the
//! whole file, and so that heterogeneous records (Amazon metadata: `description` as a
//! list, `price` as text, fields present on some lines only) load without a schema.

use std::path::Path;

use polars::prelude::{Column, DataFrame};
use serde_json::Value;

use crate::data::error::DataError;
use crate::data::table::{BadRow, LIST_SEPARATOR, RawTable};

/// The most distinct keys (columns) a JSON file may have. Every key becomes a column as long
/// as the file, so memory grows with keys × rows: records whose keys vary from line to line
/// (an id used as a key) would otherwise exhaust memory. A file with more is refused, naming
/// the line where the limit was passed.
pub const MAX_JSON_KEYS: usize = 1_000;

/// The longest JSON Lines record: 16 MiB (longer lines are refused naming the line).
pub const MAX_JSON_LINE_BYTES: usize = 16 << 20;

/// Reads JSON Lines or a JSON array of objects from bytes not yet decoded (invalid UTF-8
/// is replaced); [`read_json_text`] reads text that is.
pub fn read_json_records(path: &Path, bytes: &[u8]) -> Result<RawTable, DataError> {
    read_json_text(path, &String::from_utf8_lossy(bytes))
}

/// Reads JSON Lines or a JSON array of objects. Lists of scalars become text joined with
/// [`LIST_SEPARATOR`]; nested objects are kept as JSON text.
pub fn read_json_text(path: &Path, text: &str) -> Result<RawTable, DataError> {
    let trimmed = text.trim_start();
    let mut records: Vec<(usize, serde_json::Map<String, Value>)> = Vec::new();
    let mut bad_rows = Vec::new();
    let mut row = 0usize;
    let mut keys = KeyUnion::default();
    if trimmed.starts_with('[') {
        let parsed: Value = serde_json::from_str(trimmed).map_err(|e| DataError::Malformed {
            path: path.to_path_buf(),
            row: e.line(),
            column: None,
            detail: format!("invalid JSON array at line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if let Value::Array(items) = parsed {
            for item in items {
                match item {
                    Value::Object(map) => {
                        keys.add(&map, path, row + 1)?;
                        records.push((row, map));
                    }
                    other => bad_rows
                        .push((row, BadRow::Json { detail: format!("expected an object, found {}", kind(&other)) })),
                }
                row += 1;
            }
        }
    } else {
        for (line_number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if line.len() > MAX_JSON_LINE_BYTES {
                return Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    row: line_number + 1,
                    column: None,
                    detail: format!(
                        "line {} is longer than {} MiB, the most one JSON record may have",
                        line_number + 1,
                        MAX_JSON_LINE_BYTES >> 20
                    ),
                });
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => {
                    keys.add(&map, path, line_number + 1)?;
                    records.push((row, map));
                }
                Ok(other) => {
                    bad_rows.push((row, BadRow::Json { detail: format!("expected an object, found {}", kind(&other)) }))
                }
                Err(e) => bad_rows.push((row, BadRow::Json { detail: e.to_string() })),
            }
            row += 1;
        }
    }
    let rows = row;
    if records.is_empty() {
        if let Some((first_row, BadRow::Json { detail })) = bad_rows.first() {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                row: first_row + 1,
                column: None,
                detail: format!("no valid JSON object in the file; first problem: {detail}"),
            });
        }
        return Err(DataError::NoRows { path: path.to_path_buf() });
    }
    let keys = keys.order;
    let mut columns: Vec<Vec<Option<String>>> = vec![vec![None; rows]; keys.len()];
    for (r, map) in &records {
        for (k, column) in keys.iter().zip(columns.iter_mut()) {
            if let (Some(v), Some(slot)) = (map.get(k), column.get_mut(*r)) {
                *slot = value_text(v);
            }
        }
    }
    let frame_columns: Vec<Column> =
        keys.iter().zip(columns).map(|(k, values)| Column::new(k.as_str().into(), values)).collect();
    let frame = DataFrame::new(rows, frame_columns).map_err(|e| DataError::Malformed {
        path: path.to_path_buf(),
        row: 0,
        column: None,
        detail: e.to_string(),
    })?;
    Ok(RawTable {
        path: path.to_path_buf(),
        frame,
        bad_rows,
        format_label: String::new(),
        notices: Vec::new(),
        rows,
        separator: None,
    })
}

/// The union of the records' keys in first-seen order, at most [`MAX_JSON_KEYS`].
#[derive(Default)]
struct KeyUnion {
    order: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl KeyUnion {
    /// Adds the keys of the record at `line` (1-based); refuses the file when the union
    /// passes [`MAX_JSON_KEYS`].
    fn add(&mut self, map: &serde_json::Map<String, Value>, path: &Path, line: usize) -> Result<(), DataError> {
        for k in map.keys() {
            if self.seen.contains(k) {
                continue;
            }
            if self.order.len() >= MAX_JSON_KEYS {
                return Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    row: line,
                    column: Some(k.clone()),
                    detail: format!(
                        "more than {MAX_JSON_KEYS} distinct keys (the most a JSON file may have: every key becomes \
                         a column); the records' keys vary, e.g. ids used as keys"
                    ),
                });
            }
            self.seen.insert(k.clone());
            self.order.push(k.clone());
        }
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(value_text).filter(|s| !s.trim().is_empty()).collect();
            (!parts.is_empty()).then(|| parts.join(&LIST_SEPARATOR.to_string()))
        }
        Value::Object(_) => Some(v.to_string()),
    }
}
