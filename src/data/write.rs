//! Writing plain columnar tables to Parquet, batch by batch (used by the synthetic data
//! generator of `recfuse bench generate`). Input files are never written: this only
//! creates new files.

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
}

impl OutColumn {
    fn into_column(self) -> Column {
        match self {
            OutColumn::Text(name, v) => Column::new(name.into(), v),
            OutColumn::Int(name, v) => Column::new(name.into(), v),
            OutColumn::Float(name, v) => Column::new(name.into(), v),
        }
    }

    fn len(&self) -> usize {
        match self {
            OutColumn::Text(_, v) => v.len(),
            OutColumn::Int(_, v) => v.len(),
            OutColumn::Float(_, v) => v.len(),
        }
    }
}

/// A Parquet file written one batch (row group) at a time; every batch must have the
/// same columns as the first.
pub struct ParquetTableWriter {
    path: PathBuf,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    rows: usize,
}

impl ParquetTableWriter {
    /// Creates (or truncates) `path`; nothing is written until the first batch.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        Ok(Self { path: path.to_path_buf(), writer: None, rows: 0 })
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
            let file =
                File::create(&self.path).map_err(|source| WriteError::Create { path: self.path.clone(), source })?;
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

    /// Finishes the file; returns the number of rows written.
    pub fn finish(self) -> Result<usize, WriteError> {
        match &self.writer {
            Some(w) => {
                w.finish().map_err(|e| self.err(e))?;
                Ok(self.rows)
            }
            None => Err(self.err("no rows written")),
        }
    }
}
