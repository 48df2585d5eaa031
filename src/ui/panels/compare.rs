//! The Compare tab: configuration A (current) vs B (a snapshot, the defaults or the
//! tuned weights), or two shoppers, or two queries — side by side with rank-shift lines,
//! overlap figures, and (after an evaluation) the comparison across all users.

use eframe::egui::{self, Sense, Stroke, Vec2};
use egui_plot::{Bar, BarChart, Plot};

use crate::eval::compare::{ConfigComparison, compare_configs};
use crate::eval::overlap::{jaccard_at_k, kendall_tau_shared, rbo_ext};
use crate::fusion::{FusionConfig, RankContext, rank};
use crate::score::Query;
use crate::session::Target;
use crate::ui::app::WorkbenchApp;
use crate::ui::theme;

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareMode {
    /// Two fusion configurations for the current shopper.
    #[default]
    Configurations,
    /// Two shoppers under the current configuration.
    Shoppers,
    /// Two queries under the current search configuration.
    Queries,
}

/// Where configuration B comes from (the default preset at first, so that the tab shows a
/// comparison as soon as the sliders move away from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BSource {
    /// A snapshot taken with "Set B = current".
    Snapshot,
    /// The default preset.
    #[default]
    Default,
    /// The tuned weights.
    Tuned,
}

/// Compare tab state.
#[derive(Default)]
pub struct CompareUi {
    /// What is compared.
    pub mode: CompareMode,
    /// Source of configuration B.
    pub b_source: BSource,
    /// Snapshot of B.
    pub snapshot: Option<FusionConfig>,
    /// Shopper B.
    pub shopper_b: String,
    /// Query B.
    pub query_b: String,
    /// RBO persistence.
    pub rbo_p: f64,
    /// Comparison across users (after an evaluation).
    pub across: Option<ConfigComparison>,
    cached_b: Option<(String, crate::session::TargetState)>,
}

