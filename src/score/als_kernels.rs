//! The numeric kernels of the ALS fit: the Gram matrix `YᵀY + λI` and one sweep of
//! conjugate-gradient row updates.
//!
//! Every kernel is written once, generic over `FMA`, and compiled twice: a portable build
//! (separate multiply and add, whatever the target's baseline SIMD gives) and one with AVX2 and
//! FMA enabled, chosen at run time when the CPU has them. Rust never fuses `a * b + c` by
//! itself, so the fused build spells the fused multiply-add out (`f32::mul_add`), which only
//! becomes one instruction where the `fma` feature is enabled — hence the two builds.
//!
//! Loops run over chunks of [`W`] lanes held in fixed-size arrays, so the compiler keeps the
//! accumulators in vector registers and needs no bounds checks inside them; the matrix–vector
//! product accumulates 16 outputs at a time over the columns of the (symmetric) Gram matrix
//! instead of one horizontal reduction per output.

use rayon::prelude::*;

use super::interactions::SparseRows;

/// Lanes per chunk (two AVX2 registers, one AVX-512 register).
const W: usize = 16;

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

#[inline(always)]
fn reduce(acc: [f32; W]) -> f32 {
    let mut half = [0.0f32; W / 2];
    for ((h, &lo), &hi) in half.iter_mut().zip(&acc).zip(acc.iter().skip(W / 2)) {
        *h = lo + hi;
    }
    let mut quarter = [0.0f32; W / 4];
    for ((q, &lo), &hi) in quarter.iter_mut().zip(&half).zip(half.iter().skip(W / 4)) {
        *q = lo + hi;
    }
    quarter.iter().sum()
}

/// `a · b` over the shorter length.
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: `FMA = true` is only instantiated inside the `*_fma` functions, which are
        // compiled with AVX2 + FMA and only called after `has_fma` detected both.
        return unsafe { dot_avx2(a, b) };
    }
    let n = a.len().min(b.len());
    let (ca, ta) = a.get(..n).unwrap_or(&[]).as_chunks::<W>();
    let (cb, tb) = b.get(..n).unwrap_or(&[]).as_chunks::<W>();
    let mut acc = [0.0f32; W];
    for (x, y) in ca.iter().zip(cb) {
        for ((s, &xv), &yv) in acc.iter_mut().zip(x).zip(y) {
            *s = madd::<FMA>(xv, yv, *s);
        }
    }
    let mut tail = 0.0f32;
    for (&xv, &yv) in ta.iter().zip(tb) {
        tail = madd::<FMA>(xv, yv, tail);
    }
    reduce(acc) + tail
}

/// [`dot`] with AVX2 + FMA intrinsics: two 8-lane accumulators and one horizontal sum (the
/// compiler's own vectorisation of the portable loop split the 16 lanes into scalar pieces).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps, _mm256_add_ps, _mm256_castps256_ps128,
        _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps,
    };
    let n = a.len().min(b.len());
    let (ca, ta) = a.get(..n).unwrap_or(&[]).as_chunks::<W>();
    let (cb, tb) = b.get(..n).unwrap_or(&[]).as_chunks::<W>();
    let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for (x, y) in ca.iter().zip(cb) {
        let (x_lo, x_hi) = x.split_at(W / 2);
        let (y_lo, y_hi) = y.split_at(W / 2);
        // SAFETY: each half is 8 contiguous, initialised f32s; `loadu` has no alignment needs.
        unsafe {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x_lo.as_ptr()), _mm256_loadu_ps(y_lo.as_ptr()), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x_hi.as_ptr()), _mm256_loadu_ps(y_hi.as_ptr()), s1);
        }
    }
    let s = _mm256_add_ps(s0, s1);
    let q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
    let q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    let q = _mm_add_ss(q, _mm_shuffle_ps::<0x55>(q, q));
    let mut total = _mm_cvtss_f32(q);
    for (&xv, &yv) in ta.iter().zip(tb) {
        total = xv.mul_add(yv, total);
    }
    total
}

/// `y += alpha · x`.
#[inline(always)]
fn axpy<const FMA: bool>(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv = madd::<FMA>(alpha, xv, *yv);
    }
}

