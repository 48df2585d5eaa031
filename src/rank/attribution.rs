//! Exact Shapley attribution of a ranker's score: one player per signal feature, one for
//! the embedding features (V_i, V_u ⊙ V_i and the flag; V_u is the shopper's own) and one
//! for the cheap features. A player outside a coalition takes the baseline value: the
//! mean candidate of the shopper. Every coalition is enumerated and its exact model output
//! computed (the first layer's input is a sum of one term per player, so coalitions are
//! built incrementally instead of running a forward pass each), so the contributions plus
//! the baseline score add up to the candidate's score. The players' terms come from the
//! scorer's per-candidate partial sums ([`Partials`]): the embedding player's term of a
//! candidate is already there, and its baseline term is the mean of them (the term is
//! linear in V_i and the flag for a fixed V_u).

use super::RankerError;
use super::features::ShopperRows;
use super::model::Ranker;
use super::scorer::{Partials, Scorer};
use crate::embed::ItemVectors;
use crate::fusion::shapley_of_values;
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

/// Every row's score, and the attribution of the best-scored rows `(row, attribution)`.
pub type Explained = (Vec<f32>, Vec<(usize, Attribution)>);

/// The mean dense row over the shopper's candidates.
fn mean_dense(rows: &ShopperRows, width: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; width];
    let n = rows.n.max(1) as f32;
    for row in rows.dense.chunks_exact(width.max(1)).take(rows.n) {
        for (a, v) in m.iter_mut().zip(row) {
            *a += v / n;
        }
    }
    m
}

/// What one player adds to the hidden layer's input and to the wide part, when it takes
/// the candidate's value and when it takes the baseline's.
struct Player {
    hidden: [Vec<f32>; 2],
    wide: [f32; 2],
}

/// Scratch buffers for enumerating coalitions: the hidden input and wide term of every
/// coalition of the low players and of the high players, and every coalition's value.
#[derive(Default)]
struct Coalitions {
    low: Half,
    high: Half,
    values: Vec<f64>,
}

/// One half of the players' coalitions: `z[m]` (`hidden` wide) and `wide[m]` for every
/// mask `m` of the half's players.
#[derive(Default)]
struct Half {
    z: Vec<f32>,
    wide: Vec<f32>,
}

impl Half {
    /// Fills the half for `players`, starting from `start` (every player at its baseline
    /// value is added to it): each mask is the mask without its lowest player plus that
    /// player's change.
    fn fill(&mut self, players: &[Player], start: &[f32]) {
        let h = start.len();
        let masks = 1usize << players.len();
        self.z.clear();
        self.z.resize(masks * h, 0.0);
        self.wide.clear();
        self.wide.resize(masks, 0.0);
        let (first, _) = self.z.split_at_mut(h);
        first.copy_from_slice(start);
        let mut wide0 = 0.0;
        for p in players {
            first.iter_mut().zip(&p.hidden[1]).for_each(|(a, v)| *a += v);
            wide0 += p.wide[1];
        }
        if let Some(slot) = self.wide.first_mut() {
            *slot = wide0;
        }
        for mask in 1..masks {
            let g = mask.trailing_zeros() as usize;
            let prev = mask & (mask - 1);
            let Some(p) = players.get(g) else { continue };
            let (before, after) = self.z.split_at_mut(mask * h);
            let (Some(src), Some(dst)) = (before.get(prev * h..(prev + 1) * h), after.get_mut(..h)) else {
                continue;
            };
            for (((d, s), new), old) in dst.iter_mut().zip(src).zip(&p.hidden[0]).zip(&p.hidden[1]) {
                *d = s + (new - old);
            }
            let previous = self.wide.get(prev).copied().unwrap_or(0.0);
            if let Some(slot) = self.wide.get_mut(mask) {
                *slot = previous + (p.wide[0] - p.wide[1]);
            }
        }
    }
}

