//! The Evaluate tab's two-weight heatmap: what every cell, tick and the colour scale say,
//! worked out once from the grid ([`HeatmapView`], pure and unit-tested), then drawn.

use eframe::egui;
use egui_plot::{Heatmap, Line, Plot};

use crate::eval::sweep::Sweep2;
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Everything the heatmap shows, in plot coordinates where it is a place: cell `(i, j)`
/// (a = `values[i]` on rows, b = `values[j]` on columns) spans x ∈ [j, j+1], y ∈ [i, i+1].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapView {
    /// The weight under each column and beside each row.
    pub ticks: Vec<String>,
    /// Decimals of the cell texts: the fewest from 3 to 5 at which distinct values read apart.
    pub decimals: usize,
    /// The colour scale's ends: the lowest and highest value of the grid.
    pub range: (f64, f64),
    /// The best cell (row, column); the first of equal ones.
    pub best: (usize, usize),
    /// The cell (row, column) nearest the current weights; the lower of two equally near.
    pub current: (usize, usize),
    /// Whether both current weights are grid values (else the framed cell is the nearest).
    pub current_on_grid: bool,
    /// Whether a current weight lies outside the grid's range (the frame then sits on its edge).
    pub current_outside: bool,
}

impl HeatmapView {
    /// The view of `grid` (`grid[i][j]` at a = `values[i]`, b = `values[j]`) with the current
    /// weights `(a, b)`. `None` for an empty or ragged grid.
    pub fn new(values: &[f32], grid: &[Vec<f64>], current: (f32, f32)) -> Option<Self> {
        let n = values.len();
        if n == 0 || grid.len() != n || grid.iter().any(|row| row.len() != n) {
            return None;
        }
        let flat: Vec<f64> = grid.iter().flatten().copied().collect();
        let (lo, hi) = flat.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let mut best = 0;
        for (k, v) in flat.iter().enumerate() {
            if flat.get(best).is_some_and(|b| v > b) {
                best = k;
            }
        }
        let decimals = (3..=5).find(|&d| reads_apart(&flat, d)).unwrap_or(5);
        let (row, a_on) = nearest(values, current.0);
        let (column, b_on) = nearest(values, current.1);
        let outside = |w: f32| values.first().is_some_and(|&f| w < f) || values.last().is_some_and(|&l| w > l);
        Some(Self {
            ticks: values.iter().map(|w| format!("{w:.2}")).collect(),
            decimals,
            range: (lo, hi),
            best: (best / n, best % n),
            current: (row, column),
            current_on_grid: a_on && b_on,
            current_outside: outside(current.0) || outside(current.1),
        })
    }

    /// The closed outline of cell (row, column), `inset` of a cell inside its edges, as
    /// [x, y] corners: on the cell's border, clear of the value written at its centre.
    pub fn frame(cell: (usize, usize), inset: f64) -> Vec<[f64; 2]> {
        let (y0, x0) = (cell.0 as f64 + inset, cell.1 as f64 + inset);
        let (y1, x1) = (cell.0 as f64 + 1.0 - inset, cell.1 as f64 + 1.0 - inset);
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    }

    /// Where `v` sits on the colour scale, 0 (lowest) to 1 (highest).
    pub fn scale_position(&self, v: f64) -> f32 {
        let (lo, hi) = self.range;
        if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) as f32 } else { 0.5 }
    }
}

/// A cell's value with `decimals` decimals, without the leading zero of a value under one so
/// that it fits its cell (".1234").
pub fn cell_text(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    match text.strip_prefix("0.") {
        Some(rest) => format!(".{rest}"),
        None => text.replacen("-0.", "-.", 1),
    }
}

/// Whether every two values that differ by at least half a unit of the fifth decimal get
/// different texts at `decimals` decimals.
fn reads_apart(values: &[f64], decimals: usize) -> bool {
    let texts: Vec<String> = values.iter().map(|&v| cell_text(v, decimals)).collect();
    values
        .iter()
        .zip(&texts)
        .enumerate()
        .all(|(k, (v, t))| values.iter().zip(&texts).skip(k + 1).all(|(w, u)| (v - w).abs() < 5e-6 || t != u))
}

/// The index of the grid value nearest `w` (the lower of two equally near) and whether `w`
/// is that value (to within 1e-6).
fn nearest(values: &[f32], w: f32) -> (usize, bool) {
    let mut best = (0, f32::INFINITY);
    for (i, &v) in values.iter().enumerate() {
        let d = (v - w).abs();
        if d < best.1 {
            best = (i, d);
        }
    }
    (best.0, best.1 <= 1e-6)
}

