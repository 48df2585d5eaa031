//! `recfuse recommend` and `recfuse search`: ranked lists with attribution.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::DataArgs;
use crate::fusion::{CandidateSource, FusionConfig, FusionMethod, Rule, load_rules};
use crate::jobs::Progress;
use crate::score::{Query, SignalId, SignalParams};
use crate::session::engine::{Engine, ExplainedItem, Target};
use crate::session::{Session, pipeline};

/// Options shared by `recommend` and `search`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RankArgs {
    /// List length.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Weight overrides `name=w,name=w` (a missing name keeps its default; 0 removes it).
    #[arg(long)]
    pub weights: Option<String>,
    /// Fusion method: weighted, rrf, combmnz, borda or learned (learned needs --ranker).
    #[arg(long, value_parser = parse_fusion_method)]
    pub fusion: Option<FusionMethod>,
    /// A learned ranker saved by `recfuse train` (safetensors), for `--fusion learned`.
    #[arg(long, value_name = "FILE")]
    pub ranker: Option<PathBuf>,
    /// Merchandising rules (JSON array).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Show contributions, evidence and leave-one-out rank changes.
    #[arg(long)]
    pub explain: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Embedding model directory (default: the bundled all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Device for embedding: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Embedding precision: f32, int8 (faster on the CPU, cosine ≥ 0.995 against f32), f16
    /// or bf16 (GPU). Default: the session's, else f32. Each precision is cached apart.
    #[arg(long)]
    pub precision: Option<crate::embed::EmbedPrecision>,
    /// Skip the semantic signal (no embedding).
    #[arg(long)]
    pub no_semantic: bool,
    /// Keep every item of a duplicate group (same cleaned title and brand) in the list
    /// instead of collapsing them into the best-scoring one.
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Import a score file (`user_id,item_id,score`, or with a `signal` column; CSV,
    /// Parquet, gzip, or a folder of Spark part files) as the external signal NAME (with a
    /// `signal` column: NAME_value per signal). Repeatable. Weight it with --weights NAME=W
    /// (it starts at 0.2).
    #[arg(long = "signal-file", value_name = "NAME=FILE")]
    pub signal_files: Vec<String>,
    /// A fusion profile (`recfuse export-profile --format json`): its fusion settings, rules,
    /// signal parameters and event weights replace the defaults; the options above still apply.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Where each shopper's candidates come from: `exhaustive` (every signal scores every
    /// item), `index` (each signal's top-N from an index — inverted lists, sorted heads,
    /// an IVF index for ALS and semantic — then only those candidates are scored), or
    /// `auto`: index from 100,000 catalogue items up.
    #[arg(long, value_parser = parse_candidate_source)]
    pub candidates: Option<CandidateSource>,
    /// Index path: IVF lists the ALS and semantic indexes scan per shopper (more = higher
    /// recall, slower; default one in 24 of the √items lists).
    #[arg(long, value_name = "N")]
    pub index_probes: Option<usize>,
}

/// Arguments of `recfuse recommend`.
#[derive(Debug, Args)]
pub(crate) struct RecommendArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Shopper id (unknown ids get cold-start recommendations).
    #[arg(long)]
    pub user: String,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// Arguments of `recfuse search`.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Catalogue file.
    #[arg(long, value_name = "FILE")]
    pub catalogue: PathBuf,
    /// Behaviour file (enables personal and popularity signals).
    #[arg(long, value_name = "FILE")]
    pub behaviour: Option<PathBuf>,
    /// Column override `role=column`, repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
    /// The query.
    #[arg(long)]
    pub query: String,
    /// Personalise for this shopper.
    #[arg(long)]
    pub user: Option<String>,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// Parses `--fusion` by the methods' stable ids.
fn parse_fusion_method(text: &str) -> Result<FusionMethod, String> {
    FusionMethod::from_id(text.trim()).ok_or_else(|| {
        let ids: Vec<&str> = FusionMethod::ALL.iter().map(|m| m.id()).collect();
        format!("unknown fusion method '{text}'; expected one of {}", ids.join(", "))
    })
}

fn parse_candidate_source(text: &str) -> Result<CandidateSource, String> {
    CandidateSource::from_id(text.trim()).ok_or_else(|| {
        let ids: Vec<&str> = CandidateSource::ALL.iter().map(|m| m.id()).collect();
        format!("unknown candidate source '{text}'; expected one of {}", ids.join(", "))
    })
}

impl RankArgs {
    /// `--model`, `--device` and `--precision`.
    pub(crate) fn model_overrides(&self) -> super::embedding::ModelOverrides<'_> {
        super::embedding::ModelOverrides {
            model: self.model.as_deref(),
            device: &self.device,
            precision: self.precision,
        }
    }

    /// Applies `--weights`, `--fusion` and `--keep-duplicates` to `config` (the one place
    /// they are read), and refuses out-of-range options (`--top`, weights) and an unknown
    /// `--device`.
    pub(crate) fn apply_to(&self, config: &mut FusionConfig) -> anyhow::Result<()> {
        crate::limits::check_count("--top", self.top, 1, crate::limits::MAX_K)?;
        self.device
            .parse::<crate::embed::DeviceChoice>()
            .map_err(|e| anyhow::anyhow!("--device {}: {e}", self.device))?;
        let files = self.signal_files()?;
        if let Some(spec) = &self.weights {
            // A weight may name a signal of a multi-signal file (`NAME_value`), known only
            // once the file is read: name it now.
            for name in spec.split(',').filter_map(|p| p.split_once('=')).map(|(n, _)| n.trim()) {
                if crate::score::SignalId::from_id(name).is_none()
                    && let Ok(id) = crate::score::SignalId::external(name)
                    && !crate::score::external::declared_by(id, &files)
                {
                    anyhow::bail!(
                        "weight '{name}': unknown signal; expected one of {} or a --signal-file name",
                        SignalId::builtin_id_list()
                    );
                }
            }
            config.apply_weight_args(spec).map_err(anyhow::Error::msg)?;
            // A weight of 0 on the command line removes the signal.
            for setting in config.signals.values_mut() {
                if setting.weight == 0.0 {
                    setting.enabled = false;
                }
            }
        }
        if let Some(m) = self.fusion {
            config.method = m;
        }
        if config.method == FusionMethod::Learned && self.ranker.is_none() {
            anyhow::bail!("--fusion learned needs --ranker FILE (train one with `recfuse train … --out FILE`)");
        }
        if self.ranker.is_some() && config.method != FusionMethod::Learned {
            anyhow::bail!("--ranker is read only with --fusion learned");
        }
        if self.keep_duplicates {
            config.collapse_duplicates = false;
        }
        if let Some(source) = self.candidates {
            config.candidate_source = source;
        }
        if let Some(p) = self.index_probes {
            crate::limits::check_count("--index-probes", p, 1, 4096)?;
            config.index_probes = p;
        }
        config.check("fusion")?;
        Ok(())
    }
}

