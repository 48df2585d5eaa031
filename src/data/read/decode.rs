//! Getting a file's bytes, once: reading (and, for `.gz`, decompressing) them, then
//! checking and decoding them as text for the text readers (BOM, binary data, UTF-8 or
//! Latin-1).

use std::io::Read;
use std::path::Path;

use crate::data::error::DataError;

/// A file's contents decoded as text, with the notice the decoding produced (Latin-1).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedText {
    /// The text, BOM removed.
    pub text: String,
    /// Set when the bytes were not valid UTF-8 and were decoded as Latin-1.
    pub notice: Option<String>,
}

/// Largest input file read into memory (compressed size for `.gz`).
pub const MAX_FILE_BYTES: u64 = 8 << 30;
/// Largest decompressed size of a `.gz` file.
pub const MAX_DECOMPRESSED_BYTES: u64 = 8 << 30;
/// Largest ratio of decompressed to compressed size accepted above 64 MiB decompressed
/// (text compresses 5–20×; a far higher ratio is a decompression bomb).
pub const MAX_DECOMPRESSION_RATIO: u64 = 200;

/// Checks that `path` is a readable, non-empty regular file, then reads (and, for
/// gzip, decompresses) its bytes. The file is opened read-only.
pub fn read_bytes(path: &Path, gzip: bool) -> Result<Vec<u8>, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    check_regular(path, &meta)?;
    read_file_bytes(path, &meta, gzip)
}

/// Refuses anything but a regular file: a directory, FIFO, socket, device, or a kernel
/// pseudo-file under `/proc` or `/sys` (they report size 0 and may never end).
pub fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<(), DataError> {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        return Err(DataError::IsDirectory { path: path.to_path_buf() });
    } else if kind.is_fifo() {
        "named pipe (FIFO)"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if is_kernel_pseudo_file(path) {
        "kernel pseudo-file (/proc, /sys)"
    } else {
        return Ok(());
    };
    Err(DataError::NotRegularFile { path: path.to_path_buf(), kind: what })
}

fn is_kernel_pseudo_file(path: &Path) -> bool {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    absolute.starts_with("/proc") || absolute.starts_with("/sys")
}

/// Reads a small UTF-8 text file that must be a regular file of at most `max_bytes`
/// (rules, sessions, lists of texts): never blocks on a FIFO or reads a device.
pub fn read_regular_text(path: &Path, max_bytes: u64) -> Result<String, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    check_regular(path, &meta)?;
    if meta.len() > max_bytes {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            what: format!("the file ({} bytes)", meta.len()),
            limit_mib: max_bytes >> 20,
        });
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes)
        .map_err(|e| DataError::NotText { path: path.to_path_buf(), detail: format!("not valid UTF-8: {e}") })
}

/// [`read_bytes`] for a path whose metadata the caller already has (and has checked is
/// not a directory): refuses an empty file, reads (decompresses) the bytes, and refuses
/// bytes that are only whitespace.
pub(super) fn read_file_bytes(path: &Path, meta: &std::fs::Metadata, gzip: bool) -> Result<Vec<u8>, DataError> {
    check_regular(path, meta)?;
    if meta.len() == 0 {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            what: format!("the file ({} bytes)", meta.len()),
            limit_mib: MAX_FILE_BYTES >> 20,
        });
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let bytes = if gzip { decompress(path, file, meta.len())? } else { read_all(path, file, meta.len())? };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok(bytes)
}

/// Reads a plain file, growing the buffer as bytes arrive (the size reported by the file
/// system is a hint, never trusted for a reservation beyond the limit).
fn read_all(path: &Path, file: std::fs::File, size_hint: u64) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::with_capacity(size_hint.min(MAX_FILE_BYTES) as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| DataError::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            what: "the file".to_owned(),
            limit_mib: MAX_FILE_BYTES >> 20,
        });
    }
    Ok(bytes)
}

/// Decompresses gzip data up to the size and ratio limits.
fn decompress(path: &Path, file: std::fs::File, compressed: u64) -> Result<Vec<u8>, DataError> {
    let ratio_cap = compressed.saturating_mul(MAX_DECOMPRESSION_RATIO).max(64 << 20);
    let limit = ratio_cap.min(MAX_DECOMPRESSED_BYTES);
    let decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut bytes = Vec::with_capacity(compressed.saturating_mul(4).min(limit) as usize);
    decoder
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Gzip { path: path.to_path_buf(), source: e })?;
    if bytes.len() as u64 > limit {
        let what = if limit == MAX_DECOMPRESSED_BYTES {
            "the decompressed content".to_owned()
        } else {
            format!(
                "the decompressed content (more than {MAX_DECOMPRESSION_RATIO}× the {compressed}-byte compressed \
                 file: a likely decompression bomb)"
            )
        };
        return Err(DataError::TooLarge { path: path.to_path_buf(), what, limit_mib: limit >> 20 });
    }
    Ok(bytes)
}

