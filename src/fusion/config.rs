//! Fusion settings: per-signal weight and normalisation, method, candidates, re-ranking.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_WEIGHT, OutOfRange, check_count, check_real};
use crate::score::SignalId;

/// How a signal's raw scores are put on a common scale over the candidate set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Raw scores.
    None,
    /// `(s − min) / (max − min)`; all equal → 0.
    #[default]
    Minmax,
    /// `(s − mean) / std`; zero spread → 0.
    Zscore,
    /// `1 − (rank − 1)/(n − 1)` with rank 1 = best (ties share the better rank).
    Rank,
    /// Fraction of candidates scoring strictly lower, plus half of those tied.
    Percentile,
}

impl Normalisation {
    /// Every option.
    pub const ALL: [Normalisation; 5] = [
        Normalisation::None,
        Normalisation::Minmax,
        Normalisation::Zscore,
        Normalisation::Rank,
        Normalisation::Percentile,
    ];

    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            Normalisation::None => "none",
            Normalisation::Minmax => "minmax",
            Normalisation::Zscore => "zscore",
            Normalisation::Rank => "rank",
            Normalisation::Percentile => "percentile",
        }
    }

    /// Parses a stable id.
    pub fn from_id(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.id() == s)
    }
}

/// How normalised signal scores are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// `ŷ = Σ wᵢ·ŝᵢ`.
    #[default]
    Weighted,
    /// Weighted reciprocal-rank fusion: `Σ wᵢ / (k + rankᵢ)`.
    Rrf,
    /// CombMNZ: `(Σ wᵢ·ŝᵢ) × (number of signals whose top-N holds the item)`.
    Combmnz,
    /// Borda count: `Σ wᵢ·(n − rankᵢ)/(n − 1)`.
    Borda,
    /// The learned ranker's score ([`CandidateSet::learned`](super::CandidateSet::learned));
    /// without a trained ranker the weighted sum.
    Learned,
}

impl FusionMethod {
    /// Every method.
    pub const ALL: [FusionMethod; 5] =
        [FusionMethod::Weighted, FusionMethod::Rrf, FusionMethod::Combmnz, FusionMethod::Borda, FusionMethod::Learned];

    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            FusionMethod::Weighted => "weighted",
            FusionMethod::Rrf => "rrf",
            FusionMethod::Combmnz => "combmnz",
            FusionMethod::Borda => "borda",
            FusionMethod::Learned => "learned",
        }
    }

    /// Parses a stable id.
    pub fn from_id(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == s)
    }

    /// Whether contributions are exact linear terms (`weighted`) or Shapley values.
    pub fn is_linear(self) -> bool {
        self == FusionMethod::Weighted
    }
}

/// Under [`CandidateSource::Auto`], catalogues of at least this many items take the index
/// path. Below it, scoring every item costs under about 15 ms per shopper (0.14 s at 1 M
/// items, linear) and keeps every result exact.
pub const INDEX_MIN_ITEMS: usize = 100_000;

/// Where a shopper's candidates come from (the candidate-set module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSource {
    /// Indexes from [`INDEX_MIN_ITEMS`] catalogue items up, every item scored below that.
    #[default]
    Auto,
    /// Every signal scores every item (exact; cost grows with the catalogue).
    Exhaustive,
    /// Each signal's top-N from an index, then every signal scores only those candidates.
    Index,
}

impl CandidateSource {
    /// Every option.
    pub const ALL: [CandidateSource; 3] = [CandidateSource::Auto, CandidateSource::Exhaustive, CandidateSource::Index];

    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            CandidateSource::Auto => "auto",
            CandidateSource::Exhaustive => "exhaustive",
            CandidateSource::Index => "index",
        }
    }

    /// Parses a stable id.
    pub fn from_id(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == s)
    }

    /// Whether a catalogue of `n_items` uses the index path.
    pub fn uses_index(self, n_items: usize) -> bool {
        match self {
            CandidateSource::Auto => n_items >= INDEX_MIN_ITEMS,
            CandidateSource::Exhaustive => false,
            CandidateSource::Index => true,
        }
    }

    fn is_auto(&self) -> bool {
        *self == CandidateSource::Auto
    }
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// One signal's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalSetting {
    /// Whether the signal takes part.
    pub enabled: bool,
    /// Its weight.
    pub weight: f32,
    /// Its normalisation.
    pub normalisation: Normalisation,
}

impl Default for SignalSetting {
    fn default() -> Self {
        Self { enabled: true, weight: 0.0, normalisation: Normalisation::Minmax }
    }
}

