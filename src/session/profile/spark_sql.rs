//! The `spark-sql` profile: one query over a long table of per-signal scores that does what
//! RecFuse does for every shopper — candidates (each signal's top-N positive scores, unseen
//! items), per-shopper-and-signal normalisation over the candidates, the fusion method with its
//! weights, the boost/bury/hide rules, ties (popularity, then item id), and the top K by
//! `ROW_NUMBER`.
//!
//! The query is written in the subset Spark SQL and SQLite share (CTEs, window functions,
//! `CASE`, `COALESCE`, `NOT EXISTS`, `SUBSTR`, `LOWER`, `ABS`, `SQRT`; every division over
//! `DOUBLE`s), so the tests run it on SQLite and compare its lists with RecFuse's.

use std::fmt::Write as _;

use super::{Profile, reranking_not_expressed};
use crate::fusion::{Adjustment, FusionConfig, FusionMethod, Normalisation, Rule, RuleAction, RuleScope, RuleTarget};
use crate::score::{SignalId, SignalParams};

/// A SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL number literal for an f32 setting (its shortest decimal form, as a DOUBLE).
fn number(v: f32) -> String {
    format!("CAST({v:?} AS DOUBLE)")
}

/// The weighted signals of the recommendation fusion, in registry order (search-only
/// signals such as `bm25` have no score for a shopper; a built-in signal the profile does
/// not fit scores nothing).
fn weighted(config: &FusionConfig, params: &SignalParams) -> Vec<(SignalId, f32, Normalisation)> {
    SignalId::recommend()
        .filter(|&s| params.fits(s))
        .filter_map(|s| {
            let w = config.weight(s);
            (w != 0.0).then(|| (s, w, config.normalisation(s)))
        })
        .collect()
}

/// The normalised score of `raw` over the candidates (window columns `lo`, `hi`, `mean`,
/// `mean_sq`, `n`, `rnk`, `ties`), as [`crate::fusion::normalise::normalise`] computes it.
fn normalised(kind: Normalisation) -> &'static str {
    match kind {
        Normalisation::None => "raw",
        Normalisation::Minmax => "CASE WHEN hi > lo THEN (raw - lo) / (hi - lo) ELSE 0.0 END",
        Normalisation::Zscore => {
            "CASE WHEN hi > lo AND mean_sq - mean * mean > 0 THEN (raw - mean) / SQRT(mean_sq - mean * mean) ELSE 0.0 END"
        }
        Normalisation::Rank => "CASE WHEN n > 1 THEN 1.0 - (rnk - 1.0) / (n - 1.0) ELSE 1.0 END",
        Normalisation::Percentile => "((n - (rnk - 1.0) - ties) + 0.5 * ties) / n",
    }
}

/// One signal's additive term (`w` = its weight, 0 when degenerate over the candidates).
fn term(method: FusionMethod, rrf_k: f32) -> String {
    match method {
        // `learned` is written as its weighted-sum fallback (the header says so).
        FusionMethod::Weighted | FusionMethod::Combmnz | FusionMethod::Learned => "w * norm".to_owned(),
        FusionMethod::Rrf => format!("w / ({} + rnk)", number(rrf_k.max(0.0))),
        FusionMethod::Borda => "CASE WHEN n > 1 THEN w * (n - rnk) / (n - 1.0) ELSE w END".to_owned(),
    }
}

/// The SQL condition for a rule's target, on a row `r` with the joined `items i` (brand and
/// price) or the rule's category matches `m`.
fn condition(target: &RuleTarget) -> String {
    match target {
        RuleTarget::Item { id } => format!("r.item_id = {}", quote(id)),
        RuleTarget::Brand { name } => {
            let name = name.trim();
            if name.is_empty() {
                "1 = 0".to_owned()
            } else {
                format!("LOWER(i.brand) = {}", quote(&name.to_ascii_lowercase()))
            }
        }
        RuleTarget::PriceRange { min, max } => {
            let mut parts = vec!["i.price IS NOT NULL".to_owned()];
            parts.extend(min.map(|m| format!("i.price >= {}", number(m))));
            parts.extend(max.map(|m| format!("i.price <= {}", number(m))));
            parts.join(" AND ")
        }
        // Matched through the `cat_N` CTE of the rule (Spark allows no EXISTS in a projection).
        RuleTarget::Category { .. } => "m.item_id IS NOT NULL".to_owned(),
    }
}

