//! The workbench window (eframe/egui). Draws the [`Workbench`](crate::session::Workbench)
//! and sends it commands; never loads files or runs models itself.

pub mod app;
pub mod context;
pub mod panels;
pub mod state;
pub mod theme;

pub use app::WorkbenchApp;

/// Opens the workbench window on the sample data (or the last session). Returns the
/// process exit code.
pub fn run_workbench() -> u8 {
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default().with_inner_size([1560.0, 960.0]).with_title("RecFuse"),
        ..Default::default()
    };
    match eframe::run_native("RecFuse", options, Box::new(|cc| Ok(Box::new(WorkbenchApp::new(cc))))) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot open the window: {e}");
            1
        }
    }
}
