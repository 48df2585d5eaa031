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

/// Targets per pass of [`dot_rows_block`]: four accumulators of [`dot`]'s 16 lanes keep
/// four independent chains of additions busy, where one `dot` is a single chain bound by
/// the adder's latency.
const DOT_GROUP: usize = 4;

/// `out[k·n + i] = dot(t_k, r_i)` for every target `t_k` that is `Some` and every row
/// `r_i = row(i)`, `i < n`, that is `Some` (other entries are left as they are).
///
/// Each pair is summed exactly as [`dot`] sums it — the same lanes in the same order, so
/// the values are bit-identical — but every row is read once for all the targets, which
/// a shopper-by-shopper loop over a large item matrix cannot do (it streams the whole
/// matrix once per shopper).
pub fn dot_rows_block<'r>(
    targets: &[Option<&[f32]>],
    n: usize,
    row: impl Fn(usize) -> Option<&'r [f32]>,
    out: &mut [f32],
) {
    let present: Vec<(usize, &[f32])> = targets.iter().enumerate().filter_map(|(k, t)| t.map(|t| (k, t))).collect();
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the function is compiled with AVX-512F, which was just detected.
        unsafe { dot_rows_avx512(&present, n, &row, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the function is compiled with AVX2, which was just detected.
        unsafe { dot_rows_avx2(&present, n, &row, out) };
        return;
    }
    dot_rows(&present, n, &row, out, dot_group);
}

/// [`dot_rows`] with [`dot_group_avx512`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn dot_rows_avx512<'r>(
    present: &[(usize, &[f32])],
    n: usize,
    row: &impl Fn(usize) -> Option<&'r [f32]>,
    out: &mut [f32],
) {
    dot_rows(present, n, row, out, |t, r| dot_group_avx512(t, r));
}

/// [`dot_rows`] with [`dot_group_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_rows_avx2<'r>(
    present: &[(usize, &[f32])],
    n: usize,
    row: &impl Fn(usize) -> Option<&'r [f32]>,
    out: &mut [f32],
) {
    dot_rows(present, n, row, out, |t, r| dot_group_avx2(t, r));
}

/// The body of [`dot_rows_block`]: row by row, the targets in groups of [`DOT_GROUP`]
/// (`group` computes one group), the rest one by one.
#[inline(always)]
fn dot_rows<'r>(
    present: &[(usize, &[f32])],
    n: usize,
    row: &impl Fn(usize) -> Option<&'r [f32]>,
    out: &mut [f32],
    group: impl Fn([&[f32]; DOT_GROUP], &[f32]) -> [f32; DOT_GROUP],
) {
    let (groups, rest) = present.as_chunks::<DOT_GROUP>();
    for i in 0..n {
        let Some(r) = row(i) else { continue };
        for g in groups {
            let targets = g.map(|(_, t)| t);
            let values =
                if targets.iter().all(|t| t.len() == r.len()) { group(targets, r) } else { targets.map(|t| dot(t, r)) };
            for (&(k, _), v) in g.iter().zip(values) {
                if let Some(o) = out.get_mut(k * n + i) {
                    *o = v;
                }
            }
        }
        for &(k, t) in rest {
            if let Some(o) = out.get_mut(k * n + i) {
                *o = dot(t, r);
            }
        }
    }
}

/// Lanes of [`dot`]'s accumulator.
const LANES: usize = 16;

/// [`dot`]'s last step for each target of a group: the accumulator's halves added, summed,
/// plus the tail (the products past the last whole chunk), in `dot`'s order.
#[inline(always)]
fn finish_group(acc: [[f32; LANES]; DOT_GROUP], tails: [&[f32]; DOT_GROUP], row_tail: &[f32]) -> [f32; DOT_GROUP] {
    let mut values = [0.0f32; DOT_GROUP];
    for ((v, a), t) in values.iter_mut().zip(&acc).zip(tails) {
        let tail: f32 = t.iter().zip(row_tail).map(|(x, y)| x * y).sum();
        let mut half = [0.0f32; LANES / 2];
        for (h, (lo, hi)) in half.iter_mut().zip(a.iter().zip(a.iter().skip(LANES / 2))) {
            *h = lo + hi;
        }
        *v = half.iter().sum::<f32>() + tail;
    }
    values
}

/// `[dot(t, row) for t in targets]` (equal lengths) with AVX-512F: one register per
/// target holds [`dot`]'s 16 lanes, multiplied and added separately as `dot` does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn dot_group_avx512(targets: [&[f32]; DOT_GROUP], row: &[f32]) -> [f32; DOT_GROUP] {
    use std::arch::x86_64::{
        __m512, _mm512_add_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_setzero_ps, _mm512_storeu_ps,
    };
    let (rc, rt) = row.as_chunks::<LANES>();
    let [(c0, t0), (c1, t1), (c2, t2), (c3, t3)] = targets.map(|t| t.as_chunks::<LANES>());
    let (mut s0, mut s1, mut s2, mut s3) =
        (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps());
    // SAFETY: every chunk is 16 contiguous, initialised f32s; `loadu` needs no alignment.
    let load = |c: &[f32; LANES]| unsafe { _mm512_loadu_ps(c.as_ptr()) };
    for ((((y, x0), x1), x2), x3) in rc.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
        let y = load(y);
        s0 = _mm512_add_ps(s0, _mm512_mul_ps(load(x0), y));
        s1 = _mm512_add_ps(s1, _mm512_mul_ps(load(x1), y));
        s2 = _mm512_add_ps(s2, _mm512_mul_ps(load(x2), y));
        s3 = _mm512_add_ps(s3, _mm512_mul_ps(load(x3), y));
    }
    let store = |v: __m512| {
        let mut a = [0.0f32; LANES];
        // SAFETY: `a` has room for the register's 16 f32s; `storeu` needs no alignment.
        unsafe { _mm512_storeu_ps(a.as_mut_ptr(), v) };
        a
    };
    finish_group([store(s0), store(s1), store(s2), store(s3)], [t0, t1, t2, t3], rt)
}