/// The items of category rule `n`: a label equal to the name or under it (`name > …`),
/// case-insensitive, as `Rule::matches` has it.
fn category_matches(n: usize, name: &str) -> String {
    let wanted = name.trim().to_lowercase();
    if wanted.is_empty() {
        return format!("cat_{n} AS (SELECT item_id FROM item_categories WHERE 1 = 0),");
    }
    let prefix = format!("{wanted} >");
    format!(
        "cat_{n} AS (SELECT DISTINCT item_id FROM item_categories WHERE LOWER(category) = {} OR SUBSTR(LOWER(category), \
         1, {}) = {}),",
        quote(&wanted),
        prefix.chars().count(),
        quote(&prefix)
    )
}

/// The shoppers of segment rule `n`'s segment: `value` (case-insensitive) in `dimension`.
fn segment_members(n: usize, dimension: &str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return format!("seg_{n} AS (SELECT user_id FROM user_segments WHERE 1 = 0),");
    }
    format!(
        "seg_{n} AS (SELECT DISTINCT user_id FROM user_segments WHERE dimension = {} AND LOWER(segment) = {}),",
        quote(dimension),
        quote(&value.to_lowercase())
    )
}

/// The new score after a boost or bury (`Rule::adjust`).
fn adjusted(action: &RuleAction) -> Option<String> {
    let (adjustment, up) = match action {
        RuleAction::Boost { adjustment } => (adjustment, true),
        RuleAction::Bury { adjustment } => (adjustment, false),
        _ => return None,
    };
    Some(match *adjustment {
        Adjustment::Multiply(f) => {
            let f = if up { f.max(0.0) } else { f.clamp(0.0, 1.0) };
            format!("r.score + ABS(r.score) * ({} - 1.0)", number(f))
        }
        Adjustment::Add(v) => format!("r.score {} {}", if up { "+" } else { "-" }, number(v.abs())),
    })
}

/// The rules the query applies: enabled boosts, buries and hides, in order.
/// A rule scoped to search queries does not touch shopper lists: it is not applied.
fn applied_rules(rules: &[Rule]) -> Vec<&Rule> {
    rules
        .iter()
        .filter(|r| r.enabled && !matches!(r.action, RuleAction::Pin { .. }))
        .filter(|r| !matches!(r.scope, RuleScope::Queries { .. }))
        .collect()
}

/// The header lines on the optional tables the query reads (score-file defaults, seen
/// items, item attributes and categories, shopper segments).
fn reads_header(profile: &Profile, h: &mut String) {
    let config = &profile.fusion;
    let listed: Vec<&str> =
        weighted(config, &profile.params).iter().filter(|(s, ..)| s.is_external()).map(|(s, ..)| s.id()).collect();
    if !listed.is_empty() {
        let _ = writeln!(
            *h,
            "-- Score-file signals ({}): a shopper's item without a row scores their lowest listed score when that is",
            listed.join(", ")
        );
        let _ = writeln!(*h, "--   negative, else 0 (as RecFuse reads score files).");
    }
    if config.exclude_seen {
        let _ = writeln!(
            *h,
            "-- Reads seen(user_id STRING, item_id STRING): items each shopper already interacted with (left out)."
        );
    }
    let rules = applied_rules(&profile.rules);
    if rules.iter().any(|r| matches!(r.target, RuleTarget::Brand { .. } | RuleTarget::PriceRange { .. })) {
        let _ =
            writeln!(*h, "-- Reads items(item_id STRING, brand STRING, price DOUBLE) for the brand and price rules.");
    }
    if rules.iter().any(|r| matches!(r.target, RuleTarget::Category { .. })) {
        let _ = writeln!(
            *h,
            "-- Reads item_categories(item_id STRING, category STRING): RecFuse's category labels, one row each."
        );
    }
    if rules.iter().any(|r| matches!(r.scope, RuleScope::Segment { .. })) {
        let _ = writeln!(
            *h,
            "-- Reads user_segments(user_id STRING, dimension STRING, segment STRING) for the segment-scoped rules: each"
        );
        let _ = writeln!(
            *h,
            "--   shopper's users-table value, or the value on most of their events, per column (as RecFuse has them)."
        );
    }
}

