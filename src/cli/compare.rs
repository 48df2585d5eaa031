//! `recfuse compare`: two configurations on the same users — paired metric deltas with
//! intervals and p-values, and how much their lists overlap. One side may be the learned
//! ranker (fusion method `learned`, the model from `--ranker` or beside its session file).

use std::path::{Path, PathBuf};

use clap::Args;

use super::recommend::RankArgs;
use crate::eval::compare::compare_configs;
use crate::eval::runner::EvalContext;
use crate::eval::split::{SplitRule, three_way};
use crate::fusion::FusionMethod;
use crate::jobs::Progress;
use crate::rank::{FeatureInput, Ranker, data_fingerprint};
use crate::score::Interactions;
use crate::score::{FitInput, fit_signals};
use crate::session::Session;

/// Arguments of `recfuse compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Session (or configuration) file A.
    #[arg(long, value_name = "FILE")]
    pub a: PathBuf,
    /// Session (or configuration) file B.
    #[arg(long, value_name = "FILE")]
    pub b: PathBuf,
    /// Catalogue file (default: A's).
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    /// Behaviour file (default: A's).
    #[arg(long, value_name = "FILE")]
    pub behaviour: Option<PathBuf>,
    /// Cut-off.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Rank-biased overlap persistence p.
    #[arg(long, default_value_t = 0.9)]
    pub rbo_p: f64,
    /// Split: temporal, leave-last, random.
    #[arg(long, default_value = "temporal")]
    pub split: String,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// The learned ranker when A or B uses fusion method `learned`: `--ranker`, else the one
/// saved beside that session file (`<session>.ranker.safetensors`, as the window saves it).
fn learned_ranker(args: &CompareArgs, a: &Session, b: &Session) -> anyhow::Result<Option<(PathBuf, Ranker)>> {
    let learned: Vec<&Path> = [(a, &args.a), (b, &args.b)]
        .into_iter()
        .filter(|(s, _)| s.fusion.method == FusionMethod::Learned)
        .map(|(_, p)| p.as_path())
        .collect();
    let session = match learned.as_slice() {
        [] => {
            anyhow::ensure!(args.rank.ranker.is_none(), "--ranker is read only when A or B uses fusion method learned");
            return Ok(None);
        }
        [one] => *one,
        _ => anyhow::bail!(
            "A and B both use fusion method learned: compare the learned ranker with a weighted (or rrf, combmnz, \
             borda) configuration"
        ),
    };
    let path = match &args.rank.ranker {
        Some(p) => p.clone(),
        None => crate::session::workbench::ranker::ranker_path(session),
    };
    anyhow::ensure!(
        path.exists(),
        "{} uses fusion method learned, but there is no ranker at {}: give --ranker FILE (train one with `recfuse \
         train`, or Train ranker in the window and save the session)",
        session.display(),
        path.display()
    );
    let ranker = Ranker::load(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some((path, ranker)))
}

/// Runs `recfuse compare`.
pub(crate) fn run(args: &CompareArgs) -> anyhow::Result<u8> {
    let mut a = Session::load(&args.a)?;
    let mut b = Session::load(&args.b)?;
    anyhow::ensure!(
        args.catalogue.is_some() || args.behaviour.is_some() || a.data == b.data,
        "{} and {} are sessions on different data ({} vs {}); compare sessions of the same data, or give \
         --behaviour (and --catalogue) to evaluate both on one dataset",
        args.a.display(),
        args.b.display(),
        a.data.behaviour.display(),
        b.data.behaviour.display()
    );
    let mut session = a.clone();
    if let Some(c) = &args.catalogue {
        session.data.catalogue = Some(c.clone());
    }
    if let Some(bh) = &args.behaviour {
        session.data.behaviour = bh.clone();
    }
    anyhow::ensure!(
        a.fusion.exclude_seen == b.fusion.exclude_seen,
        "A and B must agree on excluding already-seen items: it changes which items are relevant"
    );
    // Found (or refused) before anything is fitted.
    let learned = learned_ranker(args, &a, &b)?;
    session.data.signals.extend(args.rank.signal_files()?);
    session.check_external().map_err(anyhow::Error::msg)?;
    let engine = super::recommend::build_engine(&session, &args.rank)?;
    super::recommend::add_external_weights(&engine, &mut a.fusion);
    super::recommend::add_external_weights(&engine, &mut b.fusion);
    let dataset = engine.dataset.clone();
    let rule = SplitRule::from_name(&args.split, 0.1, 1, args.seed)
        .ok_or_else(|| anyhow::anyhow!("unknown split {}", args.split))?;
    let split = three_way(&dataset.behaviour, rule);
    let progress = Progress::new();
    let train = Interactions::build(&dataset.behaviour, &split.train, dataset.catalogue.len());
    anyhow::ensure!(
        a.params == b.params,
        "A and B use different signal parameters; compare fusion settings with equal parameters"
    );
    let input = FitInput {
        interactions: &train,
        catalogue: &dataset.catalogue,
        texts: &engine.item_texts,
        vectors: engine.vectors.as_ref().ok_or("no embeddings"),
    };
    let mut models = fit_signals(&input, &a.params, &progress).map_err(|_| anyhow::anyhow!("cancelled"))?;
    // External signals are used as imported (not fitted on the train split).
    models.add_external(&engine.external_scorers());
    // Candidates must cover both configurations: build with the larger top-N.
    let mut build = a.fusion.clone();
    build.candidates_per_signal = a.fusion.candidates_per_signal.max(b.fusion.candidates_per_signal);
    let mut context =
        EvalContext::prepare(&dataset, &split.train, &train, &split.test, &models, &build, true, &progress)
            .map_err(|_| anyhow::anyhow!("cancelled"))?;
    context.vectors = engine.vectors.clone();
    if let Some((path, ranker)) = learned {
        ranker
            .check_compatible(&data_fingerprint(&dataset), &context.signals, engine.vectors.as_deref())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let input =
            FeatureInput { catalogue: &dataset.catalogue, interactions: &train, vectors: engine.vectors.as_deref() };
        crate::eval::learned::attach_learned(&mut context, &ranker, &train, &input)?;
    }
    let result = compare_configs(&mut context, &a.fusion, &b.fusion, args.k, args.rbo_p, args.seed);
    if args.rank.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(0);
    }
    println!("A = {}   B = {}   ({} users, {} split)", args.a.display(), args.b.display(), result.users, rule.name());
    println!("{:<14} {:>8} {:>8} {:>9} {:>22} {:>9}", "metric", "A", "B", "B − A", "95% interval", "p");
    for (key, c) in &result.deltas {
        println!(
            "{key:<14} {:>8.4} {:>8.4} {:>+9.4} {:>22} {:>9.4}",
            c.mean_a,
            c.mean_b,
            c.delta.value,
            format!("[{:+.4}, {:+.4}]", c.delta.ci.0, c.delta.ci.1),
            c.p_value
        );
    }
    println!("\nlist overlap per user @{} (mean · median · [q1, q3]):", args.k);
    for (name, d) in [
        ("jaccard", &result.jaccard),
        (format!("rbo p={}", args.rbo_p).as_str(), &result.rbo),
        ("kendall_tau", &result.kendall_tau),
    ] {
        if let Some(d) = d {
            println!("  {name:<12} {:.3} · {:.3} · [{:.3}, {:.3}]  (n = {})", d.mean, d.median, d.q1, d.q3, d.n);
        }
    }
    Ok(0)
}