impl Scorer<'_> {
    /// The players' terms for candidate `j` against the baseline, and the constant hidden
    /// input (bias, and V_u·W_user when the candidate has both vectors).
    fn players(&self, signals: usize, p: &Partials, dense: (&[f32], &[f32]), j: usize) -> (Vec<Player>, Vec<f32>) {
        let w = &self.plain;
        let h = self.hidden();
        let ok = p.ok.get(j).copied().unwrap_or(false);
        let mut constant = w.bias.clone();
        if ok {
            constant.iter_mut().zip(&p.user_term).for_each(|(c, u)| *c += u);
        }
        let mut out: Vec<Player> =
            (0..signals + 2).map(|_| Player { hidden: [vec![0.0; h], vec![0.0; h]], wide: [0.0; 2] }).collect();
        for c in 0..dense.0.len() {
            let player = if c < signals { c } else { signals + 1 };
            let row = w.dense.get(c * h..(c + 1) * h).unwrap_or(&[]);
            let wide = w.wide.get(c).copied().unwrap_or(0.0);
            let Some(pl) = out.get_mut(player) else { continue };
            for (side, v) in [dense.0.get(c), dense.1.get(c)].into_iter().enumerate() {
                let v = v.copied().unwrap_or(0.0);
                if let (Some(acc), Some(wd)) = (pl.hidden.get_mut(side), pl.wide.get_mut(side)) {
                    acc.iter_mut().zip(row).for_each(|(a, r)| *a += v * r);
                    *wd += v * wide;
                }
            }
        }
        if let Some(pl) = out.get_mut(signals) {
            pl.hidden[0].copy_from_slice(p.emb.get(j * h..(j + 1) * h).unwrap_or(&vec![0.0; h]));
            pl.hidden[1].copy_from_slice(&p.mean_item);
            if ok {
                pl.hidden[1].iter_mut().zip(&p.mean_both).for_each(|(a, b)| *a += b);
            }
        }
        (out, constant)
    }

    /// The model's output for every coalition (bit `p` set: player `p` takes the
    /// candidate's value). The players are split in two halves; a coalition's hidden input
    /// is the sum of its low half's and its high half's, each built incrementally, so the
    /// 2^players values cost one fused add-ReLU-dot product each over tables that fit in
    /// the cache.
    fn coalition_values(&self, ps: &[Player], constant: &[f32], s: &mut Coalitions) {
        let h = constant.len();
        let low_count = ps.len() / 2;
        let (low, high) = ps.split_at(low_count);
        s.low.fill(low, constant);
        s.high.fill(high, &vec![0.0; h]);
        let low_masks = 1usize << low_count;
        s.values.clear();
        for (zh, &wh) in s.high.z.chunks_exact(h.max(1)).zip(&s.high.wide) {
            for (zl, &wl) in s.low.z.chunks_exact(h.max(1)).zip(&s.low.wide).take(low_masks) {
                s.values.push(f64::from(self.output(zl, zh, wl + wh)));
            }
        }
    }

    /// Exact attribution of candidates `which` from the partial sums of `rows`.
    pub(crate) fn attribute_partials(
        &self,
        signal_ids: &[SignalId],
        rows: &ShopperRows,
        p: &Partials,
        which: &[usize],
    ) -> Result<Vec<Attribution>, RankerError> {
        let signals = signal_ids.len();
        let n_players = signals + 2;
        if n_players > MAX_PLAYERS {
            return Err(RankerError::Invalid(format!(
                "{signals} signals are too many for exact attribution (at most {})",
                MAX_PLAYERS - 2
            )));
        }
        let width = super::features::dense_width(signals);
        let base = mean_dense(rows, width);
        let mut scratch = Coalitions::default();
        let mut out = Vec::with_capacity(which.len());
        for &j in which {
            let Some(x) = rows.dense.get(j * width..(j + 1) * width).filter(|_| j < rows.n) else {
                return Err(RankerError::Invalid(format!("no candidate at position {j}")));
            };
            let (ps, constant) = self.players(signals, p, (x, &base), j);
            self.coalition_values(&ps, &constant, &mut scratch);
            let values = &scratch.values;
            let phi = shapley_of_values(values);
            let get = |p: usize| phi.get(p).copied().unwrap_or(0.0) as f32;
            out.push(Attribution {
                signals: signal_ids.iter().enumerate().map(|(p, &s)| (s, get(p))).collect(),
                embedding: get(signals),
                cheap: get(signals + 1),
                baseline: values.first().copied().unwrap_or(0.0) as f32,
                score: values.last().copied().unwrap_or(0.0) as f32,
            });
        }
        Ok(out)
    }

    /// Scores every row and attributes the `top` best-scored (ties: the earlier row),
    /// in rank order: `(scores, [(row, attribution)])`.
    pub fn score_and_attribute(
        &self,
        signal_ids: &[SignalId],
        rows: &ShopperRows,
        top: usize,
    ) -> Result<Explained, RankerError> {
        let p = self.partials(rows)?;
        let scores = self.scores_of(&p);
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (scores.get(a).copied().unwrap_or(0.0), scores.get(b).copied().unwrap_or(0.0));
            y.total_cmp(&x).then(a.cmp(&b))
        });
        order.truncate(top);
        let attributions = self.attribute_partials(signal_ids, rows, &p, &order)?;
        Ok((scores, order.into_iter().zip(attributions).collect()))
    }
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
        let scorer = self.scorer(vectors, false)?;
        let p = scorer.partials(rows)?;
        scorer.attribute_partials(self.signals(), rows, &p, which)
    }
}
