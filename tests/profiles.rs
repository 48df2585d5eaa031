//! Fusion profiles: the exported Spark SQL, run on SQLite (an in-process SQL engine) over a
//! small score table, ranks every shopper as RecFuse's own candidate set + fusion + rules do on
//! the same scores; the JSON profile reads back to the same settings and the same lists; each
//! format's header says what its target cannot express.

use std::process::Command;

use recfuse::data::Catalogue;
use recfuse::fusion::{
    Adjustment, CandidateSet, FusionConfig, FusionMethod, ListFor, Normalisation, RankContext, Rule, RuleAction,
    RuleScope, RuleTarget, rank, rules_for,
};
use recfuse::score::{ScoreContext, Scorer, SignalId, UserProfile};
use recfuse::session::Session;
use recfuse::session::profile::{Profile, ProfileFormat, render};

const ITEMS: usize = 14;
const USERS: usize = 3;
const SIGNALS: [SignalId; 5] =
    [SignalId::ALS, SignalId::ITEM_CF, SignalId::USER_CF, SignalId::POPULARITY, SignalId::FRESHNESS];

fn item_id(i: usize) -> String {
    format!("i{i:02}")
}

/// A signal with fixed scores per shopper (dense over the catalogue).
struct Fixed {
    id: SignalId,
    scores: Vec<Vec<f32>>,
}

impl Scorer for Fixed {
    fn id(&self) -> SignalId {
        self.id
    }
    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        let user = ctx.profile.user.unwrap_or(0) as usize;
        out.copy_from_slice(&self.scores[user]);
    }
    fn evidence(&self, _: &ScoreContext<'_>, _: u32, _: &Catalogue) -> Option<String> {
        None
    }
}

/// Items i00…i13: brands Acme/Other alternating, price = index, two categories.
fn catalogue() -> Catalogue {
    let mut c = Catalogue::default();
    for i in 0..ITEMS {
        c.ids.intern(&item_id(i));
        c.titles.push(format!("title {i}"));
        c.descriptions.push(String::new());
        let category = if i % 3 == 0 { "Home > Kitchen" } else { "Garden" };
        c.categories.push(category.to_owned());
        let label = c.category_names.intern(category);
        c.category_labels.push(vec![label]);
        c.brands.push(if i % 2 == 0 { "Acme".to_owned() } else { "Other".to_owned() });
        c.prices.push(i as f32);
        c.images.push(String::new());
        c.created_at.push(None);
        c.stock.push(f32::NAN);
        c.margin.push(f32::NAN);
    }
    c
}

/// Seeded scores: sparse positive and negative values, popularity dense and shared, and for
/// shopper 2 a `user_cf` that gives every item the same score (it may choose no candidate).
fn scorers() -> Vec<Fixed> {
    let mut rng = fastrand::Rng::with_seed(7);
    SIGNALS
        .iter()
        .map(|&id| {
            let popularity: Vec<f32> = (0..ITEMS).map(|_| rng.f32() * 100.0 + 1.0).collect();
            let scores = (0..USERS)
                .map(|u| {
                    (0..ITEMS)
                        .map(|_| match id {
                            SignalId::POPULARITY => 0.0,
                            SignalId::USER_CF if u == 2 => 0.5,
                            _ if rng.f32() < 0.3 => 0.0,
                            _ => rng.f32() * 2.0 - 0.4,
                        })
                        .collect::<Vec<f32>>()
                })
                .map(|v| if id == SignalId::POPULARITY { popularity.clone() } else { v })
                .collect();
            Fixed { id, scores }
        })
        .collect()
}

/// Items each shopper has already (left out when `exclude_seen`).
fn seen(user: usize) -> Vec<u32> {
    vec![(user * 4) as u32, (user * 4 + 1) as u32]
}

fn profile_of(user: usize) -> UserProfile {
    UserProfile {
        user: Some(user as u32),
        items: seen(user).iter().map(|&i| (i, 1.0)).collect(),
        events: Vec::new(),
        now: 0,
    }
}