/// `out = G·x` for a symmetric `f × f` matrix `G` (row-major): output chunk by output chunk,
/// summing `x_j · G[j, chunk]` over the rows `j` (equal to `G[chunk, j]` by symmetry).
#[inline(always)]
fn sym_mat_vec<const FMA: bool>(g: &[f32], x: &[f32], out: &mut [f32]) {
    let f = x.len();
    let (chunks, tail) = out.as_chunks_mut::<W>();
    for (c, oc) in chunks.iter_mut().enumerate() {
        let mut acc = [0.0f32; W];
        for (row, &xj) in g.chunks_exact(f).zip(x) {
            let Some(gc) = row.get(c * W..).and_then(|s| s.first_chunk::<W>()) else { continue };
            for (s, &gv) in acc.iter_mut().zip(gc) {
                *s = madd::<FMA>(xj, gv, *s);
            }
        }
        *oc = acc;
    }
    let done = f - tail.len();
    for (o, row) in tail.iter_mut().zip(g.chunks_exact(f).skip(done)) {
        *o = dot::<FMA>(row, x);
    }
}

/// Scratch vectors of one worker's conjugate-gradient updates (allocated once per worker).
struct CgScratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl CgScratch {
    fn new(f: usize) -> Self {
        Self { r: vec![0.0; f], p: vec![0.0; f], ap: vec![0.0; f] }
    }
}

/// One row's least-squares update with `steps` conjugate-gradient iterations, starting from
/// `x`: solves `(G + Σ (c_i − 1) y_i y_iᵀ) x = Σ c_i y_i` (Takács et al. 2011; the update of
/// `implicit`'s `least_squares_cg`).
#[inline(always)]
fn cg_update<const FMA: bool>(
    x: &mut [f32],
    gram: &[f32],
    other: &[f32],
    idx: &[u32],
    conf: &[f32],
    steps: usize,
    scratch: &mut CgScratch,
) {
    let f = x.len();
    let CgScratch { r, p, ap } = scratch;
    // r = b − A x
    sym_mat_vec::<FMA>(gram, x, r);
    r.iter_mut().for_each(|v| *v = -*v);
    for (&i, &c) in idx.iter().zip(conf) {
        let Some(y) = other.get(i as usize * f..(i as usize + 1) * f) else { continue };
        let coef = c - (c - 1.0) * dot::<FMA>(y, x);
        axpy::<FMA>(coef, y, r);
    }
    p.copy_from_slice(r);
    let mut rs_old = dot::<FMA>(r, r);
    if rs_old < 1e-20 {
        return;
    }
    for _ in 0..steps {
        sym_mat_vec::<FMA>(gram, p, ap);
        for (&i, &c) in idx.iter().zip(conf) {
            let Some(y) = other.get(i as usize * f..(i as usize + 1) * f) else { continue };
            axpy::<FMA>((c - 1.0) * dot::<FMA>(y, p), y, ap);
        }
        let denom = dot::<FMA>(p, ap);
        if denom.abs() < 1e-30 {
            break;
        }
        let alpha = rs_old / denom;
        axpy::<FMA>(alpha, p, x);
        axpy::<FMA>(-alpha, ap, r);
        let rs_new = dot::<FMA>(r, r);
        if rs_new < 1e-20 {
            break;
        }
        let beta = rs_new / rs_old;
        for (pv, &rv) in p.iter_mut().zip(r.iter()) {
            *pv = madd::<FMA>(beta, *pv, rv);
        }
        rs_old = rs_new;
    }
}

/// Adds `Σ rowᵀ row` over the rows of `block` to `g` (`f × f`).
#[inline(always)]
fn gram_block<const FMA: bool>(block: &[f32], f: usize, g: &mut [f32]) {
    for row in block.chunks_exact(f) {
        for (g_row, &ra) in g.chunks_exact_mut(f).zip(row) {
            if ra != 0.0 {
                axpy::<FMA>(ra, row, g_row);
            }
        }
    }
}

