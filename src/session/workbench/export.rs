//! Exports: the current list as CSV, metrics as CSV or JSON, and a self-contained HTML
//! report (configuration, metrics, plots as inline SVG, top lists). Shopper ids are
//! pseudonymised when the privacy switch is on.

use std::fmt::Write as _;
use std::path::Path;

use super::{NoticeLevel, Workbench};
use crate::session::command::{Command, ExportKind};
use crate::session::engine::Target;
use crate::session::{Session, write_atomic};

impl Workbench {
    /// Saving and loading the session, the privacy switch, exports and notices.
    pub(super) fn handle_session(&mut self, command: Command) {
        match command {
            Command::SaveSession(path) => match self.session.save(&path) {
                Ok(()) => {
                    self.notify(NoticeLevel::Info, format!("session saved to {}", path.display()));
                    self.save_ranker(&path);
                    self.save_transformer(&path);
                    self.session_path = Some(path);
                }
                Err(e) => self.notify(NoticeLevel::Error, format!("could not save the session: {e}")),
            },
            Command::LoadSession(path) => match Session::load(&path) {
                Ok(s) => {
                    self.session = s;
                    self.load_ranker(&path);
                    self.load_transformer(&path);
                    self.session_path = Some(path);
                    self.reload();
                }
                Err(e) => self.notify(NoticeLevel::Error, format!("could not load the session: {e}")),
            },
            Command::SetPrivacy(on) => self.session.privacy = on,
            Command::Export { kind: ExportKind::AllShoppersParquet, path } => self.start_batch_export(path),
            Command::Export { kind, path } => match export(self, kind, &path) {
                Ok(()) => self.notify(NoticeLevel::Info, format!("exported {}", path.display())),
                Err(e) => self.notify(NoticeLevel::Error, format!("export failed: {e}")),
            },
            Command::DismissNotice(i) => self.notices.dismiss(i),
            _ => {}
        }
    }
}

