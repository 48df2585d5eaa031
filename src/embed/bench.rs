//! Throughput measurement of the embedder (`recfuse bench embed`).

use std::time::Instant;

use serde::Serialize;

use super::encoder::SentenceEmbedder;
use super::error::EmbedError;
use crate::jobs::Progress;

/// Items per second of repeated embedding runs over the same texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbedBenchResult {
    /// Model name.
    pub model: String,
    /// Device label ("CPU", "CUDA:0").
    pub device: String,
    /// Compute precision ("f32", "f16", "bf16").
    pub precision: String,
    /// CPU threads candle uses (`RAYON_NUM_THREADS`, else the physical cores).
    pub threads: usize,
    /// Texts per run.
    pub items: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Untimed runs before measuring.
    pub warmup: usize,
    /// Seconds of each timed run.
    pub seconds: Vec<f64>,
    /// Slowest run, items/s.
    pub min_items_per_s: f64,
    /// Median run, items/s.
    pub median_items_per_s: f64,
    /// Fastest run, items/s.
    pub max_items_per_s: f64,
}

/// Embeds `texts` `warmup` times untimed, then `reps` times timed (at least once), and
/// reports items/s (min / median / max over the timed runs).
pub fn bench_embed(
    embedder: &SentenceEmbedder,
    texts: &[String],
    batch_size: usize,
    warmup: usize,
    reps: usize,
) -> Result<EmbedBenchResult, EmbedError> {
    let progress = Progress::new();
    for _ in 0..warmup {
        embedder.embed(texts, batch_size, &progress)?;
    }
    let mut seconds = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        embedder.embed(texts, batch_size, &progress)?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    let mut rates: Vec<f64> = seconds.iter().map(|s| texts.len() as f64 / s.max(1e-9)).collect();
    rates.sort_by(f64::total_cmp);
    let mid = rates.len() / 2;
    let median = match (rates.len() % 2, rates.get(mid.wrapping_sub(1)), rates.get(mid)) {
        (1, _, Some(&m)) => m,
        (0, Some(&a), Some(&b)) => (a + b) / 2.0,
        _ => 0.0,
    };
    Ok(EmbedBenchResult {
        model: embedder.model_name().to_owned(),
        device: embedder.device_label().to_owned(),
        precision: embedder.precision().to_string(),
        threads: candle_core::utils::get_num_threads(),
        items: texts.len(),
        batch_size,
        warmup,
        min_items_per_s: rates.first().copied().unwrap_or(0.0),
        median_items_per_s: median,
        max_items_per_s: rates.last().copied().unwrap_or(0.0),
        seconds,
    })
}
