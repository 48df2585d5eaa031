//! Looking at a file before reading it: its format from the file name, the field
//! separator of delimited text, and a record scan that finds ragged rows and unclosed
//! quotes the way a CSV parser would see them.

use std::path::Path;

use crate::data::error::DataError;

/// How a file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFormat {
    /// Delimited text with a header line (CSV, TSV, `.txt`); the separator is sniffed.
    Delimited,
    /// Apache Parquet.
    Parquet,
    /// JSON Lines (one object per line) or a JSON array of objects.
    JsonLines,
    /// RecBole atomic file (`.inter`, `.item`, `.user`): tab-separated, `name:type` header.
    RecBole,
    /// MovieLens 100K `u.data`: tab-separated `user item rating timestamp`, no header.
    MovieLensData,
    /// MovieLens 100K `u.item`: `|`-separated movie rows with 19 genre flags, no header.
    MovieLensItem,
    /// MovieLens 100K `u.user`: `|`-separated `user age gender occupation zip`, no header.
    MovieLensUser,
}

impl FileFormat {
    /// Short label for reports.
    pub fn label(&self) -> &'static str {
        match self {
            FileFormat::Delimited => "delimited text",
            FileFormat::Parquet => "parquet",
            FileFormat::JsonLines => "json lines",
            FileFormat::RecBole => "recbole atomic file",
            FileFormat::MovieLensData => "movielens u.data",
            FileFormat::MovieLensItem => "movielens u.item",
            FileFormat::MovieLensUser => "movielens u.user",
        }
    }
}

/// A detected format and whether the file is gzip-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedFormat {
    /// The layout.
    pub format: FileFormat,
    /// Whether the bytes are gzip-compressed (`.gz`).
    pub gzip: bool,
}

/// Detects the format from the file name (an explicit choice is not guessed at).
pub fn detect_format(path: &Path) -> Result<DetectedFormat, DataError> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let (stem, gzip) = match name.strip_suffix(".gz") {
        Some(s) => (s.to_owned(), true),
        None => (name.clone(), false),
    };
    let format = match stem.as_str() {
        "u.data" => FileFormat::MovieLensData,
        "u.item" => FileFormat::MovieLensItem,
        "u.user" => FileFormat::MovieLensUser,
        _ => {
            let ext = stem.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
            match ext {
                "csv" | "tsv" | "txt" | "tab" | "dat" => FileFormat::Delimited,
                "parquet" | "pq" => FileFormat::Parquet,
                "jsonl" | "ndjson" | "json" => FileFormat::JsonLines,
                "inter" | "item" | "user" => FileFormat::RecBole,
                other => {
                    return Err(DataError::UnknownFormat {
                        path: path.to_path_buf(),
                        extension: if other.is_empty() { name } else { other.to_owned() },
                    });
                }
            }
        }
    };
    Ok(DetectedFormat { format, gzip })
}

/// Picks the field separator from the first lines: the candidate (`,` `\t` `;` `|`) that
/// appears outside quotes the same non-zero number of times on most lines.
pub fn sniff_separator(bytes: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut line_has_content = false;
    for &b in bytes.iter().take(256 * 1024) {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if line_has_content {
                    lines.push(counts);
                }
                counts = [0; 4];
                line_has_content = false;
                if lines.len() >= 50 {
                    break;
                }
            }
            _ if !in_quotes => {
                if let Some(c) = CANDIDATES.iter().position(|&c| c == b).and_then(|i| counts.get_mut(i)) {
                    *c += 1;
                }
                if !b.is_ascii_whitespace() {
                    line_has_content = true;
                }
            }
            _ => {}
        }
    }
    if line_has_content {
        lines.push(counts);
    }
    let mut best = (b',', 0usize, 0usize);
    for (i, &sep) in CANDIDATES.iter().enumerate() {
        let header = lines.first().and_then(|l| l.get(i)).copied().unwrap_or(0);
        if header == 0 {
            continue;
        }
        let consistent = lines.iter().filter(|l| l.get(i).copied() == Some(header)).count();
        if consistent > best.1 || (consistent == best.1 && header > best.2) {
            best = (sep, consistent, header);
        }
    }
    best.0
}

/// Where each record of a delimited file starts and how many fields it has.
#[derive(Debug, Clone, Default)]
pub struct RecordScan {
    /// Field count of the first record (the header, when there is one).
    pub header_fields: usize,
    /// Number of non-empty records, header included.
    pub records: usize,
    /// Records whose field count differs from the header: (0-based data row, fields).
    pub ragged: Vec<(usize, usize)>,
    /// Whether any quoted field spans several lines.
    pub multiline_fields: bool,
}

