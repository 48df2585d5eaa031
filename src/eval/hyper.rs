//! Signal hyper-parameters tuned on validation, in the same run as the weights: ALS's
//! regularisation λ and confidence scaling α (a 3 × 3 grid around the current values), and the
//! neighbourhood sizes of `item_cf` and `user_cf`.
//!
//! Each setting is fitted on train minus validation and scored *alone* on the validation
//! shoppers (NDCG@k of that signal's own ranking); the setting with the highest validation
//! NDCG is kept (ties keep the current one). Test events are never read.

use std::sync::Arc;

use serde::Serialize;

use super::runner::EvalContext;
use super::split::ThreeWaySplit;
use crate::data::Dataset;
use crate::fusion::FusionConfig;
use crate::jobs::{Cancelled, Progress};
use crate::score::registry::{Fitted, SignalModels, spec};
use crate::score::{FitInput, Scorer, SignalId, SignalParams};

/// A configuration that uses one signal alone.
pub fn single_signal(base: &FusionConfig, signal: SignalId) -> FusionConfig {
    let mut c = base.clone();
    for (s, setting) in c.signals.iter_mut() {
        setting.weight = if *s == signal { 1.0 } else { 0.0 };
        setting.enabled = true;
    }
    c.signals.entry(signal).or_default().weight = 1.0;
    c.method = crate::fusion::FusionMethod::Weighted;
    c.mmr_lambda = 1.0;
    c.category_cap = 0;
    c
}

/// What [`tune_params`] searches on.
pub(crate) struct ParamSearch<'a> {
    /// The data.
    pub dataset: &'a Dataset,
    /// The split (fits on `inner_train`, scores on `validation`).
    pub split: &'a ThreeWaySplit,
    /// The fit input on train minus validation.
    pub input: FitInput<'a>,
    /// The parameters to start from.
    pub params: &'a SignalParams,
    /// The fusion settings each single-signal configuration is derived from.
    pub config: &'a FusionConfig,
    /// Binary relevance.
    pub binary: bool,
    /// Cut-off of the NDCG objective.
    pub k: usize,
}

/// One hyper-parameter setting tried on validation.
#[derive(Debug, Clone, Serialize)]
pub struct ParamTrial {
    /// The signal.
    pub signal: String,
    /// The setting, e.g. `λ 0.05, α 1` or `100 neighbours`.
    pub setting: String,
    /// The signal's NDCG@k alone on validation with this setting.
    pub validation_ndcg: f64,
    /// Whether this is the setting the run started from.
    pub current: bool,
    /// Whether the setting was kept.
    pub chosen: bool,
}

/// The outcome of hyper-parameter tuning.
pub(crate) struct ParamTuning {
    /// The parameters with every tuned signal's kept setting.
    pub params: SignalParams,
    /// Every setting tried, grouped by signal.
    pub trials: Vec<ParamTrial>,
    /// The kept models, fitted on train minus validation.
    pub models: Vec<(SignalId, Arc<dyn Scorer>)>,
}

