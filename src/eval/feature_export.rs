//! `recfuse train --export-features DIR`: the feature tables the learned ranker trains, stops
//! and is measured on, for a reference learner on the same features
//! (`benches/reference/lightgbm_reference.py`). One Parquet file per part, one row per
//! (shopper, candidate): `shopper, item, label`, then the ranker's dense features — each
//! signal's min-max-normalised score (columns named by signal id) and the cheap features
//! ([`crate::rank::CHEAP_FEATURES`]) — then `embedding_cosine` (V_u · V_i, 0 without vectors)
//! and `embedding_flag` (1 where both vectors exist). The 3 × d embedding inputs
//! (V_u, V_i, V_u ⊙ V_i) are summarised by their cosine, not written.
//!
//! - `train.parquet`, `validation.parquet`, `compare.parquet`: the validation shoppers' training
//!   lists (signals fitted on train minus validation, each shopper's leading candidates, labels
//!   from the validation window), split as the ranker splits them — fitting, early stopping,
//!   and the comparison with the tuned fusion ([`super::learned`]).
//! - `test.parquet`: every candidate of every test shopper (signals fitted on all training
//!   events), labels from the test window: what the `learned` row of `eval` is measured on.

use std::path::Path;

use super::export::ExportError;
use super::learned::LearnedOutcome;
use super::runner::EvalContext;
use crate::data::Dataset;
use crate::data::write::{OutColumn, ParquetTableWriter};
use crate::embed::ItemVectors;
use crate::rank::{CHEAP_FEATURES, FeatureInput, Ranker, ShopperRows};
use crate::score::{Interactions, SignalId};

/// Shoppers written per row group.
const SHOPPERS_PER_BATCH: usize = 256;

/// Rows and shoppers of one written table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TableSummary {
    /// (shopper, candidate) rows.
    pub rows: usize,
    /// Shoppers.
    pub shoppers: usize,
    /// Rows with a positive label.
    pub positives: usize,
}

/// One shopper's list: who, the candidates' features, and each candidate's label.
struct List<'a> {
    shopper: u32,
    rows: &'a ShopperRows,
    labels: Vec<f64>,
}

/// Writes lists to `path`, batch by batch.
struct TableWriter<'a> {
    dataset: &'a Dataset,
    names: Vec<String>,
    vectors: Option<&'a ItemVectors>,
    writer: ParquetTableWriter,
    summary: TableSummary,
}

impl<'a> TableWriter<'a> {
    fn create(
        path: &Path,
        dataset: &'a Dataset,
        signals: &[SignalId],
        vectors: Option<&'a ItemVectors>,
    ) -> Result<Self, ExportError> {
        let mut names: Vec<String> = signals.iter().map(|s| s.id().to_owned()).collect();
        names.extend(CHEAP_FEATURES.iter().map(|s| (*s).to_owned()));
        let writer = ParquetTableWriter::create_atomic(path)?;
        Ok(Self { dataset, names, vectors, writer, summary: TableSummary { rows: 0, shoppers: 0, positives: 0 } })
    }

