//! Fusion methods, attribution (linear terms and Shapley values), rules and re-ranking on
//! hand-made candidate sets.

use recfuse::data::Catalogue;
use recfuse::fusion::{
    Adjustment, CandidateSet, FusionConfig, FusionMethod, Normalisation, RankContext, Rule, RuleAction, RuleTarget,
    contributions, fused_scores, rank, shapley,
};
use recfuse::score::SignalId;

/// Three signals over five candidates (items 10..14); raw scores chosen so that
/// min-max normalisation gives round numbers.
fn set() -> CandidateSet {
    let items = vec![10, 11, 12, 13, 14];
    let signals = vec![SignalId::ALS, SignalId::ITEM_CF, SignalId::POPULARITY];
    #[rustfmt::skip]
    let raw = vec![
        // als
        4.0, 3.0, 2.0, 1.0, 0.0,
        // item_cf
        0.0, 2.0, 4.0, 2.0, 1.0,
        // popularity
        10.0, 10.0, 0.0, 5.0, 0.0,
    ];
    // Top-N membership bits (als = bit 0, item_cf = bit 1, popularity = bit 2).
    let in_top = vec![0b101, 0b111, 0b010, 0b111, 0b010];
    CandidateSet::from_parts(items, signals, raw, in_top)
}

fn config(method: FusionMethod) -> FusionConfig {
    let mut c = FusionConfig::default();
    for s in SignalId::all() {
        c.set_weight(s, 0.0);
    }
    c.set_weight(SignalId::ALS, 0.5);
    c.set_weight(SignalId::ITEM_CF, 0.3);
    c.set_weight(SignalId::POPULARITY, 0.2);
    c.method = method;
    c
}

fn catalogue() -> Catalogue {
    let mut c = Catalogue::default();
    for i in 0..15 {
        c.ids.intern(&format!("item{i}"));
        c.titles.push(format!("t{i}"));
        c.descriptions.push(String::new());
        c.categories.push(String::new());
        c.category_labels.push(Vec::new());
        c.brands.push(if i % 2 == 0 { "Even".to_owned() } else { "Odd".to_owned() });
        c.prices.push(i as f32);
        c.images.push(String::new());
        c.created_at.push(None);
        c.stock.push(f32::NAN);
        c.margin.push(f32::NAN);
    }
    c
}

#[test]
fn weighted_minmax_by_hand() {
    let mut s = set();
    let c = config(FusionMethod::Weighted);
    s.prepare(&c);
    let mut out = Vec::new();
    fused_scores(&s, &c, &mut out);
    // minmax: als [1, .75, .5, .25, 0]; item_cf [0, .5, 1, .5, .25]; pop [1, 1, 0, .5, 0]
    let want = [0.5 + 0.2, 0.375 + 0.15 + 0.2, 0.25 + 0.3, 0.125 + 0.15 + 0.1, 0.075];
    for (o, w) in out.iter().zip(want) {
        assert!((o - w).abs() < 1e-6, "{out:?}");
    }
}

#[test]
fn contributions_sum_to_the_score_for_every_method() {
    for method in FusionMethod::ALL {
        for norm in Normalisation::ALL {
            let mut c = config(method);
            for setting in c.signals.values_mut() {
                setting.normalisation = norm;
            }
            let mut s = set();
            s.prepare(&c);
            let mut out = Vec::new();
            fused_scores(&s, &c, &mut out);
            for (j, score) in out.iter().enumerate() {
                let total: f32 = contributions(&s, &c, j).iter().map(|(_, v)| v).sum();
                assert!((total - score).abs() < 1e-5, "{method:?}/{norm:?} candidate {j}: {total} vs {score}");
            }
        }
    }
}

#[test]
fn rrf_and_borda_by_hand() {
    let mut s = set();
    let mut c = config(FusionMethod::Rrf);
    c.rrf_k = 60.0;
    s.prepare(&c);
    let mut out = Vec::new();
    fused_scores(&s, &c, &mut out);
    // Candidate 0: ranks als 1, item_cf 5, pop 1 (tie with candidate 1 → shared rank 1).
    let want0 = 0.5 / 61.0 + 0.3 / 65.0 + 0.2 / 61.0;
    assert!((out[0] - want0).abs() < 1e-7, "{out:?}");
    c.method = FusionMethod::Borda;
    fused_scores(&s, &c, &mut out);
    // Borda: w·(n − rank)/(n − 1) with n = 5: 0.5·4/4 + 0.3·0/4 + 0.2·4/4.
    assert!((out[0] - 0.7).abs() < 1e-6, "{out:?}");
}

