//! Embeddings kept on disk so that a second start does not re-embed the catalogue.
//!
//! One safetensors file per (model fingerprint and precision, text template fingerprint,
//! hash of all texts), holding an `embeddings` tensor of shape `(texts, dim)`. Files are written to a
//! temporary file in the same directory and renamed into place, so a crash never leaves a
//! half-written entry under a valid name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};

use super::encoder::{Embeddings, SentenceEmbedder};
use super::error::{EmbedError, first_line};
use crate::jobs::Progress;

/// Environment variable that overrides the cache directory (tests use a temp dir).
pub const CACHE_DIR_ENV: &str = "RECFUSE_CACHE_DIR";

const TENSOR_NAME: &str = "embeddings";
const EXTENSION: &str = "safetensors";

/// Identifies one cache entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for these texts embedded by this model with this text template.
    pub fn new(model_fingerprint: &str, template_fingerprint: &str, texts: &[String]) -> Self {
        let mut h = Sha256::new();
        for part in [model_fingerprint, template_fingerprint] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update((texts.len() as u64).to_le_bytes());
        for t in texts {
            h.update((t.len() as u64).to_le_bytes());
            h.update(t.as_bytes());
        }
        Self(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The key as a hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A directory of cached embeddings.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

/// What [`embed_with_cache`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The embeddings came from the cache.
    Hit,
    /// They were computed and stored.
    Miss,
    /// They were computed; the cache was not used, for the reason given (show it as a
    /// notice).
    Disabled(String),
}

impl EmbeddingCache {
    /// The default location: `$RECFUSE_CACHE_DIR` if set, else the user's cache directory
    /// (`~/.cache/recfuse/embeddings` on Linux). Created if missing; an error when it
    /// cannot be created or written (the caller continues without a cache).
    pub fn open_default() -> Result<Self, EmbedError> {
        let dir = match std::env::var_os(CACHE_DIR_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => directories::ProjectDirs::from("", "", "recfuse")
                .map(|p| p.cache_dir().join("embeddings"))
                .ok_or_else(|| EmbedError::Cache {
                    path: PathBuf::new(),
                    reason: "no user cache directory could be determined (is HOME set?)".to_owned(),
                })?,
        };
        Self::open(&dir)
    }

    /// A cache in `dir`, created if missing; fails when it is not a writable directory.
    pub fn open(dir: &Path) -> Result<Self, EmbedError> {
        let fail = |reason: String| EmbedError::Cache { path: dir.to_path_buf(), reason };
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create the directory: {e}")))?;
        tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(format!("directory is not writable: {e}")))?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an entry is (or would be) stored in.
    pub fn path_for(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.{EXTENSION}", key.as_str()))
    }

    /// The cached embeddings for `key`, `Ok(None)` when there are none, or an error when
    /// the entry exists but is unreadable or does not have `rows` rows.
    pub fn load(&self, key: &CacheKey, rows: usize) -> Result<Option<Embeddings>, EmbedError> {
        let path = self.path_for(key);
        if !path.is_file() {
            return Ok(None);
        }
        let fail = |reason: String| EmbedError::Cache { path: path.clone(), reason };
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .map_err(|e| fail(format!("unreadable entry: {}", first_line(&e.to_string()))))?;
        let tensor = tensors.get(TENSOR_NAME).ok_or_else(|| fail(format!("no '{TENSOR_NAME}' tensor")))?;
        let (n, dim) = tensor.dims2().map_err(|_| fail(format!("expected a 2-D tensor, got {:?}", tensor.dims())))?;
        if n != rows {
            return Err(fail(format!("expected {rows} rows, found {n}")));
        }
        let data = tensor
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| fail(first_line(&e.to_string())))?;
        Ok(Some(Embeddings { dim, data }))
    }

    /// Stores embeddings under `key`, atomically (temp file in the same directory, then
    /// rename). Returns the entry's path.
    pub fn store(&self, key: &CacheKey, embeddings: &Embeddings) -> Result<PathBuf, EmbedError> {
        let path = self.path_for(key);
        let fail = |reason: String| EmbedError::Cache { path: path.clone(), reason };
        let tensor = Tensor::from_slice(&embeddings.data, (embeddings.len(), embeddings.dim), &Device::Cpu)
            .map_err(|e| fail(first_line(&e.to_string())))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".part")
            .tempfile_in(&self.dir)
            .map_err(|e| fail(format!("cannot create a temporary file: {e}")))?;
        let tensors: HashMap<&str, Tensor> = HashMap::from([(TENSOR_NAME, tensor)]);
        candle_core::safetensors::save(&tensors, tmp.path())
            .map_err(|e| fail(format!("cannot write: {}", first_line(&e.to_string()))))?;
        tmp.persist(&path).map_err(|e| fail(format!("cannot move the entry into place: {}", e.error)))?;
        Ok(path)
    }
}

