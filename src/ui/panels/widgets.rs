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

/// A count as an axis tick reads at a glance in a narrow axis: plain numbers under 10,000
/// (".5" steps of a zoomed-in axis kept), then thousands ("12.5k", "800k") and millions ("1.25M"), without trailing zeros.
pub fn count_tick(v: f64) -> String {
    let trim = |s: String| s.trim_end_matches('0').trim_end_matches('.').to_owned();
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else {
        trim(format!("{v:.2}"))
    }
}

/// Grid steps for a count axis: the smallest 1, 2 or 5 × 10ᵏ at least four of the plot's
/// thinnest grid steps apart (about 32 points), so that every line gets its label, however tall
/// the bars.
pub fn count_steps(input: egui_plot::GridInput) -> [f64; 3] {
    let step = nice_step(input.base_step_size * 4.0);
    [step, step * 10.0, step * 100.0]
}

/// The smallest 1, 2 or 5 × 10ᵏ that is at least `at_least` (1 for a non-positive or
/// non-finite input).
pub fn nice_step(at_least: f64) -> f64 {
    if !(at_least.is_finite() && at_least > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(at_least.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= at_least * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::{count_tick, nice_step};

    #[test]
    fn nice_steps_are_one_two_or_five_times_a_power_of_ten() {
        let cases =
            [(0.7, 1.0), (1.0, 1.0), (1.2, 2.0), (3.0, 5.0), (7.5, 10.0), (32_000.0, 50_000.0), (160_000.0, 200_000.0)];
        for (at_least, step) in cases {
            assert!((nice_step(at_least) - step).abs() < 1e-9 * step, "{at_least}: {}", nice_step(at_least));
        }
        assert_eq!((nice_step(0.0), nice_step(f64::NAN)), (1.0, 1.0));
    }

    #[test]
    fn count_ticks_abbreviate_thousands_and_millions() {
        let cases = [
            (0.0, "0"),
            (5000.0, "5000"),
            (9999.0, "9999"),
            (2.5, "2.5"),
            (10_000.0, "10k"),
            (12_500.0, "12.5k"),
            (200_000.0, "200k"),
            (800_000.0, "800k"),
            (1_000_000.0, "1M"),
            (1_250_000.0, "1.25M"),
            (2_500_000.0, "2.5M"),
        ];
        for (v, text) in cases {
            assert_eq!(count_tick(v), text, "{v}");
        }
    }
}
