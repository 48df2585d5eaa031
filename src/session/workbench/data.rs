//! The loaded data and the fitted engine, and the commands that change them: data files,
//! column mappings, event weights, reloading.

use std::sync::Arc;

use super::{Fingerprint, JobOutput, NoticeLevel, Workbench, job};
use crate::data::{Dataset, TableKind};
use crate::jobs::Cancelled;
use crate::score::SignalId;
use crate::session::command::Command;
use crate::session::engine::Engine;
use crate::session::impact::Impact;
use crate::session::pipeline;

/// The loaded data and the engine fitted on it.
#[derive(Default)]
pub struct DataState {
    dataset: Option<Arc<Dataset>>,
    engine: Option<Engine>,
    error: Option<String>,
    /// Score files read for the loaded data (installed in every engine fitted on it).
    pub(super) external: Vec<crate::score::external::LoadedSignals>,
    /// Score files of the session that could not be read, with the reason.
    pub(super) external_failed: Vec<(crate::data::scores::SignalFile, String)>,
    /// Counts reloads: results of jobs started for older data are dropped.
    pub(super) generation: u64,
    /// The data settings (files, mappings) the installed data was loaded from.
    loaded_from: Option<crate::data::DataSources>,
}

impl DataState {
    /// The loaded data.
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.dataset.as_ref()
    }

    /// The fitted engine.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// The last fatal data error.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Score files read as external signals for the loaded data.
    pub fn external(&self) -> &[crate::score::external::LoadedSignals] {
        &self.external
    }

    /// Score files of the session that could not be read, with the reason.
    pub fn external_failed(&self) -> &[(crate::data::scores::SignalFile, String)] {
        &self.external_failed
    }

    /// Installs an engine with live events folded in (its dataset is the grown one).
    pub(super) fn install_live(&mut self, engine: Engine) {
        self.dataset = Some(engine.dataset.clone());
        self.engine = Some(engine);
    }

    /// The data settings (files, mappings) the installed data was loaded from; the
    /// session's may differ while a new load runs.
    pub fn loaded_from(&self) -> Option<&crate::data::DataSources> {
        self.loaded_from.as_ref()
    }

    /// The engine, to install or drop item vectors.
    pub(super) fn engine_mut(&mut self) -> Option<&mut Engine> {
        self.engine.as_mut()
    }
}

impl Workbench {
    /// Data files, mappings, event weights and reloading.
    pub(super) fn handle_data(&mut self, command: Command) {
        match command {
            Command::Reload => self.reload(),
            Command::SetDataFile { table, path } => {
                match table {
                    TableKind::Catalogue => self.session.data.catalogue = path,
                    TableKind::Behaviour => {
                        if let Some(p) = path {
                            self.session.data.behaviour = p;
                        }
                    }
                    TableKind::Users => self.session.data.users = path,
                }
                self.reload();
            }
            Command::OpenDataset { catalogue, behaviour, users, mappings } => {
                let d = &mut self.session.data;
                (d.catalogue, d.behaviour, d.users) = (catalogue, behaviour, users);
                let [c, b, u] = *mappings;
                (d.catalogue_mapping, d.behaviour_mapping, d.users_mapping) = (c, b, u);
                self.reload();
            }
            Command::SetMapping { table, role, column } => {
                let mapping = match table {
                    TableKind::Catalogue => &mut self.session.data.catalogue_mapping,
                    TableKind::Behaviour => &mut self.session.data.behaviour_mapping,
                    TableKind::Users => &mut self.session.data.users_mapping,
                };
                match column {
                    Some(c) => {
                        mapping.overrides.insert(role, c);
                    }
                    None => {
                        mapping.overrides.remove(&role);
                    }
                }
                self.reload();
            }
            Command::SetEventWeight { event_type, weight } => {
                self.session.event_weights.by_type.insert(event_type, weight);
                if let Some(ds) = &self.data.dataset {
                    let mut ds = (**ds).clone();
                    ds.set_weights(self.session.event_weights.clone());
                    let ds = Arc::new(ds);
                    self.data.dataset = Some(ds.clone());
                    self.start_fit(ds);
                }
            }
            _ => {}
        }
    }

    /// Starts loading the session's data (then fitting and embedding). A load still
    /// running is superseded; until the new data arrives the installed data keeps working.
    pub(super) fn reload(&mut self) {
        self.live_before_load();
        self.requested = self.requested.max(self.generation) + 1;
        let stamp = Fingerprint::of(self.requested, &());
        let session = self.session.clone();
        let progress = self.progress_handle();
        let started = self.jobs.replace(job::LOAD, progress, move |p| {
            JobOutput::Loaded(stamp, pipeline::load(&session, p).map(Arc::new).map_err(|e| e.to_string()))
        });
        self.report_start(started, None);
    }

