//! The embedder on a tiny random BERT built here (no real model needed): loading,
//! pooling, batching, errors for broken model directories, and the cache.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};
use recfuse::embed::{
    CacheOutcome, DeviceChoice, EmbedError, EmbedPrecision, EmbeddingCache, ItemTextTemplate, SentenceEmbedder,
    embed_with_cache,
};
use recfuse::jobs::Progress;

const VOCAB: [&str; 12] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "red", "mug", "blue", "cup", "big", "tea", "pot", "set"];

fn tiny_config() -> serde_json::Value {
    serde_json::json!({
        "vocab_size": VOCAB.len(), "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 16, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "max_position_embeddings": 16, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"
    })
}

fn tokenizer_json() -> serde_json::Value {
    let vocab: serde_json::Map<String, serde_json::Value> =
        VOCAB.iter().enumerate().map(|(i, w)| ((*w).to_owned(), serde_json::json!(i))).collect();
    serde_json::json!({
        "version": "1.0",
        // Deliberately wrong for parity, like the real model's file: must be overridden.
        "truncation": {"direction": "Right", "max_length": 3, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 12}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    })
}

/// Writes a tiny random BERT model directory; returns the model built from the same
/// weights (via candle-transformers directly) for computing expected values.
fn write_tiny_model(dir: &Path, max_seq_length: usize) -> BertModel {
    let config: Config = serde_json::from_value(tiny_config()).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let model = BertModel::load(vb, &config).unwrap();
    // VarMap initialises LayerNorm to ones/zeros; randomise everything so pooling matters.
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let noise = Tensor::randn(0f32, 0.5, var.shape(), &Device::Cpu).unwrap();
        let base = if name.ends_with("LayerNorm.weight") { 1.0 } else { 0.0 };
        var.set(&(noise + base).unwrap()).unwrap();
    }
    std::fs::write(dir.join("config.json"), tiny_config().to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        serde_json::json!({"max_seq_length": max_seq_length, "do_lower_case": false}).to_string(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    std::fs::write(
        dir.join("1_Pooling/config.json"),
        r#"{"word_embedding_dimension": 8, "pooling_mode_mean_tokens": true, "pooling_mode_cls_token": false}"#,
    )
    .unwrap();
    varmap.save(dir.join("model.safetensors")).unwrap();
    model
}

/// Expected sentence vector computed by hand: the model run on one unpadded sequence,
/// the plain average of its token vectors, divided by its length.
fn expected_vector(model: &BertModel, ids: &[u32]) -> Vec<f32> {
    let input = Tensor::new(ids, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let types = input.zeros_like().unwrap();
    let hidden = model.forward(&input, &types, None).unwrap().squeeze(0).unwrap().to_vec2::<f32>().unwrap();
    let dim = hidden[0].len();
    let mut mean = vec![0f32; dim];
    for token in &hidden {
        for (m, v) in mean.iter_mut().zip(token) {
            *m += v / hidden.len() as f32;
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    mean.iter().map(|x| x / norm).collect()
}

fn load(dir: &Path) -> Result<SentenceEmbedder, EmbedError> {
    SentenceEmbedder::load(dir, DeviceChoice::Cpu, EmbedPrecision::F32)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn tiny_model_loads_pools_and_keeps_order_across_padded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_tiny_model(dir.path(), 16);
    let e = load(dir.path()).unwrap();
    assert_eq!(e.dim(), 8);
    assert_eq!(e.max_seq_length(), 16);
    assert_eq!(e.model_fingerprint().len(), 64);

    // Different lengths in one batch: padding must not leak into the short text's mean.
    let texts = strings(&["Red mug", "big blue tea pot set", "", "cup"]);
    let out = e.embed(&texts, 4, &Progress::new()).unwrap();
    assert_eq!(out.len(), 4);
    // [CLS]=2 … [SEP]=3; "" is just [CLS] [SEP].
    let ids: [&[u32]; 4] = [&[2, 4, 5, 3], &[2, 8, 6, 9, 10, 11, 3], &[2, 3], &[2, 7, 3]];
    for (i, ids) in ids.iter().enumerate() {
        assert_close(out.row(i).unwrap(), &expected_vector(&model, ids));
    }
    // Batch size 1 (no padding at all) gives the same vectors.
    let one_by_one = e.embed(&texts, 1, &Progress::new()).unwrap();
    for i in 0..4 {
        assert_close(out.row(i).unwrap(), one_by_one.row(i).unwrap());
    }
}

#[test]
fn catalogues_larger_than_one_chunk_keep_every_vector_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_tiny_model(dir.path(), 16);
    let e = load(dir.path()).unwrap();
    // Two chunks and a bit: the text at each position is known, so each row can be checked
    // against the reference vector of that text, on both sides of the chunk boundary.
    let words = ["Red mug", "cup", "big blue tea pot set"];
    let ids: [&[u32]; 3] = [&[2, 4, 5, 3], &[2, 7, 3], &[2, 8, 6, 9, 10, 11, 3]];
    let n = 2 * recfuse::embed::encoder::EMBED_CHUNK_TEXTS + 3;
    let texts: Vec<String> = (0..n).map(|i| words[i % 3].to_owned()).collect();
    let out = e.embed(&texts, 64, &Progress::new()).unwrap();
    assert_eq!(out.len(), n);
    let expected: Vec<Vec<f32>> = ids.iter().map(|ids| expected_vector(&model, ids)).collect();
    let chunk = recfuse::embed::encoder::EMBED_CHUNK_TEXTS;
    for i in [0, 1, 2, chunk - 1, chunk, chunk + 1, 2 * chunk, n - 1] {
        assert_close(out.row(i).unwrap(), &expected[i % 3]);
    }
}

#[test]
fn truncation_follows_sentence_bert_config_not_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 5);
    let e = load(dir.path()).unwrap();
    // tokenizer.json says 3, sentence_bert_config.json says 5: 5 wins, including
    // [CLS] and [SEP]; and no fixed padding to 12.
    let counts = e.token_counts(&strings(&["red", "big blue tea pot set"])).unwrap();
    assert_eq!(counts, vec![3, 5]);
}

#[test]
fn f16_request_on_cpu_falls_back_to_f32_with_notice() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    let e = SentenceEmbedder::load(dir.path(), DeviceChoice::Cpu, EmbedPrecision::F16).unwrap();
    assert_eq!(e.precision(), EmbedPrecision::F32);
    assert!(e.notices().iter().any(|n| n.contains("f32")), "{:?}", e.notices());
}