/// Shoppers u0 and u2 are in the `north` store segment, u1 in `south`.
fn segments_of(user: usize) -> Vec<(String, String)> {
    vec![("store".to_owned(), if user == 1 { "South" } else { "North" }.to_owned())]
}

/// RecFuse's top `k` for every shopper (item ids).
fn recfuse_lists(config: &FusionConfig, rules: &[Rule], k: usize) -> Vec<Vec<String>> {
    let cat = catalogue();
    let fixed = scorers();
    let refs: Vec<&dyn Scorer> = fixed.iter().map(|f| f as &dyn Scorer).collect();
    (0..USERS)
        .map(|u| {
            let profile = profile_of(u);
            let ctx = ScoreContext { profile: &profile, query: None };
            let mut set = CandidateSet::build(&refs, &ctx, ITEMS, config, &[], None);
            set.prepare(config);
            let id = format!("u{u}");
            let scoped = rules_for(rules, ListFor::Shopper(&id), &segments_of(u));
            let rctx = RankContext { catalogue: &cat, rules: &scoped, vectors: None };
            rank(&set, config, &rctx, k).into_iter().take(k).map(|e| cat.ids.name(e.item).to_owned()).collect()
        })
        .collect()
}

/// The exported query run on SQLite over the same scores (rows only where a score is not 0).
fn sql_lists(profile: &Profile) -> Vec<Vec<String>> {
    let db = rusqlite::Connection::open_in_memory().expect("sqlite");
    // Spark has SQRT built in; SQLite's amalgamation without its math extension does not.
    db.create_scalar_function("SQRT", 1, rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
        Ok(ctx.get::<f64>(0)?.sqrt())
    })
    .expect("sqrt");
    db.execute_batch(
        "CREATE TABLE scores (user_id TEXT, item_id TEXT, signal TEXT, score DOUBLE);
         CREATE TABLE seen (user_id TEXT, item_id TEXT);
         CREATE TABLE items (item_id TEXT, brand TEXT, price DOUBLE);
         CREATE TABLE item_categories (item_id TEXT, category TEXT);
         CREATE TABLE user_segments (user_id TEXT, dimension TEXT, segment TEXT);",
    )
    .expect("tables");
    for f in scorers() {
        for (u, scores) in f.scores.iter().enumerate() {
            for (i, &s) in scores.iter().enumerate().filter(|(_, s)| **s != 0.0) {
                db.execute(
                    "INSERT INTO scores VALUES (?1, ?2, ?3, ?4)",
                    (format!("u{u}"), item_id(i), f.id.id(), f64::from(s)),
                )
                .expect("insert");
            }
        }
    }
    let cat = catalogue();
    for u in 0..USERS {
        for i in seen(u) {
            db.execute("INSERT INTO seen VALUES (?1, ?2)", (format!("u{u}"), item_id(i as usize))).expect("insert");
        }
        for (dimension, segment) in segments_of(u) {
            db.execute("INSERT INTO user_segments VALUES (?1, ?2, ?3)", (format!("u{u}"), dimension, segment))
                .expect("insert");
        }
    }
    for i in 0..ITEMS {
        db.execute("INSERT INTO items VALUES (?1, ?2, ?3)", (item_id(i), &cat.brands[i], i as f64)).expect("insert");
        db.execute("INSERT INTO item_categories VALUES (?1, ?2)", (item_id(i), &cat.categories[i])).expect("insert");
    }
    let sql = render(profile, ProfileFormat::SparkSql);
    let mut statement = db.prepare(&sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))
        .expect("query");
    let mut lists = vec![Vec::new(); USERS];
    for row in rows {
        let (user, position, item) = row.expect("row");
        let u: usize = user.trim_start_matches('u').parse().expect("user");
        assert_eq!(position as usize, lists[u].len() + 1, "ranks 1, 2, … in order");
        lists[u].push(item);
    }
    lists
}

