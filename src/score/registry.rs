//! The signal registry: what each signal is (id, label, colour, default weights, which
//! modes it serves) and how it is fitted. Fitting, the default weights, the GUI's list
//! and colours, the CLI, the benchmarks and sessions all iterate [`SIGNALS`].
//!
//! To add a signal: write its file (its scorer, a `SPEC` and its `SignalId` constant),
//! add its parameters to [`SignalParams`](super::SignalParams) if it has any, and add
//! one line to [`SIGNALS`] in `score/mod.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Interactions, Scorer, SignalId, SignalParams};
use crate::data::Catalogue;
use crate::embed::ItemVectors;
use crate::jobs::{Cancelled, Progress};

pub use super::SIGNALS;

/// What a signal may be fitted from.
#[derive(Clone, Copy)]
pub struct FitInput<'a> {
    /// Training interactions.
    pub interactions: &'a Interactions,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// Item texts (the embedding template applied to the catalogue).
    pub texts: &'a [String],
    /// Item embeddings, or why there are none.
    pub vectors: Result<&'a Arc<ItemVectors>, &'a str>,
}

/// The result of fitting one signal.
pub enum Fitted {
    /// A scorer ready to use.
    Ready(Arc<dyn Scorer>),
    /// The data cannot support this signal; the reason is shown to the user.
    Unavailable(String),
}

/// How a signal is fitted.
pub type FitFn = fn(&FitInput<'_>, &SignalParams, &Progress) -> Result<Fitted, Cancelled>;

/// One signal's registry entry.
pub struct SignalSpec {
    /// Stable id.
    pub id: SignalId,
    /// Name for people.
    pub label: &'static str,
    /// Colour in bars, legends and plots (sRGB).
    pub color: [u8; 3],
    /// Weight in the default preset for shopper recommendations.
    pub default_weight: f32,
    /// Weight in the default preset for search.
    pub default_search_weight: f32,
    /// Only meaningful for a search query (not offered for shopper recommendations).
    pub search_only: bool,
    /// Generates candidates in search mode (search candidates come only from these).
    pub search_source: bool,
    /// Fitting needs item embeddings: the signal is fitted again when they arrive.
    pub needs_vectors: bool,
    /// Its parameters in a few words (benchmark tables).
    pub params_summary: fn(&SignalParams) -> String,
    /// Fits the signal.
    pub fit: FitFn,
}

/// The registry entry of a signal.
pub fn spec(id: SignalId) -> Option<&'static SignalSpec> {
    SIGNALS.iter().copied().find(|s| s.id == id)
}

/// Fitted signals, and why the others are unavailable.
#[derive(Clone, Default)]
pub struct SignalModels {
    /// Fitted scorers by signal.
    pub scorers: BTreeMap<SignalId, Arc<dyn Scorer>>,
    /// Signals that could not be fitted, with the reason (shown to the user).
    pub unavailable: BTreeMap<SignalId, String>,
}

impl SignalModels {
    /// Scorers of the given signals that are available, in display order (the registry,
    /// then external signals).
    pub fn scorers_for(&self, signals: &[SignalId]) -> Vec<&dyn Scorer> {
        self.scorers.iter().filter(|(s, _)| signals.contains(s)).map(|(_, a)| a.as_ref()).collect()
    }

    /// Signals that are fitted, in display order.
    pub fn available(&self) -> Vec<SignalId> {
        self.scorers.keys().copied().collect()
    }

    /// Installs external signals (imported scores, not fitted), replacing those of the
    /// same id.
    pub fn add_external<S: Scorer + 'static>(&mut self, scorers: &[Arc<S>]) {
        for scorer in scorers {
            let id = scorer.id();
            let scorer: Arc<dyn Scorer> = scorer.clone();
            self.put(id, Fitted::Ready(scorer));
        }
    }

    /// Removes every external signal.
    pub fn remove_external(&mut self) {
        self.scorers.retain(|s, _| !s.is_external());
        self.unavailable.retain(|s, _| !s.is_external());
    }

    fn put(&mut self, id: SignalId, fitted: Fitted) {
        match fitted {
            Fitted::Ready(scorer) => {
                self.unavailable.remove(&id);
                self.scorers.insert(id, scorer);
            }
            Fitted::Unavailable(why) => {
                self.scorers.remove(&id);
                self.unavailable.insert(id, why);
            }
        }
    }

    /// Fits again the signals that need item embeddings (after the embeddings changed).
    pub fn refit_vector_signals(&mut self, input: &FitInput<'_>, params: &SignalParams) {
        for spec in SIGNALS.iter().filter(|s| s.needs_vectors) {
            // Signals that need vectors do no cancellable work beyond wrapping them.
            if let Ok(fitted) = fit_signal(spec, input, params, &Progress::new()) {
                self.put(spec.id, fitted);
            }
        }
    }
}

/// Fits every registered signal.
pub fn fit_signals(
    input: &FitInput<'_>,
    params: &SignalParams,
    progress: &Progress,
) -> Result<SignalModels, Cancelled> {
    let mut models = SignalModels::default();
    for spec in SIGNALS {
        progress.check()?;
        let fitted = fit_signal(spec, input, params, progress)?;
        models.put(spec.id, fitted);
    }
    Ok(models)
}

/// Fits one signal, or says it is left out ([`SignalParams::not_fitted`]).
pub fn fit_signal(
    spec: &SignalSpec,
    input: &FitInput<'_>,
    params: &SignalParams,
    progress: &Progress,
) -> Result<Fitted, Cancelled> {
    if params.fits(spec.id) {
        (spec.fit)(input, params, progress)
    } else {
        Ok(Fitted::Unavailable("left out of this configuration (not fitted; `--builtin`)".to_owned()))
    }
}

/// The signals of `ids` that generate candidates in search mode.
pub fn search_sources() -> Vec<SignalId> {
    SIGNALS.iter().filter(|s| s.search_source).map(|s| s.id).collect()
}
