//! Following a behaviour source as it grows: a delimited or JSON Lines file that rows are
//! appended to, or a folder that new files arrive in.
//!
//! A [`Follower`] remembers how far it has read (a byte offset for a file, the names of the
//! files already read for a folder) and reads only what is new. A half-written last line is
//! held back until its newline arrives; a file that shrank, was replaced (another inode) or
//! whose first bytes changed is reported as [`FollowEvent::Reset`] so that the caller
//! reloads it. The new rows are parsed by the same readers as the initial load
//! ([`read_delimited`](super::read::delimited::read_delimited),
//! [`read_json_text`](super::read::jsonl::read_json_text), [`read_table`](super::read_table))
//! and built into events by [`build_batch`](super::build_batch), with the same mapping
//! and validation report. Watched files are only ever opened for reading.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::read::decode::{check_regular, decode_text};
use super::read::delimited::read_delimited;
use super::read::jsonl::read_json_text;
use super::read::sniff::{FileFormat, MAX_RECORD_BYTES, detect_format, sniff_separator};
use super::table::RawTable;

/// How often a live source is checked for new data.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// The most new bytes read from a followed file in one poll (the rest is read next time).
pub const MAX_BATCH_BYTES: u64 = 64 << 20;

/// How many leading bytes identify a followed file (a rewrite changes them).
const HEAD_BYTES: usize = 256;

/// New complete rows of a followed source, read into a table.
pub struct NewRows {
    /// The rows.
    pub table: RawTable,
    /// The file they came from.
    pub source: PathBuf,
    /// Data rows of that file read before these (their row numbers start after it).
    pub rows_before: usize,
    /// Bytes consumed.
    pub bytes: u64,
}

/// What a poll found.
pub enum FollowEvent {
    /// New rows.
    Rows(NewRows),
    /// The followed file was truncated or replaced: its content must be loaded again.
    Reset {
        /// The file.
        path: PathBuf,
        /// What was seen ("shrank from 120 to 40 bytes", "replaced by another file").
        reason: String,
    },
}

/// What identifies a followed file: its device and inode (where the platform has them)
/// and its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    id: Option<(u64, u64)>,
    head: Vec<u8>,
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    let created = meta.created().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some((created.as_secs(), u64::from(created.subsec_nanos())))
}

/// How the rows of a followed file are laid out.
#[derive(Debug, Clone)]
enum Layout {
    /// Delimited text: the header line is put in front of every batch.
    Delimited { header: String, separator: u8 },
    /// One JSON object per line.
    JsonLines,
}

/// A growing file: where reading stopped and what the file was.
#[derive(Debug)]
struct FileCursor {
    path: PathBuf,
    offset: u64,
    identity: Identity,
    layout: Layout,
    rows_read: usize,
}

/// A folder: the files already read, and the sizes of those seen but not yet settled.
#[derive(Debug)]
struct FolderCursor {
    dir: PathBuf,
    read: BTreeSet<PathBuf>,
    pending: BTreeMap<PathBuf, u64>,
}

#[derive(Debug)]
enum Cursor {
    File(FileCursor),
    Folder(FolderCursor),
}

/// Follows one behaviour source.
#[derive(Debug)]
pub struct Follower {
    cursor: Cursor,
}

fn cannot_follow(path: &Path, detail: impl Into<String>) -> DataError {
    DataError::CannotFollow { path: path.to_path_buf(), detail: detail.into() }
}

/// Reads up to `len` bytes of `file` from `offset`.
fn read_at(path: &Path, file: &mut File, offset: u64, len: u64) -> Result<Vec<u8>, DataError> {
    file.seek(SeekFrom::Start(offset)).map_err(|e| DataError::io(path, e))?;
    let mut out = Vec::with_capacity(len.min(MAX_BATCH_BYTES) as usize);
    file.take(len).read_to_end(&mut out).map_err(|e| DataError::io(path, e))?;
    Ok(out)
}

