//! Building an [`Engine`] from a [`Session`]: load data, aggregate interactions, render
//! item texts, fit the signals, and attach item vectors.

use std::sync::Arc;

use super::Session;
use super::engine::Engine;
use crate::data::{Catalogue, DataError, Dataset, load_dataset};
use crate::embed::ItemVectors;
use crate::embed::reuse::ReuseOutcome;
use crate::embed::{CacheOutcome, DeviceChoice, EmbedPrecision, EmbeddingCache, ItemTextTemplate, SentenceEmbedder};
use crate::jobs::{Cancelled, Progress};
use crate::score::external::{ExternalError, LoadedSignals, load_signal_file};
use crate::score::{FitInput, Interactions, SignalParams, fit_signals};

/// The embedding model in use.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// Device label ("CPU", "CUDA:0").
    pub device: String,
    /// The precision in use (after any fallback at load).
    pub precision: EmbedPrecision,
}

/// Item vectors and what produced them.
#[derive(Clone)]
pub struct EmbedOutcome {
    /// The vectors.
    pub vectors: Arc<ItemVectors>,
    /// The 2-D map of the vectors.
    pub projection: Arc<crate::embed::projection::Projection>,
    /// The loaded model, kept to embed search queries.
    pub embedder: Arc<crate::embed::SentenceEmbedder>,
    /// Model and device.
    pub model: ModelInfo,
    /// Fallback or cache notices (shown as warnings).
    pub notices: Vec<String>,
    /// Expected outcomes worth a note (the CPU chosen automatically in a build without GPU support).
    pub info: Vec<String>,
    /// The texts the vectors were computed from and the template's fingerprint, so that the
    /// next embedding of a grown or edited catalogue embeds only what changed.
    pub texts: Arc<Vec<String>>,
    /// The text template's fingerprint.
    pub template_fingerprint: String,
}

impl EmbedOutcome {
    /// This outcome as the earlier embedding a later one may reuse.
    pub fn as_earlier(&self) -> crate::embed::reuse::EarlierEmbedding {
        crate::embed::reuse::EarlierEmbedding {
            texts: self.texts.clone(),
            vectors: self.vectors.clone(),
            model_fingerprint: self.embedder.cache_identity(),
            template_fingerprint: self.template_fingerprint.clone(),
        }
    }
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
    SentenceEmbedder::load(&dir, device_choice(session), session.model.precision).map_err(|e| e.to_string())
}

/// The session's device setting (`auto` when it does not parse).
fn device_choice(session: &Session) -> DeviceChoice {
    session.model.device.parse().unwrap_or(DeviceChoice::Auto)
}

/// Embeds the catalogue (from the cache when possible) and maps it in 2-D.
/// The vectors of texts in `earlier` (same model and template) are reused, so only new or
/// changed texts are embedded.
pub fn embed_catalogue(
    dataset: &Dataset,
    session: &Session,
    earlier: Option<&crate::embed::reuse::EarlierEmbedding>,
    progress: &Progress,
) -> Result<EmbedOutcome, String> {
    progress.start_stage("loading the embedding model", 0);
    let embedder = load_embedder(session)?;
    // `auto` in a build without GPU support is expected to use the CPU: say so as a note.
    // A GPU that was asked for, or that a GPU build could not find, is a warning.
    let expected_cpu = device_choice(session) == DeviceChoice::Auto && !cfg!(any(feature = "cuda", feature = "metal"));
    let (mut info, mut notices): (Vec<String>, Vec<String>) = if expected_cpu {
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
    let template_fingerprint = session.model.template.fingerprint();
    let (embeddings, outcome) = crate::embed::reuse::embed_reusing(
        &embedder,
        &texts,
        earlier,
        cache.as_ref(),
        &template_fingerprint,
        session.model.batch_size.max(1),
        progress,
    )
    .map_err(|e| e.to_string())?;
    match outcome {
        ReuseOutcome::Cache(CacheOutcome::Disabled(why)) if cache.is_some() => {
            notices.push(format!("embedding cache not used: {why}"));
        }
        ReuseOutcome::Reused { reused, embedded } if embedded > 0 => {
            info.push(format!("embedded {embedded} new or changed item texts; {reused} vectors kept from before"));
        }
        _ => {}
    }
    let vectors = ItemVectors {
        dim: embeddings.dim,
        data: embeddings.data,
        has_text: texts.iter().map(|t| !t.trim().is_empty()).collect(),
    };
    progress.start_stage("mapping embeddings", 0);
    let projection = crate::embed::projection::project(&vectors, 8, 42);
    Ok(EmbedOutcome {
        model: ModelInfo {
            name: embedder.model_name().to_owned(),
            device: embedder.device_label().to_owned(),
            precision: embedder.precision(),
        },
        vectors: Arc::new(vectors),
        projection: Arc::new(projection),
        embedder: Arc::new(embedder),
        notices,
        info,
        texts: Arc::new(texts),
        template_fingerprint,
    })
}

/// Loads the session's data.
pub fn load(session: &Session, progress: &Progress) -> Result<Dataset, DataError> {
    load_dataset(&session.data, &session.event_weights, progress)
}

/// Fits every signal on all events of `dataset`, with the item vectors when there are
/// some (`Err` says why not; the signals that need them say so until they arrive).
pub fn fit_all(
    dataset: Arc<Dataset>,
    params: &SignalParams,
    texts: Arc<Vec<String>>,
    vectors: Result<Arc<ItemVectors>, String>,
    progress: &Progress,
) -> Result<Engine, Cancelled> {
    let all: Vec<usize> = (0..dataset.behaviour.len()).collect();
    let interactions = Arc::new(Interactions::build(&dataset.behaviour, &all, dataset.catalogue.len()));
    let input = FitInput {
        interactions: &interactions,
        catalogue: &dataset.catalogue,
        texts: &texts,
        vectors: vectors.as_ref().map_err(String::as_str),
    };
    let models = fit_signals(&input, params, progress)?;
    Ok(Engine {
        dataset,
        interactions,
        models,
        item_texts: texts,
        vectors: vectors.ok(),
        external: Vec::new(),
        ranker: None,
        segments: std::sync::OnceLock::new(),
    })
}

/// Reads the score files of `files` for `dataset` (external signals), in order; the
/// first file that cannot be used is the error.
pub fn load_signal_files(
    files: &[crate::data::scores::SignalFile],
    dataset: &Dataset,
    progress: &Progress,
) -> Result<Vec<LoadedSignals>, ExternalError> {
    files.iter().map(|f| load_signal_file(f, dataset, progress)).collect()
}

/// Reads each score file of `files` for `dataset`, keeping the files that fail with their
/// error (the GUI lists them so they can be removed).
pub fn load_signal_files_each(
    files: &[crate::data::scores::SignalFile],
    dataset: &Dataset,
    progress: &Progress,
) -> Vec<(crate::data::scores::SignalFile, Result<LoadedSignals, String>)> {
    files.iter().map(|f| (f.clone(), load_signal_file(f, dataset, progress).map_err(|e| e.to_string()))).collect()
}