/// The header: what the query reads, does, and cannot do.
fn header(profile: &Profile) -> String {
    let config = &profile.fusion;
    let mut h = String::new();
    let _ = writeln!(
        h,
        "-- RecFuse fusion profile (version {}) as Spark SQL: recommendations for every shopper.",
        profile.version
    );
    let _ = writeln!(
        h,
        "-- Reads scores(user_id STRING, item_id STRING, signal STRING, score DOUBLE): one row per shopper, item and"
    );
    let _ = writeln!(
        h,
        "--   signal (a missing row scores 0). It must hold every signal RecFuse fitted, also those weighted 0: each"
    );
    let _ = writeln!(
        h,
        "--   signal's top {} positive scores per shopper are the candidates.",
        config.candidates_per_signal
    );
    reads_header(profile, &mut h);
    let rules = applied_rules(&profile.rules);
    let _ = writeln!(h, "-- Writes user_id, rank, item_id, score: the top {} of every shopper.", profile.top);
    let signals: Vec<String> =
        weighted(config, &profile.params).iter().map(|(s, w, n)| format!("{} {w:?} ({})", s.id(), n.id())).collect();
    let _ = writeln!(
        h,
        "-- Fusion: {} over {}.",
        config.method.id(),
        if signals.is_empty() { "no weighted signal".to_owned() } else { signals.join(", ") }
    );
    if config.method == FusionMethod::Rrf {
        let _ = writeln!(h, "--   rrf_k = {:?}", config.rrf_k);
    }
    let _ = writeln!(
        h,
        "-- Rules applied in order: {}.",
        if rules.is_empty() {
            "none".to_owned()
        } else {
            rules.iter().map(|r| format!("\"{}\" ({})", r.name, r.describe())).collect::<Vec<_>>().join("; ")
        }
    );
    let mut missing = reranking_not_expressed(config, &profile.rules);
    missing.extend(
        profile.rules.iter().filter(|r| !r.enabled).map(|r| format!("rule \"{}\" is disabled (not applied)", r.name)),
    );
    missing.extend(
        profile
            .rules
            .iter()
            .filter(|r| r.enabled && matches!(r.scope, RuleScope::Queries { .. }))
            .map(|r| format!("rule \"{}\" applies to search queries only (not to shopper lists)", r.name)),
    );
    let _ = writeln!(h, "-- NOT EXPRESSED (RecFuse does these; this query does not):");
    if missing.is_empty() {
        let _ = writeln!(h, "--   nothing: every step of this profile is in the query.");
    }
    for m in missing {
        let _ = writeln!(h, "--   - {m}");
    }
    let _ = writeln!(
        h,
        "-- Differences: RecFuse computes in 32-bit floats, this query in DOUBLE, so near-equal fused scores may order"
    );
    let _ = writeln!(
        h,
        "--   differently; ties at a signal's top-N cut go to the lower item id here, to the earlier catalogue row in"
    );
    let _ = writeln!(
        h,
        "--   RecFuse. Equal final scores order by the popularity score (higher first), then item id, in both."
    );
    h
}

