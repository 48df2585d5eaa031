//! The eframe application: polls jobs in `logic`, draws panels in `ui` (each with a
//! [`PanelContext`]: the workbench read-only, the UI state, a command sender), and then
//! applies the commands and UI requests the widgets queued, once per frame.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::context::{CommandSender, PanelContext, UiRequest};
use super::panels;
use super::state::PreviewSlot;
use crate::data::TableKind;
use crate::jobs::{JobHandle, JobStatus, Progress};
use crate::session::{Command, ExportKind, NoticeLevel, Session, Workbench};

pub use super::state::{DialogPurpose, Tab, UiSettings, UiState};

/// Cuts the screen rectangle `rect` (points) out of a screenshot, clamped to the image.
fn crop(image: &egui::ColorImage, rect: egui::Rect, pixels_per_point: f32) -> Option<image::RgbaImage> {
    let [w, h] = image.size;
    let x0 = ((rect.min.x * pixels_per_point).max(0.0) as usize).min(w);
    let x1 = ((rect.max.x * pixels_per_point).max(0.0) as usize).min(w);
    let y0 = ((rect.min.y * pixels_per_point).max(0.0) as usize).min(h);
    let y1 = ((rect.max.y * pixels_per_point).max(0.0) as usize).min(h);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let mut bytes = Vec::with_capacity((x1 - x0) * (y1 - y0) * 4);
    for y in y0..y1 {
        for x in x0..x1 {
            bytes.extend_from_slice(&image.pixels.get(y * w + x).copied().unwrap_or_default().to_array());
        }
    }
    image::RgbaImage::from_raw((x1 - x0) as u32, (y1 - y0) as u32, bytes)
}

/// The files being read for the *Open dataset* preview, and the job reading them.
type PreviewJob = ([Option<PathBuf>; 3], JobHandle<[PreviewSlot; 3]>);

/// The workbench application.
pub struct WorkbenchApp {
    /// Runtime state and command handling.
    pub wb: Workbench,
    /// UI state.
    pub ui: UiState,
    /// Commands queued by widgets this frame.
    pub commands: CommandSender,
    dialog: Option<(DialogPurpose, JobHandle<Option<PathBuf>>)>,
    /// Reading the *Open dataset* window's files for its preview.
    preview: Option<PreviewJob>,
    /// The window's context, for the background reads to ask for a repaint.
    repaint: egui::Context,
    last_frame: Option<std::time::Instant>,
    /// Every frame's CPU time when `RECFUSE_FRAME_STATS` names a file to write them to.
    frame_log: Option<(PathBuf, Vec<f32>)>,
}

const SETTINGS_KEY: &str = "recfuse-ui";
const SESSION_KEY: &str = "recfuse-session";

impl WorkbenchApp {
    /// Builds the app from eframe's creation context: restores persisted settings and the
    /// last session (when its data files still exist), then starts loading.
    pub fn new(cc: &eframe::CreationContext<'_>) -> Self {
        let mut settings = UiSettings::default();
        let mut session = Session::default();
        if let Some(storage) = cc.storage {
            if let Some(s) = eframe::get_value::<UiSettings>(storage, SETTINGS_KEY) {
                settings = s;
            }
            if let Some(s) = eframe::get_value::<Session>(storage, SESSION_KEY)
                && s.data.behaviour.exists()
                && s.data.catalogue.as_ref().is_none_or(|c| c.exists())
            {
                session = s;
            }
        }
        egui_extras::install_image_loaders(&cc.egui_ctx);
        let mut app = Self::with_session(cc.egui_ctx.clone(), session, true);
        app.ui.settings = settings;
        super::theme::apply(&cc.egui_ctx, app.ui.settings.dark);
        app
    }

    /// Builds the app for `session` (tests use this with `embed = false` for speed).
    pub fn with_session(ctx: egui::Context, session: Session, embed: bool) -> Self {
        let mut wb = Workbench::new(session);
        wb.set_embedding_enabled(embed);
        let repaint = ctx.clone();
        let repaint_ctx = ctx.clone();
        wb.set_repaint(Arc::new(move || repaint_ctx.request_repaint()));
        let ui = UiState {
            path_drafts: [
                wb.session().data.catalogue.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                wb.session().data.behaviour.display().to_string(),
                wb.session().data.users.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            ],
            ..UiState::default()
        };
        wb.handle(Command::Reload);
        let frame_log = std::env::var_os("RECFUSE_FRAME_STATS").map(|p| (PathBuf::from(p), Vec::new()));
        Self {
            wb,
            ui,
            commands: CommandSender::default(),
            dialog: None,
            preview: None,
            repaint,
            last_frame: None,
            frame_log,
        }
    }

