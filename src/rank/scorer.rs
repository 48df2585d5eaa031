//! Fast exact scoring: the same network as [`Ranker::forward`], computed without
//! repeating per candidate what is the same for a whole list or for every list.
//!
//! The hidden layer's input of a candidate is
//! `b + x·W_dense + [ok]·(V_u·W_user + V_i·W_item + (V_u ⊙ V_i)·W_both) + flag·W_flag`
//! (`ok`: both vectors exist with the model's length). `V_u·W_user` is computed once per
//! shopper; `V_i·W_item` once per item (for every item of the catalogue when a
//! [`Scorer`] serves many shoppers, else per candidate); the bilinear term is
//! `V_i·(diag(V_u)·W_both)`, one matrix product per shopper over all its candidates.
//! [`Partials`] keeps these per-candidate sums, so exact attribution reuses them instead of
//! recomputing the embedding terms per coalition or per candidate.

use candle_core::{Device, Tensor};

use super::RankerError;
use super::features::{ShopperRows, dense_width};
use super::model::Ranker;
use crate::embed::ItemVectors;

/// Rows per matrix product (bounds the temporary buffers).
const CHUNK: usize = 4_096;

/// The network's weights as plain row-major arrays.
pub(crate) struct Plain {
    pub(crate) dense: Vec<f32>,
    pub(crate) wide: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) out: Vec<f32>,
    pub(crate) out_bias: f32,
    pub(crate) user: Vec<f32>,
    pub(crate) item: Vec<f32>,
    pub(crate) both: Vec<f32>,
    pub(crate) flag: Vec<f32>,
}

impl Ranker {
    pub(crate) fn plain(&self) -> Result<Plain, RankerError> {
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

    /// A scorer for this model and these vectors. With `cache_items`, `V_i·W_item` is
    /// computed once for every item of `vectors` (worth it when scoring many shoppers).
    pub fn scorer<'a>(&self, vectors: Option<&'a ItemVectors>, cache_items: bool) -> Result<Scorer<'a>, RankerError> {
        let c = self.config();
        let plain = self.plain()?;
        let vectors = vectors.filter(|v| c.dim > 0 && v.dim == c.dim);
        let mut scorer =
            Scorer { plain, dim: c.dim, hidden: c.hidden, width: dense_width(c.signals), vectors, items: Vec::new() };
        if cache_items && let Some(v) = vectors {
            let n = v.len();
            let mut items = Vec::with_capacity(n * c.hidden);
            let mut start = 0;
            while start < n {
                let end = (start + CHUNK).min(n);
                let block = v.data.get(start * c.dim..end * c.dim).unwrap_or(&[]);
                items.extend(matmul(block.to_vec(), end - start, c.dim, &scorer.plain.item, c.hidden)?);
                start = end;
            }
            scorer.items = items;
        }
        Ok(scorer)
    }
}

/// `a · b` for row-major `a` (`rows × inner`) and `b` (`inner × cols`), by candle's
/// matrix product (vectorised and threaded on the CPU).
fn matmul(a: Vec<f32>, rows: usize, inner: usize, b: &[f32], cols: usize) -> Result<Vec<f32>, RankerError> {
    if rows == 0 || cols == 0 {
        return Ok(Vec::new());
    }
    let dev = Device::Cpu;
    let a = Tensor::from_vec(a, (rows, inner), &dev)?;
    let b = Tensor::from_slice(b, (inner, cols), &dev)?;
    Ok(a.matmul(&b)?.flatten_all()?.to_vec1()?)
}

/// A model's weights prepared for scoring many candidates.
pub struct Scorer<'a> {
    pub(crate) plain: Plain,
    dim: usize,
    hidden: usize,
    width: usize,
    vectors: Option<&'a ItemVectors>,
    /// `V_i·W_item` of every item (`items × hidden`), or empty.
    items: Vec<f32>,
}

/// One shopper's per-candidate partial sums of the hidden layer's input.
pub(crate) struct Partials {
    /// `b + x·W_dense + [ok]·V_u·W_user` per candidate (`n × hidden`).
    pub(crate) base: Vec<f32>,
    /// The embedding terms `[ok]·(V_i·W_item + (V_u ⊙ V_i)·W_both) + flag·W_flag` (`n × hidden`).
    pub(crate) emb: Vec<f32>,
    /// Whether candidate `j` has both vectors.
    pub(crate) ok: Vec<bool>,
    /// Mean over the candidates of `[ok]·V_i·W_item + flag·W_flag`.
    pub(crate) mean_item: Vec<f32>,
    /// Mean over the candidates of `[ok]·(V_u ⊙ V_i)·W_both`.
    pub(crate) mean_both: Vec<f32>,
    /// The wide part `x·w_wide` per candidate.
    pub(crate) wide: Vec<f32>,
    /// `V_u·W_user` (zeros without V_u).
    pub(crate) user_term: Vec<f32>,
}

