//! `recfuse embed`: embed a JSON array of texts and write the vectors as JSON.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::embed::model::ModelFiles;
use crate::embed::{DEFAULT_BATCH_SIZE, DeviceChoice, EmbedPrecision, SentenceEmbedder, default_model_dir};
use crate::jobs::Progress;

/// Arguments of `recfuse embed`.
#[derive(Debug, Clone, Args)]
pub(crate) struct EmbedArgs {
    /// JSON file holding an array of strings to embed.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Where to write `{"model", "device", "precision", "dim", "embeddings"}` (JSON).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Model directory in Hugging Face layout, or a name in the Hugging Face cache
    /// (default: the bundled all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<String>,
    /// auto, cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Texts per forward pass.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    pub batch: usize,
    /// Compute precision: f32, int8 (CPU: int8 weights and matmuls, faster, cosine ≥ 0.995
    /// against f32), f16 or bf16 (GPUs only).
    #[arg(long, default_value = "f32")]
    pub precision: EmbedPrecision,
    /// Embed this catalogue file into the embedding cache (instead of --input/--output).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["input", "output"])]
    pub catalogue: Option<PathBuf>,
    /// Column override `role=column` for --catalogue, repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
}

/// The JSON written by `recfuse embed --output`.
#[derive(Debug, Serialize)]
struct EmbedOutput<'a> {
    model: &'a str,
    device: &'a str,
    precision: EmbedPrecision,
    dim: usize,
    embeddings: Vec<&'a [f32]>,
}

/// Finds the model the user asked for, or the bundled default.
pub(crate) fn locate_model(spec: Option<&str>) -> anyhow::Result<ModelFiles> {
    match spec {
        Some(spec) => Ok(ModelFiles::locate(spec)?),
        None => {
            let dir = default_model_dir().context(
                "the bundled model assets/models/all-MiniLM-L6-v2 was not found next to the executable \
                 or in the current directory; pass --model DIR",
            )?;
            Ok(ModelFiles::from_dir(&dir)?)
        }
    }
}

/// Loads the model for `args`, printing any device or precision notice to stderr.
pub(crate) fn load_embedder(args: &EmbedArgs) -> anyhow::Result<SentenceEmbedder> {
    let files = locate_model(args.model.as_deref())?;
    let embedder = SentenceEmbedder::load_files(&files, args.device, args.precision)?;
    for notice in embedder.notices() {
        eprintln!("note: {notice}");
    }
    Ok(embedder)
}

/// Runs `recfuse embed --catalogue F`: fills the embedding cache with the catalogue's
/// item texts (default template) and prints the throughput.
pub(crate) fn run_embed_catalogue(args: &EmbedArgs, path: &Path) -> anyhow::Result<()> {
    let mapping = crate::data::ColumnMapping::from_args(&args.map)?;
    let (catalogue, _) = crate::data::load_catalogue(path, &mapping)?;
    let template = crate::embed::ItemTextTemplate::default();
    let texts = crate::session::pipeline::item_texts(&catalogue, &template);
    let embedder = load_embedder(args)?;
    let cache = match crate::embed::EmbeddingCache::open_default() {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("note: no embedding cache ({e}); embedding anyway");
            None
        }
    };
    let progress = Progress::new();
    let bar = CliProgressBar::attach(&progress, "embedding");
    let start = Instant::now();
    let result = crate::embed::embed_with_cache(
        &embedder,
        &texts,
        cache.as_ref(),
        &template.fingerprint(),
        args.batch,
        &progress,
    );
    bar.finish();
    let (_, outcome) = result?;
    let seconds = start.elapsed().as_secs_f64();
    let state = match &outcome {
        crate::embed::CacheOutcome::Hit => "read from the cache".to_owned(),
        crate::embed::CacheOutcome::Miss => {
            format!("stored in {}", cache.as_ref().map(|c| c.dir().display().to_string()).unwrap_or_default())
        }
        crate::embed::CacheOutcome::Disabled(why) => format!("not cached: {why}"),
    };
    eprintln!(
        "{} items of {} with {} on {} in {:.2} s ({:.1} items/s); {state}",
        texts.len(),
        path.display(),
        embedder.model_name(),
        embedder.device_label(),
        seconds,
        texts.len() as f64 / seconds.max(1e-9)
    );
    Ok(())
}

/// Runs `recfuse embed --input F --output G` (or `--catalogue F`).
pub(crate) fn run_embed(args: &EmbedArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.catalogue {
        return run_embed_catalogue(args, path);
    }
    let (Some(input), Some(output)) = (&args.input, &args.output) else {
        anyhow::bail!("recfuse embed needs --input texts.json and --output vectors.json, or --catalogue FILE");
    };
    let texts = read_texts(input)?;
    let embedder = load_embedder(args)?;
    let progress = Progress::new();
    let bar = CliProgressBar::attach(&progress, "embedding");
    let start = Instant::now();
    let result = embedder.embed(&texts, args.batch, &progress);
    bar.finish();
    let embeddings = result?;
    let seconds = start.elapsed().as_secs_f64();
    let out = EmbedOutput {
        model: embedder.model_name(),
        device: embedder.device_label(),
        precision: embedder.precision(),
        dim: embeddings.dim,
        embeddings: embeddings.rows().collect(),
    };
    write_json_atomically(output, &out)?;
    eprintln!(
        "embedded {} texts with {} on {} in {:.2} s ({:.1} items/s) -> {}",
        texts.len(),
        embedder.model_name(),
        embedder.device_label(),
        seconds,
        texts.len() as f64 / seconds.max(1e-9),
        output.display()
    );
    Ok(())
}

/// Reads a JSON array of strings.
pub(crate) fn read_texts(path: &Path) -> anyhow::Result<Vec<String>> {
    let raw = crate::data::read::read_regular_text(path, MAX_TEXTS_FILE_BYTES)?;
    serde_json::from_str(&raw).with_context(|| format!("{}: expected a JSON array of strings", path.display()))
}

/// Largest `--input` file of texts.
const MAX_TEXTS_FILE_BYTES: u64 = 1 << 30;

fn write_json_atomically(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let json = serde_json::to_vec(value).with_context(|| format!("cannot write {}", path.display()))?;
    crate::session::write_atomic(path, &json).with_context(|| format!("cannot write {}", path.display()))
}

/// An indicatif progress bar on stderr that follows a [`Progress`] handle. It is driven by
/// the progress callback on the thread that does the work, so no thread is started.
pub(crate) struct CliProgressBar {
    bar: ProgressBar,
    progress: Progress,
}

impl CliProgressBar {
    /// Shows a bar labelled `label` that mirrors `progress` (stage, done/total, rate, ETA).
    pub(crate) fn attach(progress: &Progress, label: &str) -> Self {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{prefix} {msg:>12} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.to_owned());
        let watched = progress.clone();
        let shown = bar.clone();
        progress.set_on_change(move || {
            let s = watched.snapshot();
            shown.set_length(s.total);
            shown.set_position(s.done);
            shown.set_message(s.stage);
        });
        Self { bar, progress: progress.clone() }
    }

    /// Removes the bar (and the callback, which would otherwise keep the handle alive).
    pub(crate) fn finish(self) {
        self.progress.set_on_change(|| {});
        self.bar.finish_and_clear();
    }
}