fn base_config(method: FusionMethod, norm: Normalisation) -> FusionConfig {
    let mut c = FusionConfig::default();
    for s in SignalId::all() {
        c.set_weight(s, 0.0);
    }
    // Weights with no simple ratio between them, so that fused scores do not tie.
    for (s, w) in
        [(SignalId::ALS, 0.517), (SignalId::ITEM_CF, 0.293), (SignalId::USER_CF, 0.131), (SignalId::POPULARITY, 0.059)]
    {
        c.set_weight(s, w);
    }
    for setting in c.signals.values_mut() {
        setting.normalisation = norm;
    }
    c.method = method;
    c.candidates_per_signal = 4;
    c.collapse_duplicates = false;
    c
}

fn rules() -> Vec<Rule> {
    let rule = |name: &str, target, action| Rule {
        name: name.to_owned(),
        enabled: true,
        target,
        action,
        scope: RuleScope::All,
    };
    vec![
        rule(
            "acme up",
            RuleTarget::Brand { name: " acme ".to_owned() },
            RuleAction::Boost { adjustment: Adjustment::Multiply(1.7) },
        ),
        rule(
            "cheap down",
            RuleTarget::PriceRange { min: Some(2.0), max: Some(6.0) },
            RuleAction::Bury { adjustment: Adjustment::Add(0.15) },
        ),
        rule(
            "kitchen",
            RuleTarget::Category { name: "Home".to_owned() },
            RuleAction::Boost { adjustment: Adjustment::Add(0.05) },
        ),
        rule("no i09", RuleTarget::Item { id: "i09".to_owned() }, RuleAction::Hide),
        Rule { enabled: false, ..rule("off", RuleTarget::Item { id: "i10".to_owned() }, RuleAction::Hide) },
        // Scoped: hides i00 for shopper u1 only; the query-scoped one touches no shopper list.
        Rule {
            scope: RuleScope::Shopper { id: "u1".to_owned() },
            ..rule("u1 no i00", RuleTarget::Item { id: "i00".to_owned() }, RuleAction::Hide)
        },
        Rule {
            scope: RuleScope::Queries { containing: "mug".to_owned() },
            ..rule("mug searches", RuleTarget::Item { id: "i02".to_owned() }, RuleAction::Hide)
        },
        // Segment-scoped: buries Acme for the north store's shoppers (u0, u2) only.
        Rule {
            scope: RuleScope::Segment { dimension: "store".to_owned(), value: "north".to_owned() },
            ..rule(
                "north less acme",
                RuleTarget::Brand { name: "Acme".to_owned() },
                RuleAction::Bury { adjustment: Adjustment::Multiply(0.2) },
            )
        },
    ]
}

fn profile_with(config: FusionConfig, rules: Vec<Rule>, top: usize) -> Profile {
    let session = Session { fusion: config, rules, ..Session::default() };
    let mut p = Profile::from_session(&session);
    p.top = top;
    p
}

#[test]
fn the_spark_sql_query_ranks_every_shopper_as_recfuse_does() {
    let mut checked = 0;
    for method in FusionMethod::ALL {
        for norm in Normalisation::ALL {
            for exclude_seen in [true, false] {
                for with_rules in [false, true] {
                    let mut config = base_config(method, norm);
                    config.exclude_seen = exclude_seen;
                    config.rrf_k = 7.0;
                    let rules = if with_rules { rules() } else { Vec::new() };
                    let want = recfuse_lists(&config, &rules, 6);
                    assert!(want.iter().all(|l| l.len() >= 3), "lists to compare: {want:?}");
                    let got = sql_lists(&profile_with(config, rules, 6));
                    assert_eq!(
                        got,
                        want,
                        "{} / {} / exclude_seen {exclude_seen} / rules {with_rules}",
                        method.id(),
                        norm.id()
                    );
                    checked += 1;
                }
            }
        }
    }
    // 5 methods (`learned` is written, and without a ranker ranked, as the weighted sum)
    // × 5 normalisations × exclusions on/off × rules on/off.
    assert_eq!(checked, 5 * 5 * 2 * 2);
}

