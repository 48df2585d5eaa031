//! Item vectors: the L2-normalised sentence embeddings of the catalogue, one row per item.

/// L2-normalised item vectors, row-major, plus which items had text to embed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemVectors {
    /// Vector length.
    pub dim: usize,
    /// `n_items × dim` values.
    pub data: Vec<f32>,
    /// Whether item `i` had text (items without text score 0).
    pub has_text: Vec<bool>,
}

impl ItemVectors {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.has_text.len()
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.has_text.is_empty()
    }

    /// The vector of item `i` (None when out of range or without text).
    pub fn row(&self, i: u32) -> Option<&[f32]> {
        if !self.has_text.get(i as usize).copied().unwrap_or(false) {
            return None;
        }
        let start = i as usize * self.dim;
        self.data.get(start..start + self.dim)
    }

    /// Cosine similarity of two items (vectors are normalised, so the dot product).
    pub fn cosine(&self, a: u32, b: u32) -> Option<f32> {
        Some(dot(self.row(a)?, self.row(b)?))
    }
}

/// Dot product (over the shorter length).
///
/// Sixteen independent partial sums let the compiler keep several SIMD registers busy;
/// a plain `sum()` is one sequential chain of additions that cannot be vectorised
/// (floating-point addition is not associative), which made ALS and every
/// user × item scoring loop several times slower.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.zip(cb) {
        for ((s, &xv), &yv) in acc.iter_mut().zip(x).zip(y) {
            *s += xv * yv;
        }
    }
    let mut half = [0.0f32; LANES / 2];
    for (k, h) in half.iter_mut().enumerate() {
        *h = acc.get(k).copied().unwrap_or(0.0) + acc.get(k + LANES / 2).copied().unwrap_or(0.0);
    }
    half.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod dot_tests {
    use super::dot;

    #[test]
    fn dot_matches_the_naive_sum() {
        for n in [0usize, 1, 7, 16, 17, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - naive).abs() < 1e-4, "n = {n}");
        }
        // Unequal lengths: the shorter one decides, as with `zip`.
        let a = vec![1.0f32; 20];
        let b: Vec<f32> = (0..36).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &b), (0..20).sum::<i32>() as f32);
        assert_eq!(dot(&b, &a), (0..20).sum::<i32>() as f32);
    }
}
