//! An inverted-file (IVF) index over item vectors for maximum-inner-product search: the
//! candidate generator of `als` and `semantic` on large catalogues
//! ([`crate::fusion::CandidateSource`]).
//!
//! Inner products are turned into cosines with the usual augmentation: each item vector
//! `y` becomes `[y / M, √(1 − |y|²/M²)]` (unit length, `M` the largest norm) and a query `x`
//! becomes `[x / |x|, 0]`, so the order of `xᵀy` is the order of the cosines. Spherical
//! k-means (Lloyd's iterations on a seeded sample, centroids renormalised) splits the
//! augmented vectors into `√n` lists. Each list keeps its radius `r` (the largest distance
//! of a member to the centroid `c`), so `x̂'·c + r` bounds `xᵀy/(|x|·M)` over the list
//! (Cauchy–Schwarz). A query scans lists in decreasing order of that bound, scoring each
//! item with the true inner product (the same [`dot`] the exhaustive path uses, so a
//! scanned item's score is exactly its exhaustive score), and stops after `probes` lists —
//! or earlier, once its `n`-th best score beats every unscanned list's bound, and then the
//! answer is exact. Asking for every list scans every item.
//!
//! Deterministic: the sample and the initial centroids come from a fixed seed, and the
//! parallel assignment writes each item's list independently of thread scheduling.
//!
//! Hand-written because the k-means crates did not fit: `kmeans` 2.0 needs a nightly
//! compiler (`portable_simd`), `clustering` 0.2 seeds from an unseeded global generator (a
//! different index every run) and `linfa-clustering` brings the ndarray/linfa stack.

use rayon::prelude::*;

use super::{IndexQuery, IndexTop};
use crate::embed::dot;

/// Lloyd iterations of the k-means.
pub const KMEANS_ITERATIONS: usize = 6;
/// Items the centroids are trained on (a seeded sample when there are more).
pub const KMEANS_SAMPLE: usize = 48 * 1024;
/// Seed of the sample and of the initial centroids.
pub const KMEANS_SEED: u64 = 0x1f5_2026;

/// The number of lists for `n` items: `√n`, at least 1, at most 4,096.
pub fn default_lists(n: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(1, 4096)
}

/// The lists a search scans at most by default: one in 24 (at least 8, at most all); see
/// the recall measured in BENCHMARKS.md ("Scale").
pub fn default_probes(lists: usize) -> usize {
    lists.div_ceil(24).max(8).min(lists)
}

/// The index: centroids and the items of each list.
#[derive(Debug, Clone)]
pub struct IvfIndex {
    dim: usize,
    /// `lists × (dim + 1)`, unit rows.
    centroids: Vec<f32>,
    /// Items of list `l`: `items[ptr[l]..ptr[l + 1]]`, ascending.
    ptr: Vec<usize>,
    items: Vec<u32>,
    /// Per list: the largest distance of a member's augmented vector to the centroid.
    radius: Vec<f32>,
    /// The largest item norm `M` of the augmentation.
    max_norm: f32,
}

