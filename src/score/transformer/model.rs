//! The network of the `transformer` signal (SASRec-style): each item's input vector is a
//! learned id embedding plus a learned projection of its text embedding; learned
//! positions; pre-norm causal self-attention blocks; a final layer norm.
//!
//! Weights live in a [`VarMap`] and are initialised from a seeded `fastrand` generator
//! (candle's CPU generator cannot be seeded), so fits are reproducible on the CPU.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::VarMap;

use super::TransformerError;

/// Logit added where attention is not allowed (later positions, padding).
const MASKED: f64 = -1e9;
/// Standard deviation of the initial embeddings (as in SASRec / RecBole).
const EMBEDDING_STD: f32 = 0.02;
/// Width of the feed-forward layer, in multiples of the model width.
const FFN_MULT: usize = 2;

/// The sizes of a network (saved with its weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Catalogue size (row `n_items` of the item tables is the padding item).
    pub n_items: usize,
    /// Length of the text vectors; 0 = id embeddings only.
    pub text_dim: usize,
    /// Width of item vectors and hidden states.
    pub dim: usize,
    /// Attention heads.
    pub heads: usize,
    /// Self-attention blocks.
    pub blocks: usize,
    /// Sequence length (positions).
    pub max_len: usize,
}

impl ModelConfig {
    fn to_tensor(self) -> Result<Tensor, TransformerError> {
        let v = [self.n_items, self.text_dim, self.dim, self.heads, self.blocks, self.max_len];
        let v: Vec<u32> = v.iter().map(|&x| u32::try_from(x).unwrap_or(u32::MAX)).collect();
        Ok(Tensor::new(v.as_slice(), &Device::Cpu)?)
    }

    fn from_tensor(t: &Tensor) -> Result<Self, TransformerError> {
        let v: Vec<u32> = t.to_vec1()?;
        let &[n_items, text_dim, dim, heads, blocks, max_len] = v.as_slice() else {
            return Err(TransformerError::Invalid("the model file's config has the wrong length".into()));
        };
        let c = Self {
            n_items: n_items as usize,
            text_dim: text_dim as usize,
            dim: dim as usize,
            heads: heads as usize,
            blocks: blocks as usize,
            max_len: max_len as usize,
        };
        c.check()?;
        Ok(c)
    }

    /// Whether the sizes make a network.
    pub(super) fn check(&self) -> Result<(), TransformerError> {
        if self.dim == 0
            || self.heads == 0
            || !self.dim.is_multiple_of(self.heads)
            || self.max_len == 0
            || self.n_items == 0
        {
            return Err(TransformerError::Invalid(format!(
                "invalid model sizes: width {} with {} heads, {} positions, {} items (the width must be a multiple of the heads)",
                self.dim, self.heads, self.max_len, self.n_items
            )));
        }
        Ok(())
    }

    /// Every weight's name and shape, in a fixed order (initialisation follows it).
    fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, f) = (self.dim, self.dim * FFN_MULT);
        let mut out = vec![("item.id".to_owned(), vec![self.n_items + 1, d])];
        if self.text_dim > 0 {
            out.push(("item.text".to_owned(), vec![self.text_dim, d]));
        }
        out.push(("pos".to_owned(), vec![self.max_len, d]));
        for k in 0..self.blocks {
            for (name, shape) in [
                ("ln1.w", vec![d]),
                ("ln1.b", vec![d]),
                ("q.w", vec![d, d]),
                ("q.b", vec![d]),
                ("k.w", vec![d, d]),
                ("k.b", vec![d]),
                ("v.w", vec![d, d]),
                ("v.b", vec![d]),
                ("o.w", vec![d, d]),
                ("o.b", vec![d]),
                ("ln2.w", vec![d]),
                ("ln2.b", vec![d]),
                ("ff1.w", vec![d, f]),
                ("ff1.b", vec![f]),
                ("ff2.w", vec![f, d]),
                ("ff2.b", vec![d]),
            ] {
                out.push((format!("b{k}.{name}"), shape));
            }
        }
        out.push(("out.ln.w".to_owned(), vec![d]));
        out.push(("out.ln.b".to_owned(), vec![d]));
        out
    }
}

