//! The learned ranker (`src/rank/`, fusion method `learned`): the listwise loss's gradient
//! against finite differences, a planted signal learned, exact Shapley attribution on a
//! hand-set model, save/load, stale-model refusal, and the CLI end to end on the sample.

use candle_core::{Device, Tensor, Var};
use polars::prelude::*;
use recfuse::jobs::Progress;
use recfuse::rank::{Ranker, RankerError, ShopperRows, TrainList, TrainSettings, listwise_loss, train};
use recfuse::score::SignalId;

fn signals() -> Vec<SignalId> {
    vec![SignalId::ALS, SignalId::POPULARITY]
}

/// Loss of f64 logits `[2, 3]` (second list has one padding position).
fn loss_at(logits: &[f64]) -> f64 {
    let dev = Device::Cpu;
    let l = Tensor::from_slice(logits, (2, 3), &dev).unwrap();
    let t = Tensor::from_slice(&[0.5f64, 0.5, 0.0, 0.0, 1.0, 0.0], (2, 3), &dev).unwrap();
    let m = Tensor::from_slice(&[1.0f64, 1.0, 1.0, 1.0, 1.0, 0.0], (2, 3), &dev).unwrap();
    listwise_loss(&l, &t, &m).unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn the_listwise_loss_gradient_matches_finite_differences() {
    let x = [0.3f64, -1.2, 2.0, 0.7, 0.1, 5.0];
    let dev = Device::Cpu;
    let var = Var::from_tensor(&Tensor::from_slice(&x, (2, 3), &dev).unwrap()).unwrap();
    let t = Tensor::from_slice(&[0.5f64, 0.5, 0.0, 0.0, 1.0, 0.0], (2, 3), &dev).unwrap();
    let m = Tensor::from_slice(&[1.0f64, 1.0, 1.0, 1.0, 1.0, 0.0], (2, 3), &dev).unwrap();
    let loss = listwise_loss(var.as_tensor(), &t, &m).unwrap();
    let grads = loss.backward().unwrap();
    let g: Vec<f64> = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let h = 1e-6;
    for i in 0..x.len() {
        let (mut up, mut down) = (x, x);
        up[i] += h;
        down[i] -= h;
        let numeric = (loss_at(&up) - loss_at(&down)) / (2.0 * h);
        assert!((g[i] - numeric).abs() < 1e-7, "logit {i}: backward {} vs finite difference {numeric}", g[i]);
    }
    // The padding position gets no gradient.
    assert_eq!(g[5], 0.0);
    // By hand: list 2 is softmax(0.7, 0.1) − (0, 1), halved by the mean over two lists.
    let p = 0.7f64.exp() / (0.7f64.exp() + 0.1f64.exp());
    assert!((g[3] - p / 2.0).abs() < 1e-9);
}

/// Shoppers with 20 candidates; the relevant one is the candidate with the largest value
/// of the second signal feature; the first feature is noise.
fn planted(shoppers: usize, seed: u64) -> Vec<TrainList> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..shoppers)
        .map(|_| {
            let n = 20;
            let mut dense = Vec::new();
            let mut b = Vec::new();
            for _ in 0..n {
                let (x, y) = (rng.f32(), rng.f32());
                dense.extend([x, y, 0.1, 0.0, 0.2, 0.3]);
                b.push(y);
            }
            let best = (0..n).max_by(|&i, &j| b[i].total_cmp(&b[j])).unwrap();
            let gains = (0..n).map(|j| if j == best { 1.0 } else { 0.0 }).collect();
            let rows = ShopperRows { n, dense, items: (0..n as u32).collect(), user: Vec::new(), flag: vec![0.0; n] };
            TrainList { rows, gains, ideal_dcg: 1.0 }
        })
        .collect()
}

fn top1_accuracy(model: &Ranker, lists: &[TrainList]) -> f64 {
    let hits = lists
        .iter()
        .filter(|l| {
            let s = model.score_rows(&l.rows, None).unwrap();
            let top = (0..s.len()).max_by(|&i, &j| s[i].total_cmp(&s[j])).unwrap();
            l.gains[top] > 0.0
        })
        .count();
    hits as f64 / lists.len() as f64
}

