//! Signal hyper-parameters (editable, saved with the session).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::SignalId;
use super::interactions::ValueTransform;
use crate::limits::{OutOfRange, check_count, check_optional_real, check_real};

/// Every signal's parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalParams {
    /// `semantic`.
    pub semantic: SemanticParams,
    /// `item_cf`.
    pub item_cf: ItemCfParams,
    /// `user_cf`.
    pub user_cf: UserCfParams,
    /// `als`.
    pub als: AlsParams,
    /// `popularity`.
    pub popularity: PopularityParams,
    /// `freshness`.
    pub freshness: FreshnessParams,
    /// `price`.
    pub price: PriceParams,
    /// `sequential`.
    pub sequential: SequentialParams,
    /// `bm25`.
    pub bm25: Bm25Params,
    /// `transformer`.
    pub transformer: TransformerParams,
    /// Built-in signals left out of this configuration (`--builtin`): not fitted, they score
    /// nothing and bring no candidates — e.g. to fuse only imported score files, as an
    /// exported Spark SQL profile does on the scores it is given.
    #[serde(skip_serializing_if = "BTreeSet::is_empty", deserialize_with = "builtin_ids")]
    pub not_fitted: BTreeSet<SignalId>,
}

impl SignalParams {
    /// Whether the built-in signal `id` is fitted (not in [`Self::not_fitted`]).
    pub fn fits(&self, id: SignalId) -> bool {
        !self.not_fitted.contains(&id)
    }

    /// Leaves out every built-in signal but those of `keep` (`--builtin`).
    pub fn fit_only(&mut self, keep: &[SignalId]) {
        self.not_fitted = SignalId::search().filter(|s| !keep.contains(s)).collect();
    }
}

/// Reads `not_fitted`: built-in signal ids only (an external signal is not fitted anyway).
fn builtin_ids<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<BTreeSet<SignalId>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    names
        .iter()
        .map(|n| {
            SignalId::search().find(|s| s.id() == n.trim()).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "not_fitted: '{n}' is not a built-in signal (one of {})",
                    SignalId::builtin_id_list()
                ))
            })
        })
        .collect()
}

/// Parameters of the semantic signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SemanticParams {
    /// Half-life of history events in the user vector (days); `None` = no decay.
    pub half_life_days: Option<f32>,
}

impl Default for SemanticParams {
    fn default() -> Self {
        Self { half_life_days: Some(90.0) }
    }
}

/// Parameters of item-to-item CF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemCfParams {
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// How repeat interactions count.
    pub transform: ValueTransform,
}

impl Default for ItemCfParams {
    fn default() -> Self {
        Self { neighbours: 100, transform: ValueTransform::Binary }
    }
}

/// Parameters of user-to-user CF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserCfParams {
    /// Neighbours per user.
    pub neighbours: usize,
    /// How repeat interactions count.
    pub transform: ValueTransform,
}

impl Default for UserCfParams {
    fn default() -> Self {
        Self { neighbours: 50, transform: ValueTransform::Binary }
    }
}

/// Parameters of implicit ALS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlsParams {
    /// Latent factors.
    pub factors: usize,
    /// L2 regularisation λ.
    pub regularization: f32,
    /// Confidence scale α: c = 1 + α·value.
    pub alpha: f32,
    /// Alternating iterations.
    pub iterations: usize,
    /// Conjugate-gradient steps per solve.
    pub cg_steps: usize,
    /// Random seed of the initial factors.
    pub seed: u64,
    /// How summed event weights become the confidence value.
    pub transform: ValueTransform,
}

impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: 64,
            regularization: 0.05,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            seed: 42,
            transform: ValueTransform::Log,
        }
    }
}

/// Parameters of popularity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PopularityParams {
    /// Half-life in days; `None` = all-time counts.
    pub half_life_days: Option<f32>,
}

impl Default for PopularityParams {
    fn default() -> Self {
        Self { half_life_days: Some(30.0) }
    }
}

/// Parameters of freshness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FreshnessParams {
    /// Age (days) at which the score halves.
    pub half_life_days: f32,
    /// Items younger than this are called "new arrivals" in evidence.
    pub new_arrival_days: f32,
}

impl Default for FreshnessParams {
    fn default() -> Self {
        Self { half_life_days: 30.0, new_arrival_days: 30.0 }
    }
}

/// Parameters of price affinity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceParams {
    /// Smallest spread of the user's log-price band (avoids a zero-width band).
    pub min_log_spread: f32,
}

impl Default for PriceParams {
    fn default() -> Self {
        Self { min_log_spread: 0.35 }
    }
}

/// Parameters of the sequential signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SequentialParams {
    /// How many following baskets a basket's items lead to.
    pub window: usize,
    /// Weight multiplier per basket further away (in fitting) and per basket further in
    /// the past (in scoring).
    pub decay: f32,
    /// How many of the user's most recent baskets are used when scoring.
    pub recent_baskets: usize,
    /// Successors kept per item.
    pub max_successors: usize,
}

impl Default for SequentialParams {
    fn default() -> Self {
        Self { window: 2, decay: 0.5, recent_baskets: 3, max_successors: 200 }
    }
}

/// Parameters of BM25.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bm25Params {
    /// Term-frequency saturation.
    pub k1: f32,
    /// Length normalisation.
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

