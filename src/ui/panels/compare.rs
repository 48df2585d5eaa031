//! The Compare tab: configuration A (current) vs B (a snapshot, the defaults, the tuned
//! weights or the learned ranker), or two shoppers, or two queries — side by side with rank-shift lines,
//! overlap figures, and (after an evaluation) the comparison across all users.

use eframe::egui::{self, Sense, Stroke, Vec2};
use egui_plot::{Bar, BarChart, Plot};

use crate::eval::overlap::{jaccard_at_k, kendall_tau_shared, rbo_ext};
use crate::session::{BSource, Command, CompareMode, Mode};
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws the tab. B's list is computed by the workbench once per change; this only draws
/// it and the overlap of two ten-item lists.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let wb = cx.wb;
    if wb.engine().is_none() {
        ui.label("Loading…");
        return;
    }
    let compare = wb.compare();
    ui.horizontal(|ui| {
        let mut mode = compare.mode();
        ui.selectable_value(&mut mode, CompareMode::Configurations, "Two configurations");
        ui.selectable_value(&mut mode, CompareMode::Shoppers, "Two shoppers");
        ui.selectable_value(&mut mode, CompareMode::Queries, "Two queries");
        if mode != compare.mode() {
            cx.commands.push(Command::SetCompareMode(mode));
        }
        ui.separator();
        ui.add(egui::Slider::new(&mut cx.ui.compare.rbo_p, 0.5..=0.99).text("RBO p"));
    });
    let k = wb.session().selection.k;
    let list_a: Vec<u32> = wb.list().iter().map(|e| e.ranked.item).collect();
    let list_b = compare.list_b();
    let Some((label_a, label_b)) = labels(ui, cx) else { return };
    let p = cx.ui.compare.rbo_p;
    ui.horizontal(|ui| {
        let f = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.3}"));
        ui.strong(format!("Jaccard@{k}: {}", f(jaccard_at_k(&list_a, list_b, k))));
        ui.separator();
        ui.strong(format!("RBO (p={p:.2}): {}", f(rbo_ext(&list_a, list_b, p, k))));
        ui.separator();
        ui.strong(format!("Kendall τ (shared items): {}", f(kendall_tau_shared(&list_a, list_b, k))));
    });
    rank_shift(ui, cx, &label_a, &label_b, &list_a, list_b);
    ui.separator();
    if compare.mode() == CompareMode::Configurations {
        across_users(ui, cx);
    }
}

/// The controls that define B, and the labels of both sides (None while B is undefined:
/// a hint is shown instead).
fn labels(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) -> Option<(String, String)> {
    let wb = cx.wb;
    let compare = wb.compare();
    match compare.mode() {
        CompareMode::Configurations => {
            ui.horizontal(|ui| {
                ui.label("A = current settings;  B =");
                let mut source = compare.source();
                ui.selectable_value(&mut source, BSource::Snapshot, "snapshot");
                ui.selectable_value(&mut source, BSource::Default, "default preset");
                ui.selectable_value(&mut source, BSource::Tuned, "tuned weights");
                let ranker = wb.engine().is_some_and(|e| e.ranker.is_some());
                ui.add_enabled_ui(ranker, |ui| {
                    ui.selectable_value(&mut source, BSource::Learned, "learned ranker").on_disabled_hover_text(
                        "Train a ranker in the Evaluate tab (or load a session that has one) to compare with it",
                    );
                });
                if source != compare.source() {
                    cx.commands.push(Command::SetCompareSource(source));
                }
                if ui
                    .button("Set B = current")
                    .on_hover_text("Snapshot the current settings as B, then move sliders to change A")
                    .clicked()
                {
                    cx.commands.push(Command::SnapshotCompareB);
                }
            });
            if wb.config_b().is_none() {
                ui.label("Press “Set B = current” (or choose default/tuned/learned) to define B.");
                return None;
            }
            if wb.target().is_none() {
                ui.label("Pick a shopper first.");
                return None;
            }
            Some(("A: current settings".to_owned(), format!("B: {}", compare.source().label())))
        }
        CompareMode::Shoppers => {
            ui.horizontal(|ui| {
                ui.label("Shopper B:");
                // Unless being typed in, the field shows B as displayed (a pseudonym with privacy on).
                if !cx.ui.compare.shopper_b_editing {
                    let b = compare.shopper_b().trim();
                    cx.ui.compare.shopper_b_draft = if b.is_empty() { String::new() } else { wb.display_user(b) };
                }
                let r = ui.add(
                    egui::TextEdit::singleline(&mut cx.ui.compare.shopper_b_draft)
                        .id_salt("shopper-b-field")
                        .desired_width(120.0)
                        .hint_text("shopper id"),
                );
                let r = r.on_hover_text("Type an id (or part of one) and press Enter");
                cx.ui.compare.shopper_b_editing = r.has_focus();
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    let typed = cx.ui.compare.shopper_b_draft.trim().to_owned();
                    if !typed.is_empty() && typed != wb.display_user(compare.shopper_b().trim()) {
                        // An id of no loaded shopper is kept as typed: B gets cold-start recommendations.
                        cx.commands.push(Command::SetShopperB(wb.resolve_shopper(&typed).unwrap_or(typed)));
                    }
                }
                if ui.button("Heaviest").on_hover_text("The shopper with the most events").clicked()
                    && let Some(s) = wb.heaviest_shopper()
                {
                    cx.commands.push(Command::SetShopperB(s));
                }
            });
            let b = compare.shopper_b().trim();
            if b.is_empty() {
                ui.label("Type shopper B's id.");
                return None;
            }
            let a = wb.session().selection.shopper.clone().unwrap_or_default();
            Some((format!("A: {}", wb.shopper_label(&a)), format!("B: {}", wb.shopper_label(b))))
        }
        CompareMode::Queries => {
            ui.horizontal(|ui| {
                ui.label("Query B:");
                let mut b = compare.query_b().to_owned();
                let r = ui.add(egui::TextEdit::singleline(&mut b).desired_width(200.0).hint_text("second query"));
                if r.changed() {
                    cx.commands.push(Command::SetQueryB(b));
                }
            });
            let b = compare.query_b().trim();
            if b.is_empty() || wb.session().selection.mode != Mode::Search {
                ui.label("Run a search in the Recommendations tab (query A), then type query B.");
                return None;
            }
            Some((format!("A: “{}”", wb.session().selection.query), format!("B: “{b}”")))
        }
    }
}

