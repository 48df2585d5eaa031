//! The one error type of the embedding engine.

use std::path::PathBuf;

/// Everything that can go wrong while locating, loading or running an embedding model,
/// or while reading and writing the embedding cache. Messages name the file involved and
/// what was expected, so they can be shown to the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model directory does not exist.
    #[error("model directory {} does not exist", .0.display())]
    ModelDirMissing(PathBuf),
    /// A model name could not be found in the Hugging Face cache.
    #[error("model '{name}' is neither a directory nor in the Hugging Face cache (looked in {searched})")]
    ModelNotFound {
        /// The name or path as given.
        name: String,
        /// Where it was looked for.
        searched: String,
    },
    /// A required model file is missing.
    #[error("model file {} is missing: expected {expected}", file.display())]
    MissingFile {
        /// The file that should be there.
        file: PathBuf,
        /// What it should contain.
        expected: &'static str,
    },
    /// A model file exists but cannot be used.
    #[error("model file {} is invalid: {reason}", file.display())]
    InvalidFile {
        /// The bad file.
        file: PathBuf,
        /// What is wrong with it, including what was expected.
        reason: String,
    },
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Tokenisation failed for an input text.
    #[error("tokenisation failed: {0}")]
    Tokenize(String),
    /// The tensor computation failed (device out of memory, driver error, …).
    #[error("embedding computation failed: {0}")]
    Compute(String),
    /// The embedding cache could not be used.
    #[error("embedding cache {}: {reason}", path.display())]
    Cache {
        /// The cache directory or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl From<crate::jobs::Cancelled> for EmbedError {
    fn from(_: crate::jobs::Cancelled) -> Self {
        Self::Cancelled
    }
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        Self::Compute(first_line(&e.to_string()))
    }
}

/// The first line of an error message: candle appends a backtrace when
/// `RUST_BACKTRACE` is set, which is noise for a user-facing message.
pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}