/// The number of newlines in the first `end` bytes of `file`, and the position just after
/// the last of them (0 without one), read a megabyte at a time.
fn count_lines(path: &Path, file: &mut File, end: u64) -> Result<(usize, u64), DataError> {
    file.seek(SeekFrom::Start(0)).map_err(|e| DataError::io(path, e))?;
    let mut reader = file.take(end);
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last, mut pos) = (0usize, 0u64, 0u64);
    loop {
        let n = reader.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        for (i, &b) in buf.get(..n).unwrap_or(&[]).iter().enumerate() {
            if b == b'\n' {
                lines += 1;
                last = pos + i as u64 + 1;
            }
        }
        pos += n as u64;
    }
    Ok((lines, last))
}

/// Opens a file for reading only, after checking that it is a regular file.
fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    check_regular(path, &meta)?;
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok((file, meta))
}

impl Follower {
    /// Follows a file from byte `offset` on (the size it had when it was loaded; a
    /// partial last line before it is read again once complete). Delimited text (CSV,
    /// TSV, RecBole) and JSON Lines can be followed; compressed, Parquet and header-less
    /// MovieLens files cannot.
    pub fn file(path: &Path, offset: u64) -> Result<Self, DataError> {
        let detected = detect_format(path)?;
        if detected.gzip {
            return Err(cannot_follow(
                path,
                "a compressed file cannot be followed as it grows; follow a folder of .gz files instead",
            ));
        }
        let (mut file, meta) = open_regular(path)?;
        let offset = offset.min(meta.len());
        let head = read_at(path, &mut file, 0, (HEAD_BYTES as u64).min(offset))?;
        let start = read_at(path, &mut file, 0, meta.len().min(1 << 16))?;
        let layout = match detected.format {
            FileFormat::Delimited | FileFormat::RecBole => {
                let end = start.iter().position(|&b| b == b'\n').ok_or_else(|| {
                    cannot_follow(path, "no complete header line yet; a followed file must start with its header")
                })?;
                let line = start.get(..end).unwrap_or(&[]);
                let line = line.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(line);
                let header = decode_text(path, line.to_vec())?.text.trim_end_matches('\r').to_owned();
                let separator = if detected.format == FileFormat::RecBole { b'\t' } else { sniff_separator(&start) };
                Layout::Delimited { header, separator }
            }
            FileFormat::JsonLines => {
                if start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
                    return Err(cannot_follow(path, "a JSON array cannot be followed; write one JSON object per line"));
                }
                Layout::JsonLines
            }
            other => {
                return Err(cannot_follow(
                    path,
                    format!("{} files cannot be followed as they grow; follow a folder instead", other.label()),
                ));
            }
        };
        // Where the earlier rows end: the last newline at or before `offset`.
        let (lines, complete) = count_lines(path, &mut file, offset)?;
        let rows_read = match layout {
            Layout::Delimited { .. } => lines.saturating_sub(1),
            Layout::JsonLines => lines,
        };
        let offset = if matches!(layout, Layout::Delimited { .. }) && complete == 0 {
            // Not even the header is complete: start after it once it is.
            start.iter().position(|&b| b == b'\n').map_or(0, |p| p as u64 + 1)
        } else {
            complete
        };
        let identity = Identity { id: file_id(&meta), head };
        Ok(Self { cursor: Cursor::File(FileCursor { path: path.to_path_buf(), offset, identity, layout, rows_read }) })
    }

    /// Follows a file from its current end (only rows appended from now on are read).
    pub fn file_from_end(path: &Path) -> Result<Self, DataError> {
        let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
        Self::file(path, meta.len())
    }

    /// Follows a folder: files present now are taken as read; each file that arrives later
    /// (any supported format, not hidden) is read once its size stops changing.
    pub fn folder(dir: &Path) -> Result<Self, DataError> {
        let meta = std::fs::metadata(dir).map_err(|e| DataError::io(dir, e))?;
        if !meta.is_dir() {
            return Err(cannot_follow(dir, "not a folder"));
        }
        let read = list_data_files(dir)?.into_iter().map(|(p, _)| p).collect();
        Ok(Self { cursor: Cursor::Folder(FolderCursor { dir: dir.to_path_buf(), read, pending: BTreeMap::new() }) })
    }

    /// The followed file or folder.
    pub fn path(&self) -> &Path {
        match &self.cursor {
            Cursor::File(c) => &c.path,
            Cursor::Folder(c) => &c.dir,
        }
    }

    /// Checks once for new data. `Ok(None)`: nothing new (or only a partial line).
    pub fn poll(&mut self) -> Result<Option<FollowEvent>, DataError> {
        match &mut self.cursor {
            Cursor::File(c) => c.poll(),
            Cursor::Folder(c) => c.poll(),
        }
    }
}

