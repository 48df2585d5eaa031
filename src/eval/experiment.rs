//! Evaluation runs: split, fit on train only, measure each signal alone, the current
//! fusion and (optionally) weights tuned on validation. The sweeps and the
//! accuracy-vs-diversity front on a prepared context are in [`super::sweep`].

use std::sync::Arc;

use serde::Serialize;

use super::bootstrap::BootstrapConfig;
use super::runner::{ConfigMetrics, EvalContext, SegmentResult};
use super::split::{SplitRule, three_way};
use crate::data::Dataset;
use crate::fusion::{FusionConfig, Normalisation};
use crate::jobs::{Cancelled, Progress};
use crate::score::semantic::ItemVectors;
use crate::score::{FitInput, SignalModels, fit_signals};
use crate::score::{Interactions, SignalId, SignalParams};

/// What to evaluate.
#[derive(Clone)]
pub struct EvalRequest {
    /// Split rule (validation uses the same rule inside train).
    pub rule: SplitRule,
    /// Cut-offs.
    pub ks: Vec<usize>,
    /// Binary relevance.
    pub binary: bool,
    /// Bootstrap settings.
    pub bootstrap: BootstrapConfig,
    /// Signal hyper-parameters.
    pub params: SignalParams,
    /// The current fusion settings.
    pub config: FusionConfig,
    /// Item vectors (text only: no leakage), when available.
    pub vectors: Option<Arc<ItemVectors>>,
    /// Item texts for BM25.
    pub texts: Arc<Vec<String>>,
    /// External signals (imported scores): used as they are, not fitted on train.
    pub external: Vec<Arc<crate::score::external::ExternalScorer>>,
}

/// Kind of a result row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// One signal alone.
    Signal,
    /// The current fusion weights.
    Fused,
    /// Weights tuned on validation, measured on test.
    Tuned,
    /// The learned ranker trained on validation, measured on test (`crate::eval::learned`).
    Learned,
}

/// One row of the results table.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// Row name (signal id, "fused", "tuned").
    pub name: String,
    /// Kind.
    pub kind: RowKind,
    /// Weights used (non-zero only).
    pub weights: std::collections::BTreeMap<String, f32>,
    /// Metrics.
    pub metrics: ConfigMetrics,
}

/// The outcome of an evaluation run.
pub struct EvalOutcome {
    /// Split name.
    pub split: String,
    /// Temporal cut-off of the test split, when any.
    pub cut: Option<i64>,
    /// Events in train / test.
    pub events: (usize, usize),
    /// Users evaluated.
    pub users: usize,
    /// Result rows.
    pub rows: Vec<ResultRow>,
    /// Segment breakdown of the fused configuration's first-K NDCG.
    pub segments: Vec<SegmentResult>,
    /// The prepared test context (live re-evaluation, sweeps).
    pub context: EvalContext,
    /// The request it answered.
    pub request: EvalRequest,
}

/// Settings of weight tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TuneSettings {
    /// Cut-off of the NDCG objective.
    pub k: usize,
    /// Coordinate-ascent rounds per start.
    pub rounds: usize,
    /// Random restarts besides the current weights.
    pub restarts: usize,
    /// Seed of the restarts.
    pub seed: u64,
    /// Also try each signal's normalisation.
    pub normalisation: bool,
    /// Also tune ALS's λ and α and the item-CF / user-CF neighbourhood sizes on validation
    /// (`crate::eval::hyper`) before the weights.
    pub params: bool,
    /// Successive validation windows the weights are chosen on (rolling origin,
    /// [`super::split::validation_windows`]); 1 = the single validation split. The signal
    /// parameters are tuned on the latest window.
    pub windows: usize,
}

/// The most validation windows tuning takes.
pub const MAX_VALIDATION_WINDOWS: usize = 4;

impl Default for TuneSettings {
    fn default() -> Self {
        Self { k: 10, rounds: 3, restarts: 2, seed: 7, normalisation: true, params: true, windows: 1 }
    }
}