/// `acc += x · m` for a scalar `x` and a row `m`.
fn axpy(acc: &mut [f32], x: f32, m: &[f32]) {
    if x != 0.0 {
        for (a, w) in acc.iter_mut().zip(m) {
            *a += x * w;
        }
    }
}

/// Lanes of [`relu_dot`]'s independent partial sums.
const LANES: usize = 8;

/// `Σₖ max(aₖ + bₖ, 0)·oₖ`, summed in [`LANES`] independent lanes (a single running sum
/// is a chain of dependent additions that the compiler may not reorder or vectorise).
pub(crate) fn relu_dot(a: &[f32], b: &[f32], o: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let (mut ac, mut bc, mut oc) = (a.chunks_exact(LANES), b.chunks_exact(LANES), o.chunks_exact(LANES));
    for ((x, y), w) in (&mut ac).zip(&mut bc).zip(&mut oc) {
        for (((l, x), y), w) in lanes.iter_mut().zip(x).zip(y).zip(w) {
            *l += (x + y).max(0.0) * w;
        }
    }
    let tail: f32 =
        ac.remainder().iter().zip(bc.remainder()).zip(oc.remainder()).map(|((x, y), w)| (x + y).max(0.0) * w).sum();
    lanes.iter().sum::<f32>() + tail
}

