//! A BERT encoder for inference only, tuned for CPU throughput.
//!
//! Same weights, names and arithmetic as `candle_transformers::models::bert::BertModel`
//! (which the tests use as the reference), with three changes that matter on the CPU:
//! the query, key and value projections are one fused matmul (with the 1/√d attention
//! scale folded into the query weights), the softmax is candle's fused last-dimension
//! kernel, and GELU uses a vectorisable rational approximation of erf (error < 1e-7)
//! instead of a scalar libm call per element. [`BertEncoder::quantize_int8`] switches the
//! four dense layers of every transformer layer to int8 weights and matmuls (`super::int8`).

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Storage, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::int8::PackedWeights;

thread_local! {
    /// Set while this thread runs one batch of several that run side by side.
    static SINGLE_THREADED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this module's own matmuls single-threaded on the current thread (used when
/// several batches are encoded in parallel, one per thread).
pub(crate) fn single_threaded<T>(f: impl FnOnce() -> T) -> T {
    SINGLE_THREADED.with(|flag| {
        let before = flag.replace(true);
        let out = f();
        flag.set(before);
        out
    })
}

/// The encoder: embeddings plus transformer layers; `forward` returns token vectors.
pub struct BertEncoder {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
    layers: Vec<Layer>,
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
    act: HiddenAct,
}

fn linear(vb: &VarBuilder, inputs: usize, outputs: usize) -> Result<Dense> {
    Ok(Dense { weight: vb.get((outputs, inputs), "weight")?, bias: vb.get(outputs, "bias")?, int8: None })
}

fn layer_norm(vb: &VarBuilder, size: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm::new(vb.get(size, "weight")?, vb.get(size, "bias")?, eps))
}

fn embedding(vb: &VarBuilder, count: usize, size: usize) -> Result<Embedding> {
    Ok(Embedding::new(vb.get((count, size), "weight")?, size))
}

impl BertEncoder {
    /// Loads the weights (`embeddings.*`, `encoder.layer.N.*`, optionally under a
    /// `bert.` or `<model_type>.` prefix) converted to the VarBuilder's dtype.
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            match &config.model_type {
                Some(t) if vb.contains_tensor(&format!("{t}.embeddings.word_embeddings.weight")) => vb.pp(t),
                _ => vb,
            }
        };
        let h = config.hidden_size;
        let e = vb.pp("embeddings");
        let word = embedding(&e.pp("word_embeddings"), config.vocab_size, h)?;
        let position = embedding(&e.pp("position_embeddings"), config.max_position_embeddings, h)?;
        let token_type = embedding(&e.pp("token_type_embeddings"), config.type_vocab_size, h)?;
        let norm = layer_norm(&e.pp("LayerNorm"), h, config.layer_norm_eps)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&vb.pp(format!("encoder.layer.{i}")), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { word, position, token_type, norm, layers })
    }

    /// Token vectors `(batch, tokens, hidden)` for `ids` and `type_ids` `(batch, tokens)`;
    /// `mask` `(batch, tokens)` is 1 for real tokens and 0 for padding.
    pub fn forward(&self, ids: &Tensor, type_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = self.word.forward(ids)?.add(&self.token_type.forward(type_ids)?)?;
        let x = x.broadcast_add(&self.position.forward(&positions)?)?;
        let mut x = self.norm.forward(&x)?;
        // 0 for real tokens, the most negative float for padding: (batch, 1, 1, tokens).
        let dtype = x.dtype();
        let additive =
            ((mask.to_dtype(DType::F32)? - 1.0)? * f64::from(f32::MAX))?.to_dtype(dtype)?.unsqueeze(1)?.unsqueeze(1)?;
        for layer in &self.layers {
            x = layer.forward(&x, &additive)?;
        }
        Ok(x)
    }

    /// Quantises the query/key/value, attention-output, intermediate and output layers of
    /// every transformer layer to int8 (per-column weight scales); from then on `forward`
    /// multiplies them with int8 arithmetic on the CPU. Embeddings, layer norms, attention
    /// scores and softmax stay f32. Fails on a non-finite weight, naming the layer.
    pub fn quantize_int8(&mut self) -> Result<()> {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let denses = [
                ("attention.self.query/key/value", &mut layer.qkv),
                ("attention.output.dense", &mut layer.attention_out),
                ("intermediate.dense", &mut layer.intermediate),
                ("output.dense", &mut layer.output),
            ];
            for (name, dense) in denses {
                dense.quantize_int8().map_err(|e| candle_core::Error::Msg(format!("encoder.layer.{i}.{name}: {e}")))?;
            }
        }
        Ok(())
    }
}