/// The augmented unit vector of `y` (see the module notes); zero for a missing row.
fn augment(y: Option<&[f32]>, dim: usize, max_norm: f32) -> Vec<f32> {
    let mut out = vec![0.0f32; dim + 1];
    let Some(y) = y.filter(|y| y.len() == dim) else { return out };
    if max_norm <= 0.0 {
        return out;
    }
    let mut sq = 0.0f32;
    for (o, &v) in out.iter_mut().zip(y) {
        *o = v / max_norm;
        sq += *o * *o;
    }
    if let Some(last) = out.last_mut() {
        *last = (1.0 - sq).max(0.0).sqrt();
    }
    out
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// The centroid (row of `centroids`) with the largest cosine to `v`; ties → lower index.
fn nearest(centroids: &[f32], width: usize, v: &[f32]) -> usize {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (c, row) in centroids.chunks_exact(width).enumerate() {
        let s = dot(row, v);
        if s > best.1 {
            best = (c, s);
        }
    }
    best.0
}

impl IvfIndex {
    /// Builds the index over `n` items of dimension `dim`; `row(i)` is item `i`'s vector
    /// (`None` for an item without one: it is put in list 0 and scores 0 when scanned).
    pub fn build<'a>(n: usize, dim: usize, lists: usize, row: impl Fn(u32) -> Option<&'a [f32]> + Sync) -> Self {
        let width = dim + 1;
        let lists = lists.clamp(1, n.max(1));
        let max_norm = (0..n as u32)
            .into_par_iter()
            .map(|i| row(i).filter(|y| y.len() == dim).map_or(0.0, |y| dot(y, y).sqrt()))
            .reduce(|| 0.0f32, f32::max);
        let mut rng = fastrand::Rng::with_seed(KMEANS_SEED);
        let mut sample: Vec<u32> = (0..n as u32).collect();
        if n > KMEANS_SAMPLE {
            rng.shuffle(&mut sample);
            sample.truncate(KMEANS_SAMPLE);
            sample.sort_unstable();
        }
        let points: Vec<Vec<f32>> = sample.par_iter().map(|&i| augment(row(i), dim, max_norm)).collect();
        let mut order: Vec<usize> = (0..points.len()).collect();
        rng.shuffle(&mut order);
        let mut centroids: Vec<f32> = Vec::with_capacity(lists * width);
        for &p in order.iter().take(lists) {
            centroids.extend_from_slice(points.get(p).map_or(&[][..], Vec::as_slice));
        }
        centroids.resize(lists * width, 0.0);
        for _ in 0..KMEANS_ITERATIONS {
            let assign: Vec<usize> = points.par_iter().map(|p| nearest(&centroids, width, p)).collect();
            let mut sums = vec![0.0f32; lists * width];
            let mut counts = vec![0usize; lists];
            for (p, &c) in points.iter().zip(&assign) {
                if let Some(s) = sums.get_mut(c * width..(c + 1) * width) {
                    s.iter_mut().zip(p).for_each(|(a, b)| *a += b);
                }
                if let Some(k) = counts.get_mut(c) {
                    *k += 1;
                }
            }
            for (c, (sum, &count)) in sums.chunks_exact_mut(width).zip(&counts).enumerate() {
                if count == 0 {
                    // An empty list restarts at a random sample point.
                    let p = rng.usize(..points.len().max(1));
                    if let Some(src) = points.get(p) {
                        sum.copy_from_slice(src);
                    }
                }
                normalise(sum);
                if let Some(dst) = centroids.get_mut(c * width..(c + 1) * width) {
                    dst.copy_from_slice(sum);
                }
            }
        }
        let placed: Vec<(u32, f32)> = (0..n as u32)
            .into_par_iter()
            .map(|i| {
                let v = augment(row(i), dim, max_norm);
                let c = nearest(&centroids, width, &v);
                let centre = centroids.get(c * width..(c + 1) * width).unwrap_or(&[]);
                let d2: f32 = v.iter().zip(centre).map(|(a, b)| (a - b) * (a - b)).sum();
                (c as u32, d2.sqrt())
            })
            .collect();
        let mut radius = vec![0.0f32; lists];
        for &(c, d) in &placed {
            if let Some(r) = radius.get_mut(c as usize) {
                *r = r.max(d);
            }
        }
        let assign: Vec<u32> = placed.into_iter().map(|(c, _)| c).collect();
        let mut ptr = vec![0usize; lists + 1];
        for &c in &assign {
            if let Some(p) = ptr.get_mut(c as usize + 1) {
                *p += 1;
            }
        }
        for l in 0..lists {
            let before = ptr.get(l).copied().unwrap_or(0);
            if let Some(p) = ptr.get_mut(l + 1) {
                *p += before;
            }
        }
        let mut fill = ptr.clone();
        let mut items = vec![0u32; n];
        for (i, &c) in assign.iter().enumerate() {
            if let Some(f) = fill.get_mut(c as usize)
                && let Some(slot) = items.get_mut(*f)
            {
                *slot = i as u32;
                *f += 1;
            }
        }
        Self { dim, centroids, ptr, items, radius, max_norm }
    }

    /// Every list with an upper bound of `x·y` over its items (`|x|·M·(x̂'·c + r)`, from
    /// Cauchy–Schwarz in the augmented space), highest first; ties → lower list.
    fn bounded_lists(&self, query: &[f32]) -> Vec<(u32, f32)> {
        let mut q = query.get(..self.dim).unwrap_or(query).to_vec();
        let qn = q.iter().map(|x| x * x).sum::<f32>().sqrt();
        normalise(&mut q);
        q.push(0.0);
        let width = self.dim + 1;
        let scale = qn * self.max_norm;
        let ranked: Vec<(u32, f32)> = self
            .centroids
            .chunks_exact(width)
            .zip(&self.radius)
            .enumerate()
            .map(|(c, (row, r))| (c as u32, scale * (dot(row, &q) + r)))
            .collect();
        super::topk::top_k_pairs(ranked, usize::MAX)
    }

    /// The top of `query` scanning the lists in decreasing order of their bound: stops
    /// after `probes` lists, or earlier once the `n`-th best score found beats every
    /// unscanned list's bound (then the result is exact). `score` is the exhaustive formula.
    pub fn search(
        &self,
        vector: &[f32],
        probes: usize,
        score: impl Fn(u32) -> f32,
        query: &IndexQuery<'_>,
    ) -> IndexTop {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        let mut kept: Vec<(u32, f32)> = Vec::new();
        let mut scanned = 0usize;
        let lists = self.bounded_lists(vector);
        for (k, &(c, _)) in lists.iter().enumerate().take(probes.max(1)) {
            let (a, b) = (self.ptr.get(c as usize).copied().unwrap_or(0), self.ptr.get(c as usize + 1).copied());
            for &i in self.items.get(a..b.unwrap_or(a)).unwrap_or(&[]) {
                let v = score(i);
                let v = if v.is_finite() { v } else { 0.0 };
                scanned += 1;
                lo = lo.min(v);
                hi = hi.max(v);
                if v > 0.0 && !(query.skip)(i) {
                    kept.push((i, v));
                }
            }
            if kept.len() >= query.n {
                kept = super::topk::top_k_pairs(kept, query.n);
                let nth = kept.last().map_or(f32::NEG_INFINITY, |&(_, s)| s);
                let next = lists.get(k + 1).map_or(f32::NEG_INFINITY, |&(_, b)| b);
                // A margin for the rounding of the bound.
                if nth > next + 1e-4 * next.abs() + 1e-6 {
                    break;
                }
            }
        }
        if scanned == 0 {
            (lo, hi) = (0.0, 0.0);
        }
        let items = super::topk::top_k_pairs(kept, query.n).into_iter().map(|(i, _)| i).collect();
        IndexTop { items, range: (lo, hi), scanned, lookup: None }
    }

    /// Number of lists.
    pub fn lists(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }
}

