//! The network: a wide linear part over the dense features (signal scores and cheap
//! features) plus a deep part, one hidden ReLU layer over the dense features, V_u, V_i,
//! V_u ⊙ V_i and the vector flag. Weights live in a [`VarMap`], initialised from a seeded
//! `fastrand` generator; saved as safetensors with a JSON description of the features.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::RankerError;
use super::features::{FeatureInput, ShopperRows, dense_width, shopper_rows};
use crate::embed::ItemVectors;
use crate::fusion::CandidateSet;
use crate::score::{SignalId, UserProfile};

/// The format version written into model files.
const FORMAT: u32 = 1;

/// The sizes of a ranker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankerConfig {
    /// Signal-score features.
    pub signals: usize,
    /// Length of V_u and V_i (0 = no embedding features).
    pub dim: usize,
    /// Width of the hidden layer.
    pub hidden: usize,
}

impl RankerConfig {
    /// Every weight's name and shape, in a fixed order (initialisation follows it).
    fn shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        let (w, h, d) = (dense_width(self.signals), self.hidden, self.dim);
        let mut out = vec![("wide.w", vec![w, 1]), ("deep.dense", vec![w, h])];
        if d > 0 {
            out.extend([("deep.user", vec![d, h]), ("deep.item", vec![d, h]), ("deep.both", vec![d, h])]);
            out.push(("deep.flag", vec![1, h]));
        }
        out.extend([("deep.b", vec![h]), ("out.w", vec![h, 1]), ("out.b", vec![1])]);
        out
    }

    fn check(&self) -> Result<(), RankerError> {
        if self.hidden == 0 || self.hidden > 4_096 || self.signals > 64 || self.dim > 8_192 {
            return Err(RankerError::Invalid(format!(
                "invalid ranker sizes: {} signals, {}-dimensional vectors, hidden width {}",
                self.signals, self.dim, self.hidden
            )));
        }
        Ok(())
    }
}

/// What a model file says about itself besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerMeta {
    /// File format version.
    pub format: u32,
    /// The network's sizes.
    pub config: RankerConfig,
    /// The signal features, in column order (signal ids).
    pub signals: Vec<String>,
    /// The cheap features, in column order.
    pub cheap: Vec<String>,
    /// The data fingerprint it was trained on ([`super::data_fingerprint`]).
    pub fingerprint: String,
    /// Training summary (epochs, validation NDCG, the comparison with tuned fusion).
    pub summary: serde_json::Value,
}

/// Flat inputs for a batch of rows.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    pub(crate) rows: usize,
    pub(crate) dense: Vec<f32>,
    pub(crate) user: Vec<f32>,
    pub(crate) item: Vec<f32>,
    pub(crate) flag: Vec<f32>,
}

impl Inputs {
    /// Appends rows `range` of a shopper, looking V_i up in `vectors`.
    pub(crate) fn push(
        &mut self,
        rows: &ShopperRows,
        range: std::ops::Range<usize>,
        vectors: Option<&ItemVectors>,
        dim: usize,
    ) {
        let width = rows.dense.len().checked_div(rows.n).unwrap_or(0);
        for j in range {
            self.dense.extend_from_slice(rows.dense.get(j * width..(j + 1) * width).unwrap_or(&[]));
            let flag = rows.flag.get(j).copied().unwrap_or(0.0);
            if dim > 0 {
                let item = rows.items.get(j).and_then(|&i| vectors.and_then(|v| v.row(i)));
                match (flag > 0.0, item) {
                    (true, Some(v)) if v.len() == dim && rows.user.len() == dim => {
                        self.user.extend_from_slice(&rows.user);
                        self.item.extend_from_slice(v);
                    }
                    _ => {
                        self.user.extend(std::iter::repeat_n(0.0, dim));
                        self.item.extend(std::iter::repeat_n(0.0, dim));
                    }
                }
                self.flag.push(flag);
            }
            self.rows += 1;
        }
    }
}

/// A trained (or freshly initialised) ranker.
pub struct Ranker {
    /// What the file says about the model.
    pub meta: RankerMeta,
    signals: Vec<SignalId>,
    varmap: VarMap,
    vars: HashMap<String, Var>,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker").field("meta", &self.meta).finish_non_exhaustive()
    }
}

