//! `recfuse bench`: repeatable timings of the engine on a named dataset — loading,
//! fitting each signal, re-fusion after a weight change (one user, all users),
//! evaluation and tuning, embedding — with the machine, dataset and configuration
//! printed alongside; and `recfuse bench generate`, the seeded synthetic dataset for the
//! scale benchmark.
//!
//! Every timed row is `warmup` untimed runs then `reps` timed runs, summarised as
//! min / median / max. Reference figures (Python libraries) come from the scripts in
//! `benches/reference/`, which call this command in the same run.

mod candidates;
mod fuse;
mod live;
mod runner;
pub(crate) mod support;
mod synthetic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;

use crate::data::write::{OutColumn, ParquetTableWriter};
use crate::data::{DataSources, Dataset, EventWeights, load_dataset};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::experiment::{EvalRequest, TuneSettings, coordinate_ascent, fit_on, tune};
use crate::eval::runner::EvalContext;
use crate::eval::split::{SplitRule, three_way};
use crate::fusion::{CandidateSet, FusionConfig, Normalisation, RankContext, rank, top_k_fused};
use crate::jobs::Progress;
use crate::score::als::AlsScorer;
use crate::score::{FitInput, fit_signals, registry};
use crate::score::{Interactions, ScoreContext, Scorer, SignalId, SignalParams, ValueTransform};
use crate::session::engine::Target;
use crate::session::pipeline;
use support::{MachineInfo, Timing, mib, peak_memory_bytes, time_reps, time_reps_with_setup};
use synthetic::{Generator, SyntheticConfig};

/// What `recfuse bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchArea {
    /// Embedding throughput (items/s) of the catalogue texts.
    Embed,
    /// Reading and validating the data files.
    Load,
    /// Fitting each signal on all events.
    Fit,
    /// Candidate scoring and re-fusion after a weight change, one user and all users.
    Fuse,
    /// Index-built candidates against exhaustive ones: per-signal recall of the
    /// exhaustive top-N, fused top-10 agreement and time per shopper (`--max-users`
    /// shoppers, default 300).
    Candidates,
    /// Evaluation after a weight change on cached test candidates.
    Eval,
    /// Weight tuning (coordinate ascent on validation).
    Tune,
    /// ALS scoring of every user × every item with top-10 (the numpy reference's task).
    Score,
    /// Live updates: 1,000-event batches folded in (append → refreshed list), and each
    /// signal's NDCG@10 and top-10 overlap against a refit on the same events.
    Live,
    /// load, fit, fuse, eval and tune (embed only when asked for by name).
    All,
    /// Write the synthetic dataset (see `--events`, `--items`, `--seed`, `--out`).
    Generate,
}

/// Arguments of `recfuse bench`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// What to measure.
    #[arg(value_enum, default_value = "all")]
    pub area: BenchArea,
    /// Dataset: sample, retail, completejourney, movielens, a directory written by
    /// `bench generate`, a behaviour file, or a catalogue file and a behaviour file.
    #[arg(long, num_args = 1..=2, value_name = "NAME|PATH", default_values_t = ["sample".to_owned()])]
    pub data: Vec<String>,
    /// Column override `role=column` (or `behaviour.role=column`), repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
    /// Device for `embed`: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Precision for `embed`: f32, int8 (CPU), f16 or bf16 (GPU).
    #[arg(long, default_value = "f32")]
    pub precision: crate::embed::EmbedPrecision,
    /// Timed repetitions per measurement.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Untimed warm-up runs per measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// `fit`: only these signals (comma-separated ids, e.g. `als,item_cf`).
    #[arg(long, value_delimiter = ',')]
    pub signal: Vec<String>,
    /// ALS latent factors.
    #[arg(long)]
    pub als_factors: Option<usize>,
    /// ALS iterations.
    #[arg(long)]
    pub als_iterations: Option<usize>,
    /// ALS regularisation λ.
    #[arg(long)]
    pub als_regularization: Option<f32>,
    /// ALS confidence scale α (c = 1 + α·t(value)).
    #[arg(long)]
    pub als_alpha: Option<f32>,
    /// ALS value transform t: binary, log or raw.
    #[arg(long, value_parser = ["binary", "log", "raw"])]
    pub als_transform: Option<String>,
    /// ALS conjugate-gradient steps per solve.
    #[arg(long)]
    pub als_cg_steps: Option<usize>,
    /// `fit`: write the fitted ALS factors to this directory (for the reference scripts).
    #[arg(long, value_name = "DIR")]
    pub export_factors: Option<PathBuf>,
    /// `fuse`: build candidate sets for at most this many users (0 = every user).
    #[arg(long, default_value_t = 0)]
    pub max_users: usize,
    /// `eval`: bootstrap resamples of the re-measure after a weight change (the GUI's
    /// live evaluation uses 200).
    #[arg(long, default_value_t = 200)]
    pub bootstrap: usize,
    /// `embed`: texts per batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// `embed`: embed at most this many catalogue texts.
    #[arg(long)]
    pub limit: Option<usize>,
    /// `embed`: model directory (default: the bundled all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// `generate`: number of events.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: usize,
    /// `generate`: number of items.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: usize,
    /// `generate`: number of users (0 = one per 20 events).
    #[arg(long, default_value_t = 0)]
    pub users: usize,
    /// `generate`: seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// `generate`: output directory (created; keep it outside the repository).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The files of a benchmark dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DatasetSpec {
    /// Preset name or "files".
    pub name: String,
    /// Catalogue file, when any.
    pub catalogue: Option<PathBuf>,
    /// Behaviour file.
    pub behaviour: PathBuf,
    /// Column overrides.
    pub map: Vec<String>,
}