    /// Opens a native file dialog off the UI thread.
    pub fn open_dialog(&mut self, purpose: DialogPurpose) {
        if self.dialog.is_some() {
            return;
        }
        let save = matches!(purpose, DialogPurpose::SaveSession | DialogPurpose::Export(_) | DialogPurpose::PlotPng(_));
        let folder = matches!(purpose, DialogPurpose::ModelDir | DialogPurpose::SignalFolder);
        let (filter_name, extensions): (&str, Vec<&str>) = match &purpose {
            DialogPurpose::DataFile(_) => (
                "data",
                vec!["csv", "tsv", "txt", "gz", "parquet", "jsonl", "ndjson", "json", "inter", "item", "user", "data"],
            ),
            DialogPurpose::SaveSession | DialogPurpose::LoadSession => ("session", vec!["json"]),
            DialogPurpose::Export(ExportKind::ListCsv | ExportKind::MetricsCsv) => ("csv", vec!["csv"]),
            DialogPurpose::Export(ExportKind::MetricsJson) => ("json", vec!["json"]),
            DialogPurpose::Export(ExportKind::HtmlReport) => ("html", vec!["html"]),
            DialogPurpose::Export(ExportKind::AllShoppersParquet) => ("parquet", vec!["parquet"]),
            DialogPurpose::Export(ExportKind::Profile(f)) => ("profile", vec![f.extension()]),
            DialogPurpose::PlotPng(_) => ("png", vec!["png"]),
            DialogPurpose::ModelDir | DialogPurpose::SignalFolder => ("model", vec![]),
            DialogPurpose::SignalFile => {
                ("scores", vec!["csv", "tsv", "txt", "gz", "parquet", "jsonl", "ndjson", "json"])
            }
        };
        let default_name = match &purpose {
            DialogPurpose::SaveSession => "recfuse-session.json".to_owned(),
            DialogPurpose::Export(ExportKind::ListCsv) => "recommendations.csv".to_owned(),
            DialogPurpose::Export(ExportKind::MetricsCsv) => "metrics.csv".to_owned(),
            DialogPurpose::Export(ExportKind::MetricsJson) => "metrics.json".to_owned(),
            DialogPurpose::Export(ExportKind::HtmlReport) => "recfuse-report.html".to_owned(),
            DialogPurpose::Export(ExportKind::AllShoppersParquet) => "recommendations.parquet".to_owned(),
            DialogPurpose::Export(ExportKind::Profile(f)) => f.default_file_name().to_owned(),
            DialogPurpose::PlotPng(name) => format!("{name}.png"),
            _ => String::new(),
        };
        let extensions: Vec<String> = extensions.into_iter().map(str::to_owned).collect();
        let filter_name = filter_name.to_owned();
        let handle = JobHandle::spawn("file dialog", Progress::new(), move |_| {
            let mut d = rfd::FileDialog::new();
            if !extensions.is_empty() {
                d = d.add_filter(&filter_name, &extensions);
            }
            if folder {
                d.pick_folder()
            } else if save {
                d.set_file_name(&default_name).save_file()
            } else {
                d.pick_file()
            }
        });
        match handle {
            Ok(h) => self.dialog = Some((purpose, h)),
            Err(_) => self.ui.dialog_fallback = Some((purpose, String::new())),
        }
    }

    /// Applies a path chosen in a dialog (or typed in the fallback field).
    pub fn dialog_result(&mut self, purpose: DialogPurpose, path: PathBuf) {
        match purpose {
            DialogPurpose::DataFile(table) => {
                // The chosen file fills its field; "Open dataset" loads the fields together.
                let i = match table {
                    TableKind::Catalogue => 0,
                    TableKind::Behaviour => 1,
                    TableKind::Users => 2,
                };
                if let Some(d) = self.ui.path_drafts.get_mut(i) {
                    *d = path.display().to_string();
                }
            }
            DialogPurpose::ModelDir => self.commands.push(Command::SetModelDir(Some(path))),
            DialogPurpose::SaveSession => {
                self.remember(path.clone());
                self.commands.push(Command::SaveSession(path));
            }
            DialogPurpose::LoadSession => {
                self.remember(path.clone());
                self.commands.push(Command::LoadSession(path));
            }
            DialogPurpose::Export(kind) => self.commands.push(Command::Export { kind, path }),
            DialogPurpose::PlotPng(name) => self.ui.pending_png = Some((name, path)),
            DialogPurpose::SignalFile | DialogPurpose::SignalFolder => self.commands.push(Command::AddSignalFile(path)),
        }
    }