    /// Fits every signal on `dataset` in the background (a running fit is superseded).
    pub(super) fn start_fit(&mut self, dataset: Arc<Dataset>) {
        self.supersede_training(Some(&dataset));
        self.live_before_fit();
        // The transformer is trained by its own job, once (see `training`).
        let params = self.fit_params();
        let stamp = self.fit_fingerprint();
        let texts = Arc::new(pipeline::item_texts(&dataset.catalogue, &self.session.model.template));
        let progress = self.progress_handle();
        let started = self.jobs.replace(job::FIT, progress, move |p| {
            let fitted = pipeline::fit_all(dataset, &params, texts, Err(String::new()), p);
            // Segments are read in the job, so the window's segment pickers never build them in a frame.
            JobOutput::Fitted(
                stamp,
                fitted
                    .inspect(|e| {
                        e.segments();
                    })
                    .map(Box::new),
            )
        });
        self.report_start(started, None);
    }

    pub(super) fn finish_load(&mut self, stamp: Fingerprint, result: Result<Arc<Dataset>, String>) {
        match result {
            Ok(dataset) => {
                self.install_dataset(stamp.data, dataset.clone());
                for f in &dataset.report.files {
                    for n in &f.notices {
                        self.notify(NoticeLevel::Info, format!("{}: {n}", crate::data::format::short_name(&f.path)));
                    }
                }
                self.start_signals(dataset.clone(), self.session.data.signals.clone(), false);
                self.start_fit(dataset);
                self.start_embed();
            }
            Err(e) => {
                // The data that is installed stays, and so do the paths it came from.
                let kept = self.data.loaded_from.clone().zip(self.data.dataset.as_ref());
                match kept {
                    Some((settings, ds)) => {
                        let size = format!(
                            "{} items · {} shoppers · {} events",
                            ds.report.items, ds.report.users, ds.report.events
                        );
                        self.session.data = settings;
                        self.notify(NoticeLevel::Error, format!("{e} — still showing the previous data ({size})"));
                    }
                    None => self.notify(NoticeLevel::Error, e.clone()),
                }
                self.data.error = Some(e);
            }
        }
    }

    /// Installs newly loaded data as load number `generation`: everything computed for
    /// the previous data (engine, lists, embeddings, evaluations) is dropped and the jobs
    /// still working on it are cancelled, so nothing of it can reach the new data.
    fn install_dataset(&mut self, generation: u64, dataset: Arc<Dataset>) {
        self.generation = generation;
        for name in [job::FIT, job::EMBED, job::EVAL, job::TUNE, job::SWEEP, job::COMPARE, job::RANK] {
            self.jobs.retire(name);
        }
        self.supersede_training(Some(&dataset));
        // Notices about the replaced data (its notes, a failed load's error) go to the history.
        self.notices.retire();
        let generation = self.data.generation + 1;
        self.data = DataState {
            dataset: Some(dataset),
            engine: None,
            error: None,
            loaded_from: None,
            external: Vec::new(),
            external_failed: Vec::new(),
            generation,
        };
        self.data.loaded_from = Some(self.session.data.clone());
        self.embedding.forget();
        self.view.clear();
        self.compare.forget_data();
        self.evaluation.for_new_data();
        let item_known = |id: &str| self.data.dataset.as_ref().is_some_and(|d| d.catalogue.ids.get(id).is_some());
        if self.session.selection.item.as_deref().is_some_and(|i| !item_known(i)) {
            self.session.selection.item = None;
        }
    }

    pub(super) fn finish_fit(&mut self, result: Result<Box<Engine>, Cancelled>) {
        // A cancelled fit (a newer one replaced it, or the user stopped it) says nothing.
        let Ok(engine) = result else { return };
        let mut engine = *engine;
        // A transformer trained on the same data stays (a refit for new item texts).
        let trained = self
            .data
            .engine
            .as_ref()
            .filter(|old| Arc::ptr_eq(&old.dataset, &engine.dataset))
            .and_then(|old| old.models.scorers.get(&SignalId::TRANSFORMER).cloned());
        if let Some(scorer) = trained {
            engine.install(SignalId::TRANSFORMER, scorer);
        }
        self.embedding.attach_to(&mut engine, &self.fit_params());
        engine.set_external(self.data.external.clone());
        self.live_after_fit(&mut engine);
        self.data.dataset = Some(engine.dataset.clone());
        self.data.engine = Some(engine);
        self.install_ranker();
        // A shopper of other data (or none) becomes this data's heaviest shopper.
        let known = self.session.selection.shopper.as_deref().is_some_and(|s| self.knows_shopper(s));
        if !known {
            self.session.selection.shopper = self.heaviest_shopper();
        }
        self.apply_impact(Impact::Rescore);
        self.train_if_wanted();
        self.live_after_install();
    }
}
