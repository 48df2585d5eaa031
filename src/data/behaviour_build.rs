//! Building the [`Behaviour`] log from a behaviour file's [`RawTable`], column role by
//! column role: ids, timestamps, rating and quantity, event type, the item columns that
//! derive a catalogue, and the categorical attributes (channel, session, …).

use std::collections::HashMap;

use polars::prelude::DataFrame;

use super::behaviour::{Behaviour, DerivedItems, EventAttribute, ItemSource, NewEvent};
use super::catalogue::record_bad_row;
use super::mapping::{ResolvedMapping, Role};
use super::report::{FileReport, IssueKind};
use super::table::{BadRow, Cell, RawTable, column_cells};
use super::text::{join_list_text, parse_price, strip_html};
use super::timestamp::{MAX_TIMESTAMP, MIN_TIMESTAMP, TimestampError, from_unix_number, parse_timestamp};
use super::weights::{EventWeights, event_type, normalise_event_type};

/// Highest number of distinct values for an unmapped column to be kept as an attribute.
const MAX_ATTRIBUTE_VALUES: usize = 1_000;

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
        let bad: HashMap<usize, &BadRow> = table.bad_rows.iter().map(|(r, b)| (*r, b)).collect();
        // Cells are materialised a chunk at a time to bound memory on large files.
        const CHUNK: usize = 1 << 20;
        let mut start = 0usize;
        while start < table.rows {
            let part = table.frame.slice(start as i64, CHUNK);
            let cells = ChunkCells::new(&part, &columns);
            for local in 0..part.height() {
                let display_row = start + local + 1;
                if let Some(bad_row) = bad.get(&(start + local)) {
                    record_bad_row(report, display_row, bad_row);
                    continue;
                }
                let Some(event) = cells.event(&columns, local, display_row, report) else { continue };
                let item_column = columns.item.as_deref();
                let Some(item) = items.index_of(&event.item, &cells, local, (display_row, item_column), report) else {
                    continue;
                };
                builder.push(event, item, &cells, local);
                report.rows_kept += 1;
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

/// The behaviour file's column for each role (`None` when the file has none), and the
/// categorical columns kept as event attributes.
struct BehaviourColumns {
    user: Option<String>,
    item: Option<String>,
    time: Option<String>,
    event_type: Option<String>,
    rating: Option<String>,
    quantity: Option<String>,
    invoice: Option<String>,
    title: Option<String>,
    price: Option<String>,
    category: Option<String>,
    brand: Option<String>,
    /// (attribute name, column name) of each attribute, in [`Behaviour::attributes`] order.
    attributes: Vec<(String, String)>,
}

impl BehaviourColumns {
    fn new(table: &RawTable, mapping: &ResolvedMapping) -> Self {
        let role_column = |role: Role| mapping.get(role).map(str::to_owned);
        BehaviourColumns {
            user: role_column(Role::UserId),
            item: role_column(Role::ItemId),
            time: role_column(Role::Timestamp),
            event_type: role_column(Role::EventType),
            rating: role_column(Role::Rating),
            quantity: role_column(Role::Quantity),
            invoice: role_column(Role::Invoice),
            title: role_column(Role::Title),
            price: role_column(Role::Price),
            category: role_column(Role::Category),
            brand: role_column(Role::Brand),
            attributes: attribute_columns(table, mapping),
        }
    }
}

/// The attribute columns: the channel and session roles, then every column no role uses
/// that has at most [`MAX_ATTRIBUTE_VALUES`] distinct values.
fn attribute_columns(table: &RawTable, mapping: &ResolvedMapping) -> Vec<(String, String)> {
    let mut attributes: Vec<(String, String)> = Vec::new();
    for role in [Role::Channel, Role::SessionId] {
        if let Some(c) = mapping.get(role) {
            attributes.push((role.id().to_owned(), c.to_owned()));
        }
    }
    let used: Vec<&str> = mapping.columns.values().map(String::as_str).collect();
    for name in table.column_names() {
        if used.contains(&name.as_str()) {
            continue;
        }
        let Ok(column) = table.frame.column(&name) else { continue };
        if column.n_unique().map(|u| u <= MAX_ATTRIBUTE_VALUES).unwrap_or(false)
            && !holds_dates(column.as_materialized_series())
        {
            attributes.push((name.clone(), name));
        }
    }
    attributes
}

/// Whether a column holds dates or times (typed, or text that reads as timestamps, such
/// as a second date column): a segment per date is not a segment.
fn holds_dates(series: &polars::prelude::Series) -> bool {
    use polars::prelude::DataType;
    match series.dtype() {
        DataType::Date | DataType::Datetime(..) => true,
        DataType::String => {
            let cells = column_cells(series);
            let sample: Vec<String> =
                cells.iter().filter_map(|c| c.as_text().map(|t| t.into_owned())).take(20).collect();
            !sample.is_empty() && sample.iter().all(|t| t.contains(['-', '/', ':']) && parse_timestamp(t).is_ok())
        }
        _ => false,
    }
}

/// A column's name and its cells, when the file has the column.
type NamedCells<'a> = Option<(String, Vec<Cell<'a>>)>;

/// The cells of one chunk of rows, by role.
struct ChunkCells<'a> {
    user: NamedCells<'a>,
    item: NamedCells<'a>,
    time: NamedCells<'a>,
    event_type: NamedCells<'a>,
    rating: NamedCells<'a>,
    quantity: NamedCells<'a>,
    invoice: NamedCells<'a>,
    title: NamedCells<'a>,
    price: NamedCells<'a>,
    category: NamedCells<'a>,
    brand: NamedCells<'a>,
    attributes: Vec<(String, Vec<Cell<'a>>)>,
}

/// One event read from a row, before its ids are interned.
struct EventRow {
    user: String,
    item: String,
    time: i64,
    rating: Option<f32>,
    quantity: Option<f32>,
    event_type: String,
}

/// A row that is dropped (already recorded in the report).
struct Dropped;

impl<'a> ChunkCells<'a> {
    fn new(part: &'a DataFrame, columns: &BehaviourColumns) -> Self {
        let col = |name: &Option<String>| -> NamedCells<'a> {
            name.as_ref()
                .and_then(|c| part.column(c).ok().map(|s| (c.clone(), column_cells(s.as_materialized_series()))))
        };
        ChunkCells {
            user: col(&columns.user),
            item: col(&columns.item),
            time: col(&columns.time),
            event_type: col(&columns.event_type),
            rating: col(&columns.rating),
            quantity: col(&columns.quantity),
            invoice: col(&columns.invoice),
            title: col(&columns.title),
            price: col(&columns.price),
            category: col(&columns.category),
            brand: col(&columns.brand),
            attributes: columns.attributes.iter().filter_map(|(_, c)| col(&Some(c.clone()))).collect(),
        }
    }

    /// Reads row `local` of the chunk (row `display_row` of the file): ids, time, rating,
    /// quantity and event type. `None` when the row is dropped, recorded in `report`.
    fn event(
        &self,
        columns: &BehaviourColumns,
        local: usize,
        display_row: usize,
        report: &mut FileReport,
    ) -> Option<EventRow> {
        let Some(user) = text_at(&self.user, local) else {
            report.record(IssueKind::MissingUserId, display_row, columns.user.as_deref(), "");
            return None;
        };
        let Some(item) = text_at(&self.item, local) else {
            report.record(IssueKind::MissingItemId, display_row, columns.item.as_deref(), "");
            return None;
        };
        let time = self.time_at(local, display_row, columns.time.as_deref(), report)?;
        let rating = self.rating_at(local, display_row, report).ok()?;
        let quantity = self.quantity_at(local, display_row, report);
        let event_type = self.event_type_at(local, quantity);
        Some(EventRow { user, item, time, rating, quantity, event_type })
    }

    /// The event time in unix seconds; `None` (recorded) when missing, unparseable or out
    /// of range.
    fn time_at(&self, local: usize, display_row: usize, column: Option<&str>, report: &mut FileReport) -> Option<i64> {
        match event_time(cell_at(&self.time, local)) {
            Ok(t) => Some(t),
            Err(None) => {
                report.record(IssueKind::MissingTimestamp, display_row, column, "");
                None
            }
            Err(Some((e, raw))) => {
                let kind = match e {
                    TimestampError::Unparseable => IssueKind::UnparseableTimestamp,
                    TimestampError::OutOfRange => IssueKind::TimestampOutOfRange,
                };
                report.record(kind, display_row, column, &raw);
                None
            }
        }
    }

    /// The rating, if any. A non-numeric rating drops the row when the ratings are the
    /// event types (no event type column); otherwise it is ignored.
    fn rating_at(&self, local: usize, display_row: usize, report: &mut FileReport) -> Result<Option<f32>, Dropped> {
        let Some(c) = cell_at(&self.rating, local) else { return Ok(None) };
        match numeric(&c) {
            Some(v) => Ok(Some(v)),
            None if self.rating.is_some() && self.event_type.is_none() => {
                report.record(IssueKind::NonNumericRating, display_row, name_of(&self.rating), &c.to_text());
                Err(Dropped)
            }
            None => Ok(None),
        }
    }

    /// The quantity, if the file has the column: blank counts as 1, and so does a
    /// non-numeric value (recorded, the row is kept).
    fn quantity_at(&self, local: usize, display_row: usize, report: &mut FileReport) -> Option<f32> {
        let c = cell_at(&self.quantity, local)?;
        if c.is_blank() {
            return Some(1.0);
        }
        match numeric(&c) {
            Some(v) => Some(v),
            None => {
                report.record(IssueKind::NonNumericQuantity, display_row, name_of(&self.quantity), &c.to_text());
                Some(1.0)
            }
        }
    }

    /// The event type: the event type column, else `rating` when there is a rating
    /// column, else derived from the invoice number and quantity, else `interaction`.
    fn event_type_at(&self, local: usize, quantity: Option<f32>) -> String {
        if let Some(t) = text_at(&self.event_type, local) {
            normalise_event_type(&t)
        } else if self.event_type.is_none() && self.rating.is_some() {
            event_type::RATING.to_owned()
        } else if let Some(invoice) = text_at(&self.invoice, local) {
            if invoice.starts_with(['C', 'c']) {
                event_type::CANCEL.to_owned()
            } else if quantity.is_some_and(|q| q <= 0.0) {
                event_type::ADJUSTMENT.to_owned()
            } else {
                event_type::PURCHASE.to_owned()
            }
        } else {
            event_type::INTERACTION.to_owned()
        }
    }
}

