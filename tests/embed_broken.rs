//! Broken models are refused at load (issue #12): NaN or infinite weights, a negative or
//! NaN layer-norm eps, `max_seq_length` 0 — each named with its file and field — and a
//! cache entry holding non-finite values is recomputed rather than served.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};
use recfuse::embed::{
    CacheOutcome, DeviceChoice, EmbedPrecision, EmbeddingCache, ItemTextTemplate, SentenceEmbedder, embed_with_cache,
};
use recfuse::jobs::Progress;

const VOCAB: [&str; 8] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "red", "mug", "blue", "cup"];

fn config() -> serde_json::Value {
    serde_json::json!({
        "vocab_size": VOCAB.len(), "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 16, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "max_position_embeddings": 16, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"
    })
}

fn tokenizer_json() -> serde_json::Value {
    let vocab: serde_json::Map<String, serde_json::Value> =
        VOCAB.iter().enumerate().map(|(i, w)| ((*w).to_owned(), serde_json::json!(i))).collect();
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    })
}

/// Writes a tiny random model; `config` is written as given, `poison` may set one weight
/// (by name suffix) to a value.
fn write_model(dir: &Path, config: &serde_json::Value, max_seq_length: usize, poison: Option<(&str, f32)>) {
    let parsed: Config = serde_json::from_value(self::config()).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &parsed).unwrap();
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let noise = Tensor::randn(0f32, 0.5, var.shape(), &Device::Cpu).unwrap();
        let base = if name.ends_with("LayerNorm.weight") { 1.0 } else { 0.0 };
        let mut value = (noise + base).unwrap();
        if let Some((suffix, v)) = poison
            && name.ends_with(suffix)
        {
            value = Tensor::full(v, var.shape(), &Device::Cpu).unwrap();
        }
        var.set(&value).unwrap();
    }
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        serde_json::json!({"max_seq_length": max_seq_length}).to_string(),
    )
    .unwrap();
    varmap.save(dir.join("model.safetensors")).unwrap();
}

fn load(dir: &Path) -> Result<SentenceEmbedder, String> {
    SentenceEmbedder::load(dir, DeviceChoice::Cpu, EmbedPrecision::F32).map_err(|e| e.to_string())
}

fn refused(dir: &Path) -> String {
    match load(dir) {
        Ok(_) => panic!("the broken model in {} loaded", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn nan_weights_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &config(), 16, Some(("word_embeddings.weight", f32::NAN)));
    let msg = refused(dir.path());
    assert!(msg.contains("model.safetensors") && msg.contains("non-finite"), "{msg}");
}

#[test]
fn infinite_layer_norm_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &config(), 16, Some(("embeddings.LayerNorm.weight", f32::INFINITY)));
    let msg = refused(dir.path());
    assert!(msg.contains("model.safetensors") && msg.contains("non-finite"), "{msg}");
}

#[test]
fn negative_layer_norm_eps_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c["layer_norm_eps"] = serde_json::json!(-1.0);
    write_model(dir.path(), &c, 16, None);
    let msg = refused(dir.path());
    assert!(msg.contains("config.json") && msg.contains("layer_norm_eps") && msg.contains("-1"), "{msg}");
}

#[test]
fn zero_max_seq_length_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &config(), 0, None);
    let msg = refused(dir.path());
    assert!(msg.contains("sentence_bert_config.json") && msg.contains("max_seq_length"), "{msg}");
}

#[test]
fn a_sound_model_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &config(), 16, None);
    assert!(load(dir.path()).is_ok());
}

#[test]
fn non_finite_cache_entries_are_recomputed() {
    let model_dir = tempfile::tempdir().unwrap();
    write_model(model_dir.path(), &config(), 16, None);
    let e = load(model_dir.path()).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::open(cache_dir.path()).unwrap();
    let texts: Vec<String> = ["red mug", "blue cup"].iter().map(|s| (*s).to_owned()).collect();
    let fp = ItemTextTemplate::default().fingerprint();
    let (good, outcome) = embed_with_cache(&e, &texts, Some(&cache), &fp, 2, &Progress::new()).unwrap();
    assert_eq!(outcome, CacheOutcome::Miss);
    // Poison the stored entry: every f32 in the file's data section becomes NaN.
    let entry = std::fs::read_dir(cache_dir.path()).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&entry).unwrap();
    let data_len = good.data.len() * 4;
    let start = bytes.len() - data_len;
    for chunk in bytes[start..].chunks_exact_mut(4) {
        chunk.copy_from_slice(&f32::NAN.to_le_bytes());
    }
    std::fs::write(&entry, &bytes).unwrap();
    let (again, outcome) = embed_with_cache(&e, &texts, Some(&cache), &fp, 2, &Progress::new()).unwrap();
    assert_eq!(outcome, CacheOutcome::Miss, "a NaN entry must not be served");
    assert!(again.data.iter().all(|v| v.is_finite()));
    assert_eq!(again, good);
}