impl Layer {
    fn load(vb: &VarBuilder, config: &Config) -> Result<Self> {
        let h = config.hidden_size;
        let heads = config.num_attention_heads;
        let head_dim = h / heads;
        let attn = vb.pp("attention");
        let sa = attn.pp("self");
        let scale = 1.0 / (head_dim as f64).sqrt();
        let part = |name: &str| -> Result<(Tensor, Tensor)> {
            let p = sa.pp(name);
            Ok((p.get((h, h), "weight")?, p.get(h, "bias")?))
        };
        let ((wq, bq), (wk, bk), (wv, bv)) = (part("query")?, part("key")?, part("value")?);
        let weight = Tensor::cat(&[(wq * scale)?, wk, wv], 0)?;
        let b = Tensor::cat(&[(bq * scale)?, bk, bv], 0)?;
        Ok(Self {
            qkv: Dense { weight, bias: b, int8: None },
            attention_out: linear(&attn.pp("output").pp("dense"), h, h)?,
            attention_norm: layer_norm(&attn.pp("output").pp("LayerNorm"), h, config.layer_norm_eps)?,
            intermediate: linear(&vb.pp("intermediate").pp("dense"), h, config.intermediate_size)?,
            output: linear(&vb.pp("output").pp("dense"), config.intermediate_size, h)?,
            output_norm: layer_norm(&vb.pp("output").pp("LayerNorm"), h, config.layer_norm_eps)?,
            heads,
            head_dim,
            act: config.hidden_act,
        })
    }

    fn forward(&self, x: &Tensor, additive_mask: &Tensor) -> Result<Tensor> {
        let (batch, len, hidden) = x.dims3()?;
        let qkv = self.qkv.forward(x, None, None)?.reshape((batch, len, 3, self.heads, self.head_dim))?;
        let split = |i: usize| qkv.narrow(2, i, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous();
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = q.matmul(&k.t()?)?.broadcast_add(additive_mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((batch, len, hidden))?;
        let attended = self.attention_norm.forward(&self.attention_out.forward(&context, Some(x), None)?)?;
        let inner = self.intermediate.forward(&attended, None, Some(self.act))?;
        self.output_norm.forward(&self.output.forward(&inner, Some(&attended), None)?)
    }
}

/// A dense layer `x · Wᵀ + b`, with the weights also in int8 once quantised.
struct Dense {
    weight: Tensor,
    bias: Tensor,
    int8: Option<PackedWeights>,
}

impl Dense {
    fn quantize_int8(&mut self) -> std::result::Result<(), String> {
        let (outputs, inputs) = self.weight.dims2().map_err(|e| e.to_string())?;
        let values = self
            .weight
            .to_dtype(DType::F32)
            .and_then(|w| w.flatten_all())
            .and_then(|w| w.to_vec1::<f32>())
            .map_err(|e| e.to_string())?;
        self.int8 = Some(PackedWeights::quantize(&values, outputs, inputs).map_err(|e| e.to_string())?);
        Ok(())
    }

    /// `act(x · Wᵀ + b + residual)`. On the CPU in f32 this is one gemm into an output
    /// pre-filled with bias and residual, then GELU in place: no zero-fill, no extra passes.
    fn forward(&self, x: &Tensor, residual: Option<&Tensor>, act: Option<HiddenAct>) -> Result<Tensor> {
        let fusable = x.device().is_cpu()
            && x.dtype() == DType::F32
            && x.is_contiguous()
            && residual.is_none_or(|r| r.is_contiguous() && r.dtype() == DType::F32)
            && matches!(act, None | Some(HiddenAct::Gelu));
        if fusable {
            let op = FusedDense {
                weight: &self.weight,
                bias: &self.bias,
                int8: self.int8.as_ref(),
                residual,
                gelu: act == Some(HiddenAct::Gelu),
            };
            return x.apply_op1_no_bwd(&op);
        }
        let mut y = Linear::new(self.weight.clone(), Some(self.bias.clone())).forward(x)?;
        if let Some(r) = residual {
            y = y.add(r)?;
        }
        match act {
            Some(act) => activation(&y, act),
            None => Ok(y),
        }
    }
}

/// The contiguous f32 values of a CPU storage.
fn f32_values<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else { candle_core::bail!("expected f32 values") };
    let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("expected a contiguous tensor") };
    data.get(start..end).ok_or_else(|| candle_core::Error::Msg("tensor out of bounds".into()))
}

struct FusedDense<'a> {
    weight: &'a Tensor,
    bias: &'a Tensor,
    int8: Option<&'a PackedWeights>,
    residual: Option<&'a Tensor>,
    gelu: bool,
}