/// The candidate stage: each usable signal's top-N of unseen, positive-scored items.
fn candidates_sql(config: &FusionConfig) -> String {
    let unseen = if config.exclude_seen {
        "\n      AND NOT EXISTS (SELECT 1 FROM seen x WHERE x.user_id = s.user_id AND x.item_id = s.item_id)"
    } else {
        ""
    };
    format!(
        "universe AS (SELECT COUNT(DISTINCT item_id) AS n_items FROM scores),
spread AS (
  SELECT user_id, signal, MIN(score) AS lo, MAX(score) AS hi, COUNT(*) AS n FROM scores GROUP BY user_id, signal
),
-- a signal with the same score for every item cannot choose candidates
usable AS (
  SELECT sp.user_id, sp.signal FROM spread sp CROSS JOIN universe u
  WHERE NOT (u.n_items >= 2 AND sp.n >= u.n_items
             AND sp.hi - sp.lo <= 1e-6 * CASE WHEN ABS(sp.lo) > ABS(sp.hi) THEN ABS(sp.lo) ELSE ABS(sp.hi) END)
),
topn AS (
  SELECT user_id, item_id, signal FROM (
    SELECT s.user_id, s.item_id, s.signal,
           ROW_NUMBER() OVER (PARTITION BY s.user_id, s.signal ORDER BY s.score DESC, s.item_id) AS pos
    FROM scores s JOIN usable u ON u.user_id = s.user_id AND u.signal = s.signal
    WHERE s.score > 0{unseen}
  ) t WHERE pos <= {n}
),
candidates AS (SELECT DISTINCT user_id, item_id FROM topn),",
        n = config.candidates_per_signal
    )
}

/// The fusion stage: raw scores over the candidates, statistics, normalisation, terms, sum.
fn fusion_sql(config: &FusionConfig, params: &SignalParams) -> String {
    let signals = weighted(config, params);
    // `listed` = 1 for a score file's signal: a shopper's unlisted item scores their lowest
    // listed score when that is negative (`score::external`), not 0.
    let weights = if signals.is_empty() {
        "SELECT CAST(NULL AS STRING) AS signal, CAST(0.0 AS DOUBLE) AS weight, 0 AS listed WHERE 1 = 0".to_owned()
    } else {
        signals
            .iter()
            .map(|(s, w, _)| {
                format!(
                    "SELECT {} AS signal, {} AS weight, {} AS listed",
                    quote(s.id()),
                    number(*w),
                    u8::from(s.is_external())
                )
            })
            .collect::<Vec<_>>()
            .join("\n  UNION ALL ")
    };
    let mut norm = String::from("CASE signal");
    for (s, _, kind) in &signals {
        let _ = write!(norm, "\n      WHEN {} THEN {}", quote(s.id()), normalised(*kind));
    }
    norm.push_str("\n      ELSE 0.0 END");
    let combmnz = config.method == FusionMethod::Combmnz;
    let fused =
        if combmnz { "SUM(term) * SUM(CASE WHEN w <> 0 AND in_top = 1 THEN 1 ELSE 0 END)" } else { "SUM(term)" };
    format!(
        "weights AS (
  {weights}
),
grid AS (
  SELECT c.user_id, c.item_id, w.signal, w.weight,
         CAST(COALESCE(s.score, CASE WHEN w.listed = 1 AND sp.lo < 0 THEN sp.lo ELSE 0.0 END) AS DOUBLE) AS raw,
         CASE WHEN t.item_id IS NULL THEN 0 ELSE 1 END AS in_top
  FROM candidates c CROSS JOIN weights w
  LEFT JOIN scores s ON s.user_id = c.user_id AND s.item_id = c.item_id AND s.signal = w.signal
  LEFT JOIN spread sp ON sp.user_id = c.user_id AND sp.signal = w.signal
  LEFT JOIN topn t ON t.user_id = c.user_id AND t.item_id = c.item_id AND t.signal = w.signal
),
stats AS (
  SELECT g.*,
         MIN(raw) OVER (PARTITION BY user_id, signal) AS lo,
         MAX(raw) OVER (PARTITION BY user_id, signal) AS hi,
         AVG(raw) OVER (PARTITION BY user_id, signal) AS mean,
         AVG(raw * raw) OVER (PARTITION BY user_id, signal) AS mean_sq,
         CAST(COUNT(*) OVER (PARTITION BY user_id, signal) AS DOUBLE) AS n,
         CAST(RANK() OVER (PARTITION BY user_id, signal ORDER BY raw DESC) AS DOUBLE) AS rnk,
         CAST(COUNT(*) OVER (PARTITION BY user_id, signal, raw) AS DOUBLE) AS ties
  FROM grid g
),
normed AS (
  SELECT user_id, item_id, signal, in_top, n, rnk,
         -- a signal with (nearly) the same score for every candidate is left out of the fusion
         CASE WHEN n >= 2 AND hi - lo <= 1e-6 * CASE WHEN ABS(lo) > ABS(hi) THEN ABS(lo) ELSE ABS(hi) END
              THEN 0.0 ELSE weight END AS w,
         {norm} AS norm
  FROM stats
),
terms AS (SELECT user_id, item_id, in_top, w, {term} AS term FROM normed),
fused AS (SELECT user_id, item_id, {fused} AS fused FROM terms GROUP BY user_id, item_id),
tie AS (
  SELECT c.user_id, c.item_id, CAST(COALESCE(s.score, 0.0) AS DOUBLE) AS popularity FROM candidates c
  LEFT JOIN scores s ON s.user_id = c.user_id AND s.item_id = c.item_id AND s.signal = 'popularity'
),",
        term = term(config.method, config.rrf_k),
    )
}

