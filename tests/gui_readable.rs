#![cfg(feature = "gui")]
//! What an analyst reads off the plots and lists (issue 19), checked on what the frame
//! painted (texts, markers, lines and their clip rectangles) and on the accessibility tree:
//! the heatmap's cells, ticks, colour scale and marks; whole error bars; the "why" column's
//! ellipsis; the embedded-text order; alike titles in Compare; the history's own colour in
//! Explore.

mod support;

use std::path::{Path, PathBuf};

use eframe::egui::{self, Shape};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use recfuse::score::SignalId;
use recfuse::session::Session;
use recfuse::ui::WorkbenchApp;
use recfuse::ui::theme;
use support::{PaintedText, harness, hover_long, loaded, painted, painted_texts, texts, type_and_enter, wait_until};

/// A window tall enough for the whole Evaluate tab, so nothing is scrolled out of view.
fn tall(session: Session) -> Harness<'static, WorkbenchApp> {
    Harness::builder()
        .with_size([1500.0, 1900.0])
        .build_eframe(move |cc| WorkbenchApp::with_session(cc.egui_ctx.clone(), session, false))
}

fn evaluated(h: &mut Harness<'static, WorkbenchApp>) {
    loaded(h);
    h.get_by_label("Evaluate").click();
    h.run_steps(3);
    h.get_by_label("Run evaluation").click();
    wait_until(h, "the evaluation", |app| {
        app.wb.evaluation().outcome().is_some() && app.wb.jobs().running().is_empty()
    });
}

/// Whether a shape clipped to `clip` was drawn by the plot whose frame is `frame`.
fn in_plot(clip: egui::Rect, frame: egui::Rect) -> bool {
    frame.expand(1.0).contains_rect(clip) && clip.area() > 0.0
}

fn plot_rect(h: &Harness<'static, WorkbenchApp>, name: &str) -> egui::Rect {
    *h.state().ui.plot_rects.get(name).unwrap_or_else(|| panic!("no plot {name} drawn"))
}

/// The number a cell or scale text stands for (".1234" is 0.1234).
fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.starts_with('.') { format!("0{t}").parse().ok() } else { t.parse().ok() }
}

/// Decimals written in a number's text.
fn decimals(text: &str) -> usize {
    text.split('.').nth(1).map_or(0, str::len)
}

/// Distinct coordinates, sorted, merging those within 2 points of each other.
fn centres(mut xs: Vec<f32>) -> Vec<f32> {
    xs.sort_by(f32::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() < 2.0);
    xs
}

/// The weights as tick labels under the heatmap's columns and beside its rows: 0, 1/6, …, 1,
/// each at its column's (row's) centre.
fn assert_ticks(shown: &[PaintedText], frame: egui::Rect, cols: &[f32], rows: &[f32]) {
    let expected = ["0.00", "0.17", "0.33", "0.50", "0.67", "0.83", "1.00"];
    let is_tick = |t: &&PaintedText| expected.contains(&t.text.as_str());
    let mut under: Vec<&PaintedText> = shown
        .iter()
        .filter(is_tick)
        .filter(|t| t.rect.top() >= frame.bottom() - 1.0 && t.rect.top() < frame.bottom() + 30.0)
        .filter(|t| frame.x_range().contains(t.rect.center().x))
        .collect();
    under.sort_by(|a, b| a.rect.center().x.total_cmp(&b.rect.center().x));
    assert_eq!(under.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), expected);
    for (t, x) in under.iter().zip(cols) {
        assert!((t.rect.center().x - x).abs() < 2.0, "tick {} is not under its column", t.text);
    }
    let mut beside: Vec<&PaintedText> = shown
        .iter()
        .filter(is_tick)
        .filter(|t| t.rect.right() <= frame.left() + 1.0 && frame.y_range().contains(t.rect.center().y))
        .collect();
    // From the bottom row (a = 0) up.
    beside.sort_by(|a, b| b.rect.center().y.total_cmp(&a.rect.center().y));
    assert_eq!(beside.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), expected);
    for (t, y) in beside.iter().zip(rows.iter().rev()) {
        assert!((t.rect.center().y - y).abs() < 2.0, "tick {} is not beside its row", t.text);
    }
}