/// The grid as a heatmap: cell values to enough decimals, the weights as tick labels, a colour
/// scale with its ends, the best cell framed in red and the current weights' cell in blue
/// (frames on the cells' borders, so that no mark covers a value).
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, s: &Sweep2) {
    let fusion = &cx.wb.session().fusion;
    let (wa, wb) = (fusion.weight(s.a), fusion.weight(s.b));
    let Some(view) = HeatmapView::new(&s.values, &s.grid, (wa, wb)) else { return };
    let n = s.values.len();
    let best_a = s.values.get(view.best.0).copied().unwrap_or(0.0);
    let best_b = s.values.get(view.best.1).copied().unwrap_or(0.0);
    let best_value = s.grid.get(view.best.0).and_then(|r| r.get(view.best.1)).copied().unwrap_or(0.0);
    ui.horizontal_wrapped(|ui| {
        colour_scale(ui, &view, &s.metric);
        ui.label(format!(
            "red frame: best {} {} at {} {best_a:.2}, {} {best_b:.2} · blue frame: current weights {} {wa:.2}, {} {wb:.2}{}",
            s.metric,
            cell_text(best_value, view.decimals),
            s.a.label(),
            s.b.label(),
            s.a.label(),
            s.b.label(),
            if view.current_outside {
                " (outside the grid: the nearest edge cell is framed)"
            } else if view.current_on_grid {
                ""
            } else {
                " (between grid values: the nearest cell is framed)"
            }
        ));
    });
    let ticks = view.ticks.clone();
    let tick = move |v: f64| {
        let i = (v - 0.5).round();
        ticks.get(i as usize).filter(|_| i >= 0.0 && (v - 0.5 - i).abs() < 1e-6).cloned().unwrap_or_default()
    };
    let tick_y = tick.clone();
    let marks = move |_: egui_plot::GridInput| -> Vec<egui_plot::GridMark> {
        (0..n).map(|i| egui_plot::GridMark { value: i as f64 + 0.5, step_size: 1.0 }).collect()
    };
    let decimals = view.decimals;
    let scale = view.clone();
    let r = Plot::new("sweep2")
        .height(320.0)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .show_grid(false)
        .x_axis_label(format!("{} weight", s.b.label()))
        .y_axis_label(format!("{} weight", s.a.label()))
        .x_grid_spacer(marks)
        .y_grid_spacer(marks)
        .x_axis_formatter(move |m, _| tick(m.value))
        .y_axis_formatter(move |m, _| tick_y(m.value))
        .show(ui, |plot| {
            let values: Vec<f64> = s.grid.iter().flatten().copied().collect();
            plot.add(
                Heatmap::new(values, n)
                    .custom_mapping(Box::new(move |v| theme::scale_colour(scale.scale_position(v))))
                    .formatter(Box::new(move |v| cell_text(v, decimals))),
            );
            plot.line(Line::new("best", HeatmapView::frame(view.best, 0.04)).width(2.5).color(theme::ONLY_B));
            // A white band under the blue frame keeps it visible on every colour of the scale.
            let current = HeatmapView::frame(view.current, 0.14);
            plot.line(Line::new("current weights halo", current.clone()).width(5.0).color(egui::Color32::WHITE));
            plot.line(Line::new("current weights", current).width(2.5).color(theme::ONLY_A));
        });
    cx.ui.plot_rects.insert("sweep2".to_owned(), r.response.rect);
    super::widgets::png_button(ui, cx, "sweep2");
}

/// The colour scale: a strip from the lowest to the highest value with both ends written
/// under it (and named for screen readers).
fn colour_scale(ui: &mut egui::Ui, view: &HeatmapView, metric: &str) {
    let (lo, hi) = view.range;
    let (lo_text, hi_text) = (cell_text(lo, view.decimals), cell_text(hi, view.decimals));
    let size = egui::vec2(180.0, 30.0);
    let (response, painter) = ui.allocate_painter(size, egui::Sense::hover());
    let rect = response.rect;
    let strip = egui::Rect::from_min_size(rect.min, egui::vec2(rect.width(), 12.0));
    let steps = 48;
    for k in 0..steps {
        let x0 = strip.left() + strip.width() * k as f32 / steps as f32;
        let x1 = strip.left() + strip.width() * (k + 1) as f32 / steps as f32;
        let cell = egui::Rect::from_x_y_ranges(x0..=x1 + 0.5, strip.y_range());
        painter.rect_filled(cell, 0.0, theme::scale_colour(k as f32 / (steps - 1) as f32));
    }
    let font = egui::FontId::monospace(11.0);
    let color = ui.visuals().text_color();
    painter.text(strip.left_bottom() + egui::vec2(0.0, 2.0), egui::Align2::LEFT_TOP, &lo_text, font.clone(), color);
    painter.text(strip.right_bottom() + egui::vec2(0.0, 2.0), egui::Align2::RIGHT_TOP, &hi_text, font, color);
    let name = format!("colour scale of {metric}: {lo_text} (dark purple) to {hi_text} (yellow)");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, name.clone()));
    response.on_hover_text(format!("{metric}: {lo_text} (dark purple) to {hi_text} (yellow)"));
}

