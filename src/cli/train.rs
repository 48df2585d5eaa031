//! `recfuse train`: trains the learned ranker on the validation protocol (signals fitted on
//! train minus the validation window, labels from the validation window), compares it with
//! the tuned fusion on validation shoppers kept apart from training, and saves it as safetensors with its
//! feature list and the data fingerprint.

use std::path::PathBuf;

use clap::Args;

use super::DataArgs;
use super::eval::{EvalArgs, learned_json, request, train_settings};
use super::recommend::RankArgs;
use crate::eval::experiment::TuneSettings;
use crate::eval::learned::train_ranker;
use crate::jobs::Progress;
use crate::rank::EpochReport;

/// Arguments of `recfuse train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the ranker (safetensors).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Most epochs (early stopping may end sooner).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Width of the hidden layer.
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub learning_rate: f64,
    /// Try a small grid of variants (this width and rate, twice the width at 0.3 × the
    /// rate, each with and without the embedding features), chosen on the early-stopping
    /// shoppers.
    #[arg(long)]
    pub search: bool,
    /// Seed (initial weights, shuffling, held-out shoppers, tuning restarts).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Split whose training part is used (the validation window is its last part, as in `eval`).
    #[arg(long, default_value = "temporal", value_parser = ["temporal", "leave-last", "random"])]
    pub split: String,
    /// Held-out fraction for temporal and random splits.
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
    /// Events per user held out by leave-last.
    #[arg(long, default_value_t = 1)]
    pub leave_last: usize,
    /// Embedding model directory (default: the bundled all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Device for embedding: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Embedding precision: f32 (default), int8 (CPU), f16 or bf16 (GPU).
    #[arg(long)]
    pub precision: Option<crate::embed::EmbedPrecision>,
    /// No embedding features (and no semantic signal).
    #[arg(long)]
    pub no_semantic: bool,
    /// The ranker reads no embedding features (V_u, V_i, V_u ⊙ V_i); the semantic signal
    /// stays. The features are then exactly those `--export-features` writes besides the
    /// embedding cosine.
    #[arg(long)]
    pub no_embedding_features: bool,
    /// Also write the feature tables the ranker trains, stops and is measured on (Parquet:
    /// shopper, item, label, features): train / validation / compare parts of the validation
    /// shoppers, and every test shopper's candidates (`eval`'s test split) — for a reference
    /// learner on the same features (benches/reference/lightgbm_reference.py).
    #[arg(long, value_name = "DIR")]
    pub export_features: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The evaluation arguments the training run shares with `eval`.
fn eval_args(args: &TrainArgs) -> EvalArgs {
    EvalArgs {
        data: args.data.clone(),
        split: args.split.clone(),
        test_fraction: args.test_fraction,
        leave_last: args.leave_last,
        k: vec![10],
        graded: false,
        tune: true,
        no_tune_params: false,
        validation_windows: 1,
        learned: false,
        epochs: args.epochs,
        search: args.search,
        seed: args.seed,
        bootstrap: 0,
        session: None,
        export_split: None,
        save_profile: None,
        rank: RankArgs {
            top: 10,
            weights: None,
            fusion: None,
            ranker: None,
            rules: None,
            explain: false,
            json: args.json,
            model: args.model.clone(),
            device: args.device.clone(),
            precision: args.precision,
            no_semantic: args.no_semantic,
            keep_duplicates: false,
            profile: None,
            signal_files: Vec::new(),
            candidates: None,
            index_probes: None,
            builtin: None,
        },
    }
}

/// Runs `recfuse train`.
pub(crate) fn run(args: &TrainArgs) -> anyhow::Result<u8> {
    let settings = crate::rank::TrainSettings {
        search: args.search,
        embeddings: !args.no_embedding_features,
        ..train_settings(args.epochs, args.hidden, args.learning_rate, args.seed)?
    };
    let (_session, req, dataset) = request(&eval_args(args))?;
    let tune = TuneSettings { k: 10, seed: args.seed, ..TuneSettings::default() };
    let json = args.json;
    if !json {
        println!("{:>5}  {:>8}  {:>12}", "epoch", "loss", "val NDCG@10");
    }
    let mut on_epoch = |e: &EpochReport| {
        if !json {
            println!("{:>5}  {:>8.4}  {:>12.4}", e.epoch, e.loss, e.validation_ndcg);
        }
    };
    let outcome = train_ranker(&dataset, &req, &tune, &settings, &Progress::new(), &mut on_epoch)?;
    outcome.ranker.save(&args.out)?;
    let exported = match &args.export_features {
        Some(dir) => Some(export_features(&dataset, &req, &outcome, dir)?),
        None => None,
    };
    if json {
        let mut v = learned_json(&outcome);
        if let Some(map) = v.as_object_mut() {
            if let Some(e) = &exported {
                map.insert("export_features".to_owned(), e.clone());
            }
            map.insert("tuning".to_owned(), crate::eval::report::tuning_json(&outcome.tuned));
            map.insert("out".to_owned(), serde_json::json!(args.out.display().to_string()));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "kept epoch {} ({} training shoppers, {} for early stopping; {} signals, {}-dimensional embeddings) in {:.1} s",
            outcome.report.best_epoch,
            outcome.report.train_shoppers,
            outcome.report.validation_shoppers,
            outcome.ranker.meta.signals.len(),
            outcome.ranker.meta.config.dim,
            outcome.train_seconds
        );
        println!("{}", outcome.versus_tuned.describe(10));
        println!("saved {}", args.out.display());
        if let (Some(e), Some(dir)) = (&exported, &args.export_features) {
            println!("feature tables in {}: {e}", dir.display());
        }
    }
    Ok(0)
}

/// Writes the feature tables of `recfuse train --export-features DIR`: the validation
/// shoppers' lists the ranker was trained on, then the test shoppers' candidates of `eval`'s
/// test split (signals fitted on all training events). Returns what was written.
fn export_features(
    dataset: &crate::data::Dataset,
    req: &crate::eval::experiment::EvalRequest,
    outcome: &crate::eval::learned::LearnedOutcome,
    dir: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    use crate::eval::feature_export::{write_test_table, write_validation_tables};
    let vectors = req.vectors.as_deref();
    let mut tables = serde_json::Map::new();
    for (name, summary) in write_validation_tables(dataset, outcome, vectors, dir)? {
        tables.insert(name.to_owned(), serde_json::to_value(summary)?);
    }
    let progress = Progress::new();
    let evaluation =
        crate::eval::experiment::run_evaluation(dataset, req, &progress).map_err(|_| anyhow::anyhow!("cancelled"))?;
    let train = crate::eval::learned::test_interactions(dataset, &evaluation);
    let test = write_test_table(dataset, &evaluation.context, &outcome.ranker, &train, vectors, dir)?;
    tables.insert("test".to_owned(), serde_json::to_value(test)?);
    Ok(serde_json::Value::Object(tables))
}
