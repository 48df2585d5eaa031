//! Parquet into a [`RawTable`] with polars, after structural checks that polars itself
//! does not make: the magic bytes, the footer's Thrift encoding, and the value counts that
//! row groups, column chunks and page headers declare.
//!
//! polars trusts the element counts written in the footer's Thrift encoding and reserves
//! memory for that many entries up front; a corrupt count (say two billion row groups in a
//! 1 kB file) makes that reservation fail, and a failed allocation aborts the process —
//! no panic guard can catch it (found by the fuzz targets, see TESTING.md). The footer is
//! therefore walked with the Thrift compact protocol first, refusing any list, set, map or
//! byte string that claims more entries than there are bytes left, and nesting deeper than
//! real footers use.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use super::guard::guard_reader_panics;
use crate::data::error::{DataError, first_line};
use crate::data::table::RawTable;

/// Reads a whole Parquet file's `bytes` (already decompressed); `label_suffix` (`", gzip"`
/// or empty) ends the format label.
pub fn read_parquet(path: &Path, bytes: Vec<u8>, label_suffix: &str) -> Result<RawTable, DataError> {
    let perr = |e: PolarsError| DataError::Parquet { path: path.to_path_buf(), detail: first_line(&e) };
    if !bytes.starts_with(b"PAR1") || !bytes.ends_with(b"PAR1") {
        return Err(DataError::Parquet {
            path: path.to_path_buf(),
            detail: "missing the PAR1 magic bytes at the start or end: the file is truncated or not Parquet".to_owned(),
        });
    }
    let checked = guard_reader_panics(|| check_parquet_value_counts(&bytes));
    match checked {
        Ok(Ok(())) => {}
        Ok(Err(detail)) => return Err(DataError::Parquet { path: path.to_path_buf(), detail }),
        Err(panic) => {
            return Err(DataError::Parquet {
                path: path.to_path_buf(),
                detail: format!("the file is corrupt (the reader stopped: {})", first_line(&panic)),
            });
        }
    }
    let read = guard_reader_panics(|| -> PolarsResult<Result<(DataFrame, Vec<String>), DataError>> {
        let mut reader = ParquetReader::new(Cursor::new(bytes));
        let schema = reader.schema()?;
        let (keep, skipped) = readable_columns(&schema);
        if keep.is_empty() {
            return Ok(Err(DataError::Parquet {
                path: path.to_path_buf(),
                detail: format!("no column RecFuse can read ({})", skipped.join("; ")),
            }));
        }
        let frame = reader.with_projection(Some(keep)).finish()?;
        Ok(Ok((widen_small_integers(frame)?, skipped)))
    });
    let (frame, skipped) = match read {
        Ok(frame) => frame.map_err(perr)??,
        Err(panic) => {
            return Err(DataError::Parquet {
                path: path.to_path_buf(),
                detail: format!(
                    "the file is corrupt or uses a feature RecFuse cannot read (the reader stopped: {})",
                    first_line(&panic)
                ),
            });
        }
    };
    if frame.height() == 0 {
        return Err(DataError::NoRows { path: path.to_path_buf() });
    }
    Ok(RawTable {
        path: path.to_path_buf(),
        rows: frame.height(),
        frame,
        bad_rows: Vec::new(),
        format_label: format!("parquet{label_suffix}"),
        notices: skipped
            .into_iter()
            .map(|what| format!("column {what} skipped: RecFuse does not read this type"))
            .collect(),
        separator: None,
    })
}

/// Whether RecFuse reads a Parquet column of this Arrow type: numbers, booleans, text
/// (plain or dictionary-encoded), dates, timestamps and decimals. Nested, float16, time,
/// duration, interval, binary and extension columns are not.
fn is_readable(dtype: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    match dtype {
        A::Boolean
        | A::Int8
        | A::Int16
        | A::Int32
        | A::Int64
        | A::UInt8
        | A::UInt16
        | A::UInt32
        | A::UInt64
        | A::Float32
        | A::Float64
        | A::Timestamp(..)
        | A::Date32
        | A::Date64
        | A::Utf8
        | A::LargeUtf8
        | A::Utf8View
        | A::Decimal(..)
        | A::Decimal32(..)
        | A::Decimal64(..) => true,
        A::Dictionary(_, values, _) => matches!(**values, A::Utf8 | A::LargeUtf8 | A::Utf8View),
        _ => false,
    }
}

