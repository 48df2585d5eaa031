//! The Evaluate tab: run (and cancel) an evaluation, metrics with intervals per signal,
//! fused and tuned; a bar chart with error bars; live metrics that follow the sliders;
//! one-weight sweep, two-weight heatmap, accuracy-vs-diversity front; segments.

use eframe::egui;
use egui_plot::{Bar, BarChart, Line, Plot, PlotPoints, Points};

use crate::eval::experiment::RowKind;
use crate::score::SignalId;
use crate::session::workbench::job;
use crate::session::{Command, Preset};
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    settings_row(ui, cx);
    ranker_section(ui, cx);
    ui.separator();
    let Some(outcome) = cx.wb.evaluation().outcome() else {
        if !cx.wb.is_running(job::EVAL) && !cx.wb.is_running(job::TUNE) {
            ui.label("Run an evaluation: signals are fitted on the training part only and measured on held-out events, with 95 % bootstrap intervals over shoppers.");
        }
        return;
    };
    let k = outcome.request.ks.first().copied().unwrap_or(10);
    ui.label(format!(
        "{} split{} · {} train / {} test events · {} shoppers evaluated",
        outcome.split,
        outcome.cut.map(|c| format!(" at {}", crate::data::timestamp::format_date(c))).unwrap_or_default(),
        outcome.events.0,
        outcome.events.1,
        outcome.users
    ));
    egui::ScrollArea::vertical().id_salt(("evaluate-scroll", cx.wb.data_generation())).show(ui, |ui| {
        metrics_table(ui, cx, k);
        ui.separator();
        bar_chart(ui, cx, k);
        ui.separator();
        sweeps(ui, cx);
        ui.separator();
        segments(ui, cx);
    });
}