#[test]
fn the_scenario_exercises_what_the_query_must_get_right() {
    // Guard against a test that passes because nothing happens: candidate cuts bite, the
    // degenerate user_cf of shopper 2 brings no candidate, rules change the lists.
    let config = base_config(FusionMethod::Weighted, Normalisation::Minmax);
    let plain = recfuse_lists(&config, &[], 6);
    let ruled = recfuse_lists(&config, &rules(), 6);
    assert_ne!(plain, ruled, "the rules must change some list");
    assert!(ruled.iter().flatten().all(|i| i != "i09"), "hidden");
    // The rule scoped to shopper u1 changes u1's list only (the query-scoped one none).
    let unscoped: Vec<Rule> = rules().into_iter().filter(|r| r.scope == RuleScope::All).collect();
    let without = recfuse_lists(&config, &unscoped, 6);
    assert!(without[1].iter().any(|i| i == "i00") && !ruled[1].iter().any(|i| i == "i00"), "{without:?} {ruled:?}");
    let but_segment: Vec<Rule> =
        rules().into_iter().filter(|r| !matches!(r.scope, RuleScope::Segment { .. })).collect();
    let without_segment = recfuse_lists(&config, &but_segment, 6);
    assert_eq!(without_segment[1], ruled[1], "u1 is not in the north segment");
    assert_ne!(without_segment[0], ruled[0], "the north segment's rule changes u0's list");
    assert_eq!(without[0], without_segment[0]);
    let mut wide = config.clone();
    wide.candidates_per_signal = 100;
    assert_ne!(recfuse_lists(&wide, &[], 6), plain, "the top-4 candidate cut must matter");
    let mut no_user_cf = config.clone();
    no_user_cf.set_weight(SignalId::USER_CF, 0.0);
    let lists = recfuse_lists(&no_user_cf, &[], 6);
    assert_eq!(lists[2], plain[2], "a constant user_cf neither chooses candidates nor scores");
}

#[test]
fn a_json_profile_reads_back_to_the_same_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = base_config(FusionMethod::Rrf, Normalisation::Rank);
    config.mmr_lambda = 0.8;
    let profile = profile_with(config, rules(), 7);
    let path = dir.path().join("p.json");
    std::fs::write(&path, render(&profile, ProfileFormat::Json)).expect("write");
    assert_eq!(Profile::load(&path).expect("load"), profile);
    // A newer version, another format or an unknown key is refused by name.
    let text = render(&profile, ProfileFormat::Json);
    for (bad, says) in [
        (text.replacen("\"version\": 1", "\"version\": 2", 1), "version 2 is not supported"),
        (text.replacen("recfuse-profile", "something-else", 1), "format is 'something-else'"),
        (text.replacen("\"top\": 7", "\"top\": 7, \"extra\": 1", 1), "unknown field `extra`"),
        (text.replacen("\"top\": 7", "\"top\": 0", 1), "top = 0 is outside the allowed range 1 to 1000"),
    ] {
        std::fs::write(&path, bad).expect("write");
        let err = Profile::load(&path).expect_err("refused").to_string();
        assert!(err.contains("p.json") && err.contains(says), "{err}");
    }
}

fn recfuse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recfuse"))
}

