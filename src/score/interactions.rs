//! The training interactions every signal is fitted on: a subset of the behaviour log
//! (the train split, or everything), aggregated per (user, item) and kept per user in
//! time order.

use serde::{Deserialize, Serialize};

use crate::data::{Behaviour, NewEvent};

/// How aggregated interaction values are turned into matrix entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueTransform {
    /// 1 for any positive interaction.
    #[default]
    Binary,
    /// ln(1 + value).
    Log,
    /// The summed event weights as they are.
    Raw,
}

impl ValueTransform {
    /// Applies the transform to a positive aggregated value.
    pub fn apply(self, v: f32) -> f32 {
        match self {
            ValueTransform::Binary => 1.0,
            ValueTransform::Log => (1.0 + v).ln(),
            ValueTransform::Raw => v,
        }
    }
}

/// One event in a user's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryEvent {
    /// Item index.
    pub item: u32,
    /// Unix seconds.
    pub time: i64,
    /// Event weight (negative for cancellations and returns).
    pub weight: f32,
    /// What the shopper did (from the event type), for evidence sentences.
    pub kind: EventKind,
    /// The rating given, for rating events.
    pub rating: Option<f32>,
}

/// What a shopper did with an item, as evidence sentences name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    /// Bought it.
    Purchase,
    /// Rated it (the rating is on the event).
    Rating,
    /// Put it in the cart.
    Cart,
    /// Clicked it.
    Click,
    /// Looked at it.
    View,
    /// Returned it.
    Return,
    /// Cancelled the order line.
    Cancel,
    /// Any other event type ("interaction", free-text types).
    Other,
}

impl EventKind {
    /// The kind of an event type name (canonical names of [`crate::data::event_type`]).
    pub fn from_event_type(name: &str) -> Self {
        use crate::data::weights::event_type as t;
        match name {
            t::PURCHASE => EventKind::Purchase,
            t::RATING => EventKind::Rating,
            t::CART => EventKind::Cart,
            t::CLICK => EventKind::Click,
            t::VIEW => EventKind::View,
            t::RETURN => EventKind::Return,
            t::CANCEL => EventKind::Cancel,
            _ => EventKind::Other,
        }
    }

    /// The past-tense verb of an evidence sentence ("bought", "viewed", …).
    pub fn verb(self) -> &'static str {
        match self {
            EventKind::Purchase => "bought",
            EventKind::Rating => "rated",
            EventKind::Cart => "added to your cart",
            EventKind::Click => "clicked",
            EventKind::View => "viewed",
            EventKind::Return => "returned",
            EventKind::Cancel => "cancelled",
            EventKind::Other => "interacted with",
        }
    }
}

/// A sparse matrix in compressed-row form.
#[derive(Debug, Clone, Default)]
pub struct SparseRows {
    /// Row `r` spans `ptr[r]..ptr[r+1]`.
    pub ptr: Vec<usize>,
    /// Column indices, sorted within a row.
    pub idx: Vec<u32>,
    /// Values.
    pub val: Vec<f32>,
}

