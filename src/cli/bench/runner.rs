//! The timed areas of `recfuse bench` other than re-fusion: loading, fitting,
//! evaluation, tuning, scoring and embedding.

use super::*;

impl Bench<'_> {
    pub(super) fn load(&mut self, spec: &DatasetSpec, time_it: bool) -> anyhow::Result<Dataset> {
        let sources = DataSources {
            catalogue: spec.catalogue.clone(),
            behaviour: spec.behaviour.clone(),
            ..DataSources::default()
        }
        .with_cli_mapping(&spec.map)?;
        let weights = EventWeights::default();
        let start = Instant::now();
        let dataset = load_dataset(&sources, &weights, &self.progress)?;
        let first = start.elapsed().as_secs_f64();
        if time_it {
            let (w, r) = (self.args.warmup.saturating_sub(1), self.args.reps);
            let mut failure = None;
            let timing = time_reps(w, r, || match load_dataset(&sources, &weights, &self.progress) {
                Ok(d) => d.behaviour.len(),
                Err(e) => {
                    failure = Some(e);
                    0
                }
            });
            if let Some(e) = failure {
                return Err(e.into());
            }
            let files: Vec<String> = dataset
                .report
                .files
                .iter()
                .map(|f| format!("{} {} rows ({})", f.table.id(), f.rows_read, f.format))
                .collect();
            self.push(BenchRow::new(
                "load",
                format!("load + validate ({})", spec.name),
                timing,
                format!("{}; first (cold-ish) run {:.2} s", files.join(", "), first),
            ));
        }
        Ok(dataset)
    }

    pub(super) fn fit(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let all: Vec<usize> = (0..dataset.behaviour.len()).collect();
        let n_items = dataset.catalogue.len();
        let timing = time_reps(w, r, || Interactions::build(&dataset.behaviour, &all, n_items));
        let data = Interactions::build(&dataset.behaviour, &all, n_items);
        let nnz = data.by_user.idx.len();
        let wanted: Vec<SignalId> = if self.args.signal.is_empty() {
            SignalId::all().filter(|s| *s != SignalId::SEMANTIC).collect()
        } else {
            self.args
                .signal
                .iter()
                .map(|s| SignalId::from_id(s).ok_or_else(|| anyhow::anyhow!("unknown signal '{s}'")))
                .collect::<anyhow::Result<_>>()?
        };
        if self.args.signal.is_empty() || self.args.signal.len() > 1 {
            self.push(BenchRow::new(
                "fit",
                "interactions (aggregate all events)",
                timing,
                format!("{} events → {nnz} user-item pairs", data.events),
            ));
        }
        let texts = pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default());
        let p = self.params.clone();
        let progress = self.progress.clone();
        let input = FitInput { interactions: &data, catalogue: &dataset.catalogue, texts: &texts, vectors: Err("") };
        for signal in wanted {
            let Some(spec) = registry::spec(signal) else { continue };
            if spec.needs_vectors {
                self.notes.push(format!("{signal} is fitted by embedding: see `recfuse bench embed`"));
                continue;
            }
            let timing = time_reps(w, r, || (spec.fit)(&input, &p, &progress));
            if signal == SignalId::ALS
                && let Some(dir) = &self.args.export_factors
            {
                let model = AlsScorer::fit(&data, &p.als, &progress).map_err(Self::cancelled)?;
                export_factors(dir, dataset, &data, &model)?;
                self.notes.push(format!("ALS factors written to {}", dir.display()));
            }
            self.push(BenchRow::new("fit", signal.id(), timing, (spec.params_summary)(&p)));
        }
        Ok(())
    }

    fn eval_request(&self, dataset: &Dataset) -> EvalRequest {
        EvalRequest {
            rule: SplitRule::Temporal { test_fraction: 0.1 },
            ks: vec![10],
            binary: true,
            bootstrap: BootstrapConfig { resamples: self.args.bootstrap, ..BootstrapConfig::default() },
            params: self.params.clone(),
            config: self.fusion.clone(),
            vectors: None,
            texts: Arc::new(pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default())),
            external: Vec::new(),
        }
    }

    pub(super) fn eval(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let req = self.eval_request(dataset);
        let split = three_way(&dataset.behaviour, req.rule);
        let start = Instant::now();
        let train = Interactions::build(&dataset.behaviour, &split.train, dataset.catalogue.len());
        let input = FitInput {
            interactions: &train,
            catalogue: &dataset.catalogue,
            texts: &req.texts,
            vectors: Err("not embedded in this benchmark"),
        };
        let models = fit_signals(&input, &req.params, &self.progress).map_err(Self::cancelled)?;
        let fitted = start.elapsed().as_secs_f64();
        let mut ctx = EvalContext::prepare(
            dataset,
            &split.train,
            &train,
            &split.test,
            &models,
            &req.config,
            req.binary,
            &self.progress,
        )
        .map_err(Self::cancelled)?;
        let prepared = start.elapsed().as_secs_f64();
        self.push(BenchRow::new(
            "eval",
            "prepare: fit on train + test candidates (once)",
            Timing::from_seconds(0, vec![prepared]),
            format!(
                "temporal 10 % split: {} train / {} test events, {} users evaluated; fit {:.1} s",
                split.train.len(),
                split.test.len(),
                ctx.users.len(),
                fitted
            ),
        ));
        let base = req.config.clone();
        let configs = [base.clone(), moved(&base)];
        let boot = req.bootstrap;
        let mut flip = 0usize;
        let mut ndcg = 0.0;
        let measure = time_reps(w, r.max(10), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            ctx.prepare_for(c);
            let m = ctx.measure(c, &[10], &boot);
            ndcg = m.metrics.get("ndcg@10").map_or(0.0, |e| e.value);
            m.metrics.len()
        });
        self.push(
            BenchRow::new(
                "eval",
                format!("after a weight change: all metrics@10 with {}-resample intervals", boot.resamples),
                measure,
                format!("{} users; ndcg@10 {ndcg:.4}", ctx.users.len()),
            )
            .with_goal("< 100 ms", 0.1),
        );
        let quick = time_reps(w, r.max(10), || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            ctx.prepare_for(c);
            ctx.mean_ndcg(c, 10)
        });
        self.push(
            BenchRow::new("eval", "after a weight change: mean NDCG@10 only (tuning objective)", quick, "")
                .with_goal("< 100 ms", 0.1),
        );
        let full_boot = BootstrapConfig { resamples: 1000, ..boot };
        let thousand = time_reps(w, r, || {
            flip += 1;
            let c = configs.get(flip % 2).unwrap_or(&base);
            ctx.prepare_for(c);
            ctx.measure(c, &[10], &full_boot).metrics.len()
        });
        self.push(BenchRow::new("eval", "after a weight change: all metrics@10, 1000 resamples (CLI)", thousand, ""));
        Ok(())
    }

    pub(super) fn tune(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let r = self.args.reps.min(3);
        let req = self.eval_request(dataset);
        let settings = TuneSettings::default();
        let mut outcome = None;
        let progress = self.progress.clone();
        let whole = time_reps(0, r, || {
            outcome = tune(dataset, &req, &settings, &progress).ok();
        });
        let detail = match &outcome {
            Some(o) => format!(
                "{} objective evaluations; validation ndcg@10 {:.4} → {:.4}",
                o.evaluations, o.start_ndcg, o.validation_ndcg
            ),
            None => "cancelled".to_owned(),
        };
        self.push(
            BenchRow::new("tune", "tune: fit on inner train + candidates + coordinate ascent", whole, detail)
                .with_goal("< 60 s", 60.0),
        );
        // The search alone, on a freshly prepared validation context each run (untimed).
        let split = three_way(&dataset.behaviour, req.rule);
        let (inner, models) = fit_on(dataset, &split.inner_train, &req, &progress).map_err(Self::cancelled)?;
        let prepare = || {
            EvalContext::prepare(
                dataset,
                &split.inner_train,
                &inner,
                &split.validation,
                &models,
                &req.config,
                req.binary,
                &progress,
            )
            .ok()
        };
        let users = prepare().map_or(0, |c| c.users.len());
        let search = time_reps_with_setup(0, r, prepare, |ctx| {
            ctx.map(|mut c| {
                coordinate_ascent(std::slice::from_mut(&mut c), &req.config, &settings, &progress).evaluations
            })
        });
        self.push(BenchRow::new(
            "tune",
            "tune: coordinate ascent only (prepared validation context)",
            search,
            format!("{users} validation users; {} starts × {} rounds", settings.restarts + 1, settings.rounds),
        ));
        Ok(())
    }

    pub(super) fn score(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let (w, r) = (self.args.warmup, self.args.reps);
        let all: Vec<usize> = (0..dataset.behaviour.len()).collect();
        let data = Interactions::build(&dataset.behaviour, &all, dataset.catalogue.len());
        let model = AlsScorer::fit(&data, &self.params.als, &self.progress).map_err(Self::cancelled)?;
        if let Some(dir) = &self.args.export_factors {
            export_factors(dir, dataset, &data, &model)?;
            self.notes.push(format!("ALS factors written to {}", dir.display()));
        }
        let users: Vec<u32> = data.active_users().collect();
        let n_items = dataset.catalogue.len();
        // Profiles are built outside the timed part: the reference gets its exclusion
        // matrix ready-made too.
        let profiles: Vec<crate::score::UserProfile> = users.iter().map(|&u| data.profile(u)).collect();
        let timing = time_reps(w, r, || {
            profiles
                .par_iter()
                .map_init(
                    || vec![0.0f32; n_items],
                    |scores, profile| {
                        let ctx = ScoreContext { profile, query: None };
                        model.score_all(&ctx, scores);
                        let excluded = crate::fusion::candidates::excluded_items(true, profile);
                        crate::score::topk::top_k_indices(scores, 10, |i| excluded.binary_search(&(i as u32)).is_ok())
                    },
                )
                .collect::<Vec<Vec<u32>>>()
                .len()
        });
        self.push(BenchRow::new(
            "score",
            format!("ALS: score all items for every user + top-10 ({} users × {n_items} items)", users.len()),
            timing,
            format!("{} factors; the user's own items excluded", model.factors),
        ));
        Ok(())
    }

    pub(super) fn embed(&mut self, dataset: &Dataset) -> anyhow::Result<()> {
        let dir = match &self.args.model {
            Some(d) => d.clone(),
            None => crate::embed::default_model_dir()
                .ok_or_else(|| anyhow::anyhow!("the bundled model assets/models/all-MiniLM-L6-v2 was not found"))?,
        };
        let device: crate::embed::DeviceChoice =
            self.args.device.parse().map_err(|e| anyhow::anyhow!("--device {}: {e}", self.args.device))?;
        let embedder = crate::embed::SentenceEmbedder::load(&dir, device, self.args.precision)?;
        self.notes.extend(embedder.notices().iter().cloned());
        let mut texts = pipeline::item_texts(&dataset.catalogue, &crate::embed::ItemTextTemplate::default());
        texts.retain(|t| !t.trim().is_empty());
        if let Some(limit) = self.args.limit {
            texts.truncate(limit);
        }
        let result =
            crate::embed::bench_embed(&embedder, &texts, self.args.batch_size, self.args.warmup, self.args.reps)?;
        self.push(BenchRow::new(
            "embed",
            format!("embed {} catalogue texts ({}, {})", result.items, result.model, result.device),
            Timing::from_seconds(result.warmup, result.seconds.clone()),
            format!(
                "items/s min {:.1} / median {:.1} / max {:.1}; batch {}, {} threads, {}",
                result.min_items_per_s,
                result.median_items_per_s,
                result.max_items_per_s,
                result.batch_size,
                result.threads,
                result.precision
            ),
        ));
        Ok(())
    }
}

