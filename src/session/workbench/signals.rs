//! External signals in the workbench: importing a score file in the background, removing
//! one, and installing the loaded signals in every engine fitted on the same data.

use std::path::PathBuf;
use std::sync::Arc;

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::data::Dataset;
use crate::data::scores::SignalFile;
use crate::score::external::{LoadedSignals, MAX_SIGNAL_FILES, name_from_path};
use crate::session::command::Command;
use crate::session::impact::Impact;
use crate::session::pipeline;

/// What the score-file job hands back.
pub struct SignalsOutput {
    /// The data generation the files were matched to (a result for older data is dropped).
    pub generation: u64,
    /// Each file and what reading it gave.
    pub results: Vec<(SignalFile, Result<LoadedSignals, String>)>,
    /// Whether this was one file the user just added (a failure is then not kept).
    pub added: bool,
}

impl Workbench {
    /// Adding and removing score files.
    pub(super) fn handle_signals(&mut self, command: Command) {
        match command {
            Command::AddSignalFile(path) => self.add_signal_file(path),
            Command::RemoveSignalFile(name) => self.remove_signal_file(&name),
            _ => {}
        }
    }

    /// Score files read as external signals for the loaded data.
    pub fn external_signals(&self) -> &[LoadedSignals] {
        self.data.external()
    }

    /// Score files of the session that could not be read, with the reason.
    pub fn failed_signal_files(&self) -> &[(SignalFile, String)] {
        self.data.external_failed()
    }

    fn add_signal_file(&mut self, path: PathBuf) {
        let Some(dataset) = self.data.dataset().cloned() else {
            self.notify(NoticeLevel::Info, "load the data first: a score file is matched to its shoppers and items");
            return;
        };
        if self.session.data.signals.len() >= MAX_SIGNAL_FILES {
            self.notify(NoticeLevel::Error, format!("at most {MAX_SIGNAL_FILES} score files; remove one first"));
            return;
        }
        if self.session.data.signals.iter().any(|f| f.path == path) {
            self.notify(NoticeLevel::Info, format!("{} is already imported", path.display()));
            return;
        }
        let taken: Vec<String> = self.session.data.signals.iter().map(|f| f.name.clone()).collect();
        let file = SignalFile { name: name_from_path(&path, &taken), path };
        self.start_signals(dataset, vec![file], true);
    }

    /// Reads `files` for `dataset` in the background.
    pub(super) fn start_signals(&mut self, dataset: Arc<Dataset>, files: Vec<SignalFile>, added: bool) {
        if files.is_empty() {
            return;
        }
        let progress = self.progress_handle();
        let generation = self.data.generation;
        let started = self.jobs.start(job::SIGNALS, progress, move |p| {
            let results = pipeline::load_signal_files_each(&files, &dataset, p);
            JobOutput::Signals(Box::new(SignalsOutput { generation, results, added }))
        });
        self.report_start(started, Some("a score file is already being read; try again when it is done".to_owned()));
    }

    pub(super) fn finish_signals(&mut self, output: SignalsOutput) {
        // Re-weighting events keeps the data's ids; a reload starts a new generation.
        if output.generation != self.data.generation {
            // The reload's own read may have been refused while this one ran: read again.
            if let Some(dataset) = self.data.dataset().cloned().filter(|_| !self.jobs.is_running(job::LOAD)) {
                self.start_signals(dataset, self.session.data.signals.clone(), false);
            }
            return;
        }
        let mut ids = Vec::new();
        for (file, result) in output.results {
            match result {
                Ok(loaded) => {
                    self.notify(
                        NoticeLevel::Info,
                        format!("signal file {} as '{}': {}", loaded.report.file, file.name, loaded.report.summary()),
                    );
                    ids.extend(loaded.ids());
                    if !self.session.data.signals.contains(&file) {
                        self.session.data.signals.push(file.clone());
                    }
                    self.data.external_failed.retain(|(f, _)| f.name != file.name);
                    self.data.external.retain(|l| l.file.name != file.name);
                    self.data.external.push(loaded);
                }
                Err(e) => {
                    self.notify(NoticeLevel::Error, format!("signal file not imported: {e}"));
                    if !output.added {
                        self.data.external_failed.retain(|(f, _)| f.name != file.name);
                        self.data.external_failed.push((file, e));
                    }
                }
            }
        }
        self.session.fusion.add_external_defaults(&ids);
        self.install_external();
    }

    fn remove_signal_file(&mut self, name: &str) {
        let ids: Vec<_> =
            self.data.external.iter().filter(|l| l.file.name == name).flat_map(LoadedSignals::ids).collect();
        self.session.data.signals.retain(|f| f.name != name);
        self.data.external.retain(|l| l.file.name != name);
        self.data.external_failed.retain(|(f, _)| f.name != name);
        // Weights of signals no file provides any more would make the session invalid.
        let files = self.session.data.signals.clone();
        for fusion in [&mut self.session.fusion, &mut self.session.search_fusion] {
            fusion.signals.retain(|s, _| {
                !s.is_external() || (!ids.contains(s) && crate::score::external::declared_by(*s, &files))
            });
        }
        self.install_external();
    }

    /// Installs the loaded external signals in the engine and re-scores.
    fn install_external(&mut self) {
        let loaded = self.data.external.clone();
        if let Some(engine) = self.data.engine_mut() {
            engine.set_external(loaded);
            self.apply_impact(Impact::Rescore);
        }
    }
}
