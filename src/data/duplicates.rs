//! Duplicate items: the same product listed under several ids. Two items are duplicates
//! when their cleaned titles are equal ignoring case and, when a brand is known, their
//! brands are too. Items without a title are never duplicates.

use std::collections::BTreeMap;

use super::catalogue::Catalogue;

/// Examples of duplicate groups named in the validation notice.
const NOTICE_EXAMPLES: usize = 3;

impl Catalogue {
    /// Groups of two or more duplicate items, each sorted by item index, the groups in
    /// the order of their first item.
    pub fn duplicate_groups(&self) -> Vec<Vec<u32>> {
        let mut by_key: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        for (i, title) in self.titles.iter().enumerate() {
            let title = title.trim().to_lowercase();
            if title.is_empty() {
                continue;
            }
            let brand = self.brands.get(i).map(|b| b.trim().to_lowercase()).unwrap_or_default();
            by_key.entry((title, brand)).or_default().push(i as u32);
        }
        let mut groups: Vec<Vec<u32>> = by_key.into_values().filter(|g| g.len() > 1).collect();
        groups.sort_by_key(|g| g.first().copied());
        groups
    }

    /// Finds the duplicate groups, records each item's group in `duplicate_of` and
    /// returns the validation notice (count and examples), if there are duplicates.
    pub fn mark_duplicates(&mut self) -> Option<String> {
        let groups = self.duplicate_groups();
        self.duplicate_of = (0..self.len() as u32).collect();
        for group in &groups {
            let Some(&first) = group.first() else { continue };
            for &i in group {
                if let Some(slot) = self.duplicate_of.get_mut(i as usize) {
                    *slot = first;
                }
            }
        }
        if groups.is_empty() {
            return None;
        }
        let items: usize = groups.iter().map(Vec::len).sum();
        let examples: Vec<String> = groups
            .iter()
            .take(NOTICE_EXAMPLES)
            .map(|g| {
                let ids: Vec<&str> = g.iter().take(3).map(|&i| self.ids.name(i)).collect();
                let title = g.first().map_or("", |&i| self.title(i));
                format!("“{}” ({})", super::report::shorten(title, 40), ids.join(", "))
            })
            .collect();
        Some(format!(
            "{} duplicate groups ({items} items with the same title and brand), collapsed to one slot each in \
             ranked lists unless turned off; e.g. {}",
            groups.len(),
            examples.join("; ")
        ))
    }

    /// The duplicate group of item `i` (its lowest-index member; `i` itself when it has
    /// no duplicate or duplicates were not marked).
    pub fn duplicate_group(&self, i: u32) -> u32 {
        self.duplicate_of.get(i as usize).copied().unwrap_or(i)
    }
}