/// The initial value of a weight: ones for layer-norm gains, zeros for biases, small
/// uniform values for embeddings, U(±1/√fan_in) for matrices.
fn initial(name: &str, shape: &[usize], rng: &mut fastrand::Rng) -> Vec<f32> {
    let n: usize = shape.iter().product();
    if name.ends_with("ln1.w") || name.ends_with("ln2.w") || name.ends_with("ln.w") {
        return vec![1.0; n];
    }
    if name.ends_with(".b") {
        return vec![0.0; n];
    }
    let bound = if name == "item.id" || name == "pos" {
        EMBEDDING_STD * 3f32.sqrt()
    } else {
        1.0 / (shape.first().copied().unwrap_or(1).max(1) as f32).sqrt()
    };
    (0..n).map(|_| (rng.f32() * 2.0 - 1.0) * bound).collect()
}

/// Seeded dropout (a fresh mask per call).
pub(super) struct Dropout {
    /// Probability of dropping a value.
    pub p: f32,
    /// The mask generator.
    pub rng: fastrand::Rng,
}

impl Dropout {
    fn apply(&mut self, x: &Tensor) -> Result<Tensor, TransformerError> {
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 / (1.0 - self.p.min(0.95));
        let mask: Vec<f32> = (0..x.elem_count()).map(|_| if self.rng.f32() < self.p { 0.0 } else { keep }).collect();
        Ok((x * Tensor::from_vec(mask, x.shape(), x.device())?)?)
    }
}

/// What one forward pass gives.
pub(super) struct Forward {
    /// Hidden states `[batch, len, dim]`.
    pub(super) hidden: Tensor,
    /// The last block's attention, averaged over heads: `[batch, len (query), len (key)]`.
    pub(super) attention: Tensor,
}

/// The network.
pub(super) struct SeqModel {
    /// Its sizes.
    pub(super) config: ModelConfig,
    varmap: VarMap,
    vars: HashMap<String, Var>,
    /// Text vectors `[n_items + 1, text_dim]` (padding and text-less items are zero).
    texts: Option<Tensor>,
}

impl SeqModel {
    /// A freshly initialised network; `texts` must be `[n_items + 1, text_dim]` when the
    /// config has text.
    pub(super) fn new(
        config: ModelConfig,
        texts: Option<Tensor>,
        rng: &mut fastrand::Rng,
    ) -> Result<Self, TransformerError> {
        config.check()?;
        let mut tensors = HashMap::new();
        for (name, shape) in config.shapes() {
            let values = initial(&name, &shape, rng);
            tensors.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
        }
        Self::from_tensors(config, &tensors, texts)
    }

    fn from_tensors(
        config: ModelConfig,
        tensors: &HashMap<String, Tensor>,
        texts: Option<Tensor>,
    ) -> Result<Self, TransformerError> {
        let varmap = VarMap::new();
        let mut vars = HashMap::new();
        {
            let mut data =
                varmap.data().lock().map_err(|_| TransformerError::Invalid("weights lock poisoned".into()))?;
            for (name, shape) in config.shapes() {
                let t = tensors
                    .get(&name)
                    .ok_or_else(|| TransformerError::Invalid(format!("the model file has no weight '{name}'")))?;
                if t.dims() != shape.as_slice() {
                    return Err(TransformerError::Invalid(format!(
                        "weight '{name}' has shape {:?}, expected {shape:?}",
                        t.dims()
                    )));
                }
                let var = Var::from_tensor(&t.to_dtype(DType::F32)?)?;
                data.insert(name.clone(), var.clone());
                vars.insert(name, var);
            }
        }
        if config.text_dim > 0
            && texts.as_ref().map(|t| t.dims().to_vec()) != Some(vec![config.n_items + 1, config.text_dim])
        {
            return Err(TransformerError::Invalid(format!(
                "the model reads {}-dimensional text vectors of {} items; the item embeddings given do not match",
                config.text_dim, config.n_items
            )));
        }
        Ok(Self { config, varmap, vars, texts: if config.text_dim > 0 { texts } else { None } })
    }

    /// The trainable variables.
    pub(super) fn all_vars(&self) -> Vec<Var> {
        self.varmap.all_vars()
    }

    /// Copies of every weight (to restore the best epoch).
    pub(super) fn snapshot(&self) -> Result<Vec<(Var, Tensor)>, TransformerError> {
        self.vars.values().map(|v| Ok((v.clone(), v.as_tensor().copy()?))).collect()
    }