impl FileCursor {
    fn poll(&mut self) -> Result<Option<FollowEvent>, DataError> {
        let path = self.path.clone();
        let (mut file, meta) = match open_regular(&path) {
            Ok(x) => x,
            // Between a delete and the new file's creation: nothing to read yet.
            Err(DataError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = meta.len();
        let reset = |reason: String| Ok(Some(FollowEvent::Reset { path: path.clone(), reason }));
        if file_id(&meta) != self.identity.id {
            return reset("replaced by another file".to_owned());
        }
        if len < self.offset {
            return reset(format!("shrank from at least {} to {len} bytes (truncated)", self.offset));
        }
        let head = read_at(&path, &mut file, 0, self.identity.head.len() as u64)?;
        if head != self.identity.head {
            return reset("its first bytes changed (rewritten)".to_owned());
        }
        if len == self.offset {
            return Ok(None);
        }
        let chunk = read_at(&path, &mut file, self.offset, (len - self.offset).min(MAX_BATCH_BYTES))?;
        let Some(last_newline) = chunk.iter().rposition(|&b| b == b'\n') else {
            if chunk.len() >= MAX_RECORD_BYTES {
                return Err(DataError::Malformed {
                    path,
                    row: self.rows_read + 1,
                    column: None,
                    detail: format!("a line longer than {} MiB without a newline", MAX_RECORD_BYTES >> 20),
                });
            }
            return Ok(None); // a half-written line: wait for its newline
        };
        let complete = chunk.get(..=last_newline).unwrap_or(&[]).to_vec();
        let bytes = complete.len() as u64;
        self.offset += bytes;
        if complete.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let decoded = decode_text(&path, complete)?;
        let mut table = match &self.layout {
            Layout::Delimited { header, separator } => {
                let text = format!("{header}\n{}", decoded.text);
                read_delimited(&path, text, *separator, true)?
            }
            Layout::JsonLines => read_json_text(&path, &decoded.text)?,
        };
        table.notices.extend(decoded.notice);
        let rows_before = self.rows_read;
        self.rows_read += table.rows;
        Ok(Some(FollowEvent::Rows(NewRows { table, source: path, rows_before, bytes })))
    }
}

/// The supported data files directly inside `dir` (not hidden), with their sizes.
fn list_data_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, DataError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let path = entry.path();
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let Ok(meta) = entry.metadata() else { continue };
        if hidden || !meta.is_file() || detect_format(&path).is_err() {
            continue;
        }
        out.push((path, meta.len()));
    }
    out.sort();
    Ok(out)
}

impl FolderCursor {
    fn poll(&mut self) -> Result<Option<FollowEvent>, DataError> {
        let files = list_data_files(&self.dir)?;
        let mut settled = None;
        for (path, size) in files {
            if self.read.contains(&path) {
                continue;
            }
            // A file is read once two polls in a row saw the same non-zero size.
            match self.pending.insert(path.clone(), size) {
                Some(before) if before == size && size > 0 && settled.is_none() => settled = Some(path),
                _ => {}
            }
        }
        let Some(path) = settled else { return Ok(None) };
        let bytes = self.pending.remove(&path).unwrap_or(0);
        self.read.insert(path.clone());
        let table = super::read_table(&path)?;
        Ok(Some(FollowEvent::Rows(NewRows { table, source: path, rows_before: 0, bytes })))
    }
}
