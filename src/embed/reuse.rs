//! Embedding a catalogue that mostly was embedded before: texts that the same model and
//! text template already embedded take their vectors from the earlier result, and only
//! the new or changed texts go through the model. A catalogue that grew by a few items
//! (live mode's watched catalogue) costs those items, not the whole catalogue.

use std::collections::HashMap;

use super::cache::{CacheKey, CacheOutcome, EmbeddingCache, embed_with_cache};
use super::encoder::{Embeddings, SentenceEmbedder};
use super::error::EmbedError;
use super::vectors::ItemVectors;
use crate::jobs::Progress;

/// An earlier embedding: the texts, the vectors (row `i` is text `i`), and the model and
/// template that produced them.
#[derive(Debug, Clone)]
pub struct EarlierEmbedding {
    /// The embedded texts.
    pub texts: std::sync::Arc<Vec<String>>,
    /// Their vectors.
    pub vectors: std::sync::Arc<ItemVectors>,
    /// [`SentenceEmbedder::cache_identity`] of the model (its fingerprint and precision).
    pub model_fingerprint: String,
    /// The text template's fingerprint.
    pub template_fingerprint: String,
}

/// What [`embed_reusing`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReuseOutcome {
    /// No earlier embedding fitted (another model or template, or none): the cache was
    /// used as by [`embed_with_cache`].
    Cache(CacheOutcome),
    /// `reused` vectors came from the earlier embedding and `embedded` texts were embedded.
    Reused {
        /// Texts whose vector was taken from the earlier embedding.
        reused: usize,
        /// Distinct texts that were embedded now.
        embedded: usize,
    },
}

/// Embeds `texts`: from `cache` when it holds them all, else taking every text that
/// `earlier` holds from it (same model and template) and embedding only the others; the
/// full result is stored in `cache` so the next start finds it. Without a fitting earlier embedding this is [`embed_with_cache`].
pub fn embed_reusing(
    embedder: &SentenceEmbedder,
    texts: &[String],
    earlier: Option<&EarlierEmbedding>,
    cache: Option<&EmbeddingCache>,
    template_fingerprint: &str,
    batch_size: usize,
    progress: &Progress,
) -> Result<(Embeddings, ReuseOutcome), EmbedError> {
    let fits = |e: &&EarlierEmbedding| {
        e.model_fingerprint == embedder.cache_identity()
            && e.template_fingerprint == template_fingerprint
            && e.vectors.dim == embedder.dim()
            && e.vectors.data.len() == e.texts.len() * e.vectors.dim
    };
    let Some(earlier) = earlier.filter(fits) else {
        let (e, outcome) = embed_with_cache(embedder, texts, cache, template_fingerprint, batch_size, progress)?;
        return Ok((e, ReuseOutcome::Cache(outcome)));
    };
    let dim = embedder.dim();
    let key = CacheKey::new(&embedder.cache_identity(), template_fingerprint, texts);
    if let Some(cache) = cache
        && let Ok(Some(e)) = cache.load(&key, texts.len())
        && e.dim == dim
        && e.data.iter().all(|v| v.is_finite())
    {
        progress.start_stage("embedding (cached)", texts.len() as u64);
        progress.set_done(texts.len() as u64);
        return Ok((e, ReuseOutcome::Cache(CacheOutcome::Hit)));
    }
    let known: HashMap<&str, usize> = earlier.texts.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
    // The distinct texts the earlier embedding does not have, in first-seen order.
    let mut fresh: Vec<String> = Vec::new();
    let mut fresh_row: HashMap<&str, usize> = HashMap::new();
    for t in texts {
        if !known.contains_key(t.as_str()) && !fresh_row.contains_key(t.as_str()) {
            fresh_row.insert(t.as_str(), fresh.len());
            fresh.push(t.clone());
        }
    }
    let embedded = embedder.embed(&fresh, batch_size, progress)?;
    let mut data = Vec::with_capacity(texts.len() * dim);
    let mut reused = 0usize;
    for t in texts {
        let row = match (known.get(t.as_str()), fresh_row.get(t.as_str())) {
            (Some(&i), _) => {
                reused += 1;
                earlier.vectors.data.get(i * dim..(i + 1) * dim)
            }
            (None, Some(&i)) => embedded.data.get(i * dim..(i + 1) * dim),
            (None, None) => None,
        };
        let row = row.ok_or_else(|| EmbedError::Compute(format!("no vector for the text {t:?}")))?;
        data.extend_from_slice(row);
    }
    let all = Embeddings { dim, data };
    if let Some(cache) = cache {
        // A failed store only costs the next start an embedding.
        let _ = cache.store(&key, &all);
    }
    Ok((all, ReuseOutcome::Reused { reused, embedded: fresh.len() }))
}
