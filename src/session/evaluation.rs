//! The workbench's evaluation state: background runs, the cached test context for live
//! metrics, tuning results, sweeps and the Pareto front.

use std::sync::Arc;

use super::workbench::{JobOutput, NoticeLevel, Workbench, job};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::experiment::{
    EvalOutcome, EvalRequest, ParetoPoint, Sweep1, Sweep2, TuneOutcome, TuneSettings, evaluate_and_tune, pareto,
    run_evaluation, sweep1, sweep2,
};
use crate::eval::runner::ConfigMetrics;
use crate::eval::split::SplitRule;
use crate::fusion::FusionConfig;
use crate::score::SignalId;

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
}

/// Evaluation results kept by the workbench.
#[derive(Default)]
pub struct EvaluationState {
    /// The last evaluation (its context is reused for live metrics and sweeps).
    pub outcome: Option<Box<EvalOutcome>>,
    /// Metrics of the current weights on the cached context, updated on every change.
    pub live: Option<ConfigMetrics>,
    /// Fusion settings `live` was computed for.
    pub live_config: Option<FusionConfig>,
    /// Weights found by tuning.
    pub tuned: Option<FusionConfig>,
    /// Tuning summary.
    pub tune_summary: Option<TuneOutcome>,
    /// Last one-weight sweep.
    pub sweep1: Option<Sweep1>,
    /// Last two-weight grid.
    pub sweep2: Option<Sweep2>,
    /// Last Pareto sample.
    pub pareto: Option<Vec<ParetoPoint>>,
}

impl Workbench {
    /// The evaluation request for the current session.
    pub fn eval_request(&self) -> Option<EvalRequest> {
        let engine = self.engine.as_ref()?;
        let e = &self.session.eval;
        let rule = SplitRule::from_name(&e.split, e.test_fraction, e.leave_last_n, e.seed)
            .unwrap_or(SplitRule::Temporal { test_fraction: 0.1 });
        Some(EvalRequest {
            rule,
            ks: if e.ks.is_empty() { vec![10] } else { e.ks.clone() },
            binary: e.binary_relevance,
            bootstrap: BootstrapConfig { resamples: e.bootstrap, seed: e.seed, ..BootstrapConfig::default() },
            params: self.session.params.clone(),
            config: self.session.fusion.clone(),
            vectors: self.vectors.clone(),
            texts: engine.item_texts.clone(),
        })
    }

    pub(super) fn start_evaluation(&mut self) {
        let (Some(dataset), Some(req)) = (self.dataset.clone(), self.eval_request()) else {
            self.notify(NoticeLevel::Info, "load data first");
            return;
        };
        let progress = self.progress_handle();
        let started = self.jobs.start(job::EVAL, progress, move |p| {
            JobOutput::Eval(
                run_evaluation(&dataset, &req, p)
                    .map(|o| Box::new(EvalJobOutput::Evaluated(Box::new(o))))
                    .map_err(|e| e.to_string()),
            )
        });
        self.report_start(started, job::EVAL);
    }

    pub(super) fn start_tuning(&mut self) {
        let (Some(dataset), Some(req)) = (self.dataset.clone(), self.eval_request()) else {
            self.notify(NoticeLevel::Info, "load data first");
            return;
        };
        let settings = TuneSettings {
            k: req.ks.first().copied().unwrap_or(10),
            seed: self.session.eval.seed,
            ..TuneSettings::default()
        };
        let progress = self.progress_handle();
        let started = self.jobs.start(job::TUNE, progress, move |p| {
            let result = evaluate_and_tune(&dataset, &req, &settings, p).map(|(o, t)| (t, o));
            JobOutput::Eval(
                result
                    .map(|(t, o)| Box::new(EvalJobOutput::Tuned(Box::new(t), Box::new(o))))
                    .map_err(|e| e.to_string()),
            )
        });
        self.report_start(started, job::TUNE);
    }

    fn take_context(&mut self) -> Option<Box<EvalOutcome>> {
        if self.jobs.is_running(job::SWEEP) {
            self.notify(NoticeLevel::Info, "a sweep is already running");
            return None;
        }
        let outcome = self.evaluation.outcome.take();
        if outcome.is_none() {
            self.notify(NoticeLevel::Info, "run an evaluation first: sweeps reuse its cached scores");
        }
        self.evaluation.live = None;
        outcome
    }