impl CompareUi {
    fn config_b(&self, app_default: &FusionConfig, tuned: Option<&FusionConfig>) -> Option<FusionConfig> {
        match self.b_source {
            BSource::Snapshot => self.snapshot.clone(),
            BSource::Default => Some(app_default.clone()),
            BSource::Tuned => tuned.cloned(),
        }
    }
}

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, app: &mut WorkbenchApp) {
    let Some(engine) = app.wb.engine.clone() else {
        ui.label("Loading…");
        return;
    };
    if app.ui.compare.rbo_p == 0.0 {
        app.ui.compare.rbo_p = 0.9;
    }
    ui.horizontal(|ui| {
        let c = &mut app.ui.compare;
        ui.selectable_value(&mut c.mode, CompareMode::Configurations, "Two configurations");
        ui.selectable_value(&mut c.mode, CompareMode::Shoppers, "Two shoppers");
        ui.selectable_value(&mut c.mode, CompareMode::Queries, "Two queries");
        ui.separator();
        ui.add(egui::Slider::new(&mut c.rbo_p, 0.5..=0.99).text("RBO p"));
    });
    let k = app.wb.session.selection.k;
    let config_a = app.wb.fusion().clone();
    let rules = app.wb.session.rules.clone();
    let ctx = RankContext { catalogue: engine.catalogue(), rules: &rules, vectors: engine.vectors.as_deref() };
    let list_a: Vec<u32> = app.wb.list.iter().map(|e| e.ranked.item).collect();
    let (label_a, label_b, list_b): (String, String, Vec<u32>) = match app.ui.compare.mode {
        CompareMode::Configurations => {
            ui.horizontal(|ui| {
                ui.label("A = current settings;  B =");
                let c = &mut app.ui.compare;
                ui.selectable_value(&mut c.b_source, BSource::Snapshot, "snapshot");
                ui.selectable_value(&mut c.b_source, BSource::Default, "default preset");
                ui.selectable_value(&mut c.b_source, BSource::Tuned, "tuned weights");
                if ui
                    .button("Set B = current")
                    .on_hover_text("Snapshot the current settings as B, then move sliders to change A")
                    .clicked()
                {
                    c.snapshot = Some(config_a.clone());
                    c.b_source = BSource::Snapshot;
                }
            });
            let b = app.ui.compare.config_b(&FusionConfig::default(), app.wb.evaluation.tuned.as_ref());
            match (b, app.wb.target.as_mut()) {
                (Some(b), Some(target)) => {
                    target.candidates.prepare(&b);
                    let list: Vec<u32> =
                        rank(&target.candidates, &b, &ctx, k).into_iter().take(k).map(|e| e.item).collect();
                    target.candidates.prepare(&config_a);
                    let b_name = match app.ui.compare.b_source {
                        BSource::Snapshot => "snapshot",
                        BSource::Default => "default preset",
                        BSource::Tuned => "tuned weights",
                    };
                    ("A: current settings".to_owned(), format!("B: {b_name}"), list)
                }
                (None, _) => {
                    ui.label("Press “Set B = current” (or choose default/tuned) to define B.");
                    return;
                }
                (_, None) => {
                    ui.label("Pick a shopper first.");
                    return;
                }
            }
        }
        CompareMode::Shoppers => {
            ui.horizontal(|ui| {
                ui.label("Shopper B:");
                ui.add(
                    egui::TextEdit::singleline(&mut app.ui.compare.shopper_b)
                        .desired_width(120.0)
                        .hint_text("shopper id"),
                );
                if ui.button("Heaviest").clicked()
                    && let Some(s) = app.wb.heaviest_shoppers(2).into_iter().nth(1)
                {
                    app.ui.compare.shopper_b = s;
                }
            });
            let b = app.ui.compare.shopper_b.trim().to_owned();
            if b.is_empty() {
                ui.label("Type shopper B's id.");
                return;
            }
            let list = list_for(app, &engine, Target::Shopper(b.clone()), &config_a, k);
            let a = app.wb.session.selection.shopper.clone().unwrap_or_default();
            (format!("A: shopper {}", app.wb.display_user(&a)), format!("B: shopper {}", app.wb.display_user(&b)), list)
        }
        CompareMode::Queries => {
            ui.horizontal(|ui| {
                ui.label("Query B:");
                ui.add(
                    egui::TextEdit::singleline(&mut app.ui.compare.query_b)
                        .desired_width(200.0)
                        .hint_text("second query"),
                );
            });
            let b = app.ui.compare.query_b.trim().to_owned();
            if b.is_empty() || app.wb.session.selection.mode != crate::session::Mode::Search {
                ui.label("Run a search in the Recommendations tab (query A), then type query B.");
                return;
            }
            let embedding = app.wb.embed_query(&b);
            let config = app.wb.session.search_fusion.clone();
            let list = list_for(
                app,
                &engine,
                Target::Search { query: Query { text: b.clone(), embedding }, shopper: None },
                &config,
                k,
            );
            (format!("A: “{}”", app.wb.session.selection.query), format!("B: “{b}”"), list)
        }
    };
    let p = app.ui.compare.rbo_p;
    ui.horizontal(|ui| {
        let f = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.3}"));
        ui.strong(format!("Jaccard@{k}: {}", f(jaccard_at_k(&list_a, &list_b, k))));
        ui.separator();
        ui.strong(format!("RBO (p={p:.2}): {}", f(rbo_ext(&list_a, &list_b, p, k))));
        ui.separator();
        ui.strong(format!("Kendall τ (shared items): {}", f(kendall_tau_shared(&list_a, &list_b, k))));
    });
    rank_shift(ui, app, &label_a, &label_b, &list_a, &list_b);
    ui.separator();
    if app.ui.compare.mode == CompareMode::Configurations {
        across_users(ui, app, &config_a);
    }
}

