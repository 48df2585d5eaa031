//! The left panel: data files (in `data_files.rs`), model and device, signals (enable, weight,
//! normalisation), fusion settings, presets, rules and the session.

use eframe::egui;

use crate::fusion::{CandidateSource, FusionMethod, Normalisation};
use crate::score::SignalId;
use crate::session::profile::ProfileFormat;
use crate::session::{Command, ExportKind, Mode, Preset};
use crate::ui::context::PanelContext;
use crate::ui::state::DialogPurpose;
use crate::ui::theme;

/// Draws the left panel.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::Panel::left("config-panel").resizable(true).default_size(330.0).min_size(260.0).show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("RecFuse");
            super::data_files::data_section(ui, cx);
            model_section(ui, cx);
            signals_section(ui, cx);
            external_section(ui, cx);
            fusion_section(ui, cx);
            super::rules::rules_section(ui, cx);
            session_section(ui, cx);
        });
    });
}

fn model_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::CollapsingHeader::new("Model and device").show(ui, |ui| {
        let dir = cx
            .wb
            .session()
            .model
            .model_dir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "bundled all-MiniLM-L6-v2".to_owned());
        ui.horizontal(|ui| {
            ui.label(crate::data::report::shorten(&dir, 34));
            if ui.small_button("Folder…").clicked() {
                cx.commands.open_dialog(DialogPurpose::ModelDir);
            }
            if cx.wb.session().model.model_dir.is_some() && ui.small_button("Bundled").clicked() {
                cx.commands.push(Command::SetModelDir(None));
            }
        });
        let mut device = cx.wb.session().model.device.clone();
        egui::ComboBox::from_label("device").selected_text(device.clone()).show_ui(ui, |ui| {
            for d in ["auto", "cpu", "cuda", "metal"] {
                ui.selectable_value(&mut device, d.to_owned(), d);
            }
        });
        if device != cx.wb.session().model.device {
            cx.commands.push(Command::SetDevice(device));
        }
        let mut precision = cx.wb.session().model.precision;
        egui::ComboBox::from_label("precision").selected_text(precision.to_string()).show_ui(ui, |ui| {
            for p in crate::embed::EmbedPrecision::ALL {
                ui.selectable_value(&mut precision, p, p.to_string()).on_hover_text(p.describe());
            }
        });
        if precision != cx.wb.session().model.precision {
            cx.commands.push(Command::SetPrecision(precision));
        }
        ui.label("Embedded text (in order):");
        let available = cx.wb.dataset().map(|d| d.catalogue.text_field_names()).unwrap_or_default();
        let fields = cx.wb.session().model.template.fields.clone();
        if let Some(new) = template_fields_editor(ui, &available, &fields) {
            cx.commands.push(Command::SetTemplateFields(new));
        }
    });
}

/// The embedded fields in their order (each once, with buttons to move it earlier or later),
/// then the other available fields to tick; returns the new list when it changed.
fn template_fields_editor(ui: &mut egui::Ui, available: &[String], fields: &[String]) -> Option<Vec<String>> {
    let mut chosen: Vec<String> = Vec::new();
    for f in fields {
        if !chosen.contains(f) {
            chosen.push(f.clone());
        }
    }
    let mut changed = chosen.len() != fields.len();
    let mut new = chosen.clone();
    let last = chosen.len().saturating_sub(1);
    for (i, f) in chosen.iter().enumerate() {
        ui.horizontal(|ui| {
            let mut on = true;
            if ui.checkbox(&mut on, format!("{}. {f}", i + 1)).changed() {
                new.retain(|x| x != f);
                changed = true;
            }
            // Words, not arrow glyphs: every font has them, and they say what they do.
            for (show, text, step) in [(i > 0, "up", -1isize), (i < last, "down", 1)] {
                if show
                    && ui
                        .small_button(text)
                        .accessible_name(format!("move {f} {text}"))
                        .on_hover_text(format!("Embed {f} {}", if step < 0 { "earlier" } else { "later" }))
                        .clicked()
                {
                    move_field(&mut new, f, step);
                    changed = true;
                }
            }
        });
    }
    ui.horizontal_wrapped(|ui| {
        for f in available.iter().filter(|f| !chosen.contains(f)) {
            let mut on = false;
            if ui.checkbox(&mut on, f.as_str()).changed() {
                new.push(f.clone());
                changed = true;
            }
        }
    });
    changed.then_some(new)
}