/// The result of tuning.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// The configuration kept (see [`TuneOutcome::kept`]): the searched weights only when they
    /// beat the best single signal with confidence on validation.
    pub config: FusionConfig,
    /// Validation NDCG@k of the kept configuration.
    pub validation_ndcg: f64,
    /// Validation NDCG@k of the starting configuration.
    pub start_ndcg: f64,
    /// Validation NDCG@k of the best configuration the search found.
    pub searched_ndcg: f64,
    /// The best single signal on validation and its NDCG@k.
    pub best_single: Option<(SignalId, f64)>,
    /// What was kept, and why.
    pub kept: TunedChoice,
    /// Shoppers the validation scores rest on (summed over the windows: a shopper evaluated
    /// in two windows counts twice).
    pub validation_users: usize,
    /// Shoppers evaluated in each validation window, latest first.
    pub window_users: Vec<usize>,
    /// Objective evaluations made.
    pub evaluations: usize,
    /// The signal parameters tuned on validation (`None` when they were not tuned); the
    /// tuned row is measured with models fitted on train with these.
    pub params: Option<SignalParams>,
    /// Every hyper-parameter setting tried, with its validation NDCG.
    pub param_trials: Vec<super::hyper::ParamTrial>,
}

impl TuneOutcome {
    /// What the validation scores rest on: "412 validation shoppers", or with several
    /// windows "612 validation shoppers in 2 windows (412 + 200)".
    pub fn shoppers_described(&self) -> String {
        match self.window_users.as_slice() {
            [] | [_] => format!("{} validation shoppers", self.validation_users),
            many => format!(
                "{} validation shoppers in {} windows ({})",
                self.validation_users,
                many.len(),
                many.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" + ")
            ),
        }
    }
}

/// Which configuration tuning kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunedChoice {
    /// The searched weights: their paired 95 % lower bound over the best single signal is above 0.
    Searched,
    /// The starting weights: the search did not beat the best single signal with confidence, the
    /// starting weights did.
    Start,
    /// The best single signal: neither fusion beat it with confidence on validation.
    SingleSignal(SignalId),
}

impl TunedChoice {
    /// A sentence for reports.
    pub fn describe(self) -> String {
        match self {
            TunedChoice::Searched => {
                "searched weights (beat the best single signal with confidence on validation)".into()
            }
            TunedChoice::Start => {
                "starting weights (the search did not beat the best single signal with confidence; they did)".into()
            }
            TunedChoice::SingleSignal(s) => {
                format!("{s} alone (no fusion beat it with confidence on validation)")
            }
        }
    }
}

/// Weight grid tried for each signal by coordinate ascent.
pub const WEIGHT_GRID: [f32; 9] = [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0];

/// Fits every signal on the events `events` of `dataset` (plus the request's item vectors for
/// `semantic`): what evaluation and tuning fit on, and what the tuning benchmark times.
pub fn fit_on(
    dataset: &Dataset,
    events: &[usize],
    req: &EvalRequest,
    progress: &Progress,
) -> Result<(Interactions, SignalModels), Cancelled> {
    let train = Interactions::build(&dataset.behaviour, events, dataset.catalogue.len());
    let input = FitInput {
        interactions: &train,
        catalogue: &dataset.catalogue,
        texts: &req.texts,
        vectors: req.vectors.as_ref().ok_or("no item embeddings"),
    };
    let mut models = fit_signals(&input, &req.params, progress)?;
    models.add_external(&req.external);
    Ok((train, models))
}

pub(crate) fn non_zero_weights(config: &FusionConfig, signals: &[SignalId]) -> std::collections::BTreeMap<String, f32> {
    signals.iter().filter(|s| config.weight(**s) != 0.0).map(|s| (s.id().to_owned(), config.weight(*s))).collect()
}

pub use super::hyper::single_signal;

/// Prepares the test context and measures every signal alone and the current fusion.
pub fn run_evaluation(dataset: &Dataset, req: &EvalRequest, progress: &Progress) -> Result<EvalOutcome, Cancelled> {
    Ok(evaluation_parts(dataset, req, progress)?.0)
}

