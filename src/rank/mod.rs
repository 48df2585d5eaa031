//! The learned ranker (fusion method `learned`): a small wide-and-deep network trained
//! with candle on the shop's own data. Per (shopper, candidate) it reads every signal's
//! min-max-normalised score, the shopper vector V_u and item vector V_i from the item
//! embeddings with V_u ⊙ V_i (zeros and a flag when absent), and four cheap features
//! (log popularity, price against the shopper's band, item age, history length).
//!
//! Candle stays behind this module: the rest of the crate sees [`Ranker`] (score a
//! [`CandidateSet`], attribute a candidate, save, load), [`train`] and the feature tables.
//! Training is listwise (softmax cross-entropy over each shopper's candidate list), AdamW,
//! early stopping on held-out validation shoppers, seeded and reproducible on the CPU.

mod attribution;
mod features;
mod model;
mod scorer;
mod train;

pub use attribution::{Attribution, Explained};
pub use features::{CHEAP_FEATURES, FeatureInput, ShopperRows, data_fingerprint, shopper_rows};
pub use model::{Ranker, RankerConfig, RankerMeta};
pub use scorer::Scorer;
pub use train::{EpochReport, TrainList, TrainReport, TrainSettings, listwise_loss, train};

use crate::jobs::Cancelled;

/// Why a ranker could not be trained, loaded, applied or saved.
#[derive(Debug, thiserror::Error)]
pub enum RankerError {
    /// The user cancelled training.
    #[error("cancelled")]
    Cancelled,
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The data or settings cannot make a model.
    #[error("{0}")]
    Invalid(String),
    /// The model file was trained on other data or other signals.
    #[error("{0}")]
    Stale(String),
    /// The model file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl From<Cancelled> for RankerError {
    fn from(_: Cancelled) -> Self {
        RankerError::Cancelled
    }
}
