//! Export → "Recommendations for all shoppers…": the batch writer
//! ([`crate::session::batch`]) as a background job, with progress and cancel in the status
//! bar, on the current recommendation settings (fusion, rules, list length, privacy).

use std::path::{Path, PathBuf};

use super::{JobOutput, NoticeLevel, Workbench, job};
use crate::session::batch::{BatchError, BatchRequest, BatchSummary, check_output, write_recommendations};

impl Workbench {
    /// Starts writing every shopper's list to `path` (refused while one is being written).
    pub(super) fn start_batch_export(&mut self, path: PathBuf) {
        let Some(engine) = self.engine().cloned() else {
            self.notify(NoticeLevel::Error, "export failed: load data first (no fitted engine yet)");
            return;
        };
        let data = &self.session.data;
        let mut inputs: Vec<&Path> = vec![data.behaviour.as_path()];
        inputs.extend(data.catalogue.as_deref());
        inputs.extend(data.users.as_deref());
        inputs.extend(self.session_path.as_deref());
        if let Err(e) = check_output(&path, &inputs) {
            self.notify(NoticeLevel::Error, format!("export failed: {e}"));
            return;
        }
        let config = self.session.fusion.clone();
        let rules = self.session.rules.clone();
        let request = BatchRequest {
            top: self.session.selection.k,
            contributions: true,
            shoppers: None,
            pseudonym_salt: self.session.privacy.then(|| self.session.privacy_salt.clone()),
        };
        let progress = self.progress_handle();
        let started = self.jobs.start(job::BATCH, progress, move |p| {
            JobOutput::Batch(write_recommendations(&engine, &config, &rules, &request, &path, p))
        });
        self.report_start(started, Some("recommendations for all shoppers are already being exported".to_owned()));
    }

    /// Reports the finished export.
    pub(super) fn finish_batch_export(&mut self, result: Result<BatchSummary, BatchError>) {
        match result {
            Ok(s) => self.notify(
                NoticeLevel::Info,
                format!("exported {} rows for {} shoppers to {}", s.rows, s.shoppers, s.path.display()),
            ),
            Err(BatchError::Cancelled(_)) => {
                self.notify(NoticeLevel::Info, "export of all shoppers cancelled; nothing was written")
            }
            Err(e) => self.notify(NoticeLevel::Error, format!("export failed: {e}")),
        }
    }
}
