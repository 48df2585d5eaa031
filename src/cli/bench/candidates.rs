//! `recfuse bench candidates`: index-built candidates against exhaustive ones — each
//! signal's recall of the exhaustive top-N, the union's recall, the fused top-10's
//! agreement, and the time per shopper of both paths, on evenly spaced shoppers.

use super::*;
use crate::fusion::CandidateSource;
use crate::session::Engine;

/// Recall counts of one probe setting.
#[derive(Default, Clone)]
struct Recall {
    /// Per signal: (exhaustive top-N items found by the index, exhaustive top-N items).
    per_signal: Vec<(usize, usize)>,
    /// The union: (found, exhaustive candidates).
    union: (usize, usize),
    /// Fused top-10: (items in both lists, items in the exhaustive list, identical lists).
    top10: (usize, usize, usize),
    /// Seconds building the index sets, one per shopper.
    seconds: Vec<f64>,
    /// Candidates of the index sets.
    candidates: usize,
}

impl Recall {
    fn add(&mut self, exact: &CandidateSet, found: &CandidateSet, top_exact: &[u32], top_found: &[u32]) {
        if self.per_signal.len() < exact.signals.len() {
            self.per_signal.resize(exact.signals.len(), (0, 0));
        }
        for (s, slot) in self.per_signal.iter_mut().enumerate() {
            let bit = 1u32 << s.min(31);
            for (j, &item) in exact.items.iter().enumerate() {
                if exact.in_top.get(j).is_some_and(|b| b & bit != 0) {
                    slot.1 += 1;
                    let hit = found.position(item).and_then(|k| found.in_top.get(k)).is_some_and(|b| b & bit != 0);
                    slot.0 += usize::from(hit);
                }
            }
        }
        self.union.1 += exact.len();
        self.union.0 += exact.items.iter().filter(|&&i| found.position(i).is_some()).count();
        self.top10.0 += top_exact.iter().filter(|i| top_found.contains(i)).count();
        self.top10.1 += top_exact.len();
        self.top10.2 += usize::from(top_exact == top_found);
        self.candidates += found.len();
    }
}

fn share(found: usize, of: usize) -> String {
    if of == 0 { "—".to_owned() } else { format!("{:.4}", found as f64 / of as f64) }
}

