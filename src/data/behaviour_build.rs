//! Building the [`Behaviour`] log from a behaviour file's [`RawTable`], column role by
//! column role: ids, timestamps, rating and quantity, event type, the item columns that
//! derive a catalogue, and the categorical attributes (channel, session, …).

use std::collections::HashMap;

use polars::prelude::PlHashMap;

use super::behaviour::{Behaviour, DerivedItems, EventAttribute, ItemSource, NewEvent};
use super::behaviour_chunk::{BehaviourColumns, ChunkCells, ChunkIndex, EventRow, TypeKey, UNSET, id_text};
use super::catalogue::record_bad_row;
use super::mapping::ResolvedMapping;
use super::report::{FileReport, IssueKind};
use super::table::{BadRow, RawTable};
use super::weights::EventWeights;

impl Behaviour {
    /// Appends the events of `other` (read later from the same source with the same
    /// mapping and weights): user ids, event types and attribute values are mapped onto
    /// this log's, and the log is sorted by time again if some arrived late. Returns the new
    /// events in the order they were appended.
    pub fn append(&mut self, other: &Behaviour) -> Vec<NewEvent> {
        let users: Vec<u32> = other.users.names().iter().map(|n| self.users.intern(n)).collect();
        let types: Vec<u16> = other.event_type_names.iter().map(|n| self.event_type_index(n)).collect();
        let old_len = self.len();
        if self.rating.is_empty() && !other.rating.is_empty() {
            self.rating = vec![f32::NAN; old_len];
        }
        if self.quantity.is_empty() && !other.quantity.is_empty() {
            self.quantity = vec![f32::NAN; old_len];
        }
        let attribute_codes: Vec<Vec<u32>> = self
            .attributes
            .iter_mut()
            .map(|a| match other.attribute(&a.name) {
                Some(o) => o
                    .codes
                    .iter()
                    .map(|&c| if c == u32::MAX { u32::MAX } else { a.values.intern(o.values.name(c)) })
                    .collect(),
                None => vec![u32::MAX; other.len()],
            })
            .collect();
        let mut added = Vec::with_capacity(other.len());
        for e in 0..other.len() {
            let (Some(&u), Some(&item), Some(&time), Some(&t), Some(&weight)) =
                (other.user.get(e), other.item.get(e), other.time.get(e), other.event_type.get(e), other.weight.get(e))
            else {
                continue;
            };
            let user = users.get(u as usize).copied().unwrap_or(u);
            let event_type = types.get(t as usize).copied().unwrap_or(0);
            self.user.push(user);
            self.item.push(item);
            self.time.push(time);
            self.event_type.push(event_type);
            self.weight.push(weight);
            if !self.rating.is_empty() {
                self.rating.push(other.rating.get(e).copied().unwrap_or(f32::NAN));
            }
            if !self.quantity.is_empty() {
                self.quantity.push(other.quantity.get(e).copied().unwrap_or(f32::NAN));
            }
            for (a, codes) in self.attributes.iter_mut().zip(&attribute_codes) {
                a.codes.push(codes.get(e).copied().unwrap_or(u32::MAX));
            }
            added.push(NewEvent { user, item, time, event_type, rating: other.rating_of(e), weight });
        }
        self.sort_by_time();
        added
    }

    /// The index of event type `name`, added when new (beyond the cap, the folded type).
    fn event_type_index(&mut self, name: &str) -> u16 {
        if let Some(p) = self.event_type_names.iter().position(|n| n == name) {
            return p as u16;
        }
        let name = if self.event_type_names.len() + 1 >= MAX_EVENT_TYPES { FOLDED_EVENT_TYPE } else { name };
        if let Some(p) = self.event_type_names.iter().position(|n| n == name) {
            return p as u16;
        }
        self.event_type_names.push(name.to_owned());
        (self.event_type_names.len() - 1) as u16
    }

    /// Builds the log from a behaviour file, recording every dropped row in `report`.
    pub fn from_table(
        table: &RawTable,
        mapping: &ResolvedMapping,
        mut items: ItemSource<'_>,
        weights: &EventWeights,
        report: &mut FileReport,
    ) -> Behaviour {
        let columns = BehaviourColumns::new(table, mapping);
        let mut builder = LogBuilder::new(&columns, table.rows);
        let bad: PlHashMap<usize, &BadRow> = table.bad_rows.iter().map(|(r, b)| (*r, b)).collect();
        // Columns are converted a chunk at a time (once per distinct value) to bound memory
        // on large files.
        const CHUNK: usize = 1 << 20;
        let mut start = 0usize;
        while start < table.rows {
            let part = table.frame.slice(start as i64, CHUNK);
            let cells = ChunkCells::new(&part, &columns, matches!(items, ItemSource::Derive(_)));
            let mut index = ChunkIndex::new(&cells);
            let item_column = columns.item.as_deref();
            for local in 0..part.height() {
                let display_row = start + local + 1;
                if !bad.is_empty()
                    && let Some(bad_row) = bad.get(&(start + local))
                {
                    record_bad_row(report, display_row, bad_row);
                    continue;
                }
                let Some(event) = cells.event(&columns, local, display_row, report) else { continue };
                let found = items.index_of(event.item, (&cells, &mut index), local, (display_row, item_column), report);
                let Some(item) = found else { continue };
                builder.push(event, item, (&cells, &mut index), local);
                report.rows_kept += 1;
            }
            if let ItemSource::Derive(derived) = &mut items {
                derived.add_titles(&cells, std::mem::take(&mut index.titles));
            }
            start += part.height().max(1);
        }
        if builder.folded_types > 0 {
            report.notices.push(format!(
                "{}: {} distinct event types beyond the first {} folded into '{FOLDED_EVENT_TYPE}' \
                 (is a free-text column mapped as the event type?)",
                columns.event_type.as_deref().unwrap_or("event type"),
                builder.folded_types,
                MAX_EVENT_TYPES - 1
            ));
        }
        let mut log = builder.log;
        log.sort_by_time();
        log.apply_weights(weights);
        log
    }
}

