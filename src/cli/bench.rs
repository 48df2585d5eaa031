//! `recfuse bench`: repeatable timings of the engine on a named dataset — loading,
//! fitting each signal, re-fusion after a weight change (one user, all users),
//! evaluation and tuning, embedding — with the machine, dataset and configuration
//! printed alongside; and `recfuse bench generate`, the seeded synthetic dataset for the
//! scale benchmark.
//!
//! Every timed row is `warmup` untimed runs then `reps` timed runs, summarised as
//! min / median / max. Reference figures (Python libraries) come from the scripts in
//! `benches/reference/`, which call this command in the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;

use crate::bench::synthetic::{Generator, SyntheticConfig};
use crate::bench::{MachineInfo, Timing, mib, peak_memory_bytes, time_reps, time_reps_with_setup};
use crate::data::write::{OutColumn, ParquetTableWriter};
use crate::data::{DataSources, Dataset, EventWeights, load_dataset};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::experiment::{EvalRequest, TuneSettings, coordinate_ascent, fit_on, tune};
use crate::eval::runner::EvalContext;
use crate::eval::split::{SplitRule, three_way};
use crate::fusion::{CandidateSet, FusionConfig, Normalisation, RankContext, rank, top_k_fused};
use crate::jobs::Progress;
use crate::score::als::AlsScorer;
use crate::score::bm25::Bm25Scorer;
use crate::score::category::CategoryScorer;
use crate::score::freshness::FreshnessScorer;
use crate::score::item_cf::ItemCfScorer;
use crate::score::popularity::PopularityScorer;
use crate::score::price::PriceScorer;
use crate::score::sequential::SequentialScorer;
use crate::score::user_cf::UserCfScorer;
use crate::score::{Interactions, ScoreContext, Scorer, SignalId, SignalParams, ValueTransform};
use crate::session::engine::{Target, fit_signals};
use crate::session::pipeline;

/// What `recfuse bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchArea {
    /// Embedding throughput (items/s) of the catalogue texts.
    Embed,
    /// Reading and validating the data files.
    Load,
    /// Fitting each signal on all events.
    Fit,
    /// Candidate scoring and re-fusion after a weight change, one user and all users.
    Fuse,
    /// Evaluation after a weight change on cached test candidates.
    Eval,
    /// Weight tuning (coordinate ascent on validation).
    Tune,
    /// ALS scoring of every user × every item with top-10 (the numpy reference's task).
    Score,
    /// load, fit, fuse, eval and tune (embed only when asked for by name).
    All,
    /// Write the synthetic dataset (see `--events`, `--items`, `--seed`, `--out`).
    Generate,
}

