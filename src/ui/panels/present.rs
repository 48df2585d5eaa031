//! The presentation view for stakeholder demos: one click hides the configuration,
//! enlarges the list and its attribution, and steps through chosen shoppers; and the
//! short guide a newcomer sees on the first open.

use eframe::egui;

use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::state::Tab;
use crate::ui::theme;

/// How much larger everything is drawn while presenting.
pub const PRESENT_ZOOM: f32 = 1.3;

/// How many of the heaviest shoppers are stepped through when none were chosen.
const DEFAULT_STOPS: usize = 5;

/// The "Present" button (in the tab row).
pub fn present_button(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let hint = "Hide the configuration, enlarge the list and its explanation, and step through shoppers";
    if ui.button("Present").on_hover_text(hint).clicked() {
        start(ui, cx);
    }
}

fn start(ui: &egui::Ui, cx: &mut PanelContext<'_>) {
    if cx.ui.present_shoppers.is_empty() {
        cx.ui.present_shoppers = cx.wb.heaviest_shoppers(DEFAULT_STOPS);
    }
    cx.ui.presenting = true;
    cx.ui.settings.tab = Tab::Recommendations;
    ui.ctx().set_zoom_factor(PRESENT_ZOOM);
    if let Some(first) = cx.ui.present_shoppers.first() {
        cx.ui.present_at = 0;
        cx.commands.push(Command::SelectShopper(first.clone()));
    }
}

/// The bar shown while presenting: which shopper of how many, previous / next, exit.
pub fn bar(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    ui.horizontal(|ui| {
        let n = cx.ui.present_shoppers.len();
        let prev = ui.add_enabled(cx.ui.present_at > 0, egui::Button::new("< Previous shopper")).clicked();
        let next = ui.add_enabled(cx.ui.present_at + 1 < n, egui::Button::new("Next shopper >")).clicked();
        if prev || next {
            cx.ui.present_at = if next { cx.ui.present_at + 1 } else { cx.ui.present_at.saturating_sub(1) };
            if let Some(s) = cx.ui.present_shoppers.get(cx.ui.present_at) {
                cx.commands.push(Command::SelectShopper(s.clone()));
            }
        }
        if let Some(s) = cx.ui.present_shoppers.get(cx.ui.present_at) {
            ui.strong(format!("{} · {} of {n}", cx.wb.shopper_label(s), cx.ui.present_at + 1));
        }
        if ui.button("Exit presentation").clicked() {
            cx.ui.presenting = false;
            ui.ctx().set_zoom_factor(1.0);
        }
    });
}

/// "Add to presentation" for the current shopper (in the shopper picker).
pub fn add_button(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let Some(current) = cx.wb.session().selection.shopper.clone() else { return };
    let chosen = cx.ui.present_shoppers.contains(&current);
    let label = if chosen { "in presentation" } else { "+ presentation" };
    let hint = format!("{} shoppers chosen for the presentation view", cx.ui.present_shoppers.len());
    if ui.add_enabled(!chosen, egui::Button::new(label)).on_hover_text(hint).clicked() {
        cx.ui.present_shoppers.push(current);
    }
}

/// The first-open guide: four short steps and a button that hides it for good.
pub fn guide(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    if cx.ui.settings.guide_dismissed {
        return;
    }
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.colored_label(theme::ONLY_A, "New here?");
            ui.label("1 · The list is for the shopper picked above it: try Random or Heaviest.");
        });
        ui.label("2 · Move a weight on the left: the list re-ranks at once, and the arrows show what moved.");
        ui.label("3 · Click an item: the right panel shows each signal's share and why it is there.");
        ui.horizontal(|ui| {
            ui.label("4 · Evaluate measures every signal offline; Present shows the list to others.");
            if ui.button("Got it").clicked() {
                cx.ui.settings.guide_dismissed = true;
            }
        });
    });
}
