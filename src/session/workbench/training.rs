//! Training the `transformer` signal in the background: the "train transformer" job, its
//! per-epoch numbers, and installing the trained scorer in the engine.
//!
//! Like the CLI, the workbench always fits and re-embeds with the transformer off (see
//! [`Workbench::fit_params`]), so neither a fit nor new item vectors train it; it is
//! trained once, in this job, on the engine's data and current item vectors (id-only
//! when there are none). `params.transformer.enabled` in the session means "train after
//! load": the job starts when fitting ends (after the item embeddings when they are
//! being computed).
//!
//! A trained model is kept beside the session file (`<session>.transformer.safetensors`,
//! with the data fingerprint, written atomically when the session is saved or training
//! ends). Loading the session reads it back once the data is fitted instead of training
//! again; a model trained on other data is refused with a notice, and Train trains anew.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::data::Dataset;
use crate::rank::data_fingerprint;
use crate::score::SignalId;
use crate::score::SignalParams;
use crate::score::transformer::{EpochReport, TrainReport, TransformerError, TransformerScorer};
use crate::session::impact::Impact;

/// The weight the transformer gets when it is trained while its weight is 0.
pub const TRAINED_WEIGHT: f32 = 0.3;

/// What the "train transformer" job hands back.
pub struct TrainOutput {
    /// The data it was trained on: the result is dropped when the data changed meanwhile.
    pub dataset: Arc<Dataset>,
    /// The trained scorer and what training did, or why there is none.
    pub result: Result<(TransformerScorer, TrainReport), TransformerError>,
}

/// The transformer's training: the running job's data and epochs, and the last result.
#[derive(Default)]
pub struct TrainingState {
    /// The data the running job trains on.
    running_on: Option<Arc<Dataset>>,
    /// Train again when the running job ends (it was cancelled because the data changed).
    restart: bool,
    /// Epochs of the running (or last) training, appended by the job as they end.
    epochs: Arc<Mutex<Vec<EpochReport>>>,
    /// What the last finished training did.
    last: Option<TrainReport>,
    /// The trained (or loaded) model installed in the engine: what saving writes.
    model: Option<Arc<TransformerScorer>>,
    /// A model file beside a loaded session, read when the data is fitted.
    saved: Option<PathBuf>,
}

/// Where the transformer of a session file lives.
pub fn transformer_path(session: &Path) -> PathBuf {
    let mut name = session.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
    name.push(".transformer.safetensors");
    session.with_file_name(name)
}

impl TrainingState {
    /// Epochs finished so far by the running (or last) training.
    pub fn epochs(&self) -> Vec<EpochReport> {
        self.epochs.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// What the last finished training did.
    pub fn last(&self) -> Option<&TrainReport> {
        self.last.as_ref()
    }
}

/// One line about an epoch ("epoch 2: loss 4.51 · validation NDCG@10 0.081").
pub fn epoch_line(e: &EpochReport) -> String {
    format!("epoch {}: loss {:.3} · validation NDCG@10 {:.3} · HR@10 {:.3}", e.epoch, e.loss, e.ndcg, e.hit_rate)
}

impl Workbench {
    /// The transformer's training state.
    pub fn training(&self) -> &TrainingState {
        &self.training
    }

    /// Whether the signal is trained on demand (a Train button instead of fitting).
    pub fn is_trainable(&self, signal: SignalId) -> bool {
        signal == SignalId::TRANSFORMER
    }

    /// The session's parameters with the transformer off: what every fit and every
    /// re-embedding of the workbench uses, so that only the training job trains it.
    pub(super) fn fit_params(&self) -> SignalParams {
        let mut params = self.session.params.clone();
        params.transformer.enabled = false;
        params
    }

    /// The user asked for the transformer (Train, or its weight moved above 0): remember
    /// it in the session, give it a weight, and train it unless it is trained or training.
    pub(super) fn request_training(&mut self) {
        self.session.params.transformer.enabled = true;
        let setting = self.session.active_fusion_mut().signals.entry(SignalId::TRANSFORMER).or_default();
        setting.enabled = true;
        if setting.weight <= 0.0 {
            setting.weight = TRAINED_WEIGHT;
        }
        self.apply_impact(Impact::Rerank);
        let trained = self.engine().is_some_and(|e| e.models.scorers.contains_key(&SignalId::TRANSFORMER));
        if !trained {
            self.start_training();
        }
    }

