//! Notices (fallbacks, errors, confirmations) above the tabs, each dismissable.

use eframe::egui;

use crate::session::{Command, NoticeLevel};
use crate::ui::app::WorkbenchApp;
use crate::ui::theme;

/// Draws the notices.
pub fn show(ui: &mut egui::Ui, app: &mut WorkbenchApp) {
    let mut dismiss = None;
    for (i, n) in app.wb.notices.iter().enumerate().rev().take(4) {
        ui.horizontal(|ui| {
            let (icon, color) = match n.level {
                NoticeLevel::Info => ("Note:", ui.visuals().text_color()),
                NoticeLevel::Warning => ("Warning:", theme::WARNING),
                NoticeLevel::Error => ("Error:", theme::ERROR),
            };
            ui.colored_label(color, icon);
            ui.label(&n.text);
            if ui.small_button("dismiss").clicked() {
                dismiss = Some(i);
            }
        });
    }
    if app.wb.notices.len() > 4 {
        ui.label(format!("… {} older notices", app.wb.notices.len() - 4));
    }
    if let Some(i) = dismiss {
        app.commands.push(Command::DismissNotice(i));
    }
    if !app.wb.notices.is_empty() {
        ui.separator();
    }
}