/// Unix seconds from a timestamp cell. `Err(None)` when there is no value,
/// `Err(Some((why, raw value)))` when it cannot be used.
pub(super) fn event_time(cell: Option<Cell<'_>>) -> Result<i64, Option<(TimestampError, String)>> {
    match cell {
        None | Some(Cell::Null) => Err(None),
        Some(Cell::Seconds(s)) => {
            if (MIN_TIMESTAMP..MAX_TIMESTAMP).contains(&s) {
                Ok(s)
            } else {
                Err(Some((TimestampError::OutOfRange, s.to_string())))
            }
        }
        Some(Cell::Int(v)) => from_unix_number(v as f64).map_err(|e| Some((e, v.to_string()))),
        Some(Cell::Float(v)) => from_unix_number(v).map_err(|e| Some((e, v.to_string()))),
        Some(other) => match other.as_text() {
            None => Err(None),
            Some(t) => parse_timestamp(&t).map_err(|e| Some((e, t.into_owned()))),
        },
    }
}

impl ItemSource<'_> {
    /// The item index of an event's item id `item`: looked up in the catalogue (an
    /// unknown item drops the row, recorded at `(display_row, column)`), or collected
    /// with the row's item columns.
    fn index_of(
        &mut self,
        item: &str,
        cells: &ChunkCells<'_>,
        local: usize,
        (display_row, column): (usize, Option<&str>),
        report: &mut FileReport,
    ) -> Option<u32> {
        match self {
            ItemSource::Catalogue(cat) => {
                let index = cat.ids.get(item);
                if index.is_none() {
                    report.record(IssueKind::UnknownItem, display_row, column, item);
                }
                index
            }
            ItemSource::Derive(derived) => Some(derived.collect(item, cells, local)),
        }
    }
}