/// [`run_evaluation`], also returning the train interactions and the models fitted on them.
fn evaluation_parts(
    dataset: &Dataset,
    req: &EvalRequest,
    progress: &Progress,
) -> Result<(EvalOutcome, Interactions, SignalModels), Cancelled> {
    let split = three_way(&dataset.behaviour, req.rule);
    progress.start_stage("fitting on train", 1);
    let (train, models) = fit_on(dataset, &split.train, req, progress)?;
    let mut context =
        EvalContext::prepare(dataset, &split.train, &train, &split.test, &models, &req.config, req.binary, progress)?;
    context.vectors = req.vectors.clone();
    let mut rows = Vec::new();
    progress.start_stage("measuring", context.signals.len() as u64 + 1);
    for &signal in &context.signals.clone() {
        progress.check()?;
        let config = single_signal(&req.config, signal);
        context.prepare_for(&config);
        let metrics = context.measure(&config, &req.ks, &req.bootstrap);
        rows.push(ResultRow {
            name: signal.id().to_owned(),
            kind: RowKind::Signal,
            weights: non_zero_weights(&config, &context.signals),
            metrics,
        });
        progress.advance(1);
    }
    context.prepare_for(&req.config);
    let fused = context.measure(&req.config, &req.ks, &req.bootstrap);
    let first_k = req.ks.first().copied().unwrap_or(10);
    let segments = fused
        .per_user
        .get(&format!("ndcg@{first_k}"))
        .map(|v| context.segment_breakdown(v, &req.bootstrap))
        .unwrap_or_default();
    rows.push(ResultRow {
        name: "fused".to_owned(),
        kind: RowKind::Fused,
        weights: non_zero_weights(&req.config, &context.signals),
        metrics: fused,
    });
    progress.advance(1);
    let outcome = EvalOutcome {
        split: req.rule.name().to_owned(),
        cut: split.cuts.1,
        events: (split.train.len(), split.test.len()),
        users: context.users.len(),
        rows,
        segments,
        context,
        request: req.clone(),
    };
    Ok((outcome, train, models))
}

/// Tunes weights (and normalisations) by coordinate ascent with restarts to maximise
/// NDCG@k on the validation split (fitted on train minus validation). Test events are
/// never read.
pub fn tune(
    dataset: &Dataset,
    req: &EvalRequest,
    settings: &TuneSettings,
    progress: &Progress,
) -> Result<TuneOutcome, Cancelled> {
    let split = three_way(&dataset.behaviour, req.rule);
    progress.start_stage("fitting on train minus validation", 1);
    let (inner, mut models) = fit_on(dataset, &split.inner_train, req, progress)?;
    let tuning = if settings.params {
        let search = super::hyper::ParamSearch {
            dataset,
            split: &split,
            input: FitInput {
                interactions: &inner,
                catalogue: &dataset.catalogue,
                texts: &req.texts,
                vectors: req.vectors.as_ref().ok_or("no item embeddings"),
            },
            params: &req.params,
            config: &req.config,
            binary: req.binary,
            k: settings.k.max(1),
        };
        let t = super::hyper::tune_params(&search, progress)?;
        for (signal, scorer) in &t.models {
            models.scorers.insert(*signal, scorer.clone());
        }
        Some(t)
    } else {
        None
    };
    let mut contexts = vec![EvalContext::prepare(
        dataset,
        &split.inner_train,
        &inner,
        &split.validation,
        &models,
        &req.config,
        req.binary,
        progress,
    )?];
    if settings.windows > 1 {
        // Earlier windows: every signal fitted on that window's events with the parameters
        // just tuned, scored on its validation events.
        let windows =
            super::split::earlier_windows(&dataset.behaviour, req.rule, &split.inner_train, settings.windows - 1);
        let earlier = EvalRequest {
            params: tuning.as_ref().map_or_else(|| req.params.clone(), |t| t.params.clone()),
            ..req.clone()
        };
        for (w, window) in windows.iter().enumerate() {
            progress.start_stage(format!("fitting validation window {} of {}", w + 2, windows.len() + 1), 1);
            let (fitted, window_models) = fit_on(dataset, &window.fit, &earlier, progress)?;
            let context = EvalContext::prepare(
                dataset,
                &window.fit,
                &fitted,
                &window.validation,
                &window_models,
                &req.config,
                req.binary,
                progress,
            )?;
            if !context.users.is_empty() {
                contexts.push(context);
            }
        }
    }
    let mut outcome = coordinate_ascent(&mut contexts, &req.config, settings, progress);
    if let Some(t) = tuning {
        outcome.params = Some(t.params);
        outcome.param_trials = t.trials;
    }
    Ok(outcome)
}