/// Writes an export to `path` (atomically).
pub fn export(wb: &Workbench, kind: ExportKind, path: &Path) -> Result<(), String> {
    let text = match kind {
        ExportKind::ListCsv => list_csv(wb),
        ExportKind::MetricsCsv => metrics_csv(wb)?,
        ExportKind::MetricsJson => metrics_json(wb)?,
        ExportKind::HtmlReport => html_report(wb),
        ExportKind::AllShoppersParquet => return Err("every shopper's list is written by a background job".to_owned()),
        ExportKind::Profile(format) => {
            crate::session::profile::render(&crate::session::profile::Profile::from_session(wb.session()), format)
        }
    };
    write_atomic(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

fn who(wb: &Workbench) -> String {
    match wb.target().map(|t| &t.target) {
        Some(Target::Shopper(id)) => wb.display_user(id),
        Some(Target::Search { query, .. }) => format!("query: {}", query.text),
        None => String::new(),
    }
}

/// The current list: rank, item, title, score, one column per signal, evidence.
pub fn list_csv(wb: &Workbench) -> String {
    let mut out = String::new();
    let signals: Vec<_> =
        wb.list().first().map(|e| e.contributions.iter().map(|(s, _)| *s).collect()).unwrap_or_default();
    let _ = write!(out, "for,rank,item_id,title,score,fused_score");
    for s in &signals {
        let _ = write!(out, ",{}", s.id());
    }
    let _ = writeln!(out, ",rules,evidence");
    let Some(engine) = wb.engine() else { return out };
    let cat = engine.catalogue();
    let target = who(wb);
    for e in wb.list() {
        let _ = write!(
            out,
            "{},{},{},{},{},{}",
            csv_field(&target),
            e.position,
            csv_field(cat.ids.name(e.ranked.item)),
            csv_field(cat.title(e.ranked.item)),
            e.ranked.score,
            e.ranked.fused
        );
        for (_, v) in &e.contributions {
            let _ = write!(out, ",{v}");
        }
        let rules: Vec<String> = e.ranked.rule_effects.iter().map(|r| format!("{} {:+}", r.rule, r.delta)).collect();
        let _ = writeln!(out, ",{},{}", csv_field(&rules.join("; ")), csv_field(&e.evidence.join("; ")));
    }
    out
}

fn metrics_csv(wb: &Workbench) -> Result<String, String> {
    let outcome = wb.evaluation().outcome().ok_or("run an evaluation first")?;
    let mut out = String::from("row,kind,metric,value,ci_low,ci_high\n");
    for row in &outcome.rows {
        for (m, e) in &row.metrics.metrics {
            let _ = writeln!(out, "{},{:?},{},{},{},{}", csv_field(&row.name), row.kind, m, e.value, e.ci.0, e.ci.1);
        }
    }
    Ok(out)
}

fn metrics_json(wb: &Workbench) -> Result<String, String> {
    let outcome = wb.evaluation().outcome().ok_or("run an evaluation first")?;
    let value = crate::eval::report::outcome_json(outcome);
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart with error bars, as inline SVG.
fn bar_chart_svg(title: &str, rows: &[(String, f64, (f64, f64))]) -> String {
    let width = 640.0;
    let row_h = 22.0;
    let left = 150.0;
    let height = 40.0 + row_h * rows.len() as f64;
    let max = rows.iter().map(|r| r.2.1.max(r.1)).fold(0.0f64, f64::max).max(1e-9);
    let scale = (width - left - 60.0) / max;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <text x=\"4\" y=\"16\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    for (i, (name, v, (lo, hi))) in rows.iter().enumerate() {
        let y = 28.0 + i as f64 * row_h;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{}\" width=\"{}\" height=\"14\" fill=\"#4e79a7\"/>\
             <line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#222\"/>\
             <text x=\"{}\" y=\"{}\">{v:.4}</text>",
            left - 6.0,
            y + 11.0,
            esc(name),
            y,
            (v * scale).max(0.0),
            left + lo * scale,
            left + hi * scale,
            y + 7.0,
            y + 7.0,
            left + hi.max(*v) * scale + 6.0,
            y + 11.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line chart of (x, y) points as inline SVG.
fn line_chart_svg(title: &str, points: &[(f64, f64, f64, f64)]) -> String {
    let (w, h, pad) = (640.0, 260.0, 40.0);
    let xmax = points.iter().map(|p| p.0).fold(0.0f64, f64::max).max(1e-9);
    let ymax = points.iter().map(|p| p.3).fold(0.0f64, f64::max).max(1e-9);
    let x = |v: f64| pad + v / xmax * (w - 2.0 * pad);
    let y = |v: f64| h - pad - v / ymax * (h - 2.0 * pad);
    let path: Vec<String> = points.iter().map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1))).collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <text x=\"4\" y=\"16\" font-weight=\"bold\">{}</text>\
         <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"#888\"/>\
         <polyline fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\" points=\"{}\"/>",
        esc(title),
        h - pad,
        w - pad,
        h - pad,
        h - pad,
        path.join(" ")
    );
    for p in points {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#e15759\"/>",
            x(p.0),
            y(p.2),
            y(p.3)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\">weight</text><text x=\"4\" y=\"{}\">{ymax:.3}</text></svg>",
        w - pad - 30.0,
        h - 8.0,
        pad
    );
    svg
}

/// The data summary.
fn data_section(wb: &Workbench, html: &mut String) {
    if let Some(ds) = wb.dataset() {
        let r = &ds.report;
        let files: Vec<String> = r.files.iter().map(|f| esc(&crate::data::format::short_name(&f.path))).collect();
        let _ = write!(
            html,
            "<h2>Data</h2><p>{} — {} items, {} shoppers, {} events",
            files.join(", "),
            r.items,
            r.users,
            r.events
        );
        if let Some((a, b)) = r.time_span {
            let _ = write!(
                html,
                ", {} to {}",
                crate::data::timestamp::format_date(a),
                crate::data::timestamp::format_date(b)
            );
        }
        html.push_str(".</p>");
    }
}

/// Fusion settings and rules.
fn config_section(wb: &Workbench, html: &mut String) {
    let config = wb.session().fusion.clone();
    let _ = write!(html, "<h2>Configuration</h2><p>Fusion: <b>{}</b>", config.method.id());
    let _ = write!(
        html,
        ", {} candidates per signal, {}.</p>",
        config.candidates_per_signal,
        if config.exclude_seen { "already-seen items excluded" } else { "repeats allowed" }
    );
    if config.method == crate::fusion::FusionMethod::Learned {
        match wb.engine().and_then(|e| e.ranker.as_ref()) {
            Some(r) => {
                let _ = write!(
                    html,
                    "<p>The learned ranker orders the lists: {}. The weighted sum below ranks search \
                     results (the ranker ranks shoppers' recommendations only).</p>",
                    esc(&r.describe())
                );
            }
            None => {
                html.push_str("<p>No learned ranker is trained or loaded: the lists use the weighted sum below.</p>")
            }
        }
    }
    html.push_str("<table><tr><th>signal</th><th>weight</th><th>normalisation</th></tr>");
    for (s, setting) in &config.signals {
        if setting.enabled && setting.weight != 0.0 {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
                s.label(),
                setting.weight,
                setting.normalisation.id()
            );
        }
    }
    html.push_str("</table>");
    if !wb.session().rules.is_empty() {
        html.push_str("<h3>Merchandising rules</h3><ul>");
        for r in &wb.session().rules {
            let _ = write!(
                html,
                "<li>{}: {}{}</li>",
                esc(&r.name),
                esc(&r.describe()),
                if r.enabled { "" } else { " (off)" }
            );
        }
        html.push_str("</ul>");
    }
}

