//! The full-softmax objective of the `transformer` signal: the cross-entropy of every
//! predicted position over all the items of the training data (as SASRec is commonly
//! trained, and as `benches/reference/sasrec_reference.py` does with `--loss ce`).
//!
//! The logits are `positions × items` (about 6,400 × 9,600 for a batch of 128 MovieLens
//! windows), so the softmax is one fused candle op ([`RowCrossEntropy`]) with its own
//! backward pass — `softmax − one-hot`, one sweep over the logits — instead of the half a
//! dozen full-size temporaries that composing `log_sum_exp` from candle ops takes, and its
//! exponential is a vectorisable polynomial ([`exp`]).

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::TransformerError;

/// Lanes of the partial sums and maxima (wide enough for the compiler to use vector
/// registers).
const LANES: usize = 8;

/// `e^x` to about 1e-7 relative error: Cephes' `expf` range reduction and polynomial,
/// without branches so that loops over it vectorise. Arguments are clamped to [−87, 88]
/// (below, the result is ~1.6e-38 instead of smaller: nothing next to the softmax's largest
/// term, which is 1).
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts: `n · C1` is exact for the `n` that occur.
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * C1) - n * C2;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let poly = p * r * r + r + 1.0;
    // 2^n from its exponent bits (n is in [−126, 127] after the clamp).
    poly * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The largest value of `row` (NaN-free rows; −∞ for an empty row).
fn row_max(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    tail.iter().chain(acc.iter()).fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

/// `log Σ e^x` over `row`, shifted by its maximum.
fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row_max(row);
    if !max.is_finite() {
        return max;
    }
    let mut acc = [0.0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += exp(x - max);
        }
    }
    let sum: f32 = acc.iter().sum::<f32>() + tail.iter().map(|&x| exp(x - max)).sum::<f32>();
    max + sum.ln()
}

/// The contiguous `[rows, classes]` f32 values of a custom op's input.
fn matrix<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<(&'a [f32], usize, usize)> {
    let CpuStorage::F32(data) = storage else { candle_core::bail!("the cross-entropy takes f32 logits") };
    let (rows, classes) = layout.shape().dims2()?;
    let Some(values) = layout.contiguous_offsets().and_then(|(start, end)| data.get(start..end)) else {
        candle_core::bail!("the cross-entropy takes contiguous logits")
    };
    Ok((values, rows, classes))
}

/// Per-row cross-entropy of `[rows, classes]` logits against one target class per row:
/// `log Σ_c e^{x_rc} − x_{r,t_r}`, shape `[rows]`. Backward: `(softmax_r − onehot(t_r)) · g_r`.
struct RowCrossEntropy {
    targets: Arc<Vec<u32>>,
}

impl RowCrossEntropy {
    fn check(&self, rows: usize, classes: usize) -> candle_core::Result<()> {
        if self.targets.len() != rows || self.targets.iter().any(|&t| t as usize >= classes) {
            candle_core::bail!("{} targets in 0..{classes} expected, for {rows} rows of logits", rows)
        }
        Ok(())
    }
}

impl CustomOp1 for RowCrossEntropy {
    fn name(&self) -> &'static str {
        "row-cross-entropy"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (values, rows, classes) = matrix(storage, layout)?;
        self.check(rows, classes)?;
        let out: Vec<f32> = values
            .par_chunks(classes.max(1))
            .zip(self.targets.par_iter())
            .map(|(row, &t)| log_sum_exp(row) - row.get(t as usize).copied().unwrap_or(0.0))
            .collect();
        Ok((CpuStorage::F32(out), Shape::from(rows)))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let grad = RowCrossEntropyGrad {
            targets: Arc::clone(&self.targets),
            losses: res.to_vec1()?,
            upstream: grad_res.to_vec1()?,
        };
        Ok(Some(arg.apply_op1_no_bwd(&grad)?))
    }
}

/// The gradient of [`RowCrossEntropy`] with respect to its logits: row `r` is
/// `g_r · (e^{x_rc − lse_r} − [c = t_r])`, where `lse_r` = loss_r + x_{r,t_r}.
struct RowCrossEntropyGrad {
    targets: Arc<Vec<u32>>,
    /// The forward pass's per-row losses.
    losses: Vec<f32>,
    /// The gradient arriving at each row's loss.
    upstream: Vec<f32>,
}