fn settings_row(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let wb = cx.wb;
    ui.horizontal_wrapped(|ui| {
        let current = &wb.session().eval;
        let mut e = current.clone();
        egui::ComboBox::from_label("split").selected_text(e.split.clone()).show_ui(ui, |ui| {
            for s in ["temporal", "leave-last", "random"] {
                ui.selectable_value(&mut e.split, s.to_owned(), s);
            }
        });
        if e.split == "leave-last" {
            ui.add(egui::DragValue::new(&mut e.leave_last_n).range(1..=20).prefix("n = "));
        } else {
            ui.add(egui::Slider::new(&mut e.test_fraction, 0.05..=0.5).text("test fraction"));
        }
        ui.label("K:");
        let r = ui
            .add(egui::TextEdit::singleline(&mut cx.ui.evaluate.ks_text).desired_width(60.0))
            .accessible_name("cut-offs K (comma-separated)");
        if r.changed() {
            let ks: Vec<usize> =
                cx.ui.evaluate.ks_text.split(',').filter_map(|s| s.trim().parse().ok()).filter(|&k| k > 0).collect();
            if !ks.is_empty() {
                e.ks = ks;
            }
        }
        ui.checkbox(&mut e.binary_relevance, "binary relevance");
        ui.add(
            egui::DragValue::new(&mut e.validation_windows)
                .range(1..=crate::eval::experiment::MAX_VALIDATION_WINDOWS)
                .prefix("validation windows: "),
        )
        .accessible_name("validation windows")
        .on_hover_text(
            "Tune weights on this many successive validation windows (rolling origin), pooling their shoppers: \
             a choice that must hold on more shoppers and more than one period",
        );
        if e != *current {
            cx.commands.push(Command::SetEvalSettings(e));
        }
        let busy = cx.wb.is_running(job::EVAL) || cx.wb.is_running(job::TUNE);
        if ui.add_enabled(!busy, egui::Button::new("Run evaluation")).clicked() {
            cx.commands.push(Command::RunEvaluation);
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Tune weights"))
            .on_hover_text(
                "Tunes ALS λ / α and the item-CF / user-CF neighbourhood sizes, then the weights by coordinate \
                 ascent, on a validation split inside train; reported on test",
            )
            .clicked()
        {
            cx.commands.push(Command::RunTuning);
        }
        if ui
            .add_enabled(!cx.wb.is_running(job::RANK), egui::Button::new("Train ranker"))
            .on_hover_text(
                "Train the learned ranker (fusion method `learned`) on a validation split inside train, \
                 and compare it with the tuned weights on held-out validation shoppers",
            )
            .clicked()
        {
            cx.commands.push(Command::TrainRanker);
        }
        for name in [job::EVAL, job::TUNE, job::SWEEP, job::RANK] {
            if cx.wb.is_running(name) {
                if let Some((_, p)) = cx.wb.jobs().running().into_iter().find(|(n, _)| n == name) {
                    let eta = p.eta_s().map(|s| format!(", eta {s:.0} s")).unwrap_or_default();
                    ui.add(
                        egui::ProgressBar::new(p.fraction().unwrap_or(0.0))
                            .desired_width(160.0)
                            .text(format!("{}{eta}", p.stage)),
                    );
                }
                if ui.button("Cancel").clicked() {
                    cx.commands.push(Command::CancelJob(name.to_owned()));
                }
            }
        }
        if cx.wb.evaluation().tuned().is_some() && ui.button("Apply tuned weights").clicked() {
            cx.commands.push(Command::ApplyPreset(Preset::Tuned));
        }
    });
}

/// The learned ranker: training loss and validation NDCG@10 per epoch, and what the last
/// training found against the tuned weights.
fn ranker_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let state = cx.wb.ranker();
    let epochs = state.epochs();
    if epochs.is_empty() && state.model().is_none() {
        return;
    }
    ui.separator();
    ui.label(egui::RichText::new("Learned ranker").strong());
    match (state.last(), epochs.last()) {
        (Some((report, versus, seconds)), _) if !cx.wb.is_running(job::RANK) => {
            let kept = match report.best_epoch {
                0 => "kept epoch 0, the tuned weights it started from (no later epoch beat them)".to_owned(),
                e => format!("kept epoch {e}"),
            };
            ui.label(format!(
                "trained in {seconds:.1} s on {} shoppers, {kept}; {}",
                report.train_shoppers,
                versus.describe(10)
            ));
        }
        (_, Some(e)) => {
            ui.label(format!("epoch {}: loss {:.4} · validation NDCG@10 {:.4}", e.epoch, e.loss, e.validation_ndcg));
        }
        _ => {
            ui.label("a ranker is loaded from beside the session: choose `learned` as the fusion method");
        }
    }
    if epochs.is_empty() {
        return;
    }
    let loss: PlotPoints = epochs.iter().map(|e| [e.epoch as f64, f64::from(e.loss)]).collect();
    let ndcg: PlotPoints = epochs.iter().map(|e| [e.epoch as f64, f64::from(e.validation_ndcg)]).collect();
    ui.horizontal(|ui| {
        Plot::new("ranker-loss").height(120.0).width(260.0).x_axis_label("epoch").show(ui, |plot| {
            plot.line(Line::new("training loss", loss));
        });
        Plot::new("ranker-ndcg").height(120.0).width(260.0).x_axis_label("epoch").show(ui, |plot| {
            plot.line(Line::new("validation NDCG@10", ndcg));
        });
    });
}

