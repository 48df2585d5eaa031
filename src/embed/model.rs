//! Finding a sentence-embedding model on disk and reading its files.
//!
//! A model is a directory in Hugging Face layout: `config.json` (BERT config),
//! `tokenizer.json`, `model.safetensors`, and optionally `sentence_bert_config.json`
//! (`max_seq_length`) and `1_Pooling/config.json` (pooling mode). Every check here turns a
//! bad file into an [`EmbedError`] naming the file; nothing panics.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config as BertConfig;

use super::bert::BertEncoder;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::error::{EmbedError, first_line};

/// The bundled model's folder name under `assets/models/`.
pub const DEFAULT_MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// The files of one model directory, checked to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The model directory.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// `sentence_bert_config.json`, when present.
    pub sentence_config: Option<PathBuf>,
    /// `1_Pooling/config.json`, when present.
    pub pooling_config: Option<PathBuf>,
}

impl ModelFiles {
    /// Checks that `dir` holds the required files.
    pub fn from_dir(dir: &Path) -> Result<Self, EmbedError> {
        if !dir.is_dir() {
            return Err(EmbedError::ModelDirMissing(dir.to_path_buf()));
        }
        let required = |name: &str, expected: &'static str| {
            let file = dir.join(name);
            if file.is_file() { Ok(file) } else { Err(EmbedError::MissingFile { file, expected }) }
        };
        let optional = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Ok(Self {
            dir: dir.to_path_buf(),
            config: required("config.json", "the BERT model configuration (JSON)")?,
            tokenizer: required("tokenizer.json", "a Hugging Face tokenizers file (JSON)")?,
            weights: required("model.safetensors", "the model weights in safetensors format")?,
            sentence_config: optional("sentence_bert_config.json"),
            pooling_config: optional("1_Pooling/config.json"),
        })
    }

    /// Finds a model from what a user typed: a directory, or a name such as
    /// `sentence-transformers/all-MiniLM-L6-v2` looked up in the Hugging Face cache.
    pub fn locate(spec: &str) -> Result<Self, EmbedError> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Self::from_dir(path);
        }
        let hub = hf_hub_dir();
        if let Some(snapshot) = hub.as_deref().and_then(|h| hf_cached_snapshot(h, spec)) {
            return Self::from_dir(&snapshot);
        }
        let looks_like_name =
            !spec.is_empty() && spec.split('/').count() == 2 && !path.is_absolute() && !spec.starts_with('.');
        if looks_like_name {
            Err(EmbedError::ModelNotFound {
                name: spec.to_owned(),
                searched: hub.map_or_else(|| "no Hugging Face cache directory".to_owned(), |h| h.display().to_string()),
            })
        } else {
            Err(EmbedError::ModelDirMissing(path.to_path_buf()))
        }
    }
}

/// The Hugging Face hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn hf_hub_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("HF_HOME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p).join("hub"));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".cache").join("huggingface").join("hub"))
}

/// The snapshot directory of `ORG/NAME` inside a hub cache: the one `refs/main` points
/// to, else the most recently modified snapshot that has a `config.json`.
pub fn hf_cached_snapshot(hub: &Path, name: &str) -> Option<PathBuf> {
    let (org, model) = name.split_once('/')?;
    if org.is_empty() || model.is_empty() || model.contains('/') {
        return None;
    }
    let repo = hub.join(format!("models--{org}--{model}"));
    let snapshots = repo.join("snapshots");
    if let Ok(reference) = std::fs::read_to_string(repo.join("refs").join("main")) {
        let candidate = snapshots.join(reference.trim());
        if candidate.join("config.json").is_file() {
            return Some(candidate);
        }
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("config.json").is_file())
        .map(|p| (p.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), p))
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