#[test]
fn the_heatmap_writes_values_ticks_and_scale_and_frames_the_best_and_the_current_weights_clear_of_the_values() {
    let mut h = tall(Session::default());
    evaluated(&mut h);
    // The heatmap's Run (the weight sweep's comes first); rows ALS, columns item-CF by default.
    h.get_all_by_label("Run").nth(1).expect("the heatmap's Run").click();
    h.run_steps(2);
    wait_until(&mut h, "the grid", |app| app.wb.evaluation().sweep2().is_some() && app.wb.jobs().running().is_empty());
    h.run_steps(3);
    let app = h.state();
    let sweep = app.wb.evaluation().sweep2().expect("grid").clone();
    assert_eq!((sweep.a, sweep.b, sweep.values.len()), (SignalId::ALS, SignalId::ITEM_CF, 7));
    let (wa, wb) = (app.wb.session().fusion.weight(SignalId::ALS), app.wb.session().fusion.weight(SignalId::ITEM_CF));
    let frame = plot_rect(&h, "sweep2");
    let shown = painted_texts(&h);

    // One text per cell, inside the plot, written to at least 3 decimals.
    let cells: Vec<&PaintedText> = shown
        .iter()
        .filter(|t| frame.contains(t.rect.center()) && number(&t.text).is_some() && t.text.contains('.'))
        .collect();
    assert_eq!(cells.len(), 49, "{:?}", cells.iter().map(|t| &t.text).collect::<Vec<_>>());
    let cols = centres(cells.iter().map(|t| t.rect.center().x).collect());
    let rows = centres(cells.iter().map(|t| t.rect.center().y).collect());
    assert_eq!((cols.len(), rows.len()), (7, 7));
    let at = |i: usize, j: usize| -> &PaintedText {
        // Row i (a = values[i]) counts from the bottom: screen y grows downwards.
        let (x, y) = (cols[j], rows[6 - i]);
        cells
            .iter()
            .find(|t| (t.rect.center().x - x).abs() < 2.0 && (t.rect.center().y - y).abs() < 2.0)
            .expect("a cell text")
    };
    for i in 0..7 {
        for j in 0..7 {
            let t = at(i, j);
            let d = decimals(&t.text);
            assert!(d >= 3, "cell ({i}, {j}) says {} (too few decimals)", t.text);
            let v = number(&t.text).expect("a number");
            assert!(
                (v - sweep.grid[i][j]).abs() <= 0.5 * 10f64.powi(-(d as i32)) + 1e-12,
                "cell ({i}, {j}) says {} for {}",
                t.text,
                sweep.grid[i][j]
            );
        }
    }
    // Values a ten-thousandth apart read apart.
    let flat: Vec<(f64, String)> = (0..7)
        .flat_map(|i| (0..7).map(move |j| (i, j)))
        .map(|(i, j)| (sweep.grid[i][j], at(i, j).text.clone()))
        .collect();
    for (v, t) in &flat {
        for (w, u) in &flat {
            assert!((v - w).abs() < 1e-4 || t != u, "{v} and {w} both read {t}");
        }
    }

    assert_ticks(&shown, frame, &cols, &rows);

    // The colour scale names both ends: the grid's lowest and highest values.
    let (lo, hi) = flat.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), (v, _)| (l.min(*v), u.max(*v)));
    let scale = texts(&h).into_iter().find(|t| t.starts_with("colour scale of ndcg@10: ")).expect("a colour scale");
    let ends: Vec<f64> = scale.split(' ').filter_map(number).collect();
    assert_eq!(ends.len(), 2, "{scale}");
    assert!((ends[0] - lo).abs() < 1e-3 && (ends[1] - hi).abs() < 1e-3, "{scale} for {lo}…{hi}");

    // The best cell is framed in red, the cell nearest the current weights in blue on a white
    // band (the grid steps by 1/6), and no frame crosses any cell's value.
    let (bi, bj) = (0..7)
        .flat_map(|i| (0..7).map(move |j| (i, j)))
        .fold((0, 0), |b, (i, j)| if sweep.grid[i][j] > sweep.grid[b.0][b.1] { (i, j) } else { b });
    let nearest = |w: f32| (0..7).min_by(|&p, &q| (p as f32 / 6.0 - w).abs().total_cmp(&(q as f32 / 6.0 - w).abs()));
    let (ci, cj) = (nearest(wa).expect("a row"), nearest(wb).expect("a column"));
    let frames: Vec<(egui::Color32, f32, egui::Rect)> = painted(&h)
        .into_iter()
        .filter(|p| in_plot(p.clip, frame))
        .filter_map(|p| match p.shape {
            Shape::Path(path) if path.points.len() >= 4 => {
                let color = match &path.stroke.color {
                    egui::epaint::ColorMode::Solid(c) => *c,
                    _ => return None,
                };
                Some((color, path.stroke.width, egui::Rect::from_points(&path.points)))
            }
            _ => None,
        })
        .collect();
    let framing = |color: egui::Color32, cell: &PaintedText| {
        frames.iter().find(|(c, _, r)| *c == color && r.contains_rect(cell.rect)).map(|(_, w, r)| (*w, *r))
    };
    let red = framing(theme::ONLY_B, at(bi, bj));
    assert!(red.is_some(), "no red frame around the best cell ({bi}, {bj})");
    let blue = framing(theme::ONLY_A, at(ci, cj));
    assert!(blue.is_some(), "no blue frame around cell ({ci}, {cj}), nearest ALS {wa}, item-CF {wb}");
    let band = frames.iter().find(|(c, w, r)| {
        *c == egui::Color32::WHITE
            && blue.is_some_and(|(bw, br)| *w > bw + 1.0 && (r.center() - br.center()).length() < 1.0)
    });
    assert!(band.is_some(), "no white band wider than the blue frame under it");
    for (_, width, r) in &frames {
        let (outer, inner) = (r.expand(width / 2.0), r.shrink(width / 2.0));
        for t in &cells {
            assert!(
                inner.contains_rect(t.rect) || !outer.intersects(t.rect),
                "a frame at {r:?} crosses the cell value {} at {:?}",
                t.text,
                t.rect
            );
        }
    }
    // Each frame lies inside one cell: between neighbouring column and row centres.
    let (dx, dy) = (cols[1] - cols[0], rows[1] - rows[0]);
    for (_, _, r) in &frames {
        assert!(r.width() < dx && r.height() < dy.abs(), "a frame {r:?} wider than a cell ({dx} × {dy})");
    }
    h.get_by_label_contains("red frame: best ndcg@10 ");
}