    /// Starts training when the session asks for it and nothing is trained yet: after a
    /// fit, and after the item embeddings arrive. Waits for embeddings being computed.
    pub(super) fn train_if_wanted(&mut self) {
        if self.install_saved() {
            return;
        }
        let wanted = self.session.params.transformer.enabled;
        let trained = self.engine().is_some_and(|e| e.models.scorers.contains_key(&SignalId::TRANSFORMER));
        if wanted && !trained && !self.jobs.is_running(job::EMBED) {
            self.start_training();
        }
    }

    /// Cancels a training of data other than `dataset` (a reload or re-weighting replaced
    /// it); it starts again on the new data when it has stopped and the engine is fitted.
    pub(super) fn supersede_training(&mut self, dataset: Option<&Arc<Dataset>>) {
        let stale = match (&self.training.running_on, dataset) {
            (Some(running), Some(new)) => !Arc::ptr_eq(running, new),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if stale && self.jobs.is_running(job::TRAIN) {
            self.jobs.cancel(job::TRAIN);
            self.training.restart = true;
        }
    }

    /// Starts the "train transformer" job on the engine's data and item vectors. Without
    /// an engine it starts when fitting ends.
    fn start_training(&mut self) {
        let Some(engine) = self.data.engine() else { return };
        let dataset = engine.dataset.clone();
        if self.jobs.is_running(job::TRAIN) {
            self.supersede_training(Some(&dataset));
            return;
        }
        let interactions = engine.interactions.clone();
        let vectors = engine.vectors.clone();
        let params = self.session.params.transformer.clone();
        let epochs = Arc::new(Mutex::new(Vec::new()));
        self.training.epochs = epochs.clone();
        let progress = self.progress_handle();
        let on = dataset.clone();
        let started = self.jobs.start(job::TRAIN, progress, move |p| {
            let mut on_epoch = |e: &EpochReport| {
                if let Ok(mut list) = epochs.lock() {
                    list.push(*e);
                }
            };
            let result = TransformerScorer::fit(&interactions, vectors.as_deref(), &params, p, &mut on_epoch);
            JobOutput::Trained(Box::new(TrainOutput { dataset: on, result }))
        });
        if matches!(started, Ok(true)) {
            self.training.running_on = Some(dataset);
        }
        self.report_start(started, Some("the transformer is already being trained".to_owned()));
    }

    /// Installs a trained transformer when the data is still the one it was trained on.
    pub(super) fn finish_training(&mut self, output: TrainOutput) {
        self.training.running_on = None;
        let restart = std::mem::take(&mut self.training.restart);
        let current = self.engine().is_some_and(|e| Arc::ptr_eq(&e.dataset, &output.dataset));
        match output.result {
            Ok((scorer, report)) if current => {
                let line = report.epochs.iter().find(|e| e.epoch == report.best_epoch).map(epoch_line);
                self.notify(
                    NoticeLevel::Info,
                    format!(
                        "transformer trained: {} epochs, kept {}",
                        report.epochs.len(),
                        line.unwrap_or_else(|| format!("epoch {}", report.best_epoch))
                    ),
                );
                self.training.last = Some(report);
                let scorer = Arc::new(scorer.with_fingerprint(data_fingerprint(&output.dataset)));
                self.training.model = Some(scorer.clone());
                if let Some(engine) = self.data.engine_mut() {
                    engine.install(SignalId::TRANSFORMER, scorer);
                }
                if let Some(path) = self.session_path.clone() {
                    self.save_transformer(&path);
                }
                self.apply_impact(Impact::Rescore);
            }
            // The data changed meanwhile: the result is of no use.
            Ok(_) => {}
            // Cancelled by the user (the signal stays off), or because the data changed.
            Err(TransformerError::Cancelled) => {
                if !restart {
                    self.session.params.transformer.enabled = false;
                }
            }
            Err(e) if current => {
                self.session.params.transformer.enabled = false;
                let why = format!("training failed: {e}");
                self.notify(NoticeLevel::Warning, format!("transformer: {why}"));
                if let Some(engine) = self.data.engine_mut() {
                    engine.set_unavailable(SignalId::TRANSFORMER, why);
                }
            }
            Err(_) => {}
        }
        if restart {
            self.train_if_wanted();
        }
    }
}

impl Workbench {
    /// Writes the trained transformer beside the session file `session` (atomically).
    /// A model of other data than the loaded one is not written (it would be refused when
    /// the session is opened again).
    pub(super) fn save_transformer(&mut self, session: &Path) {
        let Some(model) = self.training.model.clone() else { return };
        let current = self.data.engine().map(|e| data_fingerprint(&e.dataset));
        if current.as_deref() != Some(model.fingerprint()) {
            self.notify(
                NoticeLevel::Info,
                "the trained transformer is of other data than the loaded files: not saved beside the session",
            );
            return;
        }
        let path = transformer_path(session);
        match model.save(&path) {
            Ok(()) => self.notify(NoticeLevel::Info, format!("transformer saved to {}", path.display())),
            Err(e) => self.notify(NoticeLevel::Error, format!("could not save the transformer: {e}")),
        }
    }

