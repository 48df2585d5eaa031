//! External signals: scores computed elsewhere and imported from a score file
//! ([`crate::data::scores`]), fused, tuned, compared and explained like the built-in
//! signals.
//!
//! An external signal scores only the (shopper, item) pairs of its file; other items get
//! no score of their own (0, or the shopper's lowest listed score when that is negative,
//! so an unlisted item never outranks a listed one), like a built-in signal that does not
//! cover an item. It has nothing to say about a search query, so search mode leaves it
//! out. It is not fitted: evaluation uses the file's scores as they are, so a file
//! computed from data that includes the test period makes its metrics optimistic.

use std::path::Path;
use std::sync::Arc;

use super::signal::SignalNameError;
use super::{ScoreContext, Scorer, SignalId};
use crate::data::scores::{ScoreFileReport, ScoreTable, SignalFile, read_score_file};
use crate::data::{Catalogue, DataError, Dataset};
use crate::jobs::Progress;

/// Most score files (and external signals) one session uses.
pub const MAX_SIGNAL_FILES: usize = 16;
/// The weight a newly imported external signal starts with (a strong built-in signal's
/// order of magnitude; the default preset's weights sum to 1).
pub const DEFAULT_EXTERNAL_WEIGHT: f32 = 0.2;

/// One external signal: a shopper's listed items and their scores.
pub struct ExternalScorer {
    id: SignalId,
    source: String,
    /// `offsets[u]..offsets[u + 1]` are shopper `u`'s entries in `items`/`scores`.
    offsets: Vec<usize>,
    items: Vec<u32>,
    scores: Vec<f32>,
}

impl ExternalScorer {
    /// A scorer from a table sorted by (user, item) without repeats (as
    /// [`read_score_file`] returns it); `n_users` is the behaviour's number of shoppers.
    pub fn from_table(id: SignalId, source: &str, table: ScoreTable, n_users: usize) -> Self {
        let mut offsets = vec![0usize; n_users + 1];
        for &u in &table.users {
            if let Some(slot) = offsets.get_mut(u as usize + 1) {
                *slot += 1;
            }
        }
        for u in 0..n_users {
            let before = offsets.get(u).copied().unwrap_or(0);
            if let Some(slot) = offsets.get_mut(u + 1) {
                *slot += before;
            }
        }
        Self { id, source: source.to_owned(), offsets, items: table.items, scores: table.scores }
    }

    /// The file the scores came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of (shopper, item) pairs.
    pub fn pairs(&self) -> usize {
        self.scores.len()
    }

    /// Shopper `user`'s listed items and scores (sorted by item).
    fn row(&self, user: u32) -> (&[u32], &[f32]) {
        let (Some(&a), Some(&b)) = (self.offsets.get(user as usize), self.offsets.get(user as usize + 1)) else {
            return (&[], &[]);
        };
        (self.items.get(a..b).unwrap_or(&[]), self.scores.get(a..b).unwrap_or(&[]))
    }

    /// The file's score of (`user`, `item`), if listed.
    pub fn score_of(&self, user: u32, item: u32) -> Option<f32> {
        let (items, scores) = self.row(user);
        items.binary_search(&item).ok().and_then(|j| scores.get(j).copied())
    }
}

impl Scorer for ExternalScorer {
    fn id(&self) -> SignalId {
        self.id
    }

    fn live_update(&self, _change: &super::LiveChange<'_>) -> super::LiveUpdate {
        super::LiveUpdate::Stale("scores from its file: they change only when the file is read again".to_owned())
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.fill(0.0);
        let Some(user) = ctx.profile.user else { return };
        let (items, scores) = self.row(user);
        let lowest = scores.iter().copied().fold(0.0f32, f32::min);
        if lowest < 0.0 {
            out.fill(lowest);
        }
        for (&i, &s) in items.iter().zip(scores) {
            if let Some(slot) = out.get_mut(i as usize) {
                *slot = s;
            }
        }
    }

    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let Some(user) = ctx.profile.user else {
            out.fill(0.0);
            return;
        };
        let (listed, scores) = self.row(user);
        let lowest = scores.iter().copied().fold(0.0f32, f32::min);
        for (o, i) in out.iter_mut().zip(items) {
            *o = listed.binary_search(i).ok().and_then(|j| scores.get(j)).copied().unwrap_or(lowest);
        }
    }

    /// Exact: the shopper's row of the file is the inverted list.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        let (listed, scores) = match ctx.profile.user {
            Some(user) => self.row(user),
            None => (&[][..], &[][..]),
        };
        let lowest = scores.iter().copied().fold(0.0f32, f32::min);
        let map = listed.iter().copied().zip(scores.iter().copied()).collect();
        Some(super::IndexTop::from_sparse(map, lowest, query))
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, _catalogue: &Catalogue) -> Option<String> {
        let score = self.score_of(ctx.profile.user?, item)?;
        Some(format!("score {} from {}", format_score(score), self.source))
    }
}

/// A score as evidence shows it: two decimals, or three significant digits when tiny.
fn format_score(v: f32) -> String {
    if v != 0.0 && v.abs() < 0.01 { format!("{v:.3e}") } else { format!("{v:.2}") }
}

/// A score file loaded for a dataset: its signals and what reading it found.
#[derive(Clone)]
pub struct LoadedSignals {
    /// The file as named by the user.
    pub file: SignalFile,
    /// What reading found (counts per reason).
    pub report: ScoreFileReport,
    /// Its signals (one, or one per value of the `signal` column), in file order.
    pub scorers: Vec<Arc<ExternalScorer>>,
}

