//! Reading any supported file into a [`RawTable`]: the file's columns as polars data,
//! plus what the reader noticed (ragged rows, malformed lines, encoding).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::error::{DataError, first_line};
use super::format::{
    DetectedFormat, FileFormat, detect_format, ensure_text, read_bytes, scan_records, sniff_separator,
};
use super::jsonl::read_json_records;

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
}

/// Why a whole row could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum BadRow {
    /// Field count differs from the header.
    Ragged { fields: usize, expected: usize },
    /// A JSON line that does not parse.
    Json { detail: String },
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

/// MovieLens 100K genre names, in the order of the 19 flags of `u.item`.
pub const MOVIELENS_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// Reads any supported file. Fatal problems are errors; row problems are recorded in
/// the returned table's `bad_rows` for the validator to count.
pub fn read_table(path: &Path) -> Result<RawTable, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.is_dir() {
        return Err(DataError::IsDirectory { path: path.to_path_buf() });
    }
    let detected = detect_format(path)?;
    let bytes = read_bytes(path, detected.gzip)?;
    let gz = if detected.gzip { ", gzip" } else { "" };
    match detected.format {
        FileFormat::Parquet => read_parquet(path, bytes, &detected),
        FileFormat::JsonLines => {
            let (bytes, notice) = ensure_text(path, bytes)?;
            let mut table = read_json_records(path, &bytes)?;
            table.format_label = format!("json lines{gz}");
            table.notices.extend(notice);
            Ok(table)
        }
        FileFormat::Delimited | FileFormat::RecBole => {
            let (bytes, notice) = ensure_text(path, bytes)?;
            let sep = if detected.format == FileFormat::RecBole { b'\t' } else { sniff_separator(&bytes) };
            let mut table = read_delimited(path, bytes, sep, true)?;
            let kind = if detected.format == FileFormat::RecBole { "recbole" } else { "csv" };
            table.format_label = format!("{kind}, {} separated{gz}", separator_name(sep));
            table.notices.extend(notice);
            Ok(table)
        }
        FileFormat::MovieLensData => {
            let (bytes, notice) = ensure_text(path, bytes)?;
            let mut table = read_delimited(path, bytes, b'\t', false)?;
            rename_positional(&mut table, &["user_id", "item_id", "rating", "timestamp"]);
            table.format_label = format!("movielens u.data, tab separated{gz}");
            table.notices.extend(notice);
            Ok(table)
        }
        FileFormat::MovieLensUser => {
            let (bytes, notice) = ensure_text(path, bytes)?;
            let mut table = read_delimited(path, bytes, b'|', false)?;
            rename_positional(&mut table, &["user_id", "age", "gender", "occupation", "zip_code"]);
            table.format_label = format!("movielens u.user, '|' separated{gz}");
            table.notices.extend(notice);
            Ok(table)
        }
        FileFormat::MovieLensItem => {
            let (bytes, notice) = ensure_text(path, bytes)?;
            let mut table = read_delimited(path, bytes, b'|', false)?;
            movielens_items(&mut table);
            table.format_label = format!("movielens u.item, '|' separated{gz}");
            table.notices.extend(notice);
            Ok(table)
        }
    }
}

fn separator_name(sep: u8) -> String {
    match sep {
        b'\t' => "tab".to_owned(),
        other => format!("'{}'", char::from(other)),
    }
}

fn rename_positional(table: &mut RawTable, names: &[&str]) {
    let old = table.column_names();
    for (old_name, new_name) in old.iter().zip(names) {
        let _ = table.frame.rename(old_name, (*new_name).into());
    }
}

/// Turns the 24 positional `u.item` columns into item_id, title, release_date, imdb_url
/// and a `genres` column (`Action|Comedy`) built from the 19 flags.
fn movielens_items(table: &mut RawTable) {
    let names = table.column_names();
    let text_col = |i: usize| -> Vec<Option<String>> {
        names
            .get(i)
            .and_then(|n| table.cells(n))
            .map(|cells| cells.iter().map(|c| c.as_text().map(|t| t.into_owned())).collect())
            .unwrap_or_else(|| vec![None; table.frame.height()])
    };
    let ids = text_col(0);
    let titles = text_col(1);
    let released = text_col(2);
    let urls = text_col(4);
    let flags: Vec<Vec<Option<String>>> = (5..24).map(text_col).collect();
    let genres: Vec<Option<String>> = (0..table.frame.height())
        .map(|row| {
            let picked: Vec<&str> = MOVIELENS_GENRES
                .iter()
                .zip(&flags)
                .filter(|(_, col)| col.get(row).and_then(|v| v.as_deref()) == Some("1"))
                .map(|(g, _)| *g)
                .collect();
            (!picked.is_empty()).then(|| picked.join("|"))
        })
        .collect();
    let columns = vec![
        Column::new("item_id".into(), ids),
        Column::new("title".into(), titles),
        Column::new("release_date".into(), released),
        Column::new("imdb_url".into(), urls),
        Column::new("genres".into(), genres),
    ];
    if let Ok(frame) = DataFrame::new(table.frame.height(), columns) {
        table.frame = frame;
    }
}

fn read_delimited(path: &Path, bytes: Vec<u8>, sep: u8, has_header: bool) -> Result<RawTable, DataError> {
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
    })
}

thread_local! {
    /// Whether this thread is inside [`guard_reader_panics`].
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many [`guard_reader_panics`] calls are running, on any thread.
static ACTIVE_GUARDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs a third-party reader that may panic on malformed input (polars' Parquet reader
/// `expect`s well-formed Thrift, and panics on column types this build leaves out) and
/// turns such a panic into `Err(message)`.
///
/// The panic hook is wrapped once so that a guarded panic is not printed as if the
/// program had crashed: one on this thread, or on a polars worker thread while a guarded
/// read runs (rayon hands that panic back to the caller, where it is caught here).
/// Other panics still reach the previous hook.
fn guard_reader_panics<T>(read: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::atomic::Ordering;
    static WRAP_HOOK: std::sync::Once = std::sync::Once::new();
    WRAP_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_worker = ACTIVE_GUARDS.load(Ordering::SeqCst) > 0
                && std::thread::current().name().is_some_and(|n| n.starts_with("polars"));
            if !GUARDED.with(std::cell::Cell::get) && !on_worker {
                previous(info);
            }
        }));
    });
    ACTIVE_GUARDS.fetch_add(1, Ordering::SeqCst);
    let was_guarded = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(was_guarded));
    ACTIVE_GUARDS.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| crate::jobs::panic_message(payload.as_ref()))
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
    super::parquet_check::check_footer(bytes)?;
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

fn read_parquet(path: &Path, bytes: Vec<u8>, detected: &DetectedFormat) -> Result<RawTable, DataError> {
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
    let read = guard_reader_panics(|| {
        let mut reader = ParquetReader::new(Cursor::new(bytes));
        reader.schema()?;
        reader.finish()
    });
    let frame = match read {
        Ok(frame) => frame.map_err(perr)?,
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
        format_label: format!("parquet{}", if detected.gzip { ", gzip" } else { "" }),
        notices: Vec::new(),
    })
}