/// Moves `field` one place earlier (`step` −1) or later (+1) in `fields`, if it can.
fn move_field(fields: &mut [String], field: &str, step: isize) {
    let Some(at) = fields.iter().position(|x| x == field) else { return };
    let Some(to) = at.checked_add_signed(step).filter(|&to| to < fields.len()) else { return };
    fields.swap(at, to);
}

/// Where candidates come from (`--candidates` on the command line): every item scored, each
/// signal's index, or by catalogue size.
fn candidate_source(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, current: CandidateSource) {
    let label = |s: CandidateSource| match s {
        CandidateSource::Auto => "auto (index from 100,000 items)",
        CandidateSource::Exhaustive => "every item (exact)",
        CandidateSource::Index => "index (each signal's top-N)",
    };
    let items = cx.wb.engine().map_or(0, |e| e.catalogue().len());
    let path = if current.uses_index(items) { "index" } else { "every item scored" };
    let mut choice = current;
    ui.horizontal(|ui| {
        ui.label("candidates from");
        egui::ComboBox::from_id_salt("candidate-source")
            .selected_text(label(choice))
            .show_ui(ui, |ui| {
                for s in CandidateSource::ALL {
                    ui.selectable_value(&mut choice, s, label(s));
                }
            })
            .response
            .accessible_name("candidates from")
            .on_hover_text(format!(
                "Where each shopper's candidates come from: every item scored by every signal (exact), or each \
                 signal's top-N from an index (inverted lists, sorted heads, IVF over the ALS factors and the \
                 embeddings), then only those scored. This catalogue ({items} items) takes: {path}"
            ));
    });
    if choice != current {
        cx.commands.push(Command::SetCandidateSource(choice));
    }
}

fn signals_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let mode = cx.wb.session().selection.mode;
    let title = match mode {
        Mode::Recommend => "Signals",
        Mode::Search => "Signals (search mode)",
    };
    egui::CollapsingHeader::new(title).default_open(true).show(ui, |ui| {
        let config = cx.wb.fusion().clone();
        let unavailable = cx.wb.engine().map(|e| e.models.unavailable.clone()).unwrap_or_default();
        let external: Vec<SignalId> = cx.wb.engine().map(|e| e.external_ids()).unwrap_or_default();
        let signals: Vec<SignalId> = match mode {
            Mode::Recommend => {
                SignalId::recommend().filter(|s| !s.is_external() || external.contains(s)).collect::<Vec<_>>()
            }
            Mode::Search => SignalId::search().collect::<Vec<_>>(),
        };
        egui::Grid::new("signals-grid").num_columns(3).spacing([6.0, 4.0]).show(ui, |ui| {
            for s in signals {
                let setting = config.signals.get(&s).copied().unwrap_or_default();
                let missing = unavailable.get(&s);
                signal_name_cell(ui, cx, s, setting.enabled, missing.map(String::as_str));
                let mut w = setting.weight;
                // A trainable signal's weight stays movable: moving it above 0 trains it.
                let movable = missing.is_none() || cx.wb.is_trainable(s);
                let slider = ui
                    .add_enabled(setting.enabled && movable, egui::Slider::new(&mut w, 0.0..=1.0).show_value(true))
                    .accessible_name(format!("{} weight", s.label()));
                if slider.changed() {
                    cx.commands.push(Command::SetWeight(s, w));
                }
                if missing.is_some() && cx.wb.is_trainable(s) {
                    train_cell(ui, cx);
                    ui.end_row();
                    continue;
                }
                let mut n = setting.normalisation;
                egui::ComboBox::from_id_salt(("norm", s.id()))
                    .width(84.0)
                    .selected_text(n.id())
                    .show_ui(ui, |ui| {
                        for option in Normalisation::ALL {
                            ui.selectable_value(&mut n, option, option.id());
                        }
                    })
                    .response
                    .accessible_name(format!("{} normalisation", s.label()));
                if n != setting.normalisation {
                    cx.commands.push(Command::SetNormalisation(s, n));
                }
                ui.end_row();
            }
        });
        training_line(ui, cx);
    });
}

