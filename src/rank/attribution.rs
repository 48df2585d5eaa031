//! Exact Shapley attribution of a ranker's score: one player per signal feature, one for
//! the embedding features (V_i, V_u ⊙ V_i and the flag; V_u is the shopper's own) and one
//! for the cheap features. A player outside a coalition takes the baseline value: the
//! mean candidate of the shopper. Every coalition is enumerated and its exact model output
//! computed (the first layer's input is a sum of one term per player, so coalitions are
//! built incrementally instead of running a forward pass each), so the contributions plus
//! the baseline score add up to the candidate's score.

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

/// `acc += v · m` for a row vector `v` and a row-major `v.len() × h` matrix `m`.
fn add_product(acc: &mut [f32], v: &[f32], m: &[f32]) {
    let h = acc.len();
    for (k, &x) in v.iter().enumerate() {
        if x == 0.0 {
            continue;
        }
        if let Some(row) = m.get(k * h..(k + 1) * h) {
            for (a, w) in acc.iter_mut().zip(row) {
                *a += x * w;
            }
        }
    }
}

/// The network's weights as plain arrays, for enumerating coalitions.
struct Plain {
    dense: Vec<f32>,
    wide: Vec<f32>,
    bias: Vec<f32>,
    out: Vec<f32>,
    out_bias: f32,
    user: Vec<f32>,
    item: Vec<f32>,
    both: Vec<f32>,
    flag: Vec<f32>,
}

/// What one player adds to the hidden layer's input and to the wide part, when it takes
/// the candidate's value and when it takes the baseline's.
struct Player {
    hidden: [Vec<f32>; 2],
    wide: [f32; 2],
}

impl Ranker {
    fn plain(&self) -> Result<Plain, RankerError> {
        let get = |name: &str| -> Result<Vec<f32>, RankerError> {
            match self.weight(name) {
                Some(t) => Ok(t.flatten_all()?.to_vec1()?),
                None => Ok(Vec::new()),
            }
        };
        Ok(Plain {
            dense: get("deep.dense")?,
            wide: get("wide.w")?,
            bias: get("deep.b")?,
            out: get("out.w")?,
            out_bias: get("out.b")?.first().copied().unwrap_or(0.0),
            user: get("deep.user")?,
            item: get("deep.item")?,
            both: get("deep.both")?,
            flag: get("deep.flag")?,
        })
    }
}

/// The players' terms for one candidate (`x`: its dense row, V_u, V_i, flag) against the
/// baseline (`b`: mean dense row, mean V_i, mean flag), and the constant hidden input.
fn players(
    w: &Plain,
    signals: usize,
    x: (&[f32], &[f32], &[f32], f32),
    b: (&[f32], &[f32], f32),
) -> (Vec<Player>, Vec<f32>) {
    let h = w.bias.len();
    let (dense, user, item, flag) = x;
    let width = dense.len();
    let mut constant = w.bias.clone();
    add_product(&mut constant, user, &w.user);
    let mut out: Vec<Player> =
        (0..signals + 2).map(|_| Player { hidden: [vec![0.0; h], vec![0.0; h]], wide: [0.0; 2] }).collect();
    for c in 0..width {
        let player = if c < signals { c } else { signals + 1 };
        let row = w.dense.get(c * h..(c + 1) * h).unwrap_or(&[]);
        let wide = w.wide.get(c).copied().unwrap_or(0.0);
        let Some(p) = out.get_mut(player) else { continue };
        for (side, v) in [dense.get(c), b.0.get(c)].into_iter().enumerate() {
            let v = v.copied().unwrap_or(0.0);
            if let (Some(acc), Some(wd)) = (p.hidden.get_mut(side), p.wide.get_mut(side)) {
                for (a, r) in acc.iter_mut().zip(row) {
                    *a += v * r;
                }
                *wd += v * wide;
            }
        }
    }
    if !user.is_empty()
        && let Some(p) = out.get_mut(signals)
    {
        for (side, (it, f)) in [(item, flag), (b.1, b.2)].into_iter().enumerate() {
            let Some(acc) = p.hidden.get_mut(side) else { continue };
            add_product(acc, it, &w.item);
            let both: Vec<f32> = user.iter().zip(it).map(|(u, i)| u * i).collect();
            add_product(acc, &both, &w.both);
            add_product(acc, &[f], &w.flag);
        }
    }
    (out, constant)
}

