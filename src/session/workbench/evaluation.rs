//! The workbench's evaluation state: background runs, the cached test context for live
//! metrics, tuning results, sweeps and the Pareto front; and the commands that start
//! them or change the evaluation settings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::compare::ConfigComparison;
use crate::eval::experiment::{
    EvalOutcome, EvalRequest, ResultRow, RowKind, TuneOutcome, TuneSettings, evaluate_and_tune, run_evaluation,
};
use crate::eval::learned::learned_row;
use crate::eval::metric_names::MetricKind;
use crate::eval::runner::{ConfigMetrics, EvalContext};
use crate::eval::split::SplitRule;
use crate::eval::sweep::{ParetoPoint, Sweep1, Sweep2, pareto, sweep1, sweep2};
use crate::fusion::{CandidateSet, FusionConfig};
use crate::jobs::Cancelled;
use crate::rank::Ranker;
use crate::score::SignalId;
use crate::session::command::Command;
use crate::session::impact::{Impact, change_impact};

/// What an evaluation-family job returns.
pub enum EvalJobOutput {
    /// A full evaluation.
    Evaluated(Box<EvalOutcome>),
    /// Tuned weights, with the test evaluation of them.
    Tuned(Box<TuneOutcome>, Box<EvalOutcome>),
    /// A one-weight sweep (the context is handed back).
    Swept1(Sweep1, Box<EvalOutcome>),
    /// A two-weight grid.
    Swept2(Sweep2, Box<EvalOutcome>),
    /// Pareto samples.
    Pareto(Vec<ParetoPoint>, Box<EvalOutcome>),
    /// Configurations A and B compared across users.
    Compared(Box<ConfigComparison>, Box<EvalOutcome>),
    /// The learned ranker applied to the test context: its `learned` row (or why there is
    /// none), the ranker it measured, and the context, now carrying its scores.
    LearnedRow(Result<ResultRow, String>, Arc<Ranker>, Box<EvalOutcome>),
}

/// Why no evaluation request can be built from the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalRequestError {
    /// Nothing is loaded and fitted yet.
    #[error("load data first")]
    NotLoaded,
    /// The split name is not one of the known rules.
    #[error("unknown split “{0}”: use temporal, leave-last or random")]
    UnknownSplit(String),
}

/// Evaluation results kept by the workbench.
#[derive(Default)]
pub struct EvaluationState {
    outcome: Option<Box<EvalOutcome>>,
    live: Option<ConfigMetrics>,
    live_config: Option<FusionConfig>,
    /// How long the last live re-measurement took (decides where the next one runs).
    live_cost: Option<Duration>,
    tuned: Option<FusionConfig>,
    /// The data files the tuned weights were tuned on (they outlive a switch of data).
    tuned_on: Option<String>,
    tune_summary: Option<TuneOutcome>,
    sweep1: Option<Sweep1>,
    sweep2: Option<Sweep2>,
    pareto: Option<Vec<ParetoPoint>>,
}

impl EvaluationState {
    /// The last evaluation (its context is reused for live metrics, sweeps and comparisons;
    /// absent while one of those runs).
    pub fn outcome(&self) -> Option<&EvalOutcome> {
        self.outcome.as_deref()
    }

    /// Metrics of the current weights on the cached context, updated on every change.
    pub fn live(&self) -> Option<&ConfigMetrics> {
        self.live.as_ref()
    }

    /// Weights found by tuning.
    pub fn tuned(&self) -> Option<&FusionConfig> {
        self.tuned.as_ref()
    }

    /// The data files the tuned weights were tuned on.
    pub fn tuned_on(&self) -> Option<&str> {
        self.tuned_on.as_deref()
    }

    /// The state for newly installed data: results of the old data are dropped, the
    /// tuned weights are kept with the name of the data they were tuned on.
    pub(super) fn for_new_data(&mut self) {
        let (tuned, tuned_on) = (self.tuned.take(), self.tuned_on.take());
        *self = Self { tuned, tuned_on, ..Self::default() };
    }

    /// Tuning summary.
    pub fn tune_summary(&self) -> Option<&TuneOutcome> {
        self.tune_summary.as_ref()
    }

    /// Last one-weight sweep.
    pub fn sweep1(&self) -> Option<&Sweep1> {
        self.sweep1.as_ref()
    }

    /// Last two-weight grid.
    pub fn sweep2(&self) -> Option<&Sweep2> {
        self.sweep2.as_ref()
    }

    /// Last Pareto sample.
    pub fn pareto(&self) -> Option<&[ParetoPoint]> {
        self.pareto.as_deref()
    }
}