    fn write(&mut self, lists: &[List<'_>]) -> Result<(), ExportError> {
        let width = self.names.len();
        let (mut shoppers, mut items, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        let mut features: Vec<Vec<f32>> = vec![Vec::new(); width];
        let (mut cosine, mut flag) = (Vec::new(), Vec::new());
        for list in lists {
            let name = self.dataset.behaviour.users.name(list.shopper);
            for (r, &item) in list.rows.items.iter().enumerate() {
                shoppers.push(name.to_owned());
                items.push(self.dataset.catalogue.ids.name(item).to_owned());
                let label = list.labels.get(r).copied().unwrap_or(0.0);
                self.summary.positives += usize::from(label > 0.0);
                labels.push(label);
                let row = list.rows.dense.get(r * width..(r + 1) * width).unwrap_or(&[]);
                for (c, column) in features.iter_mut().enumerate() {
                    column.push(row.get(c).copied().unwrap_or(0.0));
                }
                let f = list.rows.flag.get(r).copied().unwrap_or(0.0);
                let v = self.vectors.and_then(|v| v.row(item));
                let dot = match v {
                    Some(v) if f > 0.0 => v.iter().zip(&list.rows.user).map(|(a, b)| a * b).sum(),
                    _ => 0.0,
                };
                cosine.push(dot);
                flag.push(f);
            }
            self.summary.shoppers += 1;
        }
        self.summary.rows += shoppers.len();
        let mut columns = vec![
            OutColumn::Text("shopper", shoppers),
            OutColumn::Text("item", items),
            OutColumn::Float("label", labels),
        ];
        columns.extend(self.names.iter().cloned().zip(features).map(|(n, v)| OutColumn::Float32(n, v)));
        columns.push(OutColumn::Float32("embedding_cosine".to_owned(), cosine));
        columns.push(OutColumn::Float32("embedding_flag".to_owned(), flag));
        self.writer.write(columns)?;
        Ok(())
    }

    fn finish(self) -> Result<TableSummary, ExportError> {
        self.writer.finish()?;
        Ok(self.summary)
    }
}

/// Writes `train.parquet`, `validation.parquet` and `compare.parquet` (the ranker's three
/// parts of the validation shoppers' lists) into `dir`.
pub fn write_validation_tables(
    dataset: &Dataset,
    outcome: &LearnedOutcome,
    vectors: Option<&ItemVectors>,
    dir: &Path,
) -> Result<Vec<(&'static str, TableSummary)>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io { path: dir.to_path_buf(), source })?;
    let signals = outcome.ranker.signals();
    let parts =
        [("train", &outcome.parts.fit), ("validation", &outcome.parts.holdout), ("compare", &outcome.parts.compare)];
    let mut out = Vec::new();
    for (name, indices) in parts {
        let mut w = TableWriter::create(&dir.join(format!("{name}.parquet")), dataset, signals, vectors)?;
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        for chunk in sorted.chunks(SHOPPERS_PER_BATCH) {
            let lists: Vec<List<'_>> = chunk
                .iter()
                .filter_map(|&i| {
                    let (list, &shopper) = (outcome.lists.get(i)?, outcome.parts.users.get(i)?);
                    Some(List { shopper, rows: &list.rows, labels: list.gains.iter().map(|&g| f64::from(g)).collect() })
                })
                .collect();
            w.write(&lists)?;
        }
        out.push((name, w.finish()?));
    }
    Ok(out)
}

/// Writes `test.parquet` into `dir`: every candidate of every shopper of the test context
/// (signals fitted on `train`, all training events), with the ranker's features.
pub fn write_test_table(
    dataset: &Dataset,
    context: &EvalContext,
    ranker: &Ranker,
    train: &Interactions,
    vectors: Option<&ItemVectors>,
    dir: &Path,
) -> Result<TableSummary, ExportError> {
    let input = FeatureInput { catalogue: &dataset.catalogue, interactions: train, vectors };
    let mut w = TableWriter::create(&dir.join("test.parquet"), dataset, ranker.signals(), vectors)?;
    let shoppers: Vec<usize> = (0..context.users.len()).collect();
    for chunk in shoppers.chunks(SHOPPERS_PER_BATCH) {
        let rows: Vec<(u32, ShopperRows, Vec<f64>)> = chunk
            .iter()
            .filter_map(|&p| {
                let (set, &u, rel) = (context.candidates.get(p)?, context.users.get(p)?, context.relevance.get(p)?);
                let rows = ranker.rows(set, &train.profile(u), &input);
                let labels = rows.items.iter().map(|&i| rel.gain(i).unwrap_or(0.0)).collect();
                Some((u, rows, labels))
            })
            .collect();
        let lists: Vec<List<'_>> =
            rows.iter().map(|(u, r, l)| List { shopper: *u, rows: r, labels: l.clone() }).collect();
        w.write(&lists)?;
    }
    w.finish()
}
