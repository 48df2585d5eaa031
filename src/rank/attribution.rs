//! Exact Shapley attribution of a ranker's score: one player per signal feature, one for
//! the embedding features (V_i, V_u ⊙ V_i and the flag; V_u is the shopper's own) and one
//! for the cheap features. A player outside a coalition takes the baseline value: the
//! mean candidate of the shopper. Every coalition is enumerated and batched through the
//! model, so the contributions plus the baseline score add up to the candidate's score.

use super::RankerError;
use super::features::ShopperRows;
use super::model::{Inputs, Ranker};
use crate::embed::ItemVectors;
use crate::fusion::shapley;
use crate::score::SignalId;

/// The most players exact enumeration handles (2¹⁶ coalitions per item).
const MAX_PLAYERS: usize = 16;

/// One candidate's attribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Shapley value of each signal feature.
    pub signals: Vec<(SignalId, f32)>,
    /// Shapley value of the embedding features.
    pub embedding: f32,
    /// Shapley value of the cheap features.
    pub cheap: f32,
    /// The model's score of the shopper's mean candidate.
    pub baseline: f32,
    /// The model's score of this candidate (= baseline + every contribution).
    pub score: f32,
}

/// The mean of every feature over the shopper's candidates (dense row, V_i, flag).
fn baseline(rows: &ShopperRows, vectors: Option<&ItemVectors>, dim: usize) -> (Vec<f32>, Vec<f32>, f32) {
    let mut x = Inputs::default();
    x.push(rows, 0..rows.n, vectors, dim);
    let n = x.rows.max(1) as f32;
    let mean = |data: &[f32], width: usize| -> Vec<f32> {
        let mut m = vec![0.0f32; width];
        for row in data.chunks_exact(width.max(1)) {
            for (a, v) in m.iter_mut().zip(row) {
                *a += v / n;
            }
        }
        m
    };
    let width = rows.dense.len().checked_div(rows.n).unwrap_or(0);
    (mean(&x.dense, width), mean(&x.item, dim), x.flag.iter().sum::<f32>() / n)
}

impl Ranker {
    /// Exact Shapley attribution of the candidates at positions `which` of `rows`.
    pub fn attribute(
        &self,
        rows: &ShopperRows,
        vectors: Option<&ItemVectors>,
        which: &[usize],
    ) -> Result<Vec<Attribution>, RankerError> {
        let signals = self.signals().len();
        let players = signals + 2;
        if players > MAX_PLAYERS {
            return Err(RankerError::Invalid(format!(
                "{signals} signals are too many for exact attribution (at most {})",
                MAX_PLAYERS - 2
            )));
        }
        let dim = self.config().dim;
        let (base_dense, base_item, base_flag) = baseline(rows, vectors, dim);
        let width = base_dense.len();
        let coalitions = 1usize << players;
        let mut out = Vec::with_capacity(which.len());
        for &j in which {
            let mut one = Inputs::default();
            one.push(rows, j..j + 1, vectors, dim);
            if one.rows != 1 {
                return Err(RankerError::Invalid(format!("no candidate at position {j}")));
            }
            let mut x = Inputs::default();
            for mask in 0..coalitions {
                let has = |p: usize| mask & (1 << p) != 0;
                for c in 0..width {
                    let player = if c < signals { c } else { signals + 1 };
                    let v = if has(player) { one.dense.get(c) } else { base_dense.get(c) };
                    x.dense.push(v.copied().unwrap_or(0.0));
                }
                if dim > 0 {
                    x.user.extend_from_slice(&one.user);
                    let embedded = has(signals);
                    x.item.extend_from_slice(if embedded { &one.item } else { &base_item });
                    x.flag.push(if embedded { one.flag.first().copied().unwrap_or(0.0) } else { base_flag });
                }
                x.rows += 1;
            }
            let values: Vec<f32> = self.forward(&x)?.to_vec1()?;
            let phi = shapley(players, |m| f64::from(values.get(m as usize).copied().unwrap_or(0.0)));
            let get = |p: usize| phi.get(p).copied().unwrap_or(0.0) as f32;
            out.push(Attribution {
                signals: self.signals().iter().enumerate().map(|(p, &s)| (s, get(p))).collect(),
                embedding: get(signals),
                cheap: get(signals + 1),
                baseline: values.first().copied().unwrap_or(0.0),
                score: values.get(coalitions - 1).copied().unwrap_or(0.0),
            });
        }
        Ok(out)
    }
}
