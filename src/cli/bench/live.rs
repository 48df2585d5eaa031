//! `recfuse bench live`: what live updates cost and how far they drift from a refit.
//!
//! The events (sorted by time) are cut at 80 % and 90 %. The signals are fitted on the first
//! 80 %; the next 10 % are folded in as 1,000-event batches through
//! [`Engine::apply_batch`](crate::session::Engine::apply_batch), each followed by the
//! watched shopper's refreshed list (the timed step); then every signal of the incremental
//! engine and of a full refit on the same 90 % ranks the last 10 %'s shoppers' items:
//! NDCG@10 against their test items and the overlap of the two top-10 lists.

use super::*;
use crate::data::{Behaviour, EventBatch, FileReport, TableKind};
use crate::session::Engine;

/// Events per live batch.
const BATCH: usize = 1_000;

/// The first `n` events of the dataset (users and event types are kept whole).
fn prefix(dataset: &Dataset, n: usize) -> Dataset {
    let mut d = dataset.clone();
    let b = &mut d.behaviour;
    b.user.truncate(n);
    b.item.truncate(n);
    b.time.truncate(n);
    b.event_type.truncate(n);
    b.weight.truncate(n);
    if !b.rating.is_empty() {
        b.rating.truncate(n);
    }
    if !b.quantity.is_empty() {
        b.quantity.truncate(n);
    }
    for a in &mut b.attributes {
        a.codes.truncate(n);
    }
    d
}

/// Events `range` of the dataset as a live batch (what the follower would build).
fn batch_of(dataset: &Dataset, range: std::ops::Range<usize>) -> EventBatch {
    let src = &dataset.behaviour;
    let part = |v: &Vec<f32>| v.get(range.clone()).map(<[f32]>::to_vec).unwrap_or_default();
    let behaviour = Behaviour {
        users: src.users.clone(),
        user: src.user.get(range.clone()).map(<[u32]>::to_vec).unwrap_or_default(),
        item: src.item.get(range.clone()).map(<[u32]>::to_vec).unwrap_or_default(),
        time: src.time.get(range.clone()).map(<[i64]>::to_vec).unwrap_or_default(),
        event_type: src.event_type.get(range.clone()).map(<[u16]>::to_vec).unwrap_or_default(),
        event_type_names: src.event_type_names.clone(),
        rating: part(&src.rating),
        quantity: part(&src.quantity),
        attributes: src
            .attributes
            .iter()
            .map(|a| crate::data::EventAttribute {
                name: a.name.clone(),
                values: a.values.clone(),
                codes: a.codes.get(range.clone()).map(<[u32]>::to_vec).unwrap_or_default(),
            })
            .collect(),
        weight: part(&src.weight),
    };
    let mut report = FileReport::new(PathBuf::from("live batch"), TableKind::Behaviour, "bench".to_owned());
    report.rows_read = range.len();
    report.rows_kept = range.len();
    EventBatch { behaviour, report, new_items: Default::default(), item_texts: Vec::new() }
}

/// Binary NDCG@10 of `top` against `relevant`.
fn ndcg10(top: &[u32], relevant: &std::collections::BTreeSet<u32>) -> f64 {
    let dcg: f64 =
        top.iter().enumerate().filter(|(_, i)| relevant.contains(i)).map(|(r, _)| 1.0 / ((r + 2) as f64).log2()).sum();
    let ideal: f64 = (0..relevant.len().min(10)).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    if ideal > 0.0 { dcg / ideal } else { 0.0 }
}

/// A signal's top 10 for a shopper, without the items they already had.
fn top10(engine: &Engine, signal: SignalId, user: u32) -> Vec<u32> {
    let Some(scorer) = engine.models.scorers.get(&signal) else { return Vec::new() };
    let profile = engine.interactions.profile(user);
    let seen = profile.interacted_items();
    let mut scores = vec![0.0f32; engine.catalogue().len()];
    scorer.score_all(&ScoreContext { profile: &profile, query: None }, &mut scores);
    crate::score::topk::top_k_indices(&scores, 10, |i| seen.binary_search(&(i as u32)).is_ok())
}

