//! Recommendations for every shopper (or a listed subset) written to one Parquet file:
//! the engine behind `recfuse batch` and the GUI's Export → "Recommendations for all
//! shoppers…".
//!
//! The file is long format, one row per (shopper, position): `user_id`, `rank`, `item_id`,
//! `score`, and with contributions one `contribution_<signal>` column per weighted signal
//! plus `contribution_rules` (they sum to `score`: the attribution `recommend --explain`
//! shows). Under the `learned` fusion with a ranker installed, the signal columns are the
//! ranker's exact Shapley values, with `contribution_embedding`,
//! `contribution_cheap_features` and `contribution_baseline` beside them. Shoppers are processed in chunks of [`CHUNK_SHOPPERS`], each chunk in parallel
//! (rayon) and written as one Parquet row group, so memory holds one chunk's lists, never
//! every shopper's; the file is written beside the target and renamed when complete.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::engine::{Engine, TargetState};
use crate::data::write::{OutColumn, ParquetTableWriter, WriteError};
use crate::fusion::candidates::SCORE_BLOCK;
use crate::fusion::{FusionConfig, RankContext, Rule, contributions, rank};
use crate::jobs::{Cancelled, Progress};
use crate::score::SignalId;

/// Shoppers per chunk (one Parquet row group each).
pub const CHUNK_SHOPPERS: usize = 512;

/// Largest `--users` file read.
pub const MAX_SHOPPER_FILE_BYTES: u64 = 1 << 30;

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRequest {
    /// List length per shopper.
    pub top: usize,
    /// Add the contribution columns.
    pub contributions: bool,
    /// The shoppers, by id, in output order; `None` = every shopper of the data.
    pub shoppers: Option<Vec<String>>,
    /// Write pseudonyms (under this salt) instead of shopper ids (the privacy switch).
    pub pseudonym_salt: Option<String>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    /// The file.
    pub path: PathBuf,
    /// Shoppers processed.
    pub shoppers: usize,
    /// Rows written.
    pub rows: usize,
    /// Column names, in file order.
    pub columns: Vec<String>,
    /// Shoppers whose list is shorter than requested (too few candidates).
    pub short_lists: usize,
}

/// Why a batch could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The output path is one of the input files, or not a regular file.
    #[error("{path}: {why}")]
    Output {
        /// The output path.
        path: PathBuf,
        /// Why it is refused.
        why: String,
    },
    /// The shopper list could not be read or names shoppers that are not in the data.
    #[error("{path}: {why}")]
    Shoppers {
        /// The shopper list.
        path: PathBuf,
        /// What is wrong, with line numbers.
        why: String,
    },
    /// Writing Parquet failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Cancelled by the user; nothing was written.
    #[error("cancelled; nothing was written")]
    Cancelled(#[from] Cancelled),
}

/// Refuses an output path that is one of `inputs` (the same file under any name), or an
/// existing path that is not a regular file (a symlink, FIFO, device or folder).
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<(), BatchError> {
    let refuse = |why: String| BatchError::Output { path: out.to_path_buf(), why };
    let Ok(meta) = std::fs::symlink_metadata(out) else { return Ok(()) };
    if !meta.file_type().is_file() {
        let kind = if meta.file_type().is_symlink() { "a symbolic link" } else { "not a regular file" };
        return Err(refuse(format!("is {kind}; refusing to replace it (write to a regular file or a new path)")));
    }
    let target = std::fs::canonicalize(out).map_err(|e| refuse(e.to_string()))?;
    for input in inputs {
        if std::fs::canonicalize(input).is_ok_and(|p| p == target) {
            return Err(refuse(format!(
                "is an input file ({}); refusing to overwrite it — choose another output path",
                input.display()
            )));
        }
    }
    Ok(())
}