fn error_of(dir: &Path) -> String {
    match load(dir) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_model_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let msg = error_of(&dir.path().join("nope"));
    assert!(msg.contains("nope") && msg.contains("does not exist"), "{msg}");
}

#[test]
fn missing_tokenizer_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let msg = error_of(dir.path());
    assert!(msg.contains("tokenizer.json") && msg.contains("missing"), "{msg}");
}

#[test]
fn corrupt_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    std::fs::write(dir.path().join("config.json"), "{ \"hidden_size\": ").unwrap();
    let msg = error_of(dir.path());
    assert!(msg.contains("config.json") && msg.contains("expected a BERT config"), "{msg}");
}

#[test]
fn corrupt_tokenizer_and_pooling_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    std::fs::write(dir.path().join("tokenizer.json"), "[1, 2]").unwrap();
    assert!(error_of(dir.path()).contains("tokenizer.json"));

    write_tiny_model(dir.path(), 16);
    std::fs::write(dir.path().join("1_Pooling/config.json"), r#"{"pooling_mode_max_tokens": true}"#).unwrap();
    assert!(error_of(dir.path()).contains("1_Pooling"));
}

#[test]
fn truncated_weights_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = error_of(dir.path());
    assert!(msg.contains("model.safetensors") && msg.contains("safetensors"), "{msg}");
}

#[test]
fn weights_of_the_wrong_shape_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    // The weights have hidden size 8; claim 16.
    let mut config = tiny_config();
    config["hidden_size"] = serde_json::json!(16);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let msg = error_of(dir.path());
    assert!(msg.contains("model.safetensors") && msg.contains("hidden_size 16"), "{msg}");
}

