//! `eval --tune` also tunes ALS's λ / α and the item-CF / user-CF neighbourhood sizes on
//! validation (`recfuse::eval::hyper`): what it tries, what it keeps, and what the tuned row uses.

use std::path::Path;
use std::sync::Arc;

use recfuse::data::{DataSources, Dataset, EventWeights, load_dataset};
use recfuse::eval::bootstrap::BootstrapConfig;
use recfuse::eval::experiment::{EvalRequest, TuneSettings, evaluate_and_tune, single_signal, tune};
use recfuse::eval::split::SplitRule;
use recfuse::fusion::FusionConfig;
use recfuse::jobs::Progress;
use recfuse::score::{SignalId, SignalParams};

/// 60 shoppers in three taste groups of six items each, buying over 60 days, so that every
/// split has shoppers with history and held-out purchases.
fn dataset(dir: &Path) -> Dataset {
    let mut catalogue = String::from("item_id,title\n");
    for i in 0..18 {
        catalogue.push_str(&format!("i{i},item {i}\n"));
    }
    let mut events = String::from("user_id,item_id,timestamp\n");
    for u in 0..60usize {
        let group = u % 3;
        for step in 0..6usize {
            let item = group * 6 + (u / 3 + step * 5) % 6;
            let day = 1 + (u * 7 + step * 11) % 59;
            events.push_str(&format!("u{u},i{item},2011-{:02}-{:02}\n", 1 + day / 28, 1 + day % 28));
        }
        // A little cross-group noise.
        if u % 4 == 0 {
            events.push_str(&format!("u{u},i{},2011-01-15\n", (u * 5) % 18));
        }
    }
    let c = dir.join("c.csv");
    let e = dir.join("e.csv");
    std::fs::write(&c, catalogue).expect("write");
    std::fs::write(&e, events).expect("write");
    let sources = DataSources { catalogue: Some(c), behaviour: e, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn request() -> EvalRequest {
    let mut params = SignalParams::default();
    params.als.factors = 8;
    params.als.iterations = 5;
    EvalRequest {
        rule: SplitRule::Temporal { test_fraction: 0.3 },
        ks: vec![5],
        binary: true,
        bootstrap: BootstrapConfig { resamples: 20, ..BootstrapConfig::default() },
        params,
        config: FusionConfig::default(),
        vectors: None,
        texts: Arc::new(Vec::new()),
        external: Vec::new(),
    }
}

#[test]
fn tuning_tries_each_grid_keeps_the_best_and_reports_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let req = request();
    let settings = TuneSettings { k: 5, rounds: 1, restarts: 0, ..TuneSettings::default() };
    let (outcome, tuned) = evaluate_and_tune(&d, &req, &settings, &Progress::new()).expect("tune");
    assert!(tuned.validation_users > 0);
    let params = tuned.params.clone().expect("parameters tuned");
    for (signal, settings_tried) in [("als", 9), ("item_cf", 4), ("user_cf", 4)] {
        let trials: Vec<_> = tuned.param_trials.iter().filter(|t| t.signal == signal).collect();
        assert_eq!(trials.len(), settings_tried, "{signal}: {trials:?}");
        assert!(trials[0].current && trials.iter().skip(1).all(|t| !t.current), "{signal}: current first");
        let chosen: Vec<_> = trials.iter().filter(|t| t.chosen).collect();
        assert_eq!(chosen.len(), 1, "{signal}: exactly one kept");
        // The kept one is the first with the highest validation NDCG.
        let best = trials.iter().map(|t| t.validation_ndcg).fold(f64::MIN, f64::max);
        let first_best = trials.iter().position(|t| t.validation_ndcg >= best - 1e-12).expect("a best");
        assert!(trials[first_best].chosen, "{signal}: {trials:?}");
        // The parameters handed on are the kept setting's.
        let kept = &trials[first_best].setting;
        let expected = match signal {
            "als" => format!("λ {}, α {}", params.als.regularization, params.als.alpha),
            "item_cf" => format!("{} neighbours", params.item_cf.neighbours),
            _ => format!("{} neighbours", params.user_cf.neighbours),
        };
        assert_eq!(kept, &expected, "{signal}");
    }
    // The grid around the defaults: λ 0.05 / 1 / 5, α 1 / 0.25 / 4; neighbours n, n/4, n/2, 2n.
    let als: Vec<&str> = tuned.param_trials.iter().filter(|t| t.signal == "als").map(|t| t.setting.as_str()).collect();
    assert_eq!(als[0], "λ 0.05, α 1");
    assert!(als.contains(&"λ 5, α 4") && als.contains(&"λ 1, α 0.25"), "{als:?}");
    assert!(outcome.rows.iter().any(|r| r.name == "tuned"));
}

#[test]
fn a_trial_scores_what_the_signal_alone_scores_on_validation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let req = request();
    let settings = TuneSettings { k: 5, rounds: 0, restarts: 0, ..TuneSettings::default() };
    let with = tune(&d, &req, &settings, &Progress::new()).expect("tune");
    // Independently: weights-only tuning starting from ALS alone, with the current parameters;
    // its starting value is ALS's validation NDCG on the union of every signal's candidates.
    let mut alone = req.clone();
    alone.config = single_signal(&req.config, SignalId::ALS);
    let without = tune(&d, &alone, &TuneSettings { params: false, ..settings }, &Progress::new()).expect("tune");
    assert!(without.params.is_none() && without.param_trials.is_empty());
    let current = with.param_trials.iter().find(|t| t.signal == "als" && t.current).expect("current ALS trial");
    assert!(
        (current.validation_ndcg - without.start_ndcg).abs() < 1e-9,
        "{} vs {}",
        current.validation_ndcg,
        without.start_ndcg
    );
}