fn sample(name: &str) -> String {
    format!("{}/sample_data/online_retail/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("run recfuse");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn recommend_with_the_exported_profile_ranks_as_the_session_it_came_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut session = Session::default();
    session.data.catalogue = Some(sample("catalogue.csv").into());
    session.data.behaviour = sample("events.csv").into();
    session.fusion.method = FusionMethod::Borda;
    session.fusion.set_weight(SignalId::ALS, 0.9);
    session.fusion.signals.entry(SignalId::ITEM_CF).or_default().normalisation = Normalisation::Percentile;
    session.rules.push(Rule {
        name: "acme".to_owned(),
        enabled: true,
        target: RuleTarget::PriceRange { min: Some(0.0), max: Some(1.0) },
        action: RuleAction::Bury { adjustment: Adjustment::Multiply(0.5) },
        scope: RuleScope::All,
    });
    session.params.item_cf.neighbours = 7;
    let session_path = dir.path().join("tuned.json");
    session.save(&session_path).expect("save");
    let profile = dir.path().join("tuned-profile.json");
    run_ok(
        recfuse()
            .args(["export-profile", "--session", session_path.to_str().unwrap(), "--format", "json"])
            .args(["--out", profile.to_str().unwrap()]),
    );
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "17850\n13120\n").expect("write");
    let from_session = dir.path().join("a.parquet");
    let from_profile = dir.path().join("b.parquet");
    let common = ["--no-semantic", "--users", users.to_str().unwrap(), "--explain"];
    run_ok(
        recfuse()
            .args(["batch", "--session", session_path.to_str().unwrap(), "--out", from_session.to_str().unwrap()])
            .args(common),
    );
    run_ok(
        recfuse()
            .args(["batch", "--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv")])
            .args(["--profile", profile.to_str().unwrap(), "--out", from_profile.to_str().unwrap()])
            .args(common),
    );
    assert_eq!(std::fs::read(&from_session).expect("a"), std::fs::read(&from_profile).expect("b"), "identical files");
    // And `recommend --profile` prints the same first list.
    let out = run_ok(
        recfuse()
            .args(["recommend", "--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv")])
            .args(["--no-semantic", "--user", "17850", "--json", "--profile", profile.to_str().unwrap()]),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let default = run_ok(
        recfuse()
            .args(["recommend", "--catalogue", &sample("catalogue.csv"), "--behaviour", &sample("events.csv")])
            .args(["--no-semantic", "--user", "17850", "--json"]),
    );
    let default: serde_json::Value = serde_json::from_slice(&default.stdout).expect("json");
    assert_eq!(json["fusion"], "borda");
    assert_ne!(json["items"], default["items"], "the profile's settings must change the list");
}

/// The lines of `text` before the first line that does not start with `prefix`.
fn header_lines(text: &str, prefix: &str) -> Vec<String> {
    text.lines().take_while(|l| l.starts_with(prefix)).map(str::to_owned).collect()
}