impl Workbench {
    /// Evaluation, tuning, sweeps, cancelling and the evaluation settings.
    pub(super) fn handle_evaluation(&mut self, command: Command) {
        match command {
            Command::RunEvaluation => self.start_evaluation(false),
            Command::RunTuning => self.start_evaluation(true),
            Command::RunSweep1 { signal } => self.start_sweep1(signal),
            Command::RunSweep2 { a, b } => self.start_sweep2(a, b),
            Command::RunPareto => self.start_pareto(),
            Command::CancelJob(name) => self.jobs.cancel(&name),
            Command::SetEvalSettings(settings) => match SplitRule::from_name(&settings.split, 0.1, 1, 0) {
                Some(_) => self.session.eval = settings,
                None => self.notify(NoticeLevel::Error, EvalRequestError::UnknownSplit(settings.split).to_string()),
            },
            _ => {}
        }
    }

    /// The evaluation request for the current session.
    pub fn eval_request(&self) -> Result<EvalRequest, EvalRequestError> {
        let engine = self.data.engine().ok_or(EvalRequestError::NotLoaded)?;
        let e = &self.session.eval;
        let rule = SplitRule::from_name(&e.split, e.test_fraction, e.leave_last_n, e.seed)
            .ok_or_else(|| EvalRequestError::UnknownSplit(e.split.clone()))?;
        Ok(EvalRequest {
            rule,
            ks: if e.ks.is_empty() { vec![10] } else { e.ks.clone() },
            binary: e.binary_relevance,
            bootstrap: BootstrapConfig { resamples: e.bootstrap, seed: e.seed, ..BootstrapConfig::default() },
            params: self.session.params.clone(),
            config: self.session.fusion.clone(),
            vectors: self.embedding.vectors().cloned(),
            texts: engine.item_texts.clone(),
            external: engine.external_scorers(),
        })
    }

    /// Starts an evaluation, or (with `tune`) a tuning run reported on test.
    fn start_evaluation(&mut self, tune: bool) {
        let req = self.eval_request();
        let (Some(dataset), Ok(req)) = (self.data.dataset().cloned(), req) else {
            let why = self.eval_request().err().unwrap_or(EvalRequestError::NotLoaded);
            self.notify(NoticeLevel::Info, why.to_string());
            return;
        };
        let stamp = self.eval_fingerprint();
        let progress = self.progress_handle();
        let name = if tune { job::TUNE } else { job::EVAL };
        let settings = TuneSettings {
            k: req.ks.first().copied().unwrap_or(10),
            seed: self.session.eval.seed,
            windows: self.session.eval.validation_windows,
            ..TuneSettings::default()
        };
        let started = self.jobs.start(name, progress, move |p| {
            let output = if tune {
                evaluate_and_tune(&dataset, &req, &settings, p)
                    .map(|(o, t)| EvalJobOutput::Tuned(Box::new(t), Box::new(o)))
            } else {
                run_evaluation(&dataset, &req, p).map(|o| EvalJobOutput::Evaluated(Box::new(o)))
            };
            JobOutput::Eval(stamp, output.map(Box::new))
        });
        self.report_start(started, Some(format!("“{name}” is already running")));
    }

    /// Takes the cached evaluation context for a job that hands it back.
    pub(super) fn take_context(&mut self) -> Option<Box<EvalOutcome>> {
        if self.jobs.is_running(job::SWEEP) || self.jobs.is_running(job::COMPARE) {
            self.notify(NoticeLevel::Info, "a sweep is already running");
            return None;
        }
        if self.jobs.is_running(job::LEARNED_ROW) {
            self.notify(
                NoticeLevel::Info,
                "the learned ranker is being measured on the evaluation: try again in a moment",
            );
            return None;
        }
        let outcome = self.evaluation.outcome.take();
        if outcome.is_none() {
            self.notify(NoticeLevel::Info, "run an evaluation first: sweeps reuse its cached scores");
        }
        self.evaluation.live = None;
        outcome
    }

