//! An inverted-file (IVF) index over item vectors for maximum-inner-product search: the
//! candidate generator of `als` and `semantic` on large catalogues
//! ([`crate::fusion::CandidateSource`]).
//!
//! Inner products are turned into cosines with the usual augmentation: each item vector
//! `y` becomes `[y / M, √(1 − |y|²/M²)]` (unit length, `M` the largest norm) and a query `x`
//! becomes `[x / |x|, 0]`, so the order of `xᵀy` is the order of the cosines. Spherical
//! k-means (Lloyd's iterations on a seeded sample, centroids renormalised) splits the
//! augmented vectors into `√n` lists; a query ranks the centroids by cosine and scans the
//! items of the best `probes` lists, scoring each with the true inner product (the same
//! [`dot`] the exhaustive path uses, so a scanned item's score is exactly its exhaustive
//! score). Probing every list scans every item: the search is then exhaustive.
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

/// The lists a search probes by default: one in 24 (at least 8, at most all). Chosen from
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
        let assign: Vec<u32> = (0..n as u32)
            .into_par_iter()
            .map(|i| nearest(&centroids, width, &augment(row(i), dim, max_norm)) as u32)
            .collect();
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
        Self { dim, centroids, ptr, items }
    }

    /// Number of lists.
    pub fn lists(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }

    /// The items of the `probes` lists whose centroids are nearest to `query` (all items
    /// when `probes` ≥ the number of lists), ascending item order within each list.
    pub fn probe(&self, query: &[f32], probes: usize) -> Vec<u32> {
        let lists = self.lists();
        if probes >= lists {
            let mut all = self.items.clone();
            all.sort_unstable();
            return all;
        }
        let mut q = query.get(..self.dim).unwrap_or(query).to_vec();
        normalise(&mut q);
        q.push(0.0);
        let width = self.dim + 1;
        let mut ranked: Vec<(u32, f32)> =
            self.centroids.chunks_exact(width).enumerate().map(|(c, row)| (c as u32, dot(row, &q))).collect();
        ranked = super::topk::top_k_pairs(ranked, probes);
        let mut out = Vec::new();
        for (c, _) in ranked {
            let (a, b) = (self.ptr.get(c as usize).copied().unwrap_or(0), self.ptr.get(c as usize + 1).copied());
            out.extend_from_slice(self.items.get(a..b.unwrap_or(a)).unwrap_or(&[]));
        }
        out
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

/// The items to scan for `query_vector`: every item when `probes` is `usize::MAX` (or at
/// least the number of lists), else the items of the `probes` nearest lists (0 = the
/// default, [`default_probes`]).
pub fn items_to_scan(index: &IvfIndex, n: usize, query_vector: &[f32], probes: usize) -> Vec<u32> {
    if probes == usize::MAX || probes >= index.lists() {
        return (0..n as u32).collect();
    }
    let probes = if probes == 0 { default_probes(index.lists()) } else { probes };
    index.probe(query_vector, probes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_in_one_list_and_all_probes_scan_everything() {
        let mut rng = fastrand::Rng::with_seed(3);
        let (n, dim) = (500usize, 8usize);
        let data: Vec<f32> = (0..n * dim).map(|_| rng.f32() - 0.3).collect();
        let index = IvfIndex::build(n, dim, 20, |i| data.get(i as usize * dim..(i as usize + 1) * dim));
        assert_eq!(index.lists(), 20);
        let mut all = index.items.clone();
        all.sort_unstable();
        assert_eq!(all, (0..n as u32).collect::<Vec<_>>());
        let q: Vec<f32> = (0..dim).map(|k| k as f32 - 3.0).collect();
        assert_eq!(index.probe(&q, 20), (0..n as u32).collect::<Vec<_>>());
        // A partial probe returns whole lists, no item twice.
        let some = index.probe(&q, 3);
        let mut dedup = some.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), some.len());
        assert!(!some.is_empty() && some.len() < n);
        // Deterministic.
        let again = IvfIndex::build(n, dim, 20, |i| data.get(i as usize * dim..(i as usize + 1) * dim));
        assert_eq!(again.items, index.items);
    }

    #[test]
    fn the_best_inner_product_is_found_in_the_nearest_lists() {
        // Item 7 is the query direction scaled up: the largest inner product by far.
        let (n, dim) = (400usize, 4usize);
        let mut rng = fastrand::Rng::with_seed(9);
        let mut data: Vec<f32> = (0..n * dim).map(|_| rng.f32() - 0.5).collect();
        let q = [1.0f32, 0.5, -0.25, 0.0];
        for (k, v) in q.iter().enumerate() {
            data[7 * dim + k] = 3.0 * v;
        }
        let index = IvfIndex::build(n, dim, 16, |i| data.get(i as usize * dim..(i as usize + 1) * dim));
        assert!(index.probe(&q, 2).contains(&7));
    }
}
