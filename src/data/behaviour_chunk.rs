//! One chunk of a behaviour file's rows, column role by column role: which column plays
//! which role ([`BehaviourColumns`]), each role's column encoded once per distinct value
//! ([`ChunkCells`]), the event a row stands for ([`EventRow`]), and the chunk's lazily
//! filled indices ([`ChunkIndex`]). [`super::behaviour_build`] turns them into the log.

use std::borrow::Cow;

use polars::prelude::{DataFrame, PlHashMap};

use super::encoded::{Encoded, text_of};
use super::mapping::{ResolvedMapping, Role};
use super::report::{FileReport, IssueKind};
use super::table::{Cell, RawTable, column_cells};
use super::text::{join_list_text, parse_price, strip_html};
use super::timestamp::{MAX_TIMESTAMP, MIN_TIMESTAMP, TimestampError, from_unix_number, parse_timestamp};
use super::weights::{event_type, normalise_event_type};

/// Highest number of distinct values for an unmapped column to be kept as an attribute.
pub(super) const MAX_ATTRIBUTE_VALUES: usize = 1_000;

/// The behaviour file's column for each role (`None` when the file has none), and the
/// categorical columns kept as event attributes.
pub(super) struct BehaviourColumns {
    pub(super) user: Option<String>,
    pub(super) item: Option<String>,
    pub(super) time: Option<String>,
    pub(super) event_type: Option<String>,
    pub(super) rating: Option<String>,
    pub(super) quantity: Option<String>,
    pub(super) invoice: Option<String>,
    pub(super) title: Option<String>,
    pub(super) price: Option<String>,
    pub(super) category: Option<String>,
    pub(super) brand: Option<String>,
    /// (attribute name, column name) of each attribute, in [`Behaviour::attributes`] order.
    pub(super) attributes: Vec<(String, String)>,
}

impl BehaviourColumns {
    pub(super) fn new(table: &RawTable, mapping: &ResolvedMapping) -> Self {
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
pub(super) fn attribute_columns(table: &RawTable, mapping: &ResolvedMapping) -> Vec<(String, String)> {
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
pub(super) fn holds_dates(series: &polars::prelude::Series) -> bool {
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
pub(super) type RoleColumn<'a, T> = Option<Encoded<'a, T>>;

/// Unix seconds of a timestamp cell, or why not ([`event_time`]).
pub(super) type TimeValue = Result<i64, Option<(TimestampError, String)>>;

/// The quantity a value stands for: blank counts as 1; `Err` holds the text of a
/// non-numeric value (recorded; the row is kept with quantity 1).
pub(super) type QuantityValue = Result<f32, String>;

/// The rating a value stands for: `Err` holds the text of a non-numeric value.
pub(super) type RatingValue = Result<Option<f32>, String>;

/// The columns of one chunk of rows, by role, each converted once per distinct value.
pub(super) struct ChunkCells<'a> {
    pub(super) user: RoleColumn<'a, Option<Cow<'a, str>>>,
    pub(super) item: RoleColumn<'a, Option<Cow<'a, str>>>,
    pub(super) time: RoleColumn<'a, TimeValue>,
    pub(super) event_type: RoleColumn<'a, Option<String>>,
    pub(super) rating: RoleColumn<'a, RatingValue>,
    pub(super) quantity: RoleColumn<'a, QuantityValue>,
    /// Whether the invoice number marks a cancellation (`None`: blank).
    pub(super) invoice: RoleColumn<'a, Option<bool>>,
    pub(super) title: RoleColumn<'a, Option<String>>,
    pub(super) price: RoleColumn<'a, Option<f32>>,
    pub(super) category: RoleColumn<'a, Option<Cow<'a, str>>>,
    pub(super) brand: RoleColumn<'a, Option<Cow<'a, str>>>,
    pub(super) attributes: Vec<Encoded<'a, Option<Cow<'a, str>>>>,
}

/// How a row's event type is named: a value of the event type column (its code), or a
/// type derived from the other columns.
#[derive(Clone, Copy)]
pub(super) enum TypeKey {
    Column(u32),
    Derived(&'static str),
}

/// One event read from a row, before its ids are interned: the codes of its user and item
/// values in the chunk.
pub(super) struct EventRow {
    pub(super) user: u32,
    pub(super) item: u32,
    pub(super) time: i64,
    pub(super) rating: Option<f32>,
    pub(super) quantity: Option<f32>,
    pub(super) event_type: TypeKey,
}

/// A row that is dropped (already recorded in the report).
pub(super) struct Dropped;

impl<'a> ChunkCells<'a> {
    /// The chunk's role columns; the item columns (title, price, category, brand) only
    /// when the items are derived from the events (`derive`), as nothing else reads them.
    pub(super) fn new(part: &'a DataFrame, columns: &BehaviourColumns, derive: bool) -> Self {
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
    pub(super) fn event(
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
    pub(super) fn time_at(
        &self,
        local: usize,
        display_row: usize,
        column: Option<&str>,
        report: &mut FileReport,
    ) -> Option<i64> {
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
    pub(super) fn rating_at(
        &self,
        local: usize,
        display_row: usize,
        report: &mut FileReport,
    ) -> Result<Option<f32>, Dropped> {
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
    pub(super) fn quantity_at(&self, local: usize, display_row: usize, report: &mut FileReport) -> Option<f32> {
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
    pub(super) fn event_type_at(&self, local: usize, quantity: Option<f32>) -> TypeKey {
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
pub(super) fn present_code(c: &RoleColumn<'_, Option<Cow<'_, str>>>, i: usize) -> Option<u32> {
    let c = c.as_ref()?;
    c.get(i).as_ref().map(|_| c.code(i))
}

/// The text of code `code` of an id column (empty when there is none).
pub(super) fn id_text<'c>(c: &'c RoleColumn<'_, Option<Cow<'_, str>>>, code: u32) -> &'c str {
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
pub(super) struct ChunkIndex {
    pub(super) users: Vec<u32>,
    pub(super) items: Vec<Option<Option<u32>>>,
    pub(super) types: Vec<Option<u16>>,
    pub(super) attributes: Vec<Vec<u32>>,
    /// (item index, title code) → rows, added to the derived titles at the end of the chunk.
    pub(super) titles: PlHashMap<(u32, u32), u32>,
}

/// A code's slot that has not been filled yet.
pub(super) const UNSET: u32 = u32::MAX;

impl ChunkIndex {
    pub(super) fn new(cells: &ChunkCells<'_>) -> Self {
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

pub(super) fn numeric(c: &Cell<'_>) -> Option<f32> {
    match c {
        Cell::Int(v) => Some(*v as f32),
        Cell::Float(v) if v.is_finite() => Some(*v as f32),
        Cell::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Cell::Str(s) => s.trim().parse::<f32>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

pub(super) fn numeric_price(c: &Cell<'_>) -> Option<f32> {
    match c {
        Cell::Str(s) => parse_price(s).ok(),
        other => numeric(other).filter(|v| *v >= 0.0),
    }
}