#[test]
fn combmnz_shapley_is_efficient_and_symmetric() {
    let mut s = set();
    let c = config(FusionMethod::Combmnz);
    s.prepare(&c);
    let mut out = Vec::new();
    fused_scores(&s, &c, &mut out);
    // Candidate 1 is in all three top lists: (0.375 + 0.15 + 0.2)·3.
    assert!((out[1] - 0.725 * 3.0).abs() < 1e-5);
    let phi = contributions(&s, &c, 1);
    let total: f32 = phi.iter().map(|(_, v)| v).sum();
    assert!((total - out[1]).abs() < 1e-5);
    // Symmetry: two players with identical marginal contributions get equal values.
    let v = |m: u32| -> f64 { (if m & 0b011 == 0b011 { 1.0 } else { 0.0 }) + (if m & 0b100 != 0 { 0.5 } else { 0.0 }) };
    let phi = shapley(3, v);
    assert!((phi[0] - phi[1]).abs() < 1e-12 && (phi[0] - 0.5).abs() < 1e-12 && (phi[2] - 0.5).abs() < 1e-12);
}

#[test]
fn zero_weight_removes_a_signal_and_ranking_is_deterministic() {
    let cat = catalogue();
    let mut s = set();
    let mut c = config(FusionMethod::Weighted);
    s.prepare(&c);
    let ctx = RankContext { catalogue: &cat, rules: &[], vectors: None };
    let a: Vec<u32> = rank(&s, &c, &ctx, 5).iter().map(|e| e.item).collect();
    let b: Vec<u32> = rank(&s, &c, &ctx, 5).iter().map(|e| e.item).collect();
    assert_eq!(a, b);
    assert_eq!(a, vec![11, 10, 12, 13, 14]);
    c.set_weight(SignalId::ALS, 0.0);
    c.set_weight(SignalId::POPULARITY, 0.0);
    let only_cf: Vec<u32> = rank(&s, &c, &ctx, 5).iter().map(|e| e.item).collect();
    // item_cf alone: 12 (4), 11 and 13 (2, tie → lower id first), 14 (1), 10 (0).
    assert_eq!(only_cf, vec![12, 11, 13, 14, 10]);
    let contrib = contributions(&s, &c, 0);
    assert!(contrib.iter().all(|(sig, v)| *sig == SignalId::ITEM_CF || *v == 0.0));
}

#[test]
fn rules_pin_hide_boost_bury() {
    let cat = catalogue();
    let mut s = set();
    let c = config(FusionMethod::Weighted);
    s.prepare(&c);
    let rules = vec![
        Rule {
            name: "pin14".to_owned(),
            enabled: true,
            target: RuleTarget::Item { id: "item14".to_owned() },
            action: RuleAction::Pin { position: 2 },
            scope: recfuse::fusion::RuleScope::All,
        },
        Rule {
            name: "hide11".to_owned(),
            enabled: true,
            target: RuleTarget::Item { id: "item11".to_owned() },
            action: RuleAction::Hide,
            scope: recfuse::fusion::RuleScope::All,
        },
        Rule {
            name: "bury-even".to_owned(),
            enabled: true,
            target: RuleTarget::Brand { name: "even".to_owned() },
            action: RuleAction::Bury { adjustment: Adjustment::Multiply(0.5) },
            scope: recfuse::fusion::RuleScope::All,
        },
        Rule {
            name: "off".to_owned(),
            enabled: false,
            target: RuleTarget::PriceRange { min: None, max: None },
            action: RuleAction::Hide,
            scope: recfuse::fusion::RuleScope::All,
        },
    ];
    let ctx = RankContext { catalogue: &cat, rules: &rules, vectors: None };
    let list = rank(&s, &c, &ctx, 5);
    let items: Vec<u32> = list.iter().map(|e| e.item).collect();
    // Without rules: 11 (.725), 10 (.7), 12 (.55), 13 (.375), 14 (.075).
    // Hide 11; bury even ids ×0.5: 10 → .35, 12 → .275, 14 → .0375; 13 stays .375.
    // Order 13, 10, 12, then 14 pinned at position 2.
    assert_eq!(items, vec![13, 14, 10, 12]);
    let ten = list.iter().find(|e| e.item == 10).expect("item 10");
    assert!((ten.score - 0.35).abs() < 1e-6 && (ten.rule_effects[0].delta + 0.35).abs() < 1e-6);
    // Contributions + rule deltas sum to the final score.
    let total: f32 = contributions(&s, &c, ten.candidate).iter().map(|(_, v)| v).sum::<f32>()
        + ten.rule_effects.iter().map(|r| r.delta).sum::<f32>();
    assert!((total - ten.score).abs() < 1e-6);
}

