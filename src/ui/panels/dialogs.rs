//! Floating windows: the dropped-file question, the file-dialog fallback, *Open dataset*
//! (the files with their first rows and column mapping, then one load), and the
//! column-mapping dialog.

use eframe::egui;

use crate::data::{Role, TableKind, read_table};
use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::state::{DialogPurpose, OpenDatasetDraft};

/// Draws whichever dialogs are open.
pub fn show(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let ctx = ui.ctx().clone();
    if let Some(path) = cx.ui.dropped.clone() {
        let mut open = true;
        egui::Window::new("Use dropped file as…").collapsible(false).open(&mut open).show(&ctx, |ui| {
            ui.label(path.display().to_string());
            ui.horizontal(|ui| {
                for (label, table) in [
                    ("Catalogue", TableKind::Catalogue),
                    ("Behaviour", TableKind::Behaviour),
                    ("Users", TableKind::Users),
                ] {
                    if ui.button(label).clicked() {
                        cx.commands.use_path(DialogPurpose::DataFile(table), path.clone());
                        cx.ui.dropped = None;
                    }
                }
            });
        });
        if !open {
            cx.ui.dropped = None;
        }
    }
    if let Some((purpose, mut text)) = cx.ui.dialog_fallback.clone() {
        let mut open = true;
        let mut done = false;
        egui::Window::new("Enter a path").collapsible(false).open(&mut open).show(&ctx, |ui| {
            ui.label("No file was chosen. If no dialog appeared, this system has no file-dialog service: type the path here.");
            let r = ui.add(egui::TextEdit::singleline(&mut text).desired_width(420.0).hint_text("/path/to/file"));
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("OK").clicked() || enter) && !text.trim().is_empty() {
                cx.commands.use_path(purpose.clone(), std::path::PathBuf::from(text.trim()));
                done = true;
            }
        });
        cx.ui.dialog_fallback = if open && !done { Some((purpose, text)) } else { None };
    }
    open_dataset_window(&ctx, cx);
    if let Some(table) = cx.ui.mapping_window {
        let mut open = true;
        egui::Window::new(format!("Columns of the {} file", table.id()))
            .open(&mut open)
            .default_width(720.0)
            .show(&ctx, |ui| mapping_dialog(ui, cx, table));
        if !open {
            cx.ui.mapping_window = None;
        }
    }
}

/// Column names and the first rows of a file, or the error that stopped reading it.
type PreviewResult = Result<(Vec<String>, Vec<Vec<String>>), String>;

fn mapping_dialog(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, table: TableKind) {
    let path = match table {
        TableKind::Catalogue => cx.wb.session().data.catalogue.clone(),
        TableKind::Behaviour => Some(cx.wb.session().data.behaviour.clone()),
        TableKind::Users => cx.wb.session().data.users.clone(),
    };
    let Some(path) = path else {
        ui.label("No file for this table.");
        return;
    };
    // Reading the first rows is cheap for the files this dialog is meant for; the
    // result is cached in egui's temporary memory so it runs once per open.
    let id = egui::Id::unique(("mapping-preview", path.display().to_string()));
    let cached: Option<std::sync::Arc<PreviewResult>> = ui.data(|d| d.get_temp(id));
    let preview = cached.unwrap_or_else(|| {
        let r = read_table(&path).map(|t| (t.column_names(), t.preview(5))).map_err(|e| e.to_string());
        let r = std::sync::Arc::new(r);
        ui.data_mut(|d| d.insert_temp(id, r.clone()));
        r
    });
    let (columns, rows) = match preview.as_ref() {
        Ok(x) => x,
        Err(e) => {
            ui.colored_label(crate::ui::theme::ERROR, e);
            return;
        }
    };
    let mapping = match table {
        TableKind::Catalogue => &cx.wb.session().data.catalogue_mapping,
        TableKind::Behaviour => &cx.wb.session().data.behaviour_mapping,
        TableKind::Users => &cx.wb.session().data.users_mapping,
    };
    let resolved = mapping.resolve(table, columns);
    ui.label("First rows:");
    egui::ScrollArea::horizontal().id_salt("preview-scroll").show(ui, |ui| {
        egui::Grid::new("preview-grid").striped(true).show(ui, |ui| {
            for c in columns {
                ui.strong(c);
            }
            ui.end_row();
            for row in rows {
                for v in row {
                    ui.label(crate::data::report::shorten(v, 30));
                }
                ui.end_row();
            }
        });
    });
    ui.separator();
    ui.label("Column of each role (auto-mapped; change any and the data reloads):");
    egui::Grid::new("mapping-grid").num_columns(2).show(ui, |ui| {
        for &role in Role::for_table(table) {
            ui.label(role.id());
            let current = resolved.get(role).map(str::to_owned);
            let mut choice = current.clone();
            let map_combo = egui::ComboBox::from_id_salt(("map", role.id()))
                .selected_text(choice.clone().unwrap_or_else(|| "—".to_owned()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut choice, None, "—");
                    for c in columns {
                        ui.selectable_value(&mut choice, Some(c.clone()), c);
                    }
                });
            map_combo.response.accessible_name(format!("column for {}", role.id()));
            if choice != current {
                cx.commands.push(Command::SetMapping { table, role, column: Some(choice.unwrap_or_default()) });
            }
            ui.end_row();
        }
    });
}

