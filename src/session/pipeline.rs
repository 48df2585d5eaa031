//! Building an [`Engine`] from a [`Session`]: load data, aggregate interactions, render
//! item texts, fit the signals, and attach item vectors.

use std::sync::Arc;

use super::Session;
use super::engine::{Engine, fit_signals};
use super::workbench::{EmbedOutcome, ModelInfo};
use crate::data::{Catalogue, DataError, Dataset, load_dataset};
use crate::embed::{
    CacheOutcome, DeviceChoice, EmbedPrecision, EmbeddingCache, ItemTextTemplate, SentenceEmbedder, embed_with_cache,
};
use crate::jobs::{Cancelled, Progress};
use crate::score::semantic::ItemVectors;
use crate::score::{Interactions, SignalParams};

/// Why building the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The data could not be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

/// Renders each item's text with the template (empty fields skipped).
pub fn item_texts(catalogue: &Catalogue, template: &ItemTextTemplate) -> Vec<String> {
    (0..catalogue.len() as u32).map(|i| template.render(|f| catalogue.text_field(f, i))).collect()
}

/// The model directory of the session: the chosen one, or the bundled model.
pub fn model_dir(session: &Session) -> Result<std::path::PathBuf, String> {
    match &session.model.model_dir {
        Some(d) => Ok(d.clone()),
        None => crate::embed::default_model_dir()
            .ok_or_else(|| "the bundled model assets/models/all-MiniLM-L6-v2 was not found".to_owned()),
    }
}

/// Loads the session's embedding model on its device.
pub fn load_embedder(session: &Session) -> Result<SentenceEmbedder, String> {
    let dir = model_dir(session)?;
    SentenceEmbedder::load(&dir, device_choice(session), EmbedPrecision::F32).map_err(|e| e.to_string())
}

/// The session's device setting (`auto` when it does not parse).
fn device_choice(session: &Session) -> DeviceChoice {
    session.model.device.parse().unwrap_or(DeviceChoice::Auto)
}

/// Embeds the catalogue (from the cache when possible) and maps it in 2-D.
pub fn embed_catalogue(dataset: &Dataset, session: &Session, progress: &Progress) -> Result<EmbedOutcome, String> {
    progress.start_stage("loading the embedding model", 0);
    let embedder = load_embedder(session)?;
    // `auto` in a build without GPU support is expected to use the CPU: say so as a note.
    // A GPU that was asked for, or that a GPU build could not find, is a warning.
    let expected_cpu = device_choice(session) == DeviceChoice::Auto && !cfg!(any(feature = "cuda", feature = "metal"));
    let (info, mut notices): (Vec<String>, Vec<String>) = if expected_cpu {
        (embedder.notices().to_vec(), Vec::new())
    } else {
        (Vec::new(), embedder.notices().to_vec())
    };
    let texts = item_texts(&dataset.catalogue, &session.model.template);
    let cache = match EmbeddingCache::open_default() {
        Ok(c) => Some(c),
        Err(e) => {
            notices.push(format!("embedding cache unavailable, running without it: {e}"));
            None
        }
    };
    let (embeddings, outcome) = embed_with_cache(
        &embedder,
        &texts,
        cache.as_ref(),
        &session.model.template.fingerprint(),
        session.model.batch_size.max(1),
        progress,
    )
    .map_err(|e| e.to_string())?;
    if let CacheOutcome::Disabled(why) = outcome
        && cache.is_some()
    {
        notices.push(format!("embedding cache not used: {why}"));
    }
    let vectors = ItemVectors {
        dim: embeddings.dim,
        data: embeddings.data,
        has_text: texts.iter().map(|t| !t.trim().is_empty()).collect(),
    };
    progress.start_stage("mapping embeddings", 0);
    let projection = crate::embed::projection::project(&vectors, 8, 42);
    Ok(EmbedOutcome {
        model: ModelInfo { name: embedder.model_name().to_owned(), device: embedder.device_label().to_owned() },
        vectors: Arc::new(vectors),
        projection: Arc::new(projection),
        embedder: Arc::new(embedder),
        notices,
        info,
    })
}

/// Loads the session's data.
pub fn load(session: &Session, progress: &Progress) -> Result<Dataset, DataError> {
    load_dataset(&session.data, &session.event_weights, progress)
}

/// Fits every signal (except `semantic`) on all events of `dataset`.
pub fn fit_all(
    dataset: Arc<Dataset>,
    params: &SignalParams,
    texts: Arc<Vec<String>>,
    progress: &Progress,
) -> Result<Engine, Cancelled> {
    let all: Vec<usize> = (0..dataset.behaviour.len()).collect();
    let interactions = Arc::new(Interactions::build(&dataset.behaviour, &all, dataset.catalogue.len()));
    let models = fit_signals(&interactions, &dataset.catalogue, &texts, params, progress)?;
    Ok(Engine { dataset, interactions, models, item_texts: texts, vectors: None })
}
