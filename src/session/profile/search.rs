//! The search-mode profiles: an OpenSearch search pipeline (the `normalization-processor`,
//! or the `score-ranker-processor` for RRF, over a `hybrid` query of a BM25 `match` and a
//! semantic `neural`/k-NN clause, in that order) and a Vespa rank profile (a first phase that
//! retrieves on BM25 + closeness, a global phase that normalises and weighs them).
//!
//! Only the two query-relevance signals live in the engine: every other weighted signal, the
//! normalisations and methods the target lacks, re-ranking and rules are listed as not
//! expressed in the file's header (the pipeline's `description`, the rank profile's comments).

use std::fmt::Write as _;

use super::{Profile, reranking_not_expressed};
use crate::fusion::{FusionConfig, FusionMethod, Normalisation};
use crate::score::SignalId;

/// The two weights the engines express (BM25, semantic), and what they cannot.
struct SearchPlan {
    bm25: f32,
    semantic: f32,
    not_expressed: Vec<String>,
}

fn plan(profile: &Profile) -> SearchPlan {
    let config = &profile.search_fusion;
    let mut not_expressed = Vec::new();
    let mut weight = |s: SignalId| {
        let w = config.weight(s);
        if w < 0.0 {
            not_expressed.push(format!("the negative weight of {} ({w:?}): the engines weigh 0 to 1", s.id()));
            0.0
        } else {
            w
        }
    };
    let (bm25, semantic) = (weight(SignalId::BM25), weight(SignalId::SEMANTIC));
    for s in SignalId::all().filter(|s| *s != SignalId::BM25 && *s != SignalId::SEMANTIC) {
        let w = config.weight(s);
        if w != 0.0 {
            not_expressed.push(format!("signal {} (weight {w:?}): not a query clause of the engine", s.id()));
        }
    }
    not_expressed.extend(reranking_not_expressed(config, &profile.rules));
    not_expressed.extend(
        profile.rules.iter().filter(|r| r.enabled && !matches!(r.action, crate::fusion::RuleAction::Pin { .. })).map(
            |r| {
                format!("rule \"{}\" ({}): express it as a filter or function score in the query", r.name, r.describe())
            },
        ),
    );
    SearchPlan { bm25, semantic, not_expressed }
}

/// The shares of BM25 and semantic (summing to 1, as OpenSearch requires; the same order as
/// RecFuse's weighted sum, which a positive factor does not change).
fn shares(p: &SearchPlan) -> (f64, f64) {
    let total = f64::from(p.bm25) + f64::from(p.semantic);
    if total > 0.0 { (f64::from(p.bm25) / total, f64::from(p.semantic) / total) } else { (0.5, 0.5) }
}

/// A weight as printed (rounded to 6 decimals, so `0.5555555555` reads `0.555556`).
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn norm_of(config: &FusionConfig, s: SignalId) -> Normalisation {
    config.normalisation(s)
}

