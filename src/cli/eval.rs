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
    /// Tune weights on validation and report them on test. Also tunes ALS's regularisation
    /// and confidence scaling and the item-CF / user-CF neighbourhood sizes on validation.
    #[arg(long)]
    pub tune: bool,
    /// With --tune: keep the signal parameters as given, tune the weights only.
    #[arg(long)]
    pub no_tune_params: bool,
    /// With --tune: choose the weights on N successive validation windows (rolling origin:
    /// each earlier window is cut out of the next one's fitting events by the same rule),
    /// pooling their shoppers; the signal parameters are tuned on the latest. 1 to 4.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub validation_windows: usize,
    /// Also train the learned ranker on validation (implies --tune) and add a `learned` row.
    #[arg(long)]
    pub learned: bool,
    /// Most epochs of the learned ranker (with --learned).
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// With --learned: try a small grid of ranker variants (hidden width, learning rate,
    /// with and without the embedding features), chosen on the early-stopping shoppers.
    #[arg(long)]
    pub search: bool,
    /// Seed (random split, bootstrap, tuning restarts).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Session file whose fusion settings and parameters to use.
    #[arg(long, value_name = "FILE")]
    pub session: Option<std::path::PathBuf>,
    /// Write the split this command evaluates (train / validation / test interactions,
    /// each evaluated shopper's relevant and excluded items, the tie order and duplicate
    /// groups) as Parquet into DIR, and exit without evaluating (for peer libraries).
    #[arg(long, value_name = "DIR")]
    pub export_split: Option<std::path::PathBuf>,
    /// Write the configuration evaluated — with --tune, the tuned weights, normalisations
    /// and signal parameters — as a JSON fusion profile (`recfuse export-profile --profile`
    /// turns it into Spark SQL; `--profile` reads it back).
    #[arg(long, value_name = "FILE")]
    pub save_profile: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// One line about a tuning run: what it rests on and what it kept.
fn tuning_summary(t: &crate::eval::experiment::TuneOutcome, k: usize) -> String {
    let single = t.best_single.map_or(String::new(), |(s, v)| format!(", best single signal {s} {v:.4}"));
    let mut out = format!(
        "tuning on {}: ndcg@{k} start {:.4}, searched {:.4}{single}; kept {} ({:.4}); {} evaluations",
        t.shoppers_described(),
        t.start_ndcg,
        t.searched_ndcg,
        t.kept.describe(),
        t.validation_ndcg,
        t.evaluations
    );
    for line in crate::eval::hyper::describe(&t.param_trials, k) {
        out.push_str("\n  ");
        out.push_str(&line);
    }
    out
}

/// Refuses evaluation options outside their ranges (TESTING.md, "Limits").
pub(crate) fn check_eval_args(args: &EvalArgs) -> Result<(), crate::limits::OutOfRange> {
    use crate::limits::{MAX_BOOTSTRAP, MAX_K, check_count, check_real};
    check_count("--bootstrap", args.bootstrap, 0, MAX_BOOTSTRAP)?;
    check_count("--validation-windows", args.validation_windows, 1, crate::eval::experiment::MAX_VALIDATION_WINDOWS)?;
    check_count("number of --k values", args.k.len(), 1, 16)?;
    for k in &args.k {
        check_count("--k", *k, 1, MAX_K)?;
    }
    check_real("--test-fraction", args.test_fraction, 0.001, 0.999)?;
    check_count("--leave-last", args.leave_last, 1, 1_000)
}

/// The session the arguments describe (data, fusion and signal parameters), checked.
fn eval_session(args: &EvalArgs) -> anyhow::Result<Session> {
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
    Ok(session)
}

fn split_rule(args: &EvalArgs) -> anyhow::Result<SplitRule> {
    SplitRule::from_name(&args.split, args.test_fraction, args.leave_last, args.seed)
        .ok_or_else(|| anyhow::anyhow!("unknown split {}", args.split))
}

