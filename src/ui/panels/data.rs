//! The Data tab: the validation report — counts, drop reasons with examples, notices,
//! the event-type histogram and activity over time.

use eframe::egui;
use egui_plot::{Bar, BarChart, Plot};

use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    if let Some(e) = cx.wb.data_error() {
        ui.colored_label(theme::ERROR, format!("Error: {e}"));
        ui.label("Fix the file or choose another one in the Data section on the left; the previous data stay unchanged on disk.");
        ui.separator();
    }
    let Some(ds) = cx.wb.dataset() else {
        if cx.wb.data_error().is_none() {
            ui.spinner();
        }
        return;
    };
    let r = &ds.report;
    egui::ScrollArea::vertical().id_salt(("data-scroll", cx.wb.data_generation())).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.strong(format!("{} items · {} shoppers · {} events", r.items, r.users, r.events));
            if let Some((a, b)) = r.time_span {
                ui.label(format!(
                    "· {} to {} ({:.0} days)",
                    crate::data::timestamp::format_date(a),
                    crate::data::timestamp::format_date(b),
                    (b - a) as f64 / 86_400.0
                ));
            }
        });
        for f in &r.files {
            ui.separator();
            ui.strong(format!("{} — {} ({})", f.table.id(), crate::data::format::short_name(&f.path), f.format));
            ui.label(format!("rows read {} · kept {} · dropped {}", f.rows_read, f.rows_kept, f.rows_dropped()));
            let mapping: Vec<String> = f.columns_used.iter().map(|(r, c)| format!("{r} = {c}")).collect();
            ui.small(format!("columns: {}", mapping.join(", ")));
            for n in &f.notices {
                ui.add(egui::Label::new(egui::RichText::new(format!("note: {n}")).color(theme::WARNING)).wrap());
            }
            for (kind, count) in &f.issues {
                let verb = if kind.drops_row() { "dropped" } else { "noted" };
                egui::CollapsingHeader::new(format!("{} {verb}: {}", count.count, kind.description()))
                    .id_salt((f.path.display().to_string(), kind.id()))
                    .show(ui, |ui| {
                        for e in &count.examples {
                            let column = e.column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default();
                            ui.monospace(format!("row {}{column}: {:?}", e.row, e.value));
                        }
                    });
            }
        }
        ui.separator();
        ui.columns(2, |cols| {
            let [left, right] = cols else { return };
            left.strong("Events by type");
            let bars: Vec<Bar> =
                r.event_types.iter().enumerate().map(|(i, (_, c))| Bar::new(i as f64, *c as f64).width(0.6)).collect();
            let names: Vec<String> = r.event_types.keys().cloned().collect();
            // Categories on x: no vertical grid lines (they would run through the bars).
            let resp = Plot::new("event-types")
                .height(200.0)
                .allow_scroll(false)
                .show_grid([false, true])
                .y_axis_label("events")
                .y_axis_min_width(48.0)
                .y_axis_formatter(|m, _| super::widgets::count_tick(m.value))
                .y_grid_spacer(egui_plot::uniform_grid_spacer(super::widgets::count_steps))
                .x_axis_formatter(move |m, _| {
                    names
                        .get(m.value.round() as usize)
                        .filter(|_| (m.value - m.value.round()).abs() < 1e-6)
                        .cloned()
                        .unwrap_or_default()
                })
                .show(left, |p| p.bar_chart(BarChart::new("events", bars).color(theme::ONLY_A)));
            cx.ui.plot_rects.insert("event-types".to_owned(), resp.response.rect);
            right.strong("Activity per month");
            let months: Vec<String> = r.events_per_month.keys().cloned().collect();
            let bars: Vec<Bar> = r
                .events_per_month
                .values()
                .enumerate()
                .map(|(i, c)| Bar::new(i as f64, *c as f64).width(0.8))
                .collect();
            let resp = Plot::new("activity")
                .height(200.0)
                .allow_scroll(false)
                .show_grid([false, true])
                .y_axis_label("events")
                .y_axis_min_width(48.0)
                .y_axis_formatter(|m, _| super::widgets::count_tick(m.value))
                .y_grid_spacer(egui_plot::uniform_grid_spacer(super::widgets::count_steps))
                .x_axis_formatter(move |m, _| {
                    months
                        .get(m.value.round() as usize)
                        .filter(|_| (m.value - m.value.round()).abs() < 1e-6)
                        .cloned()
                        .unwrap_or_default()
                })
                .show(right, |p| p.bar_chart(BarChart::new("events", bars).color(theme::ONLY_B)));
            cx.ui.plot_rects.insert("activity".to_owned(), resp.response.rect);
        });
        ui.horizontal(|ui| {
            super::widgets::png_button(ui, cx, "event-types");
            super::widgets::png_button(ui, cx, "activity");
        });
    });
}