const TABLES: [(&str, TableKind); 3] =
    [("Catalogue", TableKind::Catalogue), ("Behaviour", TableKind::Behaviour), ("Users", TableKind::Users)];

/// Loads the files of `draft` with their mappings, as one action.
pub fn load_draft(cx: &mut PanelContext<'_>, draft: OpenDatasetDraft) {
    let OpenDatasetDraft { paths: [catalogue, behaviour, users], mappings, .. } = draft;
    if let Some(behaviour) = behaviour {
        cx.commands.push(Command::OpenDataset { catalogue, behaviour, users, mappings: Box::new(mappings) });
    }
}

/// *Open dataset*: each chosen file's format, size and first rows, what every column will be
/// read as, the column of each role (changeable), then *Load* (or *Cancel*).
fn open_dataset_window(ctx: &egui::Context, cx: &mut PanelContext<'_>) {
    let Some(mut draft) = cx.ui.open_dataset.take() else { return };
    let mut open = true;
    let mut load = false;
    let mut cancel = false;
    egui::Window::new("Open dataset").open(&mut open).default_width(860.0).collapsible(false).show(ctx, |ui| {
        // Load and Cancel first: they stay in view however long the previews below are.
        let behaviour_read = matches!(draft.previews.get(1), Some(Some(Ok(_))));
        let reading = draft.paths.iter().zip(&draft.previews).any(|(p, r)| p.is_some() && r.is_none());
        ui.horizontal(|ui| {
            let button = ui
                .add_enabled(behaviour_read && !reading, egui::Button::new("Load"))
                .on_hover_text("Load these files together, with the columns shown");
            load = button.clicked();
            cancel = ui.button("Cancel").clicked();
            if reading {
                ui.spinner();
                ui.label("reading the files…");
            } else if !behaviour_read {
                ui.colored_label(crate::ui::theme::ERROR, "the behaviour file cannot be read");
            }
        });
        ui.separator();
        egui::ScrollArea::vertical().max_height(640.0).show(ui, |ui| {
            for (i, (label, table)) in TABLES.into_iter().enumerate() {
                file_preview(ui, &mut draft, i, label, table);
            }
        });
    });
    if load {
        load_draft(cx, draft);
    } else if open && !cancel {
        cx.ui.open_dataset = Some(draft);
    }
}

/// One file of *Open dataset*: path, format and rows, the first rows under a "read as" line,
/// and a column choice per role.
fn file_preview(ui: &mut egui::Ui, draft: &mut OpenDatasetDraft, i: usize, label: &str, table: TableKind) {
    let Some(path) = draft.paths.get(i).cloned().flatten() else {
        if table == TableKind::Catalogue {
            ui.label("Catalogue: none (items are taken from the behaviour file)");
        }
        return;
    };
    ui.strong(format!("{label}: {}", path.display()));
    let (Some(preview), Some(mapping)) = (draft.previews.get(i), draft.mappings.get_mut(i)) else { return };
    let preview = match preview {
        None => {
            ui.label("reading…");
            return;
        }
        Some(Err(e)) => {
            ui.colored_label(crate::ui::theme::ERROR, e);
            return;
        }
        Some(Ok(p)) => p,
    };
    ui.label(format!("{} · {} rows · {} columns", preview.format, preview.rows, preview.columns.len()));
    let read_as = preview.read_as(table, mapping);
    egui::ScrollArea::horizontal().id_salt(("open-preview", i)).show(ui, |ui| {
        egui::Grid::new(("open-preview-grid", i)).striped(true).show(ui, |ui| {
            ui.weak("column");
            for c in &preview.columns {
                ui.strong(c);
            }
            ui.end_row();
            ui.weak("read as");
            for (c, what) in preview.columns.iter().zip(&read_as) {
                let colour = if what == "not read" { crate::ui::theme::MUTED } else { crate::ui::theme::COLUMN_READ };
                ui.colored_label(colour, what).on_hover_text(format!("{c} is read as {what}"));
            }
            ui.end_row();
            for row in &preview.head {
                ui.label("");
                for v in row {
                    ui.label(crate::data::report::shorten(v, 24));
                }
                ui.end_row();
            }
        });
    });
    let resolved = mapping.resolve(table, &preview.columns);
    egui::CollapsingHeader::new(format!("{label} columns by role")).id_salt(("open-roles", i)).show(ui, |ui| {
        egui::Grid::new(("open-roles-grid", i)).num_columns(2).show(ui, |ui| {
            for &role in Role::for_table(table) {
                ui.label(role.id());
                let current = resolved.get(role).map(str::to_owned);
                let mut choice = current.clone();
                egui::ComboBox::from_id_salt(("open-map", i, role.id()))
                    .selected_text(choice.clone().unwrap_or_else(|| "—".to_owned()))
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut choice, None, "—");
                        for c in &preview.columns {
                            ui.selectable_value(&mut choice, Some(c.clone()), c);
                        }
                    })
                    .response
                    .accessible_name(format!("{label} column for {}", role.id()));
                if choice != current {
                    // "—" maps no column to the role (an empty override), as the Columns… dialog does.
                    mapping.overrides.insert(role, choice.unwrap_or_default());
                }
                ui.end_row();
            }
        });
    });
    ui.add_space(6.0);
}
