//! Signal identities: the stable ids used by the CLI, sessions and the GUI.

use serde::{Deserialize, Serialize};

/// One recommender signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalId {
    /// Sentence-embedding similarity between the user's history (or the query) and items.
    Semantic,
    /// Item-to-item collaborative filtering.
    ItemCf,
    /// User-to-user collaborative filtering.
    UserCf,
    /// Implicit-feedback matrix factorisation (ALS).
    Als,
    /// Recency-decayed popularity.
    Popularity,
    /// Item age.
    Freshness,
    /// Closeness to the user's price band.
    Price,
    /// The user's category distribution.
    Category,
    /// What follows the user's most recent items.
    Sequential,
    /// BM25 text relevance to a search query (search mode only).
    Bm25,
}

impl SignalId {
    /// Every signal, in display order.
    pub const ALL: [SignalId; 10] = [
        SignalId::Semantic,
        SignalId::ItemCf,
        SignalId::UserCf,
        SignalId::Als,
        SignalId::Popularity,
        SignalId::Freshness,
        SignalId::Price,
        SignalId::Category,
        SignalId::Sequential,
        SignalId::Bm25,
    ];

    /// Signals used to recommend for a shopper (everything but BM25).
    pub const RECOMMEND: [SignalId; 9] = [
        SignalId::Semantic,
        SignalId::ItemCf,
        SignalId::UserCf,
        SignalId::Als,
        SignalId::Popularity,
        SignalId::Freshness,
        SignalId::Price,
        SignalId::Category,
        SignalId::Sequential,
    ];

    /// Stable id (`item_cf`, …).
    pub fn id(self) -> &'static str {
        match self {
            SignalId::Semantic => "semantic",
            SignalId::ItemCf => "item_cf",
            SignalId::UserCf => "user_cf",
            SignalId::Als => "als",
            SignalId::Popularity => "popularity",
            SignalId::Freshness => "freshness",
            SignalId::Price => "price",
            SignalId::Category => "category",
            SignalId::Sequential => "sequential",
            SignalId::Bm25 => "bm25",
        }
    }

    /// Parses a stable id.
    pub fn from_id(id: &str) -> Option<SignalId> {
        SignalId::ALL.into_iter().find(|s| s.id() == id.trim())
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            SignalId::Semantic => "Semantic",
            SignalId::ItemCf => "Item CF",
            SignalId::UserCf => "User CF",
            SignalId::Als => "ALS",
            SignalId::Popularity => "Popularity",
            SignalId::Freshness => "Freshness",
            SignalId::Price => "Price",
            SignalId::Category => "Category",
            SignalId::Sequential => "Sequential",
            SignalId::Bm25 => "BM25",
        }
    }

    /// Position in [`SignalId::ALL`], for dense per-signal arrays.
    pub fn index(self) -> usize {
        SignalId::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

impl std::fmt::Display for SignalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}