/// Arguments of `recfuse bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
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
pub struct DatasetSpec {
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
pub fn resolve_dataset(values: &[String], map: &[String]) -> anyhow::Result<DatasetSpec> {
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
pub struct BenchRow {
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
pub struct DatasetInfo {
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
pub struct BenchReport {
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
pub fn params_from(args: &BenchArgs) -> anyhow::Result<SignalParams> {
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
    Ok(p)
}

/// The fusion setting after "the user moved a slider": ALS 0.30 → 0.45.
fn moved(config: &FusionConfig) -> FusionConfig {
    let mut c = config.clone();
    c.set_weight(SignalId::Als, config.weight(SignalId::Als) + 0.15);
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

    fn load(&mut self, spec: &DatasetSpec, time_it: bool) -> anyhow::Result<Dataset> {
        let sources = DataSources {
            catalogue: spec.catalogue.clone(),
            behaviour: spec.behaviour.clone(),
            ..DataSources::default()
        }
        .with_cli_mapping(&spec.map)?;
        let weights = EventWeights::default();
        let start = Instant::now();
        let dataset = load_dataset(&sources, &weights, &self.progress)?;
        let first = start.elapsed().as_secs_f64();
        if time_it {
            let (w, r) = (self.args.warmup.saturating_sub(1), self.args.reps);
            let mut failure = None;
            let timing = time_reps(w, r, || match load_dataset(&sources, &weights, &self.progress) {
                Ok(d) => d.behaviour.len(),
                Err(e) => {
                    failure = Some(e);
                    0
                }
            });
            if let Some(e) = failure {
                return Err(e.into());
            }
            let files: Vec<String> = dataset
                .report
                .files
                .iter()
                .map(|f| format!("{} {} rows ({})", f.table.id(), f.rows_read, f.format))
                .collect();
            self.push(BenchRow::new(
                "load",
                format!("load + validate ({})", spec.name),
                timing,
                format!("{}; first (cold-ish) run {:.2} s", files.join(", "), first),
            ));
        }
        Ok(dataset)
    }

    fn fit(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let all: Vec<usize> = (0..dataset.behaviour.len()).collect();
        let n_items = dataset.catalogue.len();
        let timing = time_reps(w, r, || Interactions::build(&dataset.behaviour, &all, n_items));
        let data = Interactions::build(&dataset.behaviour, &all, n_items);
        let nnz = data.by_user.idx.len();
        let wanted: Vec<SignalId> = if self.args.signal.is_empty() {
            SignalId::ALL.into_iter().filter(|s| *s != SignalId::Semantic).collect()
        } else {
            self.args
                .signal
                .iter()
                .map(|s| SignalId::from_id(s).ok_or_else(|| anyhow::anyhow!("unknown signal '{s}'")))
                .collect::<anyhow::Result<_>>()?
        };
        if self.args.signal.is_empty() || self.args.signal.len() > 1 {
            self.push(BenchRow::new(
                "fit",
                "interactions (aggregate all events)",
                timing,
                format!("{} events → {nnz} user-item pairs", data.events),
            ));
        }
        let texts = pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default());
        let p = self.params.clone();
        let progress = self.progress.clone();
        for signal in wanted {
            let (timing, detail) = match signal {
                SignalId::Popularity => {
                    (time_reps(w, r, || PopularityScorer::fit(&data, &p.popularity)), String::new())
                }
                SignalId::Freshness => {
                    (time_reps(w, r, || FreshnessScorer::fit(&data, &dataset.catalogue, &p.freshness)), String::new())
                }
                SignalId::Price => (time_reps(w, r, || PriceScorer::fit(&dataset.catalogue, &p.price)), String::new()),
                SignalId::Category => (time_reps(w, r, || CategoryScorer::fit(&dataset.catalogue)), String::new()),
                SignalId::UserCf => (
                    time_reps(w, r, || UserCfScorer::fit(&data, &p.user_cf)),
                    "stores the matrix; neighbours are found when scoring".to_owned(),
                ),
                SignalId::Bm25 => (time_reps(w, r, || Bm25Scorer::fit(&texts, &p.bm25)), String::new()),
                SignalId::ItemCf => {
                    let t = time_reps(w, r, || ItemCfScorer::fit(&data, &p.item_cf, &progress));
                    (t, format!("{} neighbours, {:?}", p.item_cf.neighbours, p.item_cf.transform))
                }
                SignalId::Sequential => {
                    (time_reps(w, r, || SequentialScorer::fit(&data, &p.sequential, &progress)), String::new())
                }
                SignalId::Als => {
                    let mut last = None;
                    let t = time_reps(w, r, || {
                        last = AlsScorer::fit(&data, &p.als, &progress).ok();
                    });
                    if let (Some(dir), Some(model)) = (&self.args.export_factors, &last) {
                        export_factors(dir, dataset, &data, model)?;
                        self.notes.push(format!("ALS factors written to {}", dir.display()));
                    }
                    let a = &p.als;
                    (
                        t,
                        format!(
                            "{} factors, λ {}, α {}, {} iterations, CG {} steps, {:?}",
                            a.factors, a.regularization, a.alpha, a.iterations, a.cg_steps, a.transform
                        ),
                    )
                }
                SignalId::Semantic => {
                    self.notes.push("semantic is fitted by embedding: see `recfuse bench embed`".to_owned());
                    continue;
                }
            };
            self.push(BenchRow::new("fit", signal.id(), timing, detail));
        }
        Ok(())
    }

    fn fuse(&mut self, dataset: Arc<Dataset>) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default()));
        let start = Instant::now();
        let engine =
            pipeline::fit_all(dataset.clone(), &self.params, texts, &self.progress).map_err(Self::cancelled)?;
        self.notes.push(format!(
            "fuse: all signals but semantic fitted once in {:.1} s (semantic needs embeddings: see the Embedding section)",
            start.elapsed().as_secs_f64()
        ));
        let base = self.fusion.clone();
        let after = moved(&base);
        let configs = [base.clone(), after.clone()];
        // One user: the heaviest shopper (most events) — the largest candidate set.
        let heavy = (0..dataset.behaviour.users.len() as u32)
            .max_by_key(|&u| (engine.interactions.user_event_count(u), std::cmp::Reverse(u)))
            .unwrap_or(0);
        let heavy_id = dataset.behaviour.users.name(heavy).to_owned();
        let target = Target::Shopper(heavy_id.clone());
        let prep = time_reps(w, r, || engine.prepare_target(target.clone(), &base, &[]));
        let mut state = engine.prepare_target(target.clone(), &base, &[]);
        let n_cand = state.candidates.len();
        let history = engine.interactions.user_event_count(heavy);
        self.push(BenchRow::new(
            "fuse",
            "one user: score all items, build candidates (prepare_target)",
            prep,
            format!("shopper {heavy_id} ({history} events), {n_cand} candidates, {} items", dataset.catalogue.len()),
        ));
        // Where the candidate-building time goes: each signal scoring every item for this shopper.
        let profile = state.profile.clone();
        let sctx = ScoreContext { profile: &profile, query: None };
        let mut buffer = vec![0.0f32; dataset.catalogue.len()];
        for scorer in engine.models.scorers_for(&SignalId::RECOMMEND) {
            let t = time_reps(w, r, || {
                scorer.score_all(&sctx, &mut buffer);
                buffer.first().copied()
            });
            self.push(BenchRow::new(
                "fuse",
                format!("one user: {} scores every item (part of prepare_target)", scorer.id()),
                t,
                "",
            ));
        }
        let ctx = RankContext { catalogue: engine.catalogue(), rules: &[], vectors: None };
        let mut flip = 0usize;
        let one = time_reps(w, r.max(20), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            state.candidates.prepare(c);
            rank(&state.candidates, c, &ctx, 10).len()
        });
        self.push(
            BenchRow::new(
                "fuse",
                "one user: re-fusion after a weight change (prepare + rank)",
                one,
                format!("{n_cand} candidates, full ranked list"),
            )
            .with_goal("< 1 ms", 1e-3),
        );
        let explain = time_reps(w, r.max(20), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            engine.explain(&mut state, c, &[], 10).len()
        });
        self.push(
            BenchRow::new(
                "fuse",
                "one user: re-fusion + explain top-10 (contributions, leave-one-out)",
                explain,
                "evidence sentences cached after the first call",
            )
            .with_goal("< 1 ms", 1e-3),
        );
        // All users.
        let mut users: Vec<u32> = engine.interactions.active_users().collect();
        let all_users = users.len();
        if self.args.max_users > 0 && users.len() > self.args.max_users {
            let step = users.len() as f64 / self.args.max_users as f64;
            users = (0..self.args.max_users).filter_map(|k| users.get((k as f64 * step) as usize).copied()).collect();
            self.notes.push(format!(
                "fuse: candidate sets for {} of {all_users} users (evenly spaced); all-user figures scale linearly",
                users.len()
            ));
        }
        let signals: Vec<SignalId> =
            SignalId::RECOMMEND.into_iter().filter(|s| engine.models.scorers.contains_key(s)).collect();
        let scorers = engine.models.scorers_for(&signals);
        let n_items = dataset.catalogue.len();
        let build_start = Instant::now();
        let mut sets: Vec<CandidateSet> = users
            .par_iter()
            .map(|&u| {
                let profile = engine.interactions.profile(u);
                let sctx = ScoreContext { profile: &profile, query: None };
                let mut set = CandidateSet::build(&scorers, &sctx, n_items, &base, &[], None);
                set.prepare(&base);
                set
            })
            .collect();
        let build = Timing::from_seconds(0, vec![build_start.elapsed().as_secs_f64()]);
        let total_candidates: usize = sets.iter().map(CandidateSet::len).sum();
        let bytes: usize = sets.iter().map(|s| s.len() * (4 + signals.len() * 12 + 4)).sum();
        self.push(BenchRow::new(
            "fuse",
            format!("all users: build candidate sets once ({} users)", sets.len()),
            build,
            format!(
                "{} signals, {:.0} candidates/user on average, ≈{:.0} MiB cached scores",
                signals.len(),
                total_candidates as f64 / sets.len().max(1) as f64,
                mib(bytes as u64)
            ),
        ));
        let all = time_reps(w, r.max(10), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            sets.par_iter()
                .map_init(Vec::new, |scratch, set| top_k_fused(set, c, 10, scratch))
                .collect::<Vec<Vec<u32>>>()
                .len()
        });
        self.push(
            BenchRow::new(
                "fuse",
                format!("all users: re-fusion after a weight change, top-10 ({} users)", sets.len()),
                all,
                "fused scores + top-10 of every cached candidate set (rayon)",
            )
            .with_goal("< 16 ms", 16e-3),
        );
        let full = time_reps(w, r, || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            sets.par_iter().map(|set| rank(set, c, &ctx, 10).len()).sum::<usize>()
        });
        self.push(BenchRow::new(
            "fuse",
            format!("all users: full rank() after a weight change ({} users)", sets.len()),
            full,
            "complete ranked lists with rule handling (what the GUI list view uses)",
        ));
        let mut renorm = base.clone();
        for s in renorm.signals.values_mut() {
            s.normalisation = Normalisation::Rank;
        }
        let norm_configs = [renorm, base.clone()];
        let norm = time_reps(w, r, || {
            flip += 1;
            let c = norm_configs.get(flip % 2).unwrap_or(&base);
            sets.par_iter_mut()
                .map_init(Vec::new, |scratch, set| {
                    set.prepare(c);
                    top_k_fused(set, c, 10, scratch).len()
                })
                .sum::<usize>()
        });
        self.push(BenchRow::new(
            "fuse",
            format!("all users: normalisation change (re-normalise + top-10, {} users)", sets.len()),
            norm,
            "min-max ↔ rank for every signal",
        ));
        Ok(())
    }

    fn eval_request(&self, dataset: &Dataset) -> EvalRequest {
        EvalRequest {
            rule: SplitRule::Temporal { test_fraction: 0.1 },
            ks: vec![10],
            binary: true,
            bootstrap: BootstrapConfig { resamples: self.args.bootstrap, ..BootstrapConfig::default() },
            params: self.params.clone(),
            config: self.fusion.clone(),
            vectors: None,
            texts: Arc::new(pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default())),
        }
    }

    fn eval(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let req = self.eval_request(dataset);
        let split = three_way(&dataset.behaviour, req.rule);
        let start = Instant::now();
        let train = Interactions::build(&dataset.behaviour, &split.train, dataset.catalogue.len());
        let models = fit_signals(&train, &dataset.catalogue, &req.texts, &req.params, &self.progress)
            .map_err(Self::cancelled)?;
        let fitted = start.elapsed().as_secs_f64();
        let mut ctx = EvalContext::prepare(
            dataset,
            &split.train,
            &train,
            &split.test,
            &models,
            &req.config,
            req.binary,
            &self.progress,
        )
        .map_err(Self::cancelled)?;
        let prepared = start.elapsed().as_secs_f64();
        self.push(BenchRow::new(
            "eval",
            "prepare: fit on train + test candidates (once)",
            Timing::from_seconds(0, vec![prepared]),
            format!(
                "temporal 10 % split: {} train / {} test events, {} users evaluated; fit {:.1} s",
                split.train.len(),
                split.test.len(),
                ctx.users.len(),
                fitted
            ),
        ));
        let base = req.config.clone();
        let configs = [base.clone(), moved(&base)];
        let boot = req.bootstrap;
        let mut flip = 0usize;
        let mut ndcg = 0.0;
        let measure = time_reps(w, r.max(10), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            ctx.prepare_for(c);
            let m = ctx.measure(c, &[10], &boot);
            ndcg = m.metrics.get("ndcg@10").map_or(0.0, |e| e.value);
            m.metrics.len()
        });
        self.push(
            BenchRow::new(
                "eval",
                format!("after a weight change: all metrics@10 with {}-resample intervals", boot.resamples),
                measure,
                format!("{} users; ndcg@10 {ndcg:.4}", ctx.users.len()),
            )
            .with_goal("< 100 ms", 0.1),
        );
        let quick = time_reps(w, r.max(10), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            ctx.prepare_for(c);
            ctx.mean_ndcg(c, 10)
        });
        self.push(
            BenchRow::new("eval", "after a weight change: mean NDCG@10 only (tuning objective)", quick, "")
                .with_goal("< 100 ms", 0.1),
        );
        let full_boot = BootstrapConfig { resamples: 1000, ..boot };
        let thousand = time_reps(w, r, || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            ctx.prepare_for(c);
            ctx.measure(c, &[10], &full_boot).metrics.len()
        });
        self.push(BenchRow::new("eval", "after a weight change: all metrics@10, 1000 resamples (CLI)", thousand, ""));
        Ok(())
    }

    fn tune(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let r = self.args.reps.min(3);
        let req = self.eval_request(dataset);
        let settings = TuneSettings::default();
        let mut outcome = None;
        let progress = self.progress.clone();
        let whole = time_reps(0, r, || {
            outcome = tune(dataset, &req, &settings, &progress).ok();
        });
        let detail = match &outcome {
            Some(o) => format!(
                "{} objective evaluations; validation ndcg@10 {:.4} → {:.4}",
                o.evaluations, o.start_ndcg, o.validation_ndcg
            ),
            None => "cancelled".to_owned(),
        };
        self.push(
            BenchRow::new("tune", "tune: fit on inner train + candidates + coordinate ascent", whole, detail)
                .with_goal("< 60 s", 60.0),
        );
        // The search alone, on a freshly prepared validation context each run (untimed).
        let split = three_way(&dataset.behaviour, req.rule);
        let (inner, models) = fit_on(dataset, &split.inner_train, &req, &progress).map_err(Self::cancelled)?;
        let prepare = || {
            EvalContext::prepare(
                dataset,
                &split.inner_train,
                &inner,
                &split.validation,
                &models,
                &req.config,
                req.binary,
                &progress,
            )
            .ok()
        };
        let users = prepare().map_or(0, |c| c.users.len());
        let search = time_reps_with_setup(0, r, prepare, |ctx| {
            ctx.map(|mut c| coordinate_ascent(&mut c, &req.config, &settings, &progress).evaluations)
        });
        self.push(BenchRow::new(
            "tune",
            "tune: coordinate ascent only (prepared validation context)",
            search,
            format!("{users} validation users; {} starts × {} rounds", settings.restarts + 1, settings.rounds),
        ));
        Ok(())
    }

    fn score(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let all: Vec<usize> = (0..dataset.behaviour.len()).collect();
        let data = Interactions::build(&dataset.behaviour, &all, dataset.catalogue.len());
        let model = AlsScorer::fit(&data, &self.params.als, &self.progress).map_err(Self::cancelled)?;
        if let Some(dir) = &self.args.export_factors {
            export_factors(dir, dataset, &data, &model)?;
            self.notes.push(format!("ALS factors written to {}", dir.display()));
        }
        let users: Vec<u32> = data.active_users().collect();
        let n_items = dataset.catalogue.len();
        // Profiles are built outside the timed part: the reference gets its exclusion
        // matrix ready-made too.
        let profiles: Vec<crate::score::UserProfile> = users.iter().map(|&u| data.profile(u)).collect();
        let timing = time_reps(w, r, || {
            profiles
                .par_iter()
                .map_init(
                    || vec![0.0f32; n_items],
                    |scores, profile| {
                        let ctx = ScoreContext { profile, query: None };
                        model.score_all(&ctx, scores);
                        crate::score::topk::top_k_indices(scores, 10, |i| profile.has_item(i as u32))
                    },
                )
                .collect::<Vec<Vec<u32>>>()
                .len()
        });
        self.push(BenchRow::new(
            "score",
            format!("ALS: score all items for every user + top-10 ({} users × {n_items} items)", users.len()),
            timing,
            format!("{} factors; the user's own items excluded", model.factors),
        ));
        Ok(())
    }

    fn embed(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let dir = match &self.args.model {
            Some(d) => d.clone(),
            None => crate::embed::default_model_dir()
                .ok_or_else(|| anyhow::anyhow!("the bundled model assets/models/all-MiniLM-L6-v2 was not found"))?,
        };
        let device: crate::embed::DeviceChoice =
            self.args.device.parse().map_err(|e| anyhow::anyhow!("--device {}: {e}", self.args.device))?;
        let embedder = crate::embed::SentenceEmbedder::load(&dir, device, crate::embed::EmbedPrecision::F32)?;
        self.notes.extend(embedder.notices().iter().cloned());
        let mut texts = pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default());
        texts.retain(|t| !t.trim().is_empty());
        if let Some(limit) = self.args.limit {
            texts.truncate(limit);
        }
        let result =
            crate::embed::bench_embed(&embedder, &texts, self.args.batch_size, self.args.warmup, self.args.reps)?;
        self.push(BenchRow::new(
            "embed",
            format!("embed {} catalogue texts ({}, {})", result.items, result.model, result.device),
            Timing::from_seconds(result.warmup, result.seconds.clone()),
            format!(
                "items/s min {:.1} / median {:.1} / max {:.1}; batch {}, {} threads, {}",
                result.min_items_per_s,
                result.median_items_per_s,
                result.max_items_per_s,
                result.batch_size,
                result.threads,
                result.precision
            ),
        ));
        Ok(())
    }
}