    fn remember(&mut self, path: PathBuf) {
        let recent = &mut self.ui.settings.recent;
        recent.retain(|p| *p != path);
        recent.insert(0, path);
        recent.truncate(10);
    }

    /// Reads the files of the *Open dataset* window off the UI thread (a file of millions of
    /// rows takes seconds); a newer request replaces an older one.
    fn start_preview(&mut self, paths: [Option<PathBuf>; 3]) {
        let ctx = self.repaint.clone();
        let files = paths.clone();
        let handle = JobHandle::spawn("preview dataset", Progress::new(), move |_| {
            let read = files.map(|p| p.map(|p| crate::data::preview::preview_file(&p).map_err(|e| e.to_string())));
            ctx.request_repaint();
            read
        });
        match handle {
            Ok(handle) => self.preview = Some((paths, handle)),
            Err(e) => {
                if let Some(draft) = &mut self.ui.open_dataset {
                    draft.previews = paths.map(|p| p.map(|_| Err(format!("could not start reading the file: {e}"))));
                }
            }
        }
    }

    fn poll_preview(&mut self) {
        let Some((paths, handle)) = &mut self.preview else { return };
        let read = match handle.poll() {
            JobStatus::Running(_) => return,
            JobStatus::Finished(read) => read,
            JobStatus::Panicked(e) => [(); 3].map(|_| Some(Err(format!("could not read the file: {e}")))),
        };
        if let Some(draft) = self.ui.open_dataset.as_mut().filter(|d| d.paths == *paths) {
            draft.previews = read;
        }
        self.preview = None;
    }

