//! Kernel probe for the int8 precision (BENCHMARKS.md, "int8 embedding"): on MiniLM's dense
//! shapes, f32 (candle's matmul, the gemm crate), candle's quantized Q8_0 `QMatMul`, and
//! RecFuse's int8 kernel (`recfuse::embed::int8`), one thread each, best of 3 × 10.
//! `RAYON_NUM_THREADS=1 cargo run --release --example int8_matmul_probe`
use std::time::Instant;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use recfuse::embed::int8::{PackedWeights, matmul_acc};

fn best_of(reps: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..reps {
            f()?;
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    Ok(best)
}

fn main() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    // Rows = batch 64 × 10 tokens (titles) and 16 × 256 (long texts); (inputs, outputs) of
    // the fused QKV, attention output, intermediate and output layers.
    for &(m, k, n) in &[
        (640usize, 384usize, 1152usize),
        (640, 384, 384),
        (640, 384, 1536),
        (640, 1536, 384),
        (4096, 384, 1536),
        (4096, 1536, 384),
    ] {
        let x = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
        let w = Tensor::randn(0f32, 0.05, (n, k), &dev)?;
        let q = QMatMul::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0)?)?;
        let wt = w.t()?;
        let packed = PackedWeights::quantize(&w.flatten_all()?.to_vec1::<f32>()?, n, k)?;
        let xs = x.flatten_all()?.to_vec1::<f32>()?;
        let mut dst = vec![0f32; m * n];
        let reps = 10;
        let f32_s = best_of(reps, || {
            x.matmul(&wt)?;
            Ok(())
        })?;
        let q8_s = best_of(reps, || {
            q.forward(&x)?;
            Ok(())
        })?;
        let ours_s = best_of(reps, || {
            matmul_acc(&xs, &packed, &mut dst, 1);
            Ok(())
        })?;
        let g = 2.0 * (m * k * n) as f64 / 1e9;
        println!(
            "{{\"m\":{m},\"k\":{k},\"n\":{n},\"f32_ms\":{:.3},\"candle_q8_0_ms\":{:.3},\"recfuse_int8_ms\":{:.3},\"f32_gflops\":{:.1},\"candle_q8_0_gflops\":{:.1},\"recfuse_int8_gflops\":{:.1}}}",
            f32_s * 1e3,
            q8_s * 1e3,
            ours_s * 1e3,
            g / f32_s,
            g / q8_s,
            g / ours_s
        );
    }
    Ok(())
}