impl RankArgs {
    /// The score files of `--signal-file NAME=FILE`, names checked (valid, not built in,
    /// not repeated, at most 16 files).
    pub(crate) fn signal_files(&self) -> anyhow::Result<Vec<crate::data::scores::SignalFile>> {
        parse_signal_files(&self.signal_files)
    }

    /// Applies `--profile` to `session` (fusion settings, rules, signal parameters, event
    /// weights); data files and the model stay.
    pub(crate) fn apply_profile(&self, session: &mut Session) -> anyhow::Result<()> {
        if let Some(path) = &self.profile {
            let top = session.selection.k;
            crate::session::profile::Profile::load(path)?.apply_to(session);
            session.selection.k = top;
        }
        Ok(())
    }
}

/// Parses `--signal-file NAME=FILE` values, names checked (valid, not built in, not
/// repeated, at most 16 files).
pub(crate) fn parse_signal_files(args: &[String]) -> anyhow::Result<Vec<crate::data::scores::SignalFile>> {
    let mut files = Vec::new();
    for arg in args {
        let (name, path) = arg
            .split_once('=')
            .filter(|(n, p)| !n.trim().is_empty() && !p.is_empty())
            .ok_or_else(|| anyhow::anyhow!("--signal-file '{arg}': expected NAME=FILE"))?;
        files.push(crate::data::scores::SignalFile { name: name.trim().to_owned(), path: PathBuf::from(path) });
    }
    crate::score::external::check_signal_files(&files, "--signal-file").map_err(anyhow::Error::msg)?;
    Ok(files)
}

