//! The names of the metrics RecFuse reports: [`MetricKind`] (what is measured) and
//! [`MetricKey`] (a metric at a cut-off, `ndcg@10`), with their stable text ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every metric RecFuse reports. The serde form is the stable id ([`MetricKind::id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Hits / K.
    Precision,
    /// Hits / |R|.
    Recall,
    /// Harmonic mean of precision and recall.
    F1,
    /// Share of users with at least one hit.
    HitRate,
    /// Mean reciprocal rank of the first hit.
    Mrr,
    /// Mean average precision.
    Map,
    /// Normalised discounted cumulative gain.
    Ndcg,
    /// Distinct recommended items / catalogue size (global).
    Coverage,
    /// Mean self-information of recommended items.
    Novelty,
    /// Intra-list diversity: 1 − mean pairwise cosine.
    Diversity,
    /// Share of recommended items outside the popular head.
    LongTail,
    /// Gini coefficient of exposure over the catalogue (global; lower is more equal).
    Gini,
}

/// Whether a metric has one value per user or one value for the whole user set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricScope {
    /// One value per user; the reported figure is their mean (bootstrap with
    /// [`crate::eval::bootstrap::bootstrap_mean`]).
    PerUser,
    /// One value over all users' lists (bootstrap with
    /// [`crate::eval::bootstrap::bootstrap_statistic`]).
    Global,
}

impl MetricKind {
    /// All kinds, accuracy first.
    pub const ALL: [MetricKind; 12] = [
        MetricKind::Precision,
        MetricKind::Recall,
        MetricKind::F1,
        MetricKind::HitRate,
        MetricKind::Mrr,
        MetricKind::Map,
        MetricKind::Ndcg,
        MetricKind::Coverage,
        MetricKind::Novelty,
        MetricKind::Diversity,
        MetricKind::LongTail,
        MetricKind::Gini,
    ];

    /// Stable string id used in files, JSON and the CLI (e.g. `"ndcg"`).
    pub fn id(self) -> &'static str {
        match self {
            MetricKind::Precision => "precision",
            MetricKind::Recall => "recall",
            MetricKind::F1 => "f1",
            MetricKind::HitRate => "hit_rate",
            MetricKind::Mrr => "mrr",
            MetricKind::Map => "map",
            MetricKind::Ndcg => "ndcg",
            MetricKind::Coverage => "coverage",
            MetricKind::Novelty => "novelty",
            MetricKind::Diversity => "diversity",
            MetricKind::LongTail => "long_tail",
            MetricKind::Gini => "gini",
        }
    }

    /// Human-readable name for tables and the GUI.
    pub fn display_name(self) -> &'static str {
        match self {
            MetricKind::Precision => "Precision",
            MetricKind::Recall => "Recall",
            MetricKind::F1 => "F1",
            MetricKind::HitRate => "Hit rate",
            MetricKind::Mrr => "MRR",
            MetricKind::Map => "MAP",
            MetricKind::Ndcg => "NDCG",
            MetricKind::Coverage => "Catalogue coverage",
            MetricKind::Novelty => "Novelty",
            MetricKind::Diversity => "Intra-list diversity",
            MetricKind::LongTail => "Long-tail share",
            MetricKind::Gini => "Gini of exposure",
        }
    }

    /// Per-user (averaged) or global.
    pub fn scope(self) -> MetricScope {
        match self {
            MetricKind::Coverage | MetricKind::Gini => MetricScope::Global,
            _ => MetricScope::PerUser,
        }
    }

    /// True for the relevance-based metrics (precision … NDCG).
    pub fn is_accuracy(self) -> bool {
        matches!(
            self,
            MetricKind::Precision
                | MetricKind::Recall
                | MetricKind::F1
                | MetricKind::HitRate
                | MetricKind::Mrr
                | MetricKind::Map
                | MetricKind::Ndcg
        )
    }

    /// False only for Gini, where a lower value (more equal exposure) is better.
    pub fn higher_is_better(self) -> bool {
        self != MetricKind::Gini
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A metric name that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseMetricError {
    /// Not one of the ids of [`MetricKind`].
    #[error(
        "unknown metric {0:?} (expected one of: precision, recall, f1, hit_rate, mrr, map, ndcg, coverage, novelty, diversity, long_tail, gini)"
    )]
    UnknownKind(String),
    /// The part after `@` is not a whole number.
    #[error("invalid cut-off in {0:?} (expected e.g. \"ndcg@10\")")]
    InvalidCutoff(String),
}

impl FromStr for MetricKind {
    type Err = ParseMetricError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        MetricKind::ALL
            .into_iter()
            .find(|kind| kind.id().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseMetricError::UnknownKind(s.to_string()))
    }
}

/// A metric at a cut-off, e.g. NDCG@10. Renders and serialises as `"ndcg@10"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct MetricKey {
    /// Which metric.
    pub kind: MetricKind,
    /// The cut-off K.
    pub k: usize,
}

impl MetricKey {
    /// `kind@k`.
    pub fn new(kind: MetricKind, k: usize) -> Self {
        Self { kind, k }
    }
}

impl fmt::Display for MetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.kind.id(), self.k)
    }
}

impl FromStr for MetricKey {
    type Err = ParseMetricError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, k) = s.trim().split_once('@').ok_or_else(|| ParseMetricError::InvalidCutoff(s.to_string()))?;
        let k = k.trim().parse().map_err(|_| ParseMetricError::InvalidCutoff(s.to_string()))?;
        Ok(Self { kind: kind.parse()?, k })
    }
}

impl From<MetricKey> for String {
    fn from(key: MetricKey) -> Self {
        key.to_string()
    }
}

impl TryFrom<String> for MetricKey {
    type Error = ParseMetricError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