/// The rule stage: one CTE per applied rule (`r0` … `rN`), each adjusting `score` or setting `hidden`.
fn rules_sql(rules: &[&Rule]) -> (String, String) {
    let mut sql = String::from("r0 AS (SELECT user_id, item_id, fused AS score, 0 AS hidden FROM fused),");
    let mut last = "r0".to_owned();
    for (n, rule) in rules.iter().enumerate() {
        let this = format!("r{}", n + 1);
        let mut join = match &rule.target {
            RuleTarget::Brand { .. } | RuleTarget::PriceRange { .. } => {
                " LEFT JOIN items i ON i.item_id = r.item_id".to_owned()
            }
            RuleTarget::Category { name } => {
                let _ = write!(sql, "\n{}", category_matches(n + 1, name));
                format!(" LEFT JOIN cat_{} m ON m.item_id = r.item_id", n + 1)
            }
            RuleTarget::Item { .. } => String::new(),
        };
        let cond = match &rule.scope {
            RuleScope::Shopper { id } => format!("r.user_id = {} AND {}", quote(id), condition(&rule.target)),
            RuleScope::Segment { dimension, value } => {
                let _ = write!(sql, "\n{}", segment_members(n + 1, dimension, value));
                join.push_str(&format!(" LEFT JOIN seg_{} g ON g.user_id = r.user_id", n + 1));
                format!("g.user_id IS NOT NULL AND {}", condition(&rule.target))
            }
            RuleScope::All | RuleScope::Queries { .. } => condition(&rule.target),
        };
        let (score, hidden) = match (&rule.action, adjusted(&rule.action)) {
            (RuleAction::Hide, _) => ("r.score".to_owned(), format!("CASE WHEN {cond} THEN 1 ELSE r.hidden END")),
            (_, Some(adj)) => {
                (format!("CASE WHEN r.hidden = 0 AND {cond} THEN {adj} ELSE r.score END"), "r.hidden".to_owned())
            }
            _ => ("r.score".to_owned(), "r.hidden".to_owned()),
        };
        let _ = write!(
            sql,
            "\n-- rule \"{}\": {}\n{this} AS (SELECT r.user_id, r.item_id, {score} AS score, {hidden} AS hidden FROM {last} r{join}),",
            rule.name.replace('\n', " "),
            rule.describe().replace('\n', " ")
        );
        last = this;
    }
    (sql, last)
}

/// The whole query.
pub fn render(profile: &Profile) -> String {
    let config = &profile.fusion;
    let rules = applied_rules(&profile.rules);
    let (rules_cte, last) = rules_sql(&rules);
    format!(
        "{header}WITH
{candidates}
{fusion}
{rules_cte}
ranked AS (
  SELECT r.user_id, r.item_id, r.score,
         ROW_NUMBER() OVER (PARTITION BY r.user_id ORDER BY r.score DESC, t.popularity DESC, r.item_id) AS rank
  FROM {last} r JOIN tie t ON t.user_id = r.user_id AND t.item_id = r.item_id
  WHERE r.hidden = 0
)
SELECT user_id, rank, item_id, score FROM ranked WHERE rank <= {top} ORDER BY user_id, rank
",
        header = header(profile),
        candidates = candidates_sql(config),
        fusion = fusion_sql(config, &profile.params),
        top = profile.top,
    )
}