/// What each compared item is called: its title, and where another item of the two lists has
/// the same title, its id too, so that two products called alike never look like one that
/// moved or one that is only on one side.
pub fn display_names(
    titles: impl Fn(u32) -> String,
    ids: impl Fn(u32) -> String,
    a: &[u32],
    b: &[u32],
) -> Vec<(u32, String)> {
    let mut items: Vec<u32> = Vec::new();
    for &i in a.iter().chain(b) {
        if !items.contains(&i) {
            items.push(i);
        }
    }
    let short: Vec<String> = items.iter().map(|&i| crate::data::report::shorten(&titles(i), 38)).collect();
    items
        .iter()
        .zip(&short)
        .map(|(&i, t)| {
            if short.iter().filter(|u| *u == t).count() > 1 {
                (i, format!("{} [{}]", crate::data::report::shorten(&titles(i), 28), ids(i)))
            } else {
                (i, t.clone())
            }
        })
        .collect()
}

fn rank_shift(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, label_a: &str, label_b: &str, a: &[u32], b: &[u32]) {
    let Some(engine) = cx.wb.engine() else { return };
    let cat = engine.catalogue();
    let names = display_names(|i| cat.title(i).to_owned(), |i| cat.ids.name(i).to_owned(), a, b);
    let name_of = |item: u32| names.iter().find(|(i, _)| *i == item).map(|(_, n)| n.as_str()).unwrap_or_default();
    let rows = a.len().max(b.len()).max(1);
    let row_h = 22.0;
    let width = ui.available_width().min(900.0);
    let col_w = (width - 140.0) / 2.0;
    let (response, painter) = ui.allocate_painter(Vec2::new(width, row_h * (rows as f32 + 1.0)), Sense::hover());
    let rect = response.rect;
    // The painted headings, for screen readers (and tests) too.
    let heading = format!("{label_a} | {label_b}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, heading.clone()));
    let text_color = ui.visuals().text_color();
    let font = egui::FontId::proportional(13.0);
    painter.text(rect.left_top(), egui::Align2::LEFT_TOP, label_a, egui::FontId::proportional(14.0), text_color);
    painter.text(
        egui::pos2(rect.right() - col_w, rect.top()),
        egui::Align2::LEFT_TOP,
        label_b,
        egui::FontId::proportional(14.0),
        text_color,
    );
    let y = |i: usize| rect.top() + row_h * (i as f32 + 1.5);
    let mut clicked = None;
    // Each row is painted, then made a clickable widget that says (to screen readers too)
    // what its colour says: whether the item is in one list only. Items are told apart by id.
    let mut row = |side: &str, i: usize, item: u32, x: f32, only: Option<egui::Color32>| {
        let text = format!("{:>2}. {}", i + 1, name_of(item));
        let color = only.unwrap_or(text_color);
        let r = painter.text(egui::pos2(x, y(i)), egui::Align2::LEFT_CENTER, &text, font.clone(), color);
        let label = if only.is_some() { format!("{side} {text} (only in {side})") } else { format!("{side} {text}") };
        let hit = ui.interact(r.expand(2.0), response.id.with((side, i)), Sense::click());
        hit.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, label.clone()));
        if hit.clicked() {
            clicked = Some(item);
        }
    };
    for (i, &item) in a.iter().enumerate() {
        row("A", i, item, rect.left(), (!b.contains(&item)).then_some(theme::ONLY_A));
    }
    for (j, &item) in b.iter().enumerate() {
        row("B", j, item, rect.right() - col_w, (!a.contains(&item)).then_some(theme::ONLY_B));
    }
    for (i, &item) in a.iter().enumerate() {
        if let Some(j) = b.iter().position(|&x| x == item) {
            let moved = j as i64 - i as i64;
            let line_color = match moved {
                0 => theme::MUTED,
                d if d < 0 => theme::UP,
                _ => theme::DOWN,
            };
            painter.line_segment(
                [egui::pos2(rect.left() + col_w + 10.0, y(i)), egui::pos2(rect.right() - col_w - 10.0, y(j))],
                Stroke::new(1.5, line_color),
            );
        }
    }
    ui.horizontal(|ui| {
        super::widgets::swatch(ui, theme::ONLY_A, "only in A");
        super::widgets::swatch(ui, theme::ONLY_B, "only in B");
        super::widgets::swatch(ui, theme::UP, "higher in B");
        super::widgets::swatch(ui, theme::DOWN, "lower in B");
    });
    if let Some(item) = clicked {
        cx.commands.push(crate::session::Command::SelectItem(Some(item)));
    }
}

