//! Sweeps over a prepared evaluation context: a metric as a function of one weight or of
//! two, and the accuracy-vs-diversity front of random weightings.

use serde::Serialize;

use super::bootstrap::{BootstrapConfig, Estimate};
use super::experiment::non_zero_weights;
use super::runner::EvalContext;
use crate::fusion::FusionConfig;
use crate::score::SignalId;

/// A metric as a function of one weight.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep1 {
    /// The signal swept.
    pub signal: SignalId,
    /// (weight, metric estimate) points.
    pub points: Vec<(f32, Estimate)>,
    /// Metric key.
    pub metric: String,
}

/// Sweeps one weight over `values` on a prepared context.
pub fn sweep1(
    context: &mut EvalContext,
    base: &FusionConfig,
    signal: SignalId,
    values: &[f32],
    k: usize,
    boot: &BootstrapConfig,
) -> Sweep1 {
    let metric = format!("ndcg@{k}");
    let mut points = Vec::new();
    for &w in values {
        let mut c = base.clone();
        c.set_weight(signal, w);
        c.signals.entry(signal).or_default().enabled = true;
        context.prepare_for(&c);
        if let Some(e) = context.measure(&c, &[k], boot).metrics.get(&metric) {
            points.push((w, *e));
        }
    }
    context.prepare_for(base);
    Sweep1 { signal, points, metric }
}

/// A metric over a grid of two weights.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep2 {
    /// First signal (rows).
    pub a: SignalId,
    /// Second signal (columns).
    pub b: SignalId,
    /// Grid values.
    pub values: Vec<f32>,
    /// `grid[i][j]`: mean metric with a = values[i], b = values[j].
    pub grid: Vec<Vec<f64>>,
    /// Metric key.
    pub metric: String,
}

/// Sweeps two weights over `values × values`.
pub fn sweep2(
    context: &mut EvalContext,
    base: &FusionConfig,
    a: SignalId,
    b: SignalId,
    values: &[f32],
    k: usize,
) -> Sweep2 {
    let mut grid = Vec::new();
    for &wa in values {
        let mut row = Vec::new();
        for &wb in values {
            let mut c = base.clone();
            c.set_weight(a, wa);
            c.set_weight(b, wb);
            c.signals.entry(a).or_default().enabled = true;
            c.signals.entry(b).or_default().enabled = true;
            context.prepare_for(&c);
            row.push(context.mean_ndcg(&c, k));
        }
        grid.push(row);
    }
    context.prepare_for(base);
    Sweep2 { a, b, values: values.to_vec(), grid, metric: format!("ndcg@{k}") }
}

/// One sampled weight vector on the accuracy-vs-diversity plane.
#[derive(Debug, Clone, Serialize)]
pub struct ParetoPoint {
    /// Weights (non-zero).
    pub weights: std::collections::BTreeMap<String, f32>,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Mean intra-list diversity@k.
    pub diversity: f64,
    /// Whether no other point is better on both.
    pub on_front: bool,
    /// Whether this is the current configuration.
    pub current: bool,
}

/// Samples `n` random weight vectors (seeded) plus the current one and marks the
/// Pareto front of (NDCG, diversity).
pub fn pareto(context: &mut EvalContext, base: &FusionConfig, n: usize, k: usize, seed: u64) -> Vec<ParetoPoint> {
    let boot = BootstrapConfig { resamples: 0, ..BootstrapConfig::default() };
    let mut rng = fastrand::Rng::with_seed(seed);
    let signals = context.signals.clone();
    let mut configs = vec![(base.clone(), true)];
    for _ in 0..n {
        let mut c = base.clone();
        let raw: Vec<f32> = signals.iter().map(|_| -rng.f32().max(1e-6).ln()).collect();
        let total: f32 = raw.iter().sum();
        for (&s, w) in signals.iter().zip(raw) {
            c.set_weight(s, w / total.max(1e-6));
            c.signals.entry(s).or_default().enabled = true;
        }
        configs.push((c, false));
    }
    let ndcg_key = format!("ndcg@{k}");
    let div_key = format!("diversity@{k}");
    let mut points: Vec<ParetoPoint> = configs
        .into_iter()
        .map(|(c, current)| {
            context.prepare_for(&c);
            let m = context.measure(&c, &[k], &boot);
            ParetoPoint {
                weights: non_zero_weights(&c, &signals),
                ndcg: m.metrics.get(&ndcg_key).map_or(0.0, |e| e.value),
                diversity: m.metrics.get(&div_key).map_or(0.0, |e| e.value),
                on_front: false,
                current,
            }
        })
        .collect();
    let snapshot: Vec<(f64, f64)> = points.iter().map(|p| (p.ndcg, p.diversity)).collect();
    for p in points.iter_mut() {
        p.on_front = !snapshot.iter().any(|&(n, d)| n >= p.ndcg && d >= p.diversity && (n > p.ndcg || d > p.diversity));
    }
    context.prepare_for(base);
    points
}