impl Bench<'_> {
    pub(super) fn candidates(&mut self, dataset: Arc<Dataset>) -> anyhow::Result<()> {
        let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default()));
        let start = Instant::now();
        let engine = pipeline::fit_all(
            dataset.clone(),
            &self.params,
            texts,
            Err("not embedded in this benchmark".to_owned()),
            &self.progress,
        )
        .map_err(Self::cancelled)?;
        self.notes.push(format!(
            "candidates: all signals but semantic fitted in {:.1} s (semantic needs embeddings)",
            start.elapsed().as_secs_f64()
        ));
        let mut index = self.fusion.clone();
        index.candidate_source = CandidateSource::Index;
        let started = Instant::now();
        engine.build_indexes(&index);
        self.push(BenchRow::new(
            "candidates",
            "build the candidate indexes (IVF over ALS factors, sorted heads, price and category lists)",
            Timing::from_seconds(0, vec![started.elapsed().as_secs_f64()]),
            format!("{} items", dataset.catalogue.len()),
        ));
        let mut users: Vec<u32> = engine.interactions.active_users().collect();
        let max = if self.args.max_users == 0 { 300 } else { self.args.max_users };
        if users.len() > max {
            let step = users.len() as f64 / max as f64;
            users = (0..max).filter_map(|k| users.get((k as f64 * step) as usize).copied()).collect();
        }
        self.candidates_compare(&engine, &users)?;
        self.candidates_batch(&engine, &index)
    }

    /// `batch`'s own path (rank, contributions, Parquet row groups, both cores) on the
    /// index path for `10 × --max-users` evenly spaced shoppers, written to a temporary file.
    fn candidates_batch(&mut self, engine: &Engine, config: &FusionConfig) -> anyhow::Result<()> {
        use crate::session::batch::{BatchRequest, write_recommendations};
        let names = engine.dataset.behaviour.users.names();
        let max = 10 * if self.args.max_users == 0 { 300 } else { self.args.max_users };
        let step = (names.len() / max.max(1)).max(1);
        let shoppers: Vec<String> = names.iter().step_by(step).take(max).cloned().collect();
        let dir = tempfile::tempdir()?;
        let request = BatchRequest { top: 10, contributions: true, shoppers: Some(shoppers), pseudonym_salt: None };
        let started = Instant::now();
        let summary =
            write_recommendations(engine, config, &[], &request, &dir.path().join("recs.parquet"), &self.progress)?;
        let seconds = started.elapsed().as_secs_f64();
        self.push(BenchRow::new(
            "candidates",
            format!("batch on the index path: top-10 with contributions for {} shoppers", summary.shoppers),
            Timing::from_seconds(0, vec![seconds]),
            format!(
                "{:.2} ms per shopper with both cores; all {} shoppers at that rate: {:.1} min",
                1e3 * seconds / summary.shoppers.max(1) as f64,
                names.len(),
                seconds / summary.shoppers.max(1) as f64 * names.len() as f64 / 60.0
            ),
        ));
        Ok(())
    }

    /// Exhaustive and index sets for each of `users`, one shopper at a time (the two paths
    /// interleaved), at the default probes and at half and twice as many.
    fn candidates_compare(&mut self, engine: &Engine, users: &[u32]) -> anyhow::Result<()> {
        let base = self.fusion.clone();
        let lists = crate::score::ivf::default_lists(engine.catalogue().len());
        let default = crate::score::ivf::default_probes(lists);
        let probes = [(default / 2).max(1), default, (default * 2).min(lists)];
        let signals: Vec<SignalId> = SignalId::recommend().filter(|s| engine.models.scorers.contains_key(s)).collect();
        let scorers = engine.models.scorers_for(&signals);
        let n_items = engine.catalogue().len();
        let ctx = RankContext { catalogue: engine.catalogue(), rules: &[], vectors: None };
        let mut exhaustive_s = Vec::with_capacity(users.len());
        let mut recalls = vec![Recall::default(); probes.len()];
        for &u in users {
            self.progress.check().map_err(Self::cancelled)?;
            let profile = engine.interactions.profile(u);
            let sctx = ScoreContext { profile: &profile, query: None };
            let t = Instant::now();
            let mut exact = CandidateSet::build(&scorers, &sctx, n_items, &base, &[], None);
            exhaustive_s.push(t.elapsed().as_secs_f64());
            exact.attach_catalogue(engine.catalogue());
            exact.prepare(&base);
            let top_exact: Vec<u32> = rank(&exact, &base, &ctx, 10).iter().take(10).map(|r| r.item).collect();
            for (recall, &p) in recalls.iter_mut().zip(&probes) {
                let t = Instant::now();
                let mut found = CandidateSet::build_indexed(&scorers, &sctx, n_items, &base, &[], None, p);
                recall.seconds.push(t.elapsed().as_secs_f64());
                found.attach_catalogue(engine.catalogue());
                found.prepare(&base);
                let top_found: Vec<u32> = rank(&found, &base, &ctx, 10).iter().take(10).map(|r| r.item).collect();
                recall.add(&exact, &found, &top_exact, &top_found);
            }
        }
        let n = users.len();
        self.push(BenchRow::new(
            "candidates",
            format!("one shopper: exhaustive candidates (every signal scores all {n_items} items)"),
            Timing::from_seconds(0, exhaustive_s),
            format!("{n} evenly spaced shoppers, one at a time"),
        ));
        for (recall, &p) in recalls.into_iter().zip(&probes) {
            let per: Vec<String> = recall
                .per_signal
                .iter()
                .zip(&signals)
                .map(|(&(f, of), s)| format!("{} {}", s.id(), share(f, of)))
                .collect();
            self.push(BenchRow::new(
                "candidates",
                format!("one shopper: index candidates, ALS IVF probing {p} of {lists} lists"),
                Timing::from_seconds(0, recall.seconds),
                format!(
                    "recall of the exhaustive top-{}: {}; union {}; fused top-10 overlap {} ({} of {n} lists identical); \
                     {:.0} candidates/shopper",
                    base.candidates_per_signal,
                    per.join(", "),
                    share(recall.union.0, recall.union.1),
                    share(recall.top10.0, recall.top10.1),
                    recall.top10.2,
                    recall.candidates as f64 / n.max(1) as f64
                ),
            ));
        }
        Ok(())
    }
}