#[test]
fn each_format_has_a_header_that_lists_what_its_target_cannot_express() {
    let defaults = Profile::from_session(&Session { rules: Vec::new(), ..Session::default() });
    let sql = render(&defaults, ProfileFormat::SparkSql);
    assert_eq!(
        header_lines(&sql, "--"),
        [
            "-- RecFuse fusion profile (version 1) as Spark SQL: recommendations for every shopper.",
            "-- Reads scores(user_id STRING, item_id STRING, signal STRING, score DOUBLE): one row per shopper, item and",
            "--   signal (a missing row scores 0). It must hold every signal RecFuse fitted, also those weighted 0: each",
            "--   signal's top 200 positive scores per shopper are the candidates.",
            "-- Reads seen(user_id STRING, item_id STRING): items each shopper already interacted with (left out).",
            "-- Writes user_id, rank, item_id, score: the top 10 of every shopper.",
            "-- Fusion: weighted over semantic 0.1 (minmax), item_cf 0.2 (minmax), user_cf 0.1 (minmax), als 0.3 (minmax), \
             popularity 0.1 (minmax), price 0.05 (minmax), category 0.05 (minmax), sequential 0.1 (minmax).",
            "-- Rules applied in order: none.",
            "-- NOT EXPRESSED (RecFuse does these; this query does not):",
            "--   - collapse_duplicates (one slot per group of items with the same cleaned title and brand): the groups \
             are RecFuse's; write one row per group to the score table to get the same effect",
            "-- Differences: RecFuse computes in 32-bit floats, this query in DOUBLE, so near-equal fused scores may order",
            "--   differently; ties at a signal's top-N cut go to the lower item id here, to the earlier catalogue row in",
            "--   RecFuse. Equal final scores order by the popularity score (higher first), then item id, in both.",
        ]
    );
    let pipeline: serde_json::Value =
        serde_json::from_str(&render(&defaults, ProfileFormat::OpenSearch)).expect("pipeline json");
    assert_eq!(
        pipeline["description"],
        "RecFuse fusion profile (version 1), search mode: BM25 0.5 and semantic 0.4 (weighted fusion). Use with a \
         hybrid query of two clauses in this order: [a match query on the item text (BM25), a neural or knn query on \
         the item embedding]. NOT EXPRESSED: signal popularity (weight 0.1): not a query clause of the engine; \
         collapse_duplicates (one slot per group of items with the same cleaned title and brand): the groups are \
         RecFuse's; write one row per group to the score table to get the same effect"
    );
    // 0.5 : 0.4 as OpenSearch wants it, summing to 1.
    let processor = &pipeline["phase_results_processors"][0]["normalization-processor"];
    assert_eq!(processor["combination"]["parameters"]["weights"], serde_json::json!([0.555556, 0.444444]));
    assert_eq!(processor["normalization"]["technique"], "min_max");
    let vespa = render(&defaults, ProfileFormat::Vespa);
    assert_eq!(
        header_lines(&vespa, "#"),
        [
            "# RecFuse fusion profile (version 1) as a Vespa rank profile, search mode.",
            "# Assumes fields title and description (index: enable-bm25) and embedding (tensor<float>(x[384]),",
            "# HNSW), and the query input query(q) with the query's embedding; rename them to your schema's.",
            "# Fusion: weighted of BM25 0.5 and semantic 0.4.",
            "# NOT EXPRESSED (RecFuse does these; this rank profile does not):",
            "#   - signal popularity (weight 0.1): not a query clause of the engine",
            "#   - collapse_duplicates (one slot per group of items with the same cleaned title and brand): the groups \
             are RecFuse's; write one row per group to the score table to get the same effect",
        ]
    );
    assert!(
        vespa.contains("expression: 0.5 * normalize_linear(text_bm25) + 0.4 * normalize_linear(semantic)"),
        "{vespa}"
    );
    // MMR, a category cap and a pin are never silently dropped, by any format.
    let mut tuned = defaults.clone();
    for config in [&mut tuned.fusion, &mut tuned.search_fusion] {
        config.mmr_lambda = 0.7;
        config.category_cap = 2;
    }
    tuned.rules.push(Rule {
        name: "hero".to_owned(),
        enabled: true,
        target: RuleTarget::Item { id: "85123A".to_owned() },
        action: RuleAction::Pin { position: 1 },
        scope: RuleScope::All,
    });
    for format in [ProfileFormat::SparkSql, ProfileFormat::OpenSearch, ProfileFormat::Vespa] {
        let text = render(&tuned, format);
        for says in [
            "MMR diversity (mmr_lambda = 0.7)",
            "category cap (at most 2 items per top-level category)",
            "pin rule \\\"hero\\\" (item at #1)",
        ] {
            let says = if format == ProfileFormat::OpenSearch { says.to_owned() } else { says.replace("\\\"", "\"") };
            assert!(text.contains(&says), "{} lacks {says}:\n{text}", format.id());
        }
    }
}

#[test]
fn export_profile_writes_each_format_and_refuses_bad_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in ProfileFormat::ALL {
        let out = dir.path().join(format.default_file_name());
        run_ok(recfuse().args(["export-profile", "--format", format.id(), "--out", out.to_str().unwrap()]));
        let text = std::fs::read_to_string(&out).expect("written");
        let defaults = Profile::from_session(&Session { rules: Vec::new(), ..Session::default() });
        assert_eq!(text, render(&defaults, format), "{}", format.id());
    }
    let out = recfuse().args(["export-profile", "--format", "excel", "--out", "x"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("unknown profile format 'excel'") && err.contains("spark-sql"),
        "{err}"
    );
}