#[test]
fn hf_cache_name_is_resolved() {
    let hub = tempfile::tempdir().unwrap();
    let snap = hub.path().join("models--acme--tiny/snapshots/0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    write_tiny_model(&snap, 16);
    std::fs::create_dir_all(hub.path().join("models--acme--tiny/refs")).unwrap();
    std::fs::write(hub.path().join("models--acme--tiny/refs/main"), "0123abcd").unwrap();
    let found = recfuse::embed::model::hf_cached_snapshot(hub.path(), "acme/tiny").unwrap();
    assert_eq!(found, snap);
    assert_eq!(recfuse::embed::model::hf_cached_snapshot(hub.path(), "acme/other"), None);
    let files = recfuse::embed::ModelFiles::from_dir(&found).unwrap();
    let e = SentenceEmbedder::load_files(&files, DeviceChoice::Cpu, EmbedPrecision::F32).unwrap();
    assert_eq!(e.model_name(), "acme/tiny");
}

#[test]
fn cache_hits_after_a_miss_and_misses_when_the_template_changes() {
    let model_dir = tempfile::tempdir().unwrap();
    write_tiny_model(model_dir.path(), 16);
    let e = load(model_dir.path()).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::open(cache_dir.path()).unwrap();
    let texts = strings(&["red mug", "tea pot", ""]);
    let template = ItemTextTemplate::default();
    let fp = template.fingerprint();

    let (first, outcome) = embed_with_cache(&e, &texts, Some(&cache), &fp, 2, &Progress::new()).unwrap();
    assert_eq!(outcome, CacheOutcome::Miss);
    let (second, outcome) = embed_with_cache(&e, &texts, Some(&cache), &fp, 2, &Progress::new()).unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(first, second);

    let other = ItemTextTemplate { fields: vec!["title".to_owned()], ..template };
    let (_, outcome) = embed_with_cache(&e, &texts, Some(&cache), &other.fingerprint(), 2, &Progress::new()).unwrap();
    assert_eq!(outcome, CacheOutcome::Miss);
    // Changed text, same template: a miss too.
    let (_, outcome) = embed_with_cache(&e, &strings(&["red mug"]), Some(&cache), &fp, 2, &Progress::new()).unwrap();
    assert_eq!(outcome, CacheOutcome::Miss);

    // Three entries, no leftover temporary files.
    let mut names: Vec<String> = std::fs::read_dir(cache_dir.path())
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".safetensors") && !n.starts_with('.')), "{names:?}");

    let (_, outcome) = embed_with_cache(&e, &texts, None, &fp, 2, &Progress::new()).unwrap();
    assert!(matches!(outcome, CacheOutcome::Disabled(_)));
}

#[test]
fn cache_dir_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("from-env");
    // SAFETY: this is the only test in this binary that touches the environment.
    unsafe { std::env::set_var(recfuse::embed::cache::CACHE_DIR_ENV, &target) };
    let cache = EmbeddingCache::open_default().unwrap();
    assert_eq!(cache.dir(), target.as_path());
    assert!(target.is_dir());
}