/// Distinct values, first occurrence kept.
fn distinct<T: PartialEq + Copy>(values: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for &v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The grid of one signal (ALS: λ ∈ {current, 1, 5} × α ∈ {current, current / 4, current · 4};
/// neighbourhoods: {n, n / 4, n / 2, 2n}, at least 5, at most 1,000): (label, parameters), the current setting first.
pub fn grid(signal: SignalId, base: &SignalParams) -> Vec<(String, SignalParams)> {
    let mut out = Vec::new();
    if signal == SignalId::ALS {
        let a = &base.als;
        for &lambda in &distinct(&[a.regularization, 1.0, 5.0]) {
            for &alpha in &distinct(&[a.alpha, a.alpha / 4.0, a.alpha * 4.0]) {
                let mut p = base.clone();
                p.als.regularization = lambda;
                p.als.alpha = alpha;
                out.push((format!("λ {lambda}, α {alpha}"), p));
            }
        }
    } else if signal == SignalId::ITEM_CF || signal == SignalId::USER_CF {
        let n = if signal == SignalId::ITEM_CF { base.item_cf.neighbours } else { base.user_cf.neighbours };
        let sizes = distinct(&[n, (n / 4).max(5), (n / 2).max(5), n.saturating_mul(2).min(1_000)]);
        for &size in sizes.iter().filter(|&&s| s > 0) {
            let mut p = base.clone();
            if signal == SignalId::ITEM_CF {
                p.item_cf.neighbours = size;
            } else {
                p.user_cf.neighbours = size;
            }
            out.push((format!("{size} neighbours"), p));
        }
    }
    out
}

/// The signals whose hyper-parameters are tuned.
pub const TUNED_SIGNALS: [SignalId; 3] = [SignalId::ALS, SignalId::ITEM_CF, SignalId::USER_CF];

/// Tunes the hyper-parameters of [`TUNED_SIGNALS`] (those the request's models have) on the
/// validation split, each signal alone.
pub(crate) fn tune_params(search: &ParamSearch<'_>, progress: &Progress) -> Result<ParamTuning, Cancelled> {
    let ParamSearch { dataset, split, input, k, binary, .. } = *search;
    let mut params = search.params.clone();
    let mut trials = Vec::new();
    let mut models = Vec::new();
    for signal in TUNED_SIGNALS {
        let Some(fit) = spec(signal).filter(|_| search.params.fits(signal)).map(|s| s.fit) else { continue };
        let settings = grid(signal, search.params);
        progress.start_stage(format!("tuning {signal} on validation"), settings.len() as u64);
        let config = single_signal(search.config, signal);
        let mut best: Option<(usize, f64, SignalParams, Arc<dyn Scorer>)> = None;
        let first = trials.len();
        for (n, (label, p)) in settings.into_iter().enumerate() {
            progress.check()?;
            let Fitted::Ready(scorer) = fit(&input, &p, progress)? else { break };
            let mut one = SignalModels::default();
            one.scorers.insert(signal, scorer.clone());
            let mut context = EvalContext::prepare(
                dataset,
                &split.inner_train,
                input.interactions,
                &split.validation,
                &one,
                &config,
                binary,
                progress,
            )?;
            context.prepare_for(&config);
            let value = context.mean_ndcg(&config, k);
            trials.push(ParamTrial {
                signal: signal.id().to_owned(),
                setting: label,
                validation_ndcg: value,
                current: n == 0,
                chosen: false,
            });
            if best.as_ref().is_none_or(|b| value > b.1 + 1e-12) {
                best = Some((trials.len() - 1, value, p, scorer));
            }
            progress.advance(1);
        }
        let Some((at, _, p, scorer)) = best else { continue };
        if let Some(t) = trials.get_mut(at) {
            t.chosen = true;
        }
        if at != first {
            if signal == SignalId::ALS {
                params.als = p.als;
            } else if signal == SignalId::ITEM_CF {
                params.item_cf = p.item_cf;
            } else {
                params.user_cf = p.user_cf;
            }
        }
        models.push((signal, scorer));
    }
    Ok(ParamTuning { params, trials, models })
}

/// The signals whose parameters differ between `a` and `b` (of [`TUNED_SIGNALS`]).
pub fn changed(a: &SignalParams, b: &SignalParams) -> Vec<SignalId> {
    TUNED_SIGNALS
        .into_iter()
        .filter(|&s| {
            if s == SignalId::ALS {
                a.als != b.als
            } else if s == SignalId::ITEM_CF {
                a.item_cf != b.item_cf
            } else {
                a.user_cf != b.user_cf
            }
        })
        .collect()
}

/// One line per tuned signal: every setting with its validation NDCG, the kept one marked.
pub fn describe(trials: &[ParamTrial], k: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut signal: Option<&str> = None;
    for t in trials {
        if signal != Some(t.signal.as_str()) {
            signal = Some(t.signal.as_str());
            lines.push(format!("{} alone, ndcg@{k} on validation:", t.signal));
        }
        if let Some(line) = lines.last_mut() {
            let mark = if t.chosen { " (kept)" } else { "" };
            let current = if t.current { " [current]" } else { "" };
            line.push_str(&format!(" {}{current} {:.4}{mark};", t.setting, t.validation_ndcg));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_start_with_the_current_setting_and_have_no_duplicates() {
        let p = SignalParams::default();
        let als = grid(SignalId::ALS, &p);
        assert_eq!(als.len(), 9);
        assert_eq!(als[0].1, p);
        let item = grid(SignalId::ITEM_CF, &p);
        let sizes: Vec<usize> = item.iter().map(|(_, q)| q.item_cf.neighbours).collect();
        let n = p.item_cf.neighbours;
        assert_eq!(sizes, vec![n, (n / 4).max(5), (n / 2).max(5), n * 2]);
        assert!(grid(SignalId::POPULARITY, &p).is_empty());
    }

    #[test]
    fn changed_names_the_signals_whose_parameters_differ() {
        let a = SignalParams::default();
        let mut b = a.clone();
        assert!(changed(&a, &b).is_empty());
        b.user_cf.neighbours += 1;
        b.als.alpha *= 2.0;
        assert_eq!(changed(&a, &b), vec![SignalId::ALS, SignalId::USER_CF]);
    }
}
