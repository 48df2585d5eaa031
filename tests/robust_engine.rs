//! Degenerate data never breaks the engine or the metrics.

use std::path::Path;
use std::sync::Arc;

use recfuse::data::{DataSources, Dataset, EventWeights, load_dataset};
use recfuse::eval::bootstrap::BootstrapConfig;
use recfuse::eval::experiment::{EvalRequest, TuneSettings, evaluate_and_tune, run_evaluation};
use recfuse::eval::split::SplitRule;
use recfuse::fusion::{FusionConfig, load_rules};
use recfuse::jobs::Progress;
use recfuse::score::SignalParams;
use recfuse::session::engine::Target;
use recfuse::session::pipeline;

fn dataset(dir: &Path, catalogue: &str, events: &str) -> Dataset {
    let c = dir.join("c.csv");
    let e = dir.join("e.csv");
    std::fs::write(&c, catalogue).expect("write");
    std::fs::write(&e, events).expect("write");
    let sources = DataSources { catalogue: Some(c), behaviour: e, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn engine(d: Dataset) -> recfuse::session::Engine {
    let texts = Arc::new(d.catalogue.titles.clone());
    pipeline::fit_all(
        Arc::new(d),
        &SignalParams::default(),
        texts,
        Err("no embeddings in this test".to_owned()),
        &Progress::new(),
    )
    .expect("fit")
}

fn request(config: FusionConfig, k: usize) -> EvalRequest {
    EvalRequest {
        rule: SplitRule::Temporal { test_fraction: 0.5 },
        ks: vec![k],
        binary: true,
        bootstrap: BootstrapConfig { resamples: 50, ..BootstrapConfig::default() },
        params: SignalParams::default(),
        config,
        vectors: None,
        texts: Arc::new(Vec::new()),
        external: Vec::new(),
    }
}

#[test]
fn one_user_one_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path(), "item_id,title\nA,Mug\n", "user_id,item_id,timestamp\nu,A,2011-01-01\n");
    let e = engine(d.clone());
    let config = FusionConfig::default();
    let mut state = e.prepare_target(Target::Shopper("u".to_owned()), &config, &[]);
    // The only item is already bought: nothing to recommend, and no panic.
    assert!(e.explain(&mut state, &config, &[], 10).is_empty());
    let mut repeats = config.clone();
    repeats.exclude_seen = false;
    let mut state = e.prepare_target(Target::Shopper("u".to_owned()), &repeats, &[]);
    let list = e.explain(&mut state, &repeats, &[], 50);
    assert_eq!(list.len(), 1, "K larger than the catalogue returns what there is");
    // One event: a split leaves no test events; the evaluation reports no users, no panic.
    let outcome = run_evaluation(&d, &request(config, 10), &Progress::new()).expect("eval");
    assert_eq!(outcome.users, 0);
}

#[test]
fn all_events_at_one_instant_and_cancellations_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(
        dir.path(),
        "item_id,title,price\nA,Mug,1\nB,Cup,2\nC,Plate,3\n",
        "user_id,item_id,timestamp,event_type\nu1,A,2011-01-01,purchase\nu2,B,2011-01-01,purchase\nu3,C,2011-01-01,cancel\n",
    );
    let e = engine(d.clone());
    let config = FusionConfig::default();
    // u3 only cancelled: treated like a cold shopper.
    let mut state = e.prepare_target(Target::Shopper("u3".to_owned()), &config, &[]);
    let list = e.explain(&mut state, &config, &[], 10);
    assert!(
        state.notices.iter().any(|n| n.contains("only cancellations, returns or zero-weight events")),
        "{:?}",
        state.notices
    );
    assert!(list.iter().all(|x| x.ranked.score.is_finite()));
    for item in &list {
        let total: f32 = item.contributions.iter().map(|(_, v)| v).sum();
        assert!((total - item.ranked.fused).abs() < 1e-5);
    }
    let outcome = run_evaluation(&d, &request(config, 5), &Progress::new()).expect("eval");
    assert_eq!(outcome.users, 0);
}

#[test]
fn all_zero_weights_and_tuning_on_tiny_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut events = String::from("user_id,item_id,timestamp\n");
    for u in 0..12 {
        for (k, i) in ["A", "B", "C", "D"].iter().enumerate().take(1 + u % 4) {
            events.push_str(&format!("u{u},{i},2011-01-{:02}\n", 1 + (u + k) % 28));
        }
    }
    let d = dataset(dir.path(), "item_id,title\nA,a\nB,b\nC,c\nD,d\n", &events);
    let e = engine(d.clone());
    let mut config = FusionConfig::default();
    for s in config.signals.values_mut() {
        s.weight = 0.0;
    }
    let mut state = e.prepare_target(Target::Shopper("u1".to_owned()), &config, &[]);
    let list = e.explain(&mut state, &config, &[], 10);
    assert!(list.iter().all(|x| x.ranked.score == 0.0 && x.contributions.iter().all(|(_, v)| *v == 0.0)));
    let settings = TuneSettings { rounds: 1, restarts: 1, ..TuneSettings::default() };
    let (outcome, tuned) = evaluate_and_tune(&d, &request(config, 3), &settings, &Progress::new()).expect("eval");
    assert!(tuned.validation_ndcg.is_finite());
    for row in &outcome.rows {
        for m in row.metrics.metrics.values() {
            assert!(m.value.is_finite() && m.ci.0.is_finite() && m.ci.1.is_finite(), "{}: {m:?}", row.name);
        }
    }
}

#[test]
fn the_readme_rules_example_parses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("rules.json");
    std::fs::write(
        &p,
        r#"[{"name": "no postage", "target": {"by": "item", "id": "POST"}, "action": "hide"},
  {"name": "push acme", "target": {"by": "brand", "name": "Acme"}, "action": "boost", "adjustment": {"mode": "multiply", "value": 1.5}},
  {"name": "hero", "target": {"by": "item", "id": "85123A"}, "action": "pin", "position": 1}]"#,
    )
    .expect("write");
    let rules = load_rules(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[1].describe(), "boost ×1.5 brand Acme");
    std::fs::write(&p, "[{\"name\": 1}]").expect("write");
    let err = load_rules(&p).err().unwrap_or_default();
    assert!(err.contains("rules.json") && err.contains("line 1"), "{err}");
}