fn metrics_table(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, k: usize) {
    let Some(outcome) = cx.wb.evaluation().outcome() else { return };
    let keys = [
        format!("ndcg@{k}"),
        format!("recall@{k}"),
        format!("precision@{k}"),
        format!("hit_rate@{k}"),
        format!("mrr@{k}"),
        format!("coverage@{k}"),
        format!("novelty@{k}"),
        format!("diversity@{k}"),
    ];
    let mut rows: Vec<(String, String, std::collections::BTreeMap<String, crate::eval::bootstrap::Estimate>)> = outcome
        .rows
        .iter()
        .map(|r| {
            let kind = match r.kind {
                RowKind::Signal => "signal",
                RowKind::Fused => "fused (at run)",
                RowKind::Tuned => "tuned",
                RowKind::Learned => "learned",
            };
            (r.name.clone(), kind.to_owned(), r.metrics.metrics.clone())
        })
        .collect();
    if let Some(live) = cx.wb.evaluation().live() {
        // Re-measured in the background when it does not fit in a frame: until it reports,
        // the figures are those of the previous slider position.
        let kind = if cx.wb.is_running(job::LIVE_METRICS) { "live (updating…)" } else { "live (current sliders)" };
        rows.push(("current".to_owned(), kind.to_owned(), live.metrics.clone()));
    }
    let best_signal = outcome
        .rows
        .iter()
        .filter(|r| r.kind == RowKind::Signal)
        .filter_map(|r| r.metrics.metrics.get(&keys[0]).map(|e| (r.name.clone(), e.value)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    // A table whose header stays in view while its rows scroll.
    egui::ScrollArea::horizontal().id_salt("metrics-scroll").show(ui, |ui| {
        let mut table = egui_extras::TableBuilder::new(ui)
            .id_salt("metrics-table")
            .striped(true)
            .max_scroll_height(260.0)
            .column(egui_extras::Column::auto().at_least(90.0))
            .column(egui_extras::Column::auto().at_least(80.0));
        for _ in &keys {
            table = table.column(egui_extras::Column::auto().at_least(78.0));
        }
        table
            .header(20.0, |mut header| {
                for title in ["row", "kind"].into_iter().map(str::to_owned).chain(keys.iter().cloned()) {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|mut body| {
                for (name, kind, metrics) in &rows {
                    body.row(20.0, |mut row| {
                        row.col(|ui| {
                            let color = match SignalId::from_id(name) {
                                Some(s) => theme::signal_color(s),
                                None => ui.visuals().strong_text_color(),
                            };
                            ui.colored_label(color, name);
                        });
                        row.col(|ui| {
                            ui.add(egui::Label::new(kind.as_str()).extend());
                        });
                        for key in &keys {
                            row.col(|ui| match metrics.get(key) {
                                Some(e) => {
                                    ui.label(format!("{:.4}", e.value))
                                        .on_hover_text(format!("95 % interval [{:.4}, {:.4}]", e.ci.0, e.ci.1));
                                }
                                None => {
                                    ui.label("–");
                                }
                            });
                        }
                    });
                }
            });
    });
    if let Some((name, v)) = best_signal {
        ui.label(format!("Best single signal on {}: {name} ({v:.4}). Hover a value for its 95 % interval.", keys[0]));
    }
    if let Some(t) = cx.wb.evaluation().tune_summary() {
        let single = t.best_single.map_or(String::new(), |(s, v)| format!(", best single signal {} {v:.4}", s.label()));
        ui.add(
            egui::Label::new(format!(
                "Tuning on {}: ndcg@{k} start {:.4}, searched {:.4}{single}. Kept: {} ({:.4}).",
                t.shoppers_described(),
                t.start_ndcg,
                t.searched_ndcg,
                t.kept.describe(),
                t.validation_ndcg
            ))
            .wrap(),
        );
        for line in crate::eval::hyper::describe(&t.param_trials, k) {
            ui.add(egui::Label::new(line).wrap());
        }
    }
}

fn bar_chart(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, k: usize) {
    let Some(outcome) = cx.wb.evaluation().outcome() else { return };
    let key = format!("ndcg@{k}");
    let mut bars = Vec::new();
    let mut whiskers = Vec::new();
    let mut names = Vec::new();
    let mut whisker_top = 0.0f64;
    for (i, r) in outcome.rows.iter().enumerate() {
        let Some(e) = r.metrics.metrics.get(&key) else { continue };
        whisker_top = whisker_top.max(e.ci.1).max(e.value);
        let color = SignalId::from_id(&r.name).map_or(theme::MUTED, theme::signal_color);
        bars.push(Bar::new(i as f64, e.value).width(0.6).fill(color).name(&r.name));
        whiskers.push(
            Line::new(format!("ci-{i}"), PlotPoints::from(vec![[i as f64, e.ci.0], [i as f64, e.ci.1]]))
                .color(ui.visuals().text_color())
                .width(2.0),
        );
        names.push(r.name.clone());
    }
    ui.horizontal(|ui| {
        ui.strong(format!("{key} with 95 % intervals"));
        super::widgets::png_button(ui, cx, "metrics-bars");
    });
    let top = whisker_top.max(0.0) * 1.1;
    // Signals on x: no vertical grid lines, which would run through the bars and read
    // like the interval whiskers.
    let r = Plot::new("metrics-bars")
        .height(240.0)
        .allow_scroll(false)
        .show_grid([false, true])
        .include_y(0.0)
        .include_y(if top > 0.0 { top } else { 1.0 })
        .y_axis_label(key.clone())
        .x_axis_formatter(move |m, _| {
            names
                .get(m.value.round() as usize)
                .filter(|_| (m.value - m.value.round()).abs() < 1e-6)
                .cloned()
                .unwrap_or_default()
        })
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("ndcg", bars));
            for w in whiskers {
                plot.line(w);
            }
        });
    cx.ui.plot_rects.insert("metrics-bars".to_owned(), r.response.rect);
}

fn sweeps(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let signals: Vec<SignalId> = cx.wb.evaluation().outcome().map(|o| o.context.signals.clone()).unwrap_or_default();
    let busy = cx.wb.is_running(job::SWEEP);
    // One plot per row, the tab's full width: big enough to read and to put in a slide.
    sweep_column(ui, cx, &signals, busy);
    ui.separator();
    heatmap_column(ui, cx, &signals, busy);
    ui.separator();
    pareto_column(ui, cx, busy);
}

/// The one-weight sweep: signal choice, run button and the curve with intervals.
fn sweep_column(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, signals: &[SignalId], busy: bool) {
    ui.horizontal(|ui| {
        ui.strong("Weight sweep");
        let sweep_combo = egui::ComboBox::from_id_salt("sweep-signal")
            .selected_text(cx.ui.evaluate.sweep_signal.label())
            .show_ui(ui, |ui| {
                for &s in signals {
                    ui.selectable_value(&mut cx.ui.evaluate.sweep_signal, s, s.label());
                }
            });
        sweep_combo.response.accessible_name("Sweep signal");
        if ui.add_enabled(!busy, egui::Button::new("Run")).clicked() {
            cx.commands.push(Command::RunSweep1 { signal: cx.ui.evaluate.sweep_signal });
        }
    });
    if let Some(s) = cx.wb.evaluation().sweep1() {
        let line: Vec<[f64; 2]> = s.points.iter().map(|(w, e)| [f64::from(*w), e.value]).collect();
        let current = cx.wb.session().fusion.weight(s.signal);
        let r = Plot::new("sweep1")
            .height(200.0)
            .allow_scroll(false)
            .x_axis_label(format!("{} weight", s.signal.label()))
            .y_axis_label(s.metric.clone())
            .show(ui, |plot| {
                plot.line(Line::new(s.metric.clone(), PlotPoints::from(line)).color(theme::signal_color(s.signal)));
                for (w, e) in &s.points {
                    plot.line(
                        Line::new("ci", PlotPoints::from(vec![[f64::from(*w), e.ci.0], [f64::from(*w), e.ci.1]]))
                            .color(theme::MUTED),
                    );
                }
                plot.vline(egui_plot::VLine::new("current", f64::from(current)).color(theme::ONLY_B));
            });
        cx.ui.plot_rects.insert("sweep1".to_owned(), r.response.rect);
        super::widgets::png_button(ui, cx, "sweep1");
    }
}

/// The two-weight grid: two signal choices, run button and the heatmap.
fn heatmap_column(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, signals: &[SignalId], busy: bool) {
    ui.horizontal(|ui| {
        ui.strong("Heatmap");
        for (salt, slot) in [("grid-a", 0), ("grid-b", 1)] {
            let current = if slot == 0 { cx.ui.evaluate.grid_a } else { cx.ui.evaluate.grid_b };
            let mut choice = current;
            let grid_combo =
                egui::ComboBox::from_id_salt(salt).selected_text(choice.label()).width(80.0).show_ui(ui, |ui| {
                    for &s in signals {
                        ui.selectable_value(&mut choice, s, s.label());
                    }
                });
            grid_combo.response.accessible_name(if slot == 0 { "Heatmap rows" } else { "Heatmap columns" });
            if slot == 0 {
                cx.ui.evaluate.grid_a = choice;
            } else {
                cx.ui.evaluate.grid_b = choice;
            }
        }
        if ui.add_enabled(!busy && cx.ui.evaluate.grid_a != cx.ui.evaluate.grid_b, egui::Button::new("Run")).clicked() {
            cx.commands.push(Command::RunSweep2 { a: cx.ui.evaluate.grid_a, b: cx.ui.evaluate.grid_b });
        }
    });
    if let Some(s) = cx.wb.evaluation().sweep2() {
        super::heatmap::show(ui, cx, s);
    }
}

/// The accuracy-vs-diversity samples and their front.
fn pareto_column(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, busy: bool) {
    ui.horizontal(|ui| {
        ui.strong("Accuracy vs diversity");
        if ui.add_enabled(!busy, egui::Button::new("Sample")).clicked() {
            cx.commands.push(Command::RunPareto);
        }
    });
    if let Some(points) = cx.wb.evaluation().pareto() {
        let all: Vec<[f64; 2]> =
            points.iter().filter(|p| !p.on_front && !p.current).map(|p| [p.diversity, p.ndcg]).collect();
        let front = pareto_front(points);
        let current: Vec<[f64; 2]> = points.iter().filter(|p| p.current).map(|p| [p.diversity, p.ndcg]).collect();
        // The legend sits above the plot, where it covers nothing.
        ui.horizontal(|ui| {
            ui.colored_label(theme::MUTED, "grey dots: sampled weights");
            ui.colored_label(theme::ONLY_A, "blue line: Pareto front (no sample beats it on both)");
            ui.colored_label(theme::ONLY_B, "red dot: current weights");
        });
        let r = Plot::new("pareto")
            .height(300.0)
            .allow_scroll(false)
            .x_axis_label("intra-list diversity@K (mean embedding distance)")
            .y_axis_label("ndcg@K")
            .show(ui, |plot| {
                plot.points(Points::new("sampled weights", PlotPoints::from(all)).color(theme::MUTED).radius(2.0));
                plot.line(Line::new("Pareto front", PlotPoints::from(front.clone())).color(theme::ONLY_A).width(2.0));
                plot.points(Points::new("Pareto front", PlotPoints::from(front)).color(theme::ONLY_A).radius(3.0));
                plot.points(Points::new("current weights", PlotPoints::from(current)).color(theme::ONLY_B).radius(6.0));
            });
        cx.ui.plot_rects.insert("pareto".to_owned(), r.response.rect);
        super::widgets::png_button(ui, cx, "pareto");
    }
}

/// The front as a line: its points by diversity, keeping only those whose ndcg is above
/// every point further right (so the line only falls, never zigzags).
pub(crate) fn pareto_front(points: &[crate::eval::sweep::ParetoPoint]) -> Vec<[f64; 2]> {
    let mut front: Vec<[f64; 2]> = points.iter().filter(|p| p.on_front).map(|p| [p.diversity, p.ndcg]).collect();
    front.sort_by(|a, b| b[0].total_cmp(&a[0]));
    let mut best = f64::NEG_INFINITY;
    front.retain(|p| {
        let keep = p[1] > best;
        best = best.max(p[1]);
        keep
    });
    front.reverse();
    front
}

fn segments(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let Some(outcome) = cx.wb.evaluation().outcome() else { return };
    if outcome.segments.is_empty() {
        return;
    }
    let k = outcome.request.ks.first().copied().unwrap_or(10);
    ui.strong(format!("Segments (fused ndcg@{k} at run time)"));
    egui::Grid::new("segments").striped(true).num_columns(4).show(ui, |ui| {
        for h in ["dimension", "segment", "shoppers", "ndcg [95 % interval]"] {
            ui.strong(h);
        }
        ui.end_row();
        for s in &outcome.segments {
            ui.label(&s.dimension);
            ui.label(&s.segment);
            ui.label(s.users.to_string());
            ui.label(format!("{:.4} [{:.4}, {:.4}]", s.estimate.value, s.estimate.ci.0, s.estimate.ci.1));
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use crate::eval::sweep::ParetoPoint;

    fn point(diversity: f64, ndcg: f64, on_front: bool) -> ParetoPoint {
        ParetoPoint { weights: Default::default(), ndcg, diversity, on_front, current: false }
    }

    #[test]
    fn the_pareto_front_is_a_line_that_only_falls_as_diversity_grows() {
        // Marked on the front, in sampling order: (0.5, 0.30), (0.2, 0.40), (0.8, 0.10), and
        // (0.6, 0.05), which (0.8, 0.10) beats on both; (0.3, 0.35) is off the front.
        let points = [
            point(0.5, 0.30, true),
            point(0.3, 0.35, false),
            point(0.2, 0.40, true),
            point(0.8, 0.10, true),
            point(0.6, 0.05, true),
        ];
        let front = super::pareto_front(&points);
        assert_eq!(front, vec![[0.2, 0.40], [0.5, 0.30], [0.8, 0.10]]);
    }
}