impl Ranker {
    /// Exact Shapley attribution of the candidates at positions `which` of `rows`.
    ///
    /// The hidden layer's input is a sum of one term per player, so each coalition's is
    /// the previous coalition's plus one player's change: all 2^players values cost one
    /// vector addition each, not a forward pass.
    pub fn attribute(
        &self,
        rows: &ShopperRows,
        vectors: Option<&ItemVectors>,
        which: &[usize],
    ) -> Result<Vec<Attribution>, RankerError> {
        let signals = self.signals().len();
        let n_players = signals + 2;
        if n_players > MAX_PLAYERS {
            return Err(RankerError::Invalid(format!(
                "{signals} signals are too many for exact attribution (at most {})",
                MAX_PLAYERS - 2
            )));
        }
        let dim = self.config().dim;
        let w = self.plain()?;
        let h = w.bias.len();
        let (base_dense, base_item, base_flag) = baseline(rows, vectors, dim);
        let coalitions = 1usize << n_players;
        let mut out = Vec::with_capacity(which.len());
        let mut z = vec![0.0f32; coalitions * h];
        let mut wide = vec![0.0f32; coalitions];
        let mut values = vec![0.0f32; coalitions];
        for &j in which {
            let mut one = Inputs::default();
            one.push(rows, j..j + 1, vectors, dim);
            if one.rows != 1 {
                return Err(RankerError::Invalid(format!("no candidate at position {j}")));
            }
            let flag = one.flag.first().copied().unwrap_or(0.0);
            let x = (one.dense.as_slice(), one.user.as_slice(), one.item.as_slice(), flag);
            let (ps, constant) = players(&w, signals, x, (&base_dense, &base_item, base_flag));
            // The empty coalition: every player at the baseline.
            let (first, _) = z.split_at_mut(h);
            first.copy_from_slice(&constant);
            let mut wide0 = 0.0;
            for p in &ps {
                for (a, v) in first.iter_mut().zip(&p.hidden[1]) {
                    *a += v;
                }
                wide0 += p.wide[1];
            }
            if let Some(slot) = wide.first_mut() {
                *slot = wide0;
            }
            for mask in 1..coalitions {
                let g = mask.trailing_zeros() as usize;
                let prev = mask & (mask - 1);
                let Some(p) = ps.get(g) else { continue };
                let (before, after) = z.split_at_mut(mask * h);
                let (Some(src), Some(dst)) = (before.get(prev * h..(prev + 1) * h), after.get_mut(..h)) else {
                    continue;
                };
                for (((d, s), new), old) in dst.iter_mut().zip(src).zip(&p.hidden[0]).zip(&p.hidden[1]) {
                    *d = s + (new - old);
                }
                let previous = wide.get(prev).copied().unwrap_or(0.0);
                if let Some(slot) = wide.get_mut(mask) {
                    *slot = previous + (p.wide[0] - p.wide[1]);
                }
            }
            for (mask, v) in values.iter_mut().enumerate() {
                let zs = z.get(mask * h..(mask + 1) * h).unwrap_or(&[]);
                let deep: f32 = zs.iter().zip(&w.out).map(|(a, o)| a.max(0.0) * o).sum();
                *v = deep + w.out_bias + wide.get(mask).copied().unwrap_or(0.0);
            }
            let phi = shapley(n_players, |m| f64::from(values.get(m as usize).copied().unwrap_or(0.0)));
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