#[test]
fn the_metric_bars_error_bars_are_drawn_whole_inside_the_plot() {
    let mut h = tall(Session::default());
    evaluated(&mut h);
    h.run_steps(3);
    let outcome = h.state().wb.evaluation().outcome().expect("outcome");
    let bars = outcome.rows.iter().filter(|r| r.metrics.metrics.contains_key("ndcg@10")).count();
    let frame = plot_rect(&h, "metrics-bars");
    // The whiskers: vertical 2-point lines of width 2 drawn in the plot.
    let whiskers: Vec<(egui::Rect, f32, f32)> = painted(&h)
        .into_iter()
        .filter(|p| in_plot(p.clip, frame))
        .filter_map(|p| {
            let (points, width, _) = support::line_points(&p.shape)?;
            let [a, b] = <[egui::Pos2; 2]>::try_from(points).ok()?;
            ((a.x - b.x).abs() < 0.01 && (width - 2.0).abs() < 0.01).then_some((p.clip, a.y.min(b.y), a.y.max(b.y)))
        })
        .collect();
    assert_eq!(whiskers.len(), bars, "one interval per bar");
    for (clip, top, bottom) in whiskers {
        assert!(top > clip.top() + 0.5, "a whisker's top ({top}) is cut at the plot's top ({})", clip.top());
        assert!(bottom < clip.bottom() - 0.5, "a whisker's bottom ({bottom}) is cut ({})", clip.bottom());
    }
}

