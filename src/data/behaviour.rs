//! The behaviour log: one row per event, stored column by column with interned ids (built
//! from a file by `Behaviour::from_table`, in `behaviour_build.rs`).

use std::collections::{BTreeMap, HashMap};

use super::catalogue::Catalogue;
use super::intern::Interner;
use super::weights::{EventWeights, event_type};

/// A categorical column of the behaviour log (channel, country, session, …).
#[derive(Debug, Clone, Default)]
pub struct EventAttribute {
    /// Column name in the file (`channel` for the channel role).
    pub name: String,
    /// Distinct values.
    pub values: Interner,
    /// Per event: index into `values` (`u32::MAX` when missing).
    pub codes: Vec<u32>,
}

/// Events sorted by time (stable for equal times). Indices into `users` and the
/// catalogue's ids.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// User ids.
    pub users: Interner,
    /// Per event: user index.
    pub user: Vec<u32>,
    /// Per event: item index (into the catalogue).
    pub item: Vec<u32>,
    /// Per event: unix seconds.
    pub time: Vec<i64>,
    /// Per event: index into `event_type_names`.
    pub event_type: Vec<u16>,
    /// Distinct event types.
    pub event_type_names: Vec<String>,
    /// Per event: rating (NaN when none). Empty when the file has no rating column.
    pub rating: Vec<f32>,
    /// Per event: quantity. Empty when the file has no quantity column.
    pub quantity: Vec<f32>,
    /// Categorical event columns.
    pub attributes: Vec<EventAttribute>,
    /// Per event: weight from the current [`EventWeights`].
    pub weight: Vec<f32>,
}

/// One event added to the log after it was loaded (a live update), as it was appended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewEvent {
    /// User index (into the log's `users`).
    pub user: u32,
    /// Item index (into the catalogue).
    pub item: u32,
    /// Unix seconds.
    pub time: i64,
    /// Index into `event_type_names`.
    pub event_type: u16,
    /// The rating, for rating events.
    pub rating: Option<f32>,
    /// Event weight.
    pub weight: f32,
}

/// Item columns collected from a behaviour file, to derive a catalogue when no catalogue
/// file is given.
#[derive(Debug, Default)]
pub struct DerivedItems {
    /// Item ids, in first-seen order.
    pub ids: Interner,
    /// Per item: title → count.
    pub titles: Vec<HashMap<String, u32>>,
    /// Per item: prices seen.
    pub prices: Vec<Vec<f32>>,
    /// Per item: first category seen.
    pub categories: Vec<String>,
    /// Per item: first brand seen.
    pub brands: Vec<String>,
}

/// Where event item ids are looked up.
pub enum ItemSource<'a> {
    /// A catalogue file was loaded: events for other items are dropped.
    Catalogue(&'a Catalogue),
    /// No catalogue file: items are collected from the events.
    Derive(&'a mut DerivedItems),
}

impl Behaviour {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.user.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// Name of an event type index.
    pub fn event_type_name(&self, t: u16) -> &str {
        self.event_type_names.get(t as usize).map(String::as_str).unwrap_or("")
    }

    /// Rating of event `e`, if any.
    pub fn rating_of(&self, e: usize) -> Option<f32> {
        self.rating.get(e).copied().filter(|r| r.is_finite())
    }

    /// Recomputes every event's weight from `weights` (cheap; no reload).
    pub fn apply_weights(&mut self, weights: &EventWeights) {
        let per_type: Vec<f32> = self.event_type_names.iter().map(|t| weights.weight(t, None)).collect();
        let rating_type = self.event_type_names.iter().position(|t| t == event_type::RATING);
        self.weight = (0..self.len())
            .map(|e| {
                let t = self.event_type.get(e).copied().unwrap_or(0) as usize;
                if Some(t) == rating_type {
                    weights.weight(event_type::RATING, self.rating_of(e))
                } else {
                    per_type.get(t).copied().unwrap_or(weights.unknown_type)
                }
            })
            .collect();
    }

    /// Kept events per event type.
    pub fn event_type_histogram(&self) -> BTreeMap<String, usize> {
        let mut counts = vec![0usize; self.event_type_names.len()];
        for &t in &self.event_type {
            if let Some(c) = counts.get_mut(t as usize) {
                *c += 1;
            }
        }
        self.event_type_names.iter().cloned().zip(counts).filter(|(_, c)| *c > 0).collect()
    }

    /// The attribute column called `name`.
    pub fn attribute(&self, name: &str) -> Option<&EventAttribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub(super) fn sort_by_time(&mut self) {
        if self.time.windows(2).all(|w| w.first() <= w.get(1)) {
            return;
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&e| self.time.get(e).copied().unwrap_or(0));
        fn permute<T: Copy>(v: &mut Vec<T>, order: &[usize]) {
            if v.is_empty() {
                return;
            }
            let old = std::mem::take(v);
            *v = order.iter().filter_map(|&i| old.get(i).copied()).collect();
        }
        permute(&mut self.user, &order);
        permute(&mut self.item, &order);
        permute(&mut self.time, &order);
        permute(&mut self.event_type, &order);
        permute(&mut self.rating, &order);
        permute(&mut self.quantity, &order);
        permute(&mut self.weight, &order);
        for a in &mut self.attributes {
            permute(&mut a.codes, &order);
        }
    }
}
