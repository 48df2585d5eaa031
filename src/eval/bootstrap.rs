//! Seeded bootstrap intervals over users.
//!
//! Users are resampled with replacement; the interval is the percentile interval of the
//! resampled statistic (quantiles by linear interpolation between order statistics,
//! "type 7"). The same seed gives the same interval, and the same resampled users for every
//! metric of a run, so intervals of different metrics are computed on the same resamples.

use serde::{Deserialize, Serialize};

/// How to bootstrap: number of resamples, seed and confidence level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootstrapConfig {
    /// Number of resamples (0 gives a degenerate interval at the point value).
    pub resamples: usize,
    /// Seed of the resampling generator.
    pub seed: u64,
    /// Confidence level of the interval, in (0, 1); anything else is read as 0.95.
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { resamples: 1000, seed: 42, confidence: 0.95 }
    }
}

impl BootstrapConfig {
    /// The resample count, at most [`MAX_BOOTSTRAP`](crate::limits::MAX_BOOTSTRAP): options and
    /// sessions are refused above it; this keeps any other caller bounded too.
    pub fn bounded_resamples(&self) -> usize {
        self.resamples.min(crate::limits::MAX_BOOTSTRAP)
    }

    /// The lower and upper quantile levels of the interval, e.g. (0.025, 0.975).
    fn levels(&self) -> (f64, f64) {
        let c = if self.confidence > 0.0 && self.confidence < 1.0 { self.confidence } else { 0.95 };
        let alpha = 1.0 - c;
        (alpha / 2.0, 1.0 - alpha / 2.0)
    }
}

/// A point value with its bootstrap interval. Serialises as `{"value": v, "ci": [lo, hi]}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The statistic on all users.
    pub value: f64,
    /// Lower and upper bound of the bootstrap interval.
    pub ci: (f64, f64),
}

/// Mean of the values and its bootstrap interval, resampling values (users) with
/// replacement. Non-finite values are ignored; `None` when no finite value is left.
pub fn bootstrap_mean(values: &[f64], config: &BootstrapConfig) -> Option<Estimate> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    let value = mean(&finite)?;
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let mut means: Vec<f64> = (0..config.bounded_resamples())
        .map(|_| {
            let sum: f64 = (0..n).map(|_| finite.get(rng.usize(..n)).copied().unwrap_or(0.0)).sum();
            sum / n as f64
        })
        .collect();
    Some(Estimate { value, ci: percentile_interval(&mut means, config, value) })
}

/// A statistic over users (e.g. catalogue coverage) and its bootstrap interval.
///
/// `statistic` receives user indices in `0..n_users`: first all of them in order (the
/// point value), then each resample (with repetitions). Resamples where it returns `None`
/// or a non-finite value are left out of the interval. `None` when the point value is
/// `None` or `n_users == 0`.
///
/// Note: for set-based statistics such as coverage, a resample holds fewer distinct users
/// than the full set, so the resampled values are biased low and the interval need not
/// contain the point value; report it as the spread of the statistic, not as a correction.
pub fn bootstrap_statistic(
    n_users: usize,
    config: &BootstrapConfig,
    mut statistic: impl FnMut(&[usize]) -> Option<f64>,
) -> Option<Estimate> {
    if n_users == 0 {
        return None;
    }
    let all: Vec<usize> = (0..n_users).collect();
    let value = statistic(&all).filter(|v| v.is_finite())?;
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let mut sample = vec![0usize; n_users];
    let mut values = Vec::with_capacity(config.bounded_resamples());
    for _ in 0..config.bounded_resamples() {
        for slot in &mut sample {
            *slot = rng.usize(..n_users);
        }
        if let Some(v) = statistic(&sample).filter(|v| v.is_finite()) {
            values.push(v);
        }
    }
    Some(Estimate { value, ci: percentile_interval(&mut values, config, value) })
}

/// Percentile interval of resampled values; degenerate at `value` when there are none.
fn percentile_interval(values: &mut [f64], config: &BootstrapConfig, value: f64) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let (lo, hi) = config.levels();
    match (quantile_sorted(values, lo), quantile_sorted(values, hi)) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => (value, value),
    }
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() { None } else { Some(values.iter().sum::<f64>() / values.len() as f64) }
}

/// Quantile `q` in [0, 1] of ascending-sorted values by linear interpolation between the
/// order statistics at positions `q·(n − 1)` ("type 7", numpy's default). `None` when empty
/// or `q` is outside [0, 1].
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let last = sorted.len().checked_sub(1)?;
    let h = q * last as f64;
    let below = h.floor() as usize;
    let x0 = *sorted.get(below)?;
    let x1 = sorted.get(below + 1).copied().unwrap_or(x0);
    Some(x0 + (h - below as f64) * (x1 - x0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        // [1, 2, 3, 4]: position q·3; q = 0.5 → 1.5 → 2 + 0.5·(3 − 2) = 2.5.
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(4.0));
        // q = 0.25 → position 0.75 → 1 + 0.75·1 = 1.75.
        assert_eq!(quantile_sorted(&v, 0.25), Some(1.75));
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(quantile_sorted(&v, 1.5), None);
    }

    #[test]
    fn empty_and_zero_resamples() {
        let cfg = BootstrapConfig::default();
        assert_eq!(bootstrap_mean(&[], &cfg), None);
        assert_eq!(bootstrap_statistic(0, &cfg, |_| Some(1.0)), None);
        let none = BootstrapConfig { resamples: 0, ..cfg };
        // Mean of [1, 3] = 2, no resamples → interval (2, 2).
        assert_eq!(bootstrap_mean(&[1.0, 3.0], &none), Some(Estimate { value: 2.0, ci: (2.0, 2.0) }));
    }
}
