//! `recfuse eval`: offline metrics per signal, for the current fusion and (with
//! `--tune`) for weights tuned on validation, all with bootstrap intervals.

use clap::Args;

use super::DataArgs;
use super::recommend::{RankArgs, build_engine};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::experiment::{EvalOutcome, EvalRequest, RowKind, TuneSettings, evaluate_and_tune, run_evaluation};
use crate::eval::split::SplitRule;
use crate::jobs::Progress;
use crate::session::Session;

/// Arguments of `recfuse eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Split: temporal (last 10 % of the time span), leave-last (per user), random.
    #[arg(long, default_value = "temporal", value_parser = ["temporal", "leave-last", "random"])]
    pub split: String,
    /// Held-out fraction for temporal and random splits.
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
    /// Events per user held out by leave-last.
    #[arg(long, default_value_t = 1)]
    pub leave_last: usize,
    /// Cut-offs, comma-separated (e.g. 5,10,20).
    #[arg(long, default_value = "10", value_delimiter = ',')]
    pub k: Vec<usize>,
    /// Graded relevance (summed event weights) instead of binary.
    #[arg(long)]
    pub graded: bool,
    /// Tune weights on validation and report them on test.
    #[arg(long)]
    pub tune: bool,
    /// Seed (random split, bootstrap, tuning restarts).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Session file whose fusion settings and parameters to use.
    #[arg(long, value_name = "FILE")]
    pub session: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// Builds the request from the arguments (and optional session).
pub fn request(args: &EvalArgs) -> anyhow::Result<(Session, EvalRequest, std::sync::Arc<crate::data::Dataset>)> {
    let mut session = match &args.session {
        Some(p) => Session::load(p)?,
        None => Session::default(),
    };
    session.data = args.data.sources()?;
    if let Some(spec) = &args.rank.weights {
        session.fusion.apply_weight_args(spec).map_err(anyhow::Error::msg)?;
        for s in session.fusion.signals.values_mut() {
            if s.weight == 0.0 {
                s.enabled = false;
            }
        }
    }
    if let Some(m) = &args.rank.fusion {
        session.fusion.method = crate::fusion::FusionMethod::from_id(m).unwrap_or_default();
    }
    let engine = build_engine(&session, &args.rank)?;
    let rule = SplitRule::from_name(&args.split, args.test_fraction, args.leave_last, args.seed)
        .ok_or_else(|| anyhow::anyhow!("unknown split {}", args.split))?;
    let req = EvalRequest {
        rule,
        ks: args.k.clone(),
        binary: !args.graded,
        bootstrap: BootstrapConfig { resamples: args.bootstrap, seed: args.seed, ..BootstrapConfig::default() },
        params: session.params.clone(),
        config: session.fusion.clone(),
        vectors: engine.vectors.clone(),
        texts: engine.item_texts.clone(),
    };
    Ok((session, req, engine.dataset.clone()))
}

/// Runs `recfuse eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<u8> {
    let (_session, req, dataset) = request(args)?;
    let progress = Progress::new();
    let bar = (!args.rank.json).then(|| super::embed::CliProgressBar::attach(&progress, "evaluating"));
    let started = std::time::Instant::now();
    let (outcome, tuned) = if args.tune {
        let settings =
            TuneSettings { k: req.ks.first().copied().unwrap_or(10), seed: args.seed, ..TuneSettings::default() };
        let (o, t) =
            evaluate_and_tune(&dataset, &req, &settings, &progress).map_err(|_| anyhow::anyhow!("cancelled"))?;
        (o, Some((t, settings.k)))
    } else {
        (run_evaluation(&dataset, &req, &progress).map_err(|_| anyhow::anyhow!("cancelled"))?, None)
    };
    if let (Some((t, k)), false) = (&tuned, args.rank.json) {
        eprintln!(
            "tuning: validation ndcg@{k} {:.4} → {:.4} ({} evaluations); whole run {:.1} s",
            t.start_ndcg,
            t.validation_ndcg,
            t.evaluations,
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(b) = bar {
        b.finish();
    }
    if args.rank.json {
        println!("{}", serde_json::to_string_pretty(&outcome_json(&outcome))?);
    } else {
        print!("{}", outcome_table(&outcome));
    }
    Ok(0)
}

/// The stable JSON object of an evaluation.
pub fn outcome_json(outcome: &EvalOutcome) -> serde_json::Value {
    let results: Vec<serde_json::Value> = outcome
        .rows
        .iter()
        .map(|r| {
            let metrics: serde_json::Map<String, serde_json::Value> = r
                .metrics
                .metrics
                .iter()
                .map(|(k, e)| (k.clone(), serde_json::json!({"value": e.value, "ci": [e.ci.0, e.ci.1]})))
                .collect();
            serde_json::json!({"name": r.name, "kind": r.kind, "weights": r.weights, "metrics": metrics})
        })
        .collect();
    let segments: Vec<serde_json::Value> = outcome
        .segments
        .iter()
        .map(|s| {
            serde_json::json!({
                "dimension": s.dimension, "segment": s.segment, "users": s.users,
                "metric": format!("ndcg@{}", outcome.request.ks.first().copied().unwrap_or(10)),
                "value": s.estimate.value, "ci": [s.estimate.ci.0, s.estimate.ci.1],
            })
        })
        .collect();
    serde_json::json!({
        "split": outcome.split,
        "cut": outcome.cut.map(crate::data::timestamp::format_utc),
        "k": outcome.request.ks.first().copied().unwrap_or(10),
        "ks": outcome.request.ks,
        "users_evaluated": outcome.users,
        "train_events": outcome.events.0,
        "test_events": outcome.events.1,
        "results": results,
        "segments": segments,
    })
}

/// The human table of an evaluation.
pub fn outcome_table(outcome: &EvalOutcome) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} split{}: {} train / {} test events, {} users evaluated, 95% bootstrap intervals",
        outcome.split,
        outcome.cut.map(|c| format!(" at {}", crate::data::timestamp::format_utc(c))).unwrap_or_default(),
        outcome.events.0,
        outcome.events.1,
        outcome.users
    );
    for &k in &outcome.request.ks {
        let keys = [
            format!("ndcg@{k}"),
            format!("recall@{k}"),
            format!("precision@{k}"),
            format!("hit_rate@{k}"),
            format!("coverage@{k}"),
        ];
        let _ = write!(out, "\n{:<12} {:<7}", "row", "kind");
        for key in &keys {
            let _ = write!(out, " {key:>26}");
        }
        let _ = writeln!(out);
        for row in &outcome.rows {
            let kind = match row.kind {
                RowKind::Signal => "signal",
                RowKind::Fused => "fused",
                RowKind::Tuned => "tuned",
            };
            let _ = write!(out, "{:<12} {:<7}", row.name, kind);
            for key in &keys {
                match row.metrics.metrics.get(key) {
                    Some(e) => {
                        let _ = write!(out, " {:>8.4} [{:.4}, {:.4}]", e.value, e.ci.0, e.ci.1);
                    }
                    None => {
                        let _ = write!(out, " {:>26}", "–");
                    }
                }
            }
            let _ = writeln!(out);
        }
    }
    if !outcome.segments.is_empty() {
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let _ = writeln!(out, "\nsegments (fused ndcg@{k}):");
        for s in &outcome.segments {
            let _ = writeln!(
                out,
                "  {:<10} {:<24} {:>6} users  {:.4} [{:.4}, {:.4}]",
                s.dimension, s.segment, s.users, s.estimate.value, s.estimate.ci.0, s.estimate.ci.1
            );
        }
    }
    out
}