/// The last evaluation: metrics table, bar chart, sweep.
fn evaluation_section(wb: &Workbench, html: &mut String) {
    if let Some(outcome) = wb.evaluation().outcome() {
        let k = outcome.request.ks.first().copied().unwrap_or(10);
        let _ = write!(
            html,
            "<h2>Offline evaluation</h2><p>{} split, {} shoppers evaluated, {} train / {} test events; 95 % bootstrap intervals over shoppers.</p>",
            outcome.split, outcome.users, outcome.events.0, outcome.events.1
        );
        let keys = [format!("ndcg@{k}"), format!("recall@{k}"), format!("precision@{k}"), format!("coverage@{k}")];
        html.push_str("<table><tr><th>configuration</th>");
        for key in &keys {
            let _ = write!(html, "<th>{key}</th>");
        }
        html.push_str("</tr>");
        let mut bars = Vec::new();
        for row in &outcome.rows {
            let _ = write!(html, "<tr><td>{} ({:?})</td>", esc(&row.name), row.kind);
            for key in &keys {
                match row.metrics.metrics.get(key) {
                    Some(e) => {
                        let _ = write!(html, "<td>{:.4} [{:.4}, {:.4}]</td>", e.value, e.ci.0, e.ci.1);
                    }
                    None => html.push_str("<td>–</td>"),
                }
            }
            html.push_str("</tr>");
            if let Some(e) = row.metrics.metrics.get(&keys[0]) {
                bars.push((row.name.clone(), e.value, e.ci));
            }
        }
        html.push_str("</table>");
        html.push_str(&bar_chart_svg(&format!("NDCG@{k} with 95 % intervals"), &bars));
        if let Some(s) = wb.evaluation().sweep1() {
            let pts: Vec<(f64, f64, f64, f64)> =
                s.points.iter().map(|(w, e)| (f64::from(*w), e.value, e.ci.0, e.ci.1)).collect();
            html.push_str(&line_chart_svg(&format!("{} as the {} weight varies", s.metric, s.signal.label()), &pts));
        }
    }
}

/// Top lists of the current shopper and the two heaviest.
fn top_lists(wb: &Workbench, html: &mut String) {
    let config = &wb.session().fusion;
    // Top lists: the current shopper and the two heaviest.
    if let Some(engine) = wb.engine() {
        let mut shoppers: Vec<String> = wb.session().selection.shopper.clone().into_iter().collect();
        for s in wb.heaviest_shoppers(2) {
            if !shoppers.contains(&s) {
                shoppers.push(s);
            }
        }
        html.push_str("<h2>Top recommendations</h2>");
        for s in shoppers {
            let mut state = engine.prepare_target(Target::Shopper(s.clone()), config, &wb.session().rules);
            let items = engine.explain(&mut state, config, &wb.session().rules, wb.session().selection.k);
            let _ = write!(
                html,
                "<h3>Shopper {}</h3><table><tr><th>#</th><th>item</th><th>score</th><th>why</th></tr>",
                esc(&wb.display_user(&s))
            );
            for e in items {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td class=\"ev\">{}</td></tr>",
                    e.position,
                    esc(engine.catalogue().title(e.ranked.item)),
                    e.ranked.score,
                    esc(&e.evidence.join("; "))
                );
            }
            html.push_str("</table>");
        }
    }
}

/// The stakeholder report: one HTML file with no external resources.
pub fn html_report(wb: &Workbench) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>RecFuse report</title><style>\
         body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
         th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}.ev{color:#555;font-size:90%}\
         </style></head><body><h1>RecFuse report</h1>",
    );
    data_section(wb, &mut html);
    config_section(wb, &mut html);
    evaluation_section(wb, &mut html);
    top_lists(wb, &mut html);
    html.push_str("<p class=\"ev\">Generated by RecFuse.</p></body></html>");
    html
}
