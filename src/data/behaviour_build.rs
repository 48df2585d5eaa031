//! Building the [`Behaviour`] log from a behaviour file's [`RawTable`], column role by
//! column role: ids, timestamps, rating and quantity, event type, the item columns that
//! derive a catalogue, and the categorical attributes (channel, session, …).

use std::borrow::Cow;
use std::collections::HashMap;

use polars::prelude::{DataFrame, PlHashMap};

use super::behaviour::{Behaviour, DerivedItems, EventAttribute, ItemSource, NewEvent};
use super::catalogue::record_bad_row;
use super::encoded::{Encoded, text_of};
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

/// A role's column in one chunk, encoded by distinct value with what the role derives from
/// each value; `None` when the file has no such column.
type RoleColumn<'a, T> = Option<Encoded<'a, T>>;

/// Unix seconds of a timestamp cell, or why not ([`event_time`]).
type TimeValue = Result<i64, Option<(TimestampError, String)>>;

/// The quantity a value stands for: blank counts as 1; `Err` holds the text of a
/// non-numeric value (recorded; the row is kept with quantity 1).
type QuantityValue = Result<f32, String>;

/// The rating a value stands for: `Err` holds the text of a non-numeric value.
type RatingValue = Result<Option<f32>, String>;

/// The columns of one chunk of rows, by role, each converted once per distinct value.
struct ChunkCells<'a> {
    user: RoleColumn<'a, Option<Cow<'a, str>>>,
    item: RoleColumn<'a, Option<Cow<'a, str>>>,
    time: RoleColumn<'a, TimeValue>,
    event_type: RoleColumn<'a, Option<String>>,
    rating: RoleColumn<'a, RatingValue>,
    quantity: RoleColumn<'a, QuantityValue>,
    /// Whether the invoice number marks a cancellation (`None`: blank).
    invoice: RoleColumn<'a, Option<bool>>,
    title: RoleColumn<'a, Option<String>>,
    price: RoleColumn<'a, Option<f32>>,
    category: RoleColumn<'a, Option<Cow<'a, str>>>,
    brand: RoleColumn<'a, Option<Cow<'a, str>>>,
    attributes: Vec<Encoded<'a, Option<Cow<'a, str>>>>,
}

