//! The left panel's data-files section: the catalogue, behaviour and users paths (typed
//! vs loaded), the live switch and strip, and *Open dataset* with its preview.

use eframe::egui;

use crate::data::{ColumnMapping, TableKind};
use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::state::{DialogPurpose, OpenDatasetDraft};
use crate::ui::theme;

/// The session's path of each data table, as the path fields show it.
fn session_paths(cx: &PanelContext<'_>) -> [String; 3] {
    let d = &cx.wb.session().data;
    let shown = |p: Option<&std::path::Path>| p.map(|p| p.display().to_string()).unwrap_or_default();
    [shown(d.catalogue.as_deref()), shown(Some(&d.behaviour)), shown(d.users.as_deref())]
}

/// The path each table's installed data came from ("" when none is loaded).
fn loaded_paths(cx: &PanelContext<'_>) -> [String; 3] {
    let Some(d) = cx.wb.loaded_from() else { return Default::default() };
    let shown = |p: Option<&std::path::Path>| p.map(|p| p.display().to_string()).unwrap_or_default();
    [shown(d.catalogue.as_deref()), shown(Some(&d.behaviour)), shown(d.users.as_deref())]
}

/// The files the path fields name (an empty catalogue or users field: none), with the
/// mapping each would be read with: the session's for the file that is loaded now, the
/// automatic one for another file. `None` (and a message) without a behaviour file.
fn typed_dataset(cx: &mut PanelContext<'_>) -> Option<OpenDatasetDraft> {
    let path =
        |i: usize| cx.ui.path_drafts.get(i).map(|t| t.trim()).filter(|t| !t.is_empty()).map(std::path::PathBuf::from);
    let paths = [path(0), path(1), path(2)];
    if paths[1].is_none() {
        cx.ui.path_error = Some("a behaviour file is needed".to_owned());
        return None;
    }
    cx.ui.path_error = None;
    let d = &cx.wb.session().data;
    let keep = |path: &Option<std::path::PathBuf>, now: Option<&std::path::PathBuf>, mapping: &ColumnMapping| {
        if path.as_ref() == now { mapping.clone() } else { ColumnMapping::default() }
    };
    let [c, b, u] = &paths;
    let mappings = [
        keep(c, d.catalogue.as_ref(), &d.catalogue_mapping),
        keep(b, Some(&d.behaviour), &d.behaviour_mapping),
        keep(u, d.users.as_ref(), &d.users_mapping),
    ];
    Some(OpenDatasetDraft { paths, mappings, previews: Default::default() })
}

/// Loads the dataset the path fields name at once (Enter in a field).
fn open_typed_dataset(cx: &mut PanelContext<'_>) {
    if let Some(draft) = typed_dataset(cx) {
        super::dialogs::load_draft(cx, draft);
    }
}

/// Opens the *Open dataset* window on the files the path fields name: their first rows and
/// mapping, then *Load*.
fn preview_typed_dataset(cx: &mut PanelContext<'_>) {
    if let Some(draft) = typed_dataset(cx) {
        cx.commands.preview_dataset(draft.paths.clone());
        cx.ui.open_dataset = Some(draft);
    }
}

pub(super) fn data_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    // When the session's paths change (a session loaded, a failed load undone), the
    // fields follow; what is typed in them otherwise stays until Enter.
    let current = session_paths(cx);
    if cx.ui.paths_seen != current {
        cx.ui.path_drafts = current.clone();
        cx.ui.paths_seen = current;
    }
    let loaded = loaded_paths(cx);
    let loading = cx.wb.is_running(crate::session::workbench::job::LOAD);
    egui::CollapsingHeader::new("Data files").default_open(true).show(ui, |ui| {
        for (i, (label, table)) in
            [("Catalogue", TableKind::Catalogue), ("Behaviour", TableKind::Behaviour), ("Users", TableKind::Users)]
                .into_iter()
                .enumerate()
        {
            let mut text = cx.ui.path_drafts.get(i).cloned().unwrap_or_default();
            let is_loaded = loaded.get(i).is_some_and(|l| l.trim() == text.trim());
            ui.horizontal(|ui| {
                ui.label(label);
                if !is_loaded && !loading {
                    ui.colored_label(theme::WARNING, "typed, not loaded — press Enter")
                        .on_hover_text(format!("loaded: {}", loaded.get(i).map_or("", |s| s.as_str())));
                }
            });
            ui.horizontal(|ui| {
                let r = ui
                    .add(egui::TextEdit::singleline(&mut text).desired_width(170.0).hint_text("path (or drop a file)"))
                    .on_hover_text(if text.is_empty() { "no file".to_owned() } else { text.clone() });
                if let Some(d) = cx.ui.path_drafts.get_mut(i) {
                    *d = text.clone();
                }
                // Enter opens the dataset the fields name, all files at once.
                if r.lost_focus() && ui.input(|inp| inp.key_pressed(egui::Key::Enter)) {
                    open_typed_dataset(cx);
                }
                if ui.small_button("Open…").on_hover_text("Choose the file; then Open dataset loads").clicked() {
                    cx.commands.open_dialog(DialogPurpose::DataFile(table));
                }
                if ui
                    .small_button("Columns…")
                    .on_hover_text("Show the first rows and change the column mapping")
                    .clicked()
                {
                    cx.ui.mapping_window = Some(table);
                }
            });
            if table == TableKind::Behaviour {
                let mut on = cx.wb.live().is_on();
                if ui
                    .checkbox(&mut on, "Live")
                    .on_hover_text(
                        "Follow the behaviour file as rows are appended: new events update the signals and the list without a refit",
                    )
                    .changed()
                {
                    cx.commands.push(Command::SetLive(on));
                }
            }
        }
        super::live::strip(ui, cx);
        ui.horizontal(|ui| {
            let typed = cx.ui.path_drafts != loaded;
            if ui
                .add_enabled(typed && !loading, egui::Button::new("Open dataset"))
                .on_hover_text("Show the files named above, their first rows and columns, then load them together")
                .clicked()
            {
                preview_typed_dataset(cx);
            }
            if ui.button("Reload").clicked() {
                cx.commands.push(Command::Reload);
            }
            if let Some(e) = cx.wb.data_error() {
                ui.colored_label(theme::ERROR, "load failed").on_hover_text(e);
            }
            if let Some(e) = &cx.ui.path_error {
                ui.colored_label(theme::ERROR, e);
            }
        });
        if let Some(ds) = cx.wb.dataset() {
            egui::CollapsingHeader::new("Event weights").show(ui, |ui| {
                egui::Grid::new("event-weights").num_columns(2).show(ui, |ui| {
                    for (event_type, count) in &ds.report.event_types {
                        ui.label(format!("{event_type} ({count})"));
                        let mut w = cx.wb.session().event_weights.weight(event_type, None);
                        if event_type == crate::data::weights::event_type::RATING {
                            ui.label(format!(
                                "rating >= {}: weight {}",
                                cx.wb.session().event_weights.rating.threshold,
                                cx.wb.session().event_weights.rating.positive_weight
                            ));
                        } else if ui.add(egui::DragValue::new(&mut w).speed(0.1).range(-20.0..=20.0)).changed() {
                            cx.commands.push(Command::SetEventWeight { event_type: event_type.clone(), weight: w });
                        }
                        ui.end_row();
                    }
                });
            });
        }
    });
}
