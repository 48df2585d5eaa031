//! `recfuse eval --export-split DIR`: the split `eval` evaluates, written out so that other
//! libraries (the peers of `benches/reference/peers_same_protocol.py`) train on the same
//! events and are scored on the same shoppers, relevant items and exclusions.
//!
//! Two phases, each the pair of event sets `eval` uses: `validation` (fitted on train minus
//! validation, scored on validation: what tuning reads) and `test` (fitted on train, scored
//! on test: what every reported row reads). Per phase, three Parquet files:
//!
//! - `PHASE_train.parquet` — `user, item, value`: the positive net summed event weight of
//!   every (shopper, item) of the fitting events, exactly the matrix the signals fit on
//!   ([`Interactions::build`]'s `by_user`).
//! - `PHASE_eval.parquet` — `user, item, kind, gain`: for every evaluated shopper, the
//!   relevant items (`kind` = `relevant`, `gain` = 1, or the summed weight with graded
//!   relevance) and the items left out of their lists (`excluded`, gain 0): the rule of
//!   [`relevance_sets`] and [`excluded_items`].
//! - `PHASE_items.parquet` — `item, popularity, group`: the `popularity` signal fitted on
//!   the phase's fitting events (ties are broken by it, higher first, then by item id) and the
//!   duplicate group (the id of the group's first item; collapsed into one slot when the
//!   fusion collapses duplicates), one row per catalogue item.
//!
//! `split.json` says which rule, cut-offs, counts and fusion settings they came from.

use std::path::{Path, PathBuf};

use super::runner::relevance_sets;
use super::split::{SplitRule, three_way};
use crate::data::Dataset;
use crate::data::write::{OutColumn, ParquetTableWriter, WriteError};
use crate::fusion::FusionConfig;
use crate::fusion::candidates::excluded_items;
use crate::score::params::PopularityParams;
use crate::score::popularity::PopularityScorer;
use crate::score::{Interactions, ScoreContext, Scorer, UserProfile};

/// Why a split could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A table could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The folder or `split.json` could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What one phase of the export holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PhaseSummary {
    /// `validation` or `test`.
    pub phase: &'static str,
    /// Events the phase fits on.
    pub fit_events: usize,
    /// Events the phase scores on.
    pub eval_events: usize,
    /// Rows of `PHASE_train.parquet` (positive (shopper, item) pairs).
    pub train_pairs: usize,
    /// Shoppers evaluated (with training history and a relevant item).
    pub users_evaluated: usize,
    /// Relevant (shopper, item) pairs.
    pub relevant_pairs: usize,
    /// Excluded (shopper, item) pairs.
    pub excluded_pairs: usize,
}

/// What the whole export holds (also written as `split.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitSummary {
    /// The split rule's name.
    pub split: String,
    /// The rule with its parameters.
    pub rule: SplitRule,
    /// Temporal cut-offs of validation and test (unix seconds), when the rule has them.
    pub cuts: (Option<i64>, Option<i64>),
    /// Whether a shopper's training items are left out of their lists (and of relevance).
    pub exclude_seen: bool,
    /// Whether duplicate items share one slot.
    pub collapse_duplicates: bool,
    /// Binary relevance (gain 1) rather than summed weights.
    pub binary: bool,
    /// Candidates each signal contributes (a peer's list comes from its top this many).
    pub candidates_per_signal: usize,
    /// Catalogue items.
    pub items: usize,
    /// The two phases.
    pub phases: Vec<PhaseSummary>,
}