/// The indices of the columns RecFuse reads, and a description (`` `name` (type) ``) of
/// each column skipped.
fn readable_columns(schema: &ArrowSchema) -> (Vec<usize>, Vec<String>) {
    let mut keep = Vec::new();
    let mut skipped = Vec::new();
    for (index, field) in schema.iter_values().enumerate() {
        if is_readable(&field.dtype) {
            keep.push(index);
        } else {
            skipped.push(format!("`{}` ({:?})", field.name, field.dtype));
        }
    }
    (keep, skipped)
}

/// Casts 8- and 16-bit integers (which pandas writes) to 32-bit and decimals to floats,
/// the types the rest of the loader reads.
fn widen_small_integers(mut frame: DataFrame) -> PolarsResult<DataFrame> {
    let names: Vec<(PlSmallStr, DataType)> = frame
        .columns()
        .iter()
        .filter_map(|c| match c.dtype() {
            DataType::Int8 | DataType::Int16 => Some((c.name().clone(), DataType::Int32)),
            DataType::UInt8 | DataType::UInt16 => Some((c.name().clone(), DataType::UInt32)),
            DataType::Decimal(..) => Some((c.name().clone(), DataType::Float64)),
            _ => None,
        })
        .collect();
    for (name, to) in names {
        let cast = frame.column(&name)?.cast(&to)?;
        frame.replace(&name, cast)?;
    }
    Ok(frame)
}

/// The most values one Parquet row group or column chunk may declare (far beyond what fits in
/// memory on a desktop anyway).
const MAX_PARQUET_VALUES: u64 = 500_000_000;