impl CustomOp1 for FusedDense<'_> {
    fn name(&self) -> &'static str {
        "fused-dense"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_values(storage, layout)?;
        let (w_guard, w_layout) = self.weight.storage_and_layout();
        let (b_guard, b_layout) = self.bias.storage_and_layout();
        let (Storage::Cpu(w_storage), Storage::Cpu(b_storage)) = (&*w_guard, &*b_guard) else {
            candle_core::bail!("fused-dense: weights must be on the CPU")
        };
        let (w, bias) = (f32_values(w_storage, w_layout)?, f32_values(b_storage, b_layout)?);
        let (n, k) = w_layout.shape().dims2()?;
        let dims = layout.dims();
        if dims.last() != Some(&k) || bias.len() != n || w.len() != n * k || x.len() % k != 0 {
            candle_core::bail!("fused-dense: shape mismatch {dims:?} x [{n}, {k}]")
        }
        let rows = x.len() / k;
        let mut dst: Vec<f32> = Vec::with_capacity(rows * n);
        match self.residual {
            Some(r) => {
                let (r_guard, r_layout) = r.storage_and_layout();
                let Storage::Cpu(r_storage) = &*r_guard else {
                    candle_core::bail!("fused-dense: residual must be on the CPU")
                };
                let r = f32_values(r_storage, r_layout)?;
                if r.len() != rows * n {
                    candle_core::bail!("fused-dense: residual has {} values, expected {}", r.len(), rows * n)
                }
                for row in r.chunks_exact(n) {
                    dst.extend(row.iter().zip(bias).map(|(a, b)| a + b));
                }
            }
            None => (0..rows).for_each(|_| dst.extend_from_slice(bias)),
        }
        let threads =
            if SINGLE_THREADED.with(std::cell::Cell::get) { 1 } else { candle_core::utils::get_num_threads() };
        if let Some(q) = self.int8.filter(|q| q.inputs() == k && q.outputs() == n) {
            super::int8::matmul_acc(x, q, &mut dst, threads);
        } else {
            gemm_acc(x, w, &mut dst, (rows, n, k), threads);
        }
        if self.gelu {
            gelu_erf_in_place(&mut dst);
        }
        let mut out_dims = dims.to_vec();
        if let Some(last) = out_dims.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(dst), Shape::from_dims(&out_dims)))
    }
}

/// `dst += x · wᵀ` in f32 (`x` rows×k, `w` n×k, `dst` rows×n; nothing when they are shorter).
fn gemm_acc(x: &[f32], w: &[f32], dst: &mut [f32], (rows, n, k): (usize, usize, usize), threads: usize) {
    if dst.len() < rows * n || x.len() < rows * k || w.len() < n * k {
        return;
    }
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: dst is rows×n (row stride n), x is rows×k (row stride k), and the
    // right-hand side reads w as its transpose: element (i, j) at w[j·k + i], all in
    // bounds as just checked. dst = 1·dst + 1·(x · wᵀ).
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn activation(x: &Tensor, act: HiddenAct) -> Result<Tensor> {
    match act {
        HiddenAct::Gelu if x.device().is_cpu() && x.dtype() == DType::F32 => x.apply_op1_no_bwd(&FastGeluErf),
        HiddenAct::Gelu => x.gelu_erf(),
        HiddenAct::GeluApproximate => x.gelu(),
        HiddenAct::Relu => x.relu(),
    }
}

/// Exact-form GELU, `x/2 · (1 + erf(x/√2))`, for contiguous f32 CPU tensors.
struct FastGeluErf;

impl CustomOp1 for FastGeluErf {
    fn name(&self) -> &'static str {
        "fast-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else { candle_core::bail!("fast-gelu-erf: expected f32") };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("fast-gelu-erf: expected a contiguous tensor")
        };
        let src = data.get(start..end).unwrap_or_default();
        let mut dst = vec![0f32; src.len()];
        gelu_erf_slice(src, &mut dst);
        Ok((CpuStorage::F32(dst), layout.shape().clone()))
    }
}

/// Fills `dst` with GELU of `src`, using AVX2+FMA when the CPU has it.
pub fn gelu_erf_slice(src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features the function is compiled for were just detected.
        unsafe { gelu_erf_avx2(src, dst) };
        return;
    }
    gelu_erf_generic(src, dst);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_erf_avx2(src: &[f32], dst: &mut [f32]) {
    gelu_erf_generic(src, dst);
}

