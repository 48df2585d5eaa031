//! Paired comparison of two configurations evaluated on the same users.
//!
//! Inputs are per-user metric values aligned by user: `a[i]` and `b[i]` belong to the same
//! user. The delta is B − A. Two p-values are reported:
//! - a seeded **sign-flip permutation test** (the primary one): under the null hypothesis
//!   that A and B are exchangeable for every user, each per-user difference is equally
//!   likely to have either sign. The statistic is |Σ dᵢ|; the p-value is the share of sign
//!   assignments whose |Σ sᵢdᵢ| is at least the observed one. With 2ⁿ ≤ `permutations` all
//!   assignments are enumerated (exact p); otherwise `permutations` random assignments are
//!   drawn and p = (1 + #{≥ observed}) / (1 + permutations), which is never 0;
//! - the classical two-sided **paired t-test**, via the Student-t distribution function
//!   computed from the regularised incomplete beta function.

use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapConfig, Estimate, bootstrap_mean, mean};

/// Settings of a paired comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PairedConfig {
    /// Bootstrap for the interval of the mean delta.
    pub bootstrap: BootstrapConfig,
    /// Random sign assignments of the permutation test (exact enumeration when 2ⁿ fits);
    /// drawn with the bootstrap seed.
    pub permutations: usize,
}

impl Default for PairedConfig {
    fn default() -> Self {
        Self { bootstrap: BootstrapConfig::default(), permutations: 10_000 }
    }
}

/// Result of comparing configuration B against A on the same users.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedComparison {
    /// Number of users compared.
    pub n: usize,
    /// Mean of A.
    pub mean_a: f64,
    /// Mean of B.
    pub mean_b: f64,
    /// Mean of B − A with its bootstrap interval.
    pub delta: Estimate,
    /// Two-sided p-value of the sign-flip permutation test.
    pub p_value: f64,
    /// Two-sided p-value of the paired t-test; `None` with fewer than 2 users.
    pub p_value_t: Option<f64>,
}

/// Why two sets of per-user values cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairedError {
    /// No users.
    #[error("no users to compare")]
    Empty,
    /// A and B do not hold the same number of users.
    #[error("A has {a} users but B has {b}; paired values must be aligned by user")]
    LengthMismatch {
        /// Users in A.
        a: usize,
        /// Users in B.
        b: usize,
    },
    /// A value is NaN or infinite.
    #[error("non-finite metric value for user index {0}")]
    NonFinite(usize),
}

/// Compares per-user values `b` against `a` (aligned by user): delta B − A, bootstrap
/// interval of the mean delta, sign-flip and t-test p-values.
pub fn paired_compare(a: &[f64], b: &[f64], config: &PairedConfig) -> Result<PairedComparison, PairedError> {
    if a.len() != b.len() {
        return Err(PairedError::LengthMismatch { a: a.len(), b: b.len() });
    }
    if let Some(i) = a.iter().zip(b).position(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return Err(PairedError::NonFinite(i));
    }
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let (Some(mean_a), Some(mean_b), Some(delta), Some(p_value)) = (
        mean(a),
        mean(b),
        bootstrap_mean(&diffs, &config.bootstrap),
        sign_flip_p_value(&diffs, config.permutations, config.bootstrap.seed),
    ) else {
        return Err(PairedError::Empty);
    };
    Ok(PairedComparison { n: diffs.len(), mean_a, mean_b, delta, p_value, p_value_t: paired_t_p_value(&diffs) })
}

/// Two-sided p-value of the sign-flip permutation test on paired differences (see the
/// module docs). Exact when 2ⁿ ≤ `permutations`, else Monte Carlo with `seed`.
/// `None` for no differences or a non-finite one.
pub fn sign_flip_p_value(diffs: &[f64], permutations: usize, seed: u64) -> Option<f64> {
    let n = diffs.len();
    if n == 0 || diffs.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let observed = diffs.iter().sum::<f64>().abs();
    // Sums that are equal in exact arithmetic may differ by rounding; count them as ties.
    let tol = 1e-12 * diffs.iter().map(|d| d.abs()).sum::<f64>();
    let at_least = |s: f64| s.abs() >= observed - tol;

    let exact = u32::try_from(n)
        .ok()
        .filter(|&bits| bits < 63)
        .map(|bits| 1u64 << bits)
        .filter(|&total| total <= permutations as u64);
    if let Some(total) = exact {
        let count = (0..total).filter(|mask| at_least(signed_sum(diffs, |i| (mask >> i) & 1 == 1))).count();
        return Some(count as f64 / total as f64);
    }

    let mut rng = fastrand::Rng::with_seed(seed);
    let mut bits = vec![0u64; n.div_ceil(64)];
    let mut count = 0usize;
    for _ in 0..permutations {
        for word in &mut bits {
            *word = rng.u64(..);
        }
        let flipped = |i: usize| bits.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1);
        if at_least(signed_sum(diffs, flipped)) {
            count += 1;
        }
    }
    Some((1 + count) as f64 / (1 + permutations) as f64)
}