/// Reads a shopper list: one id per line (a first line `user_id` is a header; blank lines
/// are skipped; a repeated id is kept once). Every id must be a shopper of the data: the
/// unknown ones are reported with their line numbers.
pub fn read_shopper_list(path: &Path, engine: &Engine) -> Result<Vec<String>, BatchError> {
    let fail = |why: String| BatchError::Shoppers { path: path.to_path_buf(), why };
    let text = crate::data::read::read_regular_text(path, MAX_SHOPPER_FILE_BYTES).map_err(|e| fail(e.to_string()))?;
    let users = &engine.dataset.behaviour.users;
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut unknown_count = 0usize;
    for (n, line) in text.lines().enumerate() {
        let id = line.trim().trim_matches('"').trim();
        if id.is_empty() || (n == 0 && id == "user_id") {
            continue;
        }
        if users.get(id).is_none() {
            unknown_count += 1;
            if unknown.len() < 5 {
                unknown.push(format!("'{id}' (line {})", n + 1));
            }
            continue;
        }
        if seen.insert(id.to_owned()) {
            ids.push(id.to_owned());
        }
    }
    if unknown_count > 0 {
        let more = if unknown_count > unknown.len() {
            format!(" and {} more", unknown_count - unknown.len())
        } else {
            String::new()
        };
        return Err(fail(format!(
            "{unknown_count} shopper id(s) not in the behaviour data: {}{more}",
            unknown.join(", ")
        )));
    }
    if ids.is_empty() {
        return Err(fail("no shopper ids (one id per line expected)".to_owned()));
    }
    Ok(ids)
}

/// One shopper's list: (item, score, contribution per column signal, rule delta).
struct ShopperList {
    /// Item, score, per-signal contributions, rules' change, and under the learned ranker
    /// its embedding, cheap-feature and baseline terms (empty otherwise).
    entries: Vec<Entry>,
}

/// One listed item: item, score, per-signal contributions, rules' change, learned terms.
type Entry = (u32, f32, Vec<f32>, f32, Vec<f32>);

/// The extra contribution columns of the learned ranker's attribution.
const LEARNED_COLUMNS: [&str; 3] = ["embedding", "cheap_features", "baseline"];

/// Ranks one prepared shopper exactly as [`Engine::explain`] does (same candidates,
/// fusion, rules and re-ranking) and takes the contributions of the `columns` signals.
fn shopper_list(
    engine: &Engine,
    config: &FusionConfig,
    rules: &[Rule],
    mut state: TargetState,
    top: usize,
    columns: &[SignalId],
) -> ShopperList {
    state.candidates.prepare(config);
    let rules = engine.rules_in_scope(&state.target, rules);
    let ctx = RankContext { catalogue: engine.catalogue(), rules: &rules, vectors: engine.vectors.as_deref() };
    let ranked = rank(&state.candidates, config, &ctx, top);
    let which: Vec<usize> = ranked.iter().take(top).map(|r| r.candidate).collect();
    let learned = if columns.is_empty() { None } else { engine.learned_attribution(&state, config, &which) };
    let entries = ranked
        .into_iter()
        .take(top)
        .enumerate()
        .map(|(p, r)| {
            let attribution = learned.as_ref().and_then(|a| a.get(p));
            let by_signal = match attribution {
                Some(a) => {
                    columns.iter().map(|s| a.signals.iter().find(|(t, _)| t == s).map_or(0.0, |(_, v)| *v)).collect()
                }
                None if columns.is_empty() => Vec::new(),
                None => {
                    let terms = contributions(&state.candidates, config, r.candidate);
                    columns.iter().map(|s| terms.iter().find(|(t, _)| t == s).map_or(0.0, |(_, v)| *v)).collect()
                }
            };
            let features = attribution.map_or_else(Vec::new, |a| vec![a.embedding, a.cheap, a.baseline]);
            let rules_delta = r.rule_effects.iter().map(|e| e.delta).sum();
            (r.item, r.score, by_signal, rules_delta, features)
        })
        .collect();
    ShopperList { entries }
}

/// The signals that get a contribution column: fitted, recommending, with a weight.
/// Under the `learned` fusion with a ranker installed: the signals the ranker reads.
pub fn contribution_signals(engine: &Engine, config: &FusionConfig) -> Vec<SignalId> {
    if let Some(r) = learned_ranker(engine, config) {
        return SignalId::recommend().filter(|s| r.signals().contains(s)).collect();
    }
    SignalId::recommend().filter(|s| engine.models.scorers.contains_key(s) && config.weight(*s) != 0.0).collect()
}

/// The ranker that ranks the batch: installed, and the fusion is `learned`.
fn learned_ranker<'a>(engine: &'a Engine, config: &FusionConfig) -> Option<&'a crate::rank::Ranker> {
    engine.ranker.as_deref().filter(|_| config.method == crate::fusion::FusionMethod::Learned)
}