    pub(super) fn start_sweep1(&mut self, signal: SignalId) {
        let Some(mut outcome) = self.take_context() else { return };
        let base = self.session.fusion.clone();
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let boot = outcome.request.bootstrap;
        let values: Vec<f32> = (0..=10).map(|i| i as f32 / 10.0).collect();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::SWEEP, progress, move |_| {
            let s = sweep1(&mut outcome.context, &base, signal, &values, k, &boot);
            JobOutput::Eval(Ok(Box::new(EvalJobOutput::Swept1(s, outcome))))
        });
        self.report_start(started, job::SWEEP);
    }

    pub(super) fn start_sweep2(&mut self, a: SignalId, b: SignalId) {
        let Some(mut outcome) = self.take_context() else { return };
        let base = self.session.fusion.clone();
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let values: Vec<f32> = (0..=6).map(|i| i as f32 / 6.0).collect();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::SWEEP, progress, move |_| {
            let s = sweep2(&mut outcome.context, &base, a, b, &values, k);
            JobOutput::Eval(Ok(Box::new(EvalJobOutput::Swept2(s, outcome))))
        });
        self.report_start(started, job::SWEEP);
    }

    pub(super) fn start_pareto(&mut self) {
        let Some(mut outcome) = self.take_context() else { return };
        let base = self.session.fusion.clone();
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let seed = self.session.eval.seed;
        let progress = self.progress_handle();
        let started = self.jobs.start(job::SWEEP, progress, move |_| {
            let points = pareto(&mut outcome.context, &base, 150, k, seed);
            JobOutput::Eval(Ok(Box::new(EvalJobOutput::Pareto(points, outcome))))
        });
        self.report_start(started, job::SWEEP);
    }

    fn report_start(&mut self, started: std::io::Result<bool>, name: &str) {
        match started {
            Ok(true) => {}
            Ok(false) => self.notify(NoticeLevel::Info, format!("“{name}” is already running")),
            Err(e) => self.notify(NoticeLevel::Error, format!("cannot start a background job: {e}")),
        }
    }

    pub(super) fn finish_eval(&mut self, result: Result<Box<EvalJobOutput>, String>) {
        match result {
            Err(e) => {
                if e != "cancelled" {
                    self.notify(NoticeLevel::Error, format!("evaluation failed: {e}"));
                }
            }
            Ok(output) => match *output {
                EvalJobOutput::Evaluated(o) => self.evaluation.outcome = Some(o),
                EvalJobOutput::Tuned(t, o) => {
                    self.evaluation.tuned = Some(t.config.clone());
                    self.evaluation.tune_summary = Some(*t);
                    self.evaluation.outcome = Some(o);
                }
                EvalJobOutput::Swept1(s, o) => {
                    self.evaluation.sweep1 = Some(s);
                    self.evaluation.outcome = Some(o);
                }
                EvalJobOutput::Swept2(s, o) => {
                    self.evaluation.sweep2 = Some(s);
                    self.evaluation.outcome = Some(o);
                }
                EvalJobOutput::Pareto(p, o) => {
                    self.evaluation.pareto = Some(p);
                    self.evaluation.outcome = Some(o);
                }
            },
        }
        self.evaluation.live = None;
        self.update_live_metrics();
    }

    /// Re-measures the current weights on the cached test context (milliseconds). Called
    /// after every fusion change; skipped when candidates would need rebuilding.
    pub fn update_live_metrics(&mut self) {
        let config = self.session.fusion.clone();
        if self.evaluation.live_config.as_ref() == Some(&config) && self.evaluation.live.is_some() {
            return;
        }
        let Some(outcome) = self.evaluation.outcome.as_mut() else { return };
        if outcome.context.needs_rebuild(&config) {
            self.evaluation.live = None;
            return;
        }
        outcome.context.prepare_for(&config);
        let boot = BootstrapConfig { resamples: 200, ..outcome.request.bootstrap };
        let ks = outcome.request.ks.clone();
        self.evaluation.live = Some(outcome.context.measure(&config, &ks, &boot));
        self.evaluation.live_config = Some(config);
    }
}

/// Shared handle so evaluation jobs wake the GUI.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;