/// Parameters of the sequence transformer (SASRec-style, text-initialised item vectors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransformerParams {
    /// Whether fitting trains the model (training takes seconds to minutes, so it is off
    /// unless the signal gets a weight or the user asks for it).
    pub enabled: bool,
    /// How many of the shopper's most recent items the model reads.
    pub max_len: usize,
    /// Width of item vectors and hidden states.
    pub dim: usize,
    /// Self-attention blocks.
    pub blocks: usize,
    /// Attention heads per block (must divide `dim`).
    pub heads: usize,
    /// Dropout probability in training.
    pub dropout: f32,
    /// Most training epochs (early stopping may end sooner).
    pub epochs: usize,
    /// Epochs without a better validation NDCG@10 before training stops.
    pub patience: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// The training objective: the full softmax over every item of the training data, or a
    /// sampled softmax against [`Self::negatives`] items.
    pub loss: SequenceLoss,
    /// Sampled negatives per batch (shared by its positions) in the sampled softmax (not
    /// used by the full softmax).
    pub negatives: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Seed of the initial weights, batch order, negatives and dropout.
    pub seed: u64,
    /// Shrinks rare items toward their text when scoring: an item with `c` training
    /// shoppers has its learned id embedding scaled by `c / (c + k)`, `k` = this, while
    /// its text projection is kept whole — an item seen by few shoppers (whose id
    /// embedding has learned little) is scored mostly from its text. 0 = the vectors as
    /// trained. Training is unchanged, so changing it needs no retraining.
    pub id_shrinkage: f32,
}

/// The training objective of the `transformer` signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceLoss {
    /// Cross-entropy of each next item over every item with a training interaction (the
    /// shopper's own items included, as in SASRec's common full-softmax training).
    FullSoftmax,
    /// Cross-entropy over the next item and `negatives` items drawn uniformly per batch.
    /// The default until the validation grid (`benches/results/transformer_grid.sh`) has
    /// been run with the full softmax (RESULTS.md, "The sequence transformer").
    #[default]
    SampledSoftmax,
}

impl SequenceLoss {
    /// The name used in sessions and reports.
    pub fn name(self) -> &'static str {
        match self {
            SequenceLoss::FullSoftmax => "full_softmax",
            SequenceLoss::SampledSoftmax => "sampled_softmax",
        }
    }
}

impl Default for TransformerParams {
    fn default() -> Self {
        Self {
            enabled: false,
            max_len: 50,
            dim: 64,
            blocks: 2,
            heads: 2,
            dropout: 0.2,
            epochs: 40,
            patience: 4,
            batch_size: 32,
            loss: SequenceLoss::SampledSoftmax,
            negatives: 256,
            learning_rate: 3e-3,
            weight_decay: 0.01,
            seed: 42,
            id_shrinkage: 0.0,
        }
    }
}

impl SignalParams {
    /// Refuses parameters outside their allowed ranges (TESTING.md, "Limits"): each bound
    /// keeps fitting time and memory finite whatever a session file or option says.
    pub fn check(&self) -> Result<(), OutOfRange> {
        const DAYS: f64 = 1e6;
        check_optional_real("semantic.half_life_days", self.semantic.half_life_days.map(f64::from), 1e-3, DAYS)?;
        check_count("item_cf.neighbours", self.item_cf.neighbours, 1, 10_000)?;
        check_count("user_cf.neighbours", self.user_cf.neighbours, 1, 10_000)?;
        let a = &self.als;
        check_count("als.factors", a.factors, 1, 1_024)?;
        check_real("als.regularization", f64::from(a.regularization), 0.0, 1e6)?;
        check_real("als.alpha", f64::from(a.alpha), 0.0, 1e6)?;
        check_count("als.iterations", a.iterations, 1, 1_000)?;
        check_count("als.cg_steps", a.cg_steps, 1, 100)?;
        check_optional_real("popularity.half_life_days", self.popularity.half_life_days.map(f64::from), 1e-3, DAYS)?;
        check_real("freshness.half_life_days", f64::from(self.freshness.half_life_days), 1e-3, DAYS)?;
        check_real("freshness.new_arrival_days", f64::from(self.freshness.new_arrival_days), 0.0, DAYS)?;
        check_real("price.min_log_spread", f64::from(self.price.min_log_spread), 1e-3, 100.0)?;
        let s = &self.sequential;
        check_count("sequential.window", s.window, 1, 100)?;
        check_real("sequential.decay", f64::from(s.decay), 0.0, 1.0)?;
        check_count("sequential.recent_baskets", s.recent_baskets, 1, 1_000)?;
        check_count("sequential.max_successors", s.max_successors, 1, 100_000)?;
        check_real("bm25.k1", f64::from(self.bm25.k1), 0.0, 100.0)?;
        check_real("bm25.b", f64::from(self.bm25.b), 0.0, 1.0)?;
        let t = &self.transformer;
        check_count("transformer.max_len", t.max_len, 1, 1_000)?;
        check_count("transformer.dim", t.dim, 1, 1_024)?;
        check_count("transformer.blocks", t.blocks, 1, 16)?;
        check_count("transformer.heads", t.heads, 1, 16)?;
        check_real("transformer.dropout", f64::from(t.dropout), 0.0, 0.9)?;
        check_count("transformer.epochs", t.epochs, 1, 1_000)?;
        check_count("transformer.patience", t.patience, 1, 100)?;
        check_count("transformer.batch_size", t.batch_size, 1, 4_096)?;
        check_count("transformer.negatives", t.negatives, 1, 100_000)?;
        check_real("transformer.learning_rate", t.learning_rate, 1e-7, 1.0)?;
        check_real("transformer.weight_decay", t.weight_decay, 0.0, 1.0)?;
        check_real("transformer.id_shrinkage", f64::from(t.id_shrinkage), 0.0, 1e6)?;
        Ok(())
    }
}