impl ItemSource<'_> {
    /// The item index of an event's item (code `item` of the chunk's item column): looked
    /// up in the catalogue (an unknown item drops the row, recorded at `(display_row,
    /// column)`), or collected with the row's item columns.
    fn index_of(
        &mut self,
        item: u32,
        (cells, index): (&ChunkCells<'_>, &mut ChunkIndex),
        local: usize,
        (display_row, column): (usize, Option<&str>),
        report: &mut FileReport,
    ) -> Option<u32> {
        let slot = index.items.get_mut(item as usize)?;
        match self {
            ItemSource::Catalogue(cat) => {
                let found = *slot.get_or_insert_with(|| cat.ids.get(id_text(&cells.item, item)));
                if found.is_none() {
                    report.record(IssueKind::UnknownItem, display_row, column, id_text(&cells.item, item));
                }
                found
            }
            ItemSource::Derive(derived) => {
                let i = *slot.get_or_insert_with(|| Some(derived.add_item(id_text(&cells.item, item))));
                let i = i?;
                derived.collect(i, cells, local, &mut index.titles);
                Some(i)
            }
        }
    }
}

impl DerivedItems {
    /// Starts from the items of a catalogue derived before (its ids in index order), so
    /// that rows naming them keep their indices and only other ids become new items.
    pub fn seeded(known: &super::Interner) -> Self {
        let mut derived = Self::default();
        for name in known.names() {
            derived.add_item(name);
        }
        derived
    }

    /// The items from index `from` on (those a seeded collection added), as a catalogue:
    /// the most frequent title and the median price, as a load derives them.
    pub fn catalogue_from(&self, from: usize) -> super::Catalogue {
        let mut ids = super::Interner::new();
        for name in self.ids.names().iter().skip(from) {
            ids.intern(name);
        }
        let tail = |n: usize| from.min(n);
        super::Catalogue::from_behaviour_items(
            &ids,
            self.titles.get(tail(self.titles.len())..).unwrap_or(&[]),
            self.prices.get(tail(self.prices.len())..).unwrap_or(&[]),
            self.categories.get(tail(self.categories.len())..).unwrap_or(&[]),
            self.brands.get(tail(self.brands.len())..).unwrap_or(&[]),
        )
    }

    /// Interns item id `item`, with room for what is known of it.
    fn add_item(&mut self, item: &str) -> u32 {
        let i = self.ids.intern(item);
        let iu = i as usize;
        if self.titles.len() <= iu {
            self.titles.resize_with(iu + 1, HashMap::new);
            self.prices.resize_with(iu + 1, Vec::new);
            self.categories.resize_with(iu + 1, String::new);
            self.brands.resize_with(iu + 1, String::new);
        }
        i
    }

    /// Adds row `local`'s title (counted in `titles` until the chunk ends), price, category
    /// and brand to what is known of item `i`.
    fn collect(&mut self, i: u32, cells: &ChunkCells<'_>, local: usize, titles: &mut PlHashMap<(u32, u32), u32>) {
        let iu = i as usize;
        if let Some(t) = &cells.title
            && t.get(local).is_some()
        {
            *titles.entry((i, t.code(local))).or_insert(0) += 1;
        }
        if let Some(p) = cells.price.as_ref().and_then(|c| *c.get(local))
            && let Some(v) = self.prices.get_mut(iu)
        {
            v.push(p);
        }
        for (c, target) in [(&cells.category, &mut self.categories), (&cells.brand, &mut self.brands)] {
            if let Some(slot) = target.get_mut(iu)
                && slot.is_empty()
                && let Some(t) = c.as_ref().and_then(|c| c.get(local).as_deref())
            {
                *slot = t.to_owned();
            }
        }
    }

    /// Adds the chunk's title counts to the items' titles.
    fn add_titles(&mut self, cells: &ChunkCells<'_>, counts: PlHashMap<(u32, u32), u32>) {
        let Some(t) = &cells.title else { return };
        for ((i, code), n) in counts {
            if let (Some(m), Some(title)) = (self.titles.get_mut(i as usize), t.derived_of(code).as_ref()) {
                match m.get_mut(title.as_str()) {
                    Some(count) => *count += n,
                    None => {
                        m.insert(title.clone(), n);
                    }
                }
            }
        }
    }
}

