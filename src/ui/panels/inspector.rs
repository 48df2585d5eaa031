//! The right panel: the selected item's details, image, a waterfall of contributions,
//! leave-one-out rank changes, nearest items by embedding, evidence and rule buttons.

use eframe::egui;
use egui_plot::{Bar, BarChart, Plot};

use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws the inspector.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::Panel::right("inspector").resizable(true).default_size(320.0).min_size(240.0).show(ui, |ui| {
        egui::ScrollArea::vertical().id_salt(("inspector-scroll", cx.wb.data_generation())).show(ui, |ui| {
            ui.heading("Inspector");
            let Some(engine) = cx.wb.engine() else {
                ui.label("Loading…");
                return;
            };
            let cat = engine.catalogue();
            let Some(item) = cx.wb.session().selection.item.as_ref().and_then(|id| cat.ids.get(id)) else {
                ui.label("Select an item in a list or on the map.");
                return;
            };
            let i = item as usize;
            ui.strong(cat.title(item));
            egui::Grid::new("item-details").num_columns(2).show(ui, |ui| {
                ui.label("id");
                ui.label(cat.ids.name(item));
                ui.end_row();
                for (label, value) in [
                    ("category", cat.categories.get(i).cloned().unwrap_or_default()),
                    ("brand", cat.brands.get(i).cloned().unwrap_or_default()),
                    ("price", cat.price(item).map(|p| format!("{p:.2}")).unwrap_or_default()),
                ] {
                    if !value.is_empty() {
                        ui.label(label);
                        ui.label(value);
                        ui.end_row();
                    }
                }
                let buyers = engine.interactions.by_item.row(i).0.len();
                ui.label("shoppers");
                ui.label(buyers.to_string());
                ui.end_row();
                let live = cx.wb.live();
                if live.is_on() {
                    ui.label("live");
                    ui.label(format!("+{} events since live started", live.stats().item_events(item)));
                    ui.end_row();
                }
            });
            if let Some(d) = cat.descriptions.get(i).filter(|d| !d.is_empty()) {
                ui.label(crate::data::report::shorten(d, 400));
            }
            image(ui, cat.images.get(i).map(String::as_str).unwrap_or(""));
            ui.separator();
            let entry = cx.wb.list().iter().find(|e| e.ranked.item == item).cloned();
            match entry {
                Some(e) => {
                    ui.strong(format!("Rank #{} · score {:.4}", e.position, e.ranked.score));
                    waterfall(ui, cx, &e);
                    ui.label("Why:");
                    for ev in &e.evidence {
                        ui.label(format!("• {ev}"));
                    }
                    ui.label("Without each signal:");
                    egui::Grid::new("loo-grid").num_columns(2).show(ui, |ui| {
                        for (s, d) in &e.rank_change_without {
                            ui.colored_label(theme::signal_color(*s), s.label());
                            match d {
                                Some(0) => ui.label("no change"),
                                Some(d) if *d > 0 => ui.colored_label(
                                    theme::DOWN,
                                    format!("drops {d} place{}", if *d == 1 { "" } else { "s" }),
                                ),
                                Some(d) => ui.colored_label(
                                    theme::UP,
                                    format!("rises {} place{}", -d, if *d == -1 { "" } else { "s" }),
                                ),
                                None => ui.label("leaves the list"),
                            };
                            ui.end_row();
                        }
                    });
                }
                None => {
                    ui.label("Not in the current list.");
                }
            }
            ui.separator();
            ui.label("Merchandising:");
            let id = cat.ids.name(item).to_owned();
            super::rules::item_rule_buttons(ui, cx, &id);
            ui.separator();
            nearest(ui, cx, item);
        });
    });
}

fn image(ui: &mut egui::Ui, source: &str) {
    let source = source.trim();
    if source.is_empty() {
        return;
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        ui.group(|ui| {
            ui.label("[remote image, not fetched]");
            ui.small(crate::data::report::shorten(source, 60));
        });
        return;
    }
    let path = std::path::Path::new(source);
    if path.exists() {
        let uri = format!("file://{}", crate::data::format::absolute(path).display());
        ui.add(egui::Image::new(uri).max_height(180.0).max_width(280.0));
    } else {
        ui.small(format!("image not found: {source}"));
    }
}