impl LoadedSignals {
    /// The ids of its signals.
    pub fn ids(&self) -> Vec<SignalId> {
        self.scorers.iter().map(|s| s.id).collect()
    }
}

/// Why a score file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// The file cannot be read, or a column or row is wrong.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A signal name is not usable.
    #[error("{path}: {source}")]
    Name { path: std::path::PathBuf, source: SignalNameError },
}

/// The id of signal `value` of file `name`: `name` itself, or `name_value` for a file
/// with a `signal` column.
pub fn signal_id(name: &str, value: Option<&str>) -> Result<SignalId, SignalNameError> {
    match value {
        None => SignalId::external(name),
        Some(v) => SignalId::external(&format!("{name}_{v}")),
    }
}

/// Reads `file` and matches it to `dataset`'s shoppers and items.
pub fn load_signal_file(
    file: &SignalFile,
    dataset: &Dataset,
    progress: &Progress,
) -> Result<LoadedSignals, ExternalError> {
    let name_error = |path: &Path, source| ExternalError::Name { path: path.to_path_buf(), source };
    SignalId::external(&file.name).map_err(|e| name_error(&file.path, e))?;
    let users = &dataset.behaviour.users;
    let read = read_score_file(&file.path, users, &dataset.catalogue.ids, progress)?;
    let source = read.report.file.clone();
    let mut scorers = Vec::with_capacity(read.tables.len());
    for table in read.tables {
        let id = signal_id(&file.name, table.signal.as_deref()).map_err(|e| name_error(&file.path, e))?;
        scorers.push(Arc::new(ExternalScorer::from_table(id, &source, table, users.len())));
    }
    Ok(LoadedSignals { file: file.clone(), report: read.report, scorers })
}

/// Refuses a list of score files with too many entries, a name that cannot be a signal,
/// or a name used twice; `what` names the setting in messages.
pub fn check_signal_files(files: &[SignalFile], what: &str) -> Result<(), String> {
    if files.len() > MAX_SIGNAL_FILES {
        return Err(format!("{what}: {} score files, at most {MAX_SIGNAL_FILES}", files.len()));
    }
    for (i, f) in files.iter().enumerate() {
        SignalId::external(&f.name).map_err(|e| format!("{what}: {e}"))?;
        if files.iter().take(i).any(|g| g.name == f.name) {
            return Err(format!("{what}: the signal name '{}' is used by two score files", f.name));
        }
    }
    Ok(())
}

/// Whether external signal `id` can come from one of `files` (its name, or `name_…`).
pub fn declared_by(id: SignalId, files: &[SignalFile]) -> bool {
    let id = id.id();
    files.iter().any(|f| id == f.name || id.strip_prefix(f.name.as_str()).is_some_and(|rest| rest.starts_with('_')))
}

/// A signal name derived from a file name: `Spark ALS.parquet` → `spark_als` (lower
/// case, other characters as `_`, at most 40), made unique among `taken`.
pub fn name_from_path(path: &Path, taken: &[String]) -> String {
    let stem = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = stem.split('.').next().unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' { c } else { '_' })
        .take(32)
        .collect();
    let trimmed = name.trim_matches('_');
    name = if trimmed.is_empty() { "external".to_owned() } else { trimmed.to_owned() };
    if SignalId::search().any(|s| s.id() == name) {
        name.push_str("_file");
    }
    let base = name.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::UserProfile;

    #[test]
    fn names_from_file_names() {
        assert_eq!(name_from_path(Path::new("/x/Spark ALS.parquet"), &[]), "spark_als");
        assert_eq!(name_from_path(Path::new("als.csv.gz"), &[]), "als_file", "a built-in id is not taken");
        assert_eq!(name_from_path(Path::new("s.csv"), &["s".into(), "s_2".into()]), "s_3");
        assert_eq!(name_from_path(Path::new("...csv"), &[]), "external");
    }

    #[test]
    fn scores_only_listed_pairs_and_unlisted_items_never_outrank_listed_ones() {
        let id = SignalId::external("unit_fill").expect("name");
        // Shopper 1 lists items 0 (−2) and 2 (3); shopper 0 lists nothing.
        let table = ScoreTable { signal: None, users: vec![1, 1], items: vec![0, 2], scores: vec![-2.0, 3.0] };
        let scorer = ExternalScorer::from_table(id, "f.csv", table, 2);
        let mut out = [9.0f32; 4];
        let profile = UserProfile { user: Some(1), ..UserProfile::cold(0) };
        scorer.score_all(&ScoreContext { profile: &profile, query: None }, &mut out);
        assert_eq!(out, [-2.0, -2.0, 3.0, -2.0], "unlisted items get the lowest listed score");
        let profile = UserProfile { user: Some(0), ..UserProfile::cold(0) };
        scorer.score_all(&ScoreContext { profile: &profile, query: None }, &mut out);
        assert_eq!(out, [0.0; 4]);
        assert_eq!(scorer.score_of(1, 2), Some(3.0));
        assert_eq!(scorer.score_of(1, 1), None);
        assert_eq!(scorer.pairs(), 2);
        assert_eq!(format_score(0.834), "0.83");
        assert_eq!(format_score(0.00012), "1.200e-4");
    }

    #[test]
    fn declared_names_cover_the_signals_of_multi_signal_files() {
        let files = [SignalFile { name: "spark".into(), path: "x".into() }];
        let yes = SignalId::external("spark_als").expect("name");
        let no = SignalId::external("sparkle").expect("name");
        assert!(declared_by(yes, &files) && !declared_by(no, &files));
        let twice = [files[0].clone(), files[0].clone()];
        assert!(check_signal_files(&twice, "x").unwrap_err().contains("used by two"));
    }
}