    fn start_sweep1(&mut self, signal: SignalId) {
        let Some(mut outcome) = self.take_context() else { return };
        let base = self.session.fusion.clone();
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let boot = outcome.request.bootstrap;
        let values: Vec<f32> = (0..=10).map(|i| i as f32 / 10.0).collect();
        let stamp = self.eval_fingerprint();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::SWEEP, progress, move |_| {
            let s = sweep1(&mut outcome.context, &base, signal, &values, k, &boot);
            JobOutput::Eval(stamp, Ok(Box::new(EvalJobOutput::Swept1(s, outcome))))
        });
        self.report_start(started, Some(format!("“{}” is already running", job::SWEEP)));
    }

    fn start_sweep2(&mut self, a: SignalId, b: SignalId) {
        let Some(mut outcome) = self.take_context() else { return };
        let base = self.session.fusion.clone();
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let values: Vec<f32> = (0..=6).map(|i| i as f32 / 6.0).collect();
        let stamp = self.eval_fingerprint();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::SWEEP, progress, move |_| {
            let s = sweep2(&mut outcome.context, &base, a, b, &values, k);
            JobOutput::Eval(stamp, Ok(Box::new(EvalJobOutput::Swept2(s, outcome))))
        });
        self.report_start(started, Some(format!("“{}” is already running", job::SWEEP)));
    }

    fn start_pareto(&mut self) {
        let Some(mut outcome) = self.take_context() else { return };
        let base = self.session.fusion.clone();
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let seed = self.session.eval.seed;
        let stamp = self.eval_fingerprint();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::SWEEP, progress, move |_| {
            let points = pareto(&mut outcome.context, &base, 150, k, seed);
            JobOutput::Eval(stamp, Ok(Box::new(EvalJobOutput::Pareto(points, outcome))))
        });
        self.report_start(started, Some(format!("“{}” is already running", job::SWEEP)));
    }

    /// Applies the installed learned ranker to the last evaluation's test context in the
    /// background and adds its `learned` row (after an evaluation, and after a training):
    /// then `learned` is measured like any other configuration — in the metrics table, the
    /// live metrics and Compare across users.
    pub(super) fn start_learned_row(&mut self) {
        let (Some(ranker), Some(dataset)) =
            (self.engine().and_then(|e| e.ranker.clone()), self.data.dataset().cloned())
        else {
            return;
        };
        let dim = ranker.config().dim;
        let Some(outcome) = self.evaluation.outcome.as_ref() else { return };
        let vectors = outcome.request.vectors.as_ref().map(|v| v.dim);
        if (dim > 0 && vectors != Some(dim)) || self.jobs.is_running(job::LEARNED_ROW) {
            // Evaluated without the item vectors the ranker reads: no `learned` row.
            return;
        }
        let Some(mut outcome) = self.take_context() else { return };
        let stamp = self.eval_fingerprint();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::LEARNED_ROW, progress, move |_| {
            outcome.rows.retain(|r| r.kind != RowKind::Learned);
            let row = learned_row(&dataset, &mut outcome, &ranker).map_err(|e| e.to_string());
            JobOutput::Eval(stamp, Ok(Box::new(EvalJobOutput::LearnedRow(row, ranker, outcome))))
        });
        self.report_start(started, None);
    }

    /// Takes in the `learned` row; measures again when another ranker was installed meanwhile.
    fn finish_learned_row(
        &mut self,
        row: Result<ResultRow, String>,
        ranker: &Arc<Ranker>,
        mut outcome: Box<EvalOutcome>,
    ) {
        match row {
            Ok(row) => outcome.rows.push(row),
            Err(e) => self.notify(NoticeLevel::Warning, format!("the learned ranker could not be measured: {e}")),
        }
        self.evaluation.outcome = Some(outcome);
        self.evaluation.live = None;
        self.update_live_metrics();
        let current = self.engine().and_then(|e| e.ranker.as_ref()).is_some_and(|r| Arc::ptr_eq(r, ranker));
        if !current {
            self.start_learned_row();
        }
    }

    pub(super) fn finish_eval(&mut self, result: Result<Box<EvalJobOutput>, Cancelled>) {
        let result = match result.map(|o| *o) {
            Ok(EvalJobOutput::LearnedRow(row, ranker, outcome)) => {
                return self.finish_learned_row(row, &ranker, outcome);
            }
            other => other,
        };
        let evaluated = matches!(result, Ok(EvalJobOutput::Evaluated(_) | EvalJobOutput::Tuned(..)));
        // A cancelled run says nothing; the previous results stay.
        if let Ok(output) = result {
            let data = self.data.loaded_from().map(data_label);
            let ev = &mut self.evaluation;
            let outcome = match output {
                EvalJobOutput::Evaluated(o) => o,
                EvalJobOutput::Tuned(t, o) => {
                    ev.tuned = Some(t.config.clone());
                    ev.tuned_on = data;
                    ev.tune_summary = Some(*t);
                    o
                }
                EvalJobOutput::Swept1(s, o) => {
                    ev.sweep1 = Some(s);
                    o
                }
                EvalJobOutput::Swept2(s, o) => {
                    ev.sweep2 = Some(s);
                    o
                }
                EvalJobOutput::Pareto(p, o) => {
                    ev.pareto = Some(p);
                    o
                }
                EvalJobOutput::Compared(c, o) => {
                    self.compare.set_across(*c);
                    o
                }
                EvalJobOutput::LearnedRow(_, _, o) => o,
            };
            self.evaluation.outcome = Some(outcome);
        }
        self.evaluation.live = None;
        self.update_live_metrics();
        // B may be the tuned weights.
        self.update_b(Impact::Rerank);
        if evaluated {
            self.start_learned_row();
        }
    }

    /// Re-measures the current weights on the cached test context. Called after every
    /// command; skipped when candidates would need rebuilding. When it fits in a frame
    /// ([`live_fits_in_frame`]) it runs here; otherwise as the [`job::LIVE_METRICS`] job on a
    /// shared copy of the context, and the previous figures stay shown until it reports.
    pub(super) fn update_live_metrics(&mut self) {
        let config = self.session.fusion.clone();
        let stamp = self.eval_fingerprint();
        let running = self.jobs.is_running(job::LIVE_METRICS);
        let ev = &mut self.evaluation;
        if ev.live_config.as_ref() == Some(&config) && ev.live.is_some() {
            return;
        }
        let Some(outcome) = ev.outcome.as_mut() else { return };
        if change_impact(&outcome.request.config, &config) == Impact::Rescore {
            ev.live = None;
            return;
        }
        // The test context carries no learned scores: it would measure the weighted sum.
        if config.method == crate::fusion::FusionMethod::Learned && !outcome.context.has_learned() {
            ev.live = None;
            return;
        }
        if running {
            // The job's report starts the next measurement if the sliders moved meanwhile.
            return;
        }
        let boot = BootstrapConfig { resamples: 200, ..outcome.request.bootstrap };
        let ks = outcome.request.ks.clone();
        if live_fits_in_frame(ev.live_cost, &outcome.context, boot.resamples, ks.len()) {
            let start = Instant::now();
            outcome.context.prepare_for(&config);
            ev.live = Some(outcome.context.measure(&config, &ks, &boot));
            ev.live_config = Some(config);
            ev.live_cost = Some(start.elapsed());
            return;
        }
        let mut context = outcome.context.clone();
        let from = context.candidates.clone();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::LIVE_METRICS, progress, move |_| {
            let start = Instant::now();
            context.prepare_for(&config);
            let metrics = context.measure(&config, &ks, &boot);
            let prepared = (!Arc::ptr_eq(&context.candidates, &from)).then(|| context.candidates.clone());
            let cost = start.elapsed();
            JobOutput::LiveMetrics(Box::new(LiveMetricsOutput { stamp, config, metrics, from, prepared, cost }))
        });
        self.report_start(started, None);
    }

    /// Takes in what a live-metrics job measured, when it was measured on the current data
    /// and context; then measures again if the weights moved while it ran.
    pub(super) fn finish_live_metrics(&mut self, output: LiveMetricsOutput) {
        if output.stamp != self.eval_fingerprint() {
            return;
        }
        let ev = &mut self.evaluation;
        ev.live_cost = Some(output.cost);
        if let Some(outcome) = ev.outcome.as_mut()
            && Arc::ptr_eq(&outcome.context.candidates, &output.from)
        {
            if let Some(prepared) = output.prepared {
                outcome.context.candidates = prepared;
            }
            ev.live = Some(output.metrics);
            ev.live_config = Some(output.config);
        }
        self.update_live_metrics();
    }
}

