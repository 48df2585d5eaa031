//! Commands: everything the GUI can ask the workbench to do. Widgets push commands;
//! the app drains the queue once per frame (see [`super::workbench::Workbench::handle`]).

use std::path::PathBuf;

use crate::data::{Role, TableKind};
use crate::fusion::{FusionMethod, Normalisation, Rule};
use crate::score::SignalId;

use super::{EvalSettings, Mode};

/// Ready-made fusion settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The documented default weights.
    Default,
    /// The weights found by the last tuning run.
    Tuned,
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The current list as CSV.
    ListCsv,
    /// The last evaluation's metrics as CSV.
    MetricsCsv,
    /// The last evaluation's metrics as JSON.
    MetricsJson,
    /// A self-contained HTML report.
    HtmlReport,
    /// Every shopper's top-K with contributions, as Parquet (a background job).
    AllShoppersParquet,
    /// The fusion settings and rules as a profile (RecFuse JSON, Spark SQL, OpenSearch, Vespa).
    Profile(super::profile::ProfileFormat),
}

/// What the Compare tab compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareMode {
    /// Two fusion configurations for the current shopper.
    #[default]
    Configurations,
    /// Two shoppers under the current configuration.
    Shoppers,
    /// Two queries under the current search configuration.
    Queries,
}

/// Where configuration B of the Compare tab comes from (the default preset at first, so
/// that the tab shows a comparison as soon as the sliders move away from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BSource {
    /// A snapshot taken with "Set B = current".
    Snapshot,
    /// The default preset.
    #[default]
    Default,
    /// The tuned weights.
    Tuned,
    /// The current settings ranked by the learned ranker (fusion method `learned`).
    Learned,
}

impl BSource {
    /// How the Compare tab names B.
    pub fn label(self) -> &'static str {
        match self {
            BSource::Snapshot => "snapshot",
            BSource::Default => "default preset",
            BSource::Tuned => "tuned weights",
            BSource::Learned => "learned ranker",
        }
    }
}

/// A request from the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Load (or reload) the data files of the session, then fit and embed.
    Reload,
    /// Use another file for a table (None removes the optional catalogue/users file).
    SetDataFile { table: TableKind, path: Option<PathBuf> },
    /// Open a dataset: every data file at once, with its column mapping (catalogue,
    /// behaviour, users), then one load (no half-switched load of a new catalogue with the
    /// old behaviour file, no old file's mapping applied to a new one).
    OpenDataset {
        catalogue: Option<PathBuf>,
        behaviour: PathBuf,
        users: Option<PathBuf>,
        mappings: Box<[crate::data::ColumnMapping; 3]>,
    },
    /// Override (or, with None, reset) the column of a role; reloads.
    SetMapping { table: TableKind, role: Role, column: Option<String> },
    /// Change an event type's weight; re-weights and refits.
    SetEventWeight { event_type: String, weight: f32 },
    /// Import a score file as external signals (read in the background).
    AddSignalFile(PathBuf),
    /// Remove the score file whose signal name is this, with its signals and weights.
    RemoveSignalFile(String),
    /// Turn a signal on or off.
    SetSignalEnabled(SignalId, bool),
    /// Move a weight (re-fuses cached scores only).
    SetWeight(SignalId, f32),
    /// Change a signal's normalisation.
    SetNormalisation(SignalId, Normalisation),
    /// Change the fusion method.
    SetMethod(FusionMethod),
    /// Change the RRF constant.
    SetRrfK(f32),
    /// Change top-N per signal (re-scores candidates).
    SetCandidates(usize),
    /// Choose where candidates come from: every item scored, an index, or by catalogue
    /// size (re-scores candidates).
    SetCandidateSource(crate::fusion::CandidateSource),
    /// Exclude already-seen items or allow repeats (re-scores candidates).
    SetExcludeSeen(bool),
    /// MMR λ.
    SetMmrLambda(f32),
    /// Per-category cap (0 = off).
    SetCategoryCap(usize),
    /// Give items with the same cleaned title (and brand) one slot (re-ranks only).
    SetCollapseDuplicates(bool),
    /// Apply a preset.
    ApplyPreset(Preset),
    /// Train the transformer signal in the background (it is off by default) and give it
    /// a weight when it has none.
    TrainTransformer,
    /// Follow the behaviour file as it grows (live mode) or stop.
    SetLive(bool),
    /// Refit every signal on all events so far, in the background (live mode's "Refit").
    RefitLive,
    /// Refit automatically once the live events since the last fit reach this share (per
    /// cent) of the events it used; 0 = only on request.
    SetLiveRefitAfter(f64),
    /// Train the learned ranker (fusion method `learned`) in the background on the
    /// evaluation settings; installed, and saved beside the session file, when it ends.
    TrainRanker,
    /// Recommend or search.
    SetMode(Mode),
    /// Pick a shopper.
    SelectShopper(String),
    /// Set the search query.
    SetQuery(String),
    /// List length.
    SetK(usize),
    /// Open an item in the inspector (None closes it).
    SelectItem(Option<u32>),
    /// Add a merchandising rule.
    AddRule(Rule),
    /// Remove rule `i`.
    RemoveRule(usize),
    /// Enable or disable rule `i`.
    SetRuleEnabled(usize, bool),
    /// Embedding model folder (None = bundled); re-embeds.
    SetModelDir(Option<PathBuf>),
    /// Embedding device; re-embeds.
    SetDevice(String),
    /// Embedding precision; re-embeds (or reads that precision's cached vectors).
    SetPrecision(crate::embed::EmbedPrecision),
    /// Embedding template fields; re-embeds.
    SetTemplateFields(Vec<String>),
    /// Run the offline evaluation in the background.
    RunEvaluation,
    /// Tune weights on validation, report on test.
    RunTuning,
    /// Sweep one weight over a grid.
    RunSweep1 { signal: SignalId },
    /// Sweep two weights over a grid.
    RunSweep2 { a: SignalId, b: SignalId },
    /// Sample weight vectors for the accuracy-vs-diversity front.
    RunPareto,
    /// Cancel a running job by name.
    CancelJob(String),
    /// Save the session to a file.
    SaveSession(PathBuf),
    /// Load a session file.
    LoadSession(PathBuf),
    /// Pseudonymise shopper ids.
    SetPrivacy(bool),
    /// Export something to a file.
    Export { kind: ExportKind, path: PathBuf },
    /// Dismiss the notice at this index.
    DismissNotice(usize),
    /// Change the evaluation settings (split, test share, K, relevance).
    SetEvalSettings(EvalSettings),
    /// What the Compare tab compares.
    SetCompareMode(CompareMode),
    /// Where configuration B comes from.
    SetCompareSource(BSource),
    /// Snapshot the current settings as configuration B.
    SnapshotCompareB,
    /// Shopper B of the Compare tab (scored once per change).
    SetShopperB(String),
    /// Query B of the Compare tab (embedded and scored once per change).
    SetQueryB(String),
    /// Compare A and B over every evaluated user, in the background.
    CompareAcrossUsers {
        /// RBO persistence.
        rbo_p: f64,
    },
}