/// Writes ALS factors for the reference scripts: `users.txt`, `items.txt` (external
/// ids, one per line, row order), `user_factors.f32` and `item_factors.f32` (row-major
/// little-endian f32), the fitted user × item matrix as CSR (`seen_ptr.u64`,
/// `seen_idx.u32`, `seen_val.f32`: summed event weights), the items each user interacted
/// with in any way — what "exclude already-seen" leaves out — as CSR without values
/// (`excluded_ptr.u64`, `excluded_idx.u32`) and `meta.json`.
pub(super) fn export_factors(
    dir: &Path,
    dataset: &Dataset,
    data: &Interactions,
    model: &AlsScorer,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    let users: Vec<&str> = (0..dataset.behaviour.users.len() as u32).map(|u| dataset.behaviour.users.name(u)).collect();
    let items: Vec<&str> = (0..dataset.catalogue.len() as u32)
        .map(|i| dataset.catalogue.ids.names().get(i as usize).map_or("", String::as_str))
        .collect();
    write("users.txt", (users.join("\n") + "\n").as_bytes())?;
    write("items.txt", (items.join("\n") + "\n").as_bytes())?;
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    write("user_factors.f32", &bytes(&model.user_factors))?;
    write("item_factors.f32", &bytes(&model.item_factors))?;
    let ptr: Vec<u8> = data.by_user.ptr.iter().flat_map(|&x| (x as u64).to_le_bytes()).collect();
    let idx: Vec<u8> = data.by_user.idx.iter().flat_map(|x| x.to_le_bytes()).collect();
    write("seen_ptr.u64", &ptr)?;
    write("seen_idx.u32", &idx)?;
    let val: Vec<u8> = data.by_user.val.iter().flat_map(|x| x.to_le_bytes()).collect();
    write("seen_val.f32", &val)?;
    let mut excluded_ptr: Vec<u8> = 0u64.to_le_bytes().to_vec();
    let mut excluded_idx: Vec<u8> = Vec::new();
    let mut total = 0u64;
    for u in 0..data.n_users as u32 {
        let items = crate::fusion::candidates::excluded_items(true, &data.profile(u));
        total += items.len() as u64;
        excluded_idx.extend(items.iter().flat_map(|x| x.to_le_bytes()));
        excluded_ptr.extend(total.to_le_bytes());
    }
    write("excluded_ptr.u64", &excluded_ptr)?;
    write("excluded_idx.u32", &excluded_idx)?;
    let meta = serde_json::json!({
        "factors": model.factors,
        "users": users.len(),
        "items": items.len(),
        "layout": "row-major little-endian f32",
    });
    write("meta.json", serde_json::to_string_pretty(&meta)?.as_bytes())?;
    Ok(())
}