/// Σ ±dᵢ, negating the differences for which `flip(i)` is true.
fn signed_sum(diffs: &[f64], flip: impl Fn(usize) -> bool) -> f64 {
    diffs.iter().enumerate().map(|(i, d)| if flip(i) { -d } else { *d }).sum()
}

/// Two-sided p-value of the paired t-test on differences: t = mean / (sd / √n) with
/// n − 1 degrees of freedom. With zero spread, p = 1 when the mean is 0 and 0 otherwise.
/// `None` with fewer than 2 differences or a non-finite one.
pub fn paired_t_p_value(diffs: &[f64]) -> Option<f64> {
    let n = diffs.len();
    if n < 2 || diffs.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let m = mean(diffs)?;
    let var = diffs.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    if se <= 1e-15 * m.abs().max(f64::MIN_POSITIVE) {
        return Some(if m == 0.0 { 1.0 } else { 0.0 });
    }
    student_t_two_sided_p(m / se, (n - 1) as f64)
}

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom:
/// `I_{df/(df+t²)}(df/2, 1/2)`. `None` for `df ≤ 0` or NaN input.
pub fn student_t_two_sided_p(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return None;
    }
    if t.is_infinite() {
        return Some(0.0);
    }
    let x = df / (df + t * t);
    regularized_incomplete_beta(x, df / 2.0, 0.5)
}

/// Regularised incomplete beta function I_x(a, b), by the continued fraction of
/// Numerical Recipes (modified Lentz), using the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) where
/// the fraction converges faster. `None` for x outside [0, 1] or a, b ≤ 0.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> Option<f64> {
    let positive_finite = |v: f64| v > 0.0 && v.is_finite();
    if !(0.0..=1.0).contains(&x) || !positive_finite(a) || !positive_finite(b) {
        return None;
    }
    if x == 0.0 || x == 1.0 {
        return Some(x);
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    let value = if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    };
    Some(value.clamp(0.0, 1.0))
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const MAX_ITER: usize = 10_000;
    const EPS: f64 = 1e-16;
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let series = COEF.iter().skip(1).enumerate().fold(COEF[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_known_values() {
        // Γ(1) = Γ(2) = 1, Γ(5) = 24, Γ(1/2) = √π, Γ(10) = 362880.
        let pi = std::f64::consts::PI;
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - pi.sqrt().ln()).abs() < 1e-14);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
        // Γ(0.25) = 3.6256099082219083 (A068466).
        assert!((ln_gamma(0.25) - 3.625_609_908_221_908_f64.ln()).abs() < 1e-13);
    }

    #[test]
    fn incomplete_beta_closed_forms() {
        for &x in &[0.01, 0.2, 0.5, 0.73, 0.99] {
            // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b.
            let close = |v: Option<f64>, want: f64| (v.unwrap_or(f64::NAN) - want).abs() < 1e-12;
            assert!(close(regularized_incomplete_beta(x, 1.0, 1.0), x));
            assert!(close(regularized_incomplete_beta(x, 3.5, 1.0), x.powf(3.5)));
            assert!(close(regularized_incomplete_beta(x, 1.0, 7.0), 1.0 - (1.0 - x).powi(7)));
            // Symmetry: I_x(a, b) = 1 − I_{1−x}(b, a).
            let lhs = regularized_incomplete_beta(x, 2.5, 40.0).unwrap_or(f64::NAN);
            let rhs = 1.0 - regularized_incomplete_beta(1.0 - x, 40.0, 2.5).unwrap_or(f64::NAN);
            assert!((lhs - rhs).abs() < 1e-12);
        }
        assert_eq!(regularized_incomplete_beta(1.5, 1.0, 1.0), None);
        assert_eq!(regularized_incomplete_beta(0.5, 0.0, 1.0), None);
    }
}