/// An index built on first use and shared by the scorers made from the same item vectors
/// (a live fold-in keeps the item factors, so it keeps the index).
#[derive(Debug, Clone, Default)]
pub struct LazyIvf(std::sync::Arc<std::sync::OnceLock<IvfIndex>>);

impl LazyIvf {
    /// The index over `n` rows of `dim` values (built now if it is not yet).
    pub fn get<'a>(&self, n: usize, dim: usize, row: impl Fn(u32) -> Option<&'a [f32]> + Sync) -> &IvfIndex {
        self.0.get_or_init(|| IvfIndex::build(n, dim, default_lists(n), row))
    }
}

/// The top of `query` among the items an index scan returned: every scanned item scored
/// with `score` (the exhaustive formula), the range taken over them.
pub fn scan_top(scan: &[u32], score: impl Fn(u32) -> f32, query: &IndexQuery<'_>) -> IndexTop {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    let mut kept = Vec::new();
    for &i in scan {
        let v = score(i);
        let v = if v.is_finite() { v } else { 0.0 };
        lo = lo.min(v);
        hi = hi.max(v);
        if v > 0.0 && !(query.skip)(i) {
            kept.push((i, v));
        }
    }
    if scan.is_empty() {
        (lo, hi) = (0.0, 0.0);
    }
    let items = super::topk::top_k_pairs(kept, query.n).into_iter().map(|(i, _)| i).collect();
    IndexTop { items, range: (lo, hi), scanned: scan.len(), lookup: None }
}

