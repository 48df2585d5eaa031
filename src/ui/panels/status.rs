//! The status bar: device, model, data sizes, running jobs with progress and cancel.

use eframe::egui;

use crate::session::Command;
use crate::ui::context::PanelContext;

/// Draws the bottom status bar.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::Panel::bottom("status-bar").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            match cx.wb.model() {
                Some(m) => {
                    ui.label(format!("device: {}", m.device));
                    ui.separator();
                    ui.label(format!("model: {}", m.name));
                }
                None => {
                    ui.label("device: –");
                    ui.separator();
                    ui.label("model: –");
                }
            }
            ui.separator();
            match cx.wb.dataset() {
                Some(d) => {
                    ui.label(format!(
                        "{} items · {} shoppers · {} events",
                        d.report.items, d.report.users, d.report.events
                    ));
                }
                None => {
                    ui.label("no data loaded");
                }
            }
            if !cx.ui.frame_ms.is_empty() {
                let mut v: Vec<f32> = cx.ui.frame_ms.iter().copied().collect();
                v.sort_by(f32::total_cmp);
                let median = v.get(v.len() / 2).copied().unwrap_or(0.0);
                ui.separator();
                ui.label(format!("frame {median:.1} ms"))
                    .on_hover_text("median CPU time of the last 120 frames (logic + drawing + commands)");
            }
            for (name, p) in cx.wb.jobs().running() {
                ui.separator();
                let text = match (p.fraction(), p.eta_s()) {
                    (Some(_), Some(eta)) => format!("{name}: {} {}/{} · eta {eta:.0}s", p.stage, p.done, p.total),
                    _ => format!("{name}: {}", p.stage),
                };
                ui.add(egui::ProgressBar::new(p.fraction().unwrap_or(0.0)).desired_width(120.0).text(text));
                if ui.small_button("cancel").on_hover_text(format!("Cancel {name}")).clicked() {
                    cx.commands.push(Command::CancelJob(name.clone()));
                }
            }
        });
    });
}
