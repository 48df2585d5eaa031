//! What the workbench's GUI test binaries share: the harness, waiting for background jobs,
//! the accessibility tree's texts and the shapes a frame painted.
#![allow(dead_code)] // each binary uses some of these

use std::time::{Duration, Instant};

use eframe::egui::{self, Shape};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use recfuse::session::Session;
use recfuse::ui::WorkbenchApp;

/// The workbench on `session` in a 1500 × 950 window; `embed` turns on embedding.
pub fn harness(session: Session, embed: bool) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, embed))
}

/// Steps the app until `done` holds (background jobs finish on their own threads).
pub fn wait_until(h: &mut Harness<'static, WorkbenchApp>, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(600) {
        h.step();
        if done(h.state()) {
            h.run_steps(2);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

/// Waits for the list and for every job to finish.
pub fn loaded(h: &mut Harness<'static, WorkbenchApp>) {
    wait_until(h, "the list", |app| !app.wb.list().is_empty() && app.wb.jobs().running().is_empty());
}

/// Every label and value in the accessibility tree.
pub fn texts(h: &Harness<'static, WorkbenchApp>) -> Vec<String> {
    h.query_all_by(|_| true)
        .flat_map(|n| {
            let node = n.accesskit_node();
            [node.label(), node.value()]
        })
        .flatten()
        .collect()
}

/// Rests the pointer at `at` until a tooltip has had time to open (tooltips open after the
/// pointer has rested for half a second).
pub fn hover_long(h: &mut Harness<'static, WorkbenchApp>, at: egui::Pos2) {
    h.hover_at(at);
    for _ in 0..6 {
        h.run_steps(10);
        std::thread::sleep(Duration::from_millis(120));
    }
}

/// A painted shape of the last frame, with the rectangle it was clipped to.
pub struct Painted {
    /// Where drawing was cut off.
    pub clip: egui::Rect,
    /// The shape, in screen points.
    pub shape: Shape,
}

/// Every shape the last frame painted, nested groups flattened.
pub fn painted(h: &Harness<'static, WorkbenchApp>) -> Vec<Painted> {
    fn flatten(clip: egui::Rect, shape: &Shape, out: &mut Vec<Painted>) {
        match shape {
            Shape::Vec(shapes) => shapes.iter().for_each(|s| flatten(clip, s, out)),
            s => out.push(Painted { clip, shape: s.clone() }),
        }
    }
    let mut out = Vec::new();
    for c in &h.output().shapes {
        flatten(c.clip_rect, &c.shape, &mut out);
    }
    out
}

/// A painted text: what it says, what was drawn of it, where, and whether it was cut.
pub struct PaintedText {
    /// The whole text laid out.
    pub text: String,
    /// The characters drawn (with the "…" of a cut text).
    pub drawn: String,
    /// Its rectangle on screen.
    pub rect: egui::Rect,
    /// Where drawing was cut off.
    pub clip: egui::Rect,
    /// Whether it was cut to fit (an ellipsis replaces the rest).
    pub elided: bool,
}

/// Every text the last frame painted.
pub fn painted_texts(h: &Harness<'static, WorkbenchApp>) -> Vec<PaintedText> {
    painted(h)
        .into_iter()
        .filter_map(|p| match p.shape {
            Shape::Text(t) => Some(PaintedText {
                text: t.galley.text().to_owned(),
                drawn: t.galley.rows.iter().flat_map(|r| r.row.glyphs.iter().map(|g| g.chr)).collect(),
                rect: t.galley.rect.translate(t.pos.to_vec2()),
                clip: p.clip,
                elided: t.galley.elided,
            }),
            _ => None,
        })
        .collect()
}

/// The colours a shape is filled and stroked with.
pub fn colours(shape: &Shape) -> Vec<egui::Color32> {
    match shape {
        Shape::Circle(c) => vec![c.fill, c.stroke.color],
        Shape::Rect(r) => vec![r.fill, r.stroke.color],
        Shape::Path(p) => {
            let mut v = vec![p.fill];
            if let egui::epaint::ColorMode::Solid(c) = p.stroke.color {
                v.push(c);
            }
            v
        }
        Shape::LineSegment { stroke, .. } => vec![stroke.color],
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|c| *c != egui::Color32::TRANSPARENT)
    .collect()
}

/// The points of a line (a segment or a path), in screen points.
pub fn line_points(shape: &Shape) -> Option<(Vec<egui::Pos2>, f32, egui::Color32)> {
    match shape {
        Shape::LineSegment { points, stroke } => Some((points.to_vec(), stroke.width, stroke.color)),
        Shape::Path(p) if !p.closed => match p.stroke.color {
            egui::epaint::ColorMode::Solid(c) => Some((p.points.clone(), p.stroke.width, c)),
            _ => None,
        },
        _ => None,
    }
}

/// Types `text` into the text field whose placeholder is `hint`, then presses Enter.
pub fn type_and_enter(h: &mut Harness<'static, WorkbenchApp>, hint: &str, text: &str) {
    let field = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.role() == egui::accesskit::Role::TextInput && n.data().placeholder() == Some(hint)
    };
    h.get_by(field).click();
    h.run();
    h.get_by(field).type_text(text);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
}
