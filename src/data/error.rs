//! Fatal data errors: the file cannot be used at all.

use std::path::PathBuf;

/// A problem that makes a whole input file unusable. Row-level problems are not errors:
/// they are counted in the [`ValidationReport`](super::ValidationReport).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The path does not exist.
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    /// The path is a directory.
    #[error("{path}: is a directory, expected a data file")]
    IsDirectory { path: PathBuf },
    /// The path is not a regular file (a FIFO, a device, a socket, a kernel pseudo-file).
    #[error("{path}: is a {kind}, expected a regular file")]
    NotRegularFile { path: PathBuf, kind: &'static str },
    /// The file (or its decompressed content) is larger than RecFuse reads.
    #[error("{path}: {what} is larger than the limit of {limit_mib} MiB (TESTING.md, \"Limits\")")]
    TooLarge { path: PathBuf, what: String, limit_mib: u64 },
    /// The file has no bytes (or only whitespace).
    #[error("{path}: the file is empty, expected a header line and data rows")]
    Empty { path: PathBuf },
    /// The file has a header but no data rows.
    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },
    /// The bytes are not text in a supported encoding (binary or random data).
    #[error("{path}: not a text data file ({detail})")]
    NotText { path: PathBuf, detail: String },
    /// The file extension is not a format RecFuse reads.
    #[error(
        "{path}: unknown file format '{extension}'; expected .csv, .tsv, .txt, .parquet, .jsonl, .ndjson, .json, RecBole .inter/.item/.user, MovieLens u.data/u.item/u.user (optionally .gz)"
    )]
    UnknownFormat { path: PathBuf, extension: String },
    /// A required column role could not be found (or the mapped column does not exist).
    #[error(
        "{path}: no {role} column; expected one of {expected} (columns found: {found}); map it with --map {role_id}=COLUMN"
    )]
    MissingColumn { path: PathBuf, role: String, role_id: String, expected: String, found: String },
    /// A required role was unmapped on purpose (`--map role=` with no column).
    #[error(
        "{path}: the {role} column is required, but `--map {role_id}=` leaves it unmapped; name a column with --map {role_id}=COLUMN (columns found: {found})"
    )]
    RequiredRoleUnmapped { path: PathBuf, role: String, role_id: String, found: String },
    /// Two roles are mapped to the same column.
    #[error(
        "{path}: --map {first}={column} and --map {second}={column} name the same column; one column serves one role"
    )]
    ColumnMappedTwice { path: PathBuf, first: String, second: String, column: String },
    /// A score file (external signal) lacks a required column.
    #[error(
        "{path}: no {role} column; expected one of {expected} (any case, '_' and '-' ignored; columns found: {found})"
    )]
    MissingScoreColumn { path: PathBuf, role: String, expected: String, found: String },
    /// A column override names a column that the file does not have.
    #[error("{path}: --map {role_id}={column}: the file has no column '{column}' (columns found: {found})")]
    MappedColumnAbsent { path: PathBuf, role_id: String, column: String, found: String },
    /// A structural problem at a known place in the file.
    #[error("{path}: row {row}{column_part}: {detail}", column_part = column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
    Malformed { path: PathBuf, row: usize, column: Option<String>, detail: String },
    /// A Parquet file that cannot be read (truncated, not Parquet, unsupported).
    #[error("{path}: cannot read Parquet: {detail}")]
    Parquet { path: PathBuf, detail: String },
    /// A CSV file that the parser rejected.
    #[error("{path}: cannot parse as delimited text: {detail}")]
    Csv { path: PathBuf, detail: String },
    /// Every row of the file was dropped.
    #[error("{path}: no usable rows: {summary}")]
    NothingUsable { path: PathBuf, summary: String },
    /// A compressed file whose compression is broken.
    #[error("{path}: cannot decompress gzip data: {source}")]
    Gzip { path: PathBuf, source: std::io::Error },
    /// Any other I/O failure.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A live source that cannot be followed as it grows (a compressed or Parquet file, a
    /// JSON array, a file without a complete header line).
    #[error("{path}: cannot follow this file: {detail}")]
    CannotFollow { path: PathBuf, detail: String },
    /// A `--map role=column` argument that does not parse.
    #[error("invalid column mapping '{0}': expected role=column with role one of {1}")]
    BadMappingArg(String, String),
}

impl DataError {
    /// Wraps an I/O error for `path`, turning "not found" into [`DataError::NotFound`].
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            Self::NotFound { path: path.to_path_buf() }
        } else {
            Self::Io { path: path.to_path_buf(), source }
        }
    }
}

/// Keeps the first line of a polars error: the rest is a query-plan dump.
pub(crate) fn first_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    text.lines().next().unwrap_or("").trim().to_owned()
}