/// The top of `query` for `vector`: every item scanned when `query.probes` is `usize::MAX`
/// (or at least the number of lists), else [`IvfIndex::search`] with `query.probes` lists
/// at most (0 = [`default_probes`]).
pub fn index_search(index: &IvfIndex, vector: &[f32], score: impl Fn(u32) -> f32, query: &IndexQuery<'_>) -> IndexTop {
    if query.probes == usize::MAX || query.probes >= index.lists() {
        let all: Vec<u32> = (0..query.n_items as u32).collect();
        return scan_top(&all, score, query);
    }
    let probes = if query.probes == 0 { default_probes(index.lists()) } else { query.probes };
    index.search(vector, probes, score, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n * dim).map(|_| rng.f32() - 0.3).collect()
    }

    fn exhaustive(data: &[f32], dim: usize, q: &[f32], n: usize) -> Vec<u32> {
        let scores: Vec<(u32, f32)> = data.chunks_exact(dim).enumerate().map(|(i, y)| (i as u32, dot(q, y))).collect();
        super::super::topk::top_k_pairs(scores.into_iter().filter(|p| p.1 > 0.0).collect(), n)
            .into_iter()
            .map(|p| p.0)
            .collect()
    }

    #[test]
    fn every_item_is_in_one_list_and_the_build_is_deterministic() {
        let (n, dim) = (500usize, 8usize);
        let d = data(n, dim, 3);
        let index = IvfIndex::build(n, dim, 20, |i| d.get(i as usize * dim..(i as usize + 1) * dim));
        assert_eq!(index.lists(), 20);
        let mut all = index.items.clone();
        all.sort_unstable();
        assert_eq!(all, (0..n as u32).collect::<Vec<_>>());
        let again = IvfIndex::build(n, dim, 20, |i| d.get(i as usize * dim..(i as usize + 1) * dim));
        assert_eq!(again.items, index.items);
    }

    #[test]
    fn searching_every_list_or_stopping_on_the_bound_is_exact() {
        let (n, dim) = (800usize, 6usize);
        let d = data(n, dim, 5);
        let index = IvfIndex::build(n, dim, 30, |i| d.get(i as usize * dim..(i as usize + 1) * dim));
        let mut rng = fastrand::Rng::with_seed(8);
        for _ in 0..20 {
            let q: Vec<f32> = (0..dim).map(|_| rng.f32() * 2.0 - 0.5).collect();
            let score = |i: u32| dot(&q, d.get(i as usize * dim..(i as usize + 1) * dim).unwrap_or(&[]));
            let query = IndexQuery { n: 10, skip: &|_| false, n_items: n, probes: usize::MAX };
            let all = index_search(&index, &q, score, &query);
            assert_eq!(all.items, exhaustive(&d, dim, &q, 10));
            assert_eq!(all.scanned, n);
            // Every list allowed, the bound stops the scan early and the answer is still exact.
            let bounded = index.search(&q, 30, score, &query);
            assert_eq!(bounded.items, all.items);
        }
    }

    #[test]
    fn the_best_inner_product_is_in_the_first_lists_scanned() {
        // Item 7 is the query direction scaled up: the largest inner product by far.
        let (n, dim) = (400usize, 4usize);
        let mut d = data(n, dim, 9);
        let q = [1.0f32, 0.5, -0.25, 0.0];
        for (k, v) in q.iter().enumerate() {
            d[7 * dim + k] = 3.0 * v;
        }
        let index = IvfIndex::build(n, dim, 16, |i| d.get(i as usize * dim..(i as usize + 1) * dim));
        let score = |i: u32| dot(&q, d.get(i as usize * dim..(i as usize + 1) * dim).unwrap_or(&[]));
        let query = IndexQuery { n: 1, skip: &|_| false, n_items: n, probes: 2 };
        let found = index.search(&q, 2, score, &query);
        assert_eq!(found.items, vec![7]);
        assert!(found.scanned < n);
    }
}