impl DerivedItems {
    /// Interns `item` and adds the row's title, price, category and brand to what is known
    /// of it.
    fn collect(&mut self, item: &str, cells: &ChunkCells<'_>, local: usize) -> u32 {
        let i = self.ids.intern(item);
        let iu = i as usize;
        if self.titles.len() <= iu {
            self.titles.resize_with(iu + 1, HashMap::new);
            self.prices.resize_with(iu + 1, Vec::new);
            self.categories.resize_with(iu + 1, String::new);
            self.brands.resize_with(iu + 1, String::new);
        }
        if let Some(t) = text_at(&cells.title, local)
            && let Some(m) = self.titles.get_mut(iu)
        {
            *m.entry(strip_html(&join_list_text(&t))).or_insert(0) += 1;
        }
        if let Some(p) = cell_at(&cells.price, local).as_ref().and_then(numeric_price)
            && let Some(v) = self.prices.get_mut(iu)
        {
            v.push(p);
        }
        for (c, target) in [(&cells.category, &mut self.categories), (&cells.brand, &mut self.brands)] {
            if let Some(slot) = target.get_mut(iu)
                && slot.is_empty()
                && let Some(t) = text_at(c, local)
            {
                *slot = t;
            }
        }
        i
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
    /// Distinct event types folded into [`FOLDED_EVENT_TYPE`].
    folded_types: usize,
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
        LogBuilder { log, type_index: HashMap::new(), folded_types: 0 }
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

    /// Appends a kept event for catalogue item `item`, with row `local`'s attribute values.
    fn push(&mut self, event: EventRow, item: u32, cells: &ChunkCells<'_>, local: usize) {
        let user = self.log.users.intern(&event.user);
        let event_type = self.intern_type(&event.event_type);
        let log = &mut self.log;
        log.user.push(user);
        log.item.push(item);
        log.time.push(event.time);
        log.event_type.push(event_type);
        if cells.rating.is_some() {
            log.rating.push(event.rating.unwrap_or(f32::NAN));
        }
        if cells.quantity.is_some() {
            log.quantity.push(event.quantity.unwrap_or(1.0));
        }
        for ((_, values), attribute) in cells.attributes.iter().zip(log.attributes.iter_mut()) {
            let code =
                values.get(local).and_then(|c| c.as_text().map(|t| attribute.values.intern(&t))).unwrap_or(u32::MAX);
            attribute.codes.push(code);
        }
    }
}

fn text_at(c: &NamedCells<'_>, i: usize) -> Option<String> {
    c.as_ref().and_then(|(_, v)| v.get(i)).and_then(|c| c.as_text().map(|t| t.into_owned()))
}

fn name_of<'c>(c: &'c NamedCells<'_>) -> Option<&'c str> {
    c.as_ref().map(|(n, _)| n.as_str())
}

fn cell_at<'a>(c: &NamedCells<'a>, i: usize) -> Option<Cell<'a>> {
    c.as_ref().and_then(|(_, v)| v.get(i)).cloned()
}

fn numeric(c: &Cell<'_>) -> Option<f32> {
    match c {
        Cell::Int(v) => Some(*v as f32),
        Cell::Float(v) if v.is_finite() => Some(*v as f32),
        Cell::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Cell::Str(s) => s.trim().parse::<f32>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

fn numeric_price(c: &Cell<'_>) -> Option<f32> {
    match c {
        Cell::Str(s) => parse_price(s).ok(),
        other => numeric(other).filter(|v| *v >= 0.0),
    }
}
