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

/// One event a day for days 0…100 (one shopper, one item per day).
fn daily(dir: &Path) -> Dataset {
    let mut events = String::from("user_id,item_id,timestamp\n");
    for day in 0..=100i64 {
        events.push_str(&format!("u0,i{day},{}\n", 1_293_840_000 + day * 86_400));
    }
    let e = dir.join("daily.csv");
    std::fs::write(&e, events).expect("write");
    let sources = DataSources { behaviour: e, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn validation_windows_roll_back_in_time_without_overlap() {
    // Temporal, last 10 % of the span each time, the cut at lo + ⌊0.9·(hi − lo)⌋ seconds:
    // test = days 90…100; window 1 (train 0…89): cut at day 80.1 → validation 81…89, fit 0…80;
    // window 2 (span 0…80): cut at day 72 → validation 72…80, fit 0…71; window 3 (span
    // 0…71): cut at day 63.9 → validation 64…71, fit 0…63.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = daily(dir.path());
    let windows = recfuse::eval::split::validation_windows(&d.behaviour, SplitRule::Temporal { test_fraction: 0.1 }, 3);
    let days = |events: &[usize]| -> Vec<i64> {
        events.iter().map(|&e| (d.behaviour.time[e] - 1_293_840_000) / 86_400).collect()
    };
    assert_eq!(windows.len(), 3);
    assert_eq!(days(&windows[0].validation), (81..=89).collect::<Vec<_>>());
    assert_eq!(days(&windows[0].fit), (0..=80).collect::<Vec<_>>());
    assert_eq!(days(&windows[1].validation), (72..=80).collect::<Vec<_>>());
    assert_eq!(days(&windows[1].fit), (0..=71).collect::<Vec<_>>());
    assert_eq!(days(&windows[2].validation), (64..=71).collect::<Vec<_>>());
    assert_eq!(days(&windows[2].fit), (0..=63).collect::<Vec<_>>());
}

#[test]
fn tuning_on_two_windows_pools_their_shoppers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(dir.path());
    let req = request();
    let settings = TuneSettings { k: 5, rounds: 0, restarts: 0, params: false, ..TuneSettings::default() };
    let one = tune(&d, &req, &settings, &Progress::new()).expect("tune");
    let two = tune(&d, &req, &TuneSettings { windows: 2, ..settings }, &Progress::new()).expect("tune");
    // Independently: the earlier window's shoppers and the starting weights' NDCG@5 on them.
    let windows = recfuse::eval::split::validation_windows(&d.behaviour, req.rule, 2);
    let (fitted, models) = recfuse::eval::experiment::fit_on(&d, &windows[1].fit, &req, &Progress::new()).expect("fit");
    let mut earlier = recfuse::eval::runner::EvalContext::prepare(
        &d,
        &windows[1].fit,
        &fitted,
        &windows[1].validation,
        &models,
        &req.config,
        req.binary,
        &Progress::new(),
    )
    .expect("context");
    earlier.prepare_for(&req.config);
    let (n0, n1) = (one.validation_users, earlier.users.len());
    assert!(n0 > 0 && n1 > 0, "{n0} / {n1}");
    assert_eq!(two.window_users, vec![n0, n1]);
    assert_eq!(two.validation_users, n0 + n1);
    let pooled = (one.start_ndcg * n0 as f64 + earlier.mean_ndcg(&req.config, 5) * n1 as f64) / (n0 + n1) as f64;
    assert!((two.start_ndcg - pooled).abs() < 1e-9, "{} vs {pooled}", two.start_ndcg);
    assert!(two.shoppers_described().contains(&format!("in 2 windows ({n0} + {n1})")), "{}", two.shoppers_described());
}