impl SparseRows {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }

    /// Column indices and values of row `r` (empty when out of range).
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (Some(&a), Some(&b)) = (self.ptr.get(r), self.ptr.get(r + 1)) else {
            return (&[], &[]);
        };
        (self.idx.get(a..b).unwrap_or(&[]), self.val.get(a..b).unwrap_or(&[]))
    }

    /// Builds rows from (row, col, value) triples; duplicates are summed.
    pub fn from_triples(rows: usize, mut triples: Vec<(u32, u32, f32)>) -> Self {
        triples.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut out = SparseRows { ptr: vec![0; rows + 1], idx: Vec::new(), val: Vec::new() };
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in triples {
            if last == Some((r, c)) {
                if let Some(x) = out.val.last_mut() {
                    *x += v;
                }
                continue;
            }
            last = Some((r, c));
            out.idx.push(c);
            out.val.push(v);
            if let Some(p) = out.ptr.get_mut(r as usize + 1) {
                *p += 1;
            }
        }
        for r in 0..rows {
            let prev = out.ptr.get(r).copied().unwrap_or(0);
            if let Some(p) = out.ptr.get_mut(r + 1) {
                *p += prev;
            }
        }
        out
    }

    /// The transpose (columns become rows), by counting sort: rows of the result list
    /// their columns in ascending order.
    pub fn transpose(&self, columns: usize) -> Self {
        let mut ptr = vec![0usize; columns + 1];
        for &c in &self.idx {
            if let Some(p) = ptr.get_mut(c as usize + 1) {
                *p += 1;
            }
        }
        for c in 0..columns {
            let prev = ptr.get(c).copied().unwrap_or(0);
            if let Some(p) = ptr.get_mut(c + 1) {
                *p += prev;
            }
        }
        let nnz = ptr.last().copied().unwrap_or(0);
        let mut idx = vec![0u32; nnz];
        let mut val = vec![0.0f32; nnz];
        let mut next: Vec<usize> = ptr.clone();
        for r in 0..self.rows() {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let Some(slot) = next.get_mut(c as usize) else { continue };
                if let (Some(i), Some(x)) = (idx.get_mut(*slot), val.get_mut(*slot)) {
                    *i = r as u32;
                    *x = v;
                }
                *slot += 1;
            }
        }
        SparseRows { ptr, idx, val }
    }

    /// Appends a row (its column indices sorted ascending) to a matrix being built row by
    /// row; start from `SparseRows { ptr: vec![0], .. }`.
    pub fn push_row(&mut self, idx: &[u32], val: &[f32]) {
        if self.ptr.is_empty() {
            self.ptr.push(0);
        }
        self.idx.extend_from_slice(idx);
        self.val.extend_from_slice(val);
        self.ptr.push(self.idx.len());
    }

    /// Appends a row given as (column, value) pairs in any order (sorted here by column;
    /// the columns must be distinct).
    pub fn push_pairs(&mut self, pairs: &mut [(u32, f32)]) {
        if self.ptr.is_empty() {
            self.ptr.push(0);
        }
        pairs.sort_unstable_by_key(|&(c, _)| c);
        self.idx.extend(pairs.iter().map(|&(c, _)| c));
        self.val.extend(pairs.iter().map(|&(_, v)| v));
        self.ptr.push(self.idx.len());
    }

    /// No rows yet, with room for `rows` rows and `entries` entries.
    pub fn with_capacity(rows: usize, entries: usize) -> Self {
        let mut ptr = Vec::with_capacity(rows + 1);
        ptr.push(0);
        SparseRows { ptr, idx: Vec::with_capacity(entries), val: Vec::with_capacity(entries) }
    }
}

/// Training interactions.
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    /// Number of users (size of the dataset's user index).
    pub n_users: usize,
    /// Number of items (size of the catalogue).
    pub n_items: usize,
    /// User × item: summed event weights, positive entries only.
    pub by_user: SparseRows,
    /// Item × user: the transpose of `by_user`.
    pub by_item: SparseRows,
    /// Per user: every event (any sign) in time order.
    pub history: Vec<Vec<HistoryEvent>>,
    /// Per item: time of its first positive event (None when never seen).
    pub first_seen: Vec<Option<i64>>,
    /// The reference time: the last event time in the training events.
    pub now: i64,
    /// Number of events used.
    pub events: usize,
}

