//! Small drawing helpers shared by several panels.

use eframe::egui::{self, Color32, Sense, Stroke, Vec2};

use crate::score::SignalId;
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws a stacked horizontal bar: one segment per positive contribution (negative ones
/// are drawn left of the origin), scaled so that `max_total` fills `width`.
pub fn contribution_bar(ui: &mut egui::Ui, parts: &[(Color32, f32)], max_total: f32, width: f32) -> egui::Response {
    let height = 14.0;
    let (response, painter) = ui.allocate_painter(Vec2::new(width, height), Sense::hover());
    let rect = response.rect;
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let negative: f32 = parts.iter().map(|(_, v)| v.min(0.0)).sum::<f32>().abs();
    let span = (max_total + negative).max(1e-9);
    let scale = rect.width() / span;
    let origin = rect.left() + negative * scale;
    let mut x = origin;
    for &(color, v) in parts.iter().filter(|(_, v)| *v > 0.0) {
        let w = v * scale;
        painter.rect_filled(egui::Rect::from_min_size(egui::pos2(x, rect.top()), Vec2::new(w, height)), 0.0, color);
        x += w;
    }
    let mut x = origin;
    for &(color, v) in parts.iter().filter(|(_, v)| *v < 0.0) {
        let w = -v * scale;
        painter.rect_filled(egui::Rect::from_min_size(egui::pos2(x - w, rect.top()), Vec2::new(w, height)), 0.0, color);
        x -= w;
    }
    if negative > 0.0 {
        painter.line_segment(
            [egui::pos2(origin, rect.top()), egui::pos2(origin, rect.bottom())],
            Stroke::new(1.0, ui.visuals().text_color()),
        );
    }
    response
}

/// A coloured square followed by a label.
pub fn swatch(ui: &mut egui::Ui, color: Color32, label: &str) {
    ui.horizontal(|ui| {
        let (r, p) = ui.allocate_painter(Vec2::splat(10.0), Sense::hover());
        p.rect_filled(r.rect, 2.0, color);
        ui.label(label);
    });
}

/// The legend of signal colours.
pub fn signal_legend(ui: &mut egui::Ui, signals: &[SignalId]) {
    ui.horizontal_wrapped(|ui| {
        for &s in signals {
            let (r, p) = ui.allocate_painter(Vec2::splat(10.0), Sense::hover());
            p.rect_filled(r.rect, 2.0, theme::signal_color(s));
            ui.label(s.label());
            ui.add_space(6.0);
        }
        let (r, p) = ui.allocate_painter(Vec2::splat(10.0), Sense::hover());
        p.rect_filled(r.rect, 2.0, theme::RULE_COLOR);
        ui.label("rules");
    });
}

/// "↑3", "↓2", "new" or nothing.
pub fn rank_move(ui: &mut egui::Ui, moved: Option<i64>, had_previous: bool) {
    match moved {
        Some(d) if d > 0 => {
            ui.colored_label(theme::UP, format!("+{d}"));
        }
        Some(d) if d < 0 => {
            ui.colored_label(theme::DOWN, format!("-{}", -d));
        }
        Some(_) => {
            ui.label("·");
        }
        None if had_previous => {
            ui.colored_label(theme::UP, "new");
        }
        None => {
            ui.label("");
        }
    }
}

/// A small "PNG" button that exports the plot drawn under `name`.
pub fn png_button(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, name: &str) {
    if ui.small_button("Save PNG…").on_hover_text("Save this plot as a PNG image").clicked() {
        cx.commands.open_dialog(crate::ui::state::DialogPurpose::PlotPng(name.to_owned()));
    }
}