/// The OpenSearch search pipeline (JSON), its limits in `description`.
pub fn opensearch(profile: &Profile) -> String {
    let config = &profile.search_fusion;
    let mut p = plan(profile);
    let (b, s) = shares(&p);
    let technique = match (norm_of(config, SignalId::BM25), norm_of(config, SignalId::SEMANTIC)) {
        (Normalisation::Zscore, Normalisation::Zscore) => "z_score",
        (Normalisation::Minmax, Normalisation::Minmax) => "min_max",
        (a, c) => {
            p.not_expressed.push(format!(
                "normalisation {} / {} (BM25 / semantic): OpenSearch normalises both clauses alike (min_max, l2 or \
                 z_score); min_max is used",
                a.id(),
                c.id()
            ));
            "min_max"
        }
    };
    let processor = match config.method {
        FusionMethod::Rrf => {
            if (p.bm25 - p.semantic).abs() > f32::EPSILON {
                p.not_expressed
                    .push("the RRF weights (the score-ranker processor weighs both clauses equally)".to_owned());
            }
            serde_json::json!({ "score-ranker-processor": { "combination": { "technique": "rrf", "rank_constant": config.rrf_k.max(1.0).round() as i64 } } })
        }
        method => {
            if method != FusionMethod::Weighted {
                p.not_expressed.push(format!(
                    "fusion method {} (OpenSearch combines normalised scores by a weighted mean): arithmetic_mean is used",
                    method.id()
                ));
            }
            serde_json::json!({ "normalization-processor": {
                "normalization": { "technique": technique },
                "combination": { "technique": "arithmetic_mean", "parameters": { "weights": [round6(b), round6(s)] } }
            } })
        }
    };
    let description = format!(
        "RecFuse fusion profile (version {}), search mode: BM25 {:?} and semantic {:?} ({} fusion). Use with a hybrid \
         query of two clauses in this order: [a match query on the item text (BM25), a neural or knn query on the item \
         embedding]. NOT EXPRESSED: {}",
        profile.version,
        p.bm25,
        p.semantic,
        config.method.id(),
        if p.not_expressed.is_empty() { "nothing".to_owned() } else { p.not_expressed.join("; ") }
    );
    let value = serde_json::json!({ "description": description, "phase_results_processors": [processor] });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// The global-phase term of one signal (its function `f`) under RecFuse's normalisation.
fn vespa_term(kind: Normalisation, method: FusionMethod, rrf_k: f32, f: &str, notes: &mut Vec<String>) -> String {
    if method == FusionMethod::Rrf {
        return format!("reciprocal_rank({f}, {:?})", rrf_k.max(0.0));
    }
    if method != FusionMethod::Weighted {
        notes.push(format!("fusion method {} in the global phase: a weighted sum is used", method.id()));
    }
    match kind {
        Normalisation::None => f.to_owned(),
        Normalisation::Minmax => format!("normalize_linear({f})"),
        other => {
            notes.push(format!("normalisation {} of {f}: normalize_linear is used", other.id()));
            format!("normalize_linear({f})")
        }
    }
}

/// The Vespa rank profile, its limits in the leading comments.
pub fn vespa(profile: &Profile) -> String {
    let config = &profile.search_fusion;
    let mut p = plan(profile);
    let mut notes = Vec::new();
    let bm25 = vespa_term(norm_of(config, SignalId::BM25), config.method, config.rrf_k, "text_bm25", &mut notes);
    let semantic = vespa_term(norm_of(config, SignalId::SEMANTIC), config.method, config.rrf_k, "semantic", &mut notes);
    notes.dedup();
    p.not_expressed.extend(notes);
    let mut out = String::new();
    let _ =
        writeln!(out, "# RecFuse fusion profile (version {}) as a Vespa rank profile, search mode.", profile.version);
    let _ = writeln!(
        out,
        "# Assumes fields title and description (index: enable-bm25) and embedding (tensor<float>(x[384]),"
    );
    let _ = writeln!(
        out,
        "# HNSW), and the query input query(q) with the query's embedding; rename them to your schema's."
    );
    let _ = writeln!(out, "# Fusion: {} of BM25 {:?} and semantic {:?}.", config.method.id(), p.bm25, p.semantic);
    let _ = writeln!(out, "# NOT EXPRESSED (RecFuse does these; this rank profile does not):");
    if p.not_expressed.is_empty() {
        let _ = writeln!(out, "#   nothing: every step of this profile is in the rank profile.");
    }
    for m in &p.not_expressed {
        let _ = writeln!(out, "#   - {m}");
    }
    let _ = writeln!(
        out,
        "rank-profile recfuse inherits default {{
    inputs {{
        query(q) tensor<float>(x[384])
    }}
    function text_bm25() {{
        expression: bm25(title) + bm25(description)
    }}
    function semantic() {{
        expression: closeness(field, embedding)
    }}
    first-phase {{
        expression: text_bm25 + semantic
    }}
    global-phase {{
        expression: {:?} * {bm25} + {:?} * {semantic}
        rerank-count: {}
    }}
}}",
        p.bm25, p.semantic, config.candidates_per_signal
    );
    out
}