#[test]
fn a_long_why_is_cut_with_an_ellipsis_and_shown_whole_on_hover() {
    let mut h = harness(Session::default(), false);
    loaded(&mut h);
    let list: Vec<Vec<String>> = h.state().wb.list().iter().map(|e| e.evidence.clone()).collect();
    let inspector_left = h.get_by_label("Inspector").rect().left();
    let shown = painted_texts(&h);
    let mut cut = Vec::new();
    for evidence in &list {
        let first = evidence.first().expect("every item says why");
        // (The inspector, right of the list, may say the same of the selected item.)
        let t = shown
            .iter()
            .find(|t| &t.text == first && t.rect.left() < inspector_left)
            .unwrap_or_else(|| panic!("“{first}” is not drawn"));
        assert!(t.rect.right() <= inspector_left + 1.0, "“{first}” runs under the inspector");
        if t.elided {
            let kept = t.drawn.strip_suffix('…').unwrap_or_else(|| panic!("cut without an ellipsis: {}", t.drawn));
            assert!(first.starts_with(kept.trim_end()), "{kept} is not the start of {first}");
            cut.push(evidence.clone());
        } else {
            assert_eq!(&t.drawn, first);
        }
    }
    assert!(!cut.is_empty(), "the sample's why-texts at this width are long enough to be cut");
    // The cut text's widget carries the whole sentence, and hovering it shows every sentence.
    let evidence = &cut[0];
    let whole = evidence.join("\n");
    let before = texts(&h).iter().filter(|t| **t == whole).count();
    let at = h
        .query_all_by_label(&evidence[0])
        .map(|n| n.rect())
        .find(|r| r.left() < inspector_left)
        .expect("the why label");
    hover_long(&mut h, at.center());
    assert!(texts(&h).iter().filter(|t| **t == whole).count() > before, "no tooltip with “{whole}”");
}

/// A catalogue with a category and a description column, and shoppers buying from it.
fn described_dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let catalogue = dir.join("described_catalogue.csv");
    let events = dir.join("described_events.csv");
    let mut c = String::from("item_id,title,category,description\n");
    for i in 1..=20 {
        let kind = if i % 2 == 0 { "Teapots" } else { "Cups" };
        c.push_str(&format!("T{i:02},stoneware piece {i},{kind},glazed by hand in batch {i}\n"));
    }
    std::fs::write(&catalogue, c).expect("write catalogue");
    let mut e = String::from("user_id,item_id,timestamp,event_type\n");
    for u in 1..=5u64 {
        for k in 0..4u64 {
            e.push_str(&format!("s{u},T{:02},{},purchase\n", (u * 3 + k * 5) % 20 + 1, 1_600_000_000 + u * 1000 + k));
        }
    }
    std::fs::write(&events, e).expect("write events");
    (catalogue, events)
}

fn session_on(catalogue: PathBuf, events: PathBuf) -> Session {
    let mut s = Session::default();
    s.data.catalogue = Some(catalogue);
    s.data.behaviour = events;
    s.data.users = None;
    s
}

/// The checkboxes of the "Embedded text" editor that name `field` (as "2. field" when it is
/// embedded, as "field" when it can be ticked).
fn field_boxes(h: &Harness<'static, WorkbenchApp>, field: &str) -> usize {
    h.query_all_by(|n| {
        n.role() == egui::accesskit::Role::CheckBox
            && n.label().is_some_and(|l| l == field || l.split_once(". ").is_some_and(|(_, f)| f == field))
    })
    .count()
}

#[test]
fn the_embedded_fields_move_up_and_down_and_an_unmapped_field_is_listed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalogue, events) = described_dataset(dir.path());
    let mut h = harness(session_on(catalogue, events), false);
    loaded(&mut h);
    let fields = |h: &Harness<'static, WorkbenchApp>| h.state().wb.session().model.template.fields.clone();
    assert_eq!(fields(&h), ["title", "category", "brand", "description"]);
    h.get_by_label("Model and device").click();
    h.run();
    for label in ["1. title", "2. category", "3. brand", "4. description"] {
        h.get_by_label(label);
    }
    // The first field has no "up", the last no "down".
    assert!(h.query_by_label("move title up").is_none() && h.query_by_label("move description down").is_none());
    h.get_by_label("move description up").scroll_to_me();
    h.run_steps(3);
    h.get_by_label("move description up").click();
    h.run_steps(3);
    assert_eq!(fields(&h), ["title", "category", "description", "brand"]);
    h.get_by_label("move title down").click();
    h.run_steps(3);
    assert_eq!(fields(&h), ["category", "title", "description", "brand"]);
    h.get_by_label("2. title");
    loaded(&mut h);

    // Unmapped from its role, the category column is still a text field: listed once.
    h.get_all_by_label("Columns…").next().expect("the catalogue's Columns…").click();
    h.run_steps(3);
    h.get_by_label("column for category").click();
    h.run();
    h.get_by(|n| n.label().as_deref() == Some("—") && n.role() != egui::accesskit::Role::Label).click();
    h.run_steps(3);
    wait_until(&mut h, "the reload", |app| {
        app.wb.session().data.catalogue_mapping.overrides.contains_key(&recfuse::data::Role::Category)
            && app.wb.engine().is_some_and(|e| !e.catalogue().has_categories())
            && app.wb.jobs().running().is_empty()
    });
    for field in ["title", "category", "description", "brand"] {
        assert_eq!(field_boxes(&h, field), 1, "{field} listed {} times", field_boxes(&h, field));
    }
}

