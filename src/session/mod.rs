//! Sessions: the persisted settings (files, mapping, weights, rules, selections) as
//! JSON, saved atomically; the [`engine`] that both the GUI and the CLI drive; and the
//! GUI's runtime state, the [`workbench`].

pub mod batch;
pub mod command;
pub mod engine;
pub mod impact;
pub mod live;
pub mod paths;
pub mod pipeline;
pub mod privacy;
pub mod profile;
pub mod workbench;

pub use workbench::{evaluation, export};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{DataSources, EventWeights};
use crate::fusion::{FusionConfig, Rule, SignalSetting};
use crate::score::SignalParams;

pub use command::{BSource, Command, CompareMode, ExportKind, Preset};
pub use engine::{Engine, ExplainedItem, Target, TargetState};
pub use impact::{Impact, change_impact};
pub use workbench::{Notice, NoticeLevel, Workbench};

/// Settings of the embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSettings {
    /// Model directory (Hugging Face layout); `None` = the bundled all-MiniLM-L6-v2.
    pub model_dir: Option<PathBuf>,
    /// `auto`, `cpu`, `cuda`, `cuda:N` or `metal`.
    pub device: String,
    /// Number format of the model's computation: `f32` (default), `int8` (CPU), `f16` or
    /// `bf16` (GPU). Vectors of each precision are cached apart.
    pub precision: crate::embed::EmbedPrecision,
    /// Texts per batch.
    pub batch_size: usize,
    /// Which catalogue fields are embedded and how they are joined.
    pub template: crate::embed::ItemTextTemplate,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            model_dir: None,
            device: "auto".to_owned(),
            precision: crate::embed::EmbedPrecision::F32,
            batch_size: 64,
            template: crate::embed::ItemTextTemplate::default(),
        }
    }
}

/// Recommend for a shopper, or search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Recommendations for a shopper.
    #[default]
    Recommend,
    /// Results for a search query.
    Search,
}

/// What the user is looking at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selection {
    /// Recommend or search.
    pub mode: Mode,
    /// Selected shopper id.
    pub shopper: Option<String>,
    /// Search query.
    pub query: String,
    /// List length.
    pub k: usize,
    /// Item open in the inspector.
    pub item: Option<String>,
}

impl Default for Selection {
    fn default() -> Self {
        Self { mode: Mode::Recommend, shopper: None, query: String::new(), k: 10, item: None }
    }
}

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalSettings {
    /// `temporal`, `leave-last` or `random`.
    pub split: String,
    /// Fraction of the time span (temporal) or of events (random) held out for test.
    pub test_fraction: f64,
    /// Events held out per user for leave-last-n.
    pub leave_last_n: usize,
    /// Cut-offs K.
    pub ks: Vec<usize>,
    /// Binary relevance instead of graded gains.
    pub binary_relevance: bool,
    /// Seed for the random split and the bootstrap.
    pub seed: u64,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Validation windows the weights are tuned on (rolling origin; 1 = one split).
    pub validation_windows: usize,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            split: "temporal".to_owned(),
            test_fraction: 0.1,
            leave_last_n: 1,
            ks: vec![10],
            binary_relevance: true,
            seed: 42,
            bootstrap: 1000,
            validation_windows: 1,
        }
    }
}

/// Live-mode settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveSettings {
    /// Refit every signal automatically once the events folded in since the last fit
    /// reach this share (per cent) of the events that fit used; 0 = only on request.
    pub refit_after_percent: f64,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self { refit_after_percent: 10.0 }
    }
}

/// Largest automatic-refit threshold (per cent of the fitted events).
pub const MAX_REFIT_AFTER_PERCENT: f64 = 1_000.0;

/// Everything saved in a session file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// File format version.
    pub version: u32,
    /// Input files and column mappings.
    pub data: DataSources,
    /// Event weights.
    pub event_weights: EventWeights,
    /// Embedding model settings.
    pub model: ModelSettings,
    /// Signal hyper-parameters.
    pub params: SignalParams,
    /// Fusion settings for shopper recommendations.
    pub fusion: FusionConfig,
    /// Fusion settings for search mode.
    pub search_fusion: FusionConfig,
    /// Merchandising rules.
    pub rules: Vec<Rule>,
    /// Current selection.
    pub selection: Selection,
    /// Evaluation settings.
    pub eval: EvalSettings,
    /// Live-mode settings.
    pub live: LiveSettings,
    /// Pseudonymise shopper ids in the display and in exports.
    pub privacy: bool,
    /// Random salt of the pseudonyms (kept so pseudonyms are stable within a session).
    pub privacy_salt: String,
}