/// A signal that misbehaves: NaN for even items, +inf for item 1.
struct BrokenScorer;

impl recfuse::score::Scorer for BrokenScorer {
    fn id(&self) -> SignalId {
        SignalId::PRICE
    }
    fn score_all(&self, _ctx: &recfuse::score::ScoreContext<'_>, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = if i == 1 {
                f32::INFINITY
            } else if i % 2 == 0 {
                f32::NAN
            } else {
                i as f32
            };
        }
    }
    fn evidence(&self, _: &recfuse::score::ScoreContext<'_>, _: u32, _: &Catalogue) -> Option<String> {
        None
    }
}

#[test]
fn non_finite_scores_are_guarded_and_reported() {
    let profile = recfuse::score::UserProfile::cold(0);
    let ctx = recfuse::score::ScoreContext { profile: &profile, query: None };
    let scorer = BrokenScorer;
    let mut config = config(FusionMethod::Weighted);
    config.set_weight(SignalId::PRICE, 1.0);
    let mut set = CandidateSet::build(&[&scorer], &ctx, 6, &config, &[], None);
    // Items 0, 1, 2, 4 are non-finite → 0; only 3 and 5 are candidates (score > 0).
    assert_eq!(set.non_finite, vec![(SignalId::PRICE, 4)]);
    assert_eq!(set.items, vec![3, 5]);
    set.prepare(&config);
    let mut out = Vec::new();
    fused_scores(&set, &config, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
}

/// One signal (ALS, weight 1, min-max) over `raw.len()` candidates `0..n`.
fn one_signal_set(raw: Vec<f32>) -> (CandidateSet, FusionConfig) {
    let items: Vec<u32> = (0..raw.len() as u32).collect();
    let in_top = vec![0b1; raw.len()];
    let mut c = config(FusionMethod::Weighted);
    c.set_weight(SignalId::ITEM_CF, 0.0);
    c.set_weight(SignalId::POPULARITY, 0.0);
    c.set_weight(SignalId::ALS, 1.0);
    let mut s = CandidateSet::from_parts(items, vec![SignalId::ALS], raw, in_top);
    s.prepare(&c);
    (s, c)
}

#[test]
fn the_category_cap_says_which_item_of_the_category_it_moved_down() {
    // Scores 4, 3, 2, 1 → items 0, 1, 2 are Mugs, item 3 a Lamp. A cap of 2 keeps two
    // Mugs ahead, so the order is 0, 1, 3, 2 and item 2 — the 3rd Mugs item — says why.
    let (s, mut c) = one_signal_set(vec![4.0, 3.0, 2.0, 1.0]);
    c.category_cap = 2;
    c.collapse_duplicates = false;
    let mut cat = catalogue();
    let mugs = cat.category_names.intern("Mugs");
    let lamps = cat.category_names.intern("Lamps");
    cat.category_labels = vec![vec![mugs], vec![mugs], vec![mugs], vec![lamps]];
    let ctx = RankContext { catalogue: &cat, rules: &[], vectors: None };
    let ranked = rank(&s, &c, &ctx, 10);
    assert_eq!(ranked.iter().map(|e| e.item).collect::<Vec<_>>(), vec![0, 1, 3, 2]);
    let why: Vec<Vec<String>> = ranked.iter().map(|e| e.reranked.iter().map(ToString::to_string).collect()).collect();
    assert_eq!(why[3], vec!["category cap: 3rd Mugs item (cap 2), moved down".to_owned()]);
    assert!(why[..3].iter().all(Vec::is_empty), "{why:?}");
}

#[test]
fn mmr_says_when_it_moved_an_item_below_a_lower_score() {
    // Scores 2, 1, 0 → relevance 1, .5, 0. Items 0 and 1 have the same vector, item 2 an
    // orthogonal one. λ = .5: first item 0 (.5 vs .25 vs 0); then item 1 is worth
    // .5·.5 − .5·1 = −.25 and item 2 .5·0 − .5·0 = 0, so item 2 goes second and item 1,
    // one place below its score order, says so.
    let (s, mut c) = one_signal_set(vec![2.0, 1.0, 0.0]);
    c.mmr_lambda = 0.5;
    c.collapse_duplicates = false;
    let vectors =
        recfuse::embed::ItemVectors { dim: 2, data: vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0], has_text: vec![true; 3] };
    let cat = catalogue();
    let ctx = RankContext { catalogue: &cat, rules: &[], vectors: Some(&vectors) };
    let ranked = rank(&s, &c, &ctx, 10);
    assert_eq!(ranked.iter().map(|e| e.item).collect::<Vec<_>>(), vec![0, 2, 1]);
    let last: Vec<String> = ranked[2].reranked.iter().map(ToString::to_string).collect();
    assert_eq!(last, vec!["moved down by diversity (1 place below its score order)".to_owned()]);
    assert!(ranked[0].reranked.is_empty() && ranked[1].reranked.is_empty());
}

