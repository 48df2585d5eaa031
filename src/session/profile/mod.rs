//! Fusion profiles: the tuned configuration (signals, normalisation, method, weights, RRF k,
//! MMR, category cap, rules) taken out of RecFuse, as
//!
//! - `json`: a versioned RecFuse profile that `recommend`, `search`, `eval` and `batch` read back
//!   with `--profile FILE` (the same rankings as the settings it was written from);
//! - `spark-sql`: a query over a long score table that normalises, fuses, applies the rules and
//!   ranks as RecFuse does ([`spark_sql`]);
//! - `opensearch`: a search pipeline with the normalization processor for search mode
//!   (BM25 + semantic) ([`search`]);
//! - `vespa`: a rank profile whose global phase combines BM25 and semantic closeness ([`search`]).
//!
//! Whatever a target cannot express is listed in the file's header (never silently dropped).

pub mod search;
pub mod spark_sql;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Session;
use crate::data::EventWeights;
use crate::fusion::{FusionConfig, Rule, RuleAction};
use crate::limits::{MAX_K, OutOfRange, check_count};
use crate::score::SignalParams;

/// The `format` field of every profile file.
pub const PROFILE_FORMAT: &str = "recfuse-profile";

/// The profile version this build writes and reads.
pub const PROFILE_VERSION: u32 = 1;

/// Largest profile file read.
pub const MAX_PROFILE_FILE_BYTES: u64 = 16 << 20;

/// What the `about` field of a written profile says.
pub const PROFILE_ABOUT: &str = "RecFuse fusion profile: fusion = recommendation settings (per-signal weight and \
     normalisation, method, rrf_k, candidates_per_signal, exclude_seen, mmr_lambda, category_cap, \
     collapse_duplicates; candidate_source and index_probes when not the defaults), search_fusion = the same for search mode, rules = merchandising rules applied in order after \
     fusion, params = signal hyper-parameters, event_weights = weight per event type, top = list length. Read back \
     with `recfuse recommend|search|eval|batch --profile FILE`; see README, 'Taking a configuration to production'.";

/// A fusion profile (the `json` format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always [`PROFILE_FORMAT`].
    pub format: String,
    /// [`PROFILE_VERSION`] when written by this build.
    pub version: u32,
    /// What the fields mean (informational).
    #[serde(default)]
    pub about: String,
    /// List length the exported queries rank to.
    pub top: usize,
    /// Fusion settings for shopper recommendations.
    pub fusion: FusionConfig,
    /// Fusion settings for search mode.
    pub search_fusion: FusionConfig,
    /// Merchandising rules, applied in order after fusion.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Signal hyper-parameters (how the built-in signals are fitted).
    #[serde(default)]
    pub params: SignalParams,
    /// Weight per event type.
    #[serde(default)]
    pub event_weights: EventWeights,
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not a readable regular file.
    #[error(transparent)]
    File(#[from] crate::data::DataError),
    /// Not a RecFuse profile, or an unsupported version.
    #[error("{path}: not a RecFuse profile{at}: {message}", at = at(*line, *column))]
    Parse {
        /// The file.
        path: PathBuf,
        /// JSON line (0 = the whole document).
        line: usize,
        /// JSON column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A setting outside its allowed range.
    #[error("{path}: {source}")]
    Limit {
        /// The file.
        path: PathBuf,
        /// The setting.
        source: OutOfRange,
    },
}

fn at(line: usize, column: usize) -> String {
    if line == 0 { String::new() } else { format!(" (line {line}, column {column})") }
}

impl Profile {
    /// The profile of a session's settings.
    pub fn from_session(session: &Session) -> Self {
        Self {
            format: PROFILE_FORMAT.to_owned(),
            version: PROFILE_VERSION,
            about: PROFILE_ABOUT.to_owned(),
            top: session.selection.k,
            fusion: session.fusion.clone(),
            search_fusion: session.search_fusion.clone(),
            rules: session.rules.clone(),
            params: session.params.clone(),
            event_weights: session.event_weights.clone(),
        }
    }

    /// Applies the profile to a session (fusion settings, rules, parameters, event weights,
    /// list length); data files and the model are left as they are.
    pub fn apply_to(&self, session: &mut Session) {
        session.fusion = self.fusion.clone();
        session.search_fusion = self.search_fusion.clone();
        session.rules = self.rules.clone();
        session.params = self.params.clone();
        session.event_weights = self.event_weights.clone();
        session.selection.k = self.top;
    }

    /// Refuses settings outside their ranges.
    pub fn check(&self) -> Result<(), OutOfRange> {
        check_count("top", self.top, 1, MAX_K)?;
        self.fusion.check("fusion")?;
        self.search_fusion.check("search_fusion")?;
        crate::fusion::check_rules(&self.rules)?;
        self.params.check()
    }

    /// Reads a profile file: a regular file, the `recfuse-profile` format, a version this
    /// build knows, no unknown keys, every setting in range.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = crate::data::read::read_regular_text(path, MAX_PROFILE_FILE_BYTES)?;
        let parse = |line: usize, column: usize, message: String| ProfileError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let profile: Profile = serde_json::from_str(&text).map_err(|e| parse(e.line(), e.column(), e.to_string()))?;
        if profile.format != PROFILE_FORMAT {
            return Err(parse(0, 0, format!("format is '{}', expected '{PROFILE_FORMAT}'", profile.format)));
        }
        if profile.version != PROFILE_VERSION {
            return Err(parse(
                0,
                0,
                format!("version {} is not supported (this build reads version {PROFILE_VERSION})", profile.version),
            ));
        }
        profile.check().map_err(|source| ProfileError::Limit { path: path.to_path_buf(), source })?;
        Ok(profile)
    }
}

