//! `transformer`: a SASRec-style sequence model trained with candle. Causal
//! self-attention reads the shopper's last `max_len` positive events (time order); the
//! last position's hidden state · every item's input vector is the score. An item's input
//! vector is a learned id embedding plus a learned projection of its text embedding, so a
//! new or rare item still gets a meaningful vector from its text.
//!
//! Training takes seconds to minutes, so fitting is off until
//! [`TransformerParams::enabled`] is set (the CLI sets it when the signal gets a weight).
//! Runs on the CPU (candle's CPU ops are deterministic, and every random draw comes from
//! a seeded `fastrand` generator, so a fit is reproducible).

mod loss;
mod model;
mod train;

use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};

pub use model::ModelConfig;
use model::SeqModel;
pub use train::{EpochReport, TrainReport};

use super::interactions::{HistoryEvent, Interactions};
use super::params::TransformerParams;
use super::registry::{Fitted, SignalSpec};
use super::{ScoreContext, Scorer, SignalId, title_list};
use crate::data::Catalogue;
use crate::embed::ItemVectors;
use crate::embed::vectors::dot;
use crate::jobs::{Cancelled, Progress};

/// Why the transformer could not be trained, loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum TransformerError {
    /// The user cancelled training.
    #[error("cancelled")]
    Cancelled,
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The data, parameters or model file cannot make a model.
    #[error("{0}")]
    Invalid(String),
    /// A saved model does not fit the data (trained on other data, or its text vectors
    /// are missing).
    #[error("{0}")]
    Stale(String),
    /// The model file could not be written.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<Cancelled> for TransformerError {
    fn from(_: Cancelled) -> Self {
        TransformerError::Cancelled
    }
}

/// The items of a shopper's positive events in time order (repeats in a row merged);
/// items outside the catalogue are left out.
pub fn sequence(events: &[HistoryEvent], n_items: usize) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for e in events.iter().filter(|e| e.weight > 0.0 && (e.item as usize) < n_items) {
        if out.last() != Some(&e.item) {
            out.push(e.item);
        }
    }
    out
}

/// A trained sequence transformer, ready to score.
pub struct TransformerScorer {
    model: Arc<SeqModel>,
    /// Every item's input vector, `n_items × dim`, row-major.
    table: Vec<f32>,
    /// What the caller says identifies the data it was trained on (saved with the
    /// weights; empty when not given).
    fingerprint: String,
}

/// Name of the fingerprint tensor in a model file (its UTF-8 bytes).
const FINGERPRINT: &str = "data_fingerprint";

impl TransformerScorer {
    /// Trains on `interactions` (with text vectors when given); `on_epoch` hears about
    /// every epoch.
    pub fn fit(
        interactions: &Interactions,
        vectors: Option<&ItemVectors>,
        params: &TransformerParams,
        progress: &Progress,
        on_epoch: &mut dyn FnMut(&EpochReport),
    ) -> Result<(Self, TrainReport), TransformerError> {
        let (model, report) = train::train(interactions, vectors, params, progress, on_epoch)?;
        Ok((Self::from_model(model)?.with_id_shrinkage(interactions, params.id_shrinkage)?, report))
    }

    /// The scoring table with [`TransformerParams::id_shrinkage`] `k` applied: each item's
    /// id embedding scaled by `c / (c + k)` for its `c` shoppers in `interactions` (the
    /// training data), its text projection whole. `k = 0` gives the table as trained.
    pub fn with_id_shrinkage(mut self, interactions: &Interactions, k: f32) -> Result<Self, TransformerError> {
        if k <= 0.0 {
            return Ok(self);
        }
        let n = self.model.config.n_items;
        let scale: Vec<f32> = (0..n)
            .map(|i| {
                let c = interactions.by_item.row(i).0.len() as f32;
                c / (c + k)
            })
            .collect();
        self.table = self.model.item_table_scaled(&scale)?.flatten_all()?.to_vec1()?;
        Ok(self)
    }

    fn from_model(model: SeqModel) -> Result<Self, TransformerError> {
        let table = model.item_table()?.flatten_all()?.to_vec1()?;
        Ok(Self { model: Arc::new(model), table, fingerprint: String::new() })
    }