/// U(±1/√fan_in) for matrices, zeros for biases, from the seeded generator.
fn initial(name: &str, shape: &[usize], rng: &mut fastrand::Rng) -> Vec<f32> {
    let n: usize = shape.iter().product();
    if name.ends_with(".b") {
        return vec![0.0; n];
    }
    let bound = 1.0 / (shape.first().copied().unwrap_or(1).max(1) as f32).sqrt();
    (0..n).map(|_| (rng.f32() * 2.0 - 1.0) * bound).collect()
}

impl Ranker {
    /// A freshly initialised ranker reading `signals` and `dim`-dimensional vectors.
    pub fn new(
        signals: &[SignalId],
        dim: usize,
        hidden: usize,
        fingerprint: String,
        seed: u64,
    ) -> Result<Self, RankerError> {
        let config = RankerConfig { signals: signals.len(), dim, hidden };
        config.check()?;
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut tensors = HashMap::new();
        for (name, shape) in config.shapes() {
            let values = initial(name, &shape, &mut rng);
            tensors.insert(name.to_owned(), Tensor::from_vec(values, shape, &Device::Cpu)?);
        }
        let meta = RankerMeta {
            format: FORMAT,
            config,
            signals: signals.iter().map(|s| s.id().to_owned()).collect(),
            cheap: super::CHEAP_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            fingerprint,
            summary: serde_json::Value::Null,
        };
        Self::from_tensors(meta, &tensors)
    }

    /// A ranker with the given weights (name → values; see the shapes in the source).
    pub fn with_weights(
        signals: &[SignalId],
        dim: usize,
        hidden: usize,
        weights: &[(&str, Vec<f32>)],
    ) -> Result<Self, RankerError> {
        let mut r = Self::new(signals, dim, hidden, String::new(), 0)?;
        for (name, values) in weights {
            let var = r.vars.get(*name).ok_or_else(|| RankerError::Invalid(format!("no weight '{name}'")))?;
            var.set(&Tensor::from_vec(values.clone(), var.shape(), &Device::Cpu)?)?;
        }
        r.meta.summary = serde_json::Value::Null;
        Ok(r)
    }

