//! Writing plain columnar tables to Parquet, batch by batch (used by the synthetic data
//! generator of `recfuse bench generate` and by `recfuse batch`). Input files are never
//! written: this only creates new files, and [`ParquetTableWriter::create_atomic`] writes
//! to a temporary file beside the target that replaces it only when the file is complete.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file could not be created.
    #[error("{path}: cannot create: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Parquet encoding failed, or a batch did not match the first one's columns.
    #[error("{path}: cannot write Parquet: {detail}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// One named column of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum OutColumn {
    /// Text values.
    Text(&'static str, Vec<String>),
    /// 64-bit integers.
    Int(&'static str, Vec<i64>),
    /// 64-bit floats.
    Float(&'static str, Vec<f64>),
    /// 32-bit floats under a name chosen at run time (one column per signal): the engine's
    /// scores are `f32`, so they are written without conversion.
    Float32(String, Vec<f32>),
}

impl OutColumn {
    fn into_column(self) -> Column {
        match self {
            OutColumn::Text(name, v) => Column::new(name.into(), v),
            OutColumn::Int(name, v) => Column::new(name.into(), v),
            OutColumn::Float(name, v) => Column::new(name.into(), v),
            OutColumn::Float32(name, v) => Column::new(name.into(), v),
        }
    }

    fn len(&self) -> usize {
        match self {
            OutColumn::Text(_, v) => v.len(),
            OutColumn::Int(_, v) => v.len(),
            OutColumn::Float(_, v) => v.len(),
            OutColumn::Float32(_, v) => v.len(),
        }
    }
}

/// A Parquet file written one batch (row group) at a time; every batch must have the
/// same columns as the first.
pub struct ParquetTableWriter {
    path: PathBuf,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    rows: usize,
    /// With [`Self::create_atomic`]: the temporary file the batches go to, renamed onto
    /// `path` by [`Self::finish`] (and removed if the writer is dropped before).
    temporary: Option<tempfile::NamedTempFile>,
}

impl ParquetTableWriter {
    /// Creates (or truncates) `path`; nothing is written until the first batch.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        Ok(Self { path: path.to_path_buf(), writer: None, rows: 0, temporary: None })
    }

    /// Writes to a temporary file in `path`'s folder; [`Self::finish`] renames it onto
    /// `path`, so an existing file there is replaced only by a complete one, and a failed or
    /// cancelled write leaves it untouched (the temporary file is removed).
    pub fn create_atomic(path: &Path) -> Result<Self, WriteError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|source| WriteError::Create { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), writer: None, rows: 0, temporary: Some(temporary) })
    }

    fn open_file(&self) -> Result<File, WriteError> {
        let created = match &self.temporary {
            Some(t) => t.as_file().try_clone(),
            None => File::create(&self.path),
        };
        created.map_err(|source| WriteError::Create { path: self.path.clone(), source })
    }

    fn err(&self, e: impl std::fmt::Display) -> WriteError {
        WriteError::Parquet { path: self.path.clone(), detail: e.to_string() }
    }

    /// Appends one batch of equally long columns.
    pub fn write(&mut self, columns: Vec<OutColumn>) -> Result<(), WriteError> {
        let height = columns.first().map_or(0, OutColumn::len);
        if columns.iter().any(|c| c.len() != height) {
            return Err(self.err("columns of a batch differ in length"));
        }
        let frame = DataFrame::new(height, columns.into_iter().map(OutColumn::into_column).collect())
            .map_err(|e| self.err(e))?;
        if self.writer.is_none() {
            let file = self.open_file()?;
            let writer = ParquetWriter::new(file).batched(frame.schema()).map_err(|e| self.err(e))?;
            self.writer = Some(writer);
        }
        let result = match self.writer.as_mut() {
            Some(w) => w.write_batch(&frame),
            None => return Err(self.err("writer not open")),
        };
        result.map_err(|e| self.err(e))?;
        self.rows += height;
        Ok(())
    }

    /// Finishes the file (and, after [`Self::create_atomic`], renames it onto the target);
    /// returns the number of rows written.
    pub fn finish(self) -> Result<usize, WriteError> {
        match &self.writer {
            Some(w) => {
                w.finish().map_err(|e| self.err(e))?;
            }
            None => return Err(self.err("no rows written")),
        }
        if let Some(t) = self.temporary {
            t.as_file().sync_all().map_err(|source| WriteError::Create { path: self.path.clone(), source })?;
            t.persist(&self.path).map_err(|e| WriteError::Create { path: self.path.clone(), source: e.error })?;
        }
        Ok(self.rows)
    }
}