/// The Spark pipeline of `benches/scale/run_spark.sh`, with SQLite for Spark: a score file of
/// two signals (one with a negative score) is the only input of the fusion (`--builtin none`);
/// `eval --save-profile` writes the configuration, `export-profile --profile` turns it into SQL,
/// and that SQL over the same scores gives `batch --profile`'s lists for every shopper.
mod score_file_pipeline {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use polars::prelude::{DataFrame, ParquetReader, SerReader};

    use super::{recfuse, run_ok};

    const CATALOGUE: &str =
        "item_id,title\nA,Alpha mug\nB,Beta lamp\nC,Gamma rug\nD,Delta vase\nE,Epsilon jar\nF,Zeta cup\n";
    /// u1 has seen A and C, u2 C, D, E; u3 E, F, B; the last event (u1, C) is the temporal test.
    const EVENTS: &str = "user_id,item_id,timestamp\nu1,A,2011-01-01\nu2,C,2011-01-02\nu2,D,2011-01-03\n\
        u3,E,2011-01-04\nu3,F,2011-01-05\nu2,E,2011-01-06\nu3,B,2011-01-07\nu1,C,2011-04-10\n";
    /// u1's `b` lists B at −1 and not F, so F scores −1 under `b` for u1 (not 0).
    const SCORES: &str = "user_id,item_id,signal,score\n\
        u1,B,a,0.9\nu1,D,a,0.5\nu1,E,a,0.1\nu1,F,a,0.85\nu1,D,b,4\nu1,E,b,8\nu1,B,b,-1\n\
        u2,A,a,0.4\nu2,B,a,0.2\nu2,F,a,0.8\nu2,A,b,2\nu2,F,b,1\n\
        u3,A,a,0.3\nu3,C,a,0.6\nu3,D,a,0.2\nu3,C,b,5\nu3,D,b,-2\n";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn lists_of(df: &DataFrame) -> BTreeMap<String, Vec<String>> {
        let users = df.column("user_id").expect("user_id").str().expect("text");
        let items = df.column("item_id").expect("item_id").str().expect("text");
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in 0..df.height() {
            let (u, i) = (users.get(row).expect("user"), items.get(row).expect("item"));
            out.entry(u.to_owned()).or_default().push(i.to_owned());
        }
        out
    }