fn train_planted(seed: u64) -> (Ranker, Vec<TrainList>) {
    let fit = planted(200, 1);
    let holdout = planted(50, 2);
    let settings =
        TrainSettings { epochs: 40, hidden: 8, learning_rate: 0.02, patience: 40, seed, ..Default::default() };
    let (model, report) =
        train(&signals(), &fit, &holdout, None, &settings, "fp".into(), &Progress::new(), &mut |_| {}).unwrap();
    assert!(report.best_epoch >= 1);
    (model, holdout)
}

#[test]
fn a_planted_signal_is_learned() {
    let (model, holdout) = train_planted(3);
    // Ranking by the planted feature puts the relevant item first for every shopper; a
    // random order does so for 1 in 20 (0.05). The model must get most of the way.
    let acc = top1_accuracy(&model, &holdout);
    assert!(acc > 0.8, "top-1 accuracy {acc} (random 0.05, perfect 1.0)");
    // Same seed, same model.
    let (again, _) = train_planted(3);
    assert_eq!(model.score_rows(&holdout[0].rows, None).unwrap(), again.score_rows(&holdout[0].rows, None).unwrap());
}

/// `relu(a + b − 1.2)`: symmetric in the two signal features, blind to the cheap ones.
fn hand_model() -> Ranker {
    let dense = vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    Ranker::with_weights(
        &signals(),
        0,
        1,
        &[
            ("wide.w", vec![0.0; 6]),
            ("deep.dense", dense),
            ("deep.b", vec![-1.2]),
            ("out.w", vec![1.0]),
            ("out.b", vec![0.0]),
        ],
    )
    .unwrap()
}

#[test]
fn shapley_values_of_a_hand_set_model_are_exact_efficient_and_symmetric() {
    let model = hand_model();
    // Two candidates: (a, b) = (1, 1) and (0, 0); the baseline is their mean (0.5, 0.5).
    let rows = ShopperRows {
        n: 2,
        dense: vec![1.0, 1.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        items: vec![0, 1],
        user: Vec::new(),
        flag: vec![0.0, 0.0],
    };
    let a = &model.attribute(&rows, None, &[0]).unwrap()[0];
    // By hand: f(1,1) = 0.8, f(0.5,0.5) = 0, f(1,0.5) = f(0.5,1) = 0.3;
    // φ_a = ½(0.3 − 0) + ½(0.8 − 0.3) = 0.4 = φ_b.
    assert!((a.score - 0.8).abs() < 1e-6, "score {}", a.score);
    assert!(a.baseline.abs() < 1e-6, "baseline {}", a.baseline);
    assert!((a.signals[0].1 - 0.4).abs() < 1e-6 && (a.signals[1].1 - 0.4).abs() < 1e-6, "{:?}", a.signals);
    assert!(a.cheap.abs() < 1e-6 && a.embedding.abs() < 1e-6);
    let total: f32 = a.signals.iter().map(|(_, v)| v).sum::<f32>() + a.cheap + a.embedding + a.baseline;
    assert!((total - a.score).abs() < 1e-6);
}

#[test]
fn attribution_values_are_the_models_own_outputs_with_embeddings() {
    // A random model reading 3-dimensional vectors: the attributed score and baseline are
    // what a forward pass gives for the candidate and for the mean candidate.
    let model = Ranker::new(&signals(), 3, 6, String::new(), 11).unwrap();
    let rows = ShopperRows {
        n: 3,
        dense: vec![0.3, 0.9, 0.1, -0.2, 0.4, 0.2, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.0, 0.0, 0.1, 0.9],
        items: vec![0, 1, 2],
        user: vec![0.6, 0.8, 0.0],
        flag: vec![1.0, 1.0, 1.0],
    };
    let data = vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.0];
    let vectors = recfuse::embed::ItemVectors { dim: 3, data, has_text: vec![true; 3] };
    let scores = model.score_rows(&rows, Some(&vectors)).unwrap();
    let mean_row: Vec<f32> = (0..6).map(|c| (0..3).map(|j| rows.dense[j * 6 + c]).sum::<f32>() / 3.0).collect();
    let mean_item = recfuse::embed::ItemVectors { dim: 3, data: vec![0.5, 0.5 / 3.0, 1.0 / 3.0], has_text: vec![true] };
    let mean = ShopperRows { n: 1, dense: mean_row, items: vec![0], user: rows.user.clone(), flag: vec![1.0] };
    let baseline = model.score_rows(&mean, Some(&mean_item)).unwrap()[0];
    for (j, a) in model.attribute(&rows, Some(&vectors), &[0, 1, 2]).unwrap().iter().enumerate() {
        assert!((a.score - scores[j]).abs() < 1e-5, "candidate {j}: {} vs forward {}", a.score, scores[j]);
        assert!((a.baseline - baseline).abs() < 1e-5, "baseline {} vs forward {baseline}", a.baseline);
        let total: f32 = a.signals.iter().map(|(_, v)| v).sum::<f32>() + a.embedding + a.cheap + a.baseline;
        assert!((total - a.score).abs() < 1e-5);
    }
}