/// Checks the value counts a Parquet file declares — row groups, column chunks and every page
/// header — before polars decodes it: polars trusts them and reserves memory for that many
/// values, so a negative or absurd count aborts the whole process with a failed allocation,
/// which no panic guard can catch (found by the `catalogue` fuzz target).
fn check_parquet_value_counts(bytes: &[u8]) -> Result<(), String> {
    use polars_parquet::parquet::page::CompressedPage;
    use polars_parquet::parquet::read::{get_page_iterator, read_metadata};
    check_footer(bytes)?;
    let corrupt = |what: String| format!("the file is corrupt ({what})");
    let metadata = read_metadata(&mut Cursor::new(bytes)).map_err(|e| corrupt(first_line(&e)))?;
    let buffer = polars_buffer::Buffer::from(bytes.to_vec());
    for (g, group) in metadata.row_groups.iter().enumerate() {
        let rows = group.num_rows() as u64;
        if rows > MAX_PARQUET_VALUES {
            return Err(corrupt(format!("row group {g} declares {} rows", group.num_rows() as i64)));
        }
        for column in group.parquet_columns() {
            let name = column.descriptor().path_in_schema.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(".");
            let declared = column.num_values();
            if !(0..=MAX_PARQUET_VALUES as i64).contains(&declared) {
                return Err(corrupt(format!("column `{name}` in row group {g} declares {declared} values")));
            }
            let pages = get_page_iterator(column, Cursor::new(buffer.clone()), Vec::new(), usize::MAX)
                .map_err(|e| corrupt(first_line(&e)))?;
            for page in pages {
                let page = page.map_err(|e| corrupt(format!("column `{name}`: {}", first_line(&e))))?;
                if let CompressedPage::Data(data) = page
                    && data.num_values() as u64 > declared as u64
                {
                    return Err(corrupt(format!(
                        "a page of column `{name}` declares {} values, the column {declared}",
                        data.num_values() as i64 as i32
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Nesting deeper than this is refused (real Parquet footers nest a handful of levels).
const MAX_DEPTH: usize = 64;

/// Checks the Thrift encoding of the footer of `file` (a whole Parquet file, `PAR1` at both
/// ends). Returns a sentence saying what is wrong.
fn check_footer(file: &[u8]) -> Result<(), String> {
    let len = file.len();
    let length_bytes = file
        .get(len.saturating_sub(8)..len.saturating_sub(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or_else(|| "the file is too short to hold a footer".to_owned())?;
    let footer_len = u32::from_le_bytes(length_bytes) as usize;
    let end = len.saturating_sub(8);
    let start = end
        .checked_sub(footer_len)
        .filter(|&s| s >= 4)
        .ok_or_else(|| format!("the footer claims {footer_len} bytes, more than the file holds"))?;
    let footer = file.get(start..end).ok_or_else(|| "the footer is out of range".to_owned())?;
    let mut walker = Walker { bytes: footer, at: 0 };
    walker.skip_struct(0).map_err(|what| format!("the footer is corrupt ({what} at footer byte {})", walker.at))
}

/// A cursor over Thrift compact-protocol bytes that skips values, checking sizes.
struct Walker<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Walker<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = self.bytes.get(self.at).copied().ok_or_else(|| "unexpected end".to_owned())?;
        self.at += 1;
        Ok(b)
    }

    fn advance(&mut self, n: usize) -> Result<(), String> {
        if n > self.remaining() {
            return Err(format!("a value of {n} bytes with {} left", self.remaining()));
        }
        self.at += n;
        Ok(())
    }

    /// An unsigned LEB128 varint (at most 10 bytes).
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 10 bytes".to_owned())
    }

    /// A count that must fit in the bytes left, `min_bytes` per element.
    fn count(&mut self, raw: u64, min_bytes: usize) -> Result<usize, String> {
        let limit = self.remaining() / min_bytes.max(1);
        usize::try_from(raw)
            .ok()
            .filter(|&n| n <= limit)
            .ok_or_else(|| format!("a count of {raw} with {} bytes left", self.remaining()))
    }

    fn skip_struct(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        loop {
            let header = self.byte()?;
            let kind = header & 0x0f;
            if kind == 0 {
                return Ok(());
            }
            if header >> 4 == 0 {
                // The field id follows as a zigzag varint.
                self.varint()?;
            }
            match kind {
                // Booleans carry their value in the type nibble.
                1 | 2 => {}
                _ => self.skip_value(kind, depth)?,
            }
        }
    }

    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<(), String> {
        match kind {
            1..=3 => self.advance(1),
            4..=6 => self.varint().map(drop),
            7 => self.advance(8),
            8 => {
                let raw = self.varint()?;
                let n = self.count(raw, 1)?;
                self.advance(n)
            }
            9 | 10 => {
                let header = self.byte()?;
                let element = header & 0x0f;
                let raw = match header >> 4 {
                    15 => self.varint()?,
                    small => u64::from(small),
                };
                let n = self.count(raw, 1)?;
                (0..n).try_for_each(|_| self.skip_value(element, depth + 1))
            }
            11 => {
                let raw = self.varint()?;
                let n = self.count(raw, 2)?;
                if n == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                (0..n).try_for_each(|_| {
                    self.skip_value(types >> 4, depth + 1)?;
                    self.skip_value(types & 0x0f, depth + 1)
                })
            }
            12 => self.skip_struct(depth + 1),
            13 => self.advance(16),
            other => Err(format!("unknown Thrift type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PAR1`, then the footer bytes, their length and `PAR1`.
    fn file_with_footer(footer: &[u8]) -> Vec<u8> {
        let mut file = b"PAR1".to_vec();
        file.extend_from_slice(footer);
        file.extend_from_slice(&(footer.len() as u32).to_le_bytes());
        file.extend_from_slice(b"PAR1");
        file
    }

    #[test]
    fn a_well_formed_footer_passes() {
        // Struct: field 1 i32 = 1 (0x15 0x02), field 2 list<binary> of 2 ("a", "bc")
        // (0x19 0x28 | 1 "a" | 2 "bc"), field 3 bool true (0x11), nested struct field 4 with
        // field 1 i64 = 3 (0x1c | 0x16 0x06 | stop), stop.
        let footer = [0x15, 0x02, 0x19, 0x28, 0x01, b'a', 0x02, b'b', b'c', 0x11, 0x1c, 0x16, 0x06, 0x00, 0x00];
        assert_eq!(check_footer(&file_with_footer(&footer)), Ok(()));
    }

    #[test]
    fn a_list_longer_than_the_footer_is_refused() {
        // Field 4 list<struct> with size 2^31 - 1 written as a varint after the 0xf nibble.
        let footer = [0x49, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00];
        let err = check_footer(&file_with_footer(&footer)).unwrap_err();
        assert!(err.contains("count of 2147483647"), "{err}");
    }

    #[test]
    fn a_string_longer_than_the_footer_is_refused_and_truncation_is_caught() {
        let err = check_footer(&file_with_footer(&[0x18, 0x80, 0x08, b'x', 0x00])).unwrap_err();
        assert!(err.contains("count of 1024"), "{err}");
        let err = check_footer(&file_with_footer(&[0x15])).unwrap_err();
        assert!(err.contains("unexpected end"), "{err}");
        let err = check_footer(b"PAR1\xff\xff\x00\x00PAR1").unwrap_err();
        assert!(err.contains("65535 bytes"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let mut footer = vec![0x1c; 10_000];
        footer.extend(vec![0x00; 10_001]);
        let err = check_footer(&file_with_footer(&footer)).unwrap_err();
        assert!(err.contains("nesting deeper than 64"), "{err}");
    }
}