#[test]
fn a_rule_without_a_scope_is_for_every_list_and_a_shopper_rule_only_for_that_shopper() {
    use recfuse::fusion::{ListFor, RuleScope, rules_for};
    // A rule as sessions wrote it before scopes existed.
    let old: Rule =
        serde_json::from_str(r#"{"name": "no postage", "target": {"by": "item", "id": "POST"}, "action": "hide"}"#)
            .expect("old rule");
    assert_eq!(old.scope, RuleScope::All);
    let mut mine = old.clone();
    mine.scope = RuleScope::Shopper { id: "u1".to_owned() };
    let mut lamps = old.clone();
    lamps.scope = RuleScope::Queries { containing: "Lamp".to_owned() };
    let json = serde_json::to_string(&mine).expect("json");
    assert!(json.contains(r#""scope":{"for":"shopper","id":"u1"}"#), "{json}");
    assert_eq!(serde_json::from_str::<Rule>(&json).expect("round trip"), mine);
    let rules = vec![old, mine, lamps];
    let names = |list: ListFor<'_>| rules_for(&rules, list, &[]).iter().map(|r| r.scope.clone()).collect::<Vec<_>>();
    assert_eq!(names(ListFor::Shopper("u2")), vec![RuleScope::All]);
    assert_eq!(names(ListFor::Shopper("u1")).len(), 2);
    assert_eq!(names(ListFor::Search { query: "desk lamps", shopper: None }).len(), 2);
    assert_eq!(names(ListFor::Search { query: "rugs", shopper: Some("u1") }).len(), 2);
    assert_eq!(names(ListFor::Any), vec![RuleScope::All]);
}

#[test]
fn a_segment_rule_is_for_the_shoppers_of_that_segment_and_their_searches_only() {
    use recfuse::fusion::{ListFor, RuleScope, rules_for};
    let rule: Rule = serde_json::from_str(
        r#"{"name": "french mugs", "target": {"by": "item", "id": "M1"}, "action": "hide",
            "scope": {"for": "segment", "dimension": "country", "value": "France"}}"#,
    )
    .expect("segment rule");
    assert_eq!(rule.scope, RuleScope::Segment { dimension: "country".to_owned(), value: "France".to_owned() });
    let json = serde_json::to_string(&rule).expect("json");
    assert!(json.contains(r#""scope":{"for":"segment","dimension":"country","value":"France"}"#), "{json}");
    assert_eq!(serde_json::from_str::<Rule>(&json).expect("round trip"), rule);
    let rules = vec![rule];
    let french = [("store".to_owned(), "north".to_owned()), ("country".to_owned(), "france".to_owned())];
    let german = [("country".to_owned(), "Germany".to_owned())];
    let wrong_column = [("region".to_owned(), "France".to_owned())];
    let applies = |list: ListFor<'_>, segments: &[(String, String)]| rules_for(&rules, list, segments).len();
    // The value matches case-insensitively, only in the named column.
    assert_eq!(applies(ListFor::Shopper("u1"), &french), 1);
    assert_eq!(applies(ListFor::Shopper("u2"), &german), 0);
    assert_eq!(applies(ListFor::Shopper("u3"), &wrong_column), 0);
    assert_eq!(applies(ListFor::Shopper("u4"), &[]), 0);
    // A search personalised for a French shopper is theirs; an anonymous one and the
    // across-shoppers evaluation are nobody's.
    assert_eq!(applies(ListFor::Search { query: "mug", shopper: Some("u1") }, &french), 1);
    assert_eq!(applies(ListFor::Search { query: "mug", shopper: None }, &french), 0);
    assert_eq!(applies(ListFor::Any, &french), 0);
}