#[test]
fn save_and_load_give_identical_scores_and_a_stale_model_is_refused() {
    let model = Ranker::new(&signals(), 3, 5, "abc123".into(), 9).unwrap();
    let rows = ShopperRows {
        n: 2,
        dense: vec![0.3, 0.9, 0.1, -0.2, 0.4, 0.2, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5],
        items: vec![0, 1],
        user: vec![0.6, 0.8, 0.0],
        flag: vec![1.0, 1.0],
    };
    let vectors =
        recfuse::embed::ItemVectors { dim: 3, data: vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0], has_text: vec![true, true] };
    let before = model.score_rows(&rows, Some(&vectors)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ranker.safetensors");
    model.save(&path).unwrap();
    let loaded = Ranker::load(&path).unwrap();
    assert_eq!(loaded.score_rows(&rows, Some(&vectors)).unwrap(), before);
    assert_eq!(loaded.meta, model.meta);
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(loaded.check_compatible("abc123", &signals(), Some(&vectors)).is_ok());
    let stale = loaded.check_compatible("ffff", &signals(), Some(&vectors)).unwrap_err();
    assert!(matches!(stale, RankerError::Stale(_)));
    assert!(stale.to_string().contains("trained on other data"), "{stale}");
    let missing = loaded.check_compatible("abc123", &[SignalId::ALS], Some(&vectors)).unwrap_err();
    assert!(missing.to_string().contains("popularity"), "{missing}");
    let no_vectors = loaded.check_compatible("abc123", &signals(), None).unwrap_err();
    assert!(no_vectors.to_string().contains("3-dimensional"), "{no_vectors}");
    // Not a ranker file.
    std::fs::write(dir.path().join("x.safetensors"), b"not a model").unwrap();
    assert!(Ranker::load(&dir.path().join("x.safetensors")).is_err());
}

// ---- The command line, end to end, on a cut of the bundled sample ----

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sample's catalogue and the events of its first 150 shoppers (in file order).
fn sample_cut(dir: &Path) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/online_retail");
    let text = std::fs::read_to_string(root.join("events.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut users: Vec<&str> = Vec::new();
    let mut out = vec![header.to_owned()];
    for line in lines {
        let user = line.split(',').next().unwrap();
        if !users.contains(&user) {
            if users.len() == 150 {
                continue;
            }
            users.push(user);
        }
        out.push(line.to_owned());
    }
    let events = dir.join("events.csv");
    std::fs::write(&events, out.join("\n") + "\n").unwrap();
    (root.join("catalogue.csv"), events)
}

fn recfuse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recfuse")).args(args).output().unwrap()
}