/// A signal's switch, colour and name; an unavailable one says why on hover, and a
/// trainable one that is not trained yet has a Train button.
fn signal_name_cell(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, s: SignalId, enabled: bool, missing: Option<&str>) {
    ui.horizontal(|ui| {
        let mut on = enabled;
        let r = ui.checkbox(&mut on, "").accessible_name(format!("{} enabled", s.label()));
        if r.changed() {
            cx.commands.push(Command::SetSignalEnabled(s, on));
        }
        let (rect, p) = ui.allocate_painter(egui::Vec2::splat(10.0), egui::Sense::hover());
        p.rect_filled(rect.rect, 2.0, theme::signal_color(s));
        let trainable = cx.wb.is_trainable(s);
        let label = ui.label(s.label());
        let Some(why) = missing else { return };
        if !trainable {
            label.on_hover_text(format!("unavailable: {why}"));
            return;
        }
        let hover = if why == crate::score::transformer::OFF_BY_DEFAULT {
            "off by default: training takes time (seconds to minutes). Train it, or move its weight above 0, \
             to train it on the loaded data in the background"
                .to_owned()
        } else {
            format!("unavailable: {why}. Train to try again")
        };
        label.on_hover_text(hover);
    });
}

/// In place of a trainable, untrained signal's normalisation (which has nothing to
/// normalise yet, and keeps the column as wide as the others): Train, or a spinner.
fn train_cell(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    if cx.wb.is_running(crate::session::workbench::job::TRAIN) {
        ui.spinner().on_hover_text("training (progress and cancel in the status bar)");
    } else if ui
        .small_button("Train")
        .on_hover_text("Train it on the loaded data in the background (seconds to minutes)")
        .clicked()
    {
        cx.commands.push(Command::TrainTransformer);
    }
}

/// The transformer's training numbers: the last epoch while it trains, the kept one after.
fn training_line(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    use crate::session::workbench::training::epoch_line;
    let training = cx.wb.training();
    let text = if cx.wb.is_running(crate::session::workbench::job::TRAIN) {
        match training.epochs().last() {
            Some(e) => format!("Transformer training: {}", epoch_line(e)),
            None => "Transformer training: first epoch…".to_owned(),
        }
    } else {
        let installed = cx.wb.engine().is_some_and(|e| e.models.scorers.contains_key(&SignalId::TRANSFORMER));
        match training.last().filter(|_| installed).and_then(|r| r.epochs.iter().find(|e| e.epoch == r.best_epoch)) {
            Some(e) => format!("Transformer trained, kept {}", epoch_line(e)),
            None => return,
        }
    };
    ui.label(egui::RichText::new(text).small().weak());
}