/// How a row's event type is named: a value of the event type column (its code), or a
/// type derived from the other columns.
#[derive(Clone, Copy)]
enum TypeKey {
    Column(u32),
    Derived(&'static str),
}

/// One event read from a row, before its ids are interned: the codes of its user and item
/// values in the chunk.
struct EventRow {
    user: u32,
    item: u32,
    time: i64,
    rating: Option<f32>,
    quantity: Option<f32>,
    event_type: TypeKey,
}

/// A row that is dropped (already recorded in the report).
struct Dropped;

impl<'a> ChunkCells<'a> {
    /// The chunk's role columns; the item columns (title, price, category, brand) only
    /// when the items are derived from the events (`derive`), as nothing else reads them.
    fn new(part: &'a DataFrame, columns: &BehaviourColumns, derive: bool) -> Self {
        fn col<'a, T>(part: &'a DataFrame, name: &Option<String>, f: impl FnMut(&Cell<'a>) -> T) -> RoleColumn<'a, T> {
            let name = name.as_ref()?;
            let series = part.column(name).ok()?.as_materialized_series();
            Some(Encoded::new(name, series, f))
        }
        let ratings_are_types = columns.rating.is_some() && columns.event_type.is_none();
        let item_column = |name: &Option<String>| if derive { name.clone() } else { None };
        ChunkCells {
            user: col(part, &columns.user, text_of),
            item: col(part, &columns.item, text_of),
            time: col(part, &columns.time, |c| event_time(Some(c.clone()))),
            event_type: col(part, &columns.event_type, |c| text_of(c).map(|t| normalise_event_type(&t))),
            rating: col(part, &columns.rating, |c| match numeric(c) {
                Some(v) => Ok(Some(v)),
                None if ratings_are_types => Err(c.to_text()),
                None => Ok(None),
            }),
            quantity: col(part, &columns.quantity, |c| {
                if c.is_blank() { Ok(1.0) } else { numeric(c).ok_or_else(|| c.to_text()) }
            }),
            invoice: col(part, &columns.invoice, |c| text_of(c).map(|t| t.starts_with(['C', 'c']))),
            title: col(part, &item_column(&columns.title), |c| text_of(c).map(|t| strip_html(&join_list_text(&t)))),
            price: col(part, &item_column(&columns.price), numeric_price),
            category: col(part, &item_column(&columns.category), text_of),
            brand: col(part, &item_column(&columns.brand), text_of),
            attributes: columns.attributes.iter().filter_map(|(_, c)| col(part, &Some(c.clone()), text_of)).collect(),
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
        let Some(user) = present_code(&self.user, local) else {
            report.record(IssueKind::MissingUserId, display_row, columns.user.as_deref(), "");
            return None;
        };
        let Some(item) = present_code(&self.item, local) else {
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
        let value = match &self.time {
            Some(c) => c.get(local),
            None => &Err(None),
        };
        match value {
            Ok(t) => Some(*t),
            Err(None) => {
                report.record(IssueKind::MissingTimestamp, display_row, column, "");
                None
            }
            Err(Some((e, raw))) => {
                let kind = match e {
                    TimestampError::Unparseable => IssueKind::UnparseableTimestamp,
                    TimestampError::OutOfRange => IssueKind::TimestampOutOfRange,
                };
                report.record(kind, display_row, column, raw);
                None
            }
        }
    }

    /// The rating, if any. A non-numeric rating drops the row when the ratings are the
    /// event types (no event type column); otherwise it is ignored.
    fn rating_at(&self, local: usize, display_row: usize, report: &mut FileReport) -> Result<Option<f32>, Dropped> {
        let Some(c) = &self.rating else { return Ok(None) };
        match c.get(local) {
            Ok(v) => Ok(*v),
            Err(raw) => {
                report.record(IssueKind::NonNumericRating, display_row, Some(&c.name), raw);
                Err(Dropped)
            }
        }
    }

    /// The quantity, if the file has the column: blank counts as 1, and so does a
    /// non-numeric value (recorded, the row is kept).
    fn quantity_at(&self, local: usize, display_row: usize, report: &mut FileReport) -> Option<f32> {
        let c = self.quantity.as_ref()?;
        match c.get(local) {
            Ok(v) => Some(*v),
            Err(raw) => {
                report.record(IssueKind::NonNumericQuantity, display_row, Some(&c.name), raw);
                Some(1.0)
            }
        }
    }

    /// The event type: the event type column, else `rating` when there is a rating
    /// column, else derived from the invoice number and quantity, else `interaction`.
    fn event_type_at(&self, local: usize, quantity: Option<f32>) -> TypeKey {
        if let Some(c) = &self.event_type
            && c.get(local).is_some()
        {
            TypeKey::Column(c.code(local))
        } else if self.event_type.is_none() && self.rating.is_some() {
            TypeKey::Derived(event_type::RATING)
        } else if let Some(cancel) = self.invoice.as_ref().and_then(|c| *c.get(local)) {
            if cancel {
                TypeKey::Derived(event_type::CANCEL)
            } else if quantity.is_some_and(|q| q <= 0.0) {
                TypeKey::Derived(event_type::ADJUSTMENT)
            } else {
                TypeKey::Derived(event_type::PURCHASE)
            }
        } else {
            TypeKey::Derived(event_type::INTERACTION)
        }
    }
}

/// The code of row `i`'s value when it has non-blank text.
fn present_code(c: &RoleColumn<'_, Option<Cow<'_, str>>>, i: usize) -> Option<u32> {
    let c = c.as_ref()?;
    c.get(i).as_ref().map(|_| c.code(i))
}

/// The text of code `code` of an id column (empty when there is none).
fn id_text<'c>(c: &'c RoleColumn<'_, Option<Cow<'_, str>>>, code: u32) -> &'c str {
    c.as_ref().and_then(|c| c.derived_of(code).as_deref()).unwrap_or("")
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

/// Per chunk, what each distinct id value became once its first kept row was seen: the
/// log's user index, the item index (or that the catalogue lacks it), the event type index
/// and each attribute's value code. Filled lazily, so indices are handed out in the order
/// of the kept rows, exactly as row-by-row interning did.
struct ChunkIndex {
    users: Vec<u32>,
    items: Vec<Option<Option<u32>>>,
    types: Vec<Option<u16>>,
    attributes: Vec<Vec<u32>>,
    /// (item index, title code) → rows, added to the derived titles at the end of the chunk.
    titles: PlHashMap<(u32, u32), u32>,
}

/// A code's slot that has not been filled yet.
const UNSET: u32 = u32::MAX;

impl ChunkIndex {
    fn new(cells: &ChunkCells<'_>) -> Self {
        let distinct = |c: Option<usize>| c.unwrap_or(0);
        ChunkIndex {
            users: vec![UNSET; distinct(cells.user.as_ref().map(Encoded::distinct))],
            items: vec![None; distinct(cells.item.as_ref().map(Encoded::distinct))],
            types: vec![None; distinct(cells.event_type.as_ref().map(Encoded::distinct))],
            attributes: cells.attributes.iter().map(|a| vec![UNSET; a.distinct()]).collect(),
            titles: PlHashMap::default(),
        }
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