#[test]
fn train_then_recommend_with_exact_attribution_and_a_stale_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (catalogue, events) = sample_cut(dir.path());
    let (c, e) = (catalogue.to_str().unwrap(), events.to_str().unwrap());
    let model = dir.path().join("ranker.safetensors");
    let m = model.to_str().unwrap();
    let out =
        recfuse(&["train", "--catalogue", c, "--behaviour", e, "--out", m, "--epochs", "3", "--no-semantic", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Epoch 0 is the warm start (the tuned weights), then the three epochs asked for.
    let epochs: Vec<u64> = v["epochs"].as_array().unwrap().iter().map(|e| e["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [0, 1, 2, 3]);
    assert!(v["best_epoch"].as_u64().unwrap() <= 3);
    assert!(v["features"]["signals"].as_array().unwrap().iter().any(|s| s == "popularity"));
    assert_eq!(v["features"]["cheap"].as_array().unwrap().len(), 4);
    assert!(v["versus_tuned"]["beats_tuned"].is_boolean());

    let out = recfuse(&[
        "recommend",
        "--catalogue",
        c,
        "--behaviour",
        e,
        "--user",
        "17850",
        "--fusion",
        "learned",
        "--ranker",
        m,
        "--no-semantic",
        "--explain",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fusion"], "learned");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    for item in items {
        let parts = item["contributions"].as_object().unwrap();
        assert!(
            parts.contains_key("baseline") && parts.contains_key("cheap_features") && parts.contains_key("embedding")
        );
        let total: f64 = parts.values().map(|x| x.as_f64().unwrap()).sum();
        let score = item["score"].as_f64().unwrap();
        assert!((total - score).abs() < 1e-4, "contributions + baseline {total} vs score {score}");
    }
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "listed by the ranker's score: {scores:?}");
    batch_uses_the_ranker(dir.path(), (c, e, m), items);
    compare_measures_the_ranker(dir.path(), (c, e, m));

    // One event fewer: other data, so the model is refused with a message saying so.
    let text = std::fs::read_to_string(&events).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    let changed = dir.path().join("events2.csv");
    std::fs::write(&changed, lines.join("\n") + "\n").unwrap();
    let out = recfuse(&[
        "recommend",
        "--catalogue",
        c,
        "--behaviour",
        changed.to_str().unwrap(),
        "--user",
        "17850",
        "--fusion",
        "learned",
        "--ranker",
        m,
        "--no-semantic",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("trained on other data"), "{err}");
}

/// `compare` with B = a session whose fusion method is `learned` measures the ranker: B's
/// NDCG@10 is the `learned` row `eval --fusion learned --ranker` gives on the same split,
/// and A's the weighted row; the ranker comes from `--ranker` or from beside B's session
/// file, and without either the command says where it looked.
fn compare_measures_the_ranker(dir: &Path, (c, e, m): (&str, &str, &str)) {
    let data = serde_json::json!({"catalogue": c, "behaviour": e});
    let a = dir.join("a.json");
    std::fs::write(&a, serde_json::json!({"data": data}).to_string()).unwrap();
    let b = dir.join("b.json");
    std::fs::write(&b, serde_json::json!({"data": data, "fusion": {"method": "learned"}}).to_string()).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = recfuse(&[
        "eval",
        "--catalogue",
        c,
        "--behaviour",
        e,
        "--fusion",
        "learned",
        "--ranker",
        m,
        "--no-semantic",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |kind: &str| {
        let rows = v["results"].as_array().unwrap();
        let r = rows.iter().find(|r| r["kind"] == kind).unwrap_or_else(|| panic!("no {kind} row in {v}"));
        r["metrics"]["ndcg@10"]["value"].as_f64().unwrap()
    };
    let (learned, fused) = (row("learned"), row("fused"));
    let compare = |extra: &[&str]| {
        let out = recfuse(&[&["compare", "--a", a, "--b", b, "--no-semantic", "--json"][..], extra].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ndcg = v["deltas"].as_array().unwrap().iter().find(|d| d[0] == "ndcg@10").unwrap()[1].clone();
        (ndcg["mean_a"].as_f64().unwrap(), ndcg["mean_b"].as_f64().unwrap())
    };
    let (mean_a, mean_b) = compare(&["--ranker", m]);
    assert!((mean_b - learned).abs() < 1e-9, "B {mean_b} vs the learned row {learned}");
    assert!((mean_a - fused).abs() < 1e-9, "A {mean_a} vs the fused row {fused}");
    let out = recfuse(&["compare", "--a", a, "--b", b, "--no-semantic"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.json uses fusion method learned, but there is no ranker at")
            && err.contains("b.ranker.safetensors"),
        "{err}"
    );
    std::fs::copy(m, dir.join("b.ranker.safetensors")).unwrap();
    assert_eq!(compare(&[]), (mean_a, mean_b), "the ranker beside the session is the same model");
}

/// `batch --fusion learned --ranker` writes the ranker's list (the items and scores
/// `recommend` gave) and its exact attribution columns, which add up to each score.
fn batch_uses_the_ranker(dir: &Path, (c, e, m): (&str, &str, &str), items: &[serde_json::Value]) {
    let out_file = dir.join("batch.parquet");
    let o = out_file.to_str().unwrap();
    let args = ["batch", "--catalogue", c, "--behaviour", e, "--out", o, "--fusion", "learned", "--ranker", m];
    let out = recfuse(&[&args[..], &["--no-semantic", "--explain", "--json"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let df = ParquetReader::new(std::fs::File::open(&out_file).unwrap()).finish().unwrap();
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    for wanted in ["contribution_embedding", "contribution_cheap_features", "contribution_baseline"] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} missing from {names:?}");
    }
    let user = df.column("user_id").unwrap().as_materialized_series().str().unwrap().clone();
    let item = df.column("item_id").unwrap().as_materialized_series().str().unwrap().clone();
    let score = df.column("score").unwrap().as_materialized_series().f32().unwrap().clone();
    let parts: Vec<Float32Chunked> = names
        .iter()
        .filter(|n| n.starts_with("contribution_"))
        .map(|n| df.column(n).unwrap().as_materialized_series().f32().unwrap().clone())
        .collect();
    let mut shown = Vec::new();
    for r in 0..df.height() {
        let total: f32 = parts.iter().map(|p| p.get(r).unwrap()).sum();
        let s = score.get(r).unwrap();
        assert!((total - s).abs() < 1e-4, "row {r}: contributions {total} vs score {s}");
        if user.get(r) == Some("17850") {
            shown.push((item.get(r).unwrap().to_owned(), s));
        }
    }
    assert_eq!(shown.len(), items.len());
    for ((id, s), want) in shown.iter().zip(items) {
        assert_eq!(id, want["item_id"].as_str().unwrap());
        assert!((f64::from(*s) - want["score"].as_f64().unwrap()).abs() < 1e-5, "{id}: {s} vs {want}");
    }
}

#[test]
fn eval_learned_adds_a_learned_row_next_to_tuned() {
    let dir = tempfile::tempdir().unwrap();
    let (catalogue, events) = sample_cut(dir.path());
    let out = recfuse(&[
        "eval",
        "--catalogue",
        catalogue.to_str().unwrap(),
        "--behaviour",
        events.to_str().unwrap(),
        "--learned",
        "--epochs",
        "2",
        "--bootstrap",
        "20",
        "--no-semantic",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["results"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"tuned") && kinds.contains(&"learned"), "{kinds:?}");
    assert!(v["learned"]["versus_tuned"]["shoppers"].as_u64().unwrap() > 0);
}

#[test]
fn learned_fusion_without_a_ranker_or_for_search_is_refused() {
    let out = recfuse(&["recommend", "--behaviour", "x.csv", "--user", "u", "--fusion", "learned"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ranker"));
    let out = recfuse(&["train", "--behaviour", "x.csv", "--out", "r.safetensors", "--epochs", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--epochs"));
}