/// Runs [`run_evaluation`], tunes on validation with [`tune`], and adds a `tuned` row:
/// the tuned weights measured on the same test context as every other row.
pub fn evaluate_and_tune(
    dataset: &Dataset,
    req: &EvalRequest,
    settings: &TuneSettings,
    progress: &Progress,
) -> Result<(EvalOutcome, TuneOutcome), Cancelled> {
    let (mut outcome, train, mut models) = evaluation_parts(dataset, req, progress)?;
    let tuned = tune(dataset, req, settings, progress)?;
    let changed = tuned.params.as_ref().map(|p| super::hyper::changed(&req.params, p)).unwrap_or_default();
    let metrics = match &tuned.params {
        Some(params) if !changed.is_empty() => {
            // Refit the signals whose parameters changed on train, and measure on a test
            // context built from those models (same split, users and relevance).
            let input = FitInput {
                interactions: &train,
                catalogue: &dataset.catalogue,
                texts: &req.texts,
                vectors: req.vectors.as_ref().ok_or("no item embeddings"),
            };
            progress.start_stage("refitting tuned signals on train", changed.len() as u64);
            for signal in &changed {
                if let Some(spec) = crate::score::registry::spec(*signal)
                    && let crate::score::registry::Fitted::Ready(s) =
                        crate::score::registry::fit_signal(spec, &input, params, progress)?
                {
                    models.scorers.insert(*signal, s);
                }
                progress.advance(1);
            }
            let split = three_way(&dataset.behaviour, req.rule);
            let mut context = EvalContext::prepare(
                dataset,
                &split.train,
                &train,
                &split.test,
                &models,
                &tuned.config,
                req.binary,
                progress,
            )?;
            context.prepare_for(&tuned.config);
            context.measure(&tuned.config, &req.ks, &req.bootstrap)
        }
        _ => {
            outcome.context.prepare_for(&tuned.config);
            let m = outcome.context.measure(&tuned.config, &req.ks, &req.bootstrap);
            outcome.context.prepare_for(&req.config);
            m
        }
    };
    outcome.rows.push(ResultRow {
        name: "tuned".to_owned(),
        kind: RowKind::Tuned,
        weights: non_zero_weights(&tuned.config, &outcome.context.signals),
        metrics,
    });
    Ok((outcome, tuned))
}

/// NDCG@k of `config` over the shoppers of every context (each window's mean weighted by
/// its shoppers).
fn pooled_ndcg(contexts: &mut [EvalContext], config: &FusionConfig, k: usize) -> f64 {
    let (mut sum, mut users) = (0.0, 0usize);
    for ctx in contexts.iter_mut() {
        ctx.prepare_for(config);
        let n = ctx.users.len();
        sum += ctx.mean_ndcg(config, k) * n as f64;
        users += n;
    }
    if users == 0 { 0.0 } else { sum / users as f64 }
}

