//! Issue #13: exclusions that mean what they say, degenerate signals and the tie order,
//! clean text, duplicate items and evidence that names the event — on tiny hand-made data.

use std::path::Path;

use recfuse::data::{Catalogue, DataSources, Dataset, EventWeights, load_dataset};
use recfuse::eval::metrics::hit_count;
use recfuse::eval::runner::relevance_sets;
use recfuse::fusion::{CandidateSet, FusionConfig, FusionMethod, Normalisation, RankContext, rank, top_k_fused};
use recfuse::jobs::Progress;
use recfuse::score::params::ItemCfParams;
use recfuse::score::{Interactions, ScoreContext, Scorer, SignalId, UserProfile};

const DAY0: i64 = 1_293_840_000;

/// Writes a catalogue (`item_id,title,description,brand`) and a behaviour file (raw CSV
/// rows after the header `user_id,item_id,timestamp,event_type,rating`) and loads them.
fn dataset(dir: &Path, items: &[(&str, &str, &str, &str)], events: &[&str]) -> Dataset {
    let mut cat = String::from("item_id,title,description,brand\n");
    for (id, t, d, b) in items {
        cat.push_str(&format!("{id},{t},{d},{b}\n"));
    }
    let mut ev = String::from("user_id,item_id,timestamp,event_type,rating\n");
    for row in events {
        ev.push_str(row);
        ev.push('\n');
    }
    let c = dir.join("c.csv");
    let e = dir.join("e.csv");
    std::fs::write(&c, cat).expect("write");
    std::fs::write(&e, ev).expect("write");
    let sources = DataSources { catalogue: Some(c), behaviour: e, ..DataSources::default() };
    load_dataset(&sources, &EventWeights::default(), &Progress::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn plain_items(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("i{i}"), format!("item {i}"))).collect()
}

/// A scorer with fixed scores.
struct Fixed(SignalId, Vec<f32>);

impl Scorer for Fixed {
    fn id(&self) -> SignalId {
        self.0
    }
    fn score_all(&self, _ctx: &ScoreContext<'_>, out: &mut [f32]) {
        for (o, v) in out.iter_mut().zip(&self.1) {
            *o = *v;
        }
    }
    fn evidence(&self, _: &ScoreContext<'_>, _: u32, _: &Catalogue) -> Option<String> {
        None
    }
}

fn only(signal: SignalId, w: f32) -> FusionConfig {
    let mut c = FusionConfig::default();
    for s in SignalId::all() {
        c.set_weight(s, 0.0);
    }
    c.set_weight(signal, w);
    c
}

fn at(day: i64) -> i64 {
    DAY0 + day * 86_400
}

#[test]
fn every_training_interaction_is_excluded_and_repeats_bring_them_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owned = plain_items(5);
    let items: Vec<(&str, &str, &str, &str)> = owned.iter().map(|(i, t)| (i.as_str(), t.as_str(), "", "")).collect();
    let rows = [
        // u: 2★ on i0 (weight 0), 5★ on i1, bought and returned i2; v bought i0 and i3
        // (items must be known in training to count as relevant).
        format!("u,i0,{},rating,2", at(0)),
        format!("u,i1,{},rating,5", at(1)),
        format!("u,i2,{},purchase,", at(2)),
        format!("u,i2,{},return,", at(3)),
        format!("v,i0,{},purchase,", at(3)),
        format!("v,i3,{},purchase,", at(3)),
        // Test period: u rates i0 and i3 5★.
        format!("u,i0,{},rating,5", at(10)),
        format!("u,i3,{},rating,5", at(10)),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let d = dataset(dir.path(), &items, &rows);
    let train_idx: Vec<usize> = (0..d.behaviour.len()).filter(|&e| d.behaviour.time[e] < at(5)).collect();
    let test_idx: Vec<usize> = (0..d.behaviour.len()).filter(|&e| d.behaviour.time[e] >= at(5)).collect();
    let train = Interactions::build(&d.behaviour, &train_idx, d.catalogue.len());
    let u = d.behaviour.users.get("u").expect("u");
    let profile = train.profile(u);
    let i = |id: &str| d.catalogue.ids.get(id).expect("item");
    // Only i1 has a positive net weight: the old rule excluded i1 alone.
    assert_eq!(profile.items.iter().map(|&(j, _)| j).collect::<Vec<_>>(), vec![i("i1")]);
    let scorer = Fixed(SignalId::ALS, vec![5.0, 4.0, 3.0, 2.0, 1.0]);
    let ctx = ScoreContext { profile: &profile, query: None };
    let mut config = only(SignalId::ALS, 1.0);
    let set = CandidateSet::build(&[&scorer], &ctx, 5, &config, &[], None);
    assert_eq!(set.items, vec![i("i3"), i("i4")]);
    config.exclude_seen = false;
    let set = CandidateSet::build(&[&scorer], &ctx, 5, &config, &[], None);
    assert_eq!(set.items, vec![0, 1, 2, 3, 4]);
    // Evaluation: the same rule decides what counts as relevant.
    let with = relevance_sets(&d, &train, &test_idx, true, true);
    let rel = with.get(&u).expect("u evaluated");
    assert_eq!((rel.len(), hit_count(&[i("i0")], rel, 1)), (1, 0), "i0 was rated in training");
    let without = relevance_sets(&d, &train, &test_idx, false, true);
    let rel = without.get(&u).expect("u evaluated");
    assert_eq!((rel.len(), hit_count(&[i("i0")], rel, 1)), (2, 1));
}