    /// The scorer with rows for the items of `vectors` past the trained ones: each new
    /// item's vector is the projection of its text vector alone (no id embedding was
    /// learned for it; an item without text gets zeros). `None` when the model reads no
    /// text, the vectors have another width, or no item is new.
    pub fn extended_to(&self, vectors: &ItemVectors) -> Result<Option<Self>, TransformerError> {
        let c = self.model.config;
        let have = self.table.len() / c.dim.max(1);
        if c.text_dim == 0 || vectors.dim != c.text_dim || vectors.len() <= have {
            return Ok(None);
        }
        let new = vectors.len() - have;
        let mut texts = vec![0.0f32; new * c.text_dim];
        for (k, chunk) in texts.chunks_exact_mut(c.text_dim).enumerate() {
            if let Some(row) = vectors.row((have + k) as u32) {
                chunk.copy_from_slice(row);
            }
        }
        let rows = Tensor::from_vec(texts, (new, c.text_dim), &Device::Cpu)?;
        let projected: Vec<f32> = self.model.project_texts(&rows)?.flatten_all()?.to_vec1()?;
        let mut table = self.table.clone();
        table.extend(projected);
        Ok(Some(Self { model: self.model.clone(), table, fingerprint: self.fingerprint.clone() }))
    }

    /// Records what identifies the training data (saved with the weights).
    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = fingerprint.into();
        self
    }

    /// The training data's fingerprint ([`Self::with_fingerprint`]); empty when unknown.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Refuses a model trained on other data than the data of `fingerprint`, saying how
    /// to get a fresh one.
    pub fn check_data(&self, fingerprint: &str) -> Result<(), TransformerError> {
        if self.fingerprint == fingerprint {
            return Ok(());
        }
        let was = if self.fingerprint.is_empty() { "unknown data" } else { self.fingerprint.as_str() };
        Err(TransformerError::Stale(format!(
            "the saved transformer was trained on other data (data fingerprint {was}, these files give \
             {fingerprint}); train it again (Train in the transformer's row, or recfuse train-sequence)"
        )))
    }

    /// Whether the model reads item text vectors (and so needs them to load).
    pub fn reads_text(&self) -> bool {
        self.model.config.text_dim > 0
    }

    /// The network's sizes.
    pub fn config(&self) -> ModelConfig {
        self.model.config
    }

    /// Saves the weights (safetensors, written atomically).
    pub fn save(&self, path: &Path) -> Result<(), TransformerError> {
        let bytes = self.fingerprint.as_bytes();
        let extra = if bytes.is_empty() {
            Vec::new()
        } else {
            vec![(FINGERPRINT.to_owned(), Tensor::from_slice(bytes, bytes.len(), &Device::Cpu)?)]
        };
        self.model.save(path, extra)
    }

    /// Loads weights saved with [`Self::save`] (with their fingerprint); `vectors` must be
    /// the item embeddings it was trained with when it reads text.
    pub fn load(path: &Path, vectors: Option<&ItemVectors>) -> Result<Self, TransformerError> {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| TransformerError::Invalid(format!("could not read {}: {e}", path.display())))?;
        let n_items = match tensors.get("config").map(|c| c.to_vec1::<u32>()) {
            Some(Ok(c)) => c.first().copied().unwrap_or(0) as usize,
            _ => 0,
        };
        let texts = vectors.map(|v| train::text_tensor(v, n_items)).transpose()?;
        let fingerprint = match tensors.get(FINGERPRINT).map(|t| t.to_vec1::<u8>()) {
            Some(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        Ok(Self::from_model(SeqModel::load(&tensors, path, texts)?)?.with_fingerprint(fingerprint))
    }

    /// Hidden states of the last block (after the final norm) at every position of
    /// `items` (its last `max_len` items), one vector per position.
    pub fn hidden_states(&self, items: &[u32]) -> Result<Vec<Vec<f32>>, TransformerError> {
        let (hidden, _) = self.encode(items)?;
        Ok(hidden)
    }

    /// Hidden states and the last block's attention of the last position over `items`.
    fn encode(&self, items: &[u32]) -> Result<(Vec<Vec<f32>>, Vec<f32>), TransformerError> {
        let c = self.model.config;
        let items: Vec<u32> = items.iter().copied().filter(|&i| (i as usize) < c.n_items).collect();
        let items = items.get(items.len().saturating_sub(c.max_len)..).unwrap_or(&[]);
        if items.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let len = items.len();
        let seq = Tensor::new(items, &Device::Cpu)?.unsqueeze(0)?;
        let valid = Tensor::ones((1, len), candle_core::DType::F32, &Device::Cpu)?;
        let out = self.model.forward(&seq, &valid, None)?;
        let hidden: Vec<Vec<f32>> = out.hidden.squeeze(0)?.to_vec2()?;
        let attention: Vec<f32> = out.attention.squeeze(0)?.narrow(0, len - 1, 1)?.flatten_all()?.to_vec1()?;
        Ok((hidden, attention))
    }

    fn shopper_sequence(&self, ctx: &ScoreContext<'_>) -> Vec<u32> {
        sequence(&ctx.profile.events, self.model.config.n_items)
    }
}