/// Score files imported as external signals: add one (a file, or a folder of Spark part
/// files), see what reading it found, remove it. Their weight sliders are in the signal
/// list above.
fn external_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::CollapsingHeader::new("External signals").default_open(true).show(ui, |ui| {
        ui.horizontal(|ui| {
            if ui
                .button("Add signal from file…")
                .on_hover_text(
                    "A table user_id, item_id, score (or user_id, item_id, signal, score): CSV, Parquet, gzip",
                )
                .clicked()
            {
                cx.commands.open_dialog(DialogPurpose::SignalFile);
            }
            if ui.small_button("Folder…").on_hover_text("A folder of part-* files, as Spark writes them").clicked() {
                cx.commands.open_dialog(DialogPurpose::SignalFolder);
            }
            if cx.wb.is_running(crate::session::workbench::job::SIGNALS) {
                ui.spinner().on_hover_text("reading a score file");
            }
        });
        let mut remove = None;
        for loaded in cx.wb.external_signals() {
            ui.horizontal(|ui| {
                let ids: Vec<String> = loaded.ids().iter().map(|s| s.id().to_owned()).collect();
                ui.label(egui::RichText::new(ids.join(", ")).strong())
                    .on_hover_text(loaded.file.path.display().to_string());
                ui.label(format!("from {}", loaded.report.file));
                if ui.small_button("remove").on_hover_text("Remove this score file and its signals").clicked() {
                    remove = Some(loaded.file.name.clone());
                }
            });
            let summary = ui.label(egui::RichText::new(loaded.report.summary()).small().weak());
            if !loaded.report.examples.is_empty() {
                summary.on_hover_text(loaded.report.examples.join("\n"));
            }
        }
        for (file, why) in cx.wb.failed_signal_files() {
            ui.horizontal(|ui| {
                ui.colored_label(theme::ERROR, format!("{}: not loaded", file.name)).on_hover_text(why);
                if ui.small_button("remove").on_hover_text("Remove this score file").clicked() {
                    remove = Some(file.name.clone());
                }
            });
        }
        if let Some(name) = remove {
            cx.commands.push(Command::RemoveSignalFile(name));
        }
    });
}

fn fusion_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::CollapsingHeader::new("Fusion").default_open(true).show(ui, |ui| {
        let config = cx.wb.fusion().clone();
        let mut method = config.method;
        egui::ComboBox::from_label("method").selected_text(method.id()).show_ui(ui, |ui| {
            for m in FusionMethod::ALL {
                ui.selectable_value(&mut method, m, m.id());
            }
        });
        if method != config.method {
            cx.commands.push(Command::SetMethod(method));
        }
        if config.method == FusionMethod::Rrf {
            let mut k = config.rrf_k;
            if ui.add(egui::Slider::new(&mut k, 1.0..=200.0).text("RRF k")).changed() {
                cx.commands.push(Command::SetRrfK(k));
            }
        }
        let mut n = config.candidates_per_signal;
        if ui.add(egui::DragValue::new(&mut n).range(10..=5000).prefix("candidates per signal: ")).changed() {
            cx.commands.push(Command::SetCandidates(n));
        }
        candidate_source(ui, cx, config.candidate_source);
        let mut exclude = config.exclude_seen;
        if ui
            .checkbox(&mut exclude, "exclude already-seen items")
            .on_hover_text("Leaves out every item the shopper interacted with (any event, any rating). Off = allow repeats (consumables)")
            .changed()
        {
            cx.commands.push(Command::SetExcludeSeen(exclude));
        }
        let mut collapse = config.collapse_duplicates;
        if ui
            .checkbox(&mut collapse, "one slot per duplicate title")
            .on_hover_text("Items with the same cleaned title (and brand) take one slot: the best-scoring one")
            .changed()
        {
            cx.commands.push(Command::SetCollapseDuplicates(collapse));
        }
        let mut lambda = config.mmr_lambda;
        if ui.add(egui::Slider::new(&mut lambda, 0.0..=1.0).text("MMR λ (1 = off)")).changed() {
            cx.commands.push(Command::SetMmrLambda(lambda));
        }
        let mut cap = config.category_cap;
        if ui
            .add(egui::DragValue::new(&mut cap).range(0..=50).prefix("per-category cap: "))
            .on_hover_text("0 = no cap")
            .changed()
        {
            cx.commands.push(Command::SetCategoryCap(cap));
        }
        let mut k = cx.wb.session().selection.k;
        if ui.add(egui::DragValue::new(&mut k).range(1..=100).prefix("list length K: ")).changed() {
            cx.commands.push(Command::SetK(k));
        }
        ui.horizontal(|ui| {
            ui.label("Preset:");
            if ui.button("Default").clicked() {
                cx.commands.push(Command::ApplyPreset(Preset::Default));
            }
            let tuned = cx.wb.evaluation().tuned().is_some();
            if ui
                .add_enabled(tuned, egui::Button::new("Tuned"))
                .on_disabled_hover_text("Run Tune in the Evaluate tab first")
                .clicked()
            {
                cx.commands.push(Command::ApplyPreset(Preset::Tuned));
            }
            if ui.button("Reset").on_hover_text("Back to the default weights and settings").clicked() {
                cx.commands.push(Command::ApplyPreset(Preset::Default));
            }
        });
    });
}

