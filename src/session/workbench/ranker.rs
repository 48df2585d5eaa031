//! Training the learned ranker in the background (the Evaluate tab's "Train ranker"): the
//! "train ranker" job, its per-epoch numbers, installing the model in every engine fitted
//! on the same data, and keeping it beside the session file (`<session>.ranker.safetensors`,
//! written atomically when the session is saved and read back when it is loaded).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::data::Dataset;
use crate::eval::experiment::TuneSettings;
use crate::eval::learned::{LearnedOutcome, LearnedVsTuned, train_ranker};
use crate::rank::{EpochReport, Ranker, RankerError, TrainReport, TrainSettings};
use crate::session::impact::Impact;

/// What the "train ranker" job hands back.
pub struct RankerOutput {
    /// The data it was trained on: the result is dropped when the data changed meanwhile.
    pub dataset: Arc<Dataset>,
    /// The trained ranker and what training did, or why there is none.
    pub result: Result<LearnedOutcome, RankerError>,
}

/// The learned ranker: the running job's epochs, the model and what its training found.
#[derive(Default)]
pub struct RankerState {
    /// Epochs of the running (or last) training, appended by the job as they end.
    epochs: Arc<Mutex<Vec<EpochReport>>>,
    /// The trained or loaded model (installed in every engine it fits).
    model: Option<Arc<Ranker>>,
    /// What the last training did, and how it compared with the tuned fusion.
    last: Option<(TrainReport, LearnedVsTuned, f64)>,
}

impl RankerState {
    /// Epochs finished so far by the running (or last) training.
    pub fn epochs(&self) -> Vec<EpochReport> {
        self.epochs.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The model, when one is trained or loaded.
    pub fn model(&self) -> Option<&Arc<Ranker>> {
        self.model.as_ref()
    }

    /// The last training's report, its comparison with tuned and its seconds.
    pub fn last(&self) -> Option<&(TrainReport, LearnedVsTuned, f64)> {
        self.last.as_ref()
    }
}

/// Where the ranker of a session file lives.
pub fn ranker_path(session: &Path) -> PathBuf {
    let mut name = session.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
    name.push(".ranker.safetensors");
    session.with_file_name(name)
}

impl Workbench {
    /// The learned ranker's state.
    pub fn ranker(&self) -> &RankerState {
        &self.ranker
    }

    /// Starts the "train ranker" job on the evaluation settings (split, relevance) and
    /// the current fusion as the starting point.
    pub(super) fn start_ranker_training(&mut self) {
        let (Some(dataset), Ok(req)) = (self.data.dataset().cloned(), self.eval_request()) else {
            self.notify(NoticeLevel::Info, "load data first");
            return;
        };
        let tune = TuneSettings {
            k: req.ks.first().copied().unwrap_or(10),
            seed: self.session.eval.seed,
            ..TuneSettings::default()
        };
        let settings = TrainSettings { seed: self.session.eval.seed, ..TrainSettings::default() };
        let epochs = Arc::new(Mutex::new(Vec::new()));
        self.ranker.epochs = epochs.clone();
        let progress = self.progress_handle();
        let started = self.jobs.start(job::RANK, progress, move |p| {
            let mut on_epoch = |e: &EpochReport| {
                if let Ok(mut list) = epochs.lock() {
                    list.push(*e);
                }
            };
            let result = train_ranker(&dataset, &req, &tune, &settings, p, &mut on_epoch);
            JobOutput::Ranked(Box::new(RankerOutput { dataset, result }))
        });
        self.report_start(started, Some("the ranker is already being trained".to_owned()));
    }

    /// Installs a trained ranker when the data is still the one it was trained on, and
    /// saves it beside the session file when there is one.
    pub(super) fn finish_ranker_training(&mut self, output: RankerOutput) {
        let current = self.engine().is_some_and(|e| Arc::ptr_eq(&e.dataset, &output.dataset));
        match output.result {
            Ok(o) if current => {
                self.notify(
                    NoticeLevel::Info,
                    format!(
                        "ranker trained in {:.1} s (kept epoch {}); {}",
                        o.train_seconds,
                        o.report.best_epoch,
                        o.versus_tuned.describe(10)
                    ),
                );
                self.ranker.last = Some((o.report, o.versus_tuned, o.train_seconds));
                self.ranker.model = Some(Arc::new(o.ranker));
                self.install_ranker();
                if let Some(path) = self.session_path.clone() {
                    self.save_ranker(&path);
                }
                self.apply_impact(Impact::Rescore);
                self.start_learned_row();
            }
            Ok(_) | Err(RankerError::Cancelled) => {}
            Err(e) => self.notify(NoticeLevel::Warning, format!("ranker training failed: {e}")),
        }
    }

    /// Installs the workbench's ranker in the engine (after a fit); a model trained on
    /// other data is dropped with a warning.
    pub(super) fn install_ranker(&mut self) {
        let Some(model) = self.ranker.model.clone() else { return };
        let embedding = self.jobs.is_running(job::EMBED);
        let Some(engine) = self.data.engine_mut() else { return };
        if model.config().dim > 0 && engine.vectors.is_none() && embedding {
            // It reads item vectors: installed when the embedding ends.
            return;
        }
        if let Err(e) = engine.install_ranker(model) {
            self.ranker.model = None;
            self.notify(NoticeLevel::Warning, format!("learned ranker not used: {e}"));
        }
    }

    /// Writes the ranker beside the session file `session` (atomically).
    pub(super) fn save_ranker(&mut self, session: &Path) {
        let Some(model) = self.ranker.model.clone() else { return };
        let path = ranker_path(session);
        match model.save(&path) {
            Ok(()) => self.notify(NoticeLevel::Info, format!("ranker saved to {}", path.display())),
            Err(e) => self.notify(NoticeLevel::Error, format!("could not save the ranker: {e}")),
        }
    }

    /// Reads the ranker beside a loaded session file, when there is one.
    pub(super) fn load_ranker(&mut self, session: &Path) {
        self.ranker.model = None;
        self.ranker.last = None;
        let path = ranker_path(session);
        if !path.exists() {
            return;
        }
        match Ranker::load(&path) {
            Ok(r) => self.ranker.model = Some(Arc::new(r)),
            Err(e) => self.notify(NoticeLevel::Warning, format!("learned ranker not loaded: {e}")),
        }
    }
}