/// The bundled model directory `assets/models/all-MiniLM-L6-v2`, looked for next to the
/// executable and a few parents up (so `target/release/recfuse` finds the repository's
/// assets), then under the crate's source directory, then under the current directory.
pub fn default_model_dir() -> Option<PathBuf> {
    let relative = Path::new("assets").join("models").join(DEFAULT_MODEL_NAME);
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        roots.extend(exe_dir.ancestors().take(5).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    roots.into_iter().map(|r| r.join(&relative)).find(|d| d.join("config.json").is_file())
}

/// How token vectors become one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the tokens that the attention mask marks as real.
    Mean,
    /// The first token (`[CLS]`).
    Cls,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceConfig {
    max_seq_length: Option<usize>,
}

fn read_text(path: &Path) -> Result<String, EmbedError> {
    std::fs::read_to_string(path).map_err(|source| EmbedError::Io { path: path.to_path_buf(), source })
}

fn parse_json<T: for<'de> Deserialize<'de>>(path: &Path, what: &str) -> Result<T, EmbedError> {
    serde_json::from_str(&read_text(path)?)
        .map_err(|e| EmbedError::InvalidFile { file: path.to_path_buf(), reason: format!("expected {what}: {e}") })
}

/// The parsed BERT configuration.
pub fn read_bert_config(files: &ModelFiles) -> Result<BertConfig, EmbedError> {
    let config: BertConfig = parse_json(&files.config, "a BERT config (hidden_size, num_attention_heads, …)")?;
    if config.num_attention_heads == 0 || !config.hidden_size.is_multiple_of(config.num_attention_heads) {
        return Err(EmbedError::InvalidFile {
            file: files.config.clone(),
            reason: format!(
                "hidden_size {} must be a positive multiple of num_attention_heads {}",
                config.hidden_size, config.num_attention_heads
            ),
        });
    }
    if !(config.layer_norm_eps.is_finite() && config.layer_norm_eps > 0.0) {
        return Err(EmbedError::InvalidFile {
            file: files.config.clone(),
            reason: format!("layer_norm_eps {} must be a positive finite number", config.layer_norm_eps),
        });
    }
    Ok(config)
}

/// The pooling mode; mean when the model has no pooling config.
pub fn read_pooling(files: &ModelFiles) -> Result<Pooling, EmbedError> {
    let Some(path) = &files.pooling_config else {
        return Ok(Pooling::Mean);
    };
    let c: PoolingConfig = parse_json(path, "a sentence-transformers pooling config")?;
    match (
        c.pooling_mode_mean_tokens,
        c.pooling_mode_cls_token,
        c.pooling_mode_max_tokens,
        c.pooling_mode_mean_sqrt_len_tokens,
    ) {
        (true, false, false, false) => Ok(Pooling::Mean),
        (false, true, false, false) => Ok(Pooling::Cls),
        _ => Err(EmbedError::InvalidFile {
            file: path.clone(),
            reason: "expected exactly one of pooling_mode_mean_tokens or pooling_mode_cls_token to be true \
                     (max and sqrt-length pooling are not supported)"
                .to_owned(),
        }),
    }
}

/// The longest input in tokens: `max_seq_length` from `sentence_bert_config.json`, else
/// the tokenizer's truncation length, else the model's position limit; never more than
/// `max_position_embeddings`.
pub fn read_max_seq_length(
    files: &ModelFiles,
    config: &BertConfig,
    tokenizer: &Tokenizer,
) -> Result<usize, EmbedError> {
    let from_sentence = match &files.sentence_config {
        Some(path) => {
            parse_json::<SentenceConfig>(path, "a sentence-transformers config with max_seq_length")?.max_seq_length
        }
        None => None,
    };
    if let (Some(0), Some(path)) = (from_sentence, &files.sentence_config) {
        return Err(EmbedError::InvalidFile {
            file: path.clone(),
            reason: "max_seq_length 0: the model could read no token (expected at least 2)".to_owned(),
        });
    }
    let wanted = from_sentence
        .or_else(|| tokenizer.get_truncation().map(|t| t.max_length))
        .unwrap_or(config.max_position_embeddings);
    Ok(wanted.clamp(2, config.max_position_embeddings.max(2)))
}

/// Loads `tokenizer.json` and sets truncation at `max_len` tokens (longest first, as
/// sentence-transformers does) and padding to the longest text of a batch — the file's
/// own settings (fixed 128 for the bundled model) would break parity.
pub fn read_tokenizer(files: &ModelFiles) -> Result<Tokenizer, EmbedError> {
    Tokenizer::from_file(&files.tokenizer).map_err(|e| EmbedError::InvalidFile {
        file: files.tokenizer.clone(),
        reason: format!("expected a Hugging Face tokenizers JSON file: {}", first_line(&e.to_string())),
    })
}

/// Sets the truncation and padding that sentence-transformers uses.
pub fn configure_tokenizer(tokenizer: &mut Tokenizer, max_len: usize, file: &Path) -> Result<(), EmbedError> {
    let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
    padding.strategy = tokenizers::PaddingStrategy::BatchLongest;
    padding.pad_to_multiple_of = None;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_len,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|e| EmbedError::InvalidFile {
            file: file.to_path_buf(),
            reason: format!("cannot truncate at {max_len} tokens: {}", first_line(&e.to_string())),
        })?
        .with_padding(Some(padding));
    Ok(())
}

/// The raw bytes of `model.safetensors` and of `config.json`, and their fingerprint.
pub struct WeightBytes {
    /// Contents of `model.safetensors`.
    pub weights: Vec<u8>,
    /// Hex SHA-256 over the weights, the config and the tokenizer files.
    pub fingerprint: String,
}

/// Reads the weights and computes the model fingerprint (weights, `config.json`,
/// `tokenizer.json`, `sentence_bert_config.json` and pooling config all change the output).
pub fn read_weights(files: &ModelFiles) -> Result<WeightBytes, EmbedError> {
    let weights =
        std::fs::read(&files.weights).map_err(|source| EmbedError::Io { path: files.weights.clone(), source })?;
    let mut hasher = Sha256::new();
    hasher.update(&weights);
    let others =
        [Some(&files.config), Some(&files.tokenizer), files.sentence_config.as_ref(), files.pooling_config.as_ref()];
    for path in others.into_iter().flatten() {
        let bytes = std::fs::read(path).map_err(|source| EmbedError::Io { path: path.clone(), source })?;
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let fingerprint = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(WeightBytes { weights, fingerprint })
}

/// Builds the BERT model from safetensors bytes, converting the stored dtype (f16 in the
/// bundled model) to `dtype`.
pub fn build_bert(
    files: &ModelFiles,
    weights: Vec<u8>,
    config: &BertConfig,
    dtype: DType,
    device: &Device,
) -> Result<BertEncoder, EmbedError> {
    let vb = VarBuilder::from_buffered_safetensors(weights, dtype, device).map_err(|e| EmbedError::InvalidFile {
        file: files.weights.clone(),
        reason: format!("expected a complete safetensors file: {}", first_line(&e.to_string())),
    })?;
    BertEncoder::load(vb, config).map_err(|e| EmbedError::InvalidFile {
        file: files.weights.clone(),
        reason: format!(
            "expected BERT tensors matching {} (hidden_size {}, {} layers): {}",
            files.config.display(),
            config.hidden_size,
            config.num_hidden_layers,
            first_line(&e.to_string())
        ),
    })
}