/// Default fusion weights for search mode: text relevance first.
pub fn default_search_fusion() -> FusionConfig {
    let mut f = FusionConfig::default();
    for s in crate::score::SIGNALS {
        f.signals
            .insert(s.id, SignalSetting { enabled: true, weight: s.default_search_weight, ..SignalSetting::default() });
    }
    f
}

impl Default for Session {
    fn default() -> Self {
        Self {
            version: 1,
            data: paths::sample_sources(),
            event_weights: EventWeights::default(),
            model: ModelSettings::default(),
            params: SignalParams::default(),
            fusion: FusionConfig::default(),
            search_fusion: default_search_fusion(),
            rules: sample_rules(),
            selection: Selection::default(),
            eval: EvalSettings::default(),
            live: LiveSettings::default(),
            privacy: false,
            privacy_salt: format!("{:016x}", fastrand::u64(..)),
        }
    }
}

/// Rules of the default session: the sample's non-merchandise stock codes (postage,
/// carriage, discount, manual adjustment) are hidden, as a merchandiser would.
pub fn sample_rules() -> Vec<Rule> {
    [("POST", "postage"), ("C2", "carriage"), ("D", "discount"), ("M", "manual")]
        .into_iter()
        .map(|(id, what)| Rule {
            name: format!("sample: hide {what}"),
            enabled: true,
            target: crate::fusion::RuleTarget::Item { id: id.to_owned() },
            action: crate::fusion::RuleAction::Hide,
            scope: crate::fusion::RuleScope::All,
        })
        .collect()
}

/// Why a session file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is not a valid session.
    #[error("{path}: not a RecFuse session{at}: {message}", at = position(*line, *column))]
    Parse { path: PathBuf, line: usize, column: usize, message: String },
    /// The file is a session, but a setting is outside its allowed range.
    #[error("{path}: {source}")]
    Limit { path: PathBuf, source: crate::limits::OutOfRange },
    /// The session's score files (external signals) or their weights do not fit together.
    #[error("{path}: {message}")]
    Signals { path: PathBuf, message: String },
    /// The path is not a readable regular file.
    #[error(transparent)]
    File(#[from] crate::data::DataError),
}

/// " (line L, column C)" for a JSON syntax error; nothing for a whole-document problem.
fn position(line: usize, column: usize) -> String {
    if line == 0 { String::new() } else { format!(" (line {line}, column {column})") }
}

/// Largest session file read.
pub const MAX_SESSION_FILE_BYTES: u64 = 64 << 20;

/// The top-level keys of a session file.
const SESSION_KEYS: [&str; 13] = [
    "version",
    "data",
    "event_weights",
    "model",
    "params",
    "fusion",
    "search_fusion",
    "rules",
    "selection",
    "eval",
    "live",
    "privacy",
    "privacy_salt",
];

impl Session {
    /// Reads a session file: a regular file, a JSON object with session keys only, every
    /// setting within its range (TESTING.md, "Limits"); relative data paths are read
    /// relative to the session file's folder.
    pub fn load(path: &Path) -> Result<Session, SessionError> {
        let text = crate::data::read::read_regular_text(path, MAX_SESSION_FILE_BYTES)?;
        let mut session = Self::from_json(&text).map_err(|e| SessionError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        session.check().map_err(|source| SessionError::Limit { path: path.to_path_buf(), source })?;
        session.check_external().map_err(|message| SessionError::Signals { path: path.to_path_buf(), message })?;
        if let Some(dir) = path.parent() {
            session.data.resolve_relative_to(dir);
        }
        Ok(session)
    }

    /// Parses session JSON.
    ///
    /// Anything but a JSON object, and keys a session does not have, are refused (a `[]` or
    /// an unrelated JSON file would otherwise read as "all defaults"). A number too large
    /// for its setting (a weight of `1e39` is infinite as `f32`) is rejected: it would be
    /// saved as `null`, and the saved file would no longer open.
    pub fn from_json(text: &str) -> Result<Session, serde_json::Error> {
        use serde::de::Error as _;
        let value: serde_json::Value = serde_json::from_str(text)?;
        let serde_json::Value::Object(map) = &value else {
            return Err(serde_json::Error::custom("expected a JSON object with session settings"));
        };
        let unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| !SESSION_KEYS.contains(k)).collect();
        if !unknown.is_empty() {
            return Err(serde_json::Error::custom(format!(
                "unknown session keys {}; a session has {}",
                unknown.join(", "),
                SESSION_KEYS.join(", ")
            )));
        }
        let session: Session = serde_json::from_str(text)?;
        let round_trip = serde_json::to_string(&session).and_then(|json| serde_json::from_str::<Session>(&json));
        match round_trip {
            Ok(_) => Ok(session),
            Err(_) => Err(serde_json::Error::custom(
                "a number is too large for its setting (above 3.4e38, infinite as a 32-bit float)",
            )),
        }
    }