/// What a live-metrics job hands back.
pub struct LiveMetricsOutput {
    /// The data and event weights it was measured for.
    stamp: super::Fingerprint,
    /// The weights measured.
    config: FusionConfig,
    /// The metrics.
    metrics: ConfigMetrics,
    /// The candidate sets the job started from (to tell whether the context is still the same).
    from: Arc<Vec<CandidateSet>>,
    /// The re-normalised candidate sets, when the job had to re-normalise a copy.
    prepared: Option<Arc<Vec<CandidateSet>>>,
    /// How long the measurement took.
    cost: Duration,
}

/// The most a live re-measurement may take on the UI thread: half a 60 Hz frame.
const LIVE_FRAME_BUDGET: Duration = Duration::from_millis(8);

/// Before any re-measurement has been timed: the most work (cached scores fused, plus
/// bootstrap draws of every metric) done on the UI thread. About 5 ms on the 2-core AMD
/// EPYC of BENCHMARKS.md; full Online Retail is about ten times this.
const LIVE_INLINE_WORK: usize = 1_000_000;

/// Whether re-measuring the live metrics fits in a frame: the last measurement took at most
/// [`LIVE_FRAME_BUDGET`], or, before the first, the context is small ([`LIVE_INLINE_WORK`]).
fn live_fits_in_frame(last: Option<Duration>, context: &EvalContext, resamples: usize, ks: usize) -> bool {
    match last {
        Some(cost) => cost <= LIVE_FRAME_BUDGET,
        None => {
            let fused: usize = context.candidates.iter().map(|c| c.len() * c.signals.len()).sum();
            let draws = context.users.len() * resamples * ks.max(1) * MetricKind::ALL.len();
            fused.saturating_add(draws) <= LIVE_INLINE_WORK
        }
    }
}