/// [`dot_group_avx512`] with AVX2: two registers per target (lanes 0–7 and 8–15).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_group_avx2(targets: [&[f32]; DOT_GROUP], row: &[f32]) -> [f32; DOT_GROUP] {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    const HALF: usize = LANES / 2;
    let (rc, rt) = row.as_chunks::<LANES>();
    let [(c0, t0), (c1, t1), (c2, t2), (c3, t3)] = targets.map(|t| t.as_chunks::<LANES>());
    let mut acc = [[_mm256_setzero_ps(); 2]; DOT_GROUP];
    // SAFETY: both halves of a chunk are 8 contiguous, initialised f32s; `loadu` needs no alignment.
    let load = |c: &[f32; LANES]| {
        let (lo, hi) = c.split_at(HALF);
        unsafe { [_mm256_loadu_ps(lo.as_ptr()), _mm256_loadu_ps(hi.as_ptr())] }
    };
    for ((((y, x0), x1), x2), x3) in rc.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
        let [y_lo, y_hi] = load(y);
        for (s, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            let [x_lo, x_hi] = load(x);
            let [s_lo, s_hi] = s;
            *s_lo = _mm256_add_ps(*s_lo, _mm256_mul_ps(x_lo, y_lo));
            *s_hi = _mm256_add_ps(*s_hi, _mm256_mul_ps(x_hi, y_hi));
        }
    }
    let store = |[lo, hi]: [__m256; 2]| {
        let mut a = [0.0f32; LANES];
        let (a_lo, a_hi) = a.split_at_mut(HALF);
        // SAFETY: each half has room for a register's 8 f32s; `storeu` needs no alignment.
        unsafe {
            _mm256_storeu_ps(a_lo.as_mut_ptr(), lo);
            _mm256_storeu_ps(a_hi.as_mut_ptr(), hi);
        }
        a
    };
    finish_group(acc.map(store), [t0, t1, t2, t3], rt)
}

/// `[dot(t, row) for t in targets]` (equal lengths) without intrinsics: [`dot`]'s loop
/// over four accumulators.
#[inline(always)]
fn dot_group(targets: [&[f32]; DOT_GROUP], row: &[f32]) -> [f32; DOT_GROUP] {
    let (rc, rt) = row.as_chunks::<LANES>();
    let [(c0, t0), (c1, t1), (c2, t2), (c3, t3)] = targets.map(|t| t.as_chunks::<LANES>());
    let mut acc = [[0.0f32; LANES]; DOT_GROUP];
    for ((((y, x0), x1), x2), x3) in rc.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
        for (s, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            for ((s, &xv), &yv) in s.iter_mut().zip(x).zip(y) {
                *s += xv * yv;
            }
        }
    }
    finish_group(acc, [t0, t1, t2, t3], rt)
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

    #[test]
    fn dot_rows_block_equals_dot_bit_for_bit() {
        use super::{dot_group, dot_rows, dot_rows_block};
        // 8 targets given (two groups of four… minus the missing one: a group and a rest of
        // three), 40-long vectors (two 16-lane chunks and a tail), 5 rows with one absent.
        let dim = 40;
        let vector = |seed: f32| (0..dim).map(|i| (i as f32 * seed).sin() * 0.3).collect::<Vec<f32>>();
        let targets: Vec<Vec<f32>> = (1..=7).map(|k| vector(0.1 * k as f32)).collect();
        let rows: Vec<Vec<f32>> = (1..=5).map(|k| vector(0.77 + 0.05 * k as f32)).collect();
        let mut given: Vec<Option<&[f32]>> = targets.iter().map(|t| Some(t.as_slice())).collect();
        given.insert(2, None);
        let n = rows.len();
        let row = |i: usize| if i == 3 { None } else { rows.get(i).map(Vec::as_slice) };
        let check = |out: &[f32], path: &str| {
            for (k, t) in given.iter().enumerate() {
                for (i, r) in rows.iter().enumerate() {
                    let expected = match t {
                        Some(t) if i != 3 => dot(t, r),
                        _ => -9.0,
                    };
                    assert_eq!(out[k * n + i].to_bits(), expected.to_bits(), "{path}: target {k}, row {i}");
                }
            }
        };
        let mut out = vec![-9.0f32; given.len() * n];
        dot_rows_block(&given, n, row, &mut out);
        check(&out, "dispatched");
        let present: Vec<(usize, &[f32])> = given.iter().enumerate().filter_map(|(k, t)| t.map(|t| (k, t))).collect();
        let mut out = vec![-9.0f32; given.len() * n];
        dot_rows(&present, n, &row, &mut out, dot_group);
        check(&out, "portable");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut out = vec![-9.0f32; given.len() * n];
            // SAFETY: AVX2 was just detected.
            unsafe { super::dot_rows_avx2(&present, n, &row, &mut out) };
            check(&out, "avx2");
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let mut out = vec![-9.0f32; given.len() * n];
            // SAFETY: AVX-512F was just detected.
            unsafe { super::dot_rows_avx512(&present, n, &row, &mut out) };
            check(&out, "avx512");
        }
    }
}