fn across_users(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let wb = cx.wb;
    ui.strong("Across all evaluated users");
    let ready = wb.evaluation().outcome().is_some();
    let running = wb.is_running(crate::session::workbench::job::COMPARE);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(ready && wb.config_b().is_some(), egui::Button::new("Compare A and B across users"))
            .on_disabled_hover_text("Run an evaluation (Evaluate tab) and define B first")
            .clicked()
        {
            cx.commands.push(Command::CompareAcrossUsers { rbo_p: cx.ui.compare.rbo_p });
        }
        if running {
            ui.spinner();
        } else if !ready {
            ui.label("(needs an evaluation: Evaluate tab, Run evaluation)");
        }
    });
    let Some(result) = wb.compare().across() else { return };
    egui::Grid::new("deltas").striped(true).num_columns(6).show(ui, |ui| {
        for h in ["metric", "A", "B", "B - A", "95 % interval", "p (sign-flip)"] {
            ui.strong(h);
        }
        ui.end_row();
        for (key, c) in &result.deltas {
            ui.label(key);
            ui.label(format!("{:.4}", c.mean_a));
            ui.label(format!("{:.4}", c.mean_b));
            let color = if c.delta.ci.0 > 0.0 {
                theme::UP
            } else if c.delta.ci.1 < 0.0 {
                theme::DOWN
            } else {
                ui.visuals().text_color()
            };
            ui.colored_label(color, format!("{:+.4}", c.delta.value));
            ui.label(format!("[{:+.4}, {:+.4}]", c.delta.ci.0, c.delta.ci.1));
            ui.label(format!("{:.4}", c.p_value));
            ui.end_row();
        }
    });
    ui.label(format!("{} users; overlap of their top-{} lists:", result.users, result.k));
    ui.horizontal(|ui| {
        for (name, d) in [("Jaccard", &result.jaccard), ("RBO", &result.rbo), ("Kendall τ", &result.kendall_tau)] {
            let Some(d) = d else { continue };
            ui.vertical(|ui| {
                ui.label(format!("{name}: mean {:.3}, median {:.3}", d.mean, d.median));
                let bars: Vec<Bar> = d
                    .histogram
                    .iter()
                    .map(|b| Bar::new((b.lo + b.hi) / 2.0, b.count as f64).width((b.hi - b.lo).max(0.01) * 0.9))
                    .collect();
                let plot_name = format!("overlap-{name}");
                let r = Plot::new(plot_name.clone())
                    .height(140.0)
                    .width(240.0)
                    .allow_scroll(false)
                    .show(ui, |plot| plot.bar_chart(BarChart::new(name, bars).color(theme::ONLY_A)));
                cx.ui.plot_rects.insert(plot_name.clone(), r.response.rect);
                super::widgets::png_button(ui, cx, &plot_name);
            });
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn alike_titles_are_told_apart_by_id_and_others_keep_their_title() {
        // Items 1 and 3 share a title; 2 is alone; 1 is in both lists.
        let title = |i: u32| if i == 2 { "BANANAS".to_owned() } else { "FLUID MILK WHITE ONLY".to_owned() };
        let id = |i: u32| format!("P{i}");
        let names = super::display_names(title, id, &[1, 2], &[3, 1]);
        assert_eq!(
            names,
            vec![
                (1, "FLUID MILK WHITE ONLY [P1]".to_owned()),
                (2, "BANANAS".to_owned()),
                (3, "FLUID MILK WHITE ONLY [P3]".to_owned())
            ]
        );
    }
}