    fn poll_dialog(&mut self) {
        let Some((_, handle)) = &mut self.dialog else { return };
        match handle.poll() {
            JobStatus::Running(_) => {}
            JobStatus::Finished(result) => {
                let purpose = self.dialog.take().map(|(p, _)| p);
                match (purpose, result) {
                    (Some(p), Some(path)) => self.dialog_result(p, path),
                    (Some(p), None) => {
                        // Cancelled, or no dialog service (rfd returns None at once then):
                        // offer a path field instead.
                        self.ui.dialog_fallback = Some((p, String::new()));
                    }
                    _ => {}
                }
            }
            JobStatus::Panicked(_) => {
                let purpose = self.dialog.take().map(|(p, _)| p);
                if let Some(p) = purpose {
                    self.ui.dialog_fallback = Some((p, String::new()));
                }
            }
        }
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(path) = dropped.into_iter().next() {
            if path.extension().is_some_and(|e| e == "json")
                && std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\"fusion\""))
            {
                self.remember(path.clone());
                self.commands.push(Command::LoadSession(path));
            } else {
                self.ui.dropped = Some(path);
            }
        }
    }

    fn handle_screenshot(&mut self, ctx: &egui::Context) {
        let image = self.ui.screenshot.lock().ok().and_then(|mut slot| slot.take());
        let Some(image) = image else { return };
        let Some((name, path)) = self.ui.pending_png.take() else { return };
        let Some(rect) = self.ui.plot_rects.get(&name).copied() else { return };
        let result = crop(&image, rect, ctx.pixels_per_point())
            .ok_or_else(|| "the plot is not on screen".to_owned())
            .and_then(|img| {
                let mut bytes = Vec::new();
                img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
                    .map_err(|e| e.to_string())?;
                crate::session::write_atomic(&path, &bytes).map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => self.wb.notify(NoticeLevel::Info, format!("plot saved to {}", path.display())),
            Err(e) => self.wb.notify(NoticeLevel::Error, format!("could not save the plot: {e}")),
        }
    }

    /// Writes the frame-time statistics (when `RECFUSE_FRAME_STATS` is set).
    fn write_frame_stats(&self) {
        let Some((path, log)) = &self.frame_log else { return };
        let mut sorted = log.clone();
        sorted.sort_by(f32::total_cmp);
        let at = |q: f64| sorted.get(((sorted.len().saturating_sub(1)) as f64 * q).round() as usize).copied();
        let stats = serde_json::json!({
            "what": "CPU time per frame in WorkbenchApp (job polling + drawing + command handling), ms; excludes tessellation and GPU work",
            "frames": sorted.len(),
            "min": at(0.0), "median": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0),
        });
        if let Ok(text) = serde_json::to_string_pretty(&stats) {
            let _ = crate::session::write_atomic(path, text.as_bytes());
        }
    }

    /// Carries out the UI requests queued this frame, then applies the queued commands.
    pub fn drain_commands(&mut self) {
        let (requests, commands) = self.commands.drain();
        for c in commands {
            self.wb.handle(c);
        }
        for r in requests {
            match r {
                UiRequest::OpenDialog(purpose) => self.open_dialog(purpose),
                UiRequest::UsePath(purpose, path) => self.dialog_result(purpose, path),
                UiRequest::PreviewDataset(paths) => self.start_preview(paths),
            }
        }
        let (_, commands) = self.commands.drain();
        for c in commands {
            self.wb.handle(c);
        }
    }

    /// Draws every panel with a context of the workbench (read-only), the UI state and
    /// the command sender.
    fn draw(&mut self, ui: &mut egui::Ui) {
        let mut cx = PanelContext { wb: &self.wb, ui: &mut self.ui, commands: &mut self.commands };
        panels::status::show(ui, &mut cx);
        // Presenting hides the configuration: the list and its explanation get the room.
        if !cx.ui.presenting {
            panels::left::show(ui, &mut cx);
        }
        panels::inspector::show(ui, &mut cx);
        egui::CentralPanel::default().show(ui, |ui| {
            panels::notices::show(ui, &mut cx);
            if cx.ui.presenting {
                panels::present::bar(ui, &mut cx);
            } else {
                panels::present::guide(ui, &mut cx);
                ui.horizontal(|ui| {
                    for tab in Tab::ALL {
                        if ui.selectable_label(cx.ui.settings.tab == tab, tab.title()).clicked() {
                            cx.ui.settings.tab = tab;
                        }
                    }
                    ui.separator();
                    panels::present::present_button(ui, &mut cx);
                });
            }
            ui.separator();
            match cx.ui.settings.tab {
                Tab::Recommendations => panels::recommend::show(ui, &mut cx),
                Tab::Compare => panels::compare::show(ui, &mut cx),
                Tab::Evaluate => panels::evaluate::show(ui, &mut cx),
                Tab::Explore => panels::explore::show(ui, &mut cx),
                Tab::Data => panels::data::show(ui, &mut cx),
            }
        });
        panels::dialogs::show(ui, &mut cx);
    }
}

impl eframe::App for WorkbenchApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.last_frame = Some(std::time::Instant::now());
        self.wb.poll();
        self.poll_dialog();
        self.poll_preview();
        self.handle_dropped_files(ctx);
        self.handle_screenshot(ctx);
        if self.ui.pending_png.is_some() && !self.ui.screenshot_requested {
            self.ui.screenshot_requested = true;
            let slot = self.ui.screenshot.clone();
            let repaint = ctx.clone();
            ctx.request_screenshot(move |image| {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(image);
                }
                repaint.request_repaint();
            });
        }
        if self.ui.pending_png.is_none() {
            self.ui.screenshot_requested = false;
        }
        if !self.wb.jobs().running().is_empty() || self.dialog.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let guard = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.draw(ui)));
        if let Err(payload) = guard {
            let msg = crate::jobs::panic_message(payload.as_ref());
            self.wb.notify(NoticeLevel::Error, format!("internal error while drawing: {msg}"));
        }
        self.drain_commands();
        // CPU time of this frame (job polling, drawing, command handling).
        if let Some(start) = self.last_frame {
            let ms = start.elapsed().as_secs_f32() * 1000.0;
            if let Some((_, log)) = &mut self.frame_log {
                log.push(ms);
                if log.len() % 100 == 0 {
                    self.write_frame_stats();
                }
            }
            self.ui.frame_ms.push_back(ms);
            if self.ui.frame_ms.len() > 120 {
                self.ui.frame_ms.pop_front();
            }
        }
    }

    fn on_exit(&mut self) {
        self.write_frame_stats();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.ui.settings);
        eframe::set_value(storage, SESSION_KEY, self.wb.session());
    }
}
