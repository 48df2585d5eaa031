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

/// Whose lists a rule changes. Sessions written before scopes existed have none: "all".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum RuleScope {
    /// Every shopper's recommendations and every search.
    #[default]
    All,
    /// One shopper's recommendations (and the searches personalised for them).
    Shopper {
        /// The shopper's id in the behaviour data.
        id: String,
    },
    /// Searches whose query contains this text (case-insensitive).
    Queries {
        /// The text a query must contain.
        containing: String,
    },
    /// The shoppers of a segment (their recommendations and personalised searches): those
    /// whose `dimension` (a users-table column, or an event column such as `country`: the
    /// value on most of their events, [`crate::data::ShopperSegments`]) is `value`.
    Segment {
        /// The column that defines the segments.
        dimension: String,
        /// The segment's value (case-insensitive).
        value: String,
    },
}

/// What a list is for, as far as rule scopes are concerned.
#[derive(Debug, Clone, Copy)]
pub enum ListFor<'a> {
    /// A shopper's recommendations.
    Shopper(&'a str),
    /// A search, maybe personalised for a shopper.
    Search {
        /// The query text.
        query: &'a str,
        /// The shopper, when personalised.
        shopper: Option<&'a str>,
    },
    /// Every list at once (evaluation across shoppers): only rules for all apply.
    Any,
}

/// A shopper's segments, (dimension, value) pairs, as [`crate::data::ShopperSegments::of`]
/// gives them (empty for an unknown shopper or a search without one).
pub type SegmentsOf<'a> = &'a [(String, String)];

impl RuleScope {
    /// Whether a rule of this scope applies to a list made `for` someone whose shopper (if
    /// any) is in `segments`.
    pub fn covers(&self, list: ListFor<'_>, segments: SegmentsOf<'_>) -> bool {
        match (self, list) {
            (RuleScope::All, _) => true,
            (
                RuleScope::Segment { dimension, value },
                ListFor::Shopper(_) | ListFor::Search { shopper: Some(_), .. },
            ) => {
                let value = value.trim().to_lowercase();
                !value.is_empty() && segments.iter().any(|(d, v)| d == dimension && v.to_lowercase() == value)
            }
            (RuleScope::Shopper { id }, ListFor::Shopper(s)) => id == s,
            (RuleScope::Shopper { id }, ListFor::Search { shopper, .. }) => shopper == Some(id.as_str()),
            (RuleScope::Queries { containing }, ListFor::Search { query, .. }) => {
                let wanted = containing.trim().to_lowercase();
                !wanted.is_empty() && query.to_lowercase().contains(&wanted)
            }
            _ => false,
        }
    }
}

/// The rules whose scope covers a list made `for` someone in `segments` (order kept).
pub fn rules_for(rules: &[Rule], list: ListFor<'_>, segments: SegmentsOf<'_>) -> Vec<Rule> {
    rules.iter().filter(|r| r.scope.covers(list, segments)).cloned().collect()
}

/// Whether any rule is scoped to a segment (only then are a shopper's segments needed).
pub fn any_segment_scope(rules: &[Rule]) -> bool {
    rules.iter().any(|r| matches!(r.scope, RuleScope::Segment { .. }))
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
    /// Whose lists it changes (absent in older sessions and rules files: all).
    #[serde(default, skip_serializing_if = "is_all")]
    pub scope: RuleScope,
}

fn is_all(scope: &RuleScope) -> bool {
    *scope == RuleScope::All
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

    /// Why the rule can change nothing in `catalogue` (an item, category or brand it
    /// does not have), or `None` when it can.
    pub fn inactive_in(&self, catalogue: &Catalogue) -> Option<String> {
        let missing = match &self.target {
            RuleTarget::Item { id } => catalogue.ids.get(id).is_none().then(|| format!("no item {id}")),
            RuleTarget::Category { name } => {
                let wanted = name.trim().to_lowercase();
                let known = catalogue.category_names.names().iter().any(|label| {
                    let label = label.to_lowercase();
                    label == wanted || label.starts_with(&format!("{wanted} >"))
                });
                (!known).then(|| format!("no category {name}"))
            }
            RuleTarget::Brand { name } => {
                let known = catalogue.brands.iter().any(|b| !b.is_empty() && b.eq_ignore_ascii_case(name.trim()));
                (!known).then(|| format!("no brand {name}"))
            }
            RuleTarget::PriceRange { .. } => None,
        };
        missing.map(|m| format!("inactive: the loaded catalogue has {m}"))
    }

    /// A name that says what the rule does, with the item's title when the catalogue
    /// has it ("pin “RED HEART CANDLE” at #1", "hide category Postage").
    pub fn readable_name(action: &RuleAction, target: &RuleTarget, catalogue: Option<&Catalogue>) -> String {
        let what = match target {
            RuleTarget::Item { id } => match catalogue.and_then(|c| c.ids.get(id).map(|i| c.title(i))) {
                Some(title) if !title.trim().is_empty() => {
                    format!("“{}”", crate::data::report::shorten(title.trim(), 40))
                }
                _ => format!("item {id}"),
            },
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
        match action {
            RuleAction::Pin { position } => format!("pin {what} at #{position}"),
            RuleAction::Boost { adjustment } => format!("boost {what} {}", adj(adjustment)),
            RuleAction::Bury { adjustment } => format!("bury {what} {}", adj(adjustment)),
            RuleAction::Hide => format!("hide {what}"),
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
