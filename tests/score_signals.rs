//! Each signal against values computed by hand on tiny data sets.

use std::path::Path;

use recfuse::data::{DataSources, Dataset, EventWeights, load_dataset};
use recfuse::jobs::Progress;
use recfuse::score::bm25::Bm25Scorer;
use recfuse::score::params::*;
use recfuse::score::{Interactions, Query, ScoreContext, Scorer, UserProfile};

/// Loads events `user,item,day` (day = whole days after 2011-01-01) with all items in a
/// catalogue of `items` (id, title, price, category).
fn dataset(dir: &Path, items: &[(&str, &str, f32, &str)], events: &[(&str, &str, i64)]) -> Dataset {
    let mut cat = String::from("item_id,title,price,category\n");
    for (id, t, p, c) in items {
        cat.push_str(&format!("{id},{t},{p},{c}\n"));
    }
    let mut ev = String::from("user_id,item_id,timestamp,event_type\n");
    for (u, i, day) in events {
        ev.push_str(&format!("{u},{i},{},purchase\n", 1_293_840_000 + day * 86_400));
    }
    let c = dir.join("c.csv");
    let e = dir.join("e.csv");
    std::fs::write(&c, cat).expect("write");
    std::fs::write(&e, ev).expect("write");
    let sources = DataSources { catalogue: Some(c), behaviour: e, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn interactions(d: &Dataset) -> Interactions {
    let all: Vec<usize> = (0..d.behaviour.len()).collect();
    Interactions::build(&d.behaviour, &all, d.catalogue.len())
}

fn scores(s: &dyn Scorer, profile: &UserProfile, n: usize) -> Vec<f32> {
    let mut out = vec![0.0; n];
    s.score_all(&ScoreContext { profile, query: None }, &mut out);
    out
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

const ITEMS: [(&str, &str, f32, &str); 5] = [
    ("i0", "zero", 1.0, "A"),
    ("i1", "one", 1.0, "A"),
    ("i2", "two", 1.0, "B"),
    ("i3", "three", 1.0, "B"),
    ("i4", "four", 1.0, "C"),
];

#[test]
fn item_cf_cosine_on_a_4x5_matrix() {
    // u0: i0 i1 · u1: i0 i1 i2 · u2: i1 i2 · u3: i3
    // cos(i0,i1) = 2/√6, cos(i0,i2) = 1/2, cos(i1,i2) = 2/√6, i3 and i4 share no user.
    // Twice: on the 5 items (each bought item's pass visits at least 5 entries: the dense
    // pass) and with 20 items nobody bought added (fewer visits than items: the sparse one).
    let ev = [
        ("u0", "i0", 0),
        ("u0", "i1", 0),
        ("u1", "i0", 0),
        ("u1", "i1", 0),
        ("u1", "i2", 0),
        ("u2", "i1", 0),
        ("u2", "i2", 0),
        ("u3", "i3", 0),
    ];
    let unbought: Vec<String> = (0..20).map(|n| format!("x{n}")).collect();
    let mut wide = ITEMS.to_vec();
    wide.extend(unbought.iter().map(|id| (id.as_str(), "unbought", 1.0, "D")));
    for items in [&ITEMS[..], &wide[..]] {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dataset(dir.path(), items, &ev);
        let data = interactions(&d);
        let s =
            recfuse::score::item_cf::ItemCfScorer::fit(&data, &ItemCfParams::default(), &Progress::new()).expect("fit");
        let u2 = data.profile(d.behaviour.users.get("u2").expect("u2"));
        let out = scores(&s, &u2, items.len());
        let r = 2.0 / 6f32.sqrt();
        // i0 ← i1 (2/√6) + i2 (1/2)
        assert!(close(out[0], r + 0.5), "{} items: {out:?}", items.len());
        // i1 ← i2 only (i1 itself is not its own neighbour)
        assert!(close(out[1], r), "{} items: {out:?}", items.len());
        assert!(close(out[2], r), "{} items: {out:?}", items.len());
        assert!(out[3..].iter().all(|&v| v == 0.0), "{} items: {out:?}", items.len());
    }
}

#[test]
fn user_cf_on_the_same_matrix() {
    // users as sets: u0 {0,1}, u1 {0,1,2}, u2 {1,2}. For u2: cos(u2,u0) = 1/(√2·√2) = 0.5,
    // cos(u2,u1) = 2/(√2·√3). Score(i0) = 0.5·1 + 2/√6·1.
    let dir = tempfile::tempdir().expect("tempdir");
    let ev = [
        ("u0", "i0", 0),
        ("u0", "i1", 0),
        ("u1", "i0", 0),
        ("u1", "i1", 0),
        ("u1", "i2", 0),
        ("u2", "i1", 0),
        ("u2", "i2", 0),
        ("u3", "i3", 0),
    ];
    let d = dataset(dir.path(), &ITEMS, &ev);
    let data = interactions(&d);
    let s = recfuse::score::user_cf::UserCfScorer::fit(&data, &UserCfParams::default());
    let u2 = data.profile(d.behaviour.users.get("u2").expect("u2"));
    let out = scores(&s, &u2, 5);
    assert!(close(out[0], 0.5 + 2.0 / 6f32.sqrt()), "{out:?}");
    assert_eq!(out[3], 0.0);
}

#[test]
fn popularity_freshness_price_category() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = [
        ("a", "a", 1.0, "X"),
        ("b", "b", std::f32::consts::E, "Y"),
        ("c", "c", 1.648_721_3, "Y"),
        ("d", "d", 4.481_689, "Y"),
    ];
    // now = day 60. a: bought at day 60 and day 30; b: bought at day 0 (first seen).
    let ev = [("u", "a", 60), ("v", "a", 30), ("u", "b", 0)];
    let d = dataset(dir.path(), &items, &ev);
    let data = interactions(&d);
    let n = d.catalogue.len();
    let pop =
        recfuse::score::popularity::PopularityScorer::fit(&data, &PopularityParams { half_life_days: Some(30.0) });
    let cold = UserProfile::cold(data.now);
    let p = scores(&pop, &cold, n);
    // 8·1 + 8·0.5 = 12 and 8·0.25 = 2 (purchase weight 8).
    assert!(close(p[0], 12.0) && close(p[1], 2.0) && p[2] == 0.0, "{p:?}");
    // a is #1 of 4 items (25 %), b #2 (50 %); c and d have no interactions: no sentence.
    let ctx = ScoreContext { profile: &cold, query: None };
    assert_eq!(pop.evidence(&ctx, 0, &d.catalogue).as_deref(), Some("popular: #1 of 4 items (top 25%)"));
    assert_eq!(pop.evidence(&ctx, 1, &d.catalogue).as_deref(), Some("popular: #2 of 4 items (top 50%)"));
    assert_eq!(pop.evidence(&ctx, 2, &d.catalogue), None);
    let fresh = recfuse::score::freshness::FreshnessScorer::fit(
        &data,
        &d.catalogue,
        &FreshnessParams { half_life_days: 30.0, new_arrival_days: 30.0 },
    );
    let f = scores(&fresh, &cold, n);
    // a first seen day 30 → age 30 → 0.5; b first seen day 0 → age 60 → 0.25.
    assert!(close(f[0], 0.5) && close(f[1], 0.25) && f[2] == 0.0, "{f:?}");
    // Evidence in days in the catalogue (issue #19, item 9: never "in the range for N days"):
    // a (30 days, within the 30-day new-arrival window) is new, b (60 days) is not.
    assert_eq!(fresh.evidence(&ctx, 0, &d.catalogue).as_deref(), Some("new arrival: first seen 30 days ago"));
    assert_eq!(fresh.evidence(&ctx, 1, &d.catalogue).as_deref(), Some("in the catalogue for 60 days"));
    assert_eq!(fresh.evidence(&ctx, 2, &d.catalogue), None, "never seen: no sentence");
    // Price band of u: items a (ln 1 = 0) and b (ln e = 1), equal weights: mean 0.5,
    // spread 0.5. c costs e^0.5 → z = 0 → 1; d costs e^1.5 → z = 2 → e^-2.
    let price = recfuse::score::price::PriceScorer::fit(&d.catalogue, &PriceParams { min_log_spread: 0.1 });
    let u = data.profile(d.behaviour.users.get("u").expect("u"));
    let pr = scores(&price, &u, n);
    assert!(close(pr[2], 1.0) && close(pr[3], (-2.0f32).exp()), "{pr:?}");
    // Category: u bought one X and one Y → shares 0.5 / 0.5.
    let cat = recfuse::score::category::CategoryScorer::fit(&d.catalogue).expect("categories");
    let c = scores(&cat, &u, n);
    assert!(close(c[0], 0.5) && close(c[3], 0.5), "{c:?}");
    let u_ctx = ScoreContext { profile: &u, query: None };
    assert_eq!(cat.evidence(&u_ctx, 0, &d.catalogue).as_deref(), Some("you often choose X (50% of your history)"));
}

#[test]
fn sequential_transition_probabilities() {
    // Three shoppers buy A first; next, two buy B and one buys C: P(B|A)=2/3, P(C|A)=1/3.
    let dir = tempfile::tempdir().expect("tempdir");
    let items = [("A", "a", 1.0, "x"), ("B", "b", 1.0, "x"), ("C", "c", 1.0, "x")];
    let ev = [
        ("u1", "A", 0),
        ("u1", "B", 1),
        ("u2", "A", 0),
        ("u2", "C", 1),
        ("u3", "A", 0),
        ("u3", "B", 1),
        ("u4", "A", 5),
    ];
    let d = dataset(dir.path(), &items, &ev);
    let data = interactions(&d);
    let s = recfuse::score::sequential::SequentialScorer::fit(
        &data,
        &SequentialParams { window: 1, ..SequentialParams::default() },
        &Progress::new(),
    )
    .expect("fit");
    let u4 = data.profile(d.behaviour.users.get("u4").expect("u4"));
    let out = scores(&s, &u4, 3);
    assert!(close(out[1], 2.0 / 3.0) && close(out[2], 1.0 / 3.0) && out[0] == 0.0, "{out:?}");
}

#[test]
fn als_recovers_a_rank_one_ordering() {
    // Nested histories: shopper k bought items 0..k. Item j is liked by 8 − j shoppers,
    // so with one factor (a rank-1 model) the shopper who has 0,1,2 must see 3 > 4 > … .
    let dir = tempfile::tempdir().expect("tempdir");
    let items: Vec<(String, String)> = (0..8).map(|j| (format!("i{j}"), format!("t{j}"))).collect();
    let item_refs: Vec<(&str, &str, f32, &str)> =
        items.iter().map(|(a, b)| (a.as_str(), b.as_str(), 1.0, "x")).collect();
    let mut ev = Vec::new();
    let users: Vec<String> = (1..=8).map(|k| format!("u{k}")).collect();
    for (k, u) in users.iter().enumerate() {
        for (j, (id, _)) in items.iter().enumerate().take(k + 1) {
            ev.push((u.as_str(), id.as_str(), j as i64));
        }
    }
    let d = dataset(dir.path(), &item_refs, &ev);
    let data = interactions(&d);
    let params = AlsParams { factors: 1, iterations: 20, regularization: 0.01, ..AlsParams::default() };
    let als = recfuse::score::als::AlsScorer::fit(&data, &params, &Progress::new()).expect("fit");
    let u3 = data.profile(d.behaviour.users.get("u3").expect("u3"));
    let out = scores(&als, &u3, 8);
    for j in 3..7 {
        assert!(out[j] > out[j + 1], "item {j} should outrank {}: {out:?}", j + 1);
    }
    // Deterministic: the same seed gives the same factors.
    let again = recfuse::score::als::AlsScorer::fit(&data, &params, &Progress::new()).expect("fit");
    assert_eq!(als.item_factors, again.item_factors);
    // Exact contributions of the history sum to the exactly solved score.
    let cold_copy = UserProfile { user: None, ..u3.clone() };
    let solved = scores(&als, &cold_copy, 8);
    let contributions: f32 = als.contributions(&u3, 3).iter().map(|(_, c)| c).sum();
    assert!(close(contributions, solved[3]), "{contributions} vs {}", solved[3]);
    // Several items at once (one factored system, as the explained top of a list uses it):
    // each item's contributions still sum to its exactly solved score.
    let many = als.contributions_many(&u3, &[3, 5, 7]);
    for (parts, item) in many.iter().zip([3usize, 5, 7]) {
        let total: f32 = parts.iter().map(|(_, c)| c).sum();
        assert!(close(total, solved[item]), "item {item}: {total} vs {}", solved[item]);
    }
}

#[test]
fn bm25_hand_computed() {
    // Docs "red mug" (len 2) and "blue mug big" (len 3); avg 2.5; N = 2.
    // "red": df 1, idf = ln((2 − 1 + 0.5)/(1 + 0.5) + 1) = ln 2;
    // score = ln2 · 1·2.2 / (1 + 1.2·(0.25 + 0.75·2/2.5)) = ln2 · 2.2 / 2.02.
    let s = Bm25Scorer::fit(&["red mug".to_owned(), "blue mug big".to_owned()], &Bm25Params::default());
    let q = Query { text: "Red".to_owned(), embedding: None };
    let cold = UserProfile::cold(0);
    let mut out = vec![0.0; 2];
    s.score_all(&ScoreContext { profile: &cold, query: Some(&q) }, &mut out);
    assert!(close(out[0], std::f32::consts::LN_2 * 2.2 / 2.02), "{out:?}");
    assert_eq!(out[1], 0.0);
}

#[test]
fn the_report_counts_events_per_month_across_day_runs() {
    // Days after 2011-01-01 00:00 UTC: 0, 0, 5 and 30 are in January (30 = 31 January),
    // 31 and 31 are 1 February.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dataset(
        dir.path(),
        &[("A", "a", 1.0, "x"), ("B", "b", 1.0, "x")],
        &[("u1", "A", 0), ("u2", "B", 0), ("u1", "B", 5), ("u2", "A", 30), ("u1", "A", 31), ("u3", "B", 31)],
    );
    let months: Vec<(String, usize)> = d.report.events_per_month.clone().into_iter().collect();
    assert_eq!(months, vec![("2011-01".to_owned(), 4), ("2011-02".to_owned(), 2)]);
}