/// Coordinate ascent on prepared validation contexts (one per validation window; the
/// objective pools their shoppers).
pub fn coordinate_ascent(
    contexts: &mut [EvalContext],
    start: &FusionConfig,
    settings: &TuneSettings,
    progress: &Progress,
) -> TuneOutcome {
    let signals = contexts.first().map(|c| c.signals.clone()).unwrap_or_default();
    let k = settings.k.max(1);
    let mut evaluations = 0usize;
    let mut evaluate = |ctx: &mut [EvalContext], c: &FusionConfig| {
        evaluations += 1;
        pooled_ndcg(ctx, c, k)
    };
    let start_ndcg = evaluate(contexts, start);
    let mut starts = vec![start.clone()];
    let mut rng = fastrand::Rng::with_seed(settings.seed);
    for _ in 0..settings.restarts {
        let mut c = start.clone();
        for &s in &signals {
            let w = WEIGHT_GRID.get(rng.usize(..WEIGHT_GRID.len())).copied().unwrap_or(0.1);
            c.set_weight(s, w);
            c.signals.entry(s).or_default().enabled = true;
        }
        starts.push(c);
    }
    let per_round = signals.len() * (WEIGHT_GRID.len() + if settings.normalisation { 3 } else { 0 });
    progress.start_stage("tuning weights", (starts.len() * settings.rounds * per_round) as u64);
    let mut best = (start.clone(), start_ndcg);
    for mut current in starts {
        let mut current_value = evaluate(contexts, &current);
        for _ in 0..settings.rounds {
            let mut improved = false;
            for &s in &signals {
                if progress.is_cancelled() {
                    break;
                }
                for &w in &WEIGHT_GRID {
                    let mut c = current.clone();
                    c.set_weight(s, w);
                    c.signals.entry(s).or_default().enabled = true;
                    let v = evaluate(contexts, &c);
                    progress.advance(1);
                    if v > current_value + 1e-9 {
                        current = c;
                        current_value = v;
                        improved = true;
                    }
                }
                if settings.normalisation && current.weight(s) != 0.0 {
                    for n in [Normalisation::Minmax, Normalisation::Rank, Normalisation::Zscore] {
                        let mut c = current.clone();
                        c.signals.entry(s).or_default().normalisation = n;
                        let v = evaluate(contexts, &c);
                        progress.advance(1);
                        if v > current_value + 1e-9 {
                            current = c;
                            current_value = v;
                            improved = true;
                        }
                    }
                }
            }
            if !improved {
                break;
            }
        }
        if current_value > best.1 + 1e-9 {
            best = (current, current_value);
        }
    }
    let (kept, config, validation_ndcg, best_single) = keep_robustly(contexts, start, best.0.clone(), k, settings.seed);
    for ctx in contexts.iter_mut() {
        ctx.prepare_for(&config);
    }
    let window_users: Vec<usize> = contexts.iter().map(|c| c.users.len()).collect();
    TuneOutcome {
        config,
        validation_ndcg,
        start_ndcg,
        searched_ndcg: best.1,
        best_single,
        kept,
        validation_users: window_users.iter().sum(),
        window_users,
        evaluations,
        params: None,
        param_trials: Vec::new(),
    }
}

/// Guards tuning against small validation sets: the searched weights are kept only when the
/// paired bootstrap 95 % lower bound of their per-shopper NDCG gain over the best single
/// signal is above 0; else the starting weights under the same test; else that signal alone.
fn keep_robustly(
    contexts: &mut [EvalContext],
    start: &FusionConfig,
    searched: FusionConfig,
    k: usize,
    seed: u64,
) -> (TunedChoice, FusionConfig, f64, Option<(SignalId, f64)>) {
    // Per (window, shopper), in the same order for every configuration: the pairs the
    // paired bootstrap resamples.
    let per_user = |ctx: &mut [EvalContext], c: &FusionConfig| {
        let mut v = Vec::new();
        for window in ctx.iter_mut() {
            window.prepare_for(c);
            v.extend(window.per_user_ndcg(c, k));
        }
        v
    };
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let mut best_single: Option<(SignalId, FusionConfig, Vec<f64>)> = None;
    for s in contexts.first().map(|c| c.signals.clone()).unwrap_or_default() {
        let c = single_signal(start, s);
        let v = per_user(contexts, &c);
        if best_single.as_ref().is_none_or(|(_, _, b)| mean(&v) > mean(b) + 1e-12) {
            best_single = Some((s, c, v));
        }
    }
    let searched_v = per_user(contexts, &searched);
    let Some((signal, single_config, single_v)) = best_single else {
        return (TunedChoice::Searched, searched, mean(&searched_v), None);
    };
    let single = Some((signal, mean(&single_v)));
    let boot = BootstrapConfig { resamples: 1000, seed, ..BootstrapConfig::default() };
    let beats_single = |v: &[f64]| {
        let gain: Vec<f64> = v.iter().zip(&single_v).map(|(a, b)| a - b).collect();
        crate::eval::bootstrap::bootstrap_mean(&gain, &boot).is_some_and(|e| e.ci.0 > 0.0)
    };
    if beats_single(&searched_v) {
        return (TunedChoice::Searched, searched, mean(&searched_v), single);
    }
    let start_v = per_user(contexts, start);
    if beats_single(&start_v) {
        return (TunedChoice::Start, start.clone(), mean(&start_v), single);
    }
    (TunedChoice::SingleSignal(signal), single_config, mean(&single_v), single)
}