/// 24 products under four titles (as a grocery catalogue has many "FLUID MILK WHITE ONLY"),
/// and shoppers with different histories.
fn alike_titles_dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let catalogue = dir.join("alike_catalogue.csv");
    let events = dir.join("alike_events.csv");
    let names = ["FLUID MILK WHITE ONLY", "BANANAS", "EGGS LARGE", "WHITE BREAD"];
    let mut c = String::from("item_id,title\n");
    for i in 1..=24 {
        c.push_str(&format!("P{i:02},{}\n", names[i % 4]));
    }
    std::fs::write(&catalogue, c).expect("write catalogue");
    let mut e = String::from("user_id,item_id,timestamp,event_type\n");
    let mut t = 1_600_000_000u64;
    let mut buy = |u: &str, item: u64| {
        t += 600;
        e.push_str(&format!("{u},P{item:02},{t},purchase\n"));
    };
    // a bought P01–P06, b P13–P18; the others a bit of everything.
    for item in 1..=6 {
        buy("a", item);
    }
    for item in 13..=18 {
        buy("b", item);
    }
    for u in 1..=8u64 {
        for k in 0..5u64 {
            buy(&format!("o{u}"), (u * 7 + k * 5) % 24 + 1);
        }
    }
    std::fs::write(&events, e).expect("write events");
    (catalogue, events)
}

/// The Compare rows: (side, position, accessible label).
fn compare_rows(h: &Harness<'static, WorkbenchApp>) -> Vec<(char, usize, String)> {
    h.query_all_by(|n| n.role() == egui::accesskit::Role::Button)
        .filter_map(|n| {
            let label = n.accesskit_node().label()?;
            let (side, rest) = label.split_once(' ')?;
            let side = match side {
                "A" => 'A',
                "B" => 'B',
                _ => return None,
            };
            let (position, _) = rest.trim_start().split_once(". ")?;
            Some((side, position.parse::<usize>().ok()?, label.clone()))
        })
        .collect()
}

#[test]
fn compare_tells_apart_different_products_with_the_same_title() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalogue, events) = alike_titles_dataset(dir.path());
    let mut h = harness(session_on(catalogue, events), false);
    loaded(&mut h);
    type_and_enter(&mut h, "search id", "a");
    assert_eq!(h.state().wb.session().selection.shopper.as_deref(), Some("a"));
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Two shoppers").click();
    h.run();
    type_and_enter(&mut h, "shopper id", "b");
    wait_until(&mut h, "B's list", |app| app.wb.compare().shopper_b() == "b" && !app.wb.compare().list_b().is_empty());
    h.run_steps(3);
    let app = h.state();
    let cat = app.wb.engine().expect("engine").catalogue();
    let a: Vec<u32> = app.wb.list().iter().map(|e| e.ranked.item).collect();
    let b: Vec<u32> = app.wb.compare().list_b().to_vec();
    let shown: Vec<u32> = a.iter().chain(&b).copied().collect();
    // The case that read wrongly: a product only in A beside another of the same title only in B.
    assert!(
        a.iter().any(|x| !b.contains(x) && b.iter().any(|y| !a.contains(y) && cat.title(*y) == cat.title(*x))),
        "the fixture must give such a pair: A {a:?}, B {b:?}"
    );
    let rows = compare_rows(&h);
    assert_eq!(rows.len(), a.len() + b.len(), "{rows:?}");
    let mut names: Vec<(u32, String)> = Vec::new();
    for (side, position, label) in &rows {
        let (list, other) = if *side == 'A' { (&a, &b) } else { (&b, &a) };
        let item = list[position - 1];
        let id = cat.ids.name(item);
        let only = !other.contains(&item);
        assert_eq!(label.ends_with(&format!("(only in {side})")), only, "{label}: {id} only in {side} is {only}");
        let alike = shown.iter().any(|&o| o != item && cat.title(o) == cat.title(item));
        assert_eq!(label.contains(id), alike, "{label}: the id {id} is shown iff another product has its title");
        let name = label.split_once(". ").expect("a position").1.trim_end_matches(&format!(" (only in {side})"));
        names.push((item, name.to_owned()));
    }
    for (x, n) in &names {
        for (y, m) in &names {
            assert!(x == y || n != m, "{} and {} both read “{n}”", cat.ids.name(*x), cat.ids.name(*y));
        }
    }
}