/// Everything that decides how signals become a ranked list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FusionConfig {
    /// Per-signal settings.
    pub signals: BTreeMap<SignalId, SignalSetting>,
    /// Combination method.
    pub method: FusionMethod,
    /// The `k` of reciprocal-rank fusion.
    pub rrf_k: f32,
    /// Top-N items each signal contributes to the candidate set.
    pub candidates_per_signal: usize,
    /// Where candidates come from: every item scored, or indexes (large catalogues).
    #[serde(skip_serializing_if = "CandidateSource::is_auto")]
    pub candidate_source: CandidateSource,
    /// Lists the approximate indexes (`als`, `semantic`) scan per shopper on the index
    /// path; 0 = the default (one in 24 of the √n lists,
    /// [`crate::score::ivf::default_probes`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub index_probes: usize,
    /// Leave out items the shopper already interacted with (off = allow repeats).
    pub exclude_seen: bool,
    /// MMR trade-off: 1 = relevance only, 0 = diversity only.
    pub mmr_lambda: f32,
    /// At most this many items per top-level category (0 = no cap).
    pub category_cap: usize,
    /// Keep only the best-scoring item of each duplicate group (same cleaned title and
    /// brand, [`crate::data::Catalogue::duplicate_groups`]) in ranked lists.
    pub collapse_duplicates: bool,
}

impl Default for FusionConfig {
    fn default() -> Self {
        // The documented default preset (README "Default weights"), from the signal registry.
        let signals = crate::score::SIGNALS
            .iter()
            .map(|s| {
                (s.id, SignalSetting { enabled: true, weight: s.default_weight, normalisation: Normalisation::Minmax })
            })
            .collect();
        Self {
            signals,
            method: FusionMethod::Weighted,
            rrf_k: 60.0,
            candidates_per_signal: 200,
            candidate_source: CandidateSource::Auto,
            index_probes: 0,
            exclude_seen: true,
            mmr_lambda: 1.0,
            category_cap: 0,
            collapse_duplicates: true,
        }
    }
}

impl FusionConfig {
    /// The effective weight of a signal (0 when disabled or absent).
    pub fn weight(&self, s: SignalId) -> f32 {
        self.signals.get(&s).filter(|x| x.enabled).map_or(0.0, |x| if x.weight.is_finite() { x.weight } else { 0.0 })
    }

    /// The normalisation of a signal.
    pub fn normalisation(&self, s: SignalId) -> Normalisation {
        self.signals.get(&s).map_or(Normalisation::Minmax, |x| x.normalisation)
    }

    /// Sets a weight; 0 keeps the signal enabled but without influence.
    pub fn set_weight(&mut self, s: SignalId, w: f32) {
        self.signals.entry(s).or_default().weight = w;
    }

    /// Gives each signal of `ids` that has no setting yet the starting weight of a newly
    /// imported external signal ([`crate::score::external::DEFAULT_EXTERNAL_WEIGHT`]);
    /// signals with a setting (a weight from a session or `--weights`) keep it.
    pub fn add_external_defaults(&mut self, ids: &[SignalId]) {
        for &id in ids {
            self.signals.entry(id).or_insert(SignalSetting {
                weight: crate::score::external::DEFAULT_EXTERNAL_WEIGHT,
                ..SignalSetting::default()
            });
        }
    }

    /// Parses `name=w,name=w` weight overrides (missing names keep their weight).
    pub fn apply_weight_args(&mut self, spec: &str) -> Result<(), String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| format!("weight '{part}': expected name=value"))?;
            let signal = SignalId::from_id(name).ok_or_else(|| {
                format!("weight '{part}': unknown signal '{name}'; expected one of {}", SignalId::id_list())
            })?;
            let w: f64 = value.trim().parse().map_err(|_| format!("weight '{part}': '{value}' is not a number"))?;
            check_real(&format!("weight of {}", signal.id()), w, -MAX_WEIGHT, MAX_WEIGHT).map_err(|e| e.to_string())?;
            let w = w as f32;
            self.set_weight(signal, w);
        }
        Ok(())
    }
}

impl FusionConfig {
    /// Refuses settings outside their allowed ranges (TESTING.md, "Limits"); `what` names
    /// the setting group in messages (`fusion`, `search_fusion`).
    pub fn check(&self, what: &str) -> Result<(), OutOfRange> {
        for (signal, setting) in &self.signals {
            let name = format!("{what}.signals.{}.weight", signal.id());
            check_real(&name, f64::from(setting.weight), -MAX_WEIGHT, MAX_WEIGHT)?;
        }
        check_real(&format!("{what}.rrf_k"), f64::from(self.rrf_k), 0.0, 1e6)?;
        check_count(&format!("{what}.candidates_per_signal"), self.candidates_per_signal, 1, 100_000)?;
        check_real(&format!("{what}.mmr_lambda"), f64::from(self.mmr_lambda), 0.0, 1.0)?;
        check_count(&format!("{what}.category_cap"), self.category_cap, 0, 10_000)?;
        check_count(&format!("{what}.index_probes"), self.index_probes, 0, 4096)?;
        Ok(())
    }
}