#[cfg(test)]
mod tests {
    use super::{HeatmapView, cell_text};

    const GRID: [f32; 3] = [0.0, 0.5, 1.0];

    #[test]
    fn cells_get_the_decimals_that_tell_close_values_apart() {
        // .1021 and .1024 both read ".102" at 3 decimals: 4 are needed.
        let grid = vec![vec![0.1021, 0.1024, 0.0987], vec![0.1100, 0.0900, 0.0950], vec![0.1, 0.1, 0.1]];
        let v = HeatmapView::new(&GRID, &grid, (0.5, 0.5)).expect("a view");
        assert_eq!(v.decimals, 4);
        let texts: Vec<String> = grid[0].iter().chain(&grid[1][..1]).map(|&x| cell_text(x, v.decimals)).collect();
        assert_eq!(texts, [".1021", ".1024", ".0987", ".1100"]);
        assert_eq!(v.range, (0.09, 0.11));
        // Values 0.01 apart read apart at 3 decimals.
        let grid = vec![vec![0.10, 0.11, 0.12], vec![0.13, 0.14, 0.15], vec![0.16, 0.17, 0.18]];
        let v = HeatmapView::new(&GRID, &grid, (0.5, 0.5)).expect("a view");
        assert_eq!(v.decimals, 3);
        assert_eq!(cell_text(grid[2][2], v.decimals), ".180");
        // Equal values never ask for more.
        let v = HeatmapView::new(&GRID, &vec![vec![0.25; 3]; 3], (0.0, 0.0)).expect("a view");
        assert_eq!((v.decimals, cell_text(0.25, v.decimals).as_str()), (3, ".250"));
        assert_eq!(cell_text(1.5, 3), "1.500");
        assert_eq!(cell_text(10.25, 2), "10.25");
    }

    #[test]
    fn ticks_best_cell_and_current_weights_are_placed_on_the_grid() {
        // The grid the Evaluate tab sweeps: 0, 1/6, …, 1.
        let values: Vec<f32> = (0..=6).map(|i| i as f32 / 6.0).collect();
        let mut grid = vec![vec![0.05; 7]; 7];
        grid[4][1] = 0.2; // a = 4/6, b = 1/6
        let v = HeatmapView::new(&values, &grid, (0.25, 0.5)).expect("a view");
        assert_eq!(v.ticks, ["0.00", "0.17", "0.33", "0.50", "0.67", "0.83", "1.00"]);
        assert_eq!(v.best, (4, 1));
        // The best cell's frame runs on its border, 0.04 of a cell in.
        assert_eq!(
            HeatmapView::frame(v.best, 0.04),
            [[1.04, 4.04], [1.96, 4.04], [1.96, 4.96], [1.04, 4.96], [1.04, 4.04]]
        );
        // b = 0.5 is column 3; a = 0.25 lies half-way between 1/6 and 2/6: row 1, the lower.
        assert_eq!((v.current, v.current_on_grid, v.current_outside), ((1, 3), false, false));
        // a = 0.3 is nearer 2/6; exact grid values are on the grid.
        let v = HeatmapView::new(&values, &grid, (0.3, 1.0 / 6.0)).expect("a view");
        assert_eq!((v.current, v.current_on_grid), ((2, 1), false));
        let v = HeatmapView::new(&values, &grid, (4.0 / 6.0, 0.0)).expect("a view");
        assert_eq!((v.current, v.current_on_grid), ((4, 0), true));
        // A weight above the grid frames the last cell and is said to be outside.
        let v = HeatmapView::new(&values, &grid, (2.0, 0.0)).expect("a view");
        assert_eq!(v.current, (6, 0));
        assert!(v.current_outside);
        assert!((v.scale_position(0.2) - 1.0).abs() < 1e-6 && v.scale_position(0.05).abs() < 1e-6);
        assert!(HeatmapView::new(&values, &grid[..3], (0.0, 0.0)).is_none(), "a ragged grid");
    }
}
