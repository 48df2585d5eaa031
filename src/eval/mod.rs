//! Evaluation: splits, metrics with bootstrap intervals, paired comparisons, list
//! overlap, and the runner that measures fusion settings on cached candidate scores
//! (so metrics can follow a slider), plus sweeps and weight tuning.

pub mod bootstrap;
pub mod compare;
pub mod experiment;
pub mod export;
pub mod feature_export;
pub mod hyper;
pub mod learned;
pub mod metric_names;
pub mod metrics;
pub mod overlap;
pub mod paired;
pub mod report;
pub mod runner;
pub mod split;
pub mod sweep;

pub use bootstrap::{BootstrapConfig, Estimate, bootstrap_mean, bootstrap_statistic};
pub use metrics::{AccuracyScores, MetricKey, MetricKind, MetricScope, Relevance};
pub use overlap::{Distribution, jaccard_at_k, kendall_tau_shared, rbo_ext};
pub use paired::{PairedComparison, PairedConfig, PairedError, paired_compare};