/// The shared data folder: `$RECFUSE_DATA_DIR`, else `../shared/data` next to the
/// working directory or the source tree.
fn shared_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RECFUSE_DATA_DIR") {
        return PathBuf::from(d);
    }
    let candidates = [PathBuf::from("../shared/data"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")];
    candidates.iter().find(|p| p.is_dir()).cloned().unwrap_or_else(|| PathBuf::from("../shared/data"))
}

/// The bundled sample folder (working directory first, then the source tree).
fn sample_dir() -> PathBuf {
    let local = PathBuf::from("sample_data/online_retail");
    if local.is_dir() { local } else { Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/online_retail") }
}

/// Resolves `--data` values into files. Presets name the datasets of BENCHMARKS.md.
pub(crate) fn resolve_dataset(values: &[String], map: &[String]) -> anyhow::Result<DatasetSpec> {
    let shared = shared_data_dir();
    let spec = |name: &str, catalogue: Option<PathBuf>, behaviour: PathBuf, extra: &[&str]| DatasetSpec {
        name: name.to_owned(),
        catalogue,
        behaviour,
        map: extra.iter().map(|s| (*s).to_owned()).chain(map.iter().cloned()).collect(),
    };
    let resolved = match values {
        [one] => match one.as_str() {
            "sample" => {
                let d = sample_dir();
                spec("sample", Some(d.join("catalogue.csv")), d.join("events.csv"), &[])
            }
            "retail" => spec("retail", None, shared.join("online_retail/online_retail.csv.gz"), &[]),
            "completejourney" | "complete-journey" | "cj" => {
                let d = shared.join("completejourney");
                spec("completejourney", Some(d.join("products.parquet")), d.join("transactions.parquet"), &[])
            }
            "movielens" => {
                let d = shared.join("movielens_latest_small");
                spec("movielens", Some(d.join("movies.csv")), d.join("ratings.csv"), &[])
            }
            path => {
                let p = PathBuf::from(path);
                if p.is_dir() {
                    let catalogue = p.join("catalogue.parquet");
                    let events = p.join("events.parquet");
                    if !events.is_file() {
                        anyhow::bail!(
                            "{}: a data directory must hold events.parquet (written by `recfuse bench generate`)",
                            p.display()
                        );
                    }
                    spec("generated", catalogue.is_file().then_some(catalogue), events, &[])
                } else {
                    spec("files", None, p, &[])
                }
            }
        },
        [catalogue, behaviour] => spec("files", Some(PathBuf::from(catalogue)), PathBuf::from(behaviour), &[]),
        _ => anyhow::bail!("--data takes a preset name, a directory, or one or two files"),
    };
    for path in resolved.catalogue.iter().chain(std::iter::once(&resolved.behaviour)) {
        if !path.exists() {
            anyhow::bail!("dataset '{}': {} not found", resolved.name, path.display());
        }
    }
    Ok(resolved)
}

/// One result row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchRow {
    /// Area (load, fit, fuse, eval, tune, embed).
    pub area: &'static str,
    /// What was timed.
    pub name: String,
    /// The timings.
    pub timing: Timing,
    /// Extra facts (sizes, throughput, metric values).
    pub detail: String,
    /// The goal, when the issues set one.
    pub goal: Option<String>,
    /// Whether the median meets the goal.
    pub met: Option<bool>,
}

impl BenchRow {
    fn new(area: &'static str, name: impl Into<String>, timing: Timing, detail: impl Into<String>) -> Self {
        Self { area, name: name.into(), timing, detail: detail.into(), goal: None, met: None }
    }

    fn with_goal(mut self, label: &str, limit_s: f64) -> Self {
        self.met = Some(self.timing.median_s < limit_s);
        self.goal = Some(label.to_owned());
        self
    }
}

/// Facts about the loaded dataset.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DatasetInfo {
    /// The files.
    pub spec: DatasetSpec,
    /// Rows read from the behaviour file.
    pub rows_read: usize,
    /// Events kept.
    pub events: usize,
    /// Distinct users with events.
    pub users: usize,
    /// Items in the catalogue.
    pub items: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchReport {
    /// Machine.
    pub machine: MachineInfo,
    /// Dataset, when one was loaded.
    pub dataset: Option<DatasetInfo>,
    /// Warm-up runs and repetitions.
    pub warmup: usize,
    /// Timed repetitions.
    pub reps: usize,
    /// Signal parameters used.
    pub params: SignalParams,
    /// Fusion configuration used (before the weight change).
    pub fusion: FusionConfig,
    /// Result rows.
    pub rows: Vec<BenchRow>,
    /// Notes (what was skipped and why).
    pub notes: Vec<String>,
    /// Peak resident memory of the process (VmHWM), MiB.
    pub peak_memory_mib: Option<f64>,
}

/// The signal parameters with the `--als-*` overrides applied.
pub(crate) fn params_from(args: &BenchArgs) -> anyhow::Result<SignalParams> {
    let mut p = SignalParams::default();
    if let Some(f) = args.als_factors {
        p.als.factors = f.max(1);
    }
    if let Some(i) = args.als_iterations {
        p.als.iterations = i;
    }
    if let Some(r) = args.als_regularization {
        anyhow::ensure!(r.is_finite() && r >= 0.0, "--als-regularization must be a non-negative number");
        p.als.regularization = r;
    }
    if let Some(a) = args.als_alpha {
        anyhow::ensure!(a.is_finite() && a >= 0.0, "--als-alpha must be a non-negative number");
        p.als.alpha = a;
    }
    if let Some(t) = &args.als_transform {
        p.als.transform = match t.as_str() {
            "binary" => ValueTransform::Binary,
            "raw" => ValueTransform::Raw,
            _ => ValueTransform::Log,
        };
    }
    if let Some(s) = args.als_cg_steps {
        p.als.cg_steps = s;
    }
    crate::limits::check_count("--bootstrap", args.bootstrap, 0, crate::limits::MAX_BOOTSTRAP)?;
    p.check()?;
    Ok(p)
}

/// The fusion setting after "the user moved a slider": ALS 0.30 → 0.45.
fn moved(config: &FusionConfig) -> FusionConfig {
    let mut c = config.clone();
    c.set_weight(SignalId::ALS, config.weight(SignalId::ALS) + 0.15);
    c
}

struct Bench<'a> {
    args: &'a BenchArgs,
    params: SignalParams,
    fusion: FusionConfig,
    rows: Vec<BenchRow>,
    notes: Vec<String>,
    progress: Progress,
}

