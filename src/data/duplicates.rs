//! Duplicate items: the same product listed under several ids. Two items are duplicates
//! when their cleaned titles are equal ignoring case and, when a brand is known, their
//! brands are too. Items without a title are never duplicates.

use std::collections::HashMap;

use super::catalogue::Catalogue;

/// Examples of duplicate groups named in the validation notice.
const NOTICE_EXAMPLES: usize = 3;

impl Catalogue {
    /// Groups of two or more duplicate items, each sorted by item index, the groups in
    /// the order of their first item.
    pub fn duplicate_groups(&self) -> Vec<Vec<u32>> {
        // The first item of each key; a later item with that key is recorded as
        // (first, item). Hashing, not an ordered map: a million titles would otherwise cost
        // twenty string comparisons each (BENCHMARKS.md, "Every shopper of the 10 M set").
        let mut first_with_key: HashMap<(String, String), u32> = HashMap::with_capacity(self.titles.len());
        let mut later: Vec<(u32, u32)> = Vec::new();
        for (i, title) in self.titles.iter().enumerate() {
            let title = title.trim().to_lowercase();
            if title.is_empty() {
                continue;
            }
            let brand = self.brands.get(i).map(|b| b.trim().to_lowercase()).unwrap_or_default();
            let first = *first_with_key.entry((title, brand)).or_insert(i as u32);
            if first != i as u32 {
                later.push((first, i as u32));
            }
        }
        // Items are visited in index order, so `later` is sorted by item; by first, stably.
        later.sort_by_key(|&(first, _)| first);
        later
            .chunk_by(|a, b| a.0 == b.0)
            .filter_map(|run| {
                let &(first, _) = run.first()?;
                Some(std::iter::once(first).chain(run.iter().map(|&(_, i)| i)).collect())
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_equal_the_pairwise_definition_in_item_order() {
        // The definition, pair by pair: same trimmed lower-case title (not empty) and brand.
        let mut rng = fastrand::Rng::with_seed(13);
        let words = ["Mug", "mug ", "TEAPOT", "teapot", "", "  ", "Jug"];
        let brands = ["Acme", "acme", "", "Other"];
        for _ in 0..50 {
            let n = rng.usize(0..60);
            let catalogue = Catalogue {
                titles: (0..n).map(|_| words[rng.usize(0..words.len())].to_string()).collect(),
                brands: (0..n).map(|_| brands[rng.usize(0..brands.len())].to_string()).collect(),
                ..Catalogue::default()
            };
            let key = |i: usize| (catalogue.titles[i].trim().to_lowercase(), catalogue.brands[i].trim().to_lowercase());
            let mut expected: Vec<Vec<u32>> = Vec::new();
            for i in 0..n {
                let earlier_same = (0..i).any(|j| key(j) == key(i));
                if key(i).0.is_empty() || earlier_same {
                    continue;
                }
                let group: Vec<u32> = (i..n).filter(|&j| key(j) == key(i)).map(|j| j as u32).collect();
                if group.len() > 1 {
                    expected.push(group);
                }
            }
            assert_eq!(catalogue.duplicate_groups(), expected);
        }
    }
}
