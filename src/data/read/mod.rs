//! Reading any supported file into a [`RawTable`], in one pass: the format is detected
//! from the file name, the bytes are read (and decompressed) once, text formats are
//! checked and decoded as text once, and the bytes or text go to exactly one reader.
//!
//! - [`sniff`]: format detection, separator sniffing and the record scan;
//! - [`decode`]: reading the bytes and decoding them as text;
//! - [`delimited`], [`movielens`], [`jsonl`], [`parquet`]: one reader per layout.
//!
//! Readers import the table types from [`table`](crate::data::table) and never each
//! other's dispatch: the one entry point is [`read_table`].

pub mod decode;
pub mod delimited;
mod guard;
pub mod jsonl;
pub mod movielens;
pub mod parquet;
pub mod sniff;

use std::path::Path;

pub use decode::read_regular_text;
use decode::{DecodedText, decode_text, read_file_bytes};
use delimited::{read_delimited, separator_name};
use sniff::{FileFormat, detect_format, sniff_separator};

use crate::data::error::DataError;
use crate::data::table::RawTable;

/// Reads any supported file. Fatal problems are errors; row problems are recorded in
/// the returned table's `bad_rows` for the validator to count.
pub fn read_table(path: &Path) -> Result<RawTable, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    decode::check_regular(path, &meta)?;
    let detected = detect_format(path)?;
    let bytes = read_file_bytes(path, &meta, detected.gzip)?;
    let gz = if detected.gzip { ", gzip" } else { "" };
    match detected.format {
        FileFormat::Parquet => parquet::read_parquet(path, bytes, gz),
        FileFormat::JsonLines => {
            read_text(path, bytes, |text| labelled(jsonl::read_json_text(path, &text), format!("json lines{gz}")))
        }
        FileFormat::Delimited => read_text(path, bytes, |text| {
            let sep = sniff_separator(text.as_bytes());
            labelled(read_delimited(path, text, sep, true), format!("csv, {} separated{gz}", separator_name(sep)))
        }),
        FileFormat::RecBole => read_text(path, bytes, |text| {
            labelled(read_delimited(path, text, b'\t', true), format!("recbole, tab separated{gz}"))
        }),
        FileFormat::MovieLensData => read_text(path, bytes, |text| {
            labelled(movielens::read_ratings(path, text), format!("movielens u.data, tab separated{gz}"))
        }),
        FileFormat::MovieLensUser => read_text(path, bytes, |text| {
            labelled(movielens::read_users(path, text), format!("movielens u.user, '|' separated{gz}"))
        }),
        FileFormat::MovieLensItem => read_text(path, bytes, |text| {
            labelled(movielens::read_items(path, text), format!("movielens u.item, '|' separated{gz}"))
        }),
    }
}

/// Decodes `bytes` as text — the only place a file's text is decoded — and reads the text
/// with `read`. The decoding notice (Latin-1) follows the reader's own notices.
fn read_text(
    path: &Path,
    bytes: Vec<u8>,
    read: impl FnOnce(String) -> Result<RawTable, DataError>,
) -> Result<RawTable, DataError> {
    let DecodedText { text, notice } = decode_text(path, bytes)?;
    let mut table = read(text)?;
    table.notices.extend(notice);
    Ok(table)
}

/// Sets the format label of a table just read.
fn labelled(read: Result<RawTable, DataError>, label: String) -> Result<RawTable, DataError> {
    read.map(|table| RawTable { format_label: label, ..table })
}