/// A score file's error for the CLI: data problems keep their type (exit code 2).
pub(crate) fn external_error(e: crate::score::external::ExternalError) -> anyhow::Error {
    match e {
        crate::score::external::ExternalError::Data(d) => anyhow::Error::from(d),
        other => anyhow::Error::from(other),
    }
}

/// Gives the engine's external signals their starting weight where `config` has none,
/// and says which weighted external signals no score file provided.
pub(crate) fn add_external_weights(engine: &Engine, config: &mut FusionConfig) {
    let ids = engine.external_ids();
    config.add_external_defaults(&ids);
    for (s, setting) in &config.signals {
        if s.is_external() && setting.weight != 0.0 && !ids.contains(s) {
            eprintln!("note: no score file provides the signal '{s}'; its weight has no effect");
        }
    }
}

pub(crate) fn fusion_config(base: FusionConfig, args: &RankArgs) -> anyhow::Result<FusionConfig> {
    let mut config = base;
    args.apply_to(&mut config)?;
    Ok(config)
}

/// Whether the fusion gives the (off by default, slow to train) transformer a weight: then
/// it is trained when the signals are fitted.
pub(crate) fn wants_transformer(config: &FusionConfig) -> bool {
    config.weight(SignalId::TRANSFORMER) > 0.0
}

/// The rules: `--rules FILE`, else those of `--profile`, else none.
pub(crate) fn rules(args: &RankArgs, session: &Session) -> anyhow::Result<Vec<Rule>> {
    match (&args.rules, &args.profile) {
        (Some(p), _) => load_rules(p).map_err(anyhow::Error::msg),
        (None, Some(_)) => Ok(session.rules.clone()),
        (None, None) => Ok(Vec::new()),
    }
}

/// Loads data, fits the signals and (unless disabled) embeds the catalogue.
pub(crate) fn build_engine(session: &Session, args: &RankArgs) -> anyhow::Result<Engine> {
    Ok(build_engine_reusing(session, args, None)?.0)
}

/// [`build_engine`], with the vectors of texts that `earlier` embedded kept (a watched
/// catalogue that grew embeds only its new items); also returns the embedding made.
pub(crate) fn build_engine_reusing(
    session: &Session,
    args: &RankArgs,
    earlier: Option<&crate::embed::reuse::EarlierEmbedding>,
) -> anyhow::Result<(Engine, Option<crate::embed::reuse::EarlierEmbedding>)> {
    let progress = Progress::new();
    let dataset = Arc::new(pipeline::load(session, &progress)?);
    let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &session.model.template));
    // The transformer reads the item embeddings: train it once, when they are attached.
    let first = SignalParams {
        transformer: crate::score::params::TransformerParams { enabled: false, ..session.params.transformer.clone() },
        ..session.params.clone()
    };
    if session.params.transformer.enabled {
        eprintln!("note: the transformer is trained after the item embeddings (seconds to minutes)");
    }
    let mut engine =
        pipeline::fit_all(dataset, &first, texts, Err("item embeddings are being computed".to_owned()), &progress)
            .map_err(|_| anyhow::anyhow!("cancelled"))?;
    let mut embedding = None;
    if args.no_semantic {
        engine.attach_vectors(Err("disabled with --no-semantic".to_owned()), &session.params);
    } else {
        match super::embedding::attach_vectors(&mut engine, session, args.model_overrides(), earlier) {
            Ok((notices, made)) => {
                for n in notices {
                    eprintln!("note: {n}");
                }
                embedding = Some(made);
            }
            Err(e) => {
                eprintln!("note: semantic signal unavailable: {e:#}");
                engine.attach_vectors(Err(format!("{e:#}")), &session.params);
            }
        }
    }
    let loaded =
        pipeline::load_signal_files(&session.data.signals, &engine.dataset, &progress).map_err(|e| match e {
            crate::score::external::ExternalError::Data(d) => anyhow::Error::from(d),
            other => anyhow::Error::from(other),
        })?;
    for l in &loaded {
        eprintln!("note: signal file {} as '{}': {}", l.report.file, l.file.name, l.report.summary());
    }
    engine.set_external(loaded);
    Ok((engine, embedding))
}

