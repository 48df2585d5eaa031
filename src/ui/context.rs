//! What a panel gets: a read-only view of the workbench, the UI state, and a command
//! sender (the rerun `ViewerContext` + `CommandSender` pattern). Panels never change
//! engine state; the app drains the sender once per frame, after drawing.

use std::path::PathBuf;

use super::state::{DialogPurpose, UiState};
use crate::session::{Command, Workbench};

/// A request only the app can carry out (it owns the dialogs and the window).
#[derive(Debug, Clone, PartialEq)]
pub enum UiRequest {
    /// Open a native file dialog.
    OpenDialog(DialogPurpose),
    /// Use a path for a purpose, as if chosen in a dialog.
    UsePath(DialogPurpose, PathBuf),
    /// Read the files of the *Open dataset* window for its preview, in the background.
    PreviewDataset([Option<PathBuf>; 3]),
}

/// Commands and UI requests queued while drawing one frame.
#[derive(Debug, Default)]
pub struct CommandSender {
    commands: Vec<Command>,
    requests: Vec<UiRequest>,
}

impl CommandSender {
    /// Queues a command for the workbench.
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// Asks the app to open a file dialog.
    pub fn open_dialog(&mut self, purpose: DialogPurpose) {
        self.requests.push(UiRequest::OpenDialog(purpose));
    }

    /// Asks the app to use `path` for `purpose` (dropped files, typed paths).
    pub fn use_path(&mut self, purpose: DialogPurpose, path: PathBuf) {
        self.requests.push(UiRequest::UsePath(purpose, path));
    }

    /// Asks the app to read the *Open dataset* window's files for the preview.
    pub fn preview_dataset(&mut self, paths: [Option<PathBuf>; 3]) {
        self.requests.push(UiRequest::PreviewDataset(paths));
    }

    /// Takes what was queued: UI requests first, then commands.
    pub fn drain(&mut self) -> (Vec<UiRequest>, Vec<Command>) {
        (std::mem::take(&mut self.requests), std::mem::take(&mut self.commands))
    }
}

/// What a panel draws from and writes to.
pub struct PanelContext<'a> {
    /// The workbench, read-only.
    pub wb: &'a Workbench,
    /// The UI state.
    pub ui: &'a mut UiState,
    /// Where the panel sends commands and UI requests.
    pub commands: &'a mut CommandSender,
}