/// The columns of one chunk.
fn chunk_columns(
    engine: &Engine,
    request: &BatchRequest,
    ids: &[String],
    lists: &[ShopperList],
    signals: &[SignalId],
    learned: bool,
) -> Vec<OutColumn> {
    let cat = engine.catalogue();
    let rows: usize = lists.iter().map(|l| l.entries.len()).sum();
    let mut user = Vec::with_capacity(rows);
    let mut position = Vec::with_capacity(rows);
    let mut item = Vec::with_capacity(rows);
    let mut score = Vec::with_capacity(rows);
    let mut per_signal: Vec<Vec<f32>> = vec![Vec::with_capacity(rows); signals.len()];
    let mut rules = Vec::with_capacity(rows);
    let mut features: Vec<Vec<f32>> = vec![Vec::with_capacity(rows); if learned { LEARNED_COLUMNS.len() } else { 0 }];
    for (id, list) in ids.iter().zip(lists) {
        let shown = match &request.pseudonym_salt {
            Some(salt) => super::privacy::pseudonym(id, salt),
            None => id.clone(),
        };
        for (p, (i, s, terms, delta, extra)) in list.entries.iter().enumerate() {
            user.push(shown.clone());
            position.push(p as i64 + 1);
            item.push(cat.ids.name(*i).to_owned());
            score.push(*s);
            for (column, v) in per_signal.iter_mut().zip(terms) {
                column.push(*v);
            }
            rules.push(*delta);
            for (k, column) in features.iter_mut().enumerate() {
                column.push(extra.get(k).copied().unwrap_or(0.0));
            }
        }
    }
    let mut columns = vec![
        OutColumn::Text("user_id", user),
        OutColumn::Int("rank", position),
        OutColumn::Text("item_id", item),
        OutColumn::Float32("score".to_owned(), score),
    ];
    if request.contributions {
        for (s, values) in signals.iter().zip(per_signal) {
            columns.push(OutColumn::Float32(format!("contribution_{}", s.id()), values));
        }
        for (name, values) in LEARNED_COLUMNS.iter().zip(features) {
            columns.push(OutColumn::Float32(format!("contribution_{name}"), values));
        }
        columns.push(OutColumn::Float32("contribution_rules".to_owned(), rules));
    }
    columns
}

/// Writes the top `request.top` of every requested shopper to `out` (atomically), with
/// progress per shopper; a cancel stops at the next chunk and leaves nothing behind.
pub fn write_recommendations(
    engine: &Engine,
    config: &FusionConfig,
    rules: &[Rule],
    request: &BatchRequest,
    out: &Path,
    progress: &Progress,
) -> Result<BatchSummary, BatchError> {
    let users = &engine.dataset.behaviour.users;
    let all: Vec<String>;
    let ids: &[String] = match &request.shoppers {
        Some(list) => list,
        None => {
            all = users.names().to_vec();
            &all
        }
    };
    let signals = if request.contributions { contribution_signals(engine, config) } else { Vec::new() };
    let learned = request.contributions && learned_ranker(engine, config).is_some();
    let mut writer = ParquetTableWriter::create_atomic(out)?;
    if config.candidate_source.uses_index(engine.catalogue().len()) {
        progress.start_stage("building candidate indexes", 1);
        engine.build_indexes(config);
        progress.advance(1);
    }
    progress.start_stage("recommending for every shopper", ids.len() as u64);
    let (mut rows, mut short_lists) = (0usize, 0usize);
    let mut names = Vec::new();
    // An empty chunk still writes the schema, so a file with no shopper is a valid table.
    let chunks: Vec<&[String]> = if ids.is_empty() { vec![&[]] } else { ids.chunks(CHUNK_SHOPPERS).collect() };
    for chunk in chunks {
        progress.check()?;
        let lists: Vec<ShopperList> = chunk
            .par_chunks(SCORE_BLOCK)
            .flat_map_iter(|block| {
                let states = engine.prepare_shoppers(block, config, rules);
                states.into_iter().map(|state| shopper_list(engine, config, rules, state, request.top, &signals))
            })
            .collect();
        short_lists += lists.iter().filter(|l| l.entries.len() < request.top).count();
        let columns = chunk_columns(engine, request, chunk, &lists, &signals, learned);
        if names.is_empty() {
            names = column_names(&columns);
        }
        rows += lists.iter().map(|l| l.entries.len()).sum::<usize>();
        writer.write(columns)?;
        progress.advance(chunk.len() as u64);
    }
    progress.check()?;
    writer.finish()?;
    Ok(BatchSummary { path: out.to_path_buf(), shoppers: ids.len(), rows, columns: names, short_lists })
}

fn column_names(columns: &[OutColumn]) -> Vec<String> {
    columns
        .iter()
        .map(|c| match c {
            OutColumn::Text(n, _) | OutColumn::Int(n, _) | OutColumn::Float(n, _) => (*n).to_owned(),
            OutColumn::Float32(n, _) => n.clone(),
        })
        .collect()
}
