//! Index-built candidates (`--candidates index`): where the index path is exhaustive (every
//! IVF list probed) it builds exactly the candidate sets of the exhaustive path — the same
//! items, bit-identical raw scores, the same top-N memberships and the same ranked lists —
//! for every shopper of the sample data, with every signal but semantic fitted (categories
//! with two labels per item, prices); with the default probes the exact indexes (item-CF,
//! user-CF, sequential, popularity, freshness, price, category) still give exactly the
//! exhaustive top-N.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use recfuse::data::{DataSources, EventWeights, load_dataset};
use recfuse::fusion::{CandidateSet, CandidateSource, FusionConfig, RankContext, rank};
use recfuse::jobs::Progress;
use recfuse::score::{ScoreContext, SignalId};
use recfuse::session::Engine;

fn sample(name: &str) -> String {
    format!("{}/sample_data/online_retail/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The sample catalogue with a two-label category (`cN|dM`) and the price column named
/// `price`.
fn catalogue_with_categories(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sample("catalogue.csv")).expect("read catalogue");
    let mut out = String::from("item_id,title,category,price\n");
    for (n, line) in text.lines().skip(1).enumerate() {
        let mut parts = line.splitn(2, ',');
        let id = parts.next().expect("id");
        let rest = parts.next().expect("rest");
        let (title, price) = rest.rsplit_once(',').expect("price");
        out.push_str(&format!("{id},{title},c{}|d{},{price}\n", n % 5, n % 3));
    }
    let path = dir.join("catalogue.csv");
    std::fs::write(&path, out).expect("write catalogue");
    path
}

fn engine(dir: &Path) -> Engine {
    let sources = DataSources {
        catalogue: Some(catalogue_with_categories(dir)),
        behaviour: PathBuf::from(sample("events.csv")),
        ..DataSources::default()
    };
    let progress = Progress::new();
    let d = load_dataset(&sources, &EventWeights::default(), &progress).expect("load");
    let texts = Arc::new(d.catalogue.titles.clone());
    recfuse::session::pipeline::fit_all(Arc::new(d), &Default::default(), texts, Err("none".to_owned()), &progress)
        .expect("fit")
}

#[test]
fn probing_every_list_gives_the_exhaustive_sets_and_lists_for_every_shopper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let signals: Vec<SignalId> = SignalId::recommend().filter(|s| engine.models.scorers.contains_key(s)).collect();
    for needed in [SignalId::ITEM_CF, SignalId::USER_CF, SignalId::ALS, SignalId::CATEGORY, SignalId::PRICE] {
        assert!(signals.contains(&needed), "{needed} must be fitted for this test: {signals:?}");
    }
    let scorers = engine.models.scorers_for(&signals);
    let n_items = engine.catalogue().len();
    let mut config = FusionConfig::default();
    let ctx = RankContext { catalogue: engine.catalogue(), rules: &[], vectors: None };
    let users: Vec<u32> = engine.interactions.active_users().collect();
    assert!(users.len() > 100, "{} shoppers", users.len());
    for exclude_seen in [true, false] {
        config.exclude_seen = exclude_seen;
        for &u in &users {
            let profile = engine.interactions.profile(u);
            let sctx = ScoreContext { profile: &profile, query: None };
            let mut exact = CandidateSet::build(&scorers, &sctx, n_items, &config, &[], None);
            let mut found = CandidateSet::build_indexed(&scorers, &sctx, n_items, &config, &[], None, usize::MAX);
            assert_eq!(found.items, exact.items, "shopper {u}: candidates");
            assert_eq!(found.in_top, exact.in_top, "shopper {u}: top-N memberships");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&found.raw), bits(&exact.raw), "shopper {u}: raw scores");
            assert_eq!(found.degenerate, exact.degenerate, "shopper {u}");
            for set in [&mut exact, &mut found] {
                set.attach_catalogue(engine.catalogue());
                set.prepare(&config);
            }
            let top =
                |s: &CandidateSet| rank(s, &config, &ctx, 10).iter().map(|r| (r.item, r.score)).collect::<Vec<_>>();
            assert_eq!(top(&found), top(&exact), "shopper {u}: ranked list");
        }
    }
}

