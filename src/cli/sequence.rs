//! `recfuse train-sequence`: trains the `transformer` signal on every event, prints each
//! epoch's training loss and validation hit rate / NDCG@10 (each shopper's last item held
//! out) and saves the weights as safetensors.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::DataArgs;
use crate::embed::ItemVectors;
use crate::jobs::Progress;
use crate::score::Interactions;
use crate::score::transformer::{EpochReport, TransformerScorer};
use crate::session::{Session, pipeline};

/// Arguments of `recfuse train-sequence`.
#[derive(Debug, Args)]
pub(crate) struct TrainSequenceArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the weights (safetensors).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Most epochs (default: the signal's parameter, 40); early stopping may end sooner.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed (default: the signal's parameter).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use id embeddings only (do not embed the item texts).
    #[arg(long)]
    pub no_text: bool,
    /// Embedding model directory (default: the bundled all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Device for embedding the item texts: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Embedding precision for the item texts: f32 (default), int8 (CPU), f16 or bf16 (GPU).
    #[arg(long)]
    pub precision: Option<crate::embed::EmbedPrecision>,
    /// Train on what `eval --split leave-last --leave-last N` trains on: every shopper's
    /// last N positive events are left out (0 = train on every event).
    #[arg(long, default_value_t = 0)]
    pub leave_last: usize,
    /// Session file whose transformer parameters and event weights to use.
    #[arg(long, value_name = "FILE")]
    pub session: Option<PathBuf>,
    /// Print JSON (the epochs and the summary) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The item texts' embeddings, or `None` (with a note) when they are not available.
fn item_vectors(
    args: &TrainSequenceArgs,
    session: &Session,
    dataset: &crate::data::Dataset,
) -> Option<std::sync::Arc<ItemVectors>> {
    if args.no_text {
        return None;
    }
    let mut session = session.clone();
    if let Some(m) = &args.model {
        session.model.model_dir = Some(m.clone());
    }
    session.model.device.clone_from(&args.device);
    if let Some(p) = args.precision {
        session.model.precision = p;
    }
    let progress = Progress::new();
    let bar = (!args.json).then(|| super::embed::CliProgressBar::attach(&progress, "embedding"));
    let outcome = pipeline::embed_catalogue(dataset, &session, None, &progress);
    if let Some(bar) = bar {
        bar.finish();
    }
    match outcome {
        Ok(o) => {
            for n in &o.notices {
                eprintln!("note: {n}");
            }
            Some(o.vectors)
        }
        Err(e) => {
            eprintln!("note: item texts not embedded ({e}); training with id embeddings only");
            None
        }
    }
}

fn epoch_json(e: &EpochReport) -> serde_json::Value {
    serde_json::json!({ "epoch": e.epoch, "loss": e.loss, "hit_rate_at_10": e.hit_rate, "ndcg_at_10": e.ndcg })
}

/// Runs `recfuse train-sequence`.
pub(crate) fn run(args: &TrainSequenceArgs) -> anyhow::Result<u8> {
    let mut session = match &args.session {
        Some(p) => Session::load(p)?,
        None => Session::default(),
    };
    session.data = args.data.sources()?;
    let params = &mut session.params.transformer;
    params.enabled = true;
    if let Some(e) = args.epochs {
        params.epochs = e;
    }
    if let Some(s) = args.seed {
        params.seed = s;
    }
    let params = params.clone();
    let dataset = pipeline::load(&session, &Progress::new())?;
    let vectors = item_vectors(args, &session, &dataset);
    let mut events: Vec<usize> = (0..dataset.behaviour.len()).collect();
    if args.leave_last > 0 {
        let rule = crate::eval::split::SplitRule::LeaveLast { n: args.leave_last };
        events = crate::eval::split::split_events(&dataset.behaviour, &events, rule).train;
    }
    let interactions = Interactions::build(&dataset.behaviour, &events, dataset.catalogue.len());
    if !args.json {
        println!(
            "training: width {}, {} blocks, {} heads, last {} items, {} text vectors; {}, lr {}, batches of {}",
            params.dim,
            params.blocks,
            params.heads,
            params.max_len,
            if vectors.is_some() { "with" } else { "without" },
            params.loss.name(),
            params.learning_rate,
            params.batch_size,
        );
        println!("{:>5}  {:>8}  {:>8}  {:>8}", "epoch", "loss", "HR@10", "NDCG@10");
    }
    let started = Instant::now();
    let json = args.json;
    let mut on_epoch = |e: &EpochReport| {
        if !json {
            println!("{:>5}  {:>8.4}  {:>8.4}  {:>8.4}", e.epoch, e.loss, e.hit_rate, e.ndcg);
        }
    };
    let (scorer, report) =
        TransformerScorer::fit(&interactions, vectors.as_deref(), &params, &Progress::new(), &mut on_epoch)?;
    let seconds = started.elapsed().as_secs_f64();
    let scorer = scorer.with_fingerprint(crate::rank::data_fingerprint(&dataset));
    scorer.save(&args.out)?;
    let (scored, scoring_seconds) = time_scoring(&scorer, &interactions);
    if json {
        let v = serde_json::json!({
            "epochs": report.epochs.iter().map(epoch_json).collect::<Vec<_>>(),
            "params": serde_json::to_value(&params)?,
            "best_epoch": report.best_epoch,
            "sequences": report.sequences,
            "validation_shoppers": report.validation_shoppers,
            "text_vectors": vectors.is_some(),
            "seconds": seconds,
            "scored_shoppers": scored,
            "scoring_seconds": scoring_seconds,
            "data_fingerprint": scorer.fingerprint(),
            "out": args.out.display().to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "kept epoch {} ({} sequences, {} validation shoppers) in {seconds:.1} s -> {}",
            report.best_epoch,
            report.sequences,
            report.validation_shoppers,
            args.out.display()
        );
        println!("scored all {scored} shoppers with a history (one thread, every item) in {scoring_seconds:.3} s");
    }
    Ok(0)
}

/// Scores every shopper with training events against every item, one after another on
/// this thread: (shoppers, seconds).
fn time_scoring(scorer: &TransformerScorer, interactions: &Interactions) -> (usize, f64) {
    use crate::score::{ScoreContext, Scorer};
    let mut out = vec![0.0f32; interactions.n_items];
    let started = Instant::now();
    let mut n = 0;
    for u in 0..interactions.n_users as u32 {
        if interactions.user_event_count(u) == 0 {
            continue;
        }
        let profile = interactions.profile(u);
        scorer.score_all(&ScoreContext { profile: &profile, query: None }, &mut out);
        n += 1;
    }
    (n, started.elapsed().as_secs_f64())
}
