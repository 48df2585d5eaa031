//! The learned ranker's protocol, the same as tuning's: the signals fitted on train minus
//! the validation window produce the training candidates, the validation window gives the
//! labels; a fifth of the validation shoppers is held out for early stopping and another
//! fifth, untouched by training, for the comparison with the tuned fusion; the model is then applied to the candidates of the
//! signals fitted on all training events and measured on test. Test events are never read
//! while training.

use rayon::prelude::*;

use super::bootstrap::{BootstrapConfig, Estimate, bootstrap_mean};
use super::experiment::{EvalOutcome, EvalRequest, ResultRow, RowKind, TuneOutcome, TuneSettings};
use super::experiment::{coordinate_ascent, fit_on};
use super::metrics::AccuracyScores;
use super::runner::EvalContext;
use super::split::three_way;
use crate::data::Dataset;
use crate::fusion::{FusionConfig, FusionMethod, fused_scores};
use crate::jobs::Progress;
use crate::rank::{
    EpochReport, FeatureInput, Ranker, RankerError, TrainList, TrainReport, TrainSettings, data_fingerprint, train,
};
use crate::score::Interactions;

/// Fraction of the validation shoppers held out for early stopping.
pub const HOLDOUT_FRACTION: f64 = 0.2;
/// Fraction of the validation shoppers kept apart for the comparison with the tuned
/// fusion (never seen by training or early stopping: choosing the best epoch on the
/// comparison shoppers made the learned ranker look better than it was on test).
pub const COMPARE_FRACTION: f64 = 0.2;
/// The ranker starts from the tuned fusion's weights times this (a sharper softmax
/// than weights summing to about 1 give over hundreds of candidates).
pub const WARM_SCALE: f32 = 5.0;
/// Training lists keep the leading candidates of the tuned fusion, at most this many.
pub const MAX_TRAIN_LIST: usize = 100;

/// How the learned ranker compares with the tuned fusion on the comparison shoppers (a
/// share of the validation shoppers training never saw; the tuned weights were searched on
/// all validation shoppers, so the comparison favours them, if anything).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LearnedVsTuned {
    /// Held-out validation shoppers compared.
    pub shoppers: usize,
    /// Mean NDCG@k of the learned ranker on them.
    pub learned_ndcg: f64,
    /// Mean NDCG@k of the tuned fusion on them.
    pub tuned_ndcg: f64,
    /// Paired difference (learned − tuned) with its bootstrap 95 % interval.
    pub delta: Option<Estimate>,
    /// Whether the interval's lower end is above 0: only then is `learned` recommended
    /// over the tuned fusion.
    pub beats_tuned: bool,
}

impl LearnedVsTuned {
    /// A sentence for reports.
    pub fn describe(&self, k: usize) -> String {
        let delta =
            self.delta.map_or(String::new(), |d| format!(", Δ {:+.4} [{:+.4}, {:+.4}]", d.value, d.ci.0, d.ci.1));
        let verdict = if self.beats_tuned {
            "the learned ranker beats the tuned fusion with confidence"
        } else {
            "the learned ranker does not beat the tuned fusion with confidence: the tuned fusion stays the default"
        };
        format!(
            "on {} validation shoppers kept apart from training, ndcg@{k}: learned {:.4}, tuned {:.4}{delta}; {verdict}",
            self.shoppers, self.learned_ndcg, self.tuned_ndcg
        )
    }
}

/// A trained ranker and what it rests on.
pub struct LearnedOutcome {
    /// The model (its meta carries the fingerprint and the summary).
    pub ranker: Ranker,
    /// Epochs and shoppers.
    pub report: TrainReport,
    /// The tuned fusion on the same validation context.
    pub tuned: TuneOutcome,
    /// The comparison with it.
    pub versus_tuned: LearnedVsTuned,
    /// Seconds spent in the training loop (every variant tried).
    pub train_seconds: f64,
    /// The variants tried, with their early-stopping NDCG (one without a search).
    pub variants: Vec<Variant>,
    /// Every validation shopper's training list (the candidates' features and labels).
    pub lists: Vec<TrainList>,
    /// Which shopper each list is of, and how the lists were split.
    pub parts: ListParts,
}