    /// Notes the transformer beside a loaded session file, when there is one: it is read
    /// (and checked against the data) once the data is fitted.
    pub(super) fn load_transformer(&mut self, session: &Path) {
        self.training.model = None;
        let path = transformer_path(session);
        self.training.saved = path.exists().then_some(path);
    }

    /// Installs the model noted by [`Self::load_transformer`] when the fitted data is the
    /// data it was trained on; refuses it with a notice otherwise (Train trains anew).
    /// True when a saved model was handled (or waits for the item embeddings).
    fn install_saved(&mut self) -> bool {
        let Some(path) = self.training.saved.clone() else { return false };
        if self.jobs.is_running(job::EMBED) {
            return true;
        }
        let Some(engine) = self.data.engine() else { return false };
        self.training.saved = None;
        let fingerprint = data_fingerprint(&engine.dataset);
        let shrinkage = self.session.params.transformer.id_shrinkage;
        let loaded = TransformerScorer::load(&path, engine.vectors.as_deref()).and_then(|s| {
            s.check_data(&fingerprint)?;
            s.with_id_shrinkage(&engine.interactions, shrinkage)
        });
        match loaded {
            Ok(scorer) => {
                let scorer = Arc::new(scorer);
                self.training.model = Some(scorer.clone());
                if let Some(engine) = self.data.engine_mut() {
                    engine.install(SignalId::TRANSFORMER, scorer);
                }
                self.notify(NoticeLevel::Info, format!("transformer loaded from {}", path.display()));
                self.apply_impact(Impact::Rescore);
            }
            Err(e) => {
                self.session.params.transformer.enabled = false;
                let why = format!("saved model not used: {e}");
                self.notify(NoticeLevel::Warning, format!("transformer: {why}"));
                if let Some(engine) = self.data.engine_mut() {
                    engine.set_unavailable(SignalId::TRANSFORMER, why);
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::Scorer;
    use crate::session::{Command, Session};

    fn fitted_workbench() -> Workbench {
        let mut wb = Workbench::new(Session::default());
        wb.set_embedding_enabled(false);
        wb.handle(Command::Reload);
        let start = std::time::Instant::now();
        while wb.engine().is_none() || !wb.jobs().running().is_empty() {
            assert!(start.elapsed().as_secs() < 120, "the sample did not load");
            wb.poll();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        wb
    }

    fn tiny_training(wb: &Workbench) -> (TransformerScorer, TrainReport) {
        let engine = wb.engine().unwrap();
        let mut p = wb.session().params.transformer.clone();
        (p.epochs, p.dim, p.heads, p.blocks, p.max_len, p.negatives) = (1, 8, 1, 1, 5, 16);
        TransformerScorer::fit(&engine.interactions, None, &p, &crate::jobs::Progress::new(), &mut |_| {}).unwrap()
    }

    /// Polls until no job runs.
    fn settle(wb: &mut Workbench) {
        let start = std::time::Instant::now();
        while wb.engine().is_none() || !wb.jobs().running().is_empty() {
            assert!(start.elapsed().as_secs() < 120, "jobs did not end: {:?}", wb.jobs().running());
            wb.poll();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// A workbench that loads the session file `path` (embedding off, as it was saved).
    fn loaded_from(path: &Path) -> Workbench {
        let mut wb = Workbench::new(Session::default());
        wb.set_embedding_enabled(false);
        wb.handle(Command::LoadSession(path.to_path_buf()));
        settle(&mut wb);
        wb
    }

    fn has_notice(wb: &Workbench, text: &str) -> bool {
        wb.notices().iter().any(|n| n.text.contains(text))
    }

    #[test]
    fn a_trained_model_is_saved_beside_the_session_and_loaded_back_without_training() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.json");
        let mut wb = fitted_workbench();
        wb.session.params.transformer.enabled = true;
        let dataset = wb.engine().unwrap().dataset.clone();
        wb.finish_training(TrainOutput { dataset, result: Ok(tiny_training(&wb)) });
        wb.handle(Command::SaveSession(path.clone()));
        let model = transformer_path(&path);
        assert_eq!(model, dir.path().join("shop.transformer.safetensors"));
        assert!(model.exists(), "{:?}", wb.notices());
        let saved = wb.training.model.clone().unwrap();
        assert_eq!(saved.fingerprint(), data_fingerprint(&wb.engine().unwrap().dataset));

        let loaded = loaded_from(&path);
        assert!(loaded.available_signals().contains(&SignalId::TRANSFORMER), "{:?}", loaded.notices());
        assert!(has_notice(&loaded, "transformer loaded from"), "{:?}", loaded.notices());
        assert!(loaded.training().last().is_none(), "loaded, not trained again");
        // The loaded model scores as the saved one did.
        let engine = loaded.engine().unwrap();
        let profile = engine.interactions.profile(0);
        let ctx = crate::score::ScoreContext { profile: &profile, query: None };
        let n = engine.dataset.catalogue.len();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        saved.score_all(&ctx, &mut a);
        engine.models.scorers[&SignalId::TRANSFORMER].score_all(&ctx, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn a_model_of_other_data_is_not_saved_beside_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.json");
        let mut wb = fitted_workbench();
        wb.training.model = Some(Arc::new(tiny_training(&wb).0.with_fingerprint("0123456789abcdef")));
        wb.handle(Command::SaveSession(path.clone()));
        assert!(path.exists(), "the session itself is saved");
        assert!(!transformer_path(&path).exists(), "a model of other data is not written");
        assert!(has_notice(&wb, "not saved beside the session"), "{:?}", wb.notices());
    }

    #[test]
    fn a_model_of_other_data_is_refused_and_train_trains_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.json");
        let mut wb = fitted_workbench();
        wb.session.params.transformer.enabled = true;
        wb.handle(Command::SaveSession(path.clone()));
        // A model trained on other data (its fingerprint differs from these files').
        let stale = tiny_training(&wb).0.with_fingerprint("0123456789abcdef");
        stale.save(&transformer_path(&path)).unwrap();

        let mut loaded = loaded_from(&path);
        assert!(!loaded.available_signals().contains(&SignalId::TRANSFORMER));
        assert!(
            has_notice(&loaded, "trained on other data (data fingerprint 0123456789abcdef"),
            "{:?}",
            loaded.notices()
        );
        let why = &loaded.engine().unwrap().models.unavailable[&SignalId::TRANSFORMER];
        assert!(why.contains("train it again"), "{why}");
        assert!(!loaded.session().params.transformer.enabled, "not trained behind the user's back");
        assert!(!loaded.is_running(job::TRAIN));
        // Asking for it trains it on these files.
        loaded.handle(Command::TrainTransformer);
        assert!(loaded.is_running(job::TRAIN));
        loaded.jobs.cancel(job::TRAIN);
        settle(&mut loaded);
    }

    #[test]
    fn a_result_for_other_data_is_dropped_and_one_for_this_data_survives_new_vectors() {
        let mut wb = fitted_workbench();
        let unavailable = |wb: &Workbench| !wb.available_signals().contains(&SignalId::TRANSFORMER);
        assert!(unavailable(&wb), "fitting must not train the transformer");
        // The same contents, but another load: its result must not be installed.
        let other = Arc::new((*wb.engine().unwrap().dataset).clone());
        wb.finish_training(TrainOutput { dataset: other, result: Ok(tiny_training(&wb)) });
        assert!(unavailable(&wb));
        let dataset = wb.engine().unwrap().dataset.clone();
        wb.finish_training(TrainOutput { dataset, result: Ok(tiny_training(&wb)) });
        assert!(!unavailable(&wb), "a result for the current data is installed");
        // New (or failed) item vectors re-fit the vector signals but keep the trained model.
        let params = wb.fit_params();
        wb.data.engine_mut().unwrap().attach_vectors(Err("embedding is off".to_owned()), &params);
        assert!(!unavailable(&wb));
    }
}