    /// Restores weights taken with [`Self::snapshot`].
    pub(super) fn restore(snapshot: &[(Var, Tensor)]) -> Result<(), TransformerError> {
        for (var, t) in snapshot {
            var.set(t)?;
        }
        Ok(())
    }

    fn w(&self, name: &str) -> Result<&Tensor, TransformerError> {
        self.vars.get(name).map(Var::as_tensor).ok_or_else(|| TransformerError::Invalid(format!("no weight '{name}'")))
    }

    /// `x · W + b` over the last axis of `[batch, len, in]` (one matrix product over every
    /// position, not one per sequence).
    fn linear(&self, x: &Tensor, name: &str) -> Result<Tensor, TransformerError> {
        let w = self.w(&format!("{name}.w"))?;
        let (b, l, d) = x.dims3()?;
        let y = x.reshape((b * l, d))?.matmul(w)?.broadcast_add(self.w(&format!("{name}.b"))?)?;
        Ok(y.reshape((b, l, w.dim(1)?))?)
    }

    /// Layer norm over the last axis; `train` takes candle's differentiable composition,
    /// otherwise its fused op (no backward pass, several times faster for scoring).
    fn norm(&self, x: &Tensor, name: &str, train: bool) -> Result<Tensor, TransformerError> {
        let (w, b) = (self.w(&format!("{name}.w"))?, self.w(&format!("{name}.b"))?);
        if train {
            Ok(candle_nn::ops::layer_norm_slow(x, w, b, 1e-6)?)
        } else {
            Ok(candle_nn::ops::layer_norm(&x.contiguous()?, w, b, 1e-6)?)
        }
    }

    /// Input vectors of the items `ids` (u32, any shape): shape of `ids` + `[dim]`. The
    /// padding item is `n_items`.
    pub(super) fn item_vectors(&self, ids: &Tensor) -> Result<Tensor, TransformerError> {
        let flat = ids.flatten_all()?;
        let mut v = self.w("item.id")?.index_select(&flat, 0)?;
        if let Some(texts) = &self.texts {
            v = (v + texts.index_select(&flat, 0)?.matmul(self.w("item.text")?)?)?;
        }
        let mut dims = ids.dims().to_vec();
        dims.push(self.config.dim);
        Ok(v.reshape(dims)?)
    }

    /// [`Self::item_table`] with each item's id embedding scaled by `id_scale[i]` (the
    /// text projection unchanged).
    pub(super) fn item_table_scaled(&self, id_scale: &[f32]) -> Result<Tensor, TransformerError> {
        let n = self.config.n_items;
        let ids = Tensor::arange(0u32, n as u32, &Device::Cpu)?;
        let scale = Tensor::from_slice(id_scale, (n, 1), &Device::Cpu)?;
        let mut v = self.w("item.id")?.index_select(&ids, 0)?.broadcast_mul(&scale)?;
        if let Some(texts) = &self.texts {
            v = (v + texts.index_select(&ids, 0)?.matmul(self.w("item.text")?)?)?;
        }
        Ok(v)
    }

    /// Text vectors `[n, text_dim]` projected to item vectors `[n, dim]` (the text part of
    /// an item's input vector).
    pub(super) fn project_texts(&self, texts: &Tensor) -> Result<Tensor, TransformerError> {
        Ok(texts.matmul(self.w("item.text")?)?)
    }

    /// Every catalogue item's input vector, `[n_items, dim]` (the scoring table).
    pub(super) fn item_table(&self) -> Result<Tensor, TransformerError> {
        let ids = Tensor::arange(0u32, self.config.n_items as u32, &Device::Cpu)?;
        self.item_vectors(&ids)
    }