impl Interactions {
    /// Aggregates the events `selected` (indices into `behaviour`, any order) for a
    /// catalogue of `n_items` items.
    pub fn build(behaviour: &Behaviour, selected: &[usize], n_items: usize) -> Self {
        let n_users = behaviour.users.len();
        // Each history sized once (grown by doubling, a vector can hold twice what it uses).
        let mut per_user = vec![0usize; n_users];
        for &e in selected {
            if let (Some(&u), Some(&i)) = (behaviour.user.get(e), behaviour.item.get(e))
                && (i as usize) < n_items
                && let Some(count) = per_user.get_mut(u as usize)
            {
                *count += 1;
            }
        }
        let mut history: Vec<Vec<HistoryEvent>> = per_user.into_iter().map(Vec::with_capacity).collect();
        let mut first_seen: Vec<Option<i64>> = vec![None; n_items];
        let mut triples = Vec::with_capacity(selected.len());
        let mut now = i64::MIN;
        let mut sorted: Vec<usize> = selected.to_vec();
        sorted.sort_unstable();
        let kinds: Vec<EventKind> =
            behaviour.event_type_names.iter().map(|name| EventKind::from_event_type(name)).collect();
        for &e in &sorted {
            let (Some(&u), Some(&i), Some(&t), Some(&w)) =
                (behaviour.user.get(e), behaviour.item.get(e), behaviour.time.get(e), behaviour.weight.get(e))
            else {
                continue;
            };
            if (i as usize) >= n_items {
                continue;
            }
            now = now.max(t);
            if let Some(h) = history.get_mut(u as usize) {
                let kind = behaviour.event_type.get(e).and_then(|&k| kinds.get(k as usize)).copied();
                let kind = kind.unwrap_or(EventKind::Other);
                let rating = if kind == EventKind::Rating { behaviour.rating_of(e) } else { None };
                h.push(HistoryEvent { item: i, time: t, weight: w, kind, rating });
            }
            if w > 0.0
                && let Some(slot) = first_seen.get_mut(i as usize)
            {
                *slot = Some(slot.map_or(t, |s| s.min(t)));
            }
            triples.push((u, i, w));
        }
        let summed = SparseRows::from_triples(n_users, triples);
        // Keep positive net values only.
        let mut positive = Vec::with_capacity(summed.idx.len());
        for r in 0..summed.rows() {
            let (idx, val) = summed.row(r);
            for (&c, &v) in idx.iter().zip(val) {
                if v > 0.0 {
                    positive.push((r as u32, c, v));
                }
            }
        }
        let by_user = SparseRows::from_triples(n_users, positive);
        let by_item = by_user.transpose(n_items);
        Interactions {
            n_users,
            n_items,
            by_user,
            by_item,
            history,
            first_seen,
            now: if now == i64::MIN { 0 } else { now },
            events: sorted.len(),
        }
    }

    /// Folds live events into the interactions (no refit): each event joins its shopper's
    /// history in time order, the shoppers' rows of the user × item matrix are summed
    /// again, items get a first-seen time, and the reference time moves to the newest
    /// event. `n_users` is the log's user count after the events were appended.
    pub fn apply(&mut self, behaviour: &Behaviour, events: &[NewEvent]) -> LiveDelta {
        let previous_now = self.now;
        let n_users = behaviour.users.len().max(self.n_users);
        self.history.resize(n_users, Vec::new());
        self.n_users = n_users;
        let mut users = std::collections::BTreeSet::new();
        let mut items = std::collections::BTreeSet::new();
        let mut before: Vec<(u32, Vec<HistoryEvent>)> = Vec::new();
        let mut added = Vec::with_capacity(events.len());
        for ev in events {
            if ev.item as usize >= self.n_items {
                continue;
            }
            let Some(h) = self.history.get_mut(ev.user as usize) else { continue };
            if users.insert(ev.user) {
                before.push((ev.user, h.clone()));
            }
            items.insert(ev.item);
            let kind = EventKind::from_event_type(behaviour.event_type_name(ev.event_type));
            let rating = if kind == EventKind::Rating { ev.rating } else { None };
            let event = HistoryEvent { item: ev.item, time: ev.time, weight: ev.weight, kind, rating };
            let at = h.partition_point(|e| e.time <= ev.time);
            h.insert(at, event);
            added.push((ev.user, event));
            if ev.weight > 0.0
                && let Some(slot) = self.first_seen.get_mut(ev.item as usize)
            {
                *slot = Some(slot.map_or(ev.time, |s| s.min(ev.time)));
            }
            self.now = if self.events == 0 { ev.time } else { self.now.max(ev.time) };
            self.events += 1;
        }
        self.rebuild_rows(&users);
        LiveDelta {
            users: users.into_iter().collect(),
            items: items.into_iter().collect(),
            added,
            before,
            previous_now,
        }
    }

    /// Sums the rows of `users` again from their histories (positive net values only) and
    /// rebuilds the item × user transpose.
    fn rebuild_rows(&mut self, users: &std::collections::BTreeSet<u32>) {
        let mut rows = SparseRows { ptr: vec![0], idx: Vec::new(), val: Vec::new() };
        rows.idx.reserve(self.by_user.idx.len() + 64);
        rows.val.reserve(self.by_user.idx.len() + 64);
        for r in 0..self.n_users {
            if users.contains(&(r as u32)) {
                let mut sums: std::collections::BTreeMap<u32, f32> = std::collections::BTreeMap::new();
                for e in self.history.get(r).map_or(&[][..], Vec::as_slice) {
                    *sums.entry(e.item).or_insert(0.0) += e.weight;
                }
                let (idx, val): (Vec<u32>, Vec<f32>) = sums.into_iter().filter(|(_, v)| *v > 0.0).unzip();
                rows.push_row(&idx, &val);
            } else {
                let (idx, val) = self.by_user.row(r);
                rows.push_row(idx, val);
            }
        }
        self.by_user = rows;
        self.by_item = self.by_user.transpose(self.n_items);
    }

