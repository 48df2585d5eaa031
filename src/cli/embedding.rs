//! Attaching item embeddings to an engine from the command line.

use std::path::Path;

use crate::embed::reuse::EarlierEmbedding;
use crate::jobs::Progress;
use crate::session::Session;
use crate::session::engine::Engine;
use crate::session::pipeline;

fn with_overrides(session: &Session, model: Option<&Path>, device: &str) -> Session {
    let mut s = session.clone();
    if let Some(m) = model {
        s.model.model_dir = Some(m.to_path_buf());
    }
    s.model.device = device.to_owned();
    s
}

/// Embeds the catalogue (or reads the cache), installs the semantic signal and prints a
/// progress bar on stderr; the texts of `earlier` keep their vectors. Returns the notices to
/// print (device fallback, cache state) and the embedding, for a later one to reuse.
pub(crate) fn attach_vectors(
    engine: &mut Engine,
    session: &Session,
    model: Option<&Path>,
    device: &str,
    earlier: Option<&EarlierEmbedding>,
) -> anyhow::Result<(Vec<String>, EarlierEmbedding)> {
    let session = with_overrides(session, model, device);
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

/// Embeds a search query with the session's model.
pub(crate) fn embed_query(
    session: &Session,
    model: Option<&Path>,
    device: &str,
    query: &str,
) -> anyhow::Result<Vec<f32>> {
    let session = with_overrides(session, model, device);
    let embedder = pipeline::load_embedder(&session).map_err(anyhow::Error::msg)?;
    let e = embedder.embed(&[query.to_owned()], 1, &Progress::new())?;
    Ok(e.data)
}
