//! `recfuse batch`: the top-K of every shopper (or of a listed subset) as one Parquet file,
//! in long format, with a progress bar; see [`crate::session::batch`].

use std::path::{Path, PathBuf};

use clap::Args;

use super::DataArgs;
use super::recommend::{RankArgs, build_engine, install_ranker, wants_transformer};
use crate::jobs::Progress;
use crate::session::Session;
use crate::session::batch::{BatchRequest, check_output, read_shopper_list, write_recommendations};

/// Arguments of `recfuse batch`.
#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    /// Catalogue file (items). Optional: without it, items come from the behaviour file.
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    /// Behaviour file (events); may be left out with --session (its data files are used).
    #[arg(long, value_name = "FILE")]
    pub behaviour: Option<PathBuf>,
    /// Column override `role=column` (or `behaviour.role=column`), repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
    /// The Parquet file to write (replaced atomically; never an input file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only these shoppers: a text file with one shopper id per line (header `user_id`
    /// optional). Default: every shopper of the behaviour file.
    #[arg(long = "users", value_name = "FILE")]
    pub shoppers: Option<PathBuf>,
    /// Session file whose fusion settings, rules, event weights and signal parameters to use
    /// (and its data files when --behaviour is not given).
    #[arg(long, value_name = "FILE")]
    pub session: Option<PathBuf>,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// The session the batch runs with: `--session` or the defaults, with the data files of the
/// command line when given.
fn session_of(args: &BatchArgs) -> anyhow::Result<Session> {
    let mut session = match &args.session {
        Some(p) => Session::load(p)?,
        None => Session::default(),
    };
    match &args.behaviour {
        Some(behaviour) => {
            let data = DataArgs {
                catalogue: args.catalogue.clone(),
                behaviour: behaviour.clone(),
                users: None,
                map: args.map.clone(),
            };
            // The session's score files stay (their weights are in its fusion settings).
            let signals = std::mem::take(&mut session.data.signals);
            session.data = data.sources()?;
            session.data.signals = signals;
        }
        None => anyhow::ensure!(
            args.session.is_some(),
            "batch needs --behaviour FILE (or --session FILE, whose data files are then used)"
        ),
    }
    session.data.signals.extend(args.rank.signal_files()?);
    Ok(session)
}

/// Every file the command reads: the output may be none of them.
fn inputs(args: &BatchArgs, session: &Session) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = vec![session.data.behaviour.clone()];
    files.extend(session.data.catalogue.clone());
    files.extend(session.data.users.clone());
    files.extend(args.shoppers.clone());
    files.extend(args.session.clone());
    files.extend(args.rank.rules.clone());
    files.extend(args.rank.profile.clone());
    files.extend(args.rank.ranker.clone());
    files.extend(session.data.signals.iter().map(|f| f.path.clone()));
    files
}

/// Runs `recfuse batch`.
pub(crate) fn run(args: &BatchArgs) -> anyhow::Result<u8> {
    let mut session = session_of(args)?;
    args.rank.apply_profile(&mut session)?;
    let mut config = session.fusion.clone();
    args.rank.apply_to(&mut config)?;
    let files = inputs(args, &session);
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    check_output(&args.out, &refs)?;
    // `--rules`, else the rules of `--profile` or `--session`, else none (as `recommend`).
    let rules = match (&args.rank.rules, args.session.is_some() || args.rank.profile.is_some()) {
        (Some(p), _) => crate::fusion::load_rules(p).map_err(anyhow::Error::msg)?,
        (None, true) => session.rules.clone(),
        (None, false) => Vec::new(),
    };
    session.params.transformer.enabled |= wants_transformer(&config);
    let mut engine = build_engine(&session, &args.rank)?;
    install_ranker(&mut engine, &args.rank)?;
    super::recommend::add_external_weights(&engine, &mut config);
    let shoppers = match &args.shoppers {
        Some(p) => Some(read_shopper_list(p, &engine)?),
        None => None,
    };
    let request = BatchRequest { top: args.rank.top, contributions: args.rank.explain, shoppers, pseudonym_salt: None };
    let progress = Progress::new();
    let bar = (!args.rank.json).then(|| super::embed::CliProgressBar::attach(&progress, "batch"));
    let started = std::time::Instant::now();
    let result = write_recommendations(&engine, &config, &rules, &request, &args.out, &progress);
    if let Some(b) = bar {
        b.finish();
    }
    let summary = result?;
    let seconds = started.elapsed().as_secs_f64();
    if args.rank.json {
        let value = serde_json::json!({
            "out": summary.path.display().to_string(),
            "shoppers": summary.shoppers,
            "rows": summary.rows,
            "columns": summary.columns,
            "short_lists": summary.short_lists,
            "fusion": config.method.id(),
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "wrote {} rows (top {} of {} shoppers, {} fusion) to {} in {seconds:.2} s",
            summary.rows,
            args.rank.top,
            summary.shoppers,
            config.method.id(),
            summary.path.display()
        );
        println!("columns: {}", summary.columns.join(", "));
        if summary.short_lists > 0 {
            println!(
                "note: {} shoppers have fewer than {} candidates: their lists are shorter",
                summary.short_lists, args.rank.top
            );
        }
    }
    Ok(0)
}