/// Loads `--ranker` (when given) into the engine, refusing a stale or mismatched model.
pub(crate) fn install_ranker(engine: &mut Engine, args: &RankArgs) -> anyhow::Result<()> {
    let Some(path) = &args.ranker else { return Ok(()) };
    let ranker = crate::rank::Ranker::load(path)?;
    if let Some(v) = ranker.meta.summary.get("versus_tuned")
        && v.get("beats_tuned") == Some(&serde_json::Value::Bool(false))
    {
        eprintln!(
            "note: this ranker did not beat the tuned fusion with confidence on validation when it was trained \
             (see `recfuse train`); the tuned weighted fusion stays the recommended default"
        );
    }
    engine.install_ranker(Arc::new(ranker)).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(())
}

/// Runs `recfuse recommend`.
pub(crate) fn run_recommend(args: &RecommendArgs) -> anyhow::Result<u8> {
    let mut session = Session { data: args.data.sources()?, ..Session::default() };
    session.data.signals = args.rank.signal_files()?;
    args.rank.apply_profile(&mut session)?;
    let mut config = fusion_config(session.fusion.clone(), &args.rank)?;
    session.params.transformer.enabled |= wants_transformer(&config);
    let rules = rules(&args.rank, &session)?;
    let mut engine = build_engine(&session, &args.rank)?;
    install_ranker(&mut engine, &args.rank)?;
    add_external_weights(&engine, &mut config);
    let mut state = engine.prepare_target(Target::Shopper(args.user.clone()), &config, &rules);
    let items = engine.explain(&mut state, &config, &rules, args.rank.top);
    for n in &state.notices {
        eprintln!("note: {n}");
    }
    print_list(&engine, &args.user, &items, &config, &args.rank, state.known);
    Ok(0)
}

/// Runs `recfuse search`.
pub(crate) fn run_search(args: &SearchArgs) -> anyhow::Result<u8> {
    let behaviour = args.behaviour.clone().unwrap_or_else(|| args.catalogue.clone());
    let data = DataArgs {
        catalogue: Some(args.catalogue.clone()),
        behaviour: behaviour.clone(),
        users: None,
        map: args.map.clone(),
    };
    anyhow::ensure!(
        args.behaviour.is_some(),
        "search needs --behaviour too (popularity and personal signals are fitted on it)"
    );
    let mut session = Session { data: data.sources()?, ..Session::default() };
    if !args.rank.signal_files()?.is_empty() {
        eprintln!("note: external signals (--signal-file) score shoppers, not queries: they are off in search");
    }
    args.rank.apply_profile(&mut session)?;
    let config = fusion_config(session.search_fusion.clone(), &args.rank)?;
    anyhow::ensure!(
        config.method != FusionMethod::Learned,
        "--fusion learned ranks shopper recommendations; search results depend on query signals the ranker \
         was not trained on: use weighted, rrf, combmnz or borda for search"
    );
    session.params.transformer.enabled |= wants_transformer(&config);
    let rules = rules(&args.rank, &session)?;
    let engine = build_engine(&session, &args.rank)?;
    let embedding = if engine.vectors.is_some() {
        match super::embedding::embed_query(&session, args.rank.model_overrides(), &args.query) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("note: query not embedded ({e:#}); BM25 only");
                None
            }
        }
    } else {
        None
    };
    let query = Query { text: args.query.clone(), embedding };
    let mut state = engine.prepare_target(Target::Search { query, shopper: args.user.clone() }, &config, &rules);
    let items = engine.explain(&mut state, &config, &rules, args.rank.top);
    for n in &state.notices {
        eprintln!("note: {n}");
    }
    print_list(&engine, &format!("query “{}”", args.query), &items, &config, &args.rank, true);
    Ok(0)
}

