//! Embedding throughput until `recfuse bench embed` is wired in:
//! `cargo run --release --example embed_bench -- --texts T.json --batch-sizes 32 64 128`.
//! Prints one JSON object per batch size; with `--reference R.json` (written by
//! `benches/reference/sentence_transformers_bench.py --write-embeddings`) also the
//! cosine agreement with sentence-transformers.

use std::path::PathBuf;

use clap::Parser;
use recfuse::embed::model::ModelFiles;
use recfuse::embed::{DeviceChoice, EmbedPrecision, SentenceEmbedder, bench_embed, cosine};
use recfuse::jobs::Progress;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    texts: PathBuf,
    #[arg(long)]
    model: Option<String>,
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    #[arg(long, default_value = "f32")]
    precision: EmbedPrecision,
    #[arg(long, num_args = 1.., default_values_t = [32usize, 64, 128])]
    batch_sizes: Vec<usize>,
    #[arg(long, default_value_t = 3)]
    reps: usize,
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    #[arg(long)]
    reference: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct Reference {
    embeddings: Vec<Vec<f32>>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let texts = read_texts(&args.texts)?;
    let files = locate_model(args.model.as_deref())?;
    let embedder = SentenceEmbedder::load_files(&files, args.device, args.precision)?;
    for batch in &args.batch_sizes {
        let r = bench_embed(&embedder, &texts, *batch, args.warmup, args.reps)?;
        println!("{}", serde_json::to_string(&r)?);
    }
    if let Some(path) = &args.reference {
        let reference: Reference = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let ours = embedder.embed(&texts, args.batch_sizes.first().copied().unwrap_or(32), &Progress::new())?;
        let cosines: Vec<f32> =
            reference.embeddings.iter().enumerate().filter_map(|(i, v)| Some(cosine(ours.row(i)?, v))).collect();
        let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
        let mean = cosines.iter().map(|&c| f64::from(c)).sum::<f64>() / cosines.len().max(1) as f64;
        println!("{}", serde_json::json!({"cosine_vs_reference": {"n": cosines.len(), "min": min, "mean": mean}}));
    }
    Ok(())
}

/// The model named on the command line, or the bundled default.
fn locate_model(spec: Option<&str>) -> anyhow::Result<ModelFiles> {
    match spec {
        Some(spec) => Ok(ModelFiles::locate(spec)?),
        None => {
            let dir = recfuse::embed::default_model_dir()
                .ok_or_else(|| anyhow::anyhow!("the bundled model was not found; pass --model DIR"))?;
            Ok(ModelFiles::from_dir(&dir)?)
        }
    }
}

/// A JSON array of strings.
fn read_texts(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}
