//! Shopper segments: which group of shoppers each one belongs to, per dimension. A dimension
//! is a users-table column (the shopper's value in it) or a categorical event column such as
//! `country` (the value on most of the shopper's events; ties go to the value seen first in
//! the file). The segment picker and segment-scoped rules read this one table.

use std::collections::HashMap;

use super::{Dataset, Interner};

/// Most distinct values a dimension may have to be offered as segments (a picker lists them).
pub const MAX_SEGMENT_VALUES: usize = 300;

/// One way of grouping shoppers (`country`) with its groups (`France`, `Germany`, …).
#[derive(Debug, Clone, Default)]
pub struct SegmentDimension {
    /// The column name.
    pub name: String,
    /// The values shoppers have, in first-seen order.
    pub values: Interner,
    /// Per shopper (index into the behaviour's users): index into `values`, or `u32::MAX`.
    codes: Vec<u32>,
}

impl SegmentDimension {
    /// The shoppers (indices into the behaviour's users) whose value is `value`.
    pub fn members(&self, value: u32) -> Vec<u32> {
        self.codes.iter().enumerate().filter(|(_, c)| **c == value).map(|(u, _)| u as u32).collect()
    }

    /// How many shoppers have `value`.
    pub fn count(&self, value: u32) -> usize {
        self.codes.iter().filter(|c| **c == value).count()
    }
}

/// Every segment dimension of a dataset, and each shopper's segment in it.
#[derive(Debug, Clone, Default)]
pub struct ShopperSegments {
    /// Users-table columns first, then event columns not named by a users-table column.
    pub dimensions: Vec<SegmentDimension>,
}

impl ShopperSegments {
    /// Reads the segments of every shopper in `dataset`: one pass over the events per event
    /// column, one lookup per shopper per users-table column. Dimensions with fewer than two
    /// or more than [`MAX_SEGMENT_VALUES`] values (ids, free text), and `session_id`, are left out.
    pub fn build(dataset: &Dataset) -> ShopperSegments {
        let b = &dataset.behaviour;
        let n_users = b.users.len();
        let mut dimensions = Vec::new();
        if let Some(table) = &dataset.users {
            for (c, column) in table.columns.iter().enumerate() {
                let mut dim = SegmentDimension { name: column.clone(), ..SegmentDimension::default() };
                dim.codes = (0..n_users as u32)
                    .map(|u| {
                        let value = table.rows.get(b.users.name(u)).and_then(|row| row.get(c)).map(|v| v.trim());
                        match value {
                            Some(v) if !v.is_empty() => dim.values.intern(v),
                            _ => u32::MAX,
                        }
                    })
                    .collect();
                dimensions.push(dim);
            }
        }
        for attribute in &b.attributes {
            if attribute.name == "session_id" || dimensions.iter().any(|d| d.name == attribute.name) {
                continue;
            }
            if attribute.values.len() < 2 || attribute.values.len() > MAX_SEGMENT_VALUES {
                continue;
            }
            let mut counts: Vec<HashMap<u32, u32>> = vec![HashMap::new(); n_users];
            for (&u, &code) in b.user.iter().zip(&attribute.codes) {
                if code != u32::MAX
                    && let Some(c) = counts.get_mut(u as usize)
                {
                    *c.entry(code).or_insert(0) += 1;
                }
            }
            let mut dim = SegmentDimension { name: attribute.name.clone(), ..SegmentDimension::default() };
            dim.codes = counts
                .iter()
                .map(|c| {
                    // Most events; on a tie the value first seen in the file (lower code).
                    let best = c.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
                    best.map_or(u32::MAX, |(&code, _)| dim.values.intern(attribute.values.name(code)))
                })
                .collect();
            dimensions.push(dim);
        }
        dimensions.retain(|d| (2..=MAX_SEGMENT_VALUES).contains(&d.values.len()));
        ShopperSegments { dimensions }
    }

    /// The dimension named `name`.
    pub fn dimension(&self, name: &str) -> Option<&SegmentDimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }

    /// The shopper's segment in every dimension where they have one: (dimension, value).
    pub fn of(&self, user: u32) -> Vec<(String, String)> {
        self.dimensions
            .iter()
            .filter_map(|d| {
                let code = *d.codes.get(user as usize)?;
                (code != u32::MAX).then(|| (d.name.clone(), d.values.name(code).to_owned()))
            })
            .collect()
    }
}
