//! A 2-D map of item embeddings (principal components) and a k-means clustering, for
//! the Explore view.

use super::vectors::{ItemVectors, dot};

/// Item positions on the map and a cluster per item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `(x, y)` per item (items without text sit at the origin and are flagged).
    pub points: Vec<[f32; 2]>,
    /// Cluster index per item.
    pub clusters: Vec<u16>,
    /// Number of clusters.
    pub n_clusters: usize,
    /// Share of variance explained by the two components.
    pub explained: [f32; 2],
}

/// Projects items with text onto their first two principal components (power iteration
/// with deflation on the centred vectors) and clusters them with seeded k-means.
pub fn project(vectors: &ItemVectors, n_clusters: usize, seed: u64) -> Projection {
    let dim = vectors.dim;
    let rows: Vec<u32> = (0..vectors.len() as u32).filter(|&i| vectors.row(i).is_some()).collect();
    if rows.is_empty() || dim == 0 {
        return Projection {
            points: vec![[0.0; 2]; vectors.len()],
            clusters: vec![0; vectors.len()],
            n_clusters: 1,
            explained: [0.0; 2],
        };
    }
    let mut mean = vec![0.0f64; dim];
    for &i in &rows {
        for (m, v) in mean.iter_mut().zip(vectors.row(i).unwrap_or(&[])) {
            *m += f64::from(*v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows.len() as f64);
    let centred = |i: u32| -> Vec<f64> {
        vectors.row(i).unwrap_or(&[]).iter().zip(&mean).map(|(v, m)| f64::from(*v) - m).collect()
    };
    let total_var: f64 =
        rows.iter().map(|&i| centred(i).iter().map(|x| x * x).sum::<f64>()).sum::<f64>() / rows.len() as f64;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut components: Vec<Vec<f64>> = Vec::new();
    let mut explained = [0.0f32; 2];
    for c in 0..2 {
        let mut v: Vec<f64> = (0..dim).map(|_| rng.f64() - 0.5).collect();
        let mut eigen = 0.0;
        for _ in 0..60 {
            // w = Cᵀ C v / n, with earlier components projected out.
            let mut w = vec![0.0f64; dim];
            for &i in &rows {
                let x = centred(i);
                let s: f64 = x.iter().zip(&v).map(|(a, b)| a * b).sum();
                for (wk, xk) in w.iter_mut().zip(&x) {
                    *wk += s * xk;
                }
            }
            w.iter_mut().for_each(|x| *x /= rows.len() as f64);
            for prev in &components {
                let d: f64 = w.iter().zip(prev).map(|(a, b)| a * b).sum();
                for (wk, pk) in w.iter_mut().zip(prev) {
                    *wk -= d * pk;
                }
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm <= 0.0 {
                break;
            }
            eigen = norm;
            v = w.into_iter().map(|x| x / norm).collect();
        }
        if let Some(e) = explained.get_mut(c) {
            *e = if total_var > 0.0 { (eigen / total_var) as f32 } else { 0.0 };
        }
        components.push(v);
    }
    let mut points = vec![[0.0f32; 2]; vectors.len()];
    for &i in &rows {
        let x = centred(i);
        let p =
            [0, 1].map(|c| components.get(c).map_or(0.0, |v| x.iter().zip(v).map(|(a, b)| a * b).sum::<f64>() as f32));
        if let Some(slot) = points.get_mut(i as usize) {
            *slot = p;
        }
    }
    let k = n_clusters.clamp(1, rows.len());
    let clusters = kmeans(vectors, &rows, k, seed);
    Projection { points, clusters, n_clusters: k, explained }
}

/// Spherical k-means (cosine) over the rows with text; 15 iterations, seeded.
fn kmeans(vectors: &ItemVectors, rows: &[u32], k: usize, seed: u64) -> Vec<u16> {
    let dim = vectors.dim;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut centres: Vec<Vec<f32>> = (0..k)
        .map(|_| {
            let i = rows.get(rng.usize(..rows.len())).copied().unwrap_or(0);
            vectors.row(i).map(<[f32]>::to_vec).unwrap_or_else(|| vec![0.0; dim])
        })
        .collect();
    let mut assignment = vec![0u16; vectors.len()];
    for _ in 0..15 {
        for &i in rows {
            let Some(x) = vectors.row(i) else { continue };
            let best = centres
                .iter()
                .enumerate()
                .map(|(c, centre)| (c, dot(x, centre)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(c, _)| c);
            if let Some(a) = assignment.get_mut(i as usize) {
                *a = best as u16;
            }
        }
        let mut sums = vec![vec![0.0f32; dim]; k];
        for &i in rows {
            let (Some(x), Some(&a)) = (vectors.row(i), assignment.get(i as usize)) else { continue };
            if let Some(s) = sums.get_mut(a as usize) {
                for (sv, xv) in s.iter_mut().zip(x) {
                    *sv += xv;
                }
            }
        }
        for (centre, s) in centres.iter_mut().zip(sums) {
            let norm = s.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                *centre = s.into_iter().map(|v| v / norm).collect();
            }
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_component_follows_the_spread() {
        // Points spread along the first axis: PC1 must order them by that coordinate.
        let data = vec![1.0, 0.1, -1.0, 0.0, 0.5, -0.1, -0.5, 0.05];
        let v = ItemVectors { dim: 2, data, has_text: vec![true; 4] };
        let p = project(&v, 2, 1);
        let xs: Vec<f32> = p.points.iter().map(|q| q[0]).collect();
        let sign = if xs[0] > 0.0 { 1.0 } else { -1.0 };
        assert!(sign * xs[0] > sign * xs[2] && sign * xs[2] > sign * xs[3] && sign * xs[3] > sign * xs[1], "{xs:?}");
        assert!(p.explained[0] > 0.9);
    }
}
