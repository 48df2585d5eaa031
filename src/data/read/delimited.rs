//! Delimited text (CSV, TSV, RecBole atomic files, the header-less MovieLens files) into
//! a [`RawTable`] with polars' CSV reader, after a record scan that finds ragged rows.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use super::guard::guard_reader_panics;
use super::sniff::scan_records;
use crate::data::error::{DataError, first_line};
use crate::data::table::{BadRow, RawTable};

/// How a separator is named in format labels: `tab`, or the character in quotes.
pub fn separator_name(sep: u8) -> String {
    match sep {
        b'\t' => "tab".to_owned(),
        other => format!("'{}'", char::from(other)),
    }
}

/// Reads decoded delimited `text` split on `sep`; `has_header` says whether the first
/// record names the columns (otherwise polars names them `column_1`, …). Rows whose field
/// count differs from the first record's are listed in `bad_rows`. The format label is
/// left empty for the caller.
pub fn read_delimited(path: &Path, text: String, sep: u8, has_header: bool) -> Result<RawTable, DataError> {
    let bytes = text.into_bytes();
    let scan = scan_records(path, &bytes, sep, has_header)?;
    let data_rows = if has_header { scan.records.saturating_sub(1) } else { scan.records };
    if data_rows == 0 {
        return Err(DataError::NoRows { path: path.to_path_buf() });
    }
    let options = CsvReadOptions::default()
        .with_has_header(has_header)
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(true)
        .map_parse_options(|p| {
            p.with_separator(sep)
                .with_quote_char(Some(b'"'))
                .with_truncate_ragged_lines(true)
                .with_missing_is_null(true)
        });
    let frame = guard_reader_panics(|| options.into_reader_with_file_handle(Cursor::new(bytes)).finish())
        .map_err(|panic| DataError::Csv {
            path: path.to_path_buf(),
            detail: format!("the CSV reader failed: {}", first_line(&panic)),
        })?
        .map_err(|e| DataError::Csv { path: path.to_path_buf(), detail: first_line(&e) })?;
    let mut notices = Vec::new();
    if frame.height() != data_rows {
        notices.push(format!(
            "the CSV parser produced {} rows where {} records were counted; row numbers in examples may be off",
            frame.height(),
            data_rows
        ));
    }
    let bad_rows = scan
        .ragged
        .iter()
        .map(|&(row, fields)| (row, BadRow::Ragged { fields, expected: scan.header_fields }))
        .collect();
    Ok(RawTable {
        path: path.to_path_buf(),
        rows: frame.height(),
        frame,
        bad_rows,
        format_label: String::new(),
        notices,
        separator: Some(sep),
    })
}