/// JSON object for one explained list.
pub(crate) fn list_json(engine: &Engine, user: &str, items: &[ExplainedItem]) -> serde_json::Value {
    let cat = engine.catalogue();
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|e| {
            let mut contributions = serde_json::Map::new();
            for (s, v) in &e.contributions {
                contributions.insert(s.id().to_owned(), serde_json::json!(v));
            }
            for (name, v) in &e.feature_contributions {
                contributions.insert((*name).to_owned(), serde_json::json!(v));
            }
            for r in &e.ranked.rule_effects {
                contributions.insert(format!("rule:{}", r.rule), serde_json::json!(r.delta));
            }
            let mut loo = serde_json::Map::new();
            for (s, d) in &e.rank_change_without {
                loo.insert(s.id().to_owned(), serde_json::json!(d));
            }
            serde_json::json!({
                "rank": e.position,
                "item_id": cat.ids.name(e.ranked.item),
                "title": cat.title(e.ranked.item),
                "score": e.ranked.score,
                "fused_score": e.ranked.fused,
                "contributions": contributions,
                "evidence": e.evidence,
                "rank_change_without": loo,
            })
        })
        .collect();
    serde_json::json!({ "user": user, "items": items })
}

fn print_list(
    engine: &Engine,
    who: &str,
    items: &[ExplainedItem],
    config: &FusionConfig,
    args: &RankArgs,
    known: bool,
) {
    if args.json {
        let mut v = list_json(engine, who, items);
        if let Some(o) = v.as_object_mut() {
            o.insert("known_user".to_owned(), serde_json::json!(known));
            o.insert("fusion".to_owned(), serde_json::json!(config.method.id()));
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    let cat = engine.catalogue();
    println!("Top {} for {who} — {} fusion", items.len(), config.method.id());
    for (s, why) in &engine.models.unavailable {
        if config.weight(*s) != 0.0 {
            println!("  ({} unavailable: {why})", s.id());
        }
    }
    println!("{:>3}  {:<12} {:<44} {:>8}", "#", "item", "title", "score");
    for e in items {
        let title = crate::data::report::shorten(cat.title(e.ranked.item), 44);
        println!("{:>3}  {:<12} {:<44} {:>8.4}", e.position, cat.ids.name(e.ranked.item), title, e.ranked.score);
        if !args.explain {
            continue;
        }
        let mut parts: Vec<String> = e
            .contributions
            .iter()
            .filter(|(_, v)| v.abs() > 1e-6)
            .map(|(s, v)| format!("{} {:+.4}", s.id(), v))
            .collect();
        parts.extend(e.feature_contributions.iter().map(|(n, v)| format!("{n} {v:+.4}")));
        parts.extend(e.ranked.rule_effects.iter().map(|r| format!("rule “{}” {:+.4}", r.rule, r.delta)));
        println!("       contributions: {}", parts.join(", "));
        for ev in &e.evidence {
            println!("       · {ev}");
        }
        let loo: Vec<String> = e
            .rank_change_without
            .iter()
            .filter_map(|(s, d)| match d {
                Some(0) => None,
                Some(d) if *d > 0 => Some(format!("{} ↓{d}", s.id())),
                Some(d) => Some(format!("{} ↑{}", s.id(), -d)),
                None => Some(format!("{} (drops out)", s.id())),
            })
            .collect();
        if !loo.is_empty() {
            println!("       without: {}", loo.join(", "));
        }
    }
}
