//! The sentence embedder: tokenise, batch by length, run BERT, pool, normalise.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use candle_core::{D, DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use tokenizers::{Encoding, Tokenizer};

use super::bert::BertEncoder;
use super::device::{DeviceChoice, select_device};
use super::error::EmbedError;
use super::model::{self, ModelFiles, Pooling};
use crate::jobs::Progress;

/// The text embedded once at load to check that the model computes finite vectors.
const PROBE_TEXT: &str = "a red mug";

/// Texts tokenised and embedded at a time: bounds the memory of the encodings, whatever the
/// catalogue's size (the output itself is `texts × dim` floats).
pub const EMBED_CHUNK_TEXTS: usize = 8_192;

/// The batch size used when the caller has no opinion.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// The most padded tokens in one batch: long texts go in smaller batches, so that a batch's
/// attention scores (rows × heads × width² floats) stay small. 32 texts of 64 tokens fit;
/// texts of 256 tokens go 8 at a time.
pub const BATCH_TOKEN_BUDGET: usize = 2_048;

/// Splits `lengths` (token counts, longest first) into consecutive batches of at most
/// `batch_size` texts and at most [`BATCH_TOKEN_BUDGET`] padded tokens (a batch is as wide as
/// its first, longest text; one text always makes a batch). Returns each batch's length.
pub fn token_batches(lengths: &[usize], batch_size: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(&width) = lengths.get(start) {
        let rows = (BATCH_TOKEN_BUDGET / width.max(1)).clamp(1, batch_size.max(1)).min(lengths.len() - start);
        out.push(rows);
        start += rows;
    }
    out
}

/// Number format of the model's computation. f32 is the default everywhere; `int8` is the
/// faster CPU path (int8 weights and matmuls in the dense layers, cosine ≥ 0.995 against
/// f32); f16 and bf16 are for GPUs, where they are faster and keep cosine ≥ 0.999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedPrecision {
    /// 32-bit floats (exact parity with sentence-transformers).
    #[default]
    F32,
    /// int8 weights and matmuls in the dense layers (CPU only; the rest in f32).
    Int8,
    /// IEEE half precision (GPU only).
    F16,
    /// bfloat16 (GPU only).
    BF16,
}

impl EmbedPrecision {
    /// Every precision, in the order the GUI lists them.
    pub const ALL: [Self; 4] = [Self::F32, Self::Int8, Self::F16, Self::BF16];

    fn dtype(self) -> DType {
        match self {
            Self::F32 | Self::Int8 => DType::F32,
            Self::F16 => DType::F16,
            Self::BF16 => DType::BF16,
        }
    }

    /// What the precision is for, in a few words (GUI hover text, CLI help).
    pub fn describe(self) -> &'static str {
        match self {
            Self::F32 => "32-bit floats: exact parity with sentence-transformers",
            Self::Int8 => "int8 weights and matmuls on the CPU: faster, cosine ≥ 0.995 against f32",
            Self::F16 => "half precision, on a GPU only",
            Self::BF16 => "bfloat16, on a GPU only",
        }
    }
}

/// A precision string that is not `f32`, `int8`, `f16` or `bf16`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision '{0}': expected f32, int8, f16 or bf16")]
pub struct ParsePrecisionError(pub String);

impl FromStr for EmbedPrecision {
    type Err = ParsePrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Self::F32),
            "int8" | "i8" => Ok(Self::Int8),
            "f16" | "fp16" | "float16" | "half" => Ok(Self::F16),
            "bf16" | "bfloat16" => Ok(Self::BF16),
            _ => Err(ParsePrecisionError(s.to_owned())),
        }
    }
}

impl fmt::Display for EmbedPrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
        })
    }
}

/// L2-normalised sentence vectors, one row per input text, in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    /// Length of each vector.
    pub dim: usize,
    /// Row-major `len() × dim` values.
    pub data: Vec<f32>,
}

impl Embeddings {
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th vector.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        if self.dim == 0 {
            return None;
        }
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }

    /// All vectors in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        self.data.chunks_exact(self.dim.max(1)).take(self.len())
    }

    /// Cosine similarity of rows `i` and `j` (`None` when either is out of range;
    /// 0 when either vector is zero).
    pub fn cosine(&self, i: usize, j: usize) -> Option<f32> {
        Some(cosine(self.row(i)?, self.row(j)?))
    }
}

