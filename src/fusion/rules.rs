//! Merchandising rules: pin, boost, bury and hide, by item, category, brand or price
//! range. Applied after fusion and shown in the attribution.

use serde::{Deserialize, Serialize};

use crate::data::Catalogue;
use crate::limits::{MAX_WEIGHT, OutOfRange, check_count, check_optional_real, check_real};

/// Which items a rule applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum RuleTarget {
    /// One item, by its id.
    Item {
        /// Item id as in the catalogue.
        id: String,
    },
    /// Items whose category (any label, or a hierarchy prefix) matches, case-insensitive.
    Category {
        /// Category name.
        name: String,
    },
    /// Items of a brand, case-insensitive.
    Brand {
        /// Brand name.
        name: String,
    },
    /// Items priced within `[min, max]` (either bound optional).
    PriceRange {
        /// Lower bound.
        min: Option<f32>,
        /// Upper bound.
        max: Option<f32>,
    },
}

/// How a boost or bury changes the fused score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", content = "value", rename_all = "snake_case")]
pub enum Adjustment {
    /// Multiply the score's magnitude: `s + |s|·(factor − 1)` (so a factor > 1 always raises).
    Multiply(f32),
    /// Add a constant.
    Add(f32),
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RuleAction {
    /// Put the item at this 1-based position (item targets only).
    Pin {
        /// 1-based position.
        position: usize,
    },
    /// Raise the score.
    Boost {
        /// By how much.
        adjustment: Adjustment,
    },
    /// Lower the score.
    Bury {
        /// By how much.
        adjustment: Adjustment,
    },
    /// Remove from the list.
    Hide,
}

/// A named merchandising rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Name shown in attribution ("pinned by rule R").
    pub name: String,
    /// Whether it is applied.
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    /// Which items.
    pub target: RuleTarget,
    /// What to do.
    #[serde(flatten)]
    pub action: RuleAction,
}

fn enabled_default() -> bool {
    true
}

impl Rule {
    /// Whether the rule applies to `item`.
    pub fn matches(&self, catalogue: &Catalogue, item: u32) -> bool {
        match &self.target {
            RuleTarget::Item { id } => catalogue.ids.name(item) == id,
            RuleTarget::Category { name } => {
                let wanted = name.trim().to_lowercase();
                if wanted.is_empty() {
                    return false;
                }
                catalogue.category_labels.get(item as usize).is_some_and(|labels| {
                    labels.iter().any(|&l| {
                        let label = catalogue.category_names.name(l).to_lowercase();
                        label == wanted || label.starts_with(&format!("{wanted} >"))
                    })
                })
            }
            RuleTarget::Brand { name } => catalogue
                .brands
                .get(item as usize)
                .is_some_and(|b| !b.is_empty() && b.eq_ignore_ascii_case(name.trim())),
            RuleTarget::PriceRange { min, max } => {
                catalogue.price(item).is_some_and(|p| min.is_none_or(|m| p >= m) && max.is_none_or(|m| p <= m))
            }
        }
    }

    /// A one-line description ("boost ×1.5 brand Acme").
    pub fn describe(&self) -> String {
        let target = match &self.target {
            RuleTarget::Item { id } => format!("item {id}"),
            RuleTarget::Category { name } => format!("category {name}"),
            RuleTarget::Brand { name } => format!("brand {name}"),
            RuleTarget::PriceRange { min, max } => format!(
                "price {}–{}",
                min.map_or("…".to_owned(), |m| format!("{m}")),
                max.map_or("…".to_owned(), |m| format!("{m}"))
            ),
        };
        let adj = |a: &Adjustment| match a {
            Adjustment::Multiply(f) => format!("×{f}"),
            Adjustment::Add(v) => format!("{v:+}"),
        };
        let action = match &self.action {
            RuleAction::Pin { position } => format!("pin at #{position}"),
            RuleAction::Boost { adjustment } => format!("boost {}", adj(adjustment)),
            RuleAction::Bury { adjustment } => format!("bury {}", adj(adjustment)),
            RuleAction::Hide => "hide".to_owned(),
        };
        format!("{action} {target}")
    }

    /// The score after this rule's boost or bury (unchanged for pin and hide).
    pub fn adjust(&self, score: f32) -> f32 {
        let apply = |a: &Adjustment, up: bool| match *a {
            Adjustment::Multiply(f) => {
                let f = if up { f.max(0.0) } else { f.clamp(0.0, 1.0) };
                score + score.abs() * (f - 1.0)
            }
            Adjustment::Add(v) => {
                if up {
                    score + v.abs()
                } else {
                    score - v.abs()
                }
            }
        };
        match &self.action {
            RuleAction::Boost { adjustment } => apply(adjustment, true),
            RuleAction::Bury { adjustment } => apply(adjustment, false),
            _ => score,
        }
    }
}

/// Reads rules from a JSON file (an array of rules).
pub fn load_rules(path: &std::path::Path) -> Result<Vec<Rule>, String> {
    let text = crate::data::read::read_regular_text(path, MAX_RULES_FILE_BYTES).map_err(|e| e.to_string())?;
    let rules: Vec<Rule> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: line {}, column {}: not a rules array: {e}", path.display(), e.line(), e.column()))?;
    check_rules(&rules).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(rules)
}

/// Largest rules file read (a rules file is a few kilobytes; this bounds a mistaken path).
pub const MAX_RULES_FILE_BYTES: u64 = 16 << 20;

/// Most rules applied at once.
pub const MAX_RULES: usize = 10_000;

/// Refuses rules whose numbers are outside their allowed ranges, and too many rules.
pub fn check_rules(rules: &[Rule]) -> Result<(), OutOfRange> {
    check_count("number of rules", rules.len(), 0, MAX_RULES)?;
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("rule {} (“{}”)", i + 1, rule.name);
        match rule.action {
            RuleAction::Pin { position } => check_count(&format!("{at} position"), position, 1, 10_000)?,
            RuleAction::Boost { adjustment } | RuleAction::Bury { adjustment } => match adjustment {
                Adjustment::Multiply(f) => check_real(&format!("{at} factor"), f64::from(f), 0.0, MAX_WEIGHT)?,
                Adjustment::Add(a) => check_real(&format!("{at} adjustment"), f64::from(a), -MAX_WEIGHT, MAX_WEIGHT)?,
            },
            RuleAction::Hide => {}
        }
        if let RuleTarget::PriceRange { min, max } = rule.target {
            check_optional_real(&format!("{at} minimum price"), min.map(f64::from), -1e12, 1e12)?;
            check_optional_real(&format!("{at} maximum price"), max.map(f64::from), -1e12, 1e12)?;
        }
    }
    Ok(())
}
