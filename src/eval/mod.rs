//! eval

pub mod bootstrap;
pub mod metrics;
pub mod overlap;
pub mod paired;

pub use bootstrap::{BootstrapConfig, Estimate, bootstrap_mean, bootstrap_statistic};
pub use metrics::{AccuracyScores, MetricKey, MetricKind, MetricScope, Relevance};
pub use overlap::{Distribution, jaccard_at_k, kendall_tau_shared, rbo_ext};
pub use paired::{PairedComparison, PairedConfig, PairedError, paired_compare};
