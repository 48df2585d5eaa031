//! Notices (fallbacks, errors, confirmations) above the tabs, each dismissable.

use eframe::egui;

use crate::session::{Command, NoticeLevel};
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws the notices.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let mut dismiss = None;
    for (i, n) in cx.wb.notices().iter().enumerate().rev().take(4) {
        ui.horizontal(|ui| {
            let (icon, color) = match n.level {
                NoticeLevel::Info => ("Note:", ui.visuals().text_color()),
                NoticeLevel::Warning => ("Warning:", theme::WARNING),
                NoticeLevel::Error => ("Error:", theme::ERROR),
            };
            // The button first: a long notice wraps instead of pushing it (and the
            // central panel) off to the right.
            if ui.small_button("dismiss").clicked() {
                dismiss = Some(i);
            }
            ui.colored_label(color, icon);
            ui.add(egui::Label::new(&n.text).wrap());
        });
    }
    if cx.wb.notices().len() > 4 {
        ui.label(format!("… {} older notices", cx.wb.notices().len() - 4));
    }
    if let Some(i) = dismiss {
        cx.commands.push(Command::DismissNotice(i));
    }
    if !cx.wb.notices().is_empty() {
        ui.separator();
    }
}