impl Scorer for TransformerScorer {
    fn id(&self) -> SignalId {
        SignalId::TRANSFORMER
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let Ok((hidden, _)) = self.encode(&self.shopper_sequence(ctx)) else { return };
        let Some(h) = hidden.last() else { return };
        let dim = self.model.config.dim.max(1);
        for (o, row) in out.iter_mut().zip(self.table.chunks_exact(dim)) {
            let s = dot(h, row);
            *o = if s.is_finite() { s } else { 0.0 };
        }
    }

    /// New catalogue items get their text's projection (see [`TransformerScorer::extended_to`]).
    fn with_new_item_vectors(&self, vectors: &ItemVectors) -> Option<Arc<dyn Scorer>> {
        match self.extended_to(vectors) {
            Ok(Some(s)) => Some(Arc::new(s)),
            _ => None,
        }
    }

    /// Scores from the shopper's history at scoring time: live events need nothing more.
    fn live_update(&self, _change: &super::LiveChange<'_>) -> super::LiveUpdate {
        super::LiveUpdate::FromProfile
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, _item: u32, catalogue: &Catalogue) -> Option<String> {
        let seq = self.shopper_sequence(ctx);
        let seq = seq.get(seq.len().saturating_sub(self.model.config.max_len)..).unwrap_or(&[]);
        let (_, attention) = self.encode(seq).ok()?;
        let mut ranked: Vec<(u32, f32)> = seq.iter().copied().zip(attention).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut top: Vec<u32> = Vec::new();
        for (item, _) in ranked {
            if !top.contains(&item) {
                top.push(item);
            }
            if top.len() == 2 {
                break;
            }
        }
        (!top.is_empty()).then(|| format!("follows your recent {}", title_list(catalogue, &top)))
    }
}

impl SignalId {
    /// The `transformer` signal.
    pub const TRANSFORMER: SignalId = SignalId::new("transformer");
}

/// Why the signal is not fitted by default.
pub const OFF_BY_DEFAULT: &str = "off by default: training takes seconds to minutes; give it a weight \
     (--weights transformer=W) or train it with `recfuse train-sequence`";

fn fit(input: &super::FitInput<'_>, params: &super::SignalParams, progress: &Progress) -> Result<Fitted, Cancelled> {
    let p = &params.transformer;
    if !p.enabled {
        return Ok(Fitted::Unavailable(OFF_BY_DEFAULT.to_owned()));
    }
    let vectors = input.vectors.ok().map(Arc::as_ref);
    match TransformerScorer::fit(input.interactions, vectors, p, progress, &mut |_| {}) {
        Ok((scorer, _)) => Ok(Fitted::Ready(Arc::new(scorer))),
        Err(TransformerError::Cancelled) => Err(Cancelled),
        Err(e) => Ok(Fitted::Unavailable(format!("training failed: {e}"))),
    }
}

/// Registry entry of `transformer`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::TRANSFORMER,
    label: "Transformer",
    color: [0x5b, 0x8f, 0xa8],
    default_weight: 0.0,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |p| {
        let t = &p.transformer;
        let shrink =
            if t.id_shrinkage > 0.0 { format!(", id shrinkage k = {}", t.id_shrinkage) } else { String::new() };
        format!("{}×{} blocks, {} items, {} epochs, {}{shrink}", t.dim, t.blocks, t.max_len, t.epochs, t.loss.name())
    },
    needs_vectors: true,
    fit,
};