/// GELU of every value of `xs`, in place, using AVX-512 or AVX2+FMA when the CPU has it.
pub fn gelu_erf_in_place(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the feature the function is compiled for was just detected.
        unsafe { gelu_erf_in_place_avx512(xs) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features the function is compiled for were just detected.
        unsafe { gelu_erf_in_place_avx2(xs) };
        return;
    }
    gelu_erf_in_place_generic(xs);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_erf_in_place_avx2(xs: &mut [f32]) {
    gelu_erf_in_place_generic(xs);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gelu_erf_in_place_avx512(xs: &mut [f32]) {
    gelu_erf_in_place_generic(xs);
}

#[inline(always)]
fn gelu_erf_in_place_generic(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[inline(always)]
fn gelu_erf_generic(src: &[f32], dst: &mut [f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf as a rational function of degree 13/8 on [-4, 4] (±1 outside, where f32 erf
/// rounds to ±1); the coefficients are Eigen's `generic_fast_erf_float`. Max abs error
/// ≈ 7e-8. Branch-free, so loops over it vectorise.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_473_9e-2;
    p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn erf_matches_reference_values() {
        // erf values from tables (Abramowitz & Stegun 7.1), to 7 decimals.
        let table = [
            (0.0f32, 0.0f32),
            (0.1, 0.1124629),
            (0.5, 0.5204999),
            (1.0, 0.8427008),
            (1.5, 0.9661051),
            (2.0, 0.9953223),
            (3.0, 0.9999779),
            (5.0, 1.0),
        ];
        for (x, want) in table {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {} want {want}", erf(x));
            assert!((erf(-x) + want).abs() < 2e-7);
        }
    }

    #[test]
    fn gelu_matches_known_values() {
        let src = [-3.0f32, -1.0, 0.0, 0.5, 1.0, 2.0, 10.0];
        let mut dst = [0f32; 7];
        gelu_erf_slice(&src, &mut dst);
        // x·Φ(x) with Φ the standard normal CDF: Φ(1) = 0.8413447, Φ(2) = 0.9772499,
        // Φ(0.5) = 0.6914625, Φ(-1) = 0.1586553, Φ(-3) = 0.0013499.
        let want = [-0.0040497f32, -0.1586553, 0.0, 0.3457312, 0.8413447, 1.9544998, 10.0];
        for (g, w) in dst.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{dst:?}");
        }
        let mut in_place = src;
        gelu_erf_in_place(&mut in_place);
        for (g, w) in in_place.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{in_place:?}");
        }
    }

    #[test]
    fn fused_dense_matches_plain_arithmetic() {
        // x (2×3) · Wᵀ (W is 2×3) + b + residual, values chosen to check by hand.
        let x = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.]], &Device::Cpu).unwrap();
        let dense = Dense {
            weight: Tensor::new(&[[1f32, 0., -1.], [0.5, 0.5, 0.5]], &Device::Cpu).unwrap(),
            bias: Tensor::new(&[10f32, 20.], &Device::Cpu).unwrap(),
            int8: None,
        };
        let residual = Tensor::new(&[[1f32, 1.], [2., 2.]], &Device::Cpu).unwrap();
        // Row 1: 1−3 = −2 → −2+10+1 = 9; (1+2+3)/2 = 3 → 3+20+1 = 24.
        // Row 2: 4−6 = −2 → −2+10+2 = 10; (4+5+6)/2 = 7.5 → 7.5+20+2 = 29.5.
        let y = dense.forward(&x, Some(&residual), None).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(y, vec![vec![9.0, 24.0], vec![10.0, 29.5]]);
        // 3-D input, no residual: bias only.
        let y = dense.forward(&x.unsqueeze(0).unwrap(), None, None).unwrap();
        assert_eq!(y.dims(), &[1, 2, 2]);
        assert_eq!(y.to_vec3::<f32>().unwrap(), vec![vec![vec![8.0, 23.0], vec![8.0, 27.5]]]);
        // A non-contiguous input takes the plain path and agrees.
        let xt = Tensor::new(&[[1f32, 4.], [2., 5.], [3., 6.]], &Device::Cpu).unwrap().t().unwrap();
        let y = dense.forward(&xt, Some(&residual), None).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(y, vec![vec![9.0, 24.0], vec![10.0, 29.5]]);
    }

    #[test]
    fn mask_for_padding_is_very_negative() {
        let mask = Tensor::new(&[[1u32, 0]], &Device::Cpu).unwrap();
        let additive = ((mask.to_dtype(DType::F32).unwrap() - 1.0).unwrap() * f64::from(f32::MAX))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(additive, vec![vec![0.0, -f32::MAX]]);
    }
}