    fn from_tensors(meta: RankerMeta, tensors: &HashMap<String, Tensor>) -> Result<Self, RankerError> {
        meta.config.check()?;
        let signals = meta
            .signals
            .iter()
            .map(|id| {
                SignalId::from_id(id).ok_or_else(|| {
                    RankerError::Stale(format!("the ranker reads a signal '{id}' this version does not have"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if signals.len() != meta.config.signals {
            return Err(RankerError::Invalid("the ranker's feature list does not match its sizes".into()));
        }
        let varmap = VarMap::new();
        let mut vars = HashMap::new();
        {
            let mut data = varmap.data().lock().map_err(|_| RankerError::Invalid("weights lock poisoned".into()))?;
            for (name, shape) in meta.config.shapes() {
                let t = tensors
                    .get(name)
                    .ok_or_else(|| RankerError::Invalid(format!("the model file has no weight '{name}'")))?;
                if t.dims() != shape.as_slice() {
                    return Err(RankerError::Invalid(format!(
                        "weight '{name}' has shape {:?}, expected {shape:?}",
                        t.dims()
                    )));
                }
                let var = Var::from_tensor(&t.to_dtype(DType::F32)?)?;
                data.insert(name.to_owned(), var.clone());
                vars.insert(name.to_owned(), var);
            }
        }
        Ok(Self { meta, signals, varmap, vars })
    }

    /// The signals it reads, in column order.
    pub fn signals(&self) -> &[SignalId] {
        &self.signals
    }

    /// Its sizes.
    pub fn config(&self) -> RankerConfig {
        self.meta.config
    }

    /// What it reads and what its training found, in one sentence for reports.
    pub fn describe(&self) -> String {
        let c = self.meta.config;
        let embeddings = if c.dim > 0 {
            format!("{}-dimensional item and shopper embeddings", c.dim)
        } else {
            "no embeddings".to_owned()
        };
        let mut text = format!(
            "a wide-and-deep network ({} hidden units) over the scores of {}, the cheap features {} and {embeddings}",
            c.hidden,
            self.meta.signals.join(", "),
            self.meta.cheap.join(", "),
        );
        let v = self.meta.summary.get("versus_tuned");
        let number = |key: &str| v.and_then(|v| v.get(key)).and_then(serde_json::Value::as_f64);
        if let (Some(learned), Some(tuned), Some(shoppers)) =
            (number("learned_ndcg"), number("tuned_ndcg"), number("shoppers"))
        {
            let k = self.meta.summary.get("k").and_then(serde_json::Value::as_u64).unwrap_or(10);
            let beats = v.and_then(|v| v.get("beats_tuned")) == Some(&serde_json::Value::Bool(true));
            text.push_str(&format!(
                "; on {shoppers} validation shoppers kept apart from its training, NDCG@{k} {learned:.4} against the tuned \
                 fusion's {tuned:.4} ({})",
                if beats { "better with confidence" } else { "not better with confidence" }
            ));
        }
        text
    }

    /// Starts from a linear ranking: the wide part's signal weights set to `weights`
    /// (its cheap-feature weights to 0) and the deep part's output weights to 0 (its
    /// hidden layer keeps its random start, so the first steps move it).
    pub(crate) fn warm_start(&self, weights: &[f32]) -> Result<(), RankerError> {
        let c = self.meta.config;
        let wide: Vec<f32> = (0..dense_width(c.signals)).map(|i| weights.get(i).copied().unwrap_or(0.0)).collect();
        let var = self.vars.get("wide.w").ok_or_else(|| RankerError::Invalid("no weight 'wide.w'".into()))?;
        var.set(&Tensor::from_vec(wide, var.shape(), &Device::Cpu)?)?;
        let out = self.vars.get("out.w").ok_or_else(|| RankerError::Invalid("no weight 'out.w'".into()))?;
        out.set(&(out.as_tensor() * 0.0)?)?;
        Ok(())
    }

    pub(crate) fn all_vars(&self) -> Vec<Var> {
        self.varmap.all_vars()
    }

    pub(crate) fn snapshot(&self) -> Result<Vec<(Var, Tensor)>, RankerError> {
        self.vars.values().map(|v| Ok((v.clone(), v.as_tensor().copy()?))).collect()
    }

    pub(crate) fn restore(snapshot: &[(Var, Tensor)]) -> Result<(), RankerError> {
        for (var, t) in snapshot {
            var.set(t)?;
        }
        Ok(())
    }

    /// A weight by name (see the shapes in the source), when the model has it.
    pub(crate) fn weight(&self, name: &str) -> Option<&Tensor> {
        self.vars.get(name).map(Var::as_tensor)
    }

    fn w(&self, name: &str) -> Result<&Tensor, RankerError> {
        self.vars.get(name).map(Var::as_tensor).ok_or_else(|| RankerError::Invalid(format!("no weight '{name}'")))
    }

    /// Scores of a batch, `[rows]`, as candle tensors (training differentiates it;
    /// scoring takes the equal, faster path of [`super::Scorer`]).
    pub(crate) fn forward(&self, x: &Inputs) -> Result<Tensor, RankerError> {
        let c = self.meta.config;
        let dev = Device::Cpu;
        let dense = Tensor::from_slice(&x.dense, (x.rows, dense_width(c.signals)), &dev)?;
        let mut h = dense.matmul(self.w("deep.dense")?)?;
        if c.dim > 0 {
            let user = Tensor::from_slice(&x.user, (x.rows, c.dim), &dev)?;
            let item = Tensor::from_slice(&x.item, (x.rows, c.dim), &dev)?;
            let flag = Tensor::from_slice(&x.flag, (x.rows, 1), &dev)?;
            h = (h + user.matmul(self.w("deep.user")?)?)?;
            h = (h + item.matmul(self.w("deep.item")?)?)?;
            h = (h + (&user * &item)?.matmul(self.w("deep.both")?)?)?;
            h = (h + flag.matmul(self.w("deep.flag")?)?)?;
        }
        let h = h.broadcast_add(self.w("deep.b")?)?.relu()?;
        let y = (h.matmul(self.w("out.w")?)? + dense.matmul(self.w("wide.w")?)?)?;
        Ok(y.broadcast_add(self.w("out.b")?)?.squeeze(1)?)
    }

    /// Refuses a model trained on other data, or reading signals or vectors that are
    /// missing now, with a message saying what differs.
    pub fn check_compatible(
        &self,
        fingerprint: &str,
        available: &[SignalId],
        vectors: Option<&ItemVectors>,
    ) -> Result<(), RankerError> {
        if self.meta.fingerprint != fingerprint {
            return Err(RankerError::Stale(format!(
                "the ranker was trained on other data (data fingerprint {}, these files give {fingerprint}); \
                 train it again on these files (recfuse train, or Train ranker in the Evaluate tab)",
                self.meta.fingerprint
            )));
        }
        let missing: Vec<&str> = self.signals.iter().filter(|s| !available.contains(s)).map(|s| s.id()).collect();
        if !missing.is_empty() {
            return Err(RankerError::Stale(format!(
                "the ranker reads signals that are not available now: {}",
                missing.join(", ")
            )));
        }
        let dim = self.meta.config.dim;
        if dim > 0 && vectors.is_none_or(|v| v.dim != dim) {
            return Err(RankerError::Stale(format!(
                "the ranker reads {dim}-dimensional item embeddings; {}",
                vectors.map_or("there are none now (--no-semantic, or no embedding model)".to_owned(), |v| {
                    format!("the embeddings now have {} dimensions", v.dim)
                })
            )));
        }
        Ok(())
    }

    /// The feature rows of a candidate set for this model.
    pub fn rows(&self, set: &CandidateSet, profile: &UserProfile, input: &FeatureInput<'_>) -> ShopperRows {
        shopper_rows(set, &self.signals, profile, input, self.meta.config.dim)
    }

    /// Scores of prepared rows (the fast exact path of [`super::Scorer`]).
    pub fn score_rows(&self, rows: &ShopperRows, vectors: Option<&ItemVectors>) -> Result<Vec<f32>, RankerError> {
        self.scorer(vectors, false)?.score(rows)
    }

    /// The model's score of every candidate of `set`.
    pub fn score_set(
        &self,
        set: &CandidateSet,
        profile: &UserProfile,
        input: &FeatureInput<'_>,
    ) -> Result<Vec<f32>, RankerError> {
        self.score_rows(&self.rows(set, profile, input), input.vectors)
    }

    /// Saves weights and description as safetensors, atomically (a temporary file beside
    /// `path`, then a rename); an existing target that is not a regular file is refused.
    pub fn save(&self, path: &Path) -> Result<(), RankerError> {
        let file_err = |message: String| RankerError::File { path: path.display().to_string(), message };
        if let Ok(m) = std::fs::symlink_metadata(path)
            && !m.file_type().is_file()
        {
            return Err(file_err("exists and is not a regular file; refusing to replace it".into()));
        }
        let mut tensors: HashMap<String, Tensor> =
            self.vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
        let meta = serde_json::to_vec(&self.meta).map_err(|e| file_err(e.to_string()))?;
        let n = meta.len();
        tensors.insert("meta".to_owned(), Tensor::from_vec(meta, n, &Device::Cpu)?);
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".recfuse-")
            .suffix(".safetensors.tmp")
            .tempfile_in(dir)
            .map_err(|e| file_err(e.to_string()))?;
        candle_core::safetensors::save(&tensors, tmp.path())?;
        tmp.persist(path).map_err(|e| file_err(e.error.to_string()))?;
        Ok(())
    }

    /// Loads a ranker saved with [`Self::save`].
    pub fn load(path: &Path) -> Result<Self, RankerError> {
        let file_err = |message: String| RankerError::File { path: path.display().to_string(), message };
        let meta = std::fs::metadata(path).map_err(|e| file_err(e.to_string()))?;
        if !meta.is_file() || meta.len() > 1 << 30 {
            return Err(file_err("not a regular file of at most 1 GiB".into()));
        }
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| file_err(format!("not a safetensors file ({e})")))?;
        let bytes: Vec<u8> = tensors
            .get("meta")
            .ok_or_else(|| file_err("not a RecFuse ranker file (no 'meta' entry)".into()))?
            .to_vec1()?;
        let meta: RankerMeta =
            serde_json::from_slice(&bytes).map_err(|e| file_err(format!("unreadable ranker description: {e}")))?;
        if meta.format != FORMAT {
            return Err(file_err(format!("ranker file format {} (this version reads {FORMAT})", meta.format)));
        }
        Self::from_tensors(meta, &tensors)
    }
}