/// Makes sure `bytes` are text: strips a UTF-8 BOM, decodes UTF-16 with a BOM, rejects
/// binary data, decodes Latin-1 when the bytes are not valid UTF-8, and reads CR-only line
/// ends as line breaks (each of the last three with a notice).
pub fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<DecodedText, DataError> {
    let mut decoded = decode_bytes(path, bytes)?;
    if let Some(text) = cr_only_to_lf(&decoded.text) {
        decoded.text = text;
        let note = "lines end with CR only (classic Mac); read as line breaks";
        decoded.notice = Some(match decoded.notice.take() {
            Some(first) => format!("{first}; {note}"),
            None => note.to_owned(),
        });
    }
    Ok(decoded)
}

/// Text whose lines end with a bare CR (no LF anywhere) with every CR turned into LF;
/// `None` when the text has an LF or no CR.
fn cr_only_to_lf(text: &str) -> Option<String> {
    (text.contains('\r') && !text.contains('\n')).then(|| text.replace('\r', "\n"))
}

/// UTF-16 text (with its byte-order mark) as a string.
fn decode_utf16(path: &Path, bytes: &[u8], little_endian: bool) -> Result<DecodedText, DataError> {
    let units = bytes.get(2..).unwrap_or(&[]).chunks_exact(2).map(|pair| match (pair, little_endian) {
        ([lo, hi], true) | ([hi, lo], false) => u16::from_le_bytes([*lo, *hi]),
        _ => 0,
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    for (index, unit) in char::decode_utf16(units).enumerate() {
        match unit {
            Ok(c) if c != '\0' => text.push(c),
            _ => {
                return Err(DataError::NotText {
                    path: path.to_path_buf(),
                    detail: format!(
                        "UTF-16 byte-order mark, but an invalid or NUL code unit at byte offset {}",
                        2 + 2 * index
                    ),
                });
            }
        }
    }
    if bytes.len() % 2 == 1 {
        return Err(DataError::NotText {
            path: path.to_path_buf(),
            detail: "UTF-16 byte-order mark, but an odd number of bytes".to_owned(),
        });
    }
    let order = if little_endian { "LE" } else { "BE" };
    Ok(DecodedText { text, notice: Some(format!("decoded from UTF-16 {order} (byte-order mark)")) })
}

/// Decodes the bytes (UTF-8, UTF-16 with a BOM, or Latin-1) and rejects binary data.
fn decode_bytes(path: &Path, mut bytes: Vec<u8>) -> Result<DecodedText, DataError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return decode_utf16(path, &bytes, bytes.first() == Some(&0xFF));
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    let head = bytes.get(..bytes.len().min(65_536)).unwrap_or(&[]);
    if let Some(pos) = head.iter().position(|&b| b == 0) {
        return Err(DataError::NotText {
            path: path.to_path_buf(),
            detail: format!("NUL byte at offset {pos}; is this a binary file?"),
        });
    }
    let control = head.iter().filter(|&&b| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r' && b != 0x0c).count();
    if control * 100 > head.len().max(1) {
        return Err(DataError::NotText {
            path: path.to_path_buf(),
            detail: format!("{control} control bytes in the first {} bytes", head.len()),
        });
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(DecodedText { text, notice: None }),
        Err(err) => {
            let bytes = err.into_bytes();
            let invalid_at = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to()).unwrap_or(0);
            // Latin-1: every byte is the code point of the same value.
            let text: String = bytes.iter().map(|&b| char::from(b)).collect();
            let notice = format!("not valid UTF-8 (first invalid byte at offset {invalid_at}); decoded as Latin-1");
            Ok(DecodedText { text, notice: Some(notice) })
        }
    }
}

/// [`decode_text`] as bytes: the UTF-8 text and the decoding notice, if any.
pub fn ensure_text(path: &Path, bytes: Vec<u8>) -> Result<(Vec<u8>, Option<String>), DataError> {
    decode_text(path, bytes).map(|decoded| (decoded.text.into_bytes(), decoded.notice))
}
