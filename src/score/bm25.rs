//! `bm25`: Okapi BM25 relevance of item text to a search query.

use std::sync::Arc;

use super::registry::{Fitted, SignalSpec};
use std::collections::HashMap;

use super::params::Bm25Params;
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;

/// Lower-cased alphanumeric tokens of `text`.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(|t| t.to_lowercase()).collect()
}

/// An inverted index over item texts.
pub struct Bm25Scorer {
    postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<f32>,
    avg_len: f32,
    params: Bm25Params,
}

impl Bm25Scorer {
    /// Indexes one text per item (the same text that is embedded).
    pub fn fit(texts: &[String], params: &Bm25Params) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let tokens = tokenize(text);
            doc_len.push(tokens.len() as f32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for t in tokens {
                *tf.entry(t).or_insert(0) += 1;
            }
            for (t, c) in tf {
                postings.entry(t).or_default().push((i as u32, c));
            }
        }
        let avg_len = if doc_len.is_empty() { 0.0 } else { doc_len.iter().sum::<f32>() / doc_len.len() as f32 };
        Self { postings, doc_len, avg_len, params: params.clone() }
    }

    /// BM25 score of each query term for `item` (term, score), for evidence.
    pub fn term_scores(&self, query: &str, item: u32) -> Vec<(String, f32)> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for term in tokenize(query) {
            if !seen.insert(term.clone()) {
                continue;
            }
            let Some(list) = self.postings.get(&term) else { continue };
            if let Ok(p) = list.binary_search_by_key(&item, |&(i, _)| i)
                && let Some(&(_, tf)) = list.get(p)
            {
                out.push((term.clone(), self.term_score(list.len(), tf, item)));
            }
        }
        out
    }

    fn term_score(&self, df: usize, tf: u32, item: u32) -> f32 {
        let n = self.doc_len.len() as f32;
        let idf = ((n - df as f32 + 0.5) / (df as f32 + 0.5) + 1.0).ln();
        let len = self.doc_len.get(item as usize).copied().unwrap_or(0.0);
        let norm = if self.avg_len > 0.0 { len / self.avg_len } else { 0.0 };
        let tf = tf as f32;
        let k1 = self.params.k1;
        idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - self.params.b + self.params.b * norm))
    }
}

impl Scorer for Bm25Scorer {
    fn id(&self) -> SignalId {
        SignalId::BM25
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let Some(query) = ctx.query else { return };
        let mut seen = std::collections::HashSet::new();
        for term in tokenize(&query.text) {
            if !seen.insert(term.clone()) {
                continue;
            }
            let Some(list) = self.postings.get(&term) else { continue };
            for &(i, tf) in list {
                if let Some(o) = out.get_mut(i as usize) {
                    *o += self.term_score(list.len(), tf, i);
                }
            }
        }
    }

    /// Fitted on item text only: live events change nothing; new items are indexed by
    /// fitting again on every text.
    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        if !change.catalogue_grew() {
            return super::LiveUpdate::FromProfile;
        }
        let next = Self::fit(change.texts, &self.params);
        super::LiveUpdate::Updated(Arc::new(next), "new items' texts indexed".to_owned())
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, _catalogue: &Catalogue) -> Option<String> {
        let query = ctx.query?;
        let terms: Vec<String> =
            self.term_scores(&query.text, item).into_iter().map(|(t, _)| format!("“{t}”")).collect();
        (!terms.is_empty()).then(|| format!("text contains {}", terms.join(", ")))
    }
}

impl SignalId {
    /// The `bm25` signal.
    pub const BM25: SignalId = SignalId::new("bm25");
}

/// Registry entry of `bm25`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::BM25,
    label: "BM25",
    color: [0xba, 0xb0, 0xac],
    default_weight: 0.50,
    default_search_weight: 0.5,
    search_only: true,
    search_source: true,
    params_summary: |_| String::new(),
    needs_vectors: false,
    fit: |input, params, _| Ok(Fitted::Ready(Arc::new(Bm25Scorer::fit(input.texts, &params.bm25)))),
};
