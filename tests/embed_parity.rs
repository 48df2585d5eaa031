//! The bundled all-MiniLM-L6-v2 on the CPU agrees with sentence-transformers.

use std::path::PathBuf;

use recfuse::embed::{DeviceChoice, EmbedPrecision, SentenceEmbedder, cosine};
use recfuse::jobs::Progress;

#[derive(serde::Deserialize)]
struct Golden {
    texts: Vec<String>,
    embeddings: Vec<Vec<f32>>,
    token_counts: Vec<usize>,
    max_seq_length: usize,
}

fn golden() -> Golden {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn embedder() -> SentenceEmbedder {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/all-MiniLM-L6-v2");
    SentenceEmbedder::load(&dir, DeviceChoice::Cpu, EmbedPrecision::F32).unwrap()
}

#[test]
fn every_golden_text_matches_sentence_transformers() {
    let g = golden();
    let e = embedder();
    assert_eq!(e.device_label(), "CPU");
    assert_eq!(e.dim(), 384);
    assert_eq!(e.max_seq_length(), g.max_seq_length);
    assert!(g.texts.iter().any(String::is_empty), "the golden set includes the empty string");

    assert_eq!(e.token_counts(&g.texts).unwrap(), g.token_counts);

    // Batch 16 over 106 texts of very different lengths: several length-sorted batches.
    let progress = Progress::new();
    let out = e.embed(&g.texts, 16, &progress).unwrap();
    assert_eq!(out.len(), g.texts.len());
    assert_eq!(progress.snapshot().done, g.texts.len() as u64);
    let mut worst = (1.0f32, 0usize);
    for (i, expected) in g.embeddings.iter().enumerate() {
        let c = cosine(out.row(i).unwrap(), expected);
        if c < worst.0 {
            worst = (c, i);
        }
        let norm: f32 = out.row(i).unwrap().iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {i} not normalised: {norm}");
    }
    assert!(worst.0 >= 0.9999, "text {} {:?}: cosine {}", worst.1, g.texts[worst.1], worst.0);
}

#[test]
fn output_is_in_input_order_whatever_the_batching() {
    let g = golden();
    let e = embedder();
    // Reverse the texts and use a batch size that does not divide the count.
    let reversed: Vec<String> = g.texts.iter().rev().cloned().collect();
    let out = e.embed(&reversed, 7, &Progress::new()).unwrap();
    let n = g.texts.len();
    for i in 0..n {
        let c = cosine(out.row(i).unwrap(), &g.embeddings[n - 1 - i]);
        assert!(c >= 0.9999, "reversed row {i}: cosine {c}");
    }
}

#[test]
fn cancel_stops_embedding() {
    let g = golden();
    let e = embedder();
    let progress = Progress::new();
    progress.cancel();
    let err = e.embed(&g.texts, 8, &progress).unwrap_err();
    assert!(matches!(err, recfuse::embed::EmbedError::Cancelled), "{err}");
}

#[test]
fn bundled_model_is_found_by_default() {
    let dir = recfuse::embed::default_model_dir().unwrap();
    assert!(dir.ends_with("assets/models/all-MiniLM-L6-v2"), "{}", dir.display());
}

/// The int8 path (`--precision int8`) against the f32 sentence-transformers vectors: the
/// #14 goal is a min cosine of at least 0.995 (ONNX Runtime's dynamic int8 reaches
/// 0.968–0.984 on the catalogue titles and H&M texts).
#[test]
fn int8_agrees_with_sentence_transformers_within_the_goal() {
    let g = golden();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/all-MiniLM-L6-v2");
    let e = SentenceEmbedder::load(&dir, DeviceChoice::Cpu, EmbedPrecision::Int8).unwrap();
    assert_eq!(e.precision(), EmbedPrecision::Int8);
    assert_ne!(e.cache_identity(), e.model_fingerprint(), "int8 vectors are cached apart from f32 ones");
    let out = e.embed(&g.texts, 16, &Progress::new()).unwrap();
    let cosines: Vec<f32> =
        g.embeddings.iter().enumerate().map(|(i, expected)| cosine(out.row(i).unwrap(), expected)).collect();
    let (worst, at) = cosines.iter().zip(0..).fold((1.0f32, 0usize), |w, (&c, i)| if c < w.0 { (c, i) } else { w });
    assert!(worst >= 0.995, "text {at} {:?}: cosine {worst}", g.texts[at]);
    // The int8 arithmetic really ran: the vectors are not those of the f32 path.
    let f32_out = embedder().embed(&g.texts, 16, &Progress::new()).unwrap();
    let largest = out.data.iter().zip(&f32_out.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(largest > 1e-4, "int8 vectors equal to f32 ones (largest difference {largest})");
    for i in 0..g.texts.len() {
        let norm: f32 = out.row(i).unwrap().iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {i} not normalised: {norm}");
    }
}