fn list_for(
    app: &mut WorkbenchApp,
    engine: &crate::session::Engine,
    target: Target,
    config: &FusionConfig,
    k: usize,
) -> Vec<u32> {
    let key = format!("{target:?}|{}|{}", config.candidates_per_signal, config.exclude_seen);
    let rules = app.wb.session.rules.clone();
    let needs = app.ui.compare.cached_b.as_ref().is_none_or(|(cached, _)| *cached != key);
    if needs {
        let state = engine.prepare_target(target, config, &rules);
        app.ui.compare.cached_b = Some((key, state));
    }
    let Some((_, state)) = app.ui.compare.cached_b.as_mut() else { return Vec::new() };
    state.candidates.prepare(config);
    let ctx = RankContext { catalogue: engine.catalogue(), rules: &rules, vectors: engine.vectors.as_deref() };
    rank(&state.candidates, config, &ctx, k).into_iter().take(k).map(|e| e.item).collect()
}

fn rank_shift(ui: &mut egui::Ui, app: &mut WorkbenchApp, label_a: &str, label_b: &str, a: &[u32], b: &[u32]) {
    let Some(engine) = app.wb.engine.clone() else { return };
    let cat = engine.catalogue();
    let rows = a.len().max(b.len()).max(1);
    let row_h = 22.0;
    let width = ui.available_width().min(900.0);
    let col_w = (width - 140.0) / 2.0;
    let (response, painter) = ui.allocate_painter(Vec2::new(width, row_h * (rows as f32 + 1.0)), Sense::click());
    let rect = response.rect;
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
    for (i, &item) in a.iter().enumerate() {
        let only = !b.contains(&item);
        let color = if only { theme::ONLY_A } else { text_color };
        let text = format!("{:>2}. {}", i + 1, crate::data::report::shorten(cat.title(item), 38));
        let r = painter.text(egui::pos2(rect.left(), y(i)), egui::Align2::LEFT_CENTER, text, font.clone(), color);
        if response.clicked() && response.interact_pointer_pos().is_some_and(|p| r.expand(2.0).contains(p)) {
            clicked = Some(item);
        }
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
    for (j, &item) in b.iter().enumerate() {
        let only = !a.contains(&item);
        let color = if only { theme::ONLY_B } else { text_color };
        let text = format!("{:>2}. {}", j + 1, crate::data::report::shorten(cat.title(item), 38));
        let r =
            painter.text(egui::pos2(rect.right() - col_w, y(j)), egui::Align2::LEFT_CENTER, text, font.clone(), color);
        if response.clicked() && response.interact_pointer_pos().is_some_and(|p| r.expand(2.0).contains(p)) {
            clicked = Some(item);
        }
    }
    ui.horizontal(|ui| {
        super::widgets::swatch(ui, theme::ONLY_A, "only in A");
        super::widgets::swatch(ui, theme::ONLY_B, "only in B");
        super::widgets::swatch(ui, theme::UP, "higher in B");
        super::widgets::swatch(ui, theme::DOWN, "lower in B");
    });
    if let Some(item) = clicked {
        app.commands.push(crate::session::Command::SelectItem(Some(item)));
    }
}

fn across_users(ui: &mut egui::Ui, app: &mut WorkbenchApp, config_a: &FusionConfig) {
    ui.strong("Across all evaluated users");
    let b = app.ui.compare.config_b(&FusionConfig::default(), app.wb.evaluation.tuned.as_ref());
    let ready = app.wb.evaluation.outcome.is_some();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(ready && b.is_some(), egui::Button::new("Compare A and B across users"))
            .on_disabled_hover_text("Run an evaluation (Evaluate tab) and define B first")
            .clicked()
            && let (Some(b), Some(outcome)) = (b.clone(), app.wb.evaluation.outcome.as_mut())
        {
            let k = outcome.request.ks.first().copied().unwrap_or(10);
            let seed = outcome.request.bootstrap.seed;
            let result = compare_configs(&mut outcome.context, config_a, &b, k, app.ui.compare.rbo_p, seed);
            outcome.context.prepare_for(config_a);
            app.ui.compare.across = Some(result);
        }
        if !ready {
            ui.label("(needs an evaluation: Evaluate tab, Run evaluation)");
        }
    });
    let Some(result) = app.ui.compare.across.clone() else { return };
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
                app.ui.plot_rects.insert(plot_name.clone(), r.response.rect);
                super::widgets::png_button(ui, app, &plot_name);
            });
        }
    });
}
