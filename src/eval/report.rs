//! An evaluation outcome as the stable JSON object (`eval --json`, metrics export) and as
//! the human table the CLI prints.

use super::experiment::{EvalOutcome, RowKind, TuneOutcome, TunedChoice};

/// The stable JSON object of an evaluation.
pub fn outcome_json(outcome: &EvalOutcome) -> serde_json::Value {
    let results: Vec<serde_json::Value> = outcome
        .rows
        .iter()
        .map(|r| {
            let metrics: serde_json::Map<String, serde_json::Value> = r
                .metrics
                .metrics
                .iter()
                .map(|(k, e)| (k.clone(), serde_json::json!({"value": e.value, "ci": [e.ci.0, e.ci.1]})))
                .collect();
            serde_json::json!({
                "name": r.name, "kind": r.kind, "weights": r.weights, "metrics": metrics,
                "cold_items": r.metrics.cold_items,
            })
        })
        .collect();
    let segments: Vec<serde_json::Value> = outcome
        .segments
        .iter()
        .map(|s| {
            serde_json::json!({
                "dimension": s.dimension, "segment": s.segment, "users": s.users,
                "metric": format!("ndcg@{}", outcome.request.ks.first().copied().unwrap_or(10)),
                "value": s.estimate.value, "ci": [s.estimate.ci.0, s.estimate.ci.1],
            })
        })
        .collect();
    serde_json::json!({
        "split": outcome.split,
        "cut": outcome.cut.map(crate::data::timestamp::format_utc),
        "k": outcome.request.ks.first().copied().unwrap_or(10),
        "ks": outcome.request.ks,
        "users_evaluated": outcome.users,
        "train_events": outcome.events.0,
        "test_events": outcome.events.1,
        "results": results,
        "segments": segments,
    })
}

/// The human table of an evaluation.
pub fn outcome_table(outcome: &EvalOutcome) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} split{}: {} train / {} test events, {} users evaluated, 95% bootstrap intervals",
        outcome.split,
        outcome.cut.map(|c| format!(" at {}", crate::data::timestamp::format_utc(c))).unwrap_or_default(),
        outcome.events.0,
        outcome.events.1,
        outcome.users
    );
    for &k in &outcome.request.ks {
        let keys = [
            format!("ndcg@{k}"),
            format!("recall@{k}"),
            format!("precision@{k}"),
            format!("hit_rate@{k}"),
            format!("coverage@{k}"),
        ];
        let _ = write!(out, "\n{:<12} {:<7}", "row", "kind");
        for key in &keys {
            let _ = write!(out, " {key:>26}");
        }
        let _ = writeln!(out);
        for row in &outcome.rows {
            let kind = match row.kind {
                RowKind::Signal => "signal",
                RowKind::Fused => "fused",
                RowKind::Tuned => "tuned",
                RowKind::Learned => "learned",
            };
            let _ = write!(out, "{:<12} {:<7}", row.name, kind);
            for key in &keys {
                match row.metrics.metrics.get(key) {
                    Some(e) => {
                        let _ = write!(out, " {:>8.4} [{:.4}, {:.4}]", e.value, e.ci.0, e.ci.1);
                    }
                    None => {
                        let _ = write!(out, " {:>26}", "–");
                    }
                }
            }
            let _ = writeln!(out);
        }
    }
    cold_item_table(&mut out, outcome);
    if !outcome.segments.is_empty() {
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let _ = writeln!(out, "\nsegments (fused ndcg@{k}):");
        for s in &outcome.segments {
            let _ = writeln!(
                out,
                "  {:<10} {:<24} {:>6} users  {:.4} [{:.4}, {:.4}]",
                s.dimension, s.segment, s.users, s.estimate.value, s.estimate.ci.0, s.estimate.ci.1
            );
        }
    }
    out
}

/// The cold-item slice of every row: hit rate on relevant items with few training shoppers.
fn cold_item_table(out: &mut String, outcome: &EvalOutcome) {
    use std::fmt::Write;
    let Some(first) = outcome.rows.iter().find_map(|r| r.metrics.cold_items) else { return };
    let _ = writeln!(
        out,
        "\ncold items (<= {} training shoppers): {} relevant pairs of {} users; hit rate@{}:",
        crate::eval::runner::COLD_ITEM_MAX_SHOPPERS,
        first.pairs,
        first.users,
        first.k
    );
    for row in &outcome.rows {
        if let Some(c) = row.metrics.cold_items {
            let _ = writeln!(out, "  {:<12} {:.4} ({} of {})", row.name, c.hit_rate, c.hits, c.pairs);
        }
    }
}

/// The stable JSON object of a tuning run: what the validation scores rest on and what was kept.
pub fn tuning_json(t: &TuneOutcome) -> serde_json::Value {
    let kept = match t.kept {
        TunedChoice::Searched => "searched".to_owned(),
        TunedChoice::Start => "start".to_owned(),
        TunedChoice::SingleSignal(s) => format!("signal:{s}"),
    };
    serde_json::json!({
        "validation_users": t.validation_users,
        "validation_windows": t.window_users,
        "start_ndcg": t.start_ndcg,
        "searched_ndcg": t.searched_ndcg,
        "best_single": t.best_single.map(|(s, v)| serde_json::json!({"signal": s.id(), "ndcg": v})),
        "kept": kept,
        "kept_validation_ndcg": t.validation_ndcg,
        "evaluations": t.evaluations,
        "params": t.param_trials,
    })
}