/// Writes ALS factors for the reference scripts: `users.txt`, `items.txt` (external
/// ids, one per line, row order), `user_factors.f32` and `item_factors.f32` (row-major
/// little-endian f32), the fitted user × item matrix as CSR (`seen_ptr.u64`,
/// `seen_idx.u32`, `seen_val.f32`: summed event weights) and `meta.json`.
pub fn export_factors(dir: &Path, dataset: &Dataset, data: &Interactions, model: &AlsScorer) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    let users: Vec<&str> = (0..dataset.behaviour.users.len() as u32).map(|u| dataset.behaviour.users.name(u)).collect();
    let items: Vec<&str> = (0..dataset.catalogue.len() as u32)
        .map(|i| dataset.catalogue.ids.names().get(i as usize).map_or("", String::as_str))
        .collect();
    write("users.txt", (users.join("\n") + "\n").as_bytes())?;
    write("items.txt", (items.join("\n") + "\n").as_bytes())?;
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    write("user_factors.f32", &bytes(&model.user_factors))?;
    write("item_factors.f32", &bytes(&model.item_factors))?;
    let ptr: Vec<u8> = data.by_user.ptr.iter().flat_map(|&x| (x as u64).to_le_bytes()).collect();
    let idx: Vec<u8> = data.by_user.idx.iter().flat_map(|x| x.to_le_bytes()).collect();
    write("seen_ptr.u64", &ptr)?;
    write("seen_idx.u32", &idx)?;
    let val: Vec<u8> = data.by_user.val.iter().flat_map(|x| x.to_le_bytes()).collect();
    write("seen_val.f32", &val)?;
    let meta = serde_json::json!({
        "factors": model.factors,
        "users": users.len(),
        "items": items.len(),
        "layout": "row-major little-endian f32",
    });
    write("meta.json", serde_json::to_string_pretty(&meta)?.as_bytes())?;
    Ok(())
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
pub fn run(args: &BenchArgs) -> anyhow::Result<u8> {
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
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|w| w.bench)
    }

    #[test]
    fn parses_areas_and_options() {
        let a = parse(&[]).expect("defaults");
        assert_eq!(a.area, BenchArea::All);
        assert_eq!(a.data, vec!["sample".to_owned()]);
        assert_eq!((a.reps, a.warmup, a.json), (5, 1, false));
        let a = parse(&["fit", "--data", "retail", "--signal", "als,item_cf", "--reps", "3", "--json"]).expect("fit");
        assert_eq!(a.area, BenchArea::Fit);
        assert_eq!(a.signal, vec!["als".to_owned(), "item_cf".to_owned()]);
        assert_eq!((a.reps, a.json), (3, true));
        let a = parse(&["load", "--data", "cat.csv", "events.csv"]).expect("two files");
        assert_eq!(a.data.len(), 2);
        let a = parse(&["generate", "--events", "1000", "--items", "10", "--seed", "7", "--out", "/tmp/x"])
            .expect("generate");
        assert_eq!((a.area, a.events, a.items, a.seed), (BenchArea::Generate, 1000, 10, 7));
        assert!(parse(&["nonsense"]).is_err());
        assert!(parse(&["fit", "--als-transform", "cubic"]).is_err());
        assert!(parse(&["fit", "--reps", "-1"]).is_err());
    }

    #[test]
    fn als_overrides_apply() {
        let a =
            parse(&["fit", "--als-transform", "raw", "--als-alpha", "0.125", "--als-iterations", "3"]).expect("parse");
        let p = params_from(&a).expect("params");
        assert_eq!(p.als.transform, ValueTransform::Raw);
        assert_eq!(p.als.alpha, 0.125);
        assert_eq!(p.als.iterations, 3);
        let bad = parse(&["fit", "--als-alpha=-1"]).expect("parse");
        assert!(params_from(&bad).is_err());
    }

    #[test]
    fn datasets_resolve_or_fail_clearly() {
        let sample = resolve_dataset(&["sample".to_owned()], &[]).expect("the bundled sample exists");
        assert!(sample.behaviour.ends_with("events.csv"));
        assert!(sample.catalogue.is_some());
        let err = resolve_dataset(&["/no/such/file.csv".to_owned()], &[]).expect_err("missing file");
        assert!(err.to_string().contains("not found"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let err = resolve_dataset(&[dir.path().display().to_string()], &[]).expect_err("empty dir");
        assert!(err.to_string().contains("events.parquet"), "{err}");
    }

    #[test]
    fn generated_data_round_trips_through_the_loader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("synth");
        let args = parse(&[
            "generate",
            "--events",
            "3000",
            "--items",
            "200",
            "--seed",
            "5",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--json",
        ])
        .expect("parse");
        assert_eq!(run(&args).expect("generate"), 0);
        let spec = resolve_dataset(&[out.display().to_string()], &[]).expect("resolve");
        let sources = DataSources {
            catalogue: spec.catalogue.clone(),
            behaviour: spec.behaviour.clone(),
            ..DataSources::default()
        };
        let d = load_dataset(&sources, &EventWeights::default(), &Progress::new()).expect("load");
        assert_eq!(d.behaviour.len(), 3000, "every generated event is valid");
        assert_eq!(d.catalogue.len(), 200);
        assert!(d.catalogue.has_prices() && d.catalogue.has_categories());
    }
}