/// Builds the request from the arguments (and optional session).
pub(crate) fn request(args: &EvalArgs) -> anyhow::Result<(Session, EvalRequest, std::sync::Arc<crate::data::Dataset>)> {
    let mut session = eval_session(args)?;
    let engine = build_engine(&session, &args.rank)?;
    super::recommend::add_external_weights(&engine, &mut session.fusion);
    // The evaluation fits the signals on the train split: the transformer is trained there.
    session.params.transformer.enabled |= wants_transformer(&session.fusion);
    let rule = split_rule(args)?;
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

/// Training settings from the arguments, checked against their ranges.
pub(crate) fn train_settings(
    epochs: usize,
    hidden: usize,
    learning_rate: f64,
    seed: u64,
) -> anyhow::Result<crate::rank::TrainSettings> {
    crate::limits::check_count("--epochs", epochs, 1, 1_000)?;
    crate::limits::check_count("--hidden", hidden, 1, 1_024)?;
    crate::limits::check_real("--learning-rate", learning_rate, 1e-6, 1.0)?;
    Ok(crate::rank::TrainSettings { epochs, hidden, learning_rate, seed, ..crate::rank::TrainSettings::default() })
}

/// JSON summary of a training run.
pub(crate) fn learned_json(o: &crate::eval::learned::LearnedOutcome) -> serde_json::Value {
    serde_json::json!({
        "epochs": o.report.epochs,
        "best_epoch": o.report.best_epoch,
        "train_shoppers": o.report.train_shoppers,
        "validation_shoppers": o.report.validation_shoppers,
        "train_seconds": o.train_seconds,
        "variants": o.variants,
        "versus_tuned": o.versus_tuned,
        "features": {
            "signals": o.ranker.meta.signals,
            "cheap": o.ranker.meta.cheap,
            "embedding_dim": o.ranker.meta.config.dim,
            "hidden": o.ranker.meta.config.hidden,
        },
    })
}

/// Runs `recfuse eval --learned`: the evaluation, then tuning and the ranker trained on
/// validation, and their rows measured on test.
fn run_learned(args: &EvalArgs) -> anyhow::Result<u8> {
    let settings =
        crate::rank::TrainSettings { search: args.search, ..train_settings(args.epochs, 32, 0.01, args.seed)? };
    let (_session, req, dataset) = request(args)?;
    let progress = Progress::new();
    let bar = (!args.rank.json).then(|| super::embed::CliProgressBar::attach(&progress, "evaluating"));
    let mut outcome = run_evaluation(&dataset, &req, &progress).map_err(|_| anyhow::anyhow!("cancelled"))?;
    let k = req.ks.first().copied().unwrap_or(10);
    let tune = TuneSettings { k, seed: args.seed, ..TuneSettings::default() };
    let learned = crate::eval::learned::train_ranker(&dataset, &req, &tune, &settings, &progress, &mut |_| {})?;
    let tuned_row = crate::eval::learned::tuned_row(&mut outcome, &learned.tuned);
    outcome.rows.push(tuned_row);
    let train = crate::eval::learned::test_interactions(&dataset, &outcome);
    let cpu = super::bench::support::cpu_seconds;
    let (started, cpu0) = (std::time::Instant::now(), cpu());
    crate::eval::learned::attach_test(&dataset, &mut outcome, &learned.ranker, &train, 0)?;
    let (scoring, cpu1) = (started.elapsed().as_secs_f64(), cpu());
    let started = std::time::Instant::now();
    let attributed = crate::eval::learned::attach_test(&dataset, &mut outcome, &learned.ranker, &train, 10)?;
    let (explained, cpu2) = (started.elapsed().as_secs_f64(), cpu());
    let spent = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
    let row = crate::eval::learned::measure_learned(&mut outcome);
    outcome.rows.push(row);
    if let Some(b) = bar {
        b.finish();
    }
    if args.rank.json {
        let mut value = outcome_json(&outcome);
        if let Some(map) = value.as_object_mut() {
            map.insert("tuning".to_owned(), crate::eval::report::tuning_json(&learned.tuned));
            let mut l = learned_json(&learned);
            if let Some(o) = l.as_object_mut() {
                o.insert("test_scoring_seconds".to_owned(), serde_json::json!(scoring));
                o.insert("test_scoring_with_attribution_seconds".to_owned(), serde_json::json!(explained));
                o.insert("test_scoring_cpu_seconds".to_owned(), serde_json::json!(spent(cpu0, cpu1)));
                o.insert("test_scoring_with_attribution_cpu_seconds".to_owned(), serde_json::json!(spent(cpu1, cpu2)));
                o.insert("test_items_attributed".to_owned(), serde_json::json!(attributed));
            }
            map.insert("learned".to_owned(), l);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        eprintln!("{}", tuning_summary(&learned.tuned, k));
        eprintln!(
            "learned ranker: kept epoch {} of {} (0: the tuned weights it starts from), trained in {:.1} s; {}",
            learned.report.best_epoch,
            learned.report.epochs.iter().map(|e| e.epoch).max().unwrap_or(0),
            learned.train_seconds,
            learned.versus_tuned.describe(k)
        );
        eprintln!(
            "test: scored every evaluated shopper's candidates in {scoring:.2} s; scored them again with exact attribution of {attributed} top-10 items in {explained:.2} s"
        );
        print!("{}", outcome_table(&outcome));
    }
    Ok(0)
}

/// Runs `recfuse eval --fusion learned --ranker FILE`: the evaluation with the weighted
/// fusion, plus a `learned` row from the saved ranker.
fn run_saved_ranker(args: &EvalArgs, path: &std::path::Path) -> anyhow::Result<u8> {
    let (_session, mut req, dataset) = request(args)?;
    req.config.method = crate::fusion::FusionMethod::Weighted;
    let ranker = crate::rank::Ranker::load(path)?;
    let fingerprint = crate::rank::data_fingerprint(&dataset);
    let progress = Progress::new();
    let mut outcome = run_evaluation(&dataset, &req, &progress).map_err(|_| anyhow::anyhow!("cancelled"))?;
    ranker
        .check_compatible(&fingerprint, &outcome.context.signals, req.vectors.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let row = crate::eval::learned::learned_row(&dataset, &mut outcome, &ranker)?;
    outcome.rows.push(row);
    if args.rank.json {
        println!("{}", serde_json::to_string_pretty(&outcome_json(&outcome))?);
    } else {
        print!("{}", outcome_table(&outcome));
    }
    Ok(0)
}

/// Runs `recfuse eval --export-split DIR`: loads the data (no fitting) and writes the split.
fn run_export_split(args: &EvalArgs, dir: &std::path::Path) -> anyhow::Result<u8> {
    let session = eval_session(args)?;
    let dataset = crate::session::pipeline::load(&session, &Progress::new())?;
    let summary = crate::eval::export::write_split(
        &dataset,
        split_rule(args)?,
        &session.fusion,
        &session.params.popularity,
        !args.graded,
        dir,
    )?;
    if args.rank.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        for p in &summary.phases {
            println!(
                "{}: {} shoppers evaluated, {} relevant and {} excluded pairs, {} training pairs",
                p.phase, p.users_evaluated, p.relevant_pairs, p.excluded_pairs, p.train_pairs
            );
        }
        println!("written to {}", dir.display());
    }
    Ok(0)
}

/// Every file `eval` reads: `--save-profile` may be none of them.
fn eval_inputs<'a>(args: &'a EvalArgs, session: &'a Session) -> Vec<&'a std::path::Path> {
    let data = &session.data;
    let mut files: Vec<&std::path::Path> = vec![data.behaviour.as_path()];
    files.extend(data.catalogue.as_deref());
    files.extend(data.users.as_deref());
    files.extend(data.signals.iter().map(|f| f.path.as_path()));
    files.extend(args.session.as_deref());
    files.extend(args.rank.profile.as_deref());
    files.extend(args.rank.rules.as_deref());
    files
}

/// Writes `--save-profile`: the session's settings, with the tuned fusion and signal
/// parameters when tuning ran, ranking `top` items.
fn save_profile(
    out: &std::path::Path,
    mut session: Session,
    top: usize,
    tuned: Option<&crate::eval::experiment::TuneOutcome>,
) -> anyhow::Result<()> {
    if let Some(t) = tuned {
        session.fusion = t.config.clone();
        if let Some(p) = &t.params {
            session.params = p.clone();
        }
    }
    session.selection.k = top;
    let profile = crate::session::profile::Profile::from_session(&session);
    let text = crate::session::profile::render(&profile, crate::session::profile::ProfileFormat::Json);
    crate::session::write_atomic(out, text.as_bytes()).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    eprintln!("wrote the {} profile to {}", if tuned.is_some() { "tuned" } else { "evaluated" }, out.display());
    Ok(())
}

/// Runs `recfuse eval`.
pub(crate) fn run(args: &EvalArgs) -> anyhow::Result<u8> {
    if let Some(dir) = &args.export_split {
        return run_export_split(args, dir);
    }
    if args.learned {
        return run_learned(args);
    }
    if let (Some(path), Some(crate::fusion::FusionMethod::Learned)) = (&args.rank.ranker, args.rank.fusion) {
        return run_saved_ranker(args, path);
    }
    let (session, req, dataset) = request(args)?;
    if let Some(out) = &args.save_profile {
        crate::session::batch::check_output(out, &eval_inputs(args, &session))?;
    }
    let progress = Progress::new();
    let bar = (!args.rank.json).then(|| super::embed::CliProgressBar::attach(&progress, "evaluating"));
    let started = std::time::Instant::now();
    let (outcome, tuned) = if args.tune {
        let settings = TuneSettings {
            k: req.ks.first().copied().unwrap_or(10),
            seed: args.seed,
            params: !args.no_tune_params,
            windows: args.validation_windows,
            ..TuneSettings::default()
        };
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
    if let Some(out) = &args.save_profile {
        // `--rules`, else the rules of `--session` or `--profile`, else none (as `batch`).
        let mut session = session;
        session.rules = match (&args.rank.rules, args.session.is_some() || args.rank.profile.is_some()) {
            (Some(p), _) => crate::fusion::load_rules(p).map_err(anyhow::Error::msg)?,
            (None, true) => std::mem::take(&mut session.rules),
            (None, false) => Vec::new(),
        };
        save_profile(out, session, args.rank.top, tuned.as_ref().map(|(t, _)| t))?;
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
