//! The Explore tab: a 2-D map of item embeddings coloured by category, popularity or
//! cluster; hover shows titles, a click selects the item; the current shopper's
//! history and recommendations are highlighted.

use eframe::egui;
use egui_plot::{Legend, MarkerShape, Plot, PlotPoints, Points};

use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::state::ColourBy;
use crate::ui::theme;

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let (Some(engine), Some(projection)) = (cx.wb.engine(), cx.wb.embedding().projection()) else {
        ui.label("The map appears once item embeddings are computed (see the status bar).");
        return;
    };
    let cat = engine.catalogue();
    ui.horizontal(|ui| {
        ui.label("Colour by:");
        let c = &mut cx.ui.explore.colour_by;
        if cat.has_categories() {
            ui.selectable_value(c, ColourBy::Category, "category");
        }
        ui.selectable_value(c, ColourBy::Popularity, "popularity");
        ui.selectable_value(c, ColourBy::Cluster, "cluster");
        ui.separator();
        ui.label(format!(
            "PCA of {}-d embeddings: the two axes explain {:.0}% and {:.0}% of the variance",
            engine.vectors.as_ref().map_or(0, |v| v.dim),
            projection.explained[0] * 100.0,
            projection.explained[1] * 100.0
        ));
        super::widgets::png_button(ui, cx, "explore");
    });
    let has_text: Vec<bool> = engine.vectors.as_ref().map(|v| v.has_text.clone()).unwrap_or_default();
    let colour_by = if cx.ui.explore.colour_by == ColourBy::Category && !cat.has_categories() {
        ColourBy::Popularity
    } else {
        cx.ui.explore.colour_by
    };
    let series = series(engine, projection, &has_text, colour_by);
    let history: Vec<[f64; 2]> = cx
        .wb
        .target()
        .map(|t| {
            t.profile
                .items
                .iter()
                .filter_map(|&(i, _)| projection.points.get(i as usize))
                .map(|p| [f64::from(p[0]), f64::from(p[1])])
                .collect()
        })
        .unwrap_or_default();
    let recommended: Vec<[f64; 2]> = cx
        .wb
        .list()
        .iter()
        .filter_map(|e| projection.points.get(e.ranked.item as usize))
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect();
    let selected = cx.wb.session().selection.item.as_ref().and_then(|id| cat.ids.get(id));
    let points = projection.points.clone();
    let titles_engine = engine.clone();
    let has_text_hover = has_text.clone();
    // Recommended items and the selection in the text colour (black or white): like the
    // history's magenta, a colour no map series is drawn in.
    let selected_color = ui.visuals().strong_text_color();
    let response = Plot::new("explore")
        .legend(Legend::default())
        .data_aspect(1.0)
        .label_formatter(move |hover| {
            let p = hover_point(hover);
            nearest(&points, &has_text_hover, p.x, p.y).map(|i| titles_engine.catalogue().title(i as u32).to_owned())
        })
        .show(ui, |plot| {
            for (_, (name, color, pts)) in series {
                plot.points(Points::new(name, PlotPoints::from(pts)).color(color).radius(1.8));
            }
            plot.points(
                Points::new("shopper's history", PlotPoints::from(history))
                    .color(theme::HISTORY)
                    .radius(5.0)
                    .shape(MarkerShape::Square),
            );
            plot.points(
                Points::new("recommended", PlotPoints::from(recommended))
                    .color(selected_color)
                    .radius(6.0)
                    .shape(MarkerShape::Diamond),
            );
            if let Some(p) = selected.and_then(|i| projection.points.get(i as usize)) {
                plot.points(
                    Points::new("selected", PlotPoints::from(vec![[f64::from(p[0]), f64::from(p[1])]]))
                        .color(selected_color)
                        .radius(9.0)
                        .shape(MarkerShape::Circle)
                        .filled(false),
                );
            }
            plot.pointer_coordinate()
        });
    cx.ui.plot_rects.insert("explore".to_owned(), response.response.rect);
    if response.response.clicked()
        && let Some(pos) = response.inner
        && let Some(i) = nearest(&projection.points, &has_text, pos.x, pos.y)
    {
        cx.commands.push(Command::SelectItem(Some(i as u32)));
    }
}

/// One series of map points per colour.
type Series = std::collections::BTreeMap<usize, (String, egui::Color32, Vec<[f64; 2]>)>;

/// Buckets the items with text into series by colour.
fn series(
    engine: &crate::session::Engine,
    projection: &crate::embed::projection::Projection,
    has_text: &[bool],
    colour_by: ColourBy,
) -> Series {
    let cat = engine.catalogue();
    let mut series = Series::new();
    let max_pop = (0..cat.len()).map(|i| engine.interactions.by_item.row(i).0.len()).max().unwrap_or(1).max(1) as f32;
    let mut category_index: std::collections::HashMap<String, usize> = Default::default();
    for (i, p) in projection.points.iter().enumerate() {
        if !has_text.get(i).copied().unwrap_or(false) {
            continue;
        }
        let (key, name, color) = match colour_by {
            ColourBy::Cluster => {
                let c = projection.clusters.get(i).copied().unwrap_or(0) as usize;
                (c, format!("cluster {}", c + 1), theme::categorical(c))
            }
            ColourBy::Category => {
                let top = cat.top_category(i as u32).unwrap_or("(none)").to_owned();
                let next = category_index.len();
                let c = *category_index.entry(top.clone()).or_insert(next);
                if c < 9 { (c, top, theme::categorical(c)) } else { (9, "other".to_owned(), theme::MUTED) }
            }
            ColourBy::Popularity => {
                let n = engine.interactions.by_item.row(i).0.len() as f32;
                let t = (1.0 + n).ln() / (1.0 + max_pop).ln();
                let bucket = (t * 5.0).floor().min(4.0) as usize;
                let lo = ((1.0 + max_pop).ln() * bucket as f32 / 5.0).exp() - 1.0;
                (bucket, format!("{}: {lo:.0}+ shoppers", bucket + 1), theme::ramp(0.15 + 0.85 * bucket as f32 / 4.0))
            }
        };
        series.entry(key).or_insert_with(|| (name, color, Vec::new())).2.push([f64::from(p[0]), f64::from(p[1])]);
    }
    series
}

fn nearest(points: &[[f32; 2]], has_text: &[bool], x: f64, y: f64) -> Option<usize> {
    points
        .iter()
        .enumerate()
        .filter(|(i, _)| has_text.get(*i).copied().unwrap_or(false))
        .map(|(i, p)| (i, (f64::from(p[0]) - x).powi(2) + (f64::from(p[1]) - y).powi(2)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The plot position under the cursor, whichever way egui_plot reports it.
pub fn hover_point(hover: &egui_plot::HoverPosition<'_>) -> egui_plot::PlotPoint {
    match hover {
        egui_plot::HoverPosition::NearDataPoint { position, .. } | egui_plot::HoverPosition::Elsewhere { position } => {
            *position
        }
    }
}