#[test]
fn cli_embed_writes_vectors_in_input_order() {
    let model_dir = tempfile::tempdir().unwrap();
    write_tiny_model(model_dir.path(), 16);
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("texts.json");
    let output = work.path().join("vectors.json");
    // The same text at positions 0 and 2, a longer one in between.
    std::fs::write(&input, r#"["red mug", "big blue tea pot set", "red mug"]"#).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .args(["embed", "--device", "cpu", "--batch", "2", "--precision", "f32", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .arg("--model")
        .arg(model_dir.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let out: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(out["device"], "CPU");
    assert_eq!(out["dim"], 8);
    let rows: Vec<Vec<f32>> = serde_json::from_value(out["embeddings"].clone()).unwrap();
    assert_eq!(rows.len(), 3);
    // Same text, different batches (one padded, one not): equal up to rounding.
    assert_close(&rows[0], &rows[2]);
    assert!(rows[0].iter().zip(&rows[1]).any(|(a, b)| (a - b).abs() > 1e-3));
    for r in &rows {
        assert!((r.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    }
    // No temporary files next to the output.
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 2);
}

#[test]
fn cli_embed_without_paths_is_an_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
        .args(["embed", "--device", "cpu", "--batch", "32"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("--input"), "{err}");
}

#[test]
fn a_grown_catalogue_embeds_only_its_new_texts_and_keeps_the_earlier_vectors() {
    use recfuse::embed::ItemVectors;
    use recfuse::embed::reuse::{EarlierEmbedding, ReuseOutcome, embed_reusing};
    use std::sync::Arc;
    let model_dir = tempfile::tempdir().unwrap();
    write_tiny_model(model_dir.path(), 16);
    let e = load(model_dir.path()).unwrap();
    let fp = ItemTextTemplate::default().fingerprint();
    let dim = e.dim();
    // The earlier vectors are deliberately not what the model computes (1s and 2s): a row
    // that equals them was taken over, not embedded again.
    let earlier = EarlierEmbedding {
        texts: Arc::new(strings(&["red mug", "tea pot"])),
        vectors: Arc::new(ItemVectors {
            dim,
            data: [vec![1.0; dim], vec![2.0; dim]].concat(),
            has_text: vec![true, true],
        }),
        model_fingerprint: e.cache_identity(),
        template_fingerprint: fp.clone(),
    };
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::open(cache_dir.path()).unwrap();
    let texts = strings(&["tea pot", "blue cup", "red mug", "blue cup"]);
    let progress = Progress::new();
    let (got, outcome) = embed_reusing(&e, &texts, Some(&earlier), Some(&cache), &fp, 2, &progress).unwrap();
    // Two texts taken over; one distinct new text ("blue cup", twice) went through the model.
    assert_eq!(outcome, ReuseOutcome::Reused { reused: 2, embedded: 1 });
    assert_eq!(progress.snapshot().total, 1, "the model saw one text");
    let fresh = e.embed(&strings(&["blue cup"]), 1, &Progress::new()).unwrap();
    let row = |i: usize| &got.data[i * dim..(i + 1) * dim];
    assert_eq!(row(0), vec![2.0; dim].as_slice());
    assert_eq!(row(2), vec![1.0; dim].as_slice());
    assert_close(row(1), &fresh.data);
    assert_close(row(3), &fresh.data);
    // The whole result is in the cache for the next start.
    let (cached, hit) = embed_with_cache(&e, &texts, Some(&cache), &fp, 2, &Progress::new()).unwrap();
    assert_eq!(hit, CacheOutcome::Hit);
    assert_eq!(cached, got);
    // Another template: nothing is taken over.
    let other = ItemTextTemplate { fields: vec!["title".to_owned()], ..ItemTextTemplate::default() };
    let (_, outcome) =
        embed_reusing(&e, &texts, Some(&earlier), None, &other.fingerprint(), 2, &Progress::new()).unwrap();
    assert!(matches!(outcome, ReuseOutcome::Cache(_)), "{outcome:?}");
}

#[test]
fn int8_on_the_tiny_model_is_close_to_f32() {
    // hidden 8 and intermediate 16: every int8 tail (inputs padded to 32, a partial column
    // tile) on a real forward pass.
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 16);
    let f32_model = load(dir.path()).unwrap();
    let int8 = SentenceEmbedder::load(dir.path(), DeviceChoice::Cpu, EmbedPrecision::Int8).unwrap();
    assert_eq!(int8.precision(), EmbedPrecision::Int8);
    let texts = strings(&["red mug", "big blue tea pot set", "cup", ""]);
    let a = f32_model.embed(&texts, 2, &Progress::new()).unwrap();
    let b = int8.embed(&texts, 2, &Progress::new()).unwrap();
    for i in 0..texts.len() {
        let c = recfuse::embed::cosine(a.row(i).unwrap(), b.row(i).unwrap());
        assert!(c > 0.99, "text {i}: cosine {c}");
    }
    assert_ne!(a, b, "int8 must not be the f32 path");
}

#[test]
fn cache_keeps_precisions_apart() {
    let model_dir = tempfile::tempdir().unwrap();
    write_tiny_model(model_dir.path(), 16);
    let f32_model = load(model_dir.path()).unwrap();
    let int8 = SentenceEmbedder::load(model_dir.path(), DeviceChoice::Cpu, EmbedPrecision::Int8).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::open(cache_dir.path()).unwrap();
    let texts = strings(&["red mug", "tea pot"]);
    let fp = ItemTextTemplate::default().fingerprint();
    let run = |e: &SentenceEmbedder| embed_with_cache(e, &texts, Some(&cache), &fp, 2, &Progress::new()).unwrap();

    let (f32_vectors, outcome) = run(&f32_model);
    assert_eq!(outcome, CacheOutcome::Miss);
    // The f32 entry is not taken for int8 vectors, nor the other way round.
    let (int8_vectors, outcome) = run(&int8);
    assert_eq!(outcome, CacheOutcome::Miss);
    assert_ne!(f32_vectors, int8_vectors);
    assert_eq!(run(&f32_model), (f32_vectors, CacheOutcome::Hit));
    assert_eq!(run(&int8), (int8_vectors, CacheOutcome::Hit));
    assert_eq!(std::fs::read_dir(cache_dir.path()).unwrap().count(), 2);
    // f32 keys are those of before precisions existed: the model fingerprint alone.
    let key = recfuse::embed::CacheKey::new(f32_model.model_fingerprint(), &fp, &texts);
    assert!(cache.path_for(&key).is_file());
}

#[test]
fn cli_precision_reaches_the_model_and_bad_values_are_refused() {
    let model_dir = tempfile::tempdir().unwrap();
    write_tiny_model(model_dir.path(), 16);
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("texts.json");
    std::fs::write(&input, r#"["red mug", "tea pot"]"#).unwrap();
    let embed = |precision: &str, output: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
            .args(["embed", "--device", "cpu", "--precision", precision, "--input"])
            .arg(&input)
            .arg("--output")
            .arg(output)
            .arg("--model")
            .arg(model_dir.path())
            .output()
            .unwrap()
    };
    let read = |p: &Path| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let (f32_out, int8_out) = (work.path().join("f32.json"), work.path().join("int8.json"));
    assert!(embed("f32", &f32_out).status.success());
    let out = embed("int8", &int8_out);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read(&f32_out)["precision"], "f32");
    assert_eq!(read(&int8_out)["precision"], "int8");
    assert_ne!(read(&f32_out)["embeddings"], read(&int8_out)["embeddings"]);

    let out = embed("int4", &work.path().join("bad.json"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("--precision") && err.contains("int4") && err.contains("int8"), "{err}");
}

#[test]
fn recommend_precision_overrides_the_session_and_each_precision_is_cached_apart() {
    let model_dir = tempfile::tempdir().unwrap();
    write_tiny_model(model_dir.path(), 16);
    let work = tempfile::tempdir().unwrap();
    let catalogue = work.path().join("c.csv");
    let events = work.path().join("e.csv");
    std::fs::write(&catalogue, "item_id,title\nA,red mug\nB,blue cup\nC,tea pot\nD,big tea set\n").unwrap();
    std::fs::write(&events, "user_id,item_id,timestamp\nu1,A,2011-01-01\nu2,B,2011-01-02\nu2,C,2011-01-03\n").unwrap();
    let cache = work.path().join("cache");
    let recommend = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_recfuse"))
            .args(["recommend", "--user", "u1", "--device", "cpu", "--json", "--catalogue"])
            .arg(&catalogue)
            .arg("--behaviour")
            .arg(&events)
            .arg("--model")
            .arg(model_dir.path())
            .args(extra)
            .env(recfuse::embed::cache::CACHE_DIR_ENV, &cache)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut names: Vec<String> =
            std::fs::read_dir(&cache).unwrap().map(|d| d.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let after_f32 = recommend(&[]);
    assert_eq!(after_f32.len(), 1, "{after_f32:?}");
    let after_int8 = recommend(&["--precision", "int8"]);
    assert_eq!(after_int8.len(), 2, "int8 vectors get their own entry: {after_int8:?}");
    // Asking for f32 again reads its entry: nothing new.
    assert_eq!(recommend(&["--precision", "f32"]), after_int8);
}

#[test]
fn session_precision_round_trips_and_unknown_precisions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let mut session = recfuse::session::Session::default();
    assert_eq!(session.model.precision, EmbedPrecision::F32);
    session.model.precision = EmbedPrecision::Int8;
    session.save(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["model"]["precision"], "int8");
    let loaded = recfuse::session::Session::load(&path).unwrap();
    assert_eq!(loaded.model, session.model);
    // A session written before precisions existed is f32.
    let old = serde_json::json!({"model": {"device": "cpu", "batch_size": 8}}).to_string();
    assert_eq!(recfuse::session::Session::from_json(&old).unwrap().model.precision, EmbedPrecision::F32);
    let bad = serde_json::json!({"model": {"precision": "int4"}}).to_string();
    let err = recfuse::session::Session::from_json(&bad).unwrap_err().to_string();
    assert!(err.contains("int4") && err.contains("int8"), "{err}");
}