/// Cosine similarity of two vectors of equal length (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { (dot / (na.sqrt() * nb.sqrt())) as f32 }
}

/// Mask-weighted mean of token vectors: `hidden` is `(batch, tokens, dim)`, `mask` is
/// `(batch, tokens)` with 1 for real tokens and 0 for padding. The token count is
/// clamped to at least 1e-9, as sentence-transformers does, so an all-zero mask gives a
/// zero vector instead of NaN.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}

/// The first token's vector of each sequence (`[CLS]` pooling): `(batch, dim)`.
pub fn cls_pool(hidden: &Tensor) -> candle_core::Result<Tensor> {
    hidden.narrow(1, 0, 1)?.squeeze(1)
}

/// Divides each row of a `(rows, dim)` tensor by its L2 norm, clamped to at least 1e-12
/// (as `torch.nn.functional.normalize`), so zero rows stay zero.
pub fn l2_normalize(x: &Tensor) -> candle_core::Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    x.broadcast_div(&norm)
}

/// A loaded sentence-embedding model on one device.
pub struct SentenceEmbedder {
    model: BertEncoder,
    tokenizer: Tokenizer,
    device: Device,
    dtype: DType,
    precision: EmbedPrecision,
    pooling: Pooling,
    max_seq_length: usize,
    dim: usize,
    pad_id: u32,
    model_name: String,
    device_label: String,
    fingerprint: String,
    notices: Vec<String>,
}

impl fmt::Debug for SentenceEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentenceEmbedder")
            .field("model", &self.model_name)
            .field("device", &self.device_label)
            .field("dtype", &self.dtype)
            .field("dim", &self.dim)
            .field("max_seq_length", &self.max_seq_length)
            .finish_non_exhaustive()
    }
}

impl SentenceEmbedder {
    /// Loads a model from a directory in Hugging Face layout onto the chosen device.
    /// f16 weights are upcast on load; f16/bf16 compute is only used on a GPU and int8 only
    /// on the CPU (elsewhere the precision falls back to f32 with a notice).
    pub fn load(dir: &Path, device: DeviceChoice, precision: EmbedPrecision) -> Result<Self, EmbedError> {
        Self::load_files(&ModelFiles::from_dir(dir)?, device, precision)
    }

    /// Like [`SentenceEmbedder::load`] for already located files.
    pub fn load_files(files: &ModelFiles, device: DeviceChoice, precision: EmbedPrecision) -> Result<Self, EmbedError> {
        let config = model::read_bert_config(files)?;
        let pooling = model::read_pooling(files)?;
        let mut tokenizer = model::read_tokenizer(files)?;
        let max_seq_length = model::read_max_seq_length(files, &config, &tokenizer)?;
        model::configure_tokenizer(&mut tokenizer, max_seq_length, &files.tokenizer)?;
        let pad_id = tokenizer.get_padding().map_or(config.pad_token_id as u32, |p| p.pad_id);
        // Padding is done per length-sorted batch in `embed` (to the batch's longest text,
        // exactly BatchLongest), so the tokenizer itself must not pad.
        tokenizer.with_padding(None);

        let selected = select_device(device);
        let mut notices: Vec<String> = selected.notice.into_iter().collect();
        let precision = match precision {
            EmbedPrecision::F16 | EmbedPrecision::BF16 if selected.device.is_cpu() => {
                notices.push(format!("{precision} compute is for GPUs; using f32 on the CPU"));
                EmbedPrecision::F32
            }
            EmbedPrecision::Int8 if !selected.device.is_cpu() => {
                notices.push(format!("int8 is a CPU path; using f32 on {}", selected.label));
                EmbedPrecision::F32
            }
            EmbedPrecision::Int8 if !super::int8::has_vnni() => {
                notices.push("this CPU lacks AVX-512 VNNI: int8 runs on portable loops, slower than f32".to_owned());
                EmbedPrecision::Int8
            }
            other => other,
        };
        let dtype = precision.dtype();
        let bytes = model::read_weights(files)?;
        let mut model = model::build_bert(files, bytes.weights, &config, dtype, &selected.device)?;
        if precision == EmbedPrecision::Int8 {
            model.quantize_int8().map_err(|e| EmbedError::InvalidFile {
                file: files.weights.clone(),
                reason: format!("cannot quantise to int8: {}", super::error::first_line(&e.to_string())),
            })?;
        }
        let embedder = Self {
            model,
            tokenizer,
            device: selected.device,
            dtype,
            precision,
            pooling,
            max_seq_length,
            dim: config.hidden_size,
            pad_id,
            model_name: model_name_of(&files.dir),
            device_label: selected.label,
            fingerprint: bytes.fingerprint,
            notices,
        };
        embedder.probe(&files.weights)?;
        Ok(embedder)
    }

