//! Shared by the file-loading fuzz targets: one scratch directory per process, and the
//! file name chosen from the first input byte.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Extensions the loaders are fuzzed with. `csv.gz` appears twice: once with the fuzz
/// bytes compressed (the CSV reader sees them), once raw (the gzip decoder sees them).
const EXTENSIONS: [&str; 6] = ["csv", "tsv", "jsonl", "parquet", "csv.gz", "csv.gz"];

/// A directory that lives as long as the fuzzing process.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("recfuse-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

/// Writes `data[1..]` to `<stem>.<ext>` in the scratch directory, the extension picked
/// by `data[0]`, and returns the path (`None` for an empty input).
pub fn write_input(stem: &str, data: &[u8]) -> Option<PathBuf> {
    let (&selector, body) = data.split_first()?;
    let choice = usize::from(selector) % EXTENSIONS.len();
    let ext = EXTENSIONS.get(choice).copied().unwrap_or("csv");
    let path = scratch_dir().join(format!("{stem}.{ext}"));
    let bytes = if choice == 4 {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(body).ok()?;
        encoder.finish().ok()?
    } else {
        body.to_vec()
    };
    std::fs::write(&path, bytes).ok()?;
    Some(path)
}
