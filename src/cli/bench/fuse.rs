//! `recfuse bench fuse`: re-fusion after a weight change for one shopper and for all.

use super::*;
use crate::session::Engine;

impl Bench<'_> {
    pub(super) fn fuse(&mut self, dataset: Arc<Dataset>) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
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
            "fuse: all signals but semantic fitted once in {:.1} s (semantic needs embeddings: see the Embedding section)",
            start.elapsed().as_secs_f64()
        ));
        let base = self.fusion.clone();
        let after = moved(&base);
        let configs = [base.clone(), after.clone()];
        // One user: the heaviest shopper (most events) — the largest candidate set.
        let heavy = (0..dataset.behaviour.users.len() as u32)
            .max_by_key(|&u| (engine.interactions.user_event_count(u), std::cmp::Reverse(u)))
            .unwrap_or(0);
        let heavy_id = dataset.behaviour.users.name(heavy).to_owned();
        let target = Target::Shopper(heavy_id.clone());
        let prep = time_reps(w, r, || engine.prepare_target(target.clone(), &base, &[]));
        let mut state = engine.prepare_target(target.clone(), &base, &[]);
        let n_cand = state.candidates.len();
        let history = engine.interactions.user_event_count(heavy);
        self.push(BenchRow::new(
            "fuse",
            "one user: score all items, build candidates (prepare_target)",
            prep,
            format!("shopper {heavy_id} ({history} events), {n_cand} candidates, {} items", dataset.catalogue.len()),
        ));
        // Where the candidate-building time goes: each signal scoring every item for this shopper.
        let profile = state.profile.clone();
        let sctx = ScoreContext { profile: &profile, query: None };
        let mut buffer = vec![0.0f32; dataset.catalogue.len()];
        for scorer in engine.models.scorers_for(&SignalId::recommend().collect::<Vec<_>>()) {
            let t = time_reps(w, r, || {
                scorer.score_all(&sctx, &mut buffer);
                buffer.first().copied()
            });
            self.push(BenchRow::new(
                "fuse",
                format!("one user: {} scores every item (part of prepare_target)", scorer.id()),
                t,
                "",
            ));
        }
        let ctx = RankContext { catalogue: engine.catalogue(), rules: &[], vectors: None };
        let mut flip = 0usize;
        let one = time_reps(w, r.max(20), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            state.candidates.prepare(c);
            rank(&state.candidates, c, &ctx, 10).len()
        });
        self.push(
            BenchRow::new(
                "fuse",
                "one user: re-fusion after a weight change (prepare + rank)",
                one,
                format!("{n_cand} candidates, full ranked list"),
            )
            .with_goal("< 1 ms", 1e-3),
        );
        let explain = time_reps(w, r.max(20), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            engine.explain(&mut state, c, &[], 10).len()
        });
        self.push(
            BenchRow::new(
                "fuse",
                "one user: re-fusion + explain top-10 (contributions, leave-one-out)",
                explain,
                "evidence sentences cached after the first call",
            )
            .with_goal("< 1 ms", 1e-3),
        );
        self.fuse_all_users(&engine, &dataset, &base, &configs)
    }

    /// Re-fusion for every active shopper from candidate sets built once.
    fn fuse_all_users(
        &mut self,
        engine: &Engine,
        dataset: &Dataset,
        base: &FusionConfig,
        configs: &[FusionConfig; 2],
    ) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let ctx = RankContext { catalogue: engine.catalogue(), rules: &[], vectors: None };
        let mut flip = 0usize;
        let mut users: Vec<u32> = engine.interactions.active_users().collect();
        let all_users = users.len();
        if self.args.max_users > 0 && users.len() > self.args.max_users {
            let step = users.len() as f64 / self.args.max_users as f64;
            users = (0..self.args.max_users).filter_map(|k| users.get((k as f64 * step) as usize).copied()).collect();
            self.notes.push(format!(
                "fuse: candidate sets for {} of {all_users} users (evenly spaced); all-user figures scale linearly",
                users.len()
            ));
        }
        let signals: Vec<SignalId> = SignalId::recommend().filter(|s| engine.models.scorers.contains_key(s)).collect();
        let scorers = engine.models.scorers_for(&signals);
        let n_items = dataset.catalogue.len();
        let build_start = Instant::now();
        let mut sets: Vec<CandidateSet> = users
            .par_iter()
            .map(|&u| {
                let profile = engine.interactions.profile(u);
                let sctx = ScoreContext { profile: &profile, query: None };
                let mut set = CandidateSet::build(&scorers, &sctx, n_items, base, &[], None);
                set.prepare(base);
                set
            })
            .collect();
        let build = Timing::from_seconds(0, vec![build_start.elapsed().as_secs_f64()]);
        let total_candidates: usize = sets.iter().map(CandidateSet::len).sum();
        let bytes: usize = sets.iter().map(|s| s.len() * (4 + signals.len() * 12 + 4)).sum();
        self.push(BenchRow::new(
            "fuse",
            format!("all users: build candidate sets once ({} users)", sets.len()),
            build,
            format!(
                "{} signals, {:.0} candidates/user on average, ≈{:.0} MiB cached scores",
                signals.len(),
                total_candidates as f64 / sets.len().max(1) as f64,
                mib(bytes as u64)
            ),
        ));
        let all = time_reps(w, r.max(10), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(base);
            sets.par_iter()
                .map_init(Vec::new, |scratch, set| top_k_fused(set, c, 10, scratch))
                .collect::<Vec<Vec<u32>>>()
                .len()
        });
        self.push(
            BenchRow::new(
                "fuse",
                format!("all users: re-fusion after a weight change, top-10 ({} users)", sets.len()),
                all,
                "fused scores + top-10 of every cached candidate set (rayon)",
            )
            .with_goal("< 16 ms", 16e-3),
        );
        let full = time_reps(w, r, || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(base);
            sets.par_iter().map(|set| rank(set, c, &ctx, 10).len()).sum::<usize>()
        });
        self.push(BenchRow::new(
            "fuse",
            format!("all users: full rank() after a weight change ({} users)", sets.len()),
            full,
            "complete ranked lists with rule handling (what the GUI list view uses)",
        ));
        let mut renorm = base.clone();
        for s in renorm.signals.values_mut() {
            s.normalisation = Normalisation::Rank;
        }
        let norm_configs = [renorm, base.clone()];
        let norm = time_reps(w, r, || {
            flip += 1;
            let c = norm_configs.get(flip % 2).unwrap_or(base);
            sets.par_iter_mut()
                .map_init(Vec::new, |scratch, set| {
                    set.prepare(c);
                    top_k_fused(set, c, 10, scratch).len()
                })
                .sum::<usize>()
        });
        self.push(BenchRow::new(
            "fuse",
            format!("all users: normalisation change (re-normalise + top-10, {} users)", sets.len()),
            norm,
            "min-max ↔ rank for every signal",
        ));
        Ok(())
    }
}