/// How the validation shoppers' lists were split: positions into [`LearnedOutcome::lists`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParts {
    /// The shopper (dataset user index) of each list.
    pub users: Vec<u32>,
    /// Lists the model is fitted on.
    pub fit: Vec<usize>,
    /// Lists early stopping reads.
    pub holdout: Vec<usize>,
    /// Lists kept apart for the comparison with the tuned fusion.
    pub compare: Vec<usize>,
}

/// One trained variant of a hyper-parameter search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Variant {
    /// Hidden width.
    pub hidden: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// Whether it read the embedding features.
    pub embeddings: bool,
    /// Its best NDCG@10 on the early-stopping shoppers (what the choice rests on).
    pub holdout_ndcg: f32,
    /// The epoch kept.
    pub best_epoch: usize,
    /// Whether it was kept.
    pub chosen: bool,
}

/// The settings a search tries: the given ones, then with and without the embedding
/// features at two sizes and learning rates (chosen on the early-stopping shoppers only).
pub fn search_grid(base: &TrainSettings, vectors: bool) -> Vec<TrainSettings> {
    if !base.search {
        return vec![base.clone()];
    }
    let mut out = vec![TrainSettings { embeddings: base.embeddings && vectors, ..base.clone() }];
    let embeddings: &[bool] = if vectors { &[true, false] } else { &[false] };
    for &e in embeddings {
        for (hidden, lr) in [(base.hidden, base.learning_rate), (base.hidden * 2, base.learning_rate * 0.3)] {
            let s = TrainSettings { hidden: hidden.min(1_024), learning_rate: lr, embeddings: e, ..base.clone() };
            let same = |o: &TrainSettings| o.hidden == s.hidden && o.learning_rate == s.learning_rate;
            if !out.iter().any(|o| same(o) && o.embeddings == e) {
                out.push(s);
            }
        }
    }
    out
}

