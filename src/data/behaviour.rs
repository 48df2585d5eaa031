//! The behaviour log: one row per event, stored column by column with interned ids.

use std::collections::{BTreeMap, HashMap};

use super::catalogue::{Catalogue, record_bad_row};
use super::intern::Interner;
use super::mapping::{ResolvedMapping, Role};
use super::report::{FileReport, IssueKind};
use super::table::{BadRow, Cell, RawTable, column_cells};
use super::text::{join_list_text, parse_price, strip_html};
use super::timestamp::{TimestampError, from_unix_number, parse_timestamp};
use super::weights::{EventWeights, event_type, normalise_event_type};

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

/// Highest number of distinct values for an unmapped column to be kept as an attribute.
const MAX_ATTRIBUTE_VALUES: usize = 1_000;

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

    /// Builds the log from a behaviour file, recording every dropped row in `report`.
    pub fn from_table(
        table: &RawTable,
        mapping: &ResolvedMapping,
        mut items: ItemSource<'_>,
        weights: &EventWeights,
        report: &mut FileReport,
    ) -> Behaviour {
        let n = table.rows;
        let role_column = |role: Role| mapping.get(role).map(str::to_owned);
        let users_n = role_column(Role::UserId);
        let items_n = role_column(Role::ItemId);
        let time_n = role_column(Role::Timestamp);
        let type_n = role_column(Role::EventType);
        let rating_n = role_column(Role::Rating);
        let qty_n = role_column(Role::Quantity);
        let invoice_n = role_column(Role::Invoice);
        let title_n = role_column(Role::Title);
        let price_n = role_column(Role::Price);
        let category_n = role_column(Role::Category);
        let brand_n = role_column(Role::Brand);
        let mut attribute_names: Vec<(String, String)> = Vec::new();
        for role in [Role::Channel, Role::SessionId] {
            if let Some(c) = role_column(role) {
                attribute_names.push((role.id().to_owned(), c));
            }
        }
        let used: Vec<&str> = mapping.columns.values().map(String::as_str).collect();
        for name in table.column_names() {
            if used.contains(&name.as_str()) {
                continue;
            }
            let Ok(column) = table.frame.column(&name) else { continue };
            if column.n_unique().map(|u| u <= MAX_ATTRIBUTE_VALUES).unwrap_or(false) {
                attribute_names.push((name.clone(), name));
            }
        }
        let mut b = Behaviour {
            rating: if rating_n.is_some() { Vec::with_capacity(n) } else { Vec::new() },
            quantity: if qty_n.is_some() { Vec::with_capacity(n) } else { Vec::new() },
            attributes: attribute_names
                .iter()
                .map(|(name, _)| EventAttribute { name: name.clone(), ..EventAttribute::default() })
                .collect(),
            ..Behaviour::default()
        };
        b.user.reserve(n);
        b.item.reserve(n);
        b.time.reserve(n);
        b.event_type.reserve(n);
        let mut type_index: HashMap<String, u16> = HashMap::new();
        let mut intern_type = |name: &str, b: &mut Behaviour| -> u16 {
            if let Some(&t) = type_index.get(name) {
                return t;
            }
            let t = b.event_type_names.len().min(u16::MAX as usize) as u16;
            b.event_type_names.push(name.to_owned());
            type_index.insert(name.to_owned(), t);
            t
        };
        let bad: HashMap<usize, &BadRow> = table.bad_rows.iter().map(|(r, b)| (*r, b)).collect();
        let (user_name, item_name, time_name) = (users_n.clone(), items_n.clone(), time_n.clone());
        // Cells are materialised a chunk at a time to bound memory on large files.
        const CHUNK: usize = 1 << 20;
        let mut start = 0usize;
        while start < n {
            let part = table.frame.slice(start as i64, CHUNK);
            let part_rows = part.height();
            let col = |name: &Option<String>| {
                name.as_ref()
                    .and_then(|c| part.column(c).ok().map(|s| (c.clone(), column_cells(s.as_materialized_series()))))
            };
            let users_c = col(&users_n);
            let items_c = col(&items_n);
            let time_c = col(&time_n);
            let type_c = col(&type_n);
            let rating_c = col(&rating_n);
            let qty_c = col(&qty_n);
            let invoice_c = col(&invoice_n);
            let title_c = col(&title_n);
            let price_c = col(&price_n);
            let category_c = col(&category_n);
            let brand_c = col(&brand_n);
            let attribute_columns: Vec<(String, Vec<Cell<'_>>)> =
                attribute_names.iter().filter_map(|(_, c)| col(&Some(c.clone()))).collect();
            let name_of = |c: &Option<(String, Vec<Cell<'_>>)>| c.as_ref().map(|(n, _)| n.clone());
            for local in 0..part_rows {
                let row = start + local;
                let display_row = row + 1;
                if let Some(bad_row) = bad.get(&row) {
                    record_bad_row(report, display_row, bad_row);
                    continue;
                }
                let Some(user) = cell_at(&users_c, local).as_ref().and_then(|c| c.as_text().map(|t| t.into_owned()))
                else {
                    report.record(IssueKind::MissingUserId, display_row, user_name.as_deref(), "");
                    continue;
                };
                let Some(item) = cell_at(&items_c, local).as_ref().and_then(|c| c.as_text().map(|t| t.into_owned()))
                else {
                    report.record(IssueKind::MissingItemId, display_row, item_name.as_deref(), "");
                    continue;
                };
                let time = match cell_at(&time_c, local) {
                    None | Some(Cell::Null) => Err(None),
                    Some(Cell::Seconds(s)) => {
                        if (super::timestamp::MIN_TIMESTAMP..super::timestamp::MAX_TIMESTAMP).contains(&s) {
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
                };
                let time = match time {
                    Ok(t) => t,
                    Err(None) => {
                        report.record(IssueKind::MissingTimestamp, display_row, time_name.as_deref(), "");
                        continue;
                    }
                    Err(Some((e, raw))) => {
                        let kind = match e {
                            TimestampError::Unparseable => IssueKind::UnparseableTimestamp,
                            TimestampError::OutOfRange => IssueKind::TimestampOutOfRange,
                        };
                        report.record(kind, display_row, time_name.as_deref(), &raw);
                        continue;
                    }
                };
                // Rating and quantity.
                let rating = match cell_at(&rating_c, local) {
                    None => None,
                    Some(c) => match numeric(&c) {
                        Some(v) => Some(v),
                        None => {
                            if rating_c.is_some() && type_c.is_none() {
                                report.record(
                                    IssueKind::NonNumericRating,
                                    display_row,
                                    name_of(&rating_c).as_deref(),
                                    &c.to_text(),
                                );
                                continue;
                            }
                            None
                        }
                    },
                };
                let quantity = match cell_at(&qty_c, local) {
                    None => None,
                    Some(c) if c.is_blank() => Some(1.0),
                    Some(c) => match numeric(&c) {
                        Some(v) => Some(v),
                        None => {
                            report.record(
                                IssueKind::NonNumericQuantity,
                                display_row,
                                name_of(&qty_c).as_deref(),
                                &c.to_text(),
                            );
                            Some(1.0)
                        }
                    },
                };
                let event_name = if let Some(t) =
                    cell_at(&type_c, local).as_ref().and_then(|c| c.as_text().map(|t| t.into_owned()))
                {
                    normalise_event_type(&t)
                } else if type_c.is_none() && rating_c.is_some() {
                    event_type::RATING.to_owned()
                } else if let Some(inv) =
                    cell_at(&invoice_c, local).as_ref().and_then(|c| c.as_text().map(|t| t.into_owned()))
                {
                    if inv.starts_with(['C', 'c']) {
                        event_type::CANCEL.to_owned()
                    } else if quantity.is_some_and(|q| q <= 0.0) {
                        event_type::ADJUSTMENT.to_owned()
                    } else {
                        event_type::PURCHASE.to_owned()
                    }
                } else {
                    event_type::INTERACTION.to_owned()
                };
                // Item lookup.
                let item_index = match &mut items {
                    ItemSource::Catalogue(cat) => match cat.ids.get(&item) {
                        Some(i) => i,
                        None => {
                            report.record(IssueKind::UnknownItem, display_row, item_name.as_deref(), &item);
                            continue;
                        }
                    },
                    ItemSource::Derive(derived) => {
                        let i = derived.ids.intern(&item);
                        let iu = i as usize;
                        if derived.titles.len() <= iu {
                            derived.titles.resize_with(iu + 1, HashMap::new);
                            derived.prices.resize_with(iu + 1, Vec::new);
                            derived.categories.resize_with(iu + 1, String::new);
                            derived.brands.resize_with(iu + 1, String::new);
                        }
                        if let Some(t) =
                            cell_at(&title_c, local).as_ref().and_then(|c| c.as_text().map(|t| t.into_owned()))
                            && let Some(m) = derived.titles.get_mut(iu)
                        {
                            *m.entry(strip_html(&join_list_text(&t))).or_insert(0) += 1;
                        }
                        if let Some(p) = cell_at(&price_c, local).as_ref().and_then(numeric_price)
                            && let Some(v) = derived.prices.get_mut(iu)
                        {
                            v.push(p);
                        }
                        for (c, target) in [(&category_c, &mut derived.categories), (&brand_c, &mut derived.brands)] {
                            if let Some(slot) = target.get_mut(iu)
                                && slot.is_empty()
                                && let Some(t) =
                                    cell_at(c, local).as_ref().and_then(|c| c.as_text().map(|t| t.into_owned()))
                            {
                                *slot = t;
                            }
                        }
                        i
                    }
                };
                let user_index = b.users.intern(&user);
                let t = intern_type(&event_name, &mut b);
                b.user.push(user_index);
                b.item.push(item_index);
                b.time.push(time);
                b.event_type.push(t);
                if rating_c.is_some() {
                    b.rating.push(rating.unwrap_or(f32::NAN));
                }
                if qty_c.is_some() {
                    b.quantity.push(quantity.unwrap_or(1.0));
                }
                for ((_, cells), attribute) in attribute_columns.iter().zip(b.attributes.iter_mut()) {
                    let code = cells
                        .get(local)
                        .and_then(|c| c.as_text().map(|t| attribute.values.intern(&t)))
                        .unwrap_or(u32::MAX);
                    attribute.codes.push(code);
                }
                report.rows_kept += 1;
            }
            start += part_rows.max(1);
        }
        b.sort_by_time();
        b.apply_weights(weights);
        b
    }

    fn sort_by_time(&mut self) {
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
        for a in &mut self.attributes {
            permute(&mut a.codes, &order);
        }
    }
}

fn cell_at<'a>(c: &Option<(String, Vec<Cell<'a>>)>, i: usize) -> Option<Cell<'a>> {
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