/// The longest record (line, or quoted multi-line record) a delimited file may have: 16 MiB.
/// Longer ones are refused naming the row, before the CSV parser sees them.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Scans delimited text like a CSV parser would (RFC 4180 quotes), without building
/// fields: counts fields per record, finds ragged rows and unclosed quotes.
/// `has_header` decides whether data rows start at the second record.
pub fn scan_records(path: &Path, bytes: &[u8], separator: u8, has_header: bool) -> Result<RecordScan, DataError> {
    let mut scan = RecordScan::default();
    let mut fields = 1usize;
    let mut in_quotes = false;
    let mut at_field_start = true;
    let mut record_empty = true;
    let mut quote_open_line = 0usize;
    let mut line = 1usize;
    let mut record_start_line = 1usize;
    let mut record_start = 0usize;
    let finish = |fields: usize, empty: bool, scan: &mut RecordScan| {
        if empty {
            return;
        }
        if scan.records == 0 {
            scan.header_fields = fields;
            if !has_header {
                scan.records = 1;
                return;
            }
        } else if fields != scan.header_fields {
            let row = if has_header { scan.records } else { scan.records + 1 };
            scan.ragged.push((row - 1, fields));
        }
        scan.records += 1;
    };
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if i - record_start > MAX_RECORD_BYTES {
            let row = if has_header { scan.records } else { scan.records + 1 };
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                row,
                column: None,
                detail: format!(
                    "the record starting on line {record_start_line} is longer than {} MiB, the most one row may have",
                    MAX_RECORD_BYTES >> 20
                ),
            });
        }
        if in_quotes {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                    let next = bytes
                        .get(i + 1..)
                        .unwrap_or(&[])
                        .iter()
                        .find(|&&b| b == separator || (b != b' ' && b != b'\t'));
                    if let Some(&next) = next
                        && next != separator
                        && next != b'\n'
                        && next != b'\r'
                        && next != b'"'
                    {
                        return Err(text_after_closing_quote(path, &scan, has_header, line, fields, bytes, i));
                    }
                }
            } else if b == b'\n' {
                line += 1;
                scan.multiline_fields = true;
            }
        } else if b == b'"' && at_field_start {
            in_quotes = true;
            quote_open_line = line;
            record_empty = false;
            at_field_start = false;
        } else if b == separator {
            fields += 1;
            at_field_start = true;
            record_empty = false;
        } else if b == b'\n' {
            finish(fields, record_empty, &mut scan);
            fields = 1;
            at_field_start = true;
            record_empty = true;
            line += 1;
            record_start_line = line;
            record_start = i + 1;
        } else if b != b'\r' {
            at_field_start = false;
            record_empty = false;
            i = unquoted_field_last(bytes, i, separator, record_start);
        }
        i += 1;
    }
    if in_quotes {
        let row = if has_header { scan.records } else { scan.records + 1 };
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            row,
            column: None,
            detail: format!(
                "a quoted field opened on line {quote_open_line} (record starting on line {record_start_line}) is never closed"
            ),
        });
    }
    finish(fields, record_empty, &mut scan);
    Ok(scan)
}

/// The last byte of the plain text that byte `i` of an unquoted field starts: the rest of
/// the field changes nothing until the next separator or line end (a quote or `\r` inside it
/// is plain text), so the scan goes on after it — but no further than the byte where the
/// record-length check must fire for the record starting at `record_start`.
fn unquoted_field_last(bytes: &[u8], i: usize, separator: u8, record_start: usize) -> usize {
    let limit = record_start.saturating_add(MAX_RECORD_BYTES + 1);
    let rest = bytes.get(i + 1..limit.min(bytes.len())).unwrap_or(&[]);
    memchr::memchr2(separator, b'\n', rest).map_or(i + rest.len(), |k| i + k)
}

/// The error for a quoted field with text after its closing quote (`"Pla"te`).
fn text_after_closing_quote(
    path: &Path,
    scan: &RecordScan,
    has_header: bool,
    line: usize,
    field: usize,
    bytes: &[u8],
    quote_at: usize,
) -> DataError {
    let row = if has_header { scan.records } else { scan.records + 1 };
    let rest: String = bytes
        .get(quote_at + 1..)
        .unwrap_or(&[])
        .iter()
        .take_while(|&&b| b != b'\n' && b != b'\r')
        .take(20)
        .map(|&b| char::from(b))
        .collect();
    DataError::Malformed {
        path: path.to_path_buf(),
        row,
        column: None,
        detail: format!(
            "line {line}, field {field}: text after the closing quote (`\"…\"{rest}`); a quoted field must end at \
             its closing quote — write a quote inside a field as two quotes (\"\")"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff_separator(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_separator(b"a\tb\tc\n1\t2,5\t3\n"), b'\t');
        assert_eq!(sniff_separator(b"a;b\n\"x;y\";2\n"), b';');
        assert_eq!(sniff_separator(b"a|b|c\n1|2|3\n"), b'|');
    }

    #[test]
    fn scanning() {
        let p = Path::new("t.csv");
        let s = scan_records(p, b"a,b\n1,2\n3\n\"x\ny\",4\n5,6,7\n", b',', true).ok();
        let s = s.unwrap_or_default();
        assert_eq!(s.header_fields, 2);
        assert_eq!(s.records, 5);
        assert_eq!(s.ragged, vec![(1, 1), (3, 3)]);
        assert!(s.multiline_fields);
        let err = scan_records(p, b"a,b\n1,\"open\n2,3\n", b',', true);
        assert!(matches!(err, Err(DataError::Malformed { row: 1, .. })));
        // Row 2 (line 3), field 2: `"Pla"te`.
        let err = scan_records(p, b"a,b\n1,x\n2,\"Pla\"te\n3,y\n", b',', true).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("row 2") && err.contains("line 3, field 2"), "{err}");
        // A doubled quote inside a quoted field and a quote closing at the separator are fine.
        assert!(scan_records(p, b"a,b\n1,\"say \"\"hi\"\"\",2\n", b',', true).is_ok());
        assert!(scan_records(p, b"a\tb\n\"x\"\ty\n", b'\t', true).is_ok());
    }
}