fn tie_catalogue() -> Catalogue {
    let mut c = Catalogue::default();
    for (i, id) in ["m", "zeta", "alpha", "b", "c"].iter().enumerate() {
        c.ids.intern(id);
        c.titles.push(format!("t{i}"));
        c.brands.push(String::new());
    }
    c
}

#[test]
fn constant_signal_is_left_out_with_a_notice_and_ties_follow_popularity_then_id() {
    let catalogue = tie_catalogue();
    let items = vec![0, 1, 2, 3];
    let signals = vec![SignalId::ALS, SignalId::CATEGORY, SignalId::POPULARITY];
    #[rustfmt::skip]
    let raw = vec![
        1.0, 1.0, 1.0, 0.0, // als: three-way tie
        0.5, 0.5, 0.5, 0.5, // category: constant
        1.0, 3.0, 3.0, 0.0, // popularity (weight 0): the tie order
    ];
    let mut set = CandidateSet::from_parts(items, signals, raw, vec![0b111; 4]);
    let mut config = only(SignalId::ALS, 1.0);
    config.set_weight(SignalId::CATEGORY, 0.5);
    for s in config.signals.values_mut() {
        s.normalisation = Normalisation::Rank;
    }
    set.prepare(&config);
    assert_eq!(set.degenerate, vec![SignalId::CATEGORY]);
    let notice = set.degenerate_notice(&config).expect("notice");
    assert!(notice.contains(SignalId::CATEGORY.label()), "{notice}");
    let contributions = recfuse::fusion::contributions(&set, &config, 0);
    assert_eq!(contributions.iter().find(|(s, _)| *s == SignalId::CATEGORY).map(|c| c.1), Some(0.0));
    // Rank-normalised als: the three tied items 1.0, item 3 0.0 — category adds nothing.
    let ctx = RankContext { catalogue: &catalogue, rules: &[], vectors: None };
    let ranked = rank(&set, &config, &ctx, 10);
    assert_eq!(ranked.iter().map(|e| e.fused).collect::<Vec<_>>(), vec![1.0, 1.0, 1.0, 0.0]);
    // Ties: popularity 3 ("zeta" = 1, "alpha" = 2) before 1 ("m" = 0); "alpha" < "zeta".
    assert_eq!(ranked.iter().map(|e| e.item).collect::<Vec<_>>(), vec![2, 1, 0, 3]);
    set.attach_catalogue(&catalogue);
    assert_eq!(top_k_fused(&set, &config, 4, &mut Vec::new()), vec![2, 1, 0, 3]);
    // CombMNZ: the constant signal's top-N membership no longer multiplies.
    config.method = FusionMethod::Combmnz;
    let mut out = Vec::new();
    recfuse::fusion::fused_scores(&set, &config, &mut out);
    assert_eq!(out, vec![1.0, 1.0, 1.0, 0.0]);
}

#[test]
fn a_signal_constant_over_the_catalogue_brings_no_candidates() {
    let profile = UserProfile::cold(0);
    let ctx = ScoreContext { profile: &profile, query: None };
    let varied = Fixed(SignalId::ALS, vec![0.9, 0.4, 0.0, 0.0, 0.0]);
    let constant = Fixed(SignalId::CATEGORY, vec![1.0; 5]);
    let config = only(SignalId::ALS, 1.0);
    let set = CandidateSet::build(&[&varied, &constant], &ctx, 5, &config, &[], None);
    // Before: the constant signal's top-N (ties → file order) made every item a candidate.
    assert_eq!(set.items, vec![0, 1]);
    assert_eq!(set.degenerate, vec![SignalId::CATEGORY]);
}

