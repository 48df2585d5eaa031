//! The Recommendations tab: pick a shopper (or type a query), see their history and the
//! ranked list with a stacked contribution bar per item.

use eframe::egui;
use egui_plot::{Plot, PlotPoints, Points};

use crate::score::SignalId;
use crate::session::{Command, Mode};
use crate::ui::context::PanelContext;
use crate::ui::theme;

use super::widgets;

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    if cx.wb.engine().is_none() {
        ui.spinner();
        ui.label(if cx.wb.data_error().is_some() {
            "The data could not be loaded: see the Data tab."
        } else {
            "Loading data and fitting signals…"
        });
        return;
    }
    target_picker(ui, cx);
    ui.separator();
    egui::ScrollArea::vertical().id_salt(("recommend-scroll", cx.wb.data_generation())).show(ui, |ui| {
        if cx.wb.session().selection.mode == Mode::Recommend {
            history(ui, cx);
            ui.separator();
        }
        ranked_list(ui, cx);
    });
}

fn target_picker(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    ui.horizontal_wrapped(|ui| {
        let mode = cx.wb.session().selection.mode;
        if ui.selectable_label(mode == Mode::Recommend, "Shopper").clicked() && mode != Mode::Recommend {
            cx.commands.push(Command::SetMode(Mode::Recommend));
        }
        if ui.selectable_label(mode == Mode::Search, "Search").clicked() && mode != Mode::Search {
            cx.commands.push(Command::SetMode(Mode::Search));
        }
        ui.separator();
        match mode {
            Mode::Recommend => shopper_picker(ui, cx),
            Mode::Search => {
                if cx.ui.query_draft.is_empty() && !cx.wb.session().selection.query.is_empty() {
                    cx.ui.query_draft = cx.wb.session().selection.query.clone();
                }
                let r = ui.add(
                    egui::TextEdit::singleline(&mut cx.ui.query_draft)
                        .hint_text("search query, e.g. red heart candle")
                        .desired_width(280.0),
                );
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if enter || ui.button("Search").clicked() {
                    cx.commands.push(Command::SetQuery(cx.ui.query_draft.clone()));
                }
            }
        }
    });
}

fn shopper_picker(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let Some(engine) = cx.wb.engine() else { return };
    let users = &engine.dataset.behaviour.users;
    let current = cx.wb.session().selection.shopper.clone().unwrap_or_default();
    ui.label("Shopper:");
    let typed = ui.add(
        egui::TextEdit::singleline(&mut cx.ui.shopper_filter)
            .hint_text("search id")
            .desired_width(110.0)
            .id_salt("shopper-filter"),
    );
    // Enter applies: the shopper with exactly this (displayed) id, or the only one containing it.
    if typed.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        match cx.wb.resolve_shopper(&cx.ui.shopper_filter) {
            Some(s) => {
                cx.commands.push(Command::SelectShopper(s));
                cx.ui.shopper_filter.clear();
            }
            None => cx.ui.shopper_filter_miss = true,
        }
    }
    if typed.changed() {
        cx.ui.shopper_filter_miss = false;
    }
    let filter = cx.ui.shopper_filter.trim().to_lowercase();
    let shopper_combo = egui::ComboBox::from_id_salt("shopper-combo")
        .selected_text(cx.wb.display_user(&current))
        .height(300.0)
        .show_ui(ui, |ui| {
            let mut shown = 0;
            for (u, name) in users.names().iter().enumerate() {
                if engine.interactions.history.get(u).is_none_or(|h| h.is_empty()) {
                    continue;
                }
                let label = cx.wb.display_user(name);
                if !filter.is_empty() && !label.to_lowercase().contains(&filter) {
                    continue;
                }
                if ui.selectable_label(*name == current, label).clicked() {
                    cx.commands.push(Command::SelectShopper(name.clone()));
                }
                shown += 1;
                if shown >= 300 {
                    ui.label("… type to narrow down");
                    break;
                }
            }
        });
    shopper_combo.response.accessible_name("Shopper");
    if ui.button("Random").clicked() {
        let active: Vec<&String> = users
            .names()
            .iter()
            .enumerate()
            .filter(|(u, _)| engine.interactions.history.get(*u).is_some_and(|h| !h.is_empty()))
            .map(|(_, n)| n)
            .collect();
        if !active.is_empty() {
            let pick = fastrand::usize(..active.len());
            if let Some(n) = active.get(pick) {
                cx.commands.push(Command::SelectShopper((*n).clone()));
            }
        }
    }
    if cx.ui.shopper_filter_miss {
        ui.colored_label(theme::WARNING, "no single shopper matches: pick one from the list");
    }
    if ui.button("Heaviest").on_hover_text("The shopper with the most events").clicked()
        && let Some(s) = cx.wb.heaviest_shopper()
    {
        cx.commands.push(Command::SelectShopper(s));
    }
    super::present::add_button(ui, cx);
    if ui.button("Cold").on_hover_text("A shopper with at most 2 events").clicked() {
        let cold = cx.wb.cold_shoppers(2);
        if !cold.is_empty() {
            let pick = fastrand::usize(..cold.len());
            if let Some(s) = cold.get(pick) {
                cx.commands.push(Command::SelectShopper(s.clone()));
            }
        }
    }
    segment_picker(ui, cx);
}