    /// The query run on SQLite over the score file (signals named `x_a`, `x_b` as RecFuse names
    /// them) and the seen pairs of the events.
    fn sqlite_lists(sql: &str) -> BTreeMap<String, Vec<String>> {
        let db = rusqlite::Connection::open_in_memory().expect("sqlite");
        db.create_scalar_function("SQRT", 1, rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC, |ctx| {
            Ok(ctx.get::<f64>(0)?.sqrt())
        })
        .expect("sqrt");
        db.execute_batch(
            "CREATE TABLE scores (user_id TEXT, item_id TEXT, signal TEXT, score DOUBLE);
             CREATE TABLE seen (user_id TEXT, item_id TEXT);",
        )
        .expect("tables");
        for line in SCORES.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let score: f64 = f[3].parse().expect("score");
            db.execute("INSERT INTO scores VALUES (?1, ?2, ?3, ?4)", (f[0], f[1], format!("x_{}", f[2]), score))
                .expect("insert");
        }
        for line in EVENTS.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            db.execute("INSERT INTO seen VALUES (?1, ?2)", (f[0], f[1])).expect("insert");
        }
        let mut statement = db.prepare(sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
        let rows = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(2)?))).expect("query");
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in rows {
            let (u, i) = row.expect("row");
            out.entry(u).or_default().push(i);
        }
        out
    }

    /// eval (tuned or not) → profile → SQL on SQLite, and `batch --profile`: their lists.
    fn run_pipeline(
        dir: &Path,
        name: &str,
        eval_extra: &[&str],
    ) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
        let c = write(dir, "c.csv", CATALOGUE);
        let e = write(dir, "e.csv", EVENTS);
        let s = write(dir, "s.csv", SCORES);
        let data = |cmd: &mut std::process::Command| {
            cmd.arg("--catalogue")
                .arg(&c)
                .arg("--behaviour")
                .arg(&e)
                .arg("--signal-file")
                .arg(format!("x={}", s.display()));
        };
        let profile = dir.join(format!("{name}.json"));
        let mut eval = recfuse();
        eval.args(["eval", "--builtin", "none", "--bootstrap", "0", "--json", "--save-profile"]).arg(&profile);
        data(&mut eval);
        run_ok(eval.args(eval_extra));
        let text = std::fs::read_to_string(&profile).expect("profile written");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let left_out: Vec<&str> =
            v["params"]["not_fitted"].as_array().expect("not_fitted").iter().filter_map(|x| x.as_str()).collect();
        assert!(left_out.contains(&"als") && left_out.contains(&"popularity"), "{left_out:?}");
        let sql = dir.join(format!("{name}.sql"));
        run_ok(
            recfuse()
                .args(["export-profile", "--format", "spark-sql", "--top", "3", "--profile"])
                .arg(&profile)
                .arg("--out")
                .arg(&sql),
        );
        let sql_text = std::fs::read_to_string(&sql).expect("sql");
        let out = dir.join(format!("{name}.parquet"));
        let mut batch = recfuse();
        batch.args(["batch", "--top", "3", "--profile"]).arg(&profile).arg("--out").arg(&out);
        data(&mut batch);
        run_ok(&mut batch);
        let file = std::fs::File::open(&out).expect("batch output");
        let df = ParquetReader::new(file).finish().expect("read parquet");
        (lists_of(&df), sqlite_lists(&sql_text))
    }

    #[test]
    fn a_score_file_alone_tuned_exported_and_run_as_sql_gives_the_batch_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Equal weights, min-max: for u1, a over {B .9, D .5, E .1, F .85} → B 1, D .5, E 0,
        // F .9375; b over {B −1, D 4, E 8, F −1 (unlisted, the lowest listed)} → B 0, D 5/9,
        // E 1, F 0. Sums: D 1.056, B 1, E 1 (a tie: B first by id), F .9375.
        let (batch, sql) = run_pipeline(dir.path(), "fixed", &["--weights", "x_a=1,x_b=1"]);
        assert_eq!(batch["u1"], ["D", "B", "E"], "hand-computed list of u1");
        assert_eq!(batch, sql, "SQL on SQLite vs batch, every shopper");
        assert_eq!(batch.len(), 3);
        let (batch, sql) = run_pipeline(dir.path(), "tuned", &["--tune", "--no-tune-params"]);
        assert_eq!(batch, sql, "the tuned profile: SQL vs batch");
        // Only the file's items are ranked: nothing built in brings candidates.
        for (u, items) in &batch {
            for i in items {
                assert!(super::score_file_pipeline::SCORES.contains(&format!("{u},{i},")), "{u} {i}");
            }
        }
    }

    #[test]
    fn builtin_refuses_an_unknown_signal_and_a_profile_refuses_an_external_one_in_not_fitted() {
        let out = recfuse()
            .args(["recommend", "--behaviour", "x.csv", "--user", "u", "--builtin", "als,ghost"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("--builtin 'ghost'"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut v: serde_json::Value = serde_json::from_str(&recfuse::session::profile::render(
            &recfuse::session::profile::Profile::from_session(&recfuse::session::Session::default()),
            recfuse::session::profile::ProfileFormat::Json,
        ))
        .expect("json");
        v["params"]["not_fitted"] = serde_json::json!(["als", "spark_als"]);
        let p = write(dir.path(), "p.json", &v.to_string());
        let out = recfuse()
            .args(["export-profile", "--format", "spark-sql", "--out"])
            .arg(dir.path().join("o.sql"))
            .arg("--profile")
            .arg(&p)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("'spark_als' is not a built-in signal"), "{err}");
    }
}
