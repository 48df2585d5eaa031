//! Floating windows: the dropped-file question, the file-dialog fallback, and the
//! column-mapping dialog.

use eframe::egui;

use crate::data::{Role, TableKind, read_table};
use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::state::DialogPurpose;

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