    /// Runs the network on left-padded sequences `seq` (`[batch, max_len]`, u32) whose
    /// real positions are 1 in `valid` (`[batch, max_len]`, f32). Dropout only in training;
    /// without it (validation, scoring) the pass uses candle's fused, non-differentiable
    /// layer norm and softmax.
    pub(super) fn forward(
        &self,
        seq: &Tensor,
        valid: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<Forward, TransformerError> {
        let (_, len) = seq.dims2()?;
        let train = dropout.is_some();
        let keep = valid.unsqueeze(2)?;
        let pos = self.w("pos")?.narrow(0, self.config.max_len.saturating_sub(len), len)?;
        let mut x = self.item_vectors(seq)?.broadcast_add(&pos)?;
        if let Some(d) = dropout.as_deref_mut() {
            x = d.apply(&x)?;
        }
        x = x.broadcast_mul(&keep)?;
        let bias = attention_bias(valid, len)?;
        let mut attention = None;
        for k in 0..self.config.blocks {
            let (a, probs) = self.attention(k, &self.norm(&x, &format!("b{k}.ln1"), train)?, &bias, train)?;
            let a = match dropout.as_deref_mut() {
                Some(d) => d.apply(&a)?,
                None => a,
            };
            x = (x + a)?.broadcast_mul(&keep)?;
            let f = self.linear(&self.norm(&x, &format!("b{k}.ln2"), train)?, &format!("b{k}.ff1"))?.relu()?;
            let f = self.linear(&f, &format!("b{k}.ff2"))?;
            let f = match dropout.as_deref_mut() {
                Some(d) => d.apply(&f)?,
                None => f,
            };
            x = (x + f)?.broadcast_mul(&keep)?;
            attention = Some(probs);
        }
        let hidden = self.norm(&x, "out.ln", train)?;
        let attention = match attention {
            Some(p) => p.mean(1)?,
            None => Tensor::zeros((seq.dim(0)?, len, len), DType::F32, &Device::Cpu)?,
        };
        Ok(Forward { hidden, attention })
    }

    /// Multi-head causal self-attention of block `k`: the output and the attention
    /// probabilities `[batch, heads, len, len]` (`train`: a differentiable softmax).
    fn attention(
        &self,
        k: usize,
        x: &Tensor,
        bias: &Tensor,
        train: bool,
    ) -> Result<(Tensor, Tensor), TransformerError> {
        let (b, l, d) = x.dims3()?;
        let h = self.config.heads;
        let dh = d / h.max(1);
        let split = |t: Tensor| -> Result<Tensor, TransformerError> {
            Ok(t.reshape((b, l, h, dh))?.transpose(1, 2)?.contiguous()?)
        };
        let q = split(self.linear(x, &format!("b{k}.q"))?)?;
        let key = split(self.linear(x, &format!("b{k}.k"))?)?;
        let v = split(self.linear(x, &format!("b{k}.v"))?)?;
        let scores = (q.matmul(&key.t()?.contiguous()?)? / (dh as f64).sqrt())?.broadcast_add(bias)?;
        let probs = if train {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores.contiguous()?)?
        };
        let out = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, l, d))?;
        Ok((self.linear(&out, &format!("b{k}.o"))?, probs))
    }

    /// Saves the weights and sizes as safetensors, atomically (a temporary file beside
    /// `path`, then a rename).
    /// `extra` tensors (such as the data fingerprint) are stored beside the weights.
    pub(super) fn save(&self, path: &Path, extra: Vec<(String, Tensor)>) -> Result<(), TransformerError> {
        let mut tensors: HashMap<String, Tensor> =
            self.vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
        tensors.insert("config".to_owned(), self.config.to_tensor()?);
        tensors.extend(extra);
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let io = |source: std::io::Error| TransformerError::Io { path: path.display().to_string(), source };
        let tmp =
            tempfile::Builder::new().prefix(".recfuse-").suffix(".safetensors.tmp").tempfile_in(dir).map_err(io)?;
        candle_core::safetensors::save(&tensors, tmp.path())?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Loads a network saved with [`Self::save`]; `texts` as in [`Self::new`].
    pub(super) fn load(
        tensors: &HashMap<String, Tensor>,
        path: &Path,
        texts: Option<Tensor>,
    ) -> Result<Self, TransformerError> {
        let config = tensors
            .get("config")
            .ok_or_else(|| TransformerError::Invalid(format!("{} is not a transformer model file", path.display())))?;
        let config = ModelConfig::from_tensor(config)?;
        Self::from_tensors(config, tensors, texts)
    }
}

/// Additive attention bias `[batch, 1, len, len]`: a query sees itself and earlier real
/// positions only.
fn attention_bias(valid: &Tensor, len: usize) -> Result<Tensor, TransformerError> {
    let causal: Vec<f32> = (0..len * len).map(|i| if i % len > i / len { MASKED as f32 } else { 0.0 }).collect();
    let causal = Tensor::from_vec(causal, (1, 1, len, len), &Device::Cpu)?;
    let padding = valid.affine(-MASKED, MASKED)?.unsqueeze(1)?.unsqueeze(1)?;
    Ok(causal.broadcast_add(&padding)?)
}
