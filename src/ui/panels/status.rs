//! The status bar: device, model, data sizes, running jobs with progress and cancel (all
//! but live mode's follow job, which the live strip shows).

use eframe::egui;

use crate::session::Command;
use crate::session::workbench::job;
use crate::ui::context::PanelContext;

/// Draws the bottom status bar.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::Panel::bottom("status-bar").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            match cx.wb.model() {
                Some(m) => {
                    ui.label(format!("device: {}", m.device));
                    ui.separator();
                    match m.precision {
                        crate::embed::EmbedPrecision::F32 => ui.label(format!("model: {}", m.name)),
                        other => ui.label(format!("model: {} ({other})", m.name)),
                    };
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
            // Following the behaviour file never ends: the live strip shows it and switches it off.
            for (name, p) in cx.wb.jobs().running().into_iter().filter(|(name, _)| name != job::LIVE) {
                ui.separator();
                // The bar shows the fraction; the words beside it are never cut by the bar's width.
                let text = match (p.fraction(), p.eta_s()) {
                    (Some(_), Some(eta)) => {
                        format!("{name}: {} {}/{} · about {} left", p.stage, p.done, p.total, readable_eta(eta))
                    }
                    _ => format!("{name}: {}", p.stage),
                };
                ui.add(egui::ProgressBar::new(p.fraction().unwrap_or(0.0)).desired_width(70.0).show_percentage());
                ui.label(text);
                if ui.small_button("cancel").on_hover_text(format!("Cancel {name}")).clicked() {
                    cx.commands.push(Command::CancelJob(name.clone()));
                }
            }
        });
    });
}

/// A remaining time as people say it: "8 s", "3 min 05 s", "1 h 04 min".
pub(crate) fn readable_eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3_600, (s % 3_600) / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn remaining_times_read_as_people_say_them() {
        assert_eq!(super::readable_eta(7.6), "8 s");
        assert_eq!(super::readable_eta(185.0), "3 min 05 s");
        assert_eq!(super::readable_eta(3_840.0), "1 h 04 min");
        assert_eq!(super::readable_eta(-2.0), "0 s");
    }
}