impl CustomOp1 for RowCrossEntropyGrad {
    fn name(&self) -> &'static str {
        "row-cross-entropy-grad"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (values, rows, classes) = matrix(storage, layout)?;
        if self.targets.len() != rows || self.losses.len() != rows || self.upstream.len() != rows {
            candle_core::bail!("cross-entropy gradient: {rows} rows of logits, {} targets", self.targets.len())
        }
        let mut out = vec![0.0f32; values.len()];
        out.par_chunks_mut(classes.max(1))
            .zip(values.par_chunks(classes.max(1)))
            .zip(self.targets.par_iter().zip(self.losses.par_iter().zip(self.upstream.par_iter())))
            .for_each(|((o, row), (&t, (&loss, &g)))| {
                let lse = loss + row.get(t as usize).copied().unwrap_or(0.0);
                for (o, &x) in o.iter_mut().zip(row) {
                    *o = g * exp(x - lse);
                }
                if let Some(o) = o.get_mut(t as usize) {
                    *o -= g;
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// Mean cross-entropy of `logits` (`[rows, classes]`, f32) against the class `targets[r]`
/// of each row, differentiable with respect to the logits.
pub(super) fn cross_entropy(logits: &Tensor, targets: Vec<u32>) -> Result<Tensor, TransformerError> {
    let op = RowCrossEntropy { targets: Arc::new(targets) };
    Ok(logits.contiguous()?.apply_op1(op)?.mean_all()?)
}

/// Mean full-softmax loss of `hidden` (`[positions, dim]`) whose next items are the
/// classes `targets`, against the class vectors `table` (`[classes, dim]`): logits
/// `hidden · tableᵀ`, then [`cross_entropy`].
pub(super) fn full_softmax_loss(
    hidden: &Tensor,
    table: &Tensor,
    targets: Vec<u32>,
) -> Result<Tensor, TransformerError> {
    cross_entropy(&hidden.matmul(&table.t()?)?, targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn exp_is_close_to_the_exact_exponential() {
        let mut worst = 0.0f64;
        for k in -87_000..=88_000 {
            let x = k as f32 / 1000.0;
            let exact = f64::from(x).exp();
            worst = worst.max(((f64::from(exp(x)) - exact) / exact).abs());
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    /// Logits chosen so the softmax is exact by hand: row 0 is ln [1, 2, 5] (softmax
    /// 1/8, 2/8, 5/8; target 1: −ln 2/8 = ln 4); row 1 is ln [4, 2, 2] + 100 (softmax 1/2,
    /// 1/4, 1/4; e^100 overflows f32, so the shift must be taken out first; target 0: −ln 1/2 = ln 2). Mean: 1.5 ln 2.
    #[test]
    fn cross_entropy_equals_the_hand_computed_value_and_gradient() {
        let ln = |v: f32| v.ln();
        let rows = vec![ln(1.0), ln(2.0), ln(5.0), 100.0 + ln(4.0), 100.0 + ln(2.0), 100.0 + ln(2.0)];
        let logits = Var::from_vec(rows, (2, 3), &Device::Cpu).unwrap();
        let loss = cross_entropy(logits.as_tensor(), vec![1, 0]).unwrap();
        let value = loss.to_scalar::<f32>().unwrap();
        let expected = 1.5 * std::f32::consts::LN_2;
        assert!((value - expected).abs() < 2e-5, "{value} vs {expected}");
        // d mean / d x_rc = (softmax_rc − onehot_rc) / 2.
        let grads = loss.backward().unwrap();
        let g: Vec<Vec<f32>> = grads.get(logits.as_tensor()).unwrap().to_vec2().unwrap();
        let want = [[1.0 / 16.0, (2.0 / 8.0 - 1.0) / 2.0, 5.0 / 16.0], [(0.5 - 1.0) / 2.0, 1.0 / 8.0, 1.0 / 8.0]];
        for (got, want) in g.iter().flatten().zip(want.iter().flatten()) {
            assert!((got - want).abs() < 2e-5, "gradient {g:?}, expected {want:?}");
        }
    }

    /// hidden = [[1, 0], [0, 2]]; items e0 = (0, ln 4 / 2), e1 = (ln 2, ln 2 / 2),
    /// e2 = (ln 5, ln 2 / 2): logits row 0 = ln [1, 2, 5], row 1 = ln [4, 2, 2] — the example
    /// above. Targets (item 2, item 1): −ln 5/8 and −ln 1/4; mean (ln 8/5 + ln 4) / 2.
    /// ∂/∂hidden_0 = Σ_c (p_c − y_c) e_c / 2 with p = (1/8, 2/8, 5/8), y = e2.
    #[test]
    fn full_softmax_loss_scores_hidden_states_against_every_item() {
        let (l2, l4, l5) = (2f32.ln(), 4f32.ln(), 5f32.ln());
        let hidden = Var::from_vec(vec![1.0f32, 0.0, 0.0, 2.0], (2, 2), &Device::Cpu).unwrap();
        let table_rows = [[0.0, l4 / 2.0], [l2, l2 / 2.0], [l5, l2 / 2.0]];
        let table = Tensor::from_vec(table_rows.concat(), (3, 2), &Device::Cpu).unwrap();
        let loss = full_softmax_loss(hidden.as_tensor(), &table, vec![2, 1]).unwrap();
        let expected = ((8.0f32 / 5.0).ln() + 4f32.ln()) / 2.0;
        assert!((loss.to_scalar::<f32>().unwrap() - expected).abs() < 1e-5);
        let grads = loss.backward().unwrap();
        let g: Vec<Vec<f32>> = grads.get(hidden.as_tensor()).unwrap().to_vec2().unwrap();
        let p = [1.0 / 8.0, 2.0 / 8.0, 5.0 / 8.0 - 1.0];
        let want0: Vec<f32> =
            (0..2).map(|d| p.iter().zip(&table_rows).map(|(pc, e)| pc * e[d]).sum::<f32>() / 2.0).collect();
        for (got, want) in g[0].iter().zip(&want0) {
            assert!((got - want).abs() < 1e-5, "{:?} vs {want0:?}", g[0]);
        }
    }

    #[test]
    fn targets_outside_the_classes_are_an_error() {
        let logits = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(cross_entropy(&logits, vec![0, 3]).is_err());
        assert!(cross_entropy(&logits, vec![0]).is_err());
    }
}