/// The files of a dataset as a user names them ("events.csv + catalogue.csv").
pub(super) fn data_label(d: &crate::data::DataSources) -> String {
    let name = |p: &std::path::Path| crate::data::format::short_name(p);
    match &d.catalogue {
        Some(c) => format!("{} + {}", name(&d.behaviour), name(c)),
        None => name(&d.behaviour),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fusion::Normalisation;
    use crate::session::Session;

    fn wait_for_jobs(wb: &mut Workbench) {
        let start = Instant::now();
        while !wb.jobs().running().is_empty() {
            assert!(start.elapsed().as_secs() < 300, "the jobs did not finish");
            wb.poll();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn evaluated_workbench() -> Workbench {
        let mut wb = Workbench::new(Session::default());
        wb.set_embedding_enabled(false);
        wb.handle(Command::Reload);
        let start = Instant::now();
        while wb.engine().is_none() || !wb.jobs().running().is_empty() {
            assert!(start.elapsed().as_secs() < 120, "the sample did not load");
            wb.poll();
            std::thread::sleep(Duration::from_millis(10));
        }
        wb.handle(Command::RunEvaluation);
        wait_for_jobs(&mut wb);
        assert!(wb.evaluation().outcome().is_some());
        wb
    }

    /// The metrics of the current weights measured directly on the context.
    fn direct(wb: &mut Workbench) -> ConfigMetrics {
        let config = wb.session.fusion.clone();
        let outcome = wb.evaluation.outcome.as_mut().unwrap();
        let boot = BootstrapConfig { resamples: 200, ..outcome.request.bootstrap };
        let ks = outcome.request.ks.clone();
        outcome.context.prepare_for(&config);
        outcome.context.measure(&config, &ks, &boot)
    }

    #[test]
    fn live_metrics_too_slow_for_a_frame_come_from_a_job_and_equal_a_direct_measurement() {
        let mut wb = evaluated_workbench();
        // As if the last measurement had fitted in a frame: measured here, at once.
        wb.evaluation.live_cost = Some(Duration::ZERO);
        wb.handle(Command::SetWeight(SignalId::ALS, 0.7));
        assert!(!wb.jobs().is_running(job::LIVE_METRICS));
        let inline = wb.evaluation().live().cloned().unwrap();
        assert_eq!(inline, direct(&mut wb));
        // As if the last measurement had taken a second: the next goes to a job.
        wb.evaluation.live_cost = Some(Duration::from_secs(1));
        wb.handle(Command::SetWeight(SignalId::ALS, 0.1));
        assert!(wb.jobs().is_running(job::LIVE_METRICS), "a slow re-measurement must leave the UI thread");
        assert_eq!(wb.evaluation().live(), Some(&inline), "the previous figures stay until the job reports");
        wait_for_jobs(&mut wb);
        let from_job = wb.evaluation().live().cloned().unwrap();
        assert_ne!(from_job, inline);
        assert_eq!(from_job, direct(&mut wb));
        // A normalisation change re-normalises a copy in the job, which is installed.
        wb.evaluation.live_cost = Some(Duration::from_secs(1));
        wb.handle(Command::SetNormalisation(SignalId::ALS, Normalisation::Rank));
        // Moves while the job runs are measured when it reports.
        wb.handle(Command::SetWeight(SignalId::ALS, 0.4));
        wait_for_jobs(&mut wb);
        let config = wb.session.fusion.clone();
        let outcome = wb.evaluation().outcome().unwrap();
        assert!(outcome.context.candidates.iter().all(|c| c.is_prepared_for(&config)));
        assert_eq!(wb.evaluation.live_config.as_ref(), Some(&config));
        let from_job = wb.evaluation().live().cloned().unwrap();
        assert_eq!(from_job, direct(&mut wb));
    }
}
