//! `recfuse eval`: offline metrics per signal, for the current fusion and (with
//! `--tune`) for weights tuned on validation, all with bootstrap intervals.

use clap::Args;

use super::DataArgs;
use super::recommend::{RankArgs, build_engine, wants_transformer};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::experiment::{EvalRequest, TuneSettings, evaluate_and_tune, run_evaluation};
use crate::eval::report::{outcome_json, outcome_table};
use crate::eval::split::SplitRule;
use crate::jobs::Progress;
use crate::session::Session;

/// Arguments of `recfuse eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
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

/// One line about a tuning run: what it rests on and what it kept.
fn tuning_summary(t: &crate::eval::experiment::TuneOutcome, k: usize) -> String {
    let single = t.best_single.map_or(String::new(), |(s, v)| format!(", best single signal {s} {v:.4}"));
    format!(
        "tuning on {} validation shoppers: ndcg@{k} start {:.4}, searched {:.4}{single}; kept {} ({:.4}); {} evaluations",
        t.validation_users,
        t.start_ndcg,
        t.searched_ndcg,
        t.kept.describe(),
        t.validation_ndcg,
        t.evaluations
    )
}

/// Refuses evaluation options outside their ranges (TESTING.md, "Limits").
fn check_eval_args(args: &EvalArgs) -> Result<(), crate::limits::OutOfRange> {
    use crate::limits::{MAX_BOOTSTRAP, MAX_K, check_count, check_real};
    check_count("--bootstrap", args.bootstrap, 0, MAX_BOOTSTRAP)?;
    check_count("number of --k values", args.k.len(), 1, 16)?;
    for k in &args.k {
        check_count("--k", *k, 1, MAX_K)?;
    }
    check_real("--test-fraction", args.test_fraction, 0.001, 0.999)?;
    check_count("--leave-last", args.leave_last, 1, 1_000)
}

/// Builds the request from the arguments (and optional session).
pub(crate) fn request(args: &EvalArgs) -> anyhow::Result<(Session, EvalRequest, std::sync::Arc<crate::data::Dataset>)> {
    let mut session = match &args.session {
        Some(p) => Session::load(p)?,
        None => Session::default(),
    };
    // The session's score files stay (their weights are in its fusion settings).
    let signals = std::mem::take(&mut session.data.signals);
    session.data = args.data.sources()?;
    session.data.signals = signals;
    session.data.signals.extend(args.rank.signal_files()?);
    args.rank.apply_profile(&mut session)?;
    args.rank.apply_to(&mut session.fusion)?;
    check_eval_args(args)?;
    session.check()?;
    session.check_external().map_err(anyhow::Error::msg)?;
    let engine = build_engine(&session, &args.rank)?;
    super::recommend::add_external_weights(&engine, &mut session.fusion);
    // The evaluation fits the signals on the train split: the transformer is trained there.
    session.params.transformer.enabled |= wants_transformer(&session.fusion);
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
        external: engine.external_scorers(),
    };
    Ok((session, req, engine.dataset.clone()))
}

/// Runs `recfuse eval`.
pub(crate) fn run(args: &EvalArgs) -> anyhow::Result<u8> {
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
        eprintln!("{}; whole run {:.1} s", tuning_summary(t, *k), started.elapsed().as_secs_f64());
    }
    if let Some(b) = bar {
        b.finish();
    }
    if args.rank.json {
        let mut value = outcome_json(&outcome);
        if let (Some((t, _)), Some(map)) = (&tuned, value.as_object_mut()) {
            map.insert("tuning".to_owned(), crate::eval::report::tuning_json(t));
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", outcome_table(&outcome));
    }
    Ok(0)
}