/// The formats a profile is exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileFormat {
    /// The RecFuse profile (JSON), read back with `--profile`.
    Json,
    /// A Spark SQL query over a long score table.
    SparkSql,
    /// An OpenSearch search pipeline (normalization processor), search mode.
    OpenSearch,
    /// A Vespa rank profile, search mode.
    Vespa,
}

impl ProfileFormat {
    /// Every format.
    pub const ALL: [ProfileFormat; 4] =
        [ProfileFormat::Json, ProfileFormat::SparkSql, ProfileFormat::OpenSearch, ProfileFormat::Vespa];

    /// Stable id (`--format`).
    pub fn id(self) -> &'static str {
        match self {
            ProfileFormat::Json => "json",
            ProfileFormat::SparkSql => "spark-sql",
            ProfileFormat::OpenSearch => "opensearch",
            ProfileFormat::Vespa => "vespa",
        }
    }

    /// Parses a stable id.
    pub fn from_id(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.id() == s)
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ProfileFormat::Json | ProfileFormat::OpenSearch => "json",
            ProfileFormat::SparkSql => "sql",
            ProfileFormat::Vespa => "profile",
        }
    }

    /// A default file name.
    pub fn default_file_name(self) -> &'static str {
        match self {
            ProfileFormat::Json => "recfuse-profile.json",
            ProfileFormat::SparkSql => "recfuse-profile.sql",
            ProfileFormat::OpenSearch => "recfuse-opensearch-pipeline.json",
            ProfileFormat::Vespa => "recfuse.profile",
        }
    }
}

/// The profile in `format`.
pub fn render(profile: &Profile, format: ProfileFormat) -> String {
    match format {
        ProfileFormat::Json => serde_json::to_string_pretty(profile).unwrap_or_default() + "\n",
        ProfileFormat::SparkSql => spark_sql::render(profile),
        ProfileFormat::OpenSearch => search::opensearch(profile),
        ProfileFormat::Vespa => search::vespa(profile),
    }
}

/// The re-ranking steps of `config` and the rules no query can express (shared by every
/// target): MMR, the category cap, duplicate collapsing and pins.
pub(crate) fn reranking_not_expressed(config: &FusionConfig, rules: &[Rule]) -> Vec<String> {
    let mut out = Vec::new();
    if config.method == crate::fusion::FusionMethod::Learned {
        out.push(
            "fusion method `learned` (a neural ranker over signal scores and embeddings): written as its \
             fallback, the weighted sum of the normalised scores with the weights below"
                .to_owned(),
        );
    }
    if config.mmr_lambda < 1.0 {
        out.push(format!(
            "MMR diversity (mmr_lambda = {}): needs the item embeddings and a greedy re-rank",
            config.mmr_lambda
        ));
    }
    if config.category_cap > 0 {
        out.push(format!(
            "category cap (at most {} items per top-level category): a sequential re-rank",
            config.category_cap
        ));
    }
    if config.collapse_duplicates {
        out.push(
            "collapse_duplicates (one slot per group of items with the same cleaned title and brand): the groups are \
             RecFuse's; write one row per group to the score table to get the same effect"
                .to_owned(),
        );
    }
    for rule in rules.iter().filter(|r| r.enabled) {
        if let RuleAction::Pin { position } = rule.action {
            out.push(format!(
                "pin rule \"{}\" (item at #{position}): positions are assigned after ranking; apply it in the serving \
                 layer",
                rule.name
            ));
        }
    }
    out
}
