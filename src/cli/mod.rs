//! Headless sub-commands on the same engine as the GUI.

pub(crate) mod batch;
pub(crate) mod bench;
pub(crate) mod compare;
pub(crate) mod embed;
pub(crate) mod embedding;
pub(crate) mod eval;
pub(crate) mod profile;
pub(crate) mod recommend;
pub(crate) mod replay;
pub(crate) mod sequence;
pub(crate) mod train;
pub(crate) mod validate;
pub(crate) mod watch;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::data::{DataError, DataSources};

/// RecFuse: explore, tune and explain e-commerce recommendations.
#[derive(Debug, Parser)]
#[command(name = "recfuse", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do; with none, the workbench window opens on the sample data.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Load data files and print the validation report.
    Validate(validate::ValidateArgs),
    /// Recommend items for a shopper, with attribution.
    Recommend(recommend::RecommendArgs),
    /// Rank items for a search query.
    Search(recommend::SearchArgs),
    /// Offline evaluation: every signal, the fusion and (with --tune) tuned weights.
    Eval(eval::EvalArgs),
    /// Compare two session files on the same users.
    Compare(compare::CompareArgs),
    /// Embed texts (JSON in, JSON out) or fill the cache for a catalogue.
    Embed(embed::EmbedArgs),
    /// Time loading, fitting, re-fusion, evaluation, tuning or embedding; or write the
    /// synthetic scale dataset (`bench generate`).
    Bench(bench::BenchArgs),
    /// Train the sequence transformer on every event and save its weights (safetensors).
    TrainSequence(sequence::TrainSequenceArgs),
    /// Write the top-K of every shopper (or of --users) to a Parquet file, long format.
    Batch(batch::BatchArgs),
    /// Write the fusion settings and rules as a RecFuse profile, Spark SQL, an OpenSearch
    /// pipeline or a Vespa rank profile.
    ExportProfile(profile::ExportProfileArgs),
    /// Follow a behaviour file as it grows and print a shopper's list each time it changes.
    Watch(watch::WatchArgs),
    /// Write an existing behaviour log into another file in time order, sped up.
    Replay(replay::ReplayArgs),
    /// Train the learned ranker (fusion method `learned`) on the validation protocol and
    /// save it (safetensors).
    Train(train::TrainArgs),
}

/// The data files of a command, shared by every sub-command that loads data.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// Catalogue file (items). Optional: without it, items come from the behaviour file.
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    /// Behaviour file (events).
    #[arg(long, value_name = "FILE")]
    pub behaviour: PathBuf,
    /// Users file (attributes).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Column override `role=column` (or `behaviour.role=column`), repeatable.
    #[arg(long = "map", value_name = "ROLE=COLUMN")]
    pub map: Vec<String>,
}

impl DataArgs {
    /// The data sources these arguments describe.
    pub(crate) fn sources(&self) -> Result<DataSources, DataError> {
        DataSources {
            catalogue: self.catalogue.clone(),
            behaviour: self.behaviour.clone(),
            users: self.users.clone(),
            ..DataSources::default()
        }
        .with_cli_mapping(&self.map)
    }
}

/// Exit code for a fatal data problem.
pub(crate) const EXIT_DATA_ERROR: u8 = 2;

/// Runs a sub-command; returns the process exit code.
pub(crate) fn run(command: Command) -> u8 {
    let result = match command {
        Command::Validate(args) => validate::run(&args),
        Command::Recommend(args) => recommend::run_recommend(&args),
        Command::Search(args) => recommend::run_search(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Embed(args) => embed::run_embed(&args).map(|()| 0),
        Command::Bench(args) => bench::run(&args),
        Command::TrainSequence(args) => sequence::run(&args),
        Command::Batch(args) => batch::run(&args),
        Command::ExportProfile(args) => profile::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Train(args) => train::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<DataError>().is_some() { EXIT_DATA_ERROR } else { 1 }
        }
    }
}

/// Parses `args` (without the program name) as `recfuse` does and applies every option
/// check that needs no data file: the fusion options (`--weights`, `--fusion`, `--top`,
/// `--signal-file`, …) of the sub-commands that rank, the column mappings and `eval`'s
/// split, K and bootstrap bounds. Nothing is
/// read or run. The error is the message the user would see.
pub(crate) fn check_args(args: &[String]) -> Result<(), String> {
    let argv = std::iter::once("recfuse".to_owned()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let rank = match &cli.command {
        Some(Command::Recommend(a)) => Some(&a.rank),
        Some(Command::Search(a)) => Some(&a.rank),
        Some(Command::Eval(a)) => Some(&a.rank),
        Some(Command::Compare(a)) => Some(&a.rank),
        Some(Command::Batch(a)) => Some(&a.rank),
        Some(Command::Watch(a)) => Some(&a.rank),
        _ => None,
    };
    if let Some(rank) = rank {
        let mut config = crate::fusion::FusionConfig::default();
        rank.apply_to(&mut config).map_err(|e| format!("{e:#}"))?;
        rank.signal_files().map_err(|e| format!("{e:#}"))?;
        if let Some(list) = &rank.builtin {
            recommend::parse_builtin(list).map_err(|e| format!("{e:#}"))?;
        }
    }
    let data = match &cli.command {
        Some(Command::Recommend(a)) => Some(&a.data),
        Some(Command::Eval(a)) => Some(&a.data),
        Some(Command::Validate(a)) => Some(&a.data),
        _ => None,
    };
    if let Some(data) = data {
        data.sources().map_err(|e| e.to_string())?;
    }
    if let Some(Command::Eval(a)) = &cli.command {
        eval::check_eval_args(a).map_err(|e| e.to_string())?;
    }
    Ok(())
}