    /// Makes room for items appended to the catalogue (they have no interactions yet).
    pub fn grow_items(&mut self, n_items: usize) {
        if n_items > self.n_items {
            self.n_items = n_items;
            self.first_seen.resize(n_items, None);
            self.by_item = self.by_user.transpose(n_items);
        }
    }

    /// The profile of a known user.
    pub fn profile(&self, user: u32) -> UserProfile {
        let (idx, val) = self.by_user.row(user as usize);
        UserProfile {
            user: Some(user),
            items: idx.iter().copied().zip(val.iter().copied()).collect(),
            events: self.history.get(user as usize).cloned().unwrap_or_default(),
            now: self.now,
        }
    }

    /// Number of training events of a user (any sign).
    pub fn user_event_count(&self, user: u32) -> usize {
        self.history.get(user as usize).map_or(0, Vec::len)
    }

    /// Users with at least one positive interaction.
    pub fn active_users(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.by_user.rows()).filter(|&u| !self.by_user.row(u).0.is_empty()).map(|u| u as u32)
    }
}

/// What folding live events into [`Interactions`] changed, for the signals' updates.
#[derive(Debug, Clone, Default)]
pub struct LiveDelta {
    /// Shoppers with new events, sorted.
    pub users: Vec<u32>,
    /// Items with new events, sorted.
    pub items: Vec<u32>,
    /// The new events with their shopper.
    pub added: Vec<(u32, HistoryEvent)>,
    /// The affected shoppers' histories before the events.
    pub before: Vec<(u32, Vec<HistoryEvent>)>,
    /// The reference time before the events.
    pub previous_now: i64,
}

/// What a signal knows about the shopper being scored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserProfile {
    /// Index of the user in the training data, when known.
    pub user: Option<u32>,
    /// Items with a positive net interaction and the summed weight, sorted by item.
    pub items: Vec<(u32, f32)>,
    /// Events in time order (any sign).
    pub events: Vec<HistoryEvent>,
    /// Reference time for recency.
    pub now: i64,
}

impl UserProfile {
    /// A shopper with no history (cold start).
    pub fn cold(now: i64) -> Self {
        UserProfile { user: None, items: Vec::new(), events: Vec::new(), now }
    }

    /// Whether the shopper has no positive interaction.
    pub fn is_cold(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `item` is among the shopper's positive interactions.
    pub fn has_item(&self, item: u32) -> bool {
        self.items.binary_search_by_key(&item, |&(i, _)| i).is_ok()
    }

    /// Every item the shopper interacted with, in any way (any event type, any rating,
    /// any weight sign), sorted and without repeats: what "already seen" means.
    pub fn interacted_items(&self) -> Vec<u32> {
        let mut items: Vec<u32> = self.events.iter().map(|e| e.item).collect();
        items.extend(self.items.iter().map(|&(i, _)| i));
        items.sort_unstable();
        items.dedup();
        items
    }

    /// The event that best says what the shopper did with `item`: a purchase before a
    /// rating, cart, click or view (the order of [`EventKind`]); the latest of that kind.
    pub fn strongest_event(&self, item: u32) -> Option<&HistoryEvent> {
        self.events.iter().filter(|e| e.item == item).min_by(|a, b| a.kind.cmp(&b.kind).then(b.time.cmp(&a.time)))
    }
}

/// Exponential decay factor for an event `age_s` seconds old with the given half-life.
/// `None` (infinite half-life) means no decay.
pub fn decay(age_s: i64, half_life_days: Option<f32>) -> f32 {
    match half_life_days {
        Some(h) if h > 0.0 => {
            let age_days = age_s.max(0) as f32 / 86_400.0;
            (-(age_days / h) * std::f32::consts::LN_2).exp()
        }
        _ => 1.0,
    }
}