#[test]
fn the_shoppers_history_in_explore_has_a_colour_of_its_own_and_a_legend_entry() {
    // An empty embedding cache (the only test of this binary that embeds or reads it).
    let cache = tempfile::tempdir().expect("tempdir");
    // SAFETY: set before this test's harness starts a thread; the other tests of this binary
    // do not embed and do not read the variable.
    unsafe { std::env::set_var("RECFUSE_CACHE_DIR", cache.path()) };
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalogue, events) = described_dataset(dir.path());
    let mut h = harness(session_on(catalogue, events), true);
    wait_until(&mut h, "the map", |app| {
        app.wb.embedding().projection().is_some() && app.wb.target().is_some() && app.wb.jobs().running().is_empty()
    });
    h.get_by_label("Explore").click();
    h.run_steps(3);
    let history = h.state().wb.target().expect("a shopper").profile.items.len();
    assert!(history > 0);
    let far = |c: egui::Color32| {
        let d = |x: u8, y: u8| (f32::from(x) - f32::from(y)).powi(2);
        (d(c.r(), theme::HISTORY.r()) + d(c.g(), theme::HISTORY.g()) + d(c.b(), theme::HISTORY.b())).sqrt() > 80.0
    };
    for colour_by in ["category", "popularity", "cluster"] {
        h.get_by(|n| n.label().as_deref() == Some(colour_by) && n.role() == egui::accesskit::Role::Button).click();
        h.run_steps(3);
        h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "shopper's history");
        h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "recommended");
        let frame = plot_rect(&h, "explore");
        let mut squares = 0;
        // The legend's entries (each with a dot of its series' colour) are not map marks.
        let legend: Vec<egui::Rect> = h
            .query_all_by(|n| n.role() == egui::accesskit::Role::CheckBox)
            .map(|n| n.rect())
            .filter(|r| frame.contains_rect(*r))
            .collect();
        for p in painted(&h).into_iter().filter(|p| in_plot(p.clip, frame)) {
            let centre = p.shape.visual_bounding_rect().center();
            if legend.iter().any(|r| r.contains(centre)) {
                continue;
            }
            let is_history =
                matches!(&p.shape, Shape::Path(s) if s.closed && s.points.len() == 4 && s.fill == theme::HISTORY);
            if is_history {
                squares += 1;
            } else {
                for c in support::colours(&p.shape) {
                    assert!(
                        far(c),
                        "coloured by {colour_by}: a map mark is drawn in {c:?}, too close to the history's colour"
                    );
                }
            }
        }
        assert_eq!(squares, history, "coloured by {colour_by}: one square per item of the history");
    }
}

#[test]
fn the_data_charts_label_their_event_counts_in_thousands() {
    let mut h = tall(Session::default());
    loaded(&mut h);
    h.get_by_label("Data").click();
    h.run_steps(3);
    let frame = plot_rect(&h, "event-types");
    let shown = painted_texts(&h);
    // The y axis's labels, left of the plot and within its height. The sample has about
    // 36,000 purchases, so the axis runs past 30,000: written 10k, 20k, 30k.
    let beside: Vec<&str> = shown
        .iter()
        .filter(|t| t.rect.right() <= frame.left() + 1.0 && frame.y_range().contains(t.rect.center().y))
        .map(|t| t.text.as_str())
        .collect();
    for label in ["10k", "20k", "30k"] {
        assert!(beside.contains(&label), "no {label} beside the events-by-type chart: {beside:?}");
    }
    assert!(!beside.iter().any(|t| t.len() > 4 && t.chars().all(|c| c.is_ascii_digit())), "{beside:?}");
}
