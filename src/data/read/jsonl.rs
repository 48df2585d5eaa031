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
                    Value::Object(map) => records.push((row, map)),
                    other => bad_rows
                        .push((row, BadRow::Json { detail: format!("expected an object, found {}", kind(&other)) })),
                }
                row += 1;
            }
        }
    } else {
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => records.push((row, map)),
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
    // Union of keys in first-seen order.
    let mut keys: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (_, map) in &records {
        for k in map.keys() {
            if seen.insert(k.clone()) {
                keys.push(k.clone());
            }
        }
    }
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
    Ok(RawTable { path: path.to_path_buf(), frame, bad_rows, format_label: String::new(), notices: Vec::new(), rows })
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