#[test]
fn the_exact_indexes_give_the_exhaustive_top_n_at_the_default_probes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let signals: Vec<SignalId> = SignalId::recommend().filter(|s| engine.models.scorers.contains_key(s)).collect();
    let scorers = engine.models.scorers_for(&signals);
    let n_items = engine.catalogue().len();
    let config = FusionConfig { candidates_per_signal: 50, ..FusionConfig::default() };
    let approximate: Vec<usize> =
        signals.iter().enumerate().filter(|(_, s)| **s == SignalId::ALS).map(|(k, _)| k).collect();
    let mut mask = 0u32;
    for k in 0..signals.len() {
        if !approximate.contains(&k) {
            mask |= 1 << k;
        }
    }
    for u in engine.interactions.active_users().step_by(3) {
        let profile = engine.interactions.profile(u);
        let sctx = ScoreContext { profile: &profile, query: None };
        let exact = CandidateSet::build(&scorers, &sctx, n_items, &config, &[], None);
        let found = CandidateSet::build_indexed(&scorers, &sctx, n_items, &config, &[], None, 0);
        let members = |s: &CandidateSet| {
            s.items
                .iter()
                .zip(&s.in_top)
                .filter(|(_, b)| *b & mask != 0)
                .map(|(&i, &b)| (i, b & mask))
                .collect::<Vec<_>>()
        };
        assert_eq!(members(&found), members(&exact), "shopper {u}");
        // Every candidate the index found carries its exhaustive score.
        for (j, &item) in found.items.iter().enumerate() {
            if let Some(k) = exact.position(item) {
                for s in 0..signals.len() {
                    assert_eq!(found.raw_of(s)[j].to_bits(), exact.raw_of(s)[k].to_bits(), "shopper {u} item {item}");
                }
            }
        }
    }
}

#[test]
fn auto_takes_the_index_path_only_for_large_catalogues() {
    assert!(!CandidateSource::Auto.uses_index(99_999));
    assert!(CandidateSource::Auto.uses_index(100_000));
    assert!(CandidateSource::Index.uses_index(10) && !CandidateSource::Exhaustive.uses_index(10_000_000));
    assert_eq!(recfuse::fusion::candidates::INDEX_MIN_ITEMS, 100_000);
    // The default is not written into sessions and profiles (they stay as before).
    let json = serde_json::to_string(&FusionConfig::default()).expect("json");
    assert!(!json.contains("candidate_source") && !json.contains("index_probes"), "{json}");
    let c = FusionConfig { candidate_source: CandidateSource::Index, ..FusionConfig::default() };
    let back: FusionConfig = serde_json::from_str(&serde_json::to_string(&c).expect("json")).expect("parse");
    assert_eq!(back.candidate_source, CandidateSource::Index);
}

/// Scoring shoppers in blocks (`CandidateSet::generate_block`, the path of `batch` and
/// `eval`) gives every shopper the set one `generate` gives: the same items and
/// memberships, bit-identical scores. Semantic (40-dimension vectors: two 16-lane chunks
/// and a tail, one item without text) and ALS score in blocks; the block of 7 has a rest
/// after its group of four; a cold shopper has no taste vector.
#[test]
fn blocks_of_shoppers_get_the_sets_of_one_shopper_at_a_time() {
    use recfuse::embed::ItemVectors;
    use recfuse::score::semantic::SemanticScorer;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let n_items = engine.catalogue().len();
    let dim = 40;
    let mut data: Vec<f32> = (0..n_items * dim).map(|k| ((k as f32) * 0.618).sin()).collect();
    for row in data.chunks_exact_mut(dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    let mut has_text = vec![true; n_items];
    has_text[5] = false;
    let semantic = SemanticScorer::new(Arc::new(ItemVectors { dim, data, has_text }), &Default::default());
    let signals: Vec<SignalId> = SignalId::recommend().filter(|s| engine.models.scorers.contains_key(s)).collect();
    assert!(signals.contains(&SignalId::ALS));
    let mut scorers = engine.models.scorers_for(&signals);
    scorers.push(&semantic);
    assert!(scorers.iter().filter(|s| s.scores_in_blocks()).count() >= 2);
    let config = FusionConfig { candidate_source: CandidateSource::Exhaustive, ..FusionConfig::default() };
    let users: Vec<u32> = engine.interactions.active_users().take(23).collect();
    let mut profiles: Vec<_> = users.iter().map(|&u| engine.interactions.profile(u)).collect();
    profiles.insert(3, recfuse::score::UserProfile::cold(engine.interactions.now));
    let ctxs: Vec<ScoreContext<'_>> = profiles.iter().map(|p| ScoreContext { profile: p, query: None }).collect();
    let forced = vec![vec![], vec![7u32]];
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut checked = 0;
    for block in [16usize, 7] {
        for (b, chunk) in ctxs.chunks(block).enumerate() {
            let forced = if b == 0 { forced.clone() } else { Vec::new() };
            let sets = CandidateSet::generate_block(&scorers, chunk, n_items, &config, &forced, None);
            assert_eq!(sets.len(), chunk.len());
            for (k, (ctx, set)) in chunk.iter().zip(&sets).enumerate() {
                let pinned = forced.get(k).cloned().unwrap_or_default();
                let one = CandidateSet::generate(&scorers, ctx, n_items, &config, &pinned, None);
                assert_eq!(set.items, one.items, "block {block}, shopper {k}: candidates");
                assert_eq!(set.in_top, one.in_top, "block {block}, shopper {k}: memberships");
                assert_eq!(bits(&set.raw), bits(&one.raw), "block {block}, shopper {k}: raw scores");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 48);
    // The pinned item of the first block's second shopper is a candidate.
    let sets = CandidateSet::generate_block(&scorers, &ctxs[..2], n_items, &config, &forced, None);
    assert!(sets[1].items.contains(&7));
}
