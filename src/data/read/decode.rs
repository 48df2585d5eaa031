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

/// Checks that `path` is a readable, non-empty regular file, then reads (and, for
/// gzip, decompresses) its bytes. The file is opened read-only.
pub fn read_bytes(path: &Path, gzip: bool) -> Result<Vec<u8>, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.is_dir() {
        return Err(DataError::IsDirectory { path: path.to_path_buf() });
    }
    read_file_bytes(path, &meta, gzip)
}

/// [`read_bytes`] for a path whose metadata the caller already has (and has checked is
/// not a directory): refuses an empty file, reads (decompresses) the bytes, and refuses
/// bytes that are only whitespace.
pub(super) fn read_file_bytes(path: &Path, meta: &std::fs::Metadata, gzip: bool) -> Result<Vec<u8>, DataError> {
    if meta.len() == 0 {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    if gzip {
        let mut decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
        decoder.read_to_end(&mut bytes).map_err(|e| DataError::Gzip { path: path.to_path_buf(), source: e })?;
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes).map_err(|e| DataError::io(path, e))?;
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok(bytes)
}

/// Makes sure `bytes` are UTF-8 text: strips a BOM, rejects binary data, and decodes
/// Latin-1 (with a notice) when the bytes are not valid UTF-8.
pub fn decode_text(path: &Path, mut bytes: Vec<u8>) -> Result<DecodedText, DataError> {
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