impl Bench<'_> {
    fn push(&mut self, row: BenchRow) {
        if !self.args.json {
            eprintln!("  {:<6} {:<58} {}", row.area, row.name, row.timing.describe());
        }
        self.rows.push(row);
    }

    fn cancelled(_: crate::jobs::Cancelled) -> anyhow::Error {
        anyhow::anyhow!("cancelled")
    }
}

/// Writes the synthetic dataset to `args.out`.
fn generate(args: &BenchArgs) -> anyhow::Result<u8> {
    let Some(out) = &args.out else {
        anyhow::bail!("bench generate needs --out DIR (keep it outside the repository, e.g. /work/bench_data/synth)");
    };
    anyhow::ensure!(args.events > 0 && args.items > 0, "--events and --items must be positive");
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let config = SyntheticConfig {
        events: args.events,
        items: args.items,
        users: args.users,
        seed: args.seed,
        ..SyntheticConfig::default()
    };
    let start = Instant::now();
    let mut generator = Generator::new(config.clone());
    let cat = generator.catalogue().clone();
    let mut writer = ParquetTableWriter::create(&out.join("catalogue.parquet"))?;
    writer.write(vec![
        OutColumn::Text("item_id", cat.item_id),
        OutColumn::Text("title", cat.title),
        OutColumn::Text("category", cat.category),
        OutColumn::Text("brand", cat.brand),
        OutColumn::Float("price", cat.price),
        OutColumn::Int("created_at", cat.created_at),
    ])?;
    let items = writer.finish()?;
    let mut writer = ParquetTableWriter::create(&out.join("events.parquet"))?;
    while let Some(batch) = generator.next_batch(1 << 20) {
        writer.write(vec![
            OutColumn::Text("user_id", batch.user_id),
            OutColumn::Text("item_id", batch.item_id),
            OutColumn::Text("event_type", batch.event_type),
            OutColumn::Int("timestamp", batch.timestamp),
            OutColumn::Int("quantity", batch.quantity),
            OutColumn::Text("session_id", batch.session_id),
        ])?;
    }
    let events = writer.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    let meta = serde_json::json!({
        "generator": "recfuse bench generate (src/bench/synthetic.rs)",
        "events": events,
        "items": items,
        "users": config.user_count(),
        "seed": config.seed,
        "days": config.days,
        "start_unix": config.start,
        "item_zipf": config.item_zipf,
        "seconds": seconds,
    });
    std::fs::write(out.join("meta.json"), serde_json::to_string_pretty(&meta)?)
        .with_context(|| format!("cannot write {}", out.join("meta.json").display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&meta)?);
    } else {
        println!(
            "wrote {events} events, {items} items, {} users (seed {}) to {} in {seconds:.1} s",
            config.user_count(),
            config.seed,
            out.display()
        );
    }
    Ok(0)
}

