//! eval

pub mod bootstrap;
pub mod metrics;

pub use bootstrap::{BootstrapConfig, Estimate, bootstrap_mean, bootstrap_statistic};
pub use metrics::{AccuracyScores, MetricKey, MetricKind, MetricScope, Relevance};
