//! Attaching item embeddings to an engine from the command line.

use std::path::Path;

use crate::embed::EmbedPrecision;
use crate::embed::reuse::EarlierEmbedding;
use crate::jobs::Progress;
use crate::session::Session;
use crate::session::engine::Engine;
use crate::session::pipeline;

/// The embedding options of the command line: `--model`, `--device`, and `--precision`
/// (when given; else the session's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModelOverrides<'a> {
    /// `--model`.
    pub model: Option<&'a Path>,
    /// `--device`.
    pub device: &'a str,
    /// `--precision`.
    pub precision: Option<EmbedPrecision>,
}

fn with_overrides(session: &Session, o: ModelOverrides<'_>) -> Session {
    let mut s = session.clone();
    if let Some(m) = o.model {
        s.model.model_dir = Some(m.to_path_buf());
    }
    s.model.device = o.device.to_owned();
    if let Some(p) = o.precision {
        s.model.precision = p;
    }
    s
}

/// Embeds the catalogue (or reads the cache), installs the semantic signal and prints a
/// progress bar on stderr; the texts of `earlier` keep their vectors. Returns the notices to
/// print (device fallback, cache state) and the embedding, for a later one to reuse.
pub(crate) fn attach_vectors(
    engine: &mut Engine,
    session: &Session,
    overrides: ModelOverrides<'_>,
    earlier: Option<&EarlierEmbedding>,
) -> anyhow::Result<(Vec<String>, EarlierEmbedding)> {
    let session = with_overrides(session, overrides);
    let progress = Progress::new();
    let bar = super::embed::CliProgressBar::attach(&progress, "embedding");
    let outcome = pipeline::embed_catalogue(&engine.dataset, &session, earlier, &progress);
    bar.finish();
    let outcome = outcome.map_err(anyhow::Error::msg)?;
    engine.attach_vectors(Ok(outcome.vectors.clone()), &session.params);
    let mut notes = outcome.notices.clone();
    notes.extend(outcome.info.iter().filter(|n| n.starts_with("embedded ")).cloned());
    Ok((notes, outcome.as_earlier()))
}

/// Embeds `engine`'s catalogue in a background job (the texts of `earlier` keep their
/// vectors, so a catalogue that grew embeds only its new items), without a progress bar.
pub(crate) fn embed_in_background(
    engine: &Engine,
    session: &Session,
    overrides: ModelOverrides<'_>,
    earlier: Option<EarlierEmbedding>,
) -> std::io::Result<crate::jobs::JobHandle<Result<pipeline::EmbedOutcome, String>>> {
    let session = with_overrides(session, overrides);
    let dataset = engine.dataset.clone();
    crate::jobs::JobHandle::spawn("embed new items", Progress::new(), move |p| {
        pipeline::embed_catalogue(&dataset, &session, earlier.as_ref(), p)
    })
}

/// Embeds a search query with the session's model.
pub(crate) fn embed_query(session: &Session, overrides: ModelOverrides<'_>, query: &str) -> anyhow::Result<Vec<f32>> {
    let session = with_overrides(session, overrides);
    let embedder = pipeline::load_embedder(&session).map_err(anyhow::Error::msg)?;
    let e = embedder.embed(&[query.to_owned()], 1, &Progress::new())?;
    Ok(e.data)
}