/// Embeds `texts`, taking them from `cache` when this model and template embedded the same
/// texts before, and storing them there otherwise. Cache problems never fail the call:
/// they come back as [`CacheOutcome::Disabled`] with the reason.
pub fn embed_with_cache(
    embedder: &SentenceEmbedder,
    texts: &[String],
    cache: Option<&EmbeddingCache>,
    template_fingerprint: &str,
    batch_size: usize,
    progress: &Progress,
) -> Result<(Embeddings, CacheOutcome), EmbedError> {
    let Some(cache) = cache else {
        let e = embedder.embed(texts, batch_size, progress)?;
        return Ok((e, CacheOutcome::Disabled("no cache directory".to_owned())));
    };
    let key = CacheKey::new(&embedder.cache_identity(), template_fingerprint, texts);
    // A missing, unreadable or mismatched entry, or one holding NaN or infinity, is simply
    // recomputed and overwritten.
    if let Ok(Some(e)) = cache.load(&key, texts.len())
        && e.dim == embedder.dim()
        && e.data.iter().all(|v| v.is_finite())
    {
        progress.start_stage("embedding (cached)", texts.len() as u64);
        progress.set_done(texts.len() as u64);
        return Ok((e, CacheOutcome::Hit));
    }
    let embeddings = embedder.embed(texts, batch_size, progress)?;
    let outcome = match cache.store(&key, &embeddings) {
        Ok(_) => CacheOutcome::Miss,
        Err(e) => CacheOutcome::Disabled(e.to_string()),
    };
    Ok((embeddings, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn key_depends_on_every_part_and_on_text_boundaries() {
        let t = texts(&["a", "b"]);
        let base = CacheKey::new("m", "t", &t);
        assert_eq!(base, CacheKey::new("m", "t", &texts(&["a", "b"])));
        assert_ne!(base, CacheKey::new("m2", "t", &t));
        assert_ne!(base, CacheKey::new("m", "t2", &t));
        assert_ne!(base, CacheKey::new("m", "t", &texts(&["ab"])));
        assert_ne!(base, CacheKey::new("m", "t", &texts(&["b", "a"])));
        assert_eq!(base.as_str().len(), 64);
    }

    #[test]
    fn store_then_load_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(&dir.path().join("nested")).unwrap();
        let key = CacheKey::new("m", "t", &texts(&["x", "y"]));
        assert_eq!(cache.load(&key, 2).unwrap(), None);
        let e = Embeddings { dim: 3, data: vec![0.1, 0.2, 0.3, -1.0, 0.0, 2.5] };
        let path = cache.store(&key, &e).unwrap();
        assert_eq!(cache.load(&key, 2).unwrap(), Some(e.clone()));
        let names: Vec<String> = std::fs::read_dir(cache.dir())
            .unwrap()
            .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![path.file_name().unwrap().to_string_lossy().into_owned()]);
        // A row-count mismatch is an error, not silently wrong data.
        assert!(cache.load(&key, 3).is_err());
    }

    #[test]
    fn corrupt_entry_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path()).unwrap();
        let key = CacheKey::new("m", "t", &texts(&["x"]));
        std::fs::write(cache.path_for(&key), b"not safetensors").unwrap();
        let err = cache.load(&key, 1).unwrap_err().to_string();
        assert!(err.contains(key.as_str()), "{err}");
    }

    #[test]
    fn unusable_cache_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(EmbeddingCache::open(&file.join("sub")), Err(EmbedError::Cache { .. })));
    }
}
