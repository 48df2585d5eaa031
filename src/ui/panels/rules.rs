//! The rules table and the form that adds a rule.

use eframe::egui;

use crate::fusion::{Adjustment, Rule, RuleAction, RuleScope, RuleTarget};
use crate::session::{Command, Mode, Workbench};
use crate::ui::context::PanelContext;
use crate::ui::state::{FormAction, FormScope, FormTarget, RuleForm};
use crate::ui::theme;

/// The scope of the list on screen: the current shopper's, or searches containing the query.
fn current_scope(wb: &Workbench) -> RuleScope {
    let selection = &wb.session().selection;
    match selection.mode {
        Mode::Search if !selection.query.trim().is_empty() => {
            RuleScope::Queries { containing: selection.query.trim().to_owned() }
        }
        _ => selection.shopper.clone().map_or(RuleScope::All, |id| RuleScope::Shopper { id }),
    }
}

/// How a scope reads in the rules list (shopper ids through the privacy switch).
fn scope_text(wb: &Workbench, scope: &RuleScope) -> String {
    match scope {
        RuleScope::All => "for every list".to_owned(),
        RuleScope::Shopper { id } => format!("for {}", wb.shopper_label(id)),
        RuleScope::Queries { containing } => format!("for searches containing “{containing}”"),
        RuleScope::Segment { dimension, value } => format!("for shoppers with {dimension} {value}"),
    }
}

/// The rule the form describes (None while incomplete).
fn build_rule(form: &RuleForm, wb: &Workbench) -> Option<Rule> {
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
    let scope = match form.scope {
        FormScope::All => RuleScope::All,
        FormScope::ThisShopper => RuleScope::Shopper { id: wb.session().selection.shopper.clone()? },
        FormScope::Queries if form.query.trim().is_empty() => return None,
        FormScope::Queries => RuleScope::Queries { containing: form.query.trim().to_owned() },
        FormScope::Segment if form.segment_dimension.is_empty() || form.segment_value.is_empty() => return None,
        FormScope::Segment => {
            RuleScope::Segment { dimension: form.segment_dimension.clone(), value: form.segment_value.clone() }
        }
    };
    let name = Rule::readable_name(&action, &target, wb.engine().map(|e| e.catalogue()));
    Some(Rule { name, enabled: true, target, action, scope })
}

/// The rules list with enable checkboxes and remove buttons, and the add form.
pub fn rules_section(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    // A fixed id: the header's text changes with the count, and must not collapse it.
    let header =
        egui::CollapsingHeader::new(format!("Rules ({})", cx.wb.session().rules.len())).id_salt("rules-section");
    header.show(ui, |ui| {
        for (i, r) in cx.wb.session().rules.iter().enumerate() {
            let inactive = cx.wb.engine().and_then(|e| e.rule_inactive(r));
            ui.horizontal_wrapped(|ui| {
                let mut on = r.enabled;
                if ui.checkbox(&mut on, "").accessible_name(format!("rule {} enabled", r.name)).changed() {
                    cx.commands.push(Command::SetRuleEnabled(i, on));
                }
                let line = format!("{} · {}", r.name, scope_text(cx.wb, &r.scope));
                match &inactive {
                    Some(why) => {
                        ui.colored_label(theme::MUTED, line).on_hover_text(why);
                        ui.colored_label(theme::WARNING, why);
                    }
                    None => {
                        ui.label(line).on_hover_text(r.describe());
                    }
                }
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
        let form = &mut cx.ui.rule_form;
        ui.horizontal(|ui| {
            ui.label("for");
            ui.selectable_value(&mut form.scope, FormScope::All, "every list");
            ui.selectable_value(&mut form.scope, FormScope::ThisShopper, "this shopper");
            ui.selectable_value(&mut form.scope, FormScope::Queries, "searches containing");
            ui.selectable_value(&mut form.scope, FormScope::Segment, "a segment");
        });
        if form.scope == FormScope::Queries {
            ui.add(egui::TextEdit::singleline(&mut form.query).hint_text("text in the query"));
        }
        if form.scope == FormScope::Segment {
            segment_choice(ui, cx);
        }
        let rule = build_rule(&cx.ui.rule_form, cx.wb);
        if ui.add_enabled(rule.is_some(), egui::Button::new("Add rule")).clicked()
            && let Some(rule) = rule
        {
            cx.commands.push(Command::AddRule(rule));
        }
    });
}

/// The segment of a segment-scoped rule: a dimension (users-table or event column) and one
/// of its values, with how many shoppers are in each.
fn segment_choice(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let Some(engine) = cx.wb.engine() else {
        ui.weak("Segments appear once data is loaded.");
        return;
    };
    let segments = engine.segments();
    if segments.dimensions.is_empty() {
        ui.weak("The loaded data has no segment column (a users table, or an event column such as a country).");
        return;
    }
    let form = &mut cx.ui.rule_form;
    if segments.dimension(&form.segment_dimension).is_none() {
        form.segment_dimension = segments.dimensions.first().map(|d| d.name.clone()).unwrap_or_default();
        form.segment_value.clear();
    }
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("rule-segment-dimension")
            .selected_text(form.segment_dimension.clone())
            .show_ui(ui, |ui| {
                for d in &segments.dimensions {
                    if ui.selectable_label(form.segment_dimension == d.name, &d.name).clicked() {
                        form.segment_dimension = d.name.clone();
                        form.segment_value.clear();
                    }
                }
            })
            .response
            .accessible_name("rule segment column");
        let Some(dimension) = segments.dimension(&form.segment_dimension) else { return };
        let shown = if form.segment_value.is_empty() { "choose…".to_owned() } else { form.segment_value.clone() };
        egui::ComboBox::from_id_salt("rule-segment-value")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for (code, value) in dimension.values.names().iter().enumerate() {
                    let label = format!("{value} ({} shoppers)", dimension.count(code as u32));
                    ui.selectable_value(&mut form.segment_value, value.clone(), label);
                }
            })
            .response
            .accessible_name("rule segment value");
    });
}

/// Rule buttons for one item (used by the inspector): for the list on screen (this
/// shopper, or searches containing this query) unless "for every list" is ticked.
pub fn item_rule_buttons(ui: &mut egui::Ui, cx: &mut PanelContext<'_>, item_id: &str) {
    let here = current_scope(cx.wb);
    let here_text = scope_text(cx.wb, &here);
    ui.checkbox(&mut cx.ui.rule_for_every_list, "for every list")
        .on_hover_text(format!("Off: the rule applies {here_text} only"));
    let scope = if cx.ui.rule_for_every_list { RuleScope::All } else { here };
    let catalogue = cx.wb.engine().map(|e| e.catalogue());
    let make = |action: RuleAction| {
        let target = RuleTarget::Item { id: item_id.to_owned() };
        let name = Rule::readable_name(&action, &target, catalogue);
        Rule { name, enabled: true, target, action, scope: scope.clone() }
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