/// A random shopper from a segment: one whose segment in a dimension (a users-table column,
/// or the value on most of their events) is the chosen value, as segment-scoped rules have it.
fn segment_picker(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let Some(engine) = cx.wb.engine() else { return };
    let segments = engine.segments();
    let Some(first) = segments.dimensions.first() else { return };
    let title =
        if segments.dimensions.len() == 1 { format!("from {}…", first.name) } else { "from segment…".to_owned() };
    let segment_combo = egui::ComboBox::from_id_salt("segment-combo").selected_text(title).show_ui(ui, |ui| {
        for dimension in &segments.dimensions {
            if segments.dimensions.len() > 1 {
                ui.weak(&dimension.name);
            }
            for (code, value) in dimension.values.names().iter().enumerate() {
                if ui.selectable_label(false, value).clicked() {
                    let members = dimension.members(code as u32);
                    if let Some(&pick) = members.get(fastrand::usize(..members.len().max(1))) {
                        cx.commands.push(Command::SelectShopper(engine.dataset.behaviour.users.name(pick).to_owned()));
                    }
                }
            }
        }
    });
    segment_combo.response.accessible_name("Shopper from segment");
}

fn history(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let (Some(engine), Some(target)) = (cx.wb.engine(), cx.wb.target()) else { return };
    let profile = &target.profile;
    let cat = engine.catalogue();
    ui.horizontal(|ui| {
        ui.strong("History");
        ui.label(history_summary(profile.events.len(), profile.items.len(), target.known));
    });
    if profile.events.is_empty() {
        return;
    }
    // One point per order (events sharing a timestamp): x = day, y = items in the order;
    // cancellations below zero.
    let t0 = profile.events.first().map(|e| e.time).unwrap_or(0);
    let mut orders: Vec<(i64, f64, Vec<u32>)> = Vec::new();
    for e in &profile.events {
        let sign = if e.weight < 0.0 { -1.0 } else { 1.0 };
        match orders.last_mut() {
            Some((t, n, items)) if *t == e.time && (*n >= 0.0) == (sign > 0.0) => {
                *n += sign;
                items.push(e.item);
            }
            _ => orders.push((e.time, sign, vec![e.item])),
        }
    }
    if let [(t, _, items)] = orders.as_slice() {
        // A single order is a date and its items, not a plot with one dot.
        let names: Vec<String> =
            items.iter().take(6).map(|&i| crate::data::report::shorten(cat.title(i), 30)).collect();
        ui.label(format!("One order, on {}: {}", crate::data::timestamp::format_date(*t), names.join(", ")));
        recent_links(ui, cx, profile);
        return;
    }
    let points: Vec<[f64; 2]> = orders.iter().map(|(t, n, _)| [(t - t0) as f64 / 86_400.0, *n]).collect();
    let labels: Vec<(f64, f64, String)> = orders
        .iter()
        .map(|(t, n, items)| {
            let names: Vec<String> =
                items.iter().take(4).map(|&i| crate::data::report::shorten(cat.title(i), 30)).collect();
            let more = if items.len() > 4 { format!("\n… +{} more", items.len() - 4) } else { String::new() };
            (
                (t - t0) as f64 / 86_400.0,
                *n,
                format!("{}\n{}{more}", crate::data::timestamp::format_date(*t), names.join("\n")),
            )
        })
        .collect();
    let start = crate::data::timestamp::format_date(t0);
    let response = Plot::new("history-timeline")
        .height(120.0)
        .allow_scroll(false)
        .x_axis_label(format!("days since {start}"))
        .include_x(0.0)
        .y_axis_label("items")
        .label_formatter(move |hover| {
            let v = super::explore::hover_point(hover);
            labels
                .iter()
                .min_by(|a, b| {
                    ((a.0 - v.x).powi(2) + (a.1 - v.y).powi(2)).total_cmp(&((b.0 - v.x).powi(2) + (b.1 - v.y).powi(2)))
                })
                .map(|l| l.2.clone())
        })
        .show(ui, |plot| {
            plot.points(Points::new("orders", PlotPoints::from(points)).radius(3.5).color(theme::ONLY_A));
        });
    cx.ui.plot_rects.insert("history".to_owned(), response.response.rect);
    recent_links(ui, cx, profile);
}