/// Writes the split `eval` with `rule`, `config` and `binary` evaluates into `dir` (created
/// when missing; files replaced atomically).
pub fn write_split(
    dataset: &Dataset,
    rule: SplitRule,
    config: &FusionConfig,
    popularity: &PopularityParams,
    binary: bool,
    dir: &Path,
) -> Result<SplitSummary, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io { path: dir.to_path_buf(), source })?;
    let split = three_way(&dataset.behaviour, rule);
    let phases = [("validation", &split.inner_train, &split.validation), ("test", &split.train, &split.test)];
    let mut summaries = Vec::new();
    for (phase, fit, eval) in phases {
        let train = Interactions::build(&dataset.behaviour, fit, dataset.catalogue.len());
        let mut summary = PhaseSummary {
            phase,
            fit_events: fit.len(),
            eval_events: eval.len(),
            train_pairs: write_train(dataset, &train, &dir.join(format!("{phase}_train.parquet")))?,
            users_evaluated: 0,
            relevant_pairs: 0,
            excluded_pairs: 0,
        };
        write_eval(
            dataset,
            &train,
            eval,
            config.exclude_seen,
            binary,
            &dir.join(format!("{phase}_eval.parquet")),
            &mut summary,
        )?;
        write_items(dataset, &train, popularity, &dir.join(format!("{phase}_items.parquet")))?;
        summaries.push(summary);
    }
    let summary = SplitSummary {
        split: rule.name().to_owned(),
        rule,
        cuts: split.cuts,
        exclude_seen: config.exclude_seen,
        collapse_duplicates: config.collapse_duplicates,
        binary,
        candidates_per_signal: config.candidates_per_signal,
        items: dataset.catalogue.len(),
        phases: summaries,
    };
    let path = dir.join("split.json");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    write_atomic(&path, text.as_bytes())?;
    Ok(summary)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |source| ExportError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

fn write_train(dataset: &Dataset, train: &Interactions, path: &Path) -> Result<usize, ExportError> {
    let (mut users, mut items, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for u in 0..train.by_user.rows() {
        let (idx, val) = train.by_user.row(u);
        for (&i, &v) in idx.iter().zip(val) {
            users.push(dataset.behaviour.users.name(u as u32).to_owned());
            items.push(dataset.catalogue.ids.name(i).to_owned());
            values.push(f64::from(v));
        }
    }
    let n = users.len();
    let mut w = ParquetTableWriter::create_atomic(path)?;
    w.write(vec![OutColumn::Text("user", users), OutColumn::Text("item", items), OutColumn::Float("value", values)])?;
    w.finish()?;
    Ok(n)
}

fn write_eval(
    dataset: &Dataset,
    train: &Interactions,
    eval: &[usize],
    exclude_seen: bool,
    binary: bool,
    path: &Path,
    summary: &mut PhaseSummary,
) -> Result<(), ExportError> {
    let relevance = relevance_sets(dataset, train, eval, exclude_seen, binary);
    let (mut users, mut items, mut kinds, mut gains) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut push = |u: u32, i: u32, kind: &str, gain: f64| {
        users.push(dataset.behaviour.users.name(u).to_owned());
        items.push(dataset.catalogue.ids.name(i).to_owned());
        kinds.push(kind.to_owned());
        gains.push(gain);
    };
    for (&u, rel) in &relevance {
        for (i, gain) in rel.iter() {
            push(u, i, "relevant", gain);
            summary.relevant_pairs += 1;
        }
        for i in excluded_items(exclude_seen, &train.profile(u)) {
            push(u, i, "excluded", 0.0);
            summary.excluded_pairs += 1;
        }
    }
    summary.users_evaluated = relevance.len();
    let mut w = ParquetTableWriter::create_atomic(path)?;
    w.write(vec![
        OutColumn::Text("user", users),
        OutColumn::Text("item", items),
        OutColumn::Text("kind", kinds),
        OutColumn::Float("gain", gains),
    ])?;
    w.finish()?;
    Ok(())
}

fn write_items(
    dataset: &Dataset,
    train: &Interactions,
    params: &PopularityParams,
    path: &Path,
) -> Result<(), ExportError> {
    let n = dataset.catalogue.len();
    let mut scores = vec![0.0f32; n];
    let profile = UserProfile::default();
    PopularityScorer::fit(train, params).score_all(&ScoreContext { profile: &profile, query: None }, &mut scores);
    let ids = (0..n as u32).map(|i| dataset.catalogue.ids.name(i).to_owned()).collect();
    let groups =
        (0..n as u32).map(|i| dataset.catalogue.ids.name(dataset.catalogue.duplicate_group(i)).to_owned()).collect();
    let mut w = ParquetTableWriter::create_atomic(path)?;
    w.write(vec![
        OutColumn::Text("item", ids),
        OutColumn::Float32("popularity".to_owned(), scores),
        OutColumn::Text("group", groups),
    ])?;
    w.finish()?;
    Ok(())
}
