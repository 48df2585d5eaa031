//! The rules table and the form that adds a rule.

use eframe::egui;

use crate::fusion::{Adjustment, Rule, RuleAction, RuleTarget};
use crate::session::Command;
use crate::ui::context::PanelContext;
use crate::ui::state::{FormAction, FormTarget, RuleForm};

/// The rule the form describes, named after the `n` rules there are (None while incomplete).
fn build_rule(form: &RuleForm, n: usize) -> Option<Rule> {
    let target = match form.target {
        FormTarget::Item => RuleTarget::Item { id: form.value.trim().to_owned() },
        FormTarget::Category => RuleTarget::Category { name: form.value.trim().to_owned() },
        FormTarget::Brand => RuleTarget::Brand { name: form.value.trim().to_owned() },
        FormTarget::Price => RuleTarget::PriceRange { min: Some(form.min), max: Some(form.max) },
    };
    if form.target != FormTarget::Price && form.value.trim().is_empty() {
        return None;
    }
    let action = match form.action {
        FormAction::Pin => RuleAction::Pin { position: form.position.max(1) },
        FormAction::Boost => RuleAction::Boost { adjustment: Adjustment::Multiply(form.factor.max(1.0)) },
        FormAction::Bury => RuleAction::Bury { adjustment: Adjustment::Multiply(form.factor.clamp(0.0, 1.0)) },
        FormAction::Hide => RuleAction::Hide,
    };
    Some(Rule { name: format!("R{}", n + 1), enabled: true, target, action })
}

/// The rules list with enable checkboxes and remove buttons, and the add form.
pub fn rules_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    egui::CollapsingHeader::new(format!("Rules ({})", cx.wb.session().rules.len())).show(ui, |ui| {
        for (i, r) in cx.wb.session().rules.iter().enumerate() {
            ui.horizontal(|ui| {
                let mut on = r.enabled;
                if ui.checkbox(&mut on, "").accessible_name(format!("rule {} enabled", r.name)).changed() {
                    cx.commands.push(Command::SetRuleEnabled(i, on));
                }
                ui.label(format!("{}: {}", r.name, r.describe()));
                if ui.small_button("remove").on_hover_text("Remove rule").clicked() {
                    cx.commands.push(Command::RemoveRule(i));
                }
            });
        }
        ui.separator();
        let form = &mut cx.ui.rule_form;
        ui.horizontal(|ui| {
            egui::ComboBox::from_id_salt("rule-action")
                .selected_text(format!("{:?}", form.action))
                .show_ui(ui, |ui| {
                    for a in [FormAction::Pin, FormAction::Boost, FormAction::Bury, FormAction::Hide] {
                        ui.selectable_value(&mut form.action, a, format!("{a:?}"));
                    }
                })
                .response
                .accessible_name("rule action");
            egui::ComboBox::from_id_salt("rule-target")
                .selected_text(format!("{:?}", form.target))
                .show_ui(ui, |ui| {
                    for t in [FormTarget::Item, FormTarget::Category, FormTarget::Brand, FormTarget::Price] {
                        ui.selectable_value(&mut form.target, t, format!("{t:?}"));
                    }
                })
                .response
                .accessible_name("rule target");
        });
        if form.action == FormAction::Pin {
            form.target = FormTarget::Item;
        }
        match form.target {
            FormTarget::Price => {
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut form.min).speed(0.1).prefix("min "));
                    ui.add(egui::DragValue::new(&mut form.max).speed(0.1).prefix("max "));
                });
            }
            _ => {
                ui.add(egui::TextEdit::singleline(&mut form.value).hint_text("item id / category / brand"));
            }
        }
        match form.action {
            FormAction::Pin => {
                ui.add(egui::DragValue::new(&mut form.position).range(1..=100).prefix("position "));
            }
            FormAction::Boost => {
                ui.add(egui::Slider::new(&mut form.factor, 1.0..=5.0).text("× factor"));
            }
            FormAction::Bury => {
                ui.add(egui::Slider::new(&mut form.factor, 0.0..=1.0).text("× factor"));
            }
            FormAction::Hide => {}
        }
        let n = cx.wb.session().rules.len();
        let rule = build_rule(&cx.ui.rule_form, n);
        if ui.add_enabled(rule.is_some(), egui::Button::new("Add rule")).clicked()
            && let Some(rule) = rule
        {
            cx.commands.push(Command::AddRule(rule));
        }
    });
}

/// Rule buttons for one item (used by the inspector).
pub fn item_rule_buttons(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, item_id: &str) {
    let n = cx.wb.session().rules.len();
    let make = |action: RuleAction| Rule {
        name: format!("R{}", n + 1),
        enabled: true,
        target: RuleTarget::Item { id: item_id.to_owned() },
        action,
    };
    ui.horizontal_wrapped(|ui| {
        if ui.button("Pin at #1").clicked() {
            cx.commands.push(Command::AddRule(make(RuleAction::Pin { position: 1 })));
        }
        if ui.button("Boost ×1.5").clicked() {
            cx.commands.push(Command::AddRule(make(RuleAction::Boost { adjustment: Adjustment::Multiply(1.5) })));
        }
        if ui.button("Bury ×0.5").clicked() {
            cx.commands.push(Command::AddRule(make(RuleAction::Bury { adjustment: Adjustment::Multiply(0.5) })));
        }
        if ui.button("Hide").clicked() {
            cx.commands.push(Command::AddRule(make(RuleAction::Hide)));
        }
    });
}
