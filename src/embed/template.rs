//! Which catalogue columns become the text that is embedded, and how they are joined.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The recipe for an item's text: the values of `fields` (in order, empty ones skipped)
/// joined with `separator`. Part of the embedding cache key, so changing it re-embeds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemTextTemplate {
    /// Catalogue column names, in the order they are joined.
    pub fields: Vec<String>,
    /// Put between non-empty field values.
    pub separator: String,
}

impl Default for ItemTextTemplate {
    fn default() -> Self {
        Self {
            fields: ["title", "category", "brand", "description"].map(str::to_owned).to_vec(),
            separator: ". ".to_owned(),
        }
    }
}

impl ItemTextTemplate {
    /// Renders one item's text; `get` returns a field's value (or `None` when the column
    /// is absent). Values are trimmed; empty or missing fields are skipped.
    pub fn render<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for field in &self.fields {
            let Some(value) = get(field).map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            if !out.is_empty() {
                out.push_str(&self.separator);
            }
            out.push_str(value);
        }
        out
    }

    /// A short stable hex string identifying this template (for cache keys).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for field in &self.fields {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        h.update(u64::MAX.to_le_bytes());
        h.update(self.separator.as_bytes());
        h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_joins_non_empty_fields() {
        let t = ItemTextTemplate::default();
        let item = |f: &str| match f {
            "title" => Some("Red mug"),
            "category" => Some("Kitchen > Mugs"),
            "brand" => Some("  "),
            _ => None,
        };
        assert_eq!(t.render(item), "Red mug. Kitchen > Mugs");
        assert_eq!(t.render(|_| None), "");
    }

    #[test]
    fn fingerprint_changes_with_fields_and_separator() {
        let a = ItemTextTemplate::default();
        let mut b = a.clone();
        b.separator = " | ".to_owned();
        let c = ItemTextTemplate { fields: vec!["title".into()], ..a.clone() };
        // Field boundaries matter: ["ab"] and ["a", "b"] differ.
        let d1 = ItemTextTemplate { fields: vec!["ab".into()], separator: String::new() };
        let d2 = ItemTextTemplate { fields: vec!["a".into(), "b".into()], separator: String::new() };
        assert_eq!(a.fingerprint(), ItemTextTemplate::default().fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(d1.fingerprint(), d2.fingerprint());
    }

    #[test]
    fn serde_round_trip_and_defaults() {
        let t: ItemTextTemplate = serde_json::from_str(r#"{"fields":["title"]}"#).unwrap();
        assert_eq!(t.fields, vec!["title".to_owned()]);
        assert_eq!(t.separator, ". ");
    }
}