fn session_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::CollapsingHeader::new("Session and export").show(ui, |ui| {
        ui.horizontal(|ui| {
            if ui.button("Save session…").clicked() {
                cx.commands.open_dialog(DialogPurpose::SaveSession);
            }
            if ui.button("Open session…").clicked() {
                cx.commands.open_dialog(DialogPurpose::LoadSession);
            }
        });
        // Sessions only: data files are opened in the data section.
        let sessions: Vec<std::path::PathBuf> = cx
            .ui
            .settings
            .recent
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .take(6)
            .cloned()
            .collect();
        if !sessions.is_empty() {
            ui.label("Recent sessions:");
            for p in sessions {
                let name = crate::data::format::short_name(&p);
                if ui.link(name).on_hover_text(p.display().to_string()).clicked() {
                    cx.commands.push(Command::LoadSession(p.clone()));
                }
            }
        }
        ui.separator();
        ui.horizontal_wrapped(|ui| {
            if ui.button("List CSV…").clicked() {
                cx.commands.open_dialog(DialogPurpose::Export(ExportKind::ListCsv));
            }
            if ui.button("Metrics CSV…").clicked() {
                cx.commands.open_dialog(DialogPurpose::Export(ExportKind::MetricsCsv));
            }
            if ui.button("Metrics JSON…").clicked() {
                cx.commands.open_dialog(DialogPurpose::Export(ExportKind::MetricsJson));
            }
            if ui.button("HTML report…").clicked() {
                cx.commands.open_dialog(DialogPurpose::Export(ExportKind::HtmlReport));
            }
            let busy = cx.wb.is_running(crate::session::workbench::job::BATCH);
            if ui
                .add_enabled(!busy, egui::Button::new("Recommendations for all shoppers…"))
                .on_hover_text(
                    "Every shopper's top-K (the list length above) with each signal's contribution, as one Parquet \
                     file; runs in the background (progress and cancel in the status bar)",
                )
                .clicked()
            {
                cx.commands.open_dialog(DialogPurpose::Export(ExportKind::AllShoppersParquet));
            }
        });
        ui.label("Fusion profile (settings and rules, to run elsewhere):").on_hover_text(
            "The recommendation fusion (weights, normalisation, method, rules) as a RecFuse profile that \
             `--profile` reads back, a Spark SQL query over a score table, or the search-mode BM25 + semantic \
             weights as an OpenSearch pipeline or a Vespa rank profile; each file lists what its target cannot express",
        );
        ui.horizontal_wrapped(|ui| {
            for (label, format) in [
                ("Profile JSON…", ProfileFormat::Json),
                ("Spark SQL…", ProfileFormat::SparkSql),
                ("OpenSearch pipeline…", ProfileFormat::OpenSearch),
                ("Vespa rank profile…", ProfileFormat::Vespa),
            ] {
                if ui.button(label).clicked() {
                    cx.commands.open_dialog(DialogPurpose::Export(ExportKind::Profile(format)));
                }
            }
        });
        ui.separator();
        let mut privacy = cx.wb.session().privacy;
        if ui.checkbox(&mut privacy, "Privacy: pseudonymise shopper ids").changed() {
            // What was typed may be a raw id: it does not stay on screen.
            cx.ui.shopper_filter.clear();
            cx.ui.compare.shopper_b_draft.clear();
            cx.commands.push(Command::SetPrivacy(privacy));
        }
        let mut dark = cx.ui.settings.dark;
        if ui.checkbox(&mut dark, "Dark theme").changed() {
            cx.ui.settings.dark = dark;
            theme::apply(ui.ctx(), dark);
        }
    });
}