/// "12 events, 9 distinct items", in the singular for one, and what is missing for a
/// shopper whose events carry no positive weight.
pub(crate) fn history_summary(events: usize, items: usize, known: bool) -> String {
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = if events == 0 {
        "no events".to_owned()
    } else if items == 0 {
        format!("{} (cancellations, returns or zero-weight events only)", plural(events, "event", "events"))
    } else {
        format!("{}, {}", plural(events, "event", "events"), plural(items, "distinct item", "distinct items"))
    };
    if !known {
        text.push_str(" — unknown shopper, cold start");
    }
    text
}

/// Links to the shopper's six most recent items.
fn recent_links(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, profile: &crate::score::UserProfile) {
    let Some(engine) = cx.wb.engine() else { return };
    let cat = engine.catalogue();
    ui.horizontal_wrapped(|ui| {
        ui.label("Recent:");
        for e in profile.events.iter().rev().take(6) {
            if ui.link(crate::data::report::shorten(cat.title(e.item), 28)).clicked() {
                cx.commands.push(Command::SelectItem(Some(e.item)));
            }
        }
    });
}

fn ranked_list(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let Some(engine) = cx.wb.engine() else { return };
    let cat = engine.catalogue();
    if let Some(t) = cx.wb.target() {
        for n in &t.notices {
            ui.colored_label(theme::WARNING, n);
        }
    }
    if cx.wb.list().is_empty() {
        ui.label(match cx.wb.session().selection.mode {
            Mode::Search => "Type a query and press Enter.",
            Mode::Recommend => "No recommendations (no candidates for this shopper).",
        });
        return;
    }
    let config = cx.wb.fusion().clone();
    ui.horizontal(|ui| {
        ui.strong(format!("Top {}", cx.wb.list().len()));
        ui.label(format!("— {} fusion; bar = contribution of each signal to the score", config.method.id()));
    });
    let signals: Vec<SignalId> =
        cx.wb.list().first().map(|e| e.contributions.iter().map(|(s, _)| *s).collect()).unwrap_or_default();
    widgets::signal_legend(ui, &signals);
    let max_total = cx
        .wb
        .list()
        .iter()
        .map(|e| {
            e.contributions.iter().map(|(_, v)| v.max(0.0)).sum::<f32>()
                + e.ranked.rule_effects.iter().map(|r| r.delta.max(0.0)).sum::<f32>()
        })
        .fold(0.0f32, f32::max);
    let selected = cx.wb.session().selection.item.clone();
    let had_previous = !cx.wb.rank_moves().is_empty();
    egui::Grid::new("ranked-list").num_columns(6).striped(true).spacing([8.0, 6.0]).show(ui, |ui| {
        ui.strong("#");
        ui.strong("");
        ui.strong("item");
        ui.strong("contributions");
        ui.strong("score");
        ui.strong("why");
        ui.end_row();
        for e in cx.wb.list() {
            let item = e.ranked.item;
            ui.label(e.position.to_string());
            widgets::rank_move(ui, cx.wb.rank_moves().get(&item).copied(), had_previous);
            let id = cat.ids.name(item);
            let is_selected = selected.as_deref() == Some(id);
            let title = crate::data::report::shorten(cat.title(item), 42);
            if ui.selectable_label(is_selected, title).on_hover_text(format!("{id}\n{}", cat.title(item))).clicked() {
                cx.commands.push(Command::SelectItem(Some(item)));
            }
            let mut parts: Vec<(egui::Color32, f32)> =
                e.contributions.iter().map(|(s, v)| (theme::signal_color(*s), *v)).collect();
            parts.extend(e.ranked.rule_effects.iter().map(|r| (theme::RULE_COLOR, r.delta)));
            let hover: Vec<String> = e
                .contributions
                .iter()
                .filter(|(_, v)| v.abs() > 1e-6)
                .map(|(s, v)| format!("{}: {v:+.4}", s.label()))
                .chain(e.ranked.rule_effects.iter().map(|r| format!("rule {}: {:+.4}", r.rule, r.delta)))
                .collect();
            widgets::contribution_bar(ui, &parts, max_total, 170.0).on_hover_text(hover.join("\n"));
            ui.label(format!("{:.4}", e.ranked.score));
            // Cut with an ellipsis at the panel's edge; every sentence is in the tooltip.
            let room = (ui.clip_rect().right() - ui.cursor().min.x - 8.0).max(120.0);
            let why = e.evidence.first().cloned().unwrap_or_default();
            ui.allocate_ui(egui::vec2(room, 18.0), |ui| {
                ui.add(egui::Label::new(why).truncate()).on_hover_text(e.evidence.join("\n"));
            });
            ui.end_row();
        }
    });
}