impl Scorer<'_> {
    /// Hidden width.
    pub(crate) fn hidden(&self) -> usize {
        self.hidden
    }

    /// The dense-feature part of every candidate: `b + x·W_dense` and `x·w_wide`.
    fn dense_part(&self, rows: &ShopperRows) -> (Vec<f32>, Vec<f32>) {
        let (h, w) = (self.hidden, self.width);
        let mut base = vec![0.0f32; rows.n * h];
        let mut wide = Vec::with_capacity(rows.n);
        for (j, acc) in base.chunks_exact_mut(h.max(1)).enumerate() {
            let x = rows.dense.get(j * w..(j + 1) * w).unwrap_or(&[]);
            acc.copy_from_slice(self.plain.bias.get(..h).unwrap_or(&[]));
            for (c, &v) in x.iter().enumerate() {
                axpy(acc, v, self.plain.dense.get(c * h..(c + 1) * h).unwrap_or(&[]));
            }
            wide.push(x.iter().zip(&self.plain.wide).map(|(a, b)| a * b).sum());
        }
        (base, wide)
    }

    /// The per-candidate partial sums of `rows`.
    pub(crate) fn partials(&self, rows: &ShopperRows) -> Result<Partials, RankerError> {
        let (h, d, n) = (self.hidden, self.dim, rows.n);
        let (mut base, wide) = self.dense_part(rows);
        let mut emb = vec![0.0f32; n * h];
        let (mut mean_item, mut mean_both) = (vec![0.0f32; h], vec![0.0f32; h]);
        let mut ok = vec![false; n];
        let mut user_term = vec![0.0f32; h];
        if d == 0 {
            return Ok(Partials { base, emb, ok, mean_item, mean_both, wide, user_term });
        }
        let flags: Vec<f32> = (0..n).map(|j| rows.flag.get(j).copied().unwrap_or(0.0)).collect();
        let nf = n.max(1) as f32;
        for (e, &f) in emb.chunks_exact_mut(h.max(1)).zip(&flags) {
            axpy(e, f, &self.plain.flag);
            axpy(&mut mean_item, f / nf, &self.plain.flag);
        }
        let user = rows.user.as_slice();
        let Some(vectors) = self.vectors else {
            return Ok(Partials { base, emb, ok, mean_item, mean_both, wide, user_term });
        };
        let user_ok = user.len() == d;
        if user_ok {
            user_term = matmul(user.to_vec(), 1, d, &self.plain.user, h)?;
        }
        // diag(V_u)·W_both, and W_item beside it when items are not cached.
        let cached = !self.items.is_empty();
        let cols = if cached { h } else { 2 * h };
        let mut right = vec![0.0f32; d * cols];
        for (k, row) in right.chunks_exact_mut(cols).enumerate() {
            let u = user.get(k).copied().unwrap_or(0.0);
            let both = self.plain.both.get(k * h..(k + 1) * h).unwrap_or(&[]);
            let (b, i) = row.split_at_mut(h);
            b.iter_mut().zip(both).for_each(|(r, w)| *r = u * w);
            if !cached {
                i.copy_from_slice(self.plain.item.get(k * h..(k + 1) * h).unwrap_or(&[]));
            }
        }
        let with: Vec<usize> = (0..n)
            .filter(|&j| {
                let has = flags.get(j).is_some_and(|&f| f > 0.0) && user_ok;
                has && rows.items.get(j).and_then(|&i| vectors.row(i)).is_some_and(|v| v.len() == d)
            })
            .collect();
        for chunk in with.chunks(CHUNK) {
            let mut gathered = Vec::with_capacity(chunk.len() * d);
            for &j in chunk {
                gathered.extend_from_slice(rows.items.get(j).and_then(|&i| vectors.row(i)).unwrap_or(&[]));
            }
            let product = matmul(gathered, chunk.len(), d, &right, cols)?;
            for (&j, p) in chunk.iter().zip(product.chunks_exact(cols)) {
                let (both, item) = p.split_at(h);
                let item = if cached {
                    let i = rows.items.get(j).copied().unwrap_or(0) as usize;
                    self.items.get(i * h..(i + 1) * h).unwrap_or(&[])
                } else {
                    item
                };
                if let (Some(e), Some(bs)) = (emb.get_mut(j * h..(j + 1) * h), base.get_mut(j * h..(j + 1) * h)) {
                    e.iter_mut().zip(both).zip(item).for_each(|((e, b), i)| *e += b + i);
                    bs.iter_mut().zip(&user_term).for_each(|(b, u)| *b += u);
                }
                axpy(&mut mean_both, 1.0 / nf, both);
                axpy(&mut mean_item, 1.0 / nf, item);
                if let Some(o) = ok.get_mut(j) {
                    *o = true;
                }
            }
        }
        Ok(Partials { base, emb, ok, mean_item, mean_both, wide, user_term })
    }

    /// The model's output from a hidden input given as two parts, `z = a + b`, and the
    /// wide term.
    pub(crate) fn output(&self, a: &[f32], b: &[f32], wide: f32) -> f32 {
        relu_dot(a, b, &self.plain.out) + self.plain.out_bias + wide
    }

    /// Scores from partial sums.
    pub(crate) fn scores_of(&self, p: &Partials) -> Vec<f32> {
        let h = self.hidden.max(1);
        p.base
            .chunks_exact(h)
            .zip(p.emb.chunks_exact(h))
            .zip(&p.wide)
            .map(|((b, e), &w)| self.output(b, e, w))
            .collect()
    }

    /// The model's score of every row.
    pub fn score(&self, rows: &ShopperRows) -> Result<Vec<f32>, RankerError> {
        Ok(self.scores_of(&self.partials(rows)?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::Inputs;
    use super::*;
    use crate::score::SignalId;

    /// The fast path equals candle's forward pass, with and without the item cache, with
    /// candidates lacking a vector, and for a shopper without one.
    #[test]
    fn fast_scores_equal_the_forward_pass() {
        let signals = [SignalId::ALS, SignalId::POPULARITY, SignalId::ITEM_CF];
        let model = Ranker::new(&signals, 5, 7, String::new(), 3).unwrap();
        let mut rng = fastrand::Rng::with_seed(5);
        let n_items = 9;
        let data: Vec<f32> = (0..n_items * 5).map(|_| rng.f32() - 0.5).collect();
        let has_text = (0..n_items).map(|i| i % 4 != 3).collect();
        let vectors = ItemVectors { dim: 5, data, has_text };
        let n = 12;
        let width = dense_width(signals.len());
        for user in [vec![0.3, -0.1, 0.5, 0.2, 0.7], Vec::new()] {
            let items: Vec<u32> = (0..n).map(|j| (j % n_items) as u32).collect();
            let flag = items.iter().map(|&i| f32::from(i % 4 != 3 && !user.is_empty())).collect();
            let dense = (0..n * width).map(|_| rng.f32()).collect();
            let rows = ShopperRows { n, dense, items, user: user.clone(), flag };
            let mut x = Inputs::default();
            x.push(&rows, 0..n, Some(&vectors), 5);
            let reference: Vec<f32> = model.forward(&x).unwrap().to_vec1().unwrap();
            for cache in [false, true] {
                let fast = model.scorer(Some(&vectors), cache).unwrap().score(&rows).unwrap();
                for (a, b) in fast.iter().zip(&reference) {
                    assert!((a - b).abs() < 1e-5, "cache {cache}: {a} vs forward {b}");
                }
            }
        }
    }
}