fn print_human(report: &BenchReport) {
    println!("machine: {}", report.machine.describe());
    if let Some(d) = &report.dataset {
        let catalogue =
            d.spec.catalogue.as_ref().map_or("(derived from behaviour)".to_owned(), |p| p.display().to_string());
        println!("dataset: {} — catalogue {catalogue}, behaviour {}", d.spec.name, d.spec.behaviour.display());
        if !d.spec.map.is_empty() {
            println!("         --map {}", d.spec.map.join(" --map "));
        }
        println!("         {} rows read, {} events kept, {} users, {} items", d.rows_read, d.events, d.users, d.items);
    }
    println!("runs:    {} warm-up, {} timed (min / median / max)", report.warmup, report.reps);
    println!();
    println!("{:<6} {:<70} {:>30}  {:<9} detail", "area", "what", "min / median / max", "goal");
    for row in &report.rows {
        let goal = match (&row.goal, row.met) {
            (Some(g), Some(true)) => format!("{g} ✓"),
            (Some(g), _) => format!("{g} ✗"),
            _ => String::new(),
        };
        println!("{:<6} {:<70} {:>30}  {:<9} {}", row.area, row.name, row.timing.describe(), goal, row.detail);
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    if let Some(m) = report.peak_memory_mib {
        println!("peak memory (VmHWM): {m:.0} MiB");
    }
}

/// Runs `recfuse bench`.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<u8> {
    if args.area == BenchArea::Generate {
        return generate(args);
    }
    let spec = resolve_dataset(&args.data, &args.map)?;
    let params = params_from(args)?;
    let mut bench = Bench {
        args,
        params: params.clone(),
        fusion: FusionConfig::default(),
        rows: Vec::new(),
        notes: Vec::new(),
        progress: Progress::new(),
    };
    if !args.json {
        eprintln!("recfuse bench {:?} on {} …", args.area, spec.name);
    }
    let area = args.area;
    let dataset = bench.load(&spec, matches!(area, BenchArea::Load | BenchArea::All))?;
    let info = DatasetInfo {
        spec: spec.clone(),
        rows_read: dataset.report.files.last().map_or(0, |f| f.rows_read),
        events: dataset.behaviour.len(),
        users: dataset.report.users,
        items: dataset.catalogue.len(),
    };
    let dataset = Arc::new(dataset);
    if matches!(area, BenchArea::Fit | BenchArea::All) {
        bench.fit(&dataset)?;
    }
    if matches!(area, BenchArea::Fuse | BenchArea::All) {
        bench.fuse(dataset.clone())?;
    }
    if area == BenchArea::Candidates {
        bench.candidates(dataset.clone())?;
    }
    if matches!(area, BenchArea::Eval | BenchArea::All) {
        bench.eval(&dataset)?;
    }
    if matches!(area, BenchArea::Tune | BenchArea::All) {
        bench.tune(&dataset)?;
    }
    if area == BenchArea::Score {
        bench.score(&dataset)?;
    }
    if area == BenchArea::Embed {
        bench.embed(&dataset)?;
    }
    if area == BenchArea::Live {
        bench.live(&dataset)?;
    }
    let report = BenchReport {
        machine: MachineInfo::detect(),
        dataset: Some(info),
        warmup: args.warmup,
        reps: args.reps,
        params,
        fusion: bench.fusion,
        rows: bench.rows,
        notes: bench.notes,
        peak_memory_mib: peak_memory_bytes().map(mib),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(0)
}

#[cfg(test)]
mod tests;