impl Bench<'_> {
    pub(super) fn live(&mut self, dataset: &Arc<Dataset>) -> anyhow::Result<()> {
        let n = dataset.behaviour.len();
        let (fit_end, test_start) = (n * 8 / 10, n * 9 / 10);
        let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default()));
        let params = self.params.clone();
        let fit = |d: Dataset, p: &Progress| {
            pipeline::fit_all(Arc::new(d), &params, texts.clone(), Err("not embedded in this benchmark".to_owned()), p)
        };
        let mut engine = fit(prefix(dataset, fit_end), &self.progress).map_err(Self::cancelled)?;
        // The watched shopper: the one with most events in the replayed part.
        let mut counts = vec![0usize; dataset.behaviour.users.len()];
        for &u in dataset.behaviour.user.get(fit_end..test_start).unwrap_or(&[]) {
            if let Some(c) = counts.get_mut(u as usize) {
                *c += 1;
            }
        }
        let watched = (0..counts.len()).max_by_key(|&u| (counts.get(u).copied().unwrap_or(0), std::cmp::Reverse(u)));
        let watched = dataset.behaviour.users.name(watched.unwrap_or(0) as u32).to_owned();
        let batches: Vec<EventBatch> =
            (fit_end..test_start).step_by(BATCH).map(|a| batch_of(dataset, a..(a + BATCH).min(test_start))).collect();
        let mut seconds = Vec::with_capacity(batches.len());
        let mut phases: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
        for batch in &batches {
            let start = Instant::now();
            let (next, summary) = engine.apply_batch(batch);
            let ranked = Instant::now();
            let mut state = next.prepare_target(Target::Shopper(watched.clone()), &self.fusion, &[]);
            let _list = next.explain(&mut state, &self.fusion, &[], 10);
            seconds.push(start.elapsed().as_secs_f64());
            for (name, d) in summary.phases {
                phases.entry(name).or_default().push(d.as_secs_f64());
            }
            phases.entry("re-rank the watched shopper".to_owned()).or_default().push(ranked.elapsed().as_secs_f64());
            engine = next;
        }
        let parts: Vec<String> = phases
            .into_iter()
            .map(|(name, v)| format!("{name} {:.1} ms", Timing::from_seconds(0, v).median_s * 1e3))
            .collect();
        self.notes.push(format!("live batch, median per part: {}", parts.join(", ")));
        let timing = Timing::from_seconds(0, seconds);
        self.push(
            BenchRow::new(
                "live",
                "1,000-event batch → refreshed list (fold-in + re-rank; no file read)",
                timing,
                format!("{} batches from event {fit_end} to {test_start}; watched shopper {watched}", batches.len()),
            )
            .with_goal("< 100 ms median", 0.1),
        );
        let start = Instant::now();
        let refit = fit(prefix(dataset, test_start), &self.progress).map_err(Self::cancelled)?;
        self.push(BenchRow::new(
            "live",
            "full refit on the same 90 % (every signal but semantic)",
            Timing::from_seconds(0, vec![start.elapsed().as_secs_f64()]),
            String::new(),
        ));
        self.compare_live(dataset, &engine, &refit, test_start);
        Ok(())
    }

    /// Per signal: NDCG@10 of the incremental engine and of the refit on the test events,
    /// and the overlap of their top-10 lists.
    fn compare_live(&mut self, dataset: &Dataset, live: &Engine, refit: &Engine, test_start: usize) {
        let b = &dataset.behaviour;
        let mut relevant: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> = Default::default();
        let mut seen: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
        for e in test_start..b.len() {
            let (Some(&u), Some(&i), Some(&w)) = (b.user.get(e), b.item.get(e), b.weight.get(e)) else { continue };
            if w <= 0.0 || refit.interactions.user_event_count(u) == 0 {
                continue;
            }
            let had = seen.entry(u).or_insert_with(|| refit.interactions.profile(u).interacted_items());
            if had.binary_search(&i).is_err() {
                relevant.entry(u).or_default().insert(i);
            }
        }
        let users: Vec<(u32, std::collections::BTreeSet<u32>)> = relevant.into_iter().collect();
        for signal in refit.models.available() {
            let rows: Vec<(f64, f64, f64)> = users
                .par_iter()
                .map(|(u, rel)| {
                    let (a, r) = (top10(live, signal, *u), top10(refit, signal, *u));
                    let overlap = a.iter().filter(|i| r.contains(i)).count() as f64 / 10.0;
                    (ndcg10(&a, rel), ndcg10(&r, rel), overlap)
                })
                .collect();
            let k = rows.len().max(1) as f64;
            let (a, r, o) = rows.iter().fold((0.0, 0.0, 0.0), |s, x| (s.0 + x.0, s.1 + x.1, s.2 + x.2));
            let (a, r, o) = (a / k, r / k, o / k);
            let delta = if r > 0.0 { format!("{:+.1} %", 100.0 * (a - r) / r) } else { "n/a".to_owned() };
            self.notes.push(format!(
                "live vs refit, {signal}: NDCG@10 {a:.4} incremental vs {r:.4} refit ({delta}), top-10 overlap {o:.3} ({} test shoppers)",
                rows.len()
            ));
        }
    }
}