/// Trains every variant of [`search_grid`] on `fit`, each with early stopping on
/// `holdout`, and keeps the one with the best early-stopping NDCG (ties: the first).
#[allow(clippy::too_many_arguments)]
fn train_search(
    signals: &[crate::score::SignalId],
    fit: &[TrainList],
    holdout: &[TrainList],
    vectors: Option<&crate::embed::ItemVectors>,
    settings: &TrainSettings,
    fingerprint: String,
    progress: &Progress,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<(Ranker, TrainReport, Vec<Variant>), RankerError> {
    let mut best: Option<(f32, Ranker, TrainReport)> = None;
    let mut variants = Vec::new();
    for s in search_grid(settings, vectors.is_some()) {
        let (ranker, report) = train(signals, fit, holdout, vectors, &s, fingerprint.clone(), progress, on_epoch)?;
        let ndcg = report.epochs.iter().map(|e| e.validation_ndcg).fold(f32::NEG_INFINITY, f32::max);
        let embeddings = ranker.config().dim > 0;
        variants.push(Variant {
            hidden: s.hidden,
            learning_rate: s.learning_rate,
            embeddings,
            holdout_ndcg: ndcg,
            best_epoch: report.best_epoch,
            chosen: false,
        });
        if best.as_ref().is_none_or(|(b, _, _)| ndcg > *b) {
            best = Some((ndcg, ranker, report));
        }
    }
    let (ndcg, ranker, report) = best.ok_or_else(|| RankerError::Invalid("no ranker variant to train".to_owned()))?;
    if let Some(v) = variants.iter_mut().find(|v| v.holdout_ndcg == ndcg) {
        v.chosen = true;
    }
    Ok((ranker, report, variants))
}

/// The training lists of a validation context: each shopper's leading candidates under
/// `start` (the tuned fusion), labelled with the validation gains.
fn lists(
    context: &EvalContext,
    ranker_signals: &[crate::score::SignalId],
    inner: &Interactions,
    input: &FeatureInput<'_>,
    dim: usize,
    start: &FusionConfig,
    k: usize,
) -> Vec<TrainList> {
    let mut scratch = Vec::new();
    context
        .candidates
        .iter()
        .zip(&context.users)
        .zip(&context.relevance)
        .map(|((set, &u), rel)| {
            // Features are normalised over every candidate, as when the ranker scores a set;
            // only the leading rows are kept for training.
            let mut rows = crate::rank::shopper_rows(set, ranker_signals, &inner.profile(u), input, dim);
            if set.len() > MAX_TRAIN_LIST {
                fused_scores(set, start, &mut scratch);
                let mut order: Vec<usize> = (0..set.len()).collect();
                order.sort_by(|&a, &b| {
                    let (x, y) = (scratch.get(a).copied().unwrap_or(0.0), scratch.get(b).copied().unwrap_or(0.0));
                    y.total_cmp(&x).then(a.cmp(&b))
                });
                order.truncate(MAX_TRAIN_LIST);
                order.sort_unstable();
                rows = rows.select(&order);
            }
            let gains = rows.items.iter().map(|&i| rel.gain(i).unwrap_or(0.0) as f32).collect();
            TrainList { rows, gains, ideal_dcg: rel.ideal_dcg(k) }
        })
        .collect()
}

/// Per-shopper NDCG@k of the learned lists of `indices` of a context whose sets carry
/// learned scores.
fn learned_ndcg(context: &EvalContext, config: &FusionConfig, indices: &[usize], k: usize) -> Vec<f64> {
    let lists = context.lists(config, k);
    indices
        .iter()
        .filter_map(|&i| Some(AccuracyScores::compute(lists.get(i)?, context.relevance.get(i)?, k).ndcg))
        .collect()
}

/// Tunes the weighted fusion and trains the ranker on the validation protocol; compares
/// them on the validation shoppers kept apart from training.
pub fn train_ranker(
    dataset: &Dataset,
    req: &EvalRequest,
    tune: &TuneSettings,
    train_settings: &TrainSettings,
    progress: &Progress,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<LearnedOutcome, RankerError> {
    let split = three_way(&dataset.behaviour, req.rule);
    progress.start_stage("fitting on train minus validation", 1);
    let (inner, models) = fit_on(dataset, &split.inner_train, req, progress)?;
    let mut context = EvalContext::prepare(
        dataset,
        &split.inner_train,
        &inner,
        &split.validation,
        &models,
        &req.config,
        req.binary,
        progress,
    )?;
    let k = tune.k.max(1);
    let signals = context.signals.clone();
    let vectors = req.vectors.as_deref();
    let dim = vectors.map_or(0, |v| v.dim);
    let input = FeatureInput { catalogue: &dataset.catalogue, interactions: &inner, vectors };
    let mut start = req.config.clone();
    if start.method == FusionMethod::Learned {
        start.method = FusionMethod::Weighted;
    }
    // The tuned fusion first: training starts from its weights (and keeps them when no
    // epoch beats them on the early-stopping shoppers) and reorders its leading candidates,
    // so the ranker learns what it adds to the tuned fusion.
    context.prepare_for(&start);
    let tuned = coordinate_ascent(std::slice::from_mut(&mut context), &start, tune, progress);
    progress.check()?;
    context.prepare_for(&tuned.config);
    let all = lists(&context, &signals, &inner, &input, dim, &tuned.config, k);
    let mut order: Vec<usize> = (0..all.len()).collect();
    fastrand::Rng::with_seed(train_settings.seed).shuffle(&mut order);
    let share = |f: f64| ((all.len() as f64 * f).round() as usize).max(usize::from(all.len() >= 3));
    let (compare_idx, rest) = order.split_at(share(COMPARE_FRACTION).min(all.len()));
    let (holdout_idx, fit_idx) = rest.split_at(share(HOLDOUT_FRACTION).min(rest.len()));
    let pick = |idx: &[usize]| idx.iter().filter_map(|&i| all.get(i).cloned()).collect::<Vec<_>>();
    let started = std::time::Instant::now();
    let settings = TrainSettings {
        warm_start: signals.iter().map(|&s| tuned.config.weight(s) * WARM_SCALE).collect(),
        ..train_settings.clone()
    };
    let (ranker, report, variants) = train_search(
        &signals,
        &pick(fit_idx),
        &pick(holdout_idx),
        vectors,
        &settings,
        data_fingerprint(dataset),
        progress,
        on_epoch,
    )?;
    let train_seconds = started.elapsed().as_secs_f64();
    attach_learned(&mut context, &ranker, &inner, &input)?;
    let learned_config = FusionConfig { method: FusionMethod::Learned, ..start.clone() };
    let learned_v = learned_ndcg(&context, &learned_config, compare_idx, k);
    context.prepare_for(&tuned.config);
    let tuned_all = context.per_user_ndcg(&tuned.config, k);
    let tuned_v: Vec<f64> = compare_idx.iter().filter_map(|&i| tuned_all.get(i).copied()).collect();
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let gains: Vec<f64> = learned_v.iter().zip(&tuned_v).map(|(a, b)| a - b).collect();
    let boot = BootstrapConfig { resamples: 1000, seed: tune.seed, ..BootstrapConfig::default() };
    let delta = bootstrap_mean(&gains, &boot);
    let versus_tuned = LearnedVsTuned {
        shoppers: gains.len(),
        learned_ndcg: mean(&learned_v),
        tuned_ndcg: mean(&tuned_v),
        delta,
        beats_tuned: delta.is_some_and(|d| d.ci.0 > 0.0),
    };
    let mut ranker = ranker;
    ranker.meta.summary = serde_json::json!({
        "report": report,
        "k": k,
        "versus_tuned": versus_tuned,
        "split": req.rule.name(),
        "train_seconds": train_seconds,
        "variants": variants,
    });
    let parts = ListParts {
        users: context.users.clone(),
        fit: fit_idx.to_vec(),
        holdout: holdout_idx.to_vec(),
        compare: compare_idx.to_vec(),
    };
    Ok(LearnedOutcome { ranker, report, tuned, versus_tuned, train_seconds, variants, lists: all, parts })
}

/// Scores every candidate set of `context` with `ranker` (profiles from `interactions`,
/// which the context's signals were fitted on), and attributes each set's `explain_top`
/// best-scored candidates exactly (0: none). Returns the number of items attributed.
pub fn attach_learned_explained(
    context: &mut EvalContext,
    ranker: &Ranker,
    interactions: &Interactions,
    input: &FeatureInput<'_>,
    explain_top: usize,
) -> Result<usize, RankerError> {
    let scorer = ranker.scorer(input.vectors, true)?;
    let users = context.users.clone();
    let counts = std::sync::Arc::make_mut(&mut context.candidates)
        .par_iter_mut()
        .zip(users.par_iter())
        .map(|(set, &u)| {
            let rows = ranker.rows(set, &interactions.profile(u), input);
            if explain_top == 0 {
                set.learned = scorer.score(&rows)?;
                return Ok(0);
            }
            let (scores, explained) = scorer.score_and_attribute(ranker.signals(), &rows, explain_top)?;
            set.learned = scores;
            Ok(explained.len())
        })
        .collect::<Result<Vec<usize>, RankerError>>()?;
    Ok(counts.iter().sum())
}

/// Scores every candidate set of `context` with `ranker` (no attribution).
pub fn attach_learned(
    context: &mut EvalContext,
    ranker: &Ranker,
    interactions: &Interactions,
    input: &FeatureInput<'_>,
) -> Result<(), RankerError> {
    attach_learned_explained(context, ranker, interactions, input, 0).map(|_| ())
}

/// The interactions of the training events of `outcome`'s split (what its test context's
/// signals were fitted on, and what the ranker's profiles and cheap features read).
pub fn test_interactions(dataset: &Dataset, outcome: &EvalOutcome) -> Interactions {
    let split = three_way(&dataset.behaviour, outcome.request.rule);
    Interactions::build(&dataset.behaviour, &split.train, dataset.catalogue.len())
}

/// Scores `outcome`'s test context with `ranker` (signals fitted on all training events,
/// `train` from [`test_interactions`]) and attributes each shopper's `explain_top` best
/// candidates; returns the number of items attributed. Refuses a ranker reading signals
/// the test fit lacks.
pub fn attach_test(
    dataset: &Dataset,
    outcome: &mut EvalOutcome,
    ranker: &Ranker,
    train: &Interactions,
    explain_top: usize,
) -> Result<usize, RankerError> {
    let vectors = outcome.request.vectors.clone();
    let input = FeatureInput { catalogue: &dataset.catalogue, interactions: train, vectors: vectors.as_deref() };
    let missing: Vec<&str> =
        ranker.signals().iter().filter(|s| !outcome.context.signals.contains(s)).map(|s| s.id()).collect();
    if !missing.is_empty() {
        return Err(RankerError::Stale(format!(
            "the ranker reads signals the test fit does not have: {}",
            missing.join(", ")
        )));
    }
    attach_learned_explained(&mut outcome.context, ranker, train, &input, explain_top)
}

/// The `learned` row of a test context whose sets carry learned scores ([`attach_test`]).
pub fn measure_learned(outcome: &mut EvalOutcome) -> ResultRow {
    let req = &outcome.request;
    let config = FusionConfig { method: FusionMethod::Learned, ..req.config.clone() };
    let metrics = outcome.context.measure(&config, &req.ks, &req.bootstrap);
    ResultRow { name: "learned".to_owned(), kind: RowKind::Learned, weights: Default::default(), metrics }
}

/// The `learned` row: `ranker` applied to the test context of `outcome` (signals fitted on
/// all training events) and measured like every other row.
pub fn learned_row(dataset: &Dataset, outcome: &mut EvalOutcome, ranker: &Ranker) -> Result<ResultRow, RankerError> {
    let train = test_interactions(dataset, outcome);
    attach_test(dataset, outcome, ranker, &train, 0)?;
    Ok(measure_learned(outcome))
}

/// The `tuned` row: weights tuned on validation measured on the test context of `outcome`
/// (as [`super::experiment::evaluate_and_tune`] adds it).
pub fn tuned_row(outcome: &mut EvalOutcome, tuned: &TuneOutcome) -> ResultRow {
    let req = &outcome.request;
    outcome.context.prepare_for(&tuned.config);
    let metrics = outcome.context.measure(&tuned.config, &req.ks, &req.bootstrap);
    outcome.context.prepare_for(&req.config);
    ResultRow {
        name: "tuned".to_owned(),
        kind: RowKind::Tuned,
        weights: super::experiment::non_zero_weights(&tuned.config, &outcome.context.signals),
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_grid_tries_each_size_with_and_without_embeddings_once() {
        let base = TrainSettings { hidden: 32, learning_rate: 0.01, ..TrainSettings::default() };
        assert_eq!(search_grid(&base, true), vec![base.clone()]);
        let on = TrainSettings { search: true, ..base };
        let key = |s: &TrainSettings| (s.hidden, (s.learning_rate * 1e4).round() as i64, s.embeddings);
        let with: Vec<_> = search_grid(&on, true).iter().map(key).collect();
        assert_eq!(with, vec![(32, 100, true), (64, 30, true), (32, 100, false), (64, 30, false)]);
        let without: Vec<_> = search_grid(&on, false).iter().map(key).collect();
        assert_eq!(without, vec![(32, 100, false), (64, 30, false)]);
    }
}
