//! Notices (fallbacks, errors, confirmations) above the tabs, each dismissable.

use eframe::egui;

use crate::session::{Command, NoticeLevel};
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// The most height the notices take above the tabs, however many and however long they
/// are (more scrolls; every notice is in the notices window).
pub const MAX_HEIGHT: f32 = 96.0;

/// Draws the notices. While presenting, only warnings and errors: notes about the data are
/// for the person setting up, not for the audience (the notices window keeps every one).
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let mut dismiss = None;
    let any_shown = cx.wb.notices().iter().any(|n| is_shown(n.level, cx.ui.presenting));
    if any_shown {
        egui::ScrollArea::vertical()
            .id_salt("notices")
            .max_height(MAX_HEIGHT)
            .auto_shrink([false, true])
            .show(ui, |ui| shown(ui, cx, &mut dismiss));
    }
    let older = cx.wb.notices().len().saturating_sub(4);
    let earlier = cx.wb.notice_history().len();
    if older + earlier > 0 && !cx.ui.presenting {
        let text = match (older, earlier) {
            (0, e) => format!("Notices… ({e} earlier)"),
            (o, 0) => format!("… {o} older notices"),
            (o, e) => format!("… {o} older notices ({e} earlier)"),
        };
        if ui
            .small_button(text)
            .on_hover_text("Every notice, and those dismissed or about data since replaced")
            .clicked()
        {
            cx.ui.notices_window = true;
        }
    }
    notices_window(ui.ctx(), cx);
    if let Some(i) = dismiss {
        cx.commands.push(Command::DismissNotice(i));
    }
    if any_shown {
        ui.separator();
    }
}

/// Whether a notice of `level` is shown above the tabs (`presenting`: warnings and errors only).
fn is_shown(level: NoticeLevel, presenting: bool) -> bool {
    !presenting || level != NoticeLevel::Info
}

/// The notices window: the shown notices, then the history (newest first).
fn notices_window(ctx: &egui::Context, cx: &mut PanelContext<'_>) {
    let mut open = cx.ui.notices_window;
    egui::Window::new("Notices").open(&mut open).default_width(560.0).show(ctx, |ui| {
        egui::ScrollArea::vertical().max_height(420.0).show(ui, |ui| {
            ui.strong("Shown");
            for n in cx.wb.notices().iter().rev() {
                ui.add(egui::Label::new(format!("{:?}: {}", n.level, n.text)).wrap());
            }
            ui.separator();
            ui.strong("Earlier (dismissed, or about data since replaced)");
            for n in cx.wb.notice_history().iter().rev() {
                ui.add(egui::Label::new(format!("{:?}: {}", n.level, n.text)).wrap());
            }
        });
    });
    cx.ui.notices_window = open;
}

/// The newest four notices shown, each with its dismiss button first.
fn shown(ui: &mut egui::Ui, cx: &PanelContext<'_>, dismiss: &mut Option<usize>) {
    let presenting = cx.ui.presenting;
    for (i, n) in cx.wb.notices().iter().enumerate().rev().filter(|(_, n)| is_shown(n.level, presenting)).take(4) {
        ui.horizontal(|ui| {
            let (icon, color) = match n.level {
                NoticeLevel::Info => ("Note:", ui.visuals().text_color()),
                NoticeLevel::Warning => ("Warning:", theme::WARNING),
                NoticeLevel::Error => ("Error:", theme::ERROR),
            };
            // The button first: a long notice wraps instead of pushing it (and the
            // central panel) off to the right.
            if ui.small_button("dismiss").clicked() {
                *dismiss = Some(i);
            }
            ui.colored_label(color, icon);
            ui.add(egui::Label::new(&n.text).wrap());
        });
    }
}
