//! File formats and path helpers. Detection, sniffing and decoding live in
//! [`read`](super::read); their public items are re-exported here under the paths they
//! have always had.

use std::path::{Path, PathBuf};

pub use super::read::decode::{DecodedText, decode_text, ensure_text, read_bytes};
pub use super::read::sniff::{DetectedFormat, FileFormat, RecordScan, detect_format, scan_records, sniff_separator};

/// The path with its file name only, for short messages.
pub fn short_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Returns `path` made absolute when possible (for reports and sessions).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