/// What the waterfall's horizontal axis shows.
pub const WATERFALL_AXIS: &str = "Bars: each signal's and rule's contribution to the score";

/// The contributions as a horizontal waterfall: one labelled row per signal and rule,
/// each bar starting where the one above ended, and the score as the last row.
fn waterfall(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, e: &crate::session::ExplainedItem) {
    let mut bars = Vec::new();
    let mut names = Vec::new();
    let mut base = 0.0f64;
    let push = |bars: &mut Vec<Bar>, names: &mut Vec<String>, name: String, v: f64, from: f64, fill| {
        // Row i sits at y = −i, so the first contribution is at the top.
        let y = -(names.len() as f64);
        bars.push(Bar::new(y, v).base_offset(from).width(0.7).fill(fill).name(name.clone()));
        names.push(name);
    };
    for (s, v) in e.contributions.iter().filter(|(_, v)| v.abs() > 1e-9) {
        let v = f64::from(*v);
        push(&mut bars, &mut names, s.label().to_owned(), v, base, theme::signal_color(*s));
        base += v;
    }
    for r in &e.ranked.rule_effects {
        let v = f64::from(r.delta);
        push(&mut bars, &mut names, format!("rule {}", r.rule), v, base, theme::RULE_COLOR);
        base += v;
    }
    push(&mut bars, &mut names, "score".to_owned(), f64::from(e.ranked.score), 0.0, theme::MUTED);
    let rows = names.len();
    let labels = names.clone();
    // Row labels in the normal text colour: the rows are 22 px apart, closer than the
    // plot's default label spacing, which would fade them.
    let y_axis = egui_plot::AxisHints::new_y()
        .min_thickness(96.0)
        .label_spacing(8.0..=16.0)
        .tick_label_color(ui.visuals().text_color())
        .formatter(move |mark, _| {
            let row = (-mark.value).round();
            labels
                .get(row as usize)
                .filter(|_| row >= 0.0 && (mark.value + row).abs() < 1e-6)
                .map(|n| crate::data::report::shorten(n, 14))
                .unwrap_or_default()
        });
    let response = Plot::new("waterfall")
        .height(28.0 + 22.0 * rows as f32)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .show_grid([true, false])
        .custom_y_axes(vec![y_axis])
        // A mark on every row, so that every bar is labelled.
        .y_grid_spacer(move |_| (0..rows).map(|i| egui_plot::GridMark { value: -(i as f64), step_size: 1.0 }).collect())
        .show(ui, |plot| plot.bar_chart(BarChart::new("contributions", bars).horizontal()));
    cx.ui.plot_rects.insert("waterfall".to_owned(), response.response.rect);
    // The axis label as a wrapping line of its own: under the plot it was cut at the
    // panel's right edge.
    ui.add(egui::Label::new(WATERFALL_AXIS).wrap());
    super::widgets::png_button(ui, cx, "waterfall");
}

fn nearest(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, item: u32) {
    let Some(vectors) = cx.wb.vectors() else {
        ui.label("Nearest items appear once embeddings are computed.");
        return;
    };
    let id = egui::Id::unique(("nearest", item, vectors.len()));
    let cached: Option<Vec<(u32, f32)>> = ui.data(|d| d.get_temp(id));
    let neighbours = cached.unwrap_or_else(|| {
        let pairs: Vec<(u32, f32)> = (0..vectors.len() as u32)
            .filter(|&j| j != item)
            .filter_map(|j| vectors.cosine(item, j).map(|s| (j, s)))
            .collect();
        let top = crate::score::topk::top_k_pairs(pairs, 6);
        ui.data_mut(|d| d.insert_temp(id, top.clone()));
        top
    });
    ui.label("Nearest by embedding:");
    let Some(engine) = cx.wb.engine() else { return };
    for (j, s) in neighbours {
        ui.horizontal(|ui| {
            ui.label(format!("{s:.2}"));
            if ui.link(crate::data::report::shorten(engine.catalogue().title(j), 36)).clicked() {
                cx.commands.push(Command::SelectItem(Some(j)));
            }
        });
    }
}