    /// Embeds a short probe text and refuses the model when any value is not finite
    /// (NaN or infinite weights, a degenerate layer norm): such a model would rank every
    /// item by NaN. The error names the weights file.
    fn probe(&self, weights: &Path) -> Result<(), EmbedError> {
        let probe = self.embed(&[PROBE_TEXT.to_owned()], 1, &Progress::new())?;
        if probe.data.iter().all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err(EmbedError::InvalidFile {
                file: weights.to_path_buf(),
                reason: format!(
                    "the model produces non-finite values (NaN or infinity) on the probe text '{PROBE_TEXT}': \
                     its weights or config are broken"
                ),
            })
        }
    }

    /// Length of the embedding vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// A short name for the model (its directory, or `ORG/NAME` for a Hugging Face
    /// cache snapshot).
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The device in use: "CPU", "CUDA:0", "Metal".
    pub fn device_label(&self) -> &str {
        &self.device_label
    }

    /// The compute precision in use (after any fallback at load).
    pub fn precision(&self) -> EmbedPrecision {
        self.precision
    }

    /// What the vector cache keys this model's output by: the model fingerprint, with the
    /// precision appended for every precision but f32 (whose keys are those of before
    /// precisions existed), so vectors of different precisions never stand in for each other.
    pub fn cache_identity(&self) -> String {
        match self.precision {
            EmbedPrecision::F32 => self.fingerprint.clone(),
            other => format!("{}+{other}", self.fingerprint),
        }
    }

    /// Texts are truncated to this many tokens (including `[CLS]` and `[SEP]`).
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// SHA-256 (hex) of the weights and configuration files, computed once at load.
    pub fn model_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Things the user should know about how the model was loaded (device fallback,
    /// precision fallback).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Number of tokens each text becomes (after truncation), for diagnostics and tests.
    pub fn token_counts(&self, texts: &[String]) -> Result<Vec<usize>, EmbedError> {
        Ok(self.tokenize(texts)?.iter().map(|e| e.get_ids().len()).collect())
    }

    fn tokenize(&self, texts: &[String]) -> Result<Vec<Encoding>, EmbedError> {
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.tokenizer.encode_batch(inputs, true).map_err(|e| EmbedError::Tokenize(e.to_string()))
    }

    /// Embeds `texts`, `batch_size` at a time, reporting progress (stage "embedding",
    /// one unit per text) and stopping with [`EmbedError::Cancelled`] when asked.
    /// Texts are sorted by token count so each batch pads little; the result is in
    /// input order.
    pub fn embed(&self, texts: &[String], batch_size: usize, progress: &Progress) -> Result<Embeddings, EmbedError> {
        let batch_size = batch_size.max(1);
        let dim = self.dim;
        let mut data = vec![0f32; texts.len() * dim];
        progress.start_stage("embedding", texts.len() as u64);
        // Texts are tokenised and embedded in chunks, so memory beyond the output is one
        // chunk's encodings whatever the catalogue's size.
        for (chunk_index, chunk) in texts.chunks(EMBED_CHUNK_TEXTS).enumerate() {
            let start = chunk_index * EMBED_CHUNK_TEXTS * dim;
            let out = data.get_mut(start..start + chunk.len() * dim).unwrap_or(&mut []);
            self.embed_chunk(chunk, batch_size, progress, out)?;
        }
        Ok(Embeddings { dim, data })
    }

    /// Tokenises `texts` and writes their vectors into `out` (`texts.len() × dim`), batches
    /// sorted by length.
    fn embed_chunk(
        &self,
        texts: &[String],
        batch_size: usize,
        progress: &Progress,
        out: &mut [f32],
    ) -> Result<(), EmbedError> {
        let encodings = self.tokenize(texts)?;
        progress.check()?;
        let mut order: Vec<(usize, &Encoding)> = encodings.iter().enumerate().collect();
        order.sort_by_key(|(_, e)| std::cmp::Reverse(e.get_ids().len()));
        let dim = self.dim;
        let lengths: Vec<usize> = order.iter().map(|(_, e)| e.get_ids().len()).collect();
        let mut rest: &[(usize, &Encoding)] = &order;
        let mut batches: Vec<&[(usize, &Encoding)]> = Vec::new();
        for rows in token_batches(&lengths, batch_size) {
            let (batch, after) = rest.split_at(rows.min(rest.len()));
            batches.push(batch);
            rest = after;
        }
        // On the CPU, neighbouring batches (of similar length, after the sort) run side by
        // side, one per thread, each with single-threaded matmuls: splitting one batch's
        // small matmuls across threads wastes much of the second core.
        let threads = if self.device.is_cpu() { candle_core::utils::get_num_threads().max(1) } else { 1 };
        for group in batches.chunks(threads) {
            progress.check()?;
            let outputs: Vec<Result<Vec<f32>, EmbedError>> = if group.len() > 1 {
                use rayon::prelude::*;
                group
                    .par_iter()
                    .map(|batch| super::bert::single_threaded(|| self.embed_batch(batch.iter().map(|&(_, e)| e))))
                    .collect()
            } else {
                group.iter().map(|batch| self.embed_batch(batch.iter().map(|&(_, e)| e))).collect()
            };
            for (batch, vectors) in group.iter().zip(outputs) {
                let vectors = vectors?;
                for (&(i, _), v) in batch.iter().zip(vectors.chunks_exact(dim)) {
                    if let Some(dst) = out.get_mut(i * dim..(i + 1) * dim) {
                        dst.copy_from_slice(v);
                    }
                }
                progress.advance(batch.len() as u64);
            }
        }
        Ok(())
    }

    /// One padded batch through the model; returns `batch × dim` normalised values.
    fn embed_batch<'a>(
        &self,
        batch: impl ExactSizeIterator<Item = &'a Encoding> + Clone,
    ) -> Result<Vec<f32>, EmbedError> {
        let rows = batch.len();
        let width = batch.clone().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let mut ids = vec![self.pad_id; rows * width];
        let mut type_ids = vec![0u32; rows * width];
        let mut mask = vec![0u32; rows * width];
        for (((enc, id_row), type_row), mask_row) in batch
            .zip(ids.chunks_exact_mut(width))
            .zip(type_ids.chunks_exact_mut(width))
            .zip(mask.chunks_exact_mut(width))
        {
            for (dst, &src) in id_row.iter_mut().zip(enc.get_ids()) {
                *dst = src;
            }
            for (dst, &src) in type_row.iter_mut().zip(enc.get_type_ids()) {
                *dst = src;
            }
            for m in mask_row.iter_mut().take(enc.get_ids().len()) {
                *m = 1;
            }
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (rows, width), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device)?;
        let hidden = self.model.forward(&ids, &type_ids, &mask)?.to_dtype(DType::F32)?;
        let pooled = match self.pooling {
            Pooling::Mean => mean_pool(&hidden, &mask)?,
            Pooling::Cls => cls_pool(&hidden)?,
        };
        let normalised = l2_normalize(&pooled)?;
        Ok(normalised.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// `ORG/NAME` for a Hugging Face cache snapshot, else the directory's own name.
fn model_name_of(dir: &Path) -> String {
    for component in dir.components().rev() {
        let part = component.as_os_str().to_string_lossy();
        if let Some(rest) = part.strip_prefix("models--")
            && let Some((org, name)) = rest.split_once("--")
        {
            return format!("{org}/{name}");
        }
    }
    dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_the_batch_size_and_the_token_budget() {
        // 2,048 tokens: texts of 256 go 8 at a time, of 300 six (6 × 300 = 1,800), of 64 or
        // fewer 32 at a time; a text longer than the budget goes alone.
        assert_eq!(token_batches(&[256; 20], 32), [8, 8, 4]);
        assert_eq!(token_batches(&[300; 7], 32), [6, 1]);
        assert_eq!(token_batches(&[64; 70], 32), [32, 32, 6]);
        assert_eq!(token_batches(&[5000, 12, 12], 32), [1, 2]);
        // Longest first: a batch is as wide as its first text.
        assert_eq!(token_batches(&[512, 100, 100, 100, 100, 100], 32), [4, 2]);
        assert_eq!(token_batches(&[16; 3], 2), [2, 1]);
        assert!(token_batches(&[], 32).is_empty());
    }

    #[test]
    fn mean_pool_ignores_padding() {
        // Two sequences of 3 tokens, dim 2; the second has one padded token.
        let hidden =
            Tensor::new(&[[[1f32, 2.], [3., 4.], [5., 6.]], [[2., 0.], [4., 2.], [100., 100.]]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 1], [1, 1, 0]], &Device::Cpu).unwrap();
        let pooled = mean_pool(&hidden, &mask).unwrap().to_vec2::<f32>().unwrap();
        // (1+3+5)/3 = 3, (2+4+6)/3 = 4; (2+4)/2 = 3, (0+2)/2 = 1.
        assert_eq!(pooled, vec![vec![3.0, 4.0], vec![3.0, 1.0]]);
    }

    #[test]
    fn mean_pool_with_empty_mask_is_zero_not_nan() {
        let hidden = Tensor::new(&[[[1f32, 2.], [3., 4.]]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[0u32, 0]], &Device::Cpu).unwrap();
        let pooled = mean_pool(&hidden, &mask).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(pooled, vec![vec![0.0, 0.0]]);
    }

    #[test]
    fn l2_normalize_makes_unit_rows_and_keeps_zero_rows() {
        let x = Tensor::new(&[[3f32, 4.], [0., 0.], [0., -2.]], &Device::Cpu).unwrap();
        let y = l2_normalize(&x).unwrap().to_vec2::<f32>().unwrap();
        // 3-4-5 triangle.
        assert_eq!(y, vec![vec![0.6, 0.8], vec![0.0, 0.0], vec![0.0, -1.0]]);
    }

    #[test]
    fn cls_pool_takes_first_token() {
        let hidden = Tensor::new(&[[[1f32, 2.], [3., 4.]], [[5., 6.], [7., 8.]]], &Device::Cpu).unwrap();
        assert_eq!(cls_pool(&hidden).unwrap().to_vec2::<f32>().unwrap(), vec![vec![1.0, 2.0], vec![5.0, 6.0]]);
    }

    #[test]
    fn embeddings_rows_and_cosine() {
        let e = Embeddings { dim: 2, data: vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8] };
        assert_eq!(e.len(), 3);
        assert_eq!(e.row(2), Some(&[0.6f32, 0.8][..]));
        assert_eq!(e.row(3), None);
        assert_eq!(e.rows().count(), 3);
        assert_eq!(e.cosine(0, 1), Some(0.0));
        assert!((e.cosine(0, 2).unwrap() - 0.6).abs() < 1e-6);
        assert_eq!(e.cosine(0, 9), None);
        assert!(Embeddings::default().is_empty());
    }

    #[test]
    fn embedder_can_move_to_a_background_job() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<SentenceEmbedder>();
        send_sync::<Embeddings>();
    }

    #[test]
    fn precision_strings() {
        assert_eq!("bf16".parse::<EmbedPrecision>(), Ok(EmbedPrecision::BF16));
        assert_eq!("FP16".parse::<EmbedPrecision>(), Ok(EmbedPrecision::F16));
        assert_eq!(" INT8".parse::<EmbedPrecision>(), Ok(EmbedPrecision::Int8));
        assert_eq!(EmbedPrecision::Int8.to_string(), "int8");
        assert_eq!(serde_json::to_string(&EmbedPrecision::Int8).unwrap(), "\"int8\"");
        assert_eq!(EmbedPrecision::F32.to_string(), "f32");
        assert!("f8".parse::<EmbedPrecision>().is_err());
    }

    #[test]
    fn model_name_from_hf_snapshot_path() {
        let p = Path::new("/c/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/abc");
        assert_eq!(model_name_of(p), "sentence-transformers/all-MiniLM-L6-v2");
        assert_eq!(model_name_of(Path::new("/x/all-MiniLM-L6-v2")), "all-MiniLM-L6-v2");
    }
}