/// The most distinct event types a log holds (they are indexed by `u16`); the last index is
/// [`FOLDED_EVENT_TYPE`], which every type beyond the others is counted as, with a notice.
pub(crate) const MAX_EVENT_TYPES: usize = u16::MAX as usize;
/// The event type name that types beyond [`MAX_EVENT_TYPES`] − 1 are folded into.
pub(crate) const FOLDED_EVENT_TYPE: &str = "other (too many event types)";

/// The log being built, with the index of each event type name.
struct LogBuilder {
    log: Behaviour,
    type_index: HashMap<String, u16>,
    /// The index of each derived event type used so far.
    derived_types: Vec<(&'static str, u16)>,
    /// Distinct event types folded into [`FOLDED_EVENT_TYPE`].
    folded_types: usize,
    has_rating: bool,
    has_quantity: bool,
}

impl LogBuilder {
    /// An empty log with room for `rows` events and one empty attribute per attribute column.
    fn new(columns: &BehaviourColumns, rows: usize) -> Self {
        let mut log = Behaviour {
            rating: if columns.rating.is_some() { Vec::with_capacity(rows) } else { Vec::new() },
            quantity: if columns.quantity.is_some() { Vec::with_capacity(rows) } else { Vec::new() },
            attributes: columns
                .attributes
                .iter()
                .map(|(name, _)| EventAttribute { name: name.clone(), ..EventAttribute::default() })
                .collect(),
            ..Behaviour::default()
        };
        log.user.reserve(rows);
        log.item.reserve(rows);
        log.time.reserve(rows);
        log.event_type.reserve(rows);
        LogBuilder {
            log,
            type_index: HashMap::new(),
            derived_types: Vec::new(),
            folded_types: 0,
            has_rating: columns.rating.is_some(),
            has_quantity: columns.quantity.is_some(),
        }
    }

    fn intern_type(&mut self, name: &str) -> u16 {
        if let Some(&t) = self.type_index.get(name) {
            return t;
        }
        let len = self.log.event_type_names.len();
        if len + 1 < MAX_EVENT_TYPES {
            let t = len as u16;
            self.log.event_type_names.push(name.to_owned());
            self.type_index.insert(name.to_owned(), t);
            return t;
        }
        // Full: this and every later new type share the last index, named as folded.
        let last = (MAX_EVENT_TYPES - 1) as u16;
        if len + 1 == MAX_EVENT_TYPES {
            self.log.event_type_names.push(FOLDED_EVENT_TYPE.to_owned());
        }
        self.folded_types += 1;
        self.type_index.insert(name.to_owned(), last);
        last
    }

    /// The index of a row's event type.
    fn type_of(&mut self, key: TypeKey, cells: &ChunkCells<'_>, index: &mut ChunkIndex) -> u16 {
        match key {
            TypeKey::Column(code) => {
                if let Some(Some(t)) = index.types.get(code as usize) {
                    return *t;
                }
                let name = cells.event_type.as_ref().and_then(|c| c.derived_of(code).as_deref()).unwrap_or("");
                let t = self.intern_type(name);
                if let Some(slot) = index.types.get_mut(code as usize) {
                    *slot = Some(t);
                }
                t
            }
            TypeKey::Derived(name) => {
                if let Some((_, t)) = self.derived_types.iter().find(|(n, _)| *n == name) {
                    return *t;
                }
                let t = self.intern_type(name);
                self.derived_types.push((name, t));
                t
            }
        }
    }

    /// Appends a kept event for catalogue item `item`, with row `local`'s attribute values.
    fn push(&mut self, event: EventRow, item: u32, (cells, index): (&ChunkCells<'_>, &mut ChunkIndex), local: usize) {
        let user = match index.users.get(event.user as usize) {
            Some(&u) if u != UNSET => u,
            _ => {
                let u = self.log.users.intern(id_text(&cells.user, event.user));
                if let Some(slot) = index.users.get_mut(event.user as usize) {
                    *slot = u;
                }
                u
            }
        };
        let event_type = self.type_of(event.event_type, cells, index);
        let log = &mut self.log;
        log.user.push(user);
        log.item.push(item);
        log.time.push(event.time);
        log.event_type.push(event_type);
        if self.has_rating {
            log.rating.push(event.rating.unwrap_or(f32::NAN));
        }
        if self.has_quantity {
            log.quantity.push(event.quantity.unwrap_or(1.0));
        }
        for ((values, attribute), codes) in
            cells.attributes.iter().zip(log.attributes.iter_mut()).zip(&mut index.attributes)
        {
            let code = values.code(local);
            let value = match codes.get(code as usize) {
                Some(&v) if v != UNSET => v,
                _ => {
                    let v = values.get(local).as_deref().map_or(u32::MAX, |t| attribute.values.intern(t));
                    if let Some(slot) = codes.get_mut(code as usize) {
                        *slot = v;
                    }
                    v
                }
            };
            attribute.codes.push(value);
        }
    }
}