    /// Refuses settings outside their allowed ranges (signal parameters, fusion, rules,
    /// evaluation, list length, batch size), naming the setting, its value and the range.
    pub fn check(&self) -> Result<(), crate::limits::OutOfRange> {
        use crate::limits::{MAX_BOOTSTRAP, MAX_K, check_count, check_real};
        self.params.check()?;
        self.fusion.check("fusion")?;
        self.search_fusion.check("search_fusion")?;
        crate::fusion::check_rules(&self.rules)?;
        let e = &self.eval;
        check_count("eval.bootstrap", e.bootstrap, 0, MAX_BOOTSTRAP)?;
        check_count("number of eval.ks", e.ks.len(), 0, 16)?;
        for k in &e.ks {
            check_count("eval.ks", *k, 1, MAX_K)?;
        }
        check_real("eval.test_fraction", e.test_fraction, 0.001, 0.999)?;
        check_count("eval.leave_last_n", e.leave_last_n, 1, 1_000)?;
        check_count(
            "eval.validation_windows",
            e.validation_windows,
            1,
            crate::eval::experiment::MAX_VALIDATION_WINDOWS,
        )?;
        check_count("selection.k", self.selection.k, 1, 200)?;
        check_real("live.refit_after_percent", self.live.refit_after_percent, 0.0, MAX_REFIT_AFTER_PERCENT)?;
        check_count("model.batch_size", self.model.batch_size, 1, 4_096)?;
        Ok(())
    }

    /// Refuses score files that cannot be signals (too many, a bad or repeated name) and
    /// weights of external signals that no score file of the session provides.
    pub fn check_external(&self) -> Result<(), String> {
        use crate::score::external::{check_signal_files, declared_by};
        check_signal_files(&self.data.signals, "data.signals")?;
        for (what, fusion) in [("fusion", &self.fusion), ("search_fusion", &self.search_fusion)] {
            if let Some(s) = fusion.signals.keys().find(|s| s.is_external() && !declared_by(**s, &self.data.signals)) {
                return Err(format!(
                    "{what}.signals.{s}: no such signal (built-in: {}; external signals come from the score files \
                     in data.signals)",
                    crate::score::SignalId::builtin_id_list()
                ));
            }
        }
        Ok(())
    }

    /// Writes the session atomically: a temporary file in the same directory, then a
    /// rename; an existing file is untouched if anything fails.
    pub fn save(&self, path: &Path) -> Result<(), SessionError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| SessionError::Io { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
        write_atomic(path, &json).map_err(|e| SessionError::Io { path: path.to_path_buf(), source: e })
    }

    /// The fusion settings of the current mode.
    pub fn active_fusion(&self) -> &FusionConfig {
        match self.selection.mode {
            Mode::Recommend => &self.fusion,
            Mode::Search => &self.search_fusion,
        }
    }

    /// Mutable fusion settings of the current mode.
    pub fn active_fusion_mut(&mut self) -> &mut FusionConfig {
        match self.selection.mode {
            Mode::Recommend => &mut self.fusion,
            Mode::Search => &mut self.search_fusion,
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
/// An existing path that is not a regular file (a symlink, FIFO, device or directory) is
/// refused and left alone.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_file()
    {
        let kind = if meta.file_type().is_symlink() { "a symbolic link" } else { "not a regular file" };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is {kind}; refusing to replace it (write to a regular file or a new path)", path.display()),
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_saved_key_is_a_known_session_key() {
        let value = serde_json::to_value(super::Session::default()).expect("serialise");
        let mut saved: Vec<&str> = value.as_object().expect("object").keys().map(String::as_str).collect();
        let mut known = super::SESSION_KEYS.to_vec();
        saved.sort_unstable();
        known.sort_unstable();
        assert_eq!(saved, known, "a saved session must load again");
    }
}