/// Adds `Σ (c−1) y yᵀ` to `a` (`f × f`) and `Σ c y` to `b` over the rows `y = other[i]` of
/// `idx` with confidences `c = conf` (the normal equations of one shopper in implicit ALS).
#[inline(always)]
fn confidence_system<const FMA: bool>(
    other: &[f32],
    f: usize,
    idx: &[u32],
    conf: &[f32],
    a: &mut [f32],
    b: &mut [f32],
) {
    for (&i, &c) in idx.iter().zip(conf) {
        let Some(y) = other.get(i as usize * f..(i as usize + 1) * f) else { continue };
        axpy::<FMA>(c, y, b);
        let w = c - 1.0;
        for (a_row, &yp) in a.chunks_exact_mut(f).zip(y) {
            let s = w * yp;
            if s != 0.0 {
                axpy::<FMA>(s, y, a_row);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn confidence_system_fma(other: &[f32], f: usize, idx: &[u32], conf: &[f32], a: &mut [f32], b: &mut [f32]) {
    confidence_system::<true>(other, f, idx, conf, a, b);
}

/// `gram + Σ (c−1) y yᵀ` and `Σ c y` over the rows `other[idx[k]]` with confidences
/// `conf[k]`: the system `A x = b` whose solution is one shopper's exact factors.
pub(crate) fn shopper_system(other: &[f32], gram: &[f32], f: usize, idx: &[u32], conf: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut a = gram.to_vec();
    let mut b = vec![0.0f32; f];
    if a.len() != f * f {
        return (a, b);
    }
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: `has_fma` detected the features the function is compiled for.
        unsafe { confidence_system_fma(other, f, idx, conf, &mut a, &mut b) };
        return (a, b);
    }
    confidence_system::<false>(other, f, idx, conf, &mut a, &mut b);
    (a, b)
}

/// Whether this CPU runs the AVX2 + FMA build.
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn cg_update_fma(
    x: &mut [f32],
    gram: &[f32],
    other: &[f32],
    idx: &[u32],
    conf: &[f32],
    steps: usize,
    scratch: &mut CgScratch,
) {
    cg_update::<true>(x, gram, other, idx, conf, steps, scratch);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gram_block_fma(block: &[f32], f: usize, g: &mut [f32]) {
    gram_block::<true>(block, f, g);
}

/// `AᵀA + λI` for a row-major `n × f` matrix. Blocks of 1,024 rows are summed in a fixed
/// order, so the result (and therefore the fitted factors) does not depend on thread
/// scheduling.
pub(crate) fn gram_matrix(m: &[f32], f: usize, lambda: f32) -> Vec<f32> {
    let fma = has_fma();
    let blocks: Vec<Vec<f32>> = m
        .par_chunks(f * 1024)
        .map(|block| {
            let mut g = vec![0.0f32; f * f];
            #[cfg(target_arch = "x86_64")]
            if fma {
                // SAFETY: `has_fma` detected the features the function is compiled for.
                unsafe { gram_block_fma(block, f, &mut g) };
                return g;
            }
            let _ = fma;
            gram_block::<false>(block, f, &mut g);
            g
        })
        .collect();
    let mut g = vec![0.0f32; f * f];
    for b in blocks {
        g.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    }
    for v in g.iter_mut().step_by(f + 1) {
        *v += lambda;
    }
    g
}

/// One row's update with the build `fma` chose: CG steps from `x`, or zero for a row
/// without interactions.
#[allow(clippy::too_many_arguments)]
fn update_row(
    fma: bool,
    x: &mut [f32],
    gram: &[f32],
    other: &[f32],
    idx: &[u32],
    conf: &[f32],
    steps: usize,
    scratch: &mut CgScratch,
) {
    if idx.is_empty() {
        x.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `has_fma` detected the features the function is compiled for.
        unsafe { cg_update_fma(x, gram, other, idx, conf, steps, scratch) };
        return;
    }
    let _ = fma;
    cg_update::<false>(x, gram, other, idx, conf, steps, scratch);
}

/// Updates every row of `target` (`rows.ptr.len() − 1` rows of `f` values) given the fixed
/// `other` factors: `steps` conjugate-gradient iterations per row, warm-started from the
/// row's current value; rows without interactions become zero.
pub(crate) fn sweep(
    target: &mut [f32],
    other: &[f32],
    rows: &SparseRows,
    confidence: &[f32],
    f: usize,
    lambda: f32,
    steps: usize,
) {
    let gram = gram_matrix(other, f, lambda);
    let fma = has_fma();
    target.par_chunks_mut(f).enumerate().for_each_init(
        || CgScratch::new(f),
        |scratch, (u, x)| {
            let (Some(&a), Some(&b)) = (rows.ptr.get(u), rows.ptr.get(u + 1)) else { return };
            let (Some(idx), Some(conf)) = (rows.idx.get(a..b), confidence.get(a..b)) else { return };
            update_row(fma, x, &gram, other, idx, conf, steps, scratch);
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shopper_system_matches_hand_computed_normal_equations() {
        // Rows y0 = [1, 2], y1 = [3, 0]; G = I; confidences 2 and 3:
        // A = I + (2−1)·y0 y0ᵀ + (3−1)·y1 y1ᵀ = [[1+1+18, 2], [2, 1+4]], b = 2·y0 + 3·y1 = [11, 4].
        let (a, b) = shopper_system(&[1.0, 2.0, 3.0, 0.0], &[1.0, 0.0, 0.0, 1.0], 2, &[0, 1], &[2.0, 3.0]);
        assert_eq!(a, vec![20.0, 2.0, 2.0, 5.0]);
        assert_eq!(b, vec![11.0, 4.0]);
    }

    fn naive_mat_vec(g: &[f32], x: &[f32]) -> Vec<f32> {
        g.chunks_exact(x.len()).map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum()).collect()
    }

    /// A symmetric `f × f` matrix with distinct entries.
    fn symmetric(f: usize) -> Vec<f32> {
        let mut g = vec![0.0f32; f * f];
        for i in 0..f {
            for j in 0..f {
                g[i * f + j] = ((i.min(j) * 7 + i.max(j) * 3) % 11) as f32 - 5.0;
            }
        }
        g
    }

    #[test]
    fn both_builds_agree_with_the_naive_products() {
        for f in [1, 5, 16, 21, 64] {
            let g = symmetric(f);
            let x: Vec<f32> = (0..f).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
            let want = naive_mat_vec(&g, &x);
            let mut out = vec![0.0; f];
            sym_mat_vec::<false>(&g, &x, &mut out);
            assert_eq!(out, want, "f = {f}");
            let d: f32 = x.iter().zip(&want).map(|(a, b)| a * b).sum();
            assert_eq!(dot::<false>(&x, &want), d, "f = {f}");
            if has_fma() {
                // Small integers and halves: every product and sum is exact, fused or not.
                // SAFETY: the features were detected.
                assert_eq!(unsafe { dot_avx2(&x, &want) }, d, "f = {f}");
                // SAFETY: the features were detected.
                let mut gf = vec![0.0; f * f];
                unsafe { gram_block_fma(&x, f, &mut gf) };
                let mut gp = vec![0.0; f * f];
                gram_block::<false>(&x, f, &mut gp);
                assert_eq!(gf, gp, "f = {f}");
            }
        }
    }

    #[test]
    fn gram_matrix_is_ata_plus_lambda() {
        // A = [[1, 2], [3, 4], [0, 1]]: AᵀA = [[10, 14], [14, 21]]; λ = 0.5 on the diagonal.
        let g = gram_matrix(&[1.0, 2.0, 3.0, 4.0, 0.0, 1.0], 2, 0.5);
        assert_eq!(g, vec![10.5, 14.0, 14.0, 21.5]);
    }

    #[test]
    fn enough_cg_steps_solve_the_row_system_exactly() {
        // Two items y0 = [1, 0], y1 = [1, 1]; one row observing both with c = [3, 2]; λ = 1.
        // A = YᵀY + λI + 2·y0y0ᵀ + 1·y1y1ᵀ = [[2,1],[1,1]] + I + [[2,0],[0,0]] + [[1,1],[1,1]]
        //   = [[6, 2], [2, 3]]; b = 3·y0 + 2·y1 = [5, 2]; x = A⁻¹b = [11/14, 1/7].
        let other = [1.0, 0.0, 1.0, 1.0];
        let rows = SparseRows { ptr: vec![0, 2], idx: vec![0, 1], val: vec![0.0, 0.0] };
        let mut target = vec![0.0f32; 2];
        sweep(&mut target, &other, &rows, &[3.0, 2.0], 2, 1.0, 2);
        assert!((target[0] - 11.0 / 14.0).abs() < 1e-5 && (target[1] - 1.0 / 7.0).abs() < 1e-5, "{target:?}");
    }
}