#[test]
fn titles_are_cleaned_and_empty_ones_come_from_the_description() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = [
        ("i0", "<b>Red&amp;Blue</b>  mug", "", ""),
        ("i1", "", "A sturdy <i>enamel</i> camping mug", ""),
        ("i2", "Plain title", "", ""),
    ];
    let rows = [format!("u,i0,{},purchase,", at(0))];
    let d = dataset(dir.path(), &items, &[rows[0].as_str()]);
    assert_eq!(d.catalogue.titles, vec!["Red&Blue mug", "A sturdy enamel camping mug", "Plain title"]);
    assert_eq!(d.catalogue.descriptions[1], "A sturdy enamel camping mug");
    let notices = &d.report.files[0].notices;
    assert!(notices.iter().any(|n| n.contains("1 cleaned") && n.contains("1 empty replaced")), "{notices:?}");
}

#[test]
fn duplicate_titles_take_one_slot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = [
        ("i0", "Blue Mug", "", "Acme"),
        ("i1", "blue  <b>mug</b>", "", "acme"),
        ("i2", "Blue Mug", "", "Other"),
        ("i3", "Teapot", "", "Acme"),
    ];
    let rows = [format!("u,i0,{},purchase,", at(0))];
    let d = dataset(dir.path(), &items, &[rows[0].as_str()]);
    assert_eq!(d.catalogue.duplicate_groups(), vec![vec![0, 1]]);
    let notices = &d.report.files[0].notices;
    assert!(notices.iter().any(|n| n.starts_with("1 duplicate groups (2 items")), "{notices:?}");
    // i1 scores above i0: i1 keeps the slot, i0 goes; i2 has another brand.
    let raw = vec![0.8, 0.9, 0.5, 0.1];
    let mut set = CandidateSet::from_parts(vec![0, 1, 2, 3], vec![SignalId::ALS], raw, vec![1; 4]);
    let mut config = only(SignalId::ALS, 1.0);
    set.prepare(&config);
    let ctx = RankContext { catalogue: &d.catalogue, rules: &[], vectors: None };
    let items_of =
        |set: &CandidateSet, c: &FusionConfig| rank(set, c, &ctx, 10).iter().map(|e| e.item).collect::<Vec<_>>();
    assert_eq!(items_of(&set, &config), vec![1, 2, 3]);
    set.attach_catalogue(&d.catalogue);
    assert_eq!(top_k_fused(&set, &config, 3, &mut Vec::new()), vec![1, 2, 3]);
    config.collapse_duplicates = false;
    assert_eq!(items_of(&set, &config), vec![1, 0, 2, 3]);
    assert_eq!(top_k_fused(&set, &config, 3, &mut Vec::new()), vec![1, 0, 2]);
}

/// item_cf evidence for `u`'s recommendation of "Beta" after `u` did `event` on "Alpha"
/// (and `v` did it on both).
fn item_cf_evidence(event: &str, rating: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = [("a", "Alpha", "", ""), ("b", "Beta", "", "")];
    let rows = [
        format!("u,a,{},{event},{rating}", at(0)),
        format!("v,a,{},{event},{rating}", at(0)),
        format!("v,b,{},{event},{rating}", at(1)),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let d = dataset(dir.path(), &items, &rows);
    let all: Vec<usize> = (0..d.behaviour.len()).collect();
    let data = Interactions::build(&d.behaviour, &all, d.catalogue.len());
    let scorer =
        recfuse::score::item_cf::ItemCfScorer::fit(&data, &ItemCfParams::default(), &Progress::new()).expect("fit");
    let profile = data.profile(d.behaviour.users.get("u").expect("u"));
    let b = d.catalogue.ids.get("b").expect("b");
    scorer.evidence(&ScoreContext { profile: &profile, query: None }, b, &d.catalogue).expect("evidence")
}

#[test]
fn evidence_names_the_event_that_produced_it() {
    assert_eq!(item_cf_evidence("rating", "5"), "because you rated “Alpha” 5★");
    assert_eq!(item_cf_evidence("view", ""), "because you viewed “Alpha”");
    assert_eq!(item_cf_evidence("purchase", ""), "because you bought “Alpha”");
}
